//! cosign's formats, so that what this xtask signs verifies with `cosign verify --key`, Kyverno,
//! sigstore's policy-controller and containers/image: key files (`key`, sealed by `encrypted`,
//! written as `pem`), the simple-signing payload and `.sig` manifest (`simple_signing`), DSSE
//! envelopes (`dsse`), Sigstore bundles v0.3 and their referrers (`bundle`), and the image's
//! signed attestations in cosign 2's `.att` image and cosign 3's bundles (`attestation`); the
//! `.sig` and `.att` images share go-containerregistry's shape (`attached`). And a push's `plan`:
//! from the layout, the key and what the registry holds, the ordered list of plain OCI writes.
//! Pure codecs; the only I/O is the system's random source, for new keys, salts and nonces (and
//! the plan's note on stderr about a referrers listing it cannot read).
//!
//! Above `attest` and `oci`: uses them and the base, never `registry` or `commands`.

pub(crate) mod attached;
pub mod attestation;
pub mod bundle;
pub mod dsse;
pub(crate) mod encrypted;
pub mod key;
pub(crate) mod pem;
pub(crate) mod plan;
pub mod simple_signing;
