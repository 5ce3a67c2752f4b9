//! in-toto Statement v1 (in-toto/attestation `spec/v1/statement.md`): a claim, the predicate,
//! about artifacts named by digest, the subject. Every statement here is about one manifest
//! (`sha256` digest): a platform image's SLSA provenance and SPDX SBOM, and cosign 3's
//! signature statement. The predicate is carried byte for byte (a `RawValue`), so a statement
//! built around the layout's SPDX document holds exactly that document, and restating one for
//! another repository changes its subject's name and nothing of its claim.
//!
//! Fields serialise in the spec's (and protobuf's field-number) order: `_type`, `subject`,
//! `predicateType`, `predicate`; a subject's `name`, `digest`, `annotations`.

use std::collections::BTreeMap;

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::oci::blob::{Blob, SHA256_PREFIX, digest_hex, is_sha256_digest};

/// `_type` of every v1 statement.
pub const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";
/// The media type of a statement: the DSSE `payloadType` that says a payload is one, and a
/// statement's media type where the layout stores it.
pub const MEDIA_TYPE: &str = "application/vnd.in-toto+json";
/// The annotation that names a stored statement's predicate type (BuildKit's name for it), so a
/// reader picks provenance from SBOM without fetching either.
pub(crate) const PREDICATE_TYPE_ANNOTATION: &str = "in-toto.io/predicate-type";
/// The digest-set key of a sha256 digest.
const SHA256: &str = "sha256";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Subject {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    digest: BTreeMap<String, String>,
    /// cosign 3 writes an empty object here in its signature statements; `None` writes nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    annotations: Option<BTreeMap<String, String>>,
}

#[derive(Serialize, Deserialize)]
struct Document {
    #[serde(rename = "_type")]
    kind: String,
    subject: Vec<Subject>,
    #[serde(rename = "predicateType")]
    predicate_type: String,
    predicate: Box<RawValue>,
}

/// A statement about one manifest.
#[derive(Debug, Clone)]
pub struct Statement {
    subject: Subject,
    predicate_type: String,
    predicate: Box<RawValue>,
}

impl PartialEq for Statement {
    fn eq(&self, other: &Statement) -> bool {
        self.subject == other.subject
            && self.predicate_type == other.predicate_type
            && self.predicate.get() == other.predicate.get()
    }
}

impl Eq for Statement {}

impl Statement {
    /// `predicate` (a JSON object's bytes, kept as they are) of type `predicate_type` about the
    /// manifest `digest` (`sha256:<hex>`), named `name` (the repository it is in; `None` leaves
    /// the name out, as cosign 3's signature statements do).
    pub fn new(
        name: Option<&str>,
        digest: &str,
        predicate_type: &str,
        predicate: &[u8],
    ) -> Result<Statement> {
        if !is_sha256_digest(digest) {
            bail!("`{digest}` is not a sha256 digest: a statement names its subject by digest");
        }
        let text = std::str::from_utf8(predicate).context("the predicate is not UTF-8 JSON")?;
        let predicate = RawValue::from_string(text.to_string())
            .context("the predicate is not one JSON value")?;
        if !predicate.get().starts_with('{') {
            bail!("the predicate of a statement must be a JSON object");
        }
        Ok(Statement {
            subject: Subject {
                name: name.map(str::to_string),
                digest: BTreeMap::from([(SHA256.to_string(), digest_hex(digest).to_string())]),
                annotations: None,
            },
            predicate_type: predicate_type.to_string(),
            predicate,
        })
    }

    /// The same statement with `annotations` on its subject (an empty map writes `{}`).
    pub(crate) fn with_subject_annotations(
        mut self,
        annotations: BTreeMap<String, String>,
    ) -> Statement {
        self.subject.annotations = Some(annotations);
        self
    }

    /// The same claim about the same manifest, its subject named `name`: a statement written
    /// where the image was built, restated for the repository it is pushed to.
    pub fn named(&self, name: &str) -> Statement {
        let mut restated = self.clone();
        restated.subject.name = Some(name.to_string());
        restated
    }

    /// Reads a statement about one manifest by its sha256 digest.
    pub fn parse(bytes: &[u8]) -> Result<Statement> {
        let document: Document =
            serde_json::from_slice(bytes).context("it is not an in-toto statement")?;
        if document.kind != STATEMENT_TYPE {
            bail!("its _type is `{}`, not `{STATEMENT_TYPE}`", document.kind);
        }
        let [subject] = <[Subject; 1]>::try_from(document.subject).map_err(|subjects| {
            anyhow::anyhow!(
                "it names {} subjects: the statements of this image name one manifest",
                subjects.len()
            )
        })?;
        let digest = subject
            .digest
            .get(SHA256)
            .map(|hex| format!("{SHA256_PREFIX}{hex}"))
            .filter(|digest| is_sha256_digest(digest))
            .context("its subject has no sha256 digest of 64 hex digits")?;
        let mut statement = Statement::new(
            subject.name.as_deref(),
            &digest,
            &document.predicate_type,
            document.predicate.get().as_bytes(),
        )?;
        statement.subject.annotations = subject.annotations;
        Ok(statement)
    }

    /// The statement's JSON: compact, in the spec's field order.
    pub fn to_json(&self) -> Vec<u8> {
        let document = Document {
            kind: STATEMENT_TYPE.to_string(),
            subject: vec![self.subject.clone()],
            predicate_type: self.predicate_type.clone(),
            predicate: self.predicate.clone(),
        };
        serde_json::to_vec(&document).expect("strings, maps and raw JSON always serialise")
    }

    /// The statement as a blob of its media type.
    pub fn blob(&self) -> Blob {
        Blob::new(MEDIA_TYPE, self.to_json())
    }

    /// `sha256:<hex>` of the manifest it is about.
    pub fn subject_digest(&self) -> String {
        format!("{SHA256_PREFIX}{}", self.subject.digest[SHA256])
    }

    pub fn subject_name(&self) -> Option<&str> {
        self.subject.name.as_deref()
    }

    pub fn predicate_type(&self) -> &str {
        &self.predicate_type
    }

    /// The predicate's bytes, exactly as given.
    pub fn predicate(&self) -> &[u8] {
        self.predicate.get().as_bytes()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::{STATEMENT_TYPE, Statement};
    use crate::oci::blob::sha256;

    const PREDICATE: &[u8] = br#"{"z":1,"a":[true,null]}"#;

    fn digest() -> String {
        sha256(b"a manifest")
    }

    #[test]
    fn the_statement_is_the_specs_shape_in_its_field_order() {
        let statement = Statement::new(
            Some("localhost/pause"),
            &digest(),
            "https://example.com/p",
            PREDICATE,
        )
        .unwrap();
        let hex = &digest()[7..];
        assert_eq!(
            String::from_utf8(statement.to_json()).unwrap(),
            format!(
                r#"{{"_type":"{STATEMENT_TYPE}","subject":[{{"name":"localhost/pause","digest":{{"sha256":"{hex}"}}}}],"predicateType":"https://example.com/p","predicate":{{"z":1,"a":[true,null]}}}}"#
            ),
            "the predicate keeps its key order: it is carried, not re-serialised"
        );
        assert_eq!(statement.blob().media_type, "application/vnd.in-toto+json");
    }

    #[test]
    fn a_statement_reads_back_and_restates_only_its_name() {
        let statement = Statement::new(Some("localhost/pause"), &digest(), "t", PREDICATE).unwrap();
        let read = Statement::parse(&statement.to_json()).unwrap();
        assert_eq!(read, statement);
        assert_eq!(read.subject_digest(), digest());
        assert_eq!(read.predicate(), PREDICATE);
        let moved = read.named("ghcr.io/o/pause");
        assert_eq!(moved.subject_name(), Some("ghcr.io/o/pause"));
        assert_eq!(moved.predicate(), PREDICATE);
        assert_eq!(moved.subject_digest(), digest());
    }

    /// cosign 3's signature statements: no name, `"annotations":{}`.
    #[test]
    fn a_subject_may_have_no_name_and_empty_annotations() {
        let statement = Statement::new(None, &digest(), "t", b"{}")
            .unwrap()
            .with_subject_annotations(BTreeMap::new());
        let text = String::from_utf8(statement.to_json()).unwrap();
        assert!(
            text.contains(&format!(
                r#""subject":[{{"digest":{{"sha256":"{}"}},"annotations":{{}}}}]"#,
                &digest()[7..]
            )),
            "{text}"
        );
        assert_eq!(Statement::parse(text.as_bytes()).unwrap(), statement);
    }

    #[test]
    fn what_is_not_a_statement_about_one_manifest_is_refused() {
        for (bytes, expected) in [
            (&b"<html>"[..], "not an in-toto statement"),
            (
                br#"{"_type":"https://in-toto.io/Statement/v0.1","subject":[],"predicateType":"t","predicate":{}}"#,
                "_type",
            ),
            (
                br#"{"_type":"https://in-toto.io/Statement/v1","subject":[],"predicateType":"t","predicate":{}}"#,
                "0 subjects",
            ),
            (
                br#"{"_type":"https://in-toto.io/Statement/v1","subject":[{"digest":{"sha512":"00"}}],"predicateType":"t","predicate":{}}"#,
                "no sha256",
            ),
            (
                br#"{"_type":"https://in-toto.io/Statement/v1","subject":[{"digest":{"sha256":"00"}}],"predicateType":"t","predicate":{}}"#,
                "no sha256",
            ),
        ] {
            let error = format!("{:#}", Statement::parse(bytes).unwrap_err());
            assert!(error.contains(expected), "{expected}: {error}");
        }
        assert!(Statement::new(None, &digest(), "t", b"[1]").is_err());
        assert!(Statement::new(None, &digest(), "t", b"{").is_err());
        assert!(Statement::new(None, "sha256:00", "t", b"{}").is_err());
    }
}
