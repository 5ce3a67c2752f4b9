//! The verifiers this project did not write, as the suites run them on what the xtask signs:
//! sigstore-js (`@sigstore/verify`, through `tests/verifiers/verify-bundle.cjs`) on Sigstore
//! bundles, OpenSSL (`openssl dgst -sha256 -verify`) on DSSE envelopes over a pre-authentication
//! encoding built here from the spec, and in-toto's Python bindings (PyPI
//! `in-toto-attestation`, through `tests/verifiers/check-statement.py`) on statements; PyPI's
//! `jsonschema` (through `tests/verifiers/check-policy.py`) on Kubernetes policies, against the
//! schemas of `tests/verifiers/policy-schemas/` (written for this project from the controllers'
//! documented fields: they catch a misspelt field or a value outside an enum, not everything an
//! API server would). `cargo xtask test` installs sigstore-js and the Python packages; without
//! them a test skips loudly.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;

use crate::{Need, ready, skip};

pub const NODE: Need = Need::program("node", "nodejs");
pub const OPENSSL: Need = Need::program("openssl", "openssl");
/// The script that runs sigstore-js, the one that runs in-toto's bindings, and the one that runs
/// `jsonschema` on admission policies with the policy schemas beside it.
const VERIFY_BUNDLE: &str = "verify-bundle.cjs";
const CHECK_STATEMENT: &str = "check-statement.py";
const CHECK_POLICY: &str = "check-policy.py";
const POLICY_SCHEMAS: &str = "policy-schemas";
const WORKFLOW_JSON: &str = "workflow-json.py";

/// What a verifier printed, stdout then stderr.
pub fn said(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// sigstore-js's modules, installed by `cargo xtask test`; a loud skip without them or node.
pub fn sigstore_js_ready(test: &str) -> Option<PathBuf> {
    if !ready(test, &[NODE]) {
        return None;
    }
    let modules = xtask::project::tools_node().join("node_modules");
    if !modules.join("@sigstore/verify").is_dir() {
        skip(
            test,
            &format!("needs sigstore-js in {}", modules.display()),
            "cargo xtask test (it installs tests/verifiers/package-lock.json with npm ci)",
        );
        return None;
    }
    Some(modules)
}

/// `verify-bundle.cjs` on `bundle` with the key file `key`, expecting a statement of
/// `predicate_type` about `digest`.
pub fn sigstore_js(
    modules: &Path,
    scratch: &Path,
    bundle: &[u8],
    key: &Path,
    digest: &str,
    predicate_type: &str,
) -> Output {
    let path = write(&scratch.join("bundle.sigstore.json"), bundle);
    Command::new("node")
        .arg(xtask::project::verifiers_dir().join(VERIFY_BUNDLE))
        .arg(&path)
        .arg(key)
        .args([digest, predicate_type])
        .env("NODE_PATH", modules)
        .stdin(Stdio::null())
        .output()
        .expect("running node")
}

/// `data` written to `path`.
pub fn write(path: &Path, data: &[u8]) -> PathBuf {
    std::fs::write(path, data).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    path.to_path_buf()
}

/// Whether OpenSSL verifies `signature` (DER) over `data` with the PEM key `key`.
pub fn openssl_verifies(scratch: &Path, key: &Path, data: &[u8], signature: &[u8]) -> bool {
    let data = write(&scratch.join("signed.bin"), data);
    let signature = write(&scratch.join("signature.der"), signature);
    let out = Command::new("openssl")
        .args(["dgst", "-sha256", "-verify"])
        .arg(key)
        .arg("-signature")
        .arg(&signature)
        .arg(&data)
        .output()
        .expect("running openssl dgst");
    out.status.success() && String::from_utf8_lossy(&out.stdout).contains("Verified OK")
}

/// DSSE's pre-authentication encoding, written here from the spec, not taken from the xtask.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut bytes = format!(
        "DSSEv1 {} {payload_type} {} ",
        payload_type.len(),
        payload.len()
    )
    .into_bytes();
    bytes.extend_from_slice(payload);
    bytes
}

/// A DSSE envelope as cosign 2 stores it in an `.att` layer, read with serde_json and base64
/// alone: its payload type, its payload, its one signature and that signature's `keyid`.
pub struct Dsse {
    pub payload_type: String,
    pub payload: Vec<u8>,
    pub signature: Vec<u8>,
    pub keyid: Value,
}

impl Dsse {
    /// Reads an envelope that has exactly one signature, as cosign writes them.
    pub fn read(json: &[u8]) -> Dsse {
        let envelope: Value = serde_json::from_slice(json).expect("an envelope is JSON");
        let decode = |text: &Value| {
            STANDARD
                .decode(text.as_str().expect("a string"))
                .expect("base64")
        };
        let signatures = envelope["signatures"].as_array().expect("signatures");
        assert_eq!(signatures.len(), 1, "cosign signs once: {envelope}");
        Dsse {
            payload_type: envelope["payloadType"]
                .as_str()
                .expect("a payloadType")
                .to_string(),
            payload: decode(&envelope["payload"]),
            signature: decode(&signatures[0]["sig"]),
            keyid: signatures[0]["keyid"].clone(),
        }
    }

    /// Whether OpenSSL verifies its signature with `key` over the PAE of its payload.
    pub fn openssl_verifies(&self, scratch: &Path, key: &Path) -> bool {
        openssl_verifies(
            scratch,
            key,
            &pae(&self.payload_type, &self.payload),
            &self.signature,
        )
    }

    /// The statement it carries.
    pub fn statement(&self) -> Value {
        serde_json::from_slice(&self.payload).expect("the payload is JSON")
    }
}

/// `sha256:<hex>` of the one subject of an in-toto statement.
pub fn subject_digest(statement: &Value) -> String {
    let subjects = statement["subject"].as_array().expect("a subject list");
    assert_eq!(subjects.len(), 1, "one subject: {statement}");
    format!(
        "sha256:{}",
        subjects[0]["digest"]["sha256"]
            .as_str()
            .expect("a sha256 digest")
    )
}

/// The venv's Python with in-toto-attestation, installed by `cargo xtask test`; a loud skip
/// without it.
pub fn in_toto_ready(test: &str) -> Option<PathBuf> {
    venv_python(test, "in_toto_attestation", "in-toto-attestation")
}

/// The venv's Python with `jsonschema`, installed by `cargo xtask test`; a loud skip without it.
pub fn jsonschema_ready(test: &str) -> Option<PathBuf> {
    venv_python(test, "jsonschema", "jsonschema")
}

/// The venv's Python with ruamel.yaml (check-jsonschema's YAML 1.2 reader), installed by
/// `cargo xtask test`; a loud skip without it.
pub fn yaml_ready(test: &str) -> Option<PathBuf> {
    venv_python(test, "ruamel.yaml", "ruamel.yaml (check-jsonschema's)")
}

/// The venv's Python if it imports `module` (of PyPI's `distribution`); a loud skip otherwise.
fn venv_python(test: &str, module: &str, distribution: &str) -> Option<PathBuf> {
    let python = xtask::project::tools_venv().join("bin/python3");
    let importable = python.is_file()
        && Command::new(&python)
            .args(["-c", &format!("import {module}")])
            .output()
            .is_ok_and(|out| out.status.success());
    if !importable {
        skip(
            test,
            &format!("needs {distribution} in {}", python.display()),
            "apt-get install python3-venv, then cargo xtask test (it makes the venv)",
        );
        return None;
    }
    Some(python)
}

/// `check-policy.py` on the YAML files `policies`, against the schemas of
/// `tests/verifiers/policy-schemas/`.
pub fn check_policies(python: &Path, policies: &[PathBuf]) -> Output {
    let verifiers = xtask::project::verifiers_dir();
    Command::new(python)
        .arg(verifiers.join(CHECK_POLICY))
        .arg(verifiers.join(POLICY_SCHEMAS))
        .args(policies)
        .output()
        .expect("running check-policy.py")
}

/// Each workflow file of `paths` as GitHub reads it (YAML 1.2), as JSON, in their order
/// (`workflow-json.py`); panics naming the reader's complaint.
pub fn workflows_as_json(python: &Path, paths: &[PathBuf]) -> Vec<Value> {
    let out = Command::new(python)
        .arg(xtask::project::verifiers_dir().join(WORKFLOW_JSON))
        .args(paths)
        .output()
        .expect("running workflow-json.py");
    assert!(
        out.status.success(),
        "a workflow is not YAML:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("JSON is UTF-8")
        .lines()
        .map(|line| serde_json::from_str(line).expect("workflow-json.py prints JSON"))
        .collect()
}

/// `check-statement.py` on `statements`, each written to a file of its own.
pub fn in_toto_check(python: &Path, scratch: &Path, statements: &[(String, Vec<u8>)]) -> Output {
    let paths: Vec<PathBuf> = statements
        .iter()
        .map(|(name, bytes)| write(&scratch.join(format!("{name}.json")), bytes))
        .collect();
    Command::new(python)
        .arg(xtask::project::verifiers_dir().join(CHECK_STATEMENT))
        .args(&paths)
        .output()
        .expect("running check-statement.py")
}
