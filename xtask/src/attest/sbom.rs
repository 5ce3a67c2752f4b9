//! One platform image's SBOM: an SPDX 2.3 JSON document describing the image, its one file and
//! what that file was made from and with — pause's own crate, every crate linked into it (with
//! `pkg:cargo` purls, so a scanner matches a RustSec advisory) and the compiler (with its CPE, so
//! a scanner matches an NVD entry for Rust). Pure: its date is the image's date, its namespace
//! comes from the platform manifest's digest, every list is in a fixed order, so the same image
//! and materials always give the same bytes.
//!
//! The document names no registry or tag: it is attached to the manifest by digest, and a digest
//! may live in any repository (purl's `oci` type is registry-agnostic for the same reason).

use anyhow::Result;
use serde::Serialize;
use sha1::{Digest, Sha1};
use sha2::Sha256;

use super::materials::{Compiler, Crate, Linked};
use crate::oci::blob::{Blob, digest_hex, hex};
use crate::platform::Platform;

/// The SBOM's media type, as a layer and as its artifact manifest's `artifactType`.
pub(crate) const MEDIA_TYPE: &str = "application/spdx+json";
const SPDX_VERSION: &str = "SPDX-2.3";
/// The license SPDX requires of every SPDX document itself.
const DATA_LICENSE: &str = "CC0-1.0";
const DOCUMENT_ID: &str = "SPDXRef-DOCUMENT";
const IMAGE_ID: &str = "SPDXRef-Image";
/// SPDX's word for "this document makes no claim about it".
const NOASSERTION: &str = "NOASSERTION";
/// Where the document's namespace lives when the image names no source repository.
const DEFAULT_NAMESPACE_BASE: &str = "https://spdx.org/spdxdocs/pause";
/// crates.io's download URL of a crate version: what `Cargo.lock`'s checksum is the sha256 of.
const CRATES_IO_DOWNLOAD: &str = "https://crates.io/api/v1/crates";
/// The Rust toolchain's license.
const RUST_LICENSE: &str = "MIT OR Apache-2.0";
/// NVD's CPE vendor and product for the Rust toolchain and standard library.
const RUST_CPE_VENDOR_PRODUCT: &str = "rust-lang:rust";

/// The platform image an SBOM describes.
pub(crate) struct Subject<'a> {
    /// The image's name: the last component of its repository, as purl's `oci` type names it.
    pub(crate) name: &'a str,
    /// The image's version (`org.opencontainers.image.version`).
    pub(crate) version: &'a str,
    pub(crate) platform: &'a Platform,
    /// The platform's image manifest: its digest identifies the image.
    pub(crate) manifest: &'a Blob,
    /// Where the file sits in the image, e.g. `/pause`.
    pub(crate) path: &'a str,
    /// The file's bytes.
    pub(crate) file: &'a [u8],
    /// The image's date, RFC 3339.
    pub(crate) created: &'a str,
    /// The image's license (`org.opencontainers.image.licenses`).
    pub(crate) license: Option<&'a str>,
    /// Its source repository (`org.opencontainers.image.source`) and commit.
    pub(crate) source: Option<&'a str>,
    pub(crate) revision: Option<&'a str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Document {
    spdx_version: &'static str,
    data_license: &'static str,
    #[serde(rename = "SPDXID")]
    spdx_id: &'static str,
    name: String,
    document_namespace: String,
    creation_info: CreationInfo,
    packages: Vec<Package>,
    files: Vec<File>,
    relationships: Vec<Relationship>,
}

#[derive(Serialize)]
struct CreationInfo {
    created: String,
    creators: Vec<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Package {
    #[serde(rename = "SPDXID")]
    spdx_id: String,
    name: String,
    version_info: String,
    download_location: String,
    files_analyzed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    package_verification_code: Option<VerificationCode>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    checksums: Vec<Checksum>,
    license_concluded: &'static str,
    license_declared: String,
    copyright_text: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    comment: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    external_refs: Vec<ExternalRef>,
    primary_package_purpose: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    built_date: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct VerificationCode {
    package_verification_code_value: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Checksum {
    algorithm: &'static str,
    checksum_value: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ExternalRef {
    reference_category: &'static str,
    reference_type: &'static str,
    reference_locator: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct File {
    #[serde(rename = "SPDXID")]
    spdx_id: String,
    file_name: String,
    checksums: Vec<Checksum>,
    file_types: Vec<&'static str>,
    license_concluded: &'static str,
    copyright_text: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Relationship {
    spdx_element_id: String,
    relationship_type: &'static str,
    related_spdx_element: String,
}

fn relationship(from: &str, kind: &'static str, to: &str) -> Relationship {
    Relationship {
        spdx_element_id: from.to_string(),
        relationship_type: kind,
        related_spdx_element: to.to_string(),
    }
}

/// `SPDXRef-<kind>-<name>`: SPDX ids allow letters, digits, `.` and `-` only.
fn spdx_id(kind: &str, name: &str) -> String {
    let name: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' {
                c
            } else {
                '-'
            }
        })
        .collect();
    format!("SPDXRef-{kind}-{}", name.trim_matches('-'))
}

fn crate_id(id: &str) -> String {
    spdx_id("Crate", id)
}

/// `pkg:oci/NAME@sha256%3AHEX?arch=ARCH`: the digest is the version, its colon percent-encoded.
pub(crate) fn image_purl(name: &str, digest: &str, arch: &str) -> String {
    format!(
        "pkg:oci/{}@sha256%3A{}?arch={arch}",
        name.to_lowercase(),
        digest_hex(digest)
    )
}

/// The SPDX document of one platform image: `linked` is what its binary links, `compiler` what
/// compiled it.
pub(crate) fn document(
    subject: &Subject<'_>,
    linked: &Linked,
    compiler: &Compiler,
) -> Result<Blob> {
    let digest = &subject.manifest.digest;
    let base = subject
        .source
        .unwrap_or(DEFAULT_NAMESPACE_BASE)
        .trim_end_matches('/');
    let file_sha1 = hex(&Sha1::digest(subject.file));
    let file_id = spdx_id("File", subject.path);
    let root_id = crate_id(&linked.root.id());
    let compiler_id = spdx_id("Compiler", &format!("rustc-{}", compiler.release));

    let image = Package {
        spdx_id: IMAGE_ID.to_string(),
        name: subject.name.to_string(),
        version_info: subject.version.to_string(),
        download_location: NOASSERTION.to_string(),
        files_analyzed: true,
        // SPDX 2.3 §7.9: the SHA1 of the sorted SHA1s of the package's files; it has one.
        package_verification_code: Some(VerificationCode {
            package_verification_code_value: hex(&Sha1::digest(file_sha1.as_bytes())),
        }),
        checksums: Vec::new(),
        license_concluded: NOASSERTION,
        license_declared: subject.license.unwrap_or(NOASSERTION).to_string(),
        copyright_text: NOASSERTION,
        comment: Some(format!(
            "The {} image, manifest {digest}",
            subject.platform.name
        )),
        external_refs: vec![ExternalRef {
            reference_category: "PACKAGE-MANAGER",
            reference_type: "purl",
            reference_locator: image_purl(subject.name, digest, subject.platform.arch),
        }],
        primary_package_purpose: "CONTAINER",
        built_date: Some(subject.created.to_string()),
    };
    let source_location = match (subject.source, subject.revision) {
        (Some(source), Some(revision)) => format!("git+{source}@{revision}"),
        (Some(source), None) => format!("git+{source}"),
        (None, _) => NOASSERTION.to_string(),
    };
    let root = crate_package(&linked.root, source_location, "SOURCE");
    let compiler_package = Package {
        spdx_id: compiler_id.clone(),
        name: "rustc".to_string(),
        version_info: compiler.release.clone(),
        download_location: NOASSERTION.to_string(),
        files_analyzed: false,
        package_verification_code: None,
        checksums: Vec::new(),
        license_concluded: NOASSERTION,
        license_declared: RUST_LICENSE.to_string(),
        copyright_text: NOASSERTION,
        comment: Some(format!(
            "The Rust compiler that built {} (commit {} of {}, LLVM {}, running on {}); its \
             `core` and `compiler_builtins` are linked into it",
            subject.path,
            compiler.commit_hash,
            compiler.commit_date,
            compiler.llvm_version.as_deref().unwrap_or("unknown"),
            compiler.host
        )),
        external_refs: vec![ExternalRef {
            reference_category: "SECURITY",
            reference_type: "cpe23Type",
            reference_locator: format!(
                "cpe:2.3:a:{RUST_CPE_VENDOR_PRODUCT}:{}:*:*:*:*:*:*:*",
                compiler.release
            ),
        }],
        primary_package_purpose: "APPLICATION",
        built_date: None,
    };
    let mut packages = vec![image, root, compiler_package];
    for linked_crate in &linked.crates {
        let location = if linked_crate.from_crates_io {
            format!(
                "{CRATES_IO_DOWNLOAD}/{}/{}/download",
                linked_crate.name, linked_crate.version
            )
        } else {
            NOASSERTION.to_string()
        };
        packages.push(crate_package(linked_crate, location, "LIBRARY"));
    }

    let file = File {
        spdx_id: file_id.clone(),
        // SPDX file names are relative to the package root.
        file_name: format!(".{}", subject.path),
        checksums: vec![
            Checksum {
                algorithm: "SHA1",
                checksum_value: file_sha1,
            },
            Checksum {
                algorithm: "SHA256",
                checksum_value: hex(&Sha256::digest(subject.file)),
            },
        ],
        file_types: vec!["BINARY"],
        license_concluded: NOASSERTION,
        copyright_text: NOASSERTION,
    };

    let mut relationships = vec![
        relationship(DOCUMENT_ID, "DESCRIBES", IMAGE_ID),
        relationship(IMAGE_ID, "CONTAINS", &file_id),
        relationship(&file_id, "GENERATED_FROM", &root_id),
        relationship(&compiler_id, "BUILD_TOOL_OF", &file_id),
    ];
    for linked_crate in &linked.crates {
        relationships.push(relationship(
            &file_id,
            "STATIC_LINK",
            &crate_id(&linked_crate.id()),
        ));
    }
    for from in std::iter::once(&linked.root).chain(&linked.crates) {
        for to in &from.dependencies {
            relationships.push(relationship(
                &crate_id(&from.id()),
                "DEPENDS_ON",
                &crate_id(to),
            ));
        }
    }

    let document = Document {
        spdx_version: SPDX_VERSION,
        data_license: DATA_LICENSE,
        spdx_id: DOCUMENT_ID,
        name: format!("{} {}", subject.name, subject.platform.name),
        document_namespace: format!("{base}/sbom/sha256-{}", digest_hex(digest)),
        creation_info: CreationInfo {
            created: subject.created.to_string(),
            creators: vec![format!("Tool: pause-xtask-{}", env!("CARGO_PKG_VERSION"))],
        },
        packages,
        files: vec![file],
        relationships,
    };
    Blob::json(MEDIA_TYPE, &document)
}

/// What a verifier checks in an SPDX document this xtask wrote, read back from its bytes: each
/// file with its checksums, and the compiler's version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Summary {
    pub(crate) files: Vec<FileSummary>,
    /// The `rustc` package's version, if the document names the compiler.
    pub(crate) rustc: Option<String>,
}

/// A file the document lists: its name (`./pause`) and checksums, lower-case hex.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FileSummary {
    pub(crate) name: String,
    pub(crate) sha1: Option<String>,
    pub(crate) sha256: Option<String>,
}

/// Reads back the files and the compiler of an SPDX 2.3 JSON document; only what this xtask
/// writes is modelled, every other field is ignored.
pub(crate) fn summary(document: &[u8]) -> Result<Summary> {
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Read {
        #[serde(default)]
        files: Vec<ReadFile>,
        #[serde(default)]
        packages: Vec<ReadPackage>,
    }
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct ReadFile {
        file_name: String,
        #[serde(default)]
        checksums: Vec<ReadChecksum>,
    }
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct ReadChecksum {
        algorithm: String,
        checksum_value: String,
    }
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct ReadPackage {
        #[serde(rename = "SPDXID")]
        spdx_id: String,
        name: String,
        #[serde(default)]
        version_info: Option<String>,
    }
    let read: Read = serde_json::from_slice(document)
        .map_err(|error| anyhow::anyhow!("not an SPDX JSON document ({error})"))?;
    let compiler_prefix = spdx_id("Compiler", "");
    let rustc = read
        .packages
        .into_iter()
        .find(|package| package.name == "rustc" && package.spdx_id.starts_with(&compiler_prefix))
        .and_then(|package| package.version_info);
    let files = read
        .files
        .into_iter()
        .map(|file| {
            let checksum = |algorithm: &str| {
                file.checksums
                    .iter()
                    .find(|checksum| checksum.algorithm == algorithm)
                    .map(|checksum| checksum.checksum_value.to_lowercase())
            };
            FileSummary {
                sha1: checksum("SHA1"),
                sha256: checksum("SHA256"),
                name: file.file_name,
            }
        })
        .collect();
    Ok(Summary { files, rustc })
}

/// A crate as an SPDX package: its purl on crates.io, its declared license, `Cargo.lock`'s
/// checksum of its `.crate` file.
fn crate_package(linked: &Crate, download_location: String, purpose: &'static str) -> Package {
    Package {
        spdx_id: crate_id(&linked.id()),
        name: linked.name.clone(),
        version_info: linked.version.clone(),
        download_location,
        files_analyzed: false,
        package_verification_code: None,
        checksums: linked
            .checksum
            .iter()
            .map(|checksum| Checksum {
                algorithm: "SHA256",
                checksum_value: checksum.clone(),
            })
            .collect(),
        license_concluded: NOASSERTION,
        license_declared: linked
            .license
            .clone()
            .unwrap_or_else(|| NOASSERTION.to_string()),
        copyright_text: NOASSERTION,
        comment: None,
        external_refs: if linked.from_crates_io {
            vec![ExternalRef {
                reference_category: "PACKAGE-MANAGER",
                reference_type: "purl",
                reference_locator: format!("pkg:cargo/{}@{}", linked.name, linked.version),
            }]
        } else {
            Vec::new()
        },
        primary_package_purpose: purpose,
        built_date: None,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::{Subject, document, image_purl};
    use crate::attest::materials::Compiler;
    use crate::attest::materials::tests::{RUSTC_VV, sample};
    use crate::oci::blob::Blob;
    use crate::platform::PLATFORMS;

    const BINARY: &[u8] = b"\x7fELF pause";
    const CREATED: &str = "2023-11-14T22:13:20Z";

    fn manifest() -> Blob {
        Blob::new(
            crate::oci::manifest::MEDIA_TYPE,
            b"{\"a manifest\":1}".to_vec(),
        )
    }

    fn sbom(file: &[u8], created: &str) -> Blob {
        let manifest = manifest();
        let subject = Subject {
            name: "pause",
            version: "0.1.0",
            platform: &PLATFORMS[2],
            manifest: &manifest,
            path: "/pause",
            file,
            created,
            license: Some("Apache-2.0"),
            source: Some("https://github.com/pause-rs/pause"),
            revision: Some("0123456789ab"),
        };
        document(&subject, &sample(), &Compiler::parse(RUSTC_VV).unwrap()).unwrap()
    }

    #[test]
    fn the_same_inputs_give_the_same_bytes() {
        assert_eq!(sbom(BINARY, CREATED), sbom(BINARY, CREATED));
        assert_ne!(sbom(BINARY, CREATED).digest, sbom(b"other", CREATED).digest);
        assert_ne!(
            sbom(BINARY, CREATED).digest,
            sbom(BINARY, "1970-01-01T00:00:00Z").digest
        );
    }

    #[test]
    fn the_document_names_the_image_the_file_and_what_it_links() {
        let blob = sbom(BINARY, CREATED);
        assert_eq!(blob.media_type, "application/spdx+json");
        let doc: Value = serde_json::from_slice(&blob.data).unwrap();
        assert_eq!(doc["spdxVersion"], "SPDX-2.3");
        assert_eq!(doc["creationInfo"]["created"], CREATED);
        let hex = crate::oci::blob::digest_hex(&manifest().digest).to_string();
        assert_eq!(
            doc["documentNamespace"],
            format!("https://github.com/pause-rs/pause/sbom/sha256-{hex}")
        );
        let image = &doc["packages"][0];
        assert_eq!(image["primaryPackagePurpose"], "CONTAINER");
        assert_eq!(
            image["externalRefs"][0]["referenceLocator"],
            format!("pkg:oci/pause@sha256%3A{hex}?arch=arm")
        );
        let file = &doc["files"][0];
        assert_eq!(file["fileName"], "./pause");
        assert_eq!(file["checksums"][0]["algorithm"], "SHA1");
        let purls: Vec<&str> = doc["packages"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|package| package["externalRefs"][0]["referenceLocator"].as_str())
            .collect();
        assert!(purls.contains(&"pkg:cargo/lib@1.1.6"), "{purls:?}");
        assert!(
            purls.contains(&"cpe:2.3:a:rust-lang:rust:1.95.0:*:*:*:*:*:*:*"),
            "{purls:?}"
        );
        let links: Vec<String> = doc["relationships"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["relationshipType"] == "STATIC_LINK")
            .map(|r| r["relatedSpdxElement"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(
            links,
            ["SPDXRef-Crate-leaf-2.0.0", "SPDXRef-Crate-lib-1.1.6"],
            "every linked crate, no build-dependency"
        );
    }

    #[test]
    fn the_summary_reads_back_the_file_and_the_compiler() {
        use sha1::{Digest, Sha1};
        use sha2::Sha256;
        let summary = super::summary(&sbom(BINARY, CREATED).data).unwrap();
        assert_eq!(summary.rustc.as_deref(), Some("1.95.0"));
        assert_eq!(
            summary.files,
            [super::FileSummary {
                name: "./pause".to_string(),
                sha1: Some(crate::oci::blob::hex(&Sha1::digest(BINARY))),
                sha256: Some(crate::oci::blob::hex(&Sha256::digest(BINARY))),
            }]
        );
        assert!(super::summary(b"<html>").is_err());
    }

    #[test]
    fn the_purl_encodes_the_digest_colon() {
        assert_eq!(
            image_purl("Pause", "sha256:ab12", "amd64"),
            "pkg:oci/pause@sha256%3Aab12?arch=amd64"
        );
    }
}
