//! Registry credentials, found where docker, podman and skopeo keep them, since oci-client reads
//! none of those files itself.
//!
//! Order: `--username` with `--password-stdin`; then `REGISTRY_AUTH_FILE` (podman's auth.json),
//! podman's default auth.json, and docker's `config.json` (`$DOCKER_CONFIG` or `~/.docker`). In each
//! file, like docker: a `credHelpers` entry for the registry, else an `auths` entry, else the
//! `credsStore` helper. No credentials anywhere means an anonymous push.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use base64::Engine;
use oci_client::secrets::RegistryAuth;
use serde::Deserialize;
use xshell::{Shell, cmd};

/// What a credential helper answers in `Username` when `Secret` is an OAuth identity token.
const IDENTITY_TOKEN_USER: &str = "<token>";

/// The credentials stored for `registry` (`host[:port]`) in the first of `files` that has any, or
/// anonymous access.
pub(crate) fn lookup(sh: &Shell, files: &[PathBuf], registry: &str) -> Result<RegistryAuth> {
    for file in files {
        let Ok(text) = std::fs::read_to_string(file) else {
            continue;
        };
        let parsed: AuthFile = serde_json::from_str(&text).with_context(|| {
            format!(
                "{} is not valid JSON: fix or remove it, or pass --username with --password-stdin",
                file.display()
            )
        })?;
        if let Some(auth) = parsed.credentials(sh, registry, file)? {
            return Ok(auth);
        }
    }
    Ok(RegistryAuth::Anonymous)
}

/// The files that may hold credentials, most specific first, as the environment names them.
pub(crate) fn default_files() -> Vec<PathBuf> {
    let var = |name: &str| {
        std::env::var_os(name)
            .filter(|value| !value.is_empty())
            .map(PathBuf::from)
    };
    let mut files = Vec::new();
    files.extend(var("REGISTRY_AUTH_FILE"));
    files.extend(var("XDG_RUNTIME_DIR").map(|dir| dir.join("containers/auth.json")));
    match var("DOCKER_CONFIG") {
        Some(dir) => files.push(dir.join("config.json")),
        None => files.extend(var("HOME").map(|home| home.join(".docker/config.json"))),
    }
    files
}

/// The parts of docker's config.json (and podman's auth.json, the same shape) about credentials.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AuthFile {
    #[serde(default)]
    auths: BTreeMap<String, AuthEntry>,
    #[serde(default)]
    cred_helpers: BTreeMap<String, String>,
    #[serde(default)]
    creds_store: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct AuthEntry {
    /// base64 of `user:password`.
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    identitytoken: Option<String>,
}

impl AuthFile {
    fn credentials(&self, sh: &Shell, registry: &str, file: &Path) -> Result<Option<RegistryAuth>> {
        if let Some(helper) = find(&self.cred_helpers, registry) {
            return helper_credentials(sh, helper, registry);
        }
        if let Some(entry) = find(&self.auths, registry)
            && let Some(auth) = entry.credentials(registry, file)?
        {
            return Ok(Some(auth));
        }
        match &self.creds_store {
            Some(store) if !store.is_empty() => helper_credentials(sh, store, registry),
            _ => Ok(None),
        }
    }
}

impl AuthEntry {
    fn credentials(&self, registry: &str, file: &Path) -> Result<Option<RegistryAuth>> {
        if self
            .identitytoken
            .as_deref()
            .is_some_and(|token| !token.is_empty())
        {
            bail!(identity_token_error(registry, &file.display().to_string()));
        }
        if let (Some(username), Some(password)) = (&self.username, &self.password) {
            return Ok(Some(RegistryAuth::Basic(
                username.clone(),
                password.clone(),
            )));
        }
        let Some(encoded) = self.auth.as_deref().filter(|auth| !auth.is_empty()) else {
            return Ok(None);
        };
        let fix = "log in again with `docker login` or `podman login`";
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .with_context(|| {
                format!(
                    "the `auth` for {registry} in {} is not base64 text: {fix}",
                    file.display()
                )
            })?;
        let Some((username, password)) = decoded.split_once(':') else {
            bail!(
                "the `auth` for {registry} in {} is not `user:password`: {fix}",
                file.display()
            );
        };
        Ok(Some(RegistryAuth::Basic(
            username.to_string(),
            password.to_string(),
        )))
    }
}

/// The entry for `registry` in a map keyed the ways docker and podman write registries:
/// `host`, `https://host`, `http://host/v1/`, and so on.
fn find<'a, T>(entries: &'a BTreeMap<String, T>, registry: &str) -> Option<&'a T> {
    entries
        .iter()
        .find(|(key, _)| key_host(key) == registry)
        .map(|(_, value)| value)
}

fn key_host(key: &str) -> &str {
    let without_scheme = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key);
    without_scheme.split('/').next().unwrap_or(without_scheme)
}

/// Asks `docker-credential-<helper>` for the registry's credentials, as docker does.
fn helper_credentials(sh: &Shell, helper: &str, registry: &str) -> Result<Option<RegistryAuth>> {
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct HelperAnswer {
        username: String,
        secret: String,
    }
    let program = format!("docker-credential-{helper}");
    let output = cmd!(sh, "{program} get").stdin(registry).quiet().ignore_status().output().with_context(|| {
        format!("cannot run the credential helper `{program}`: install it, or remove `{helper}` from your docker config")
    })?;
    if !output.status.success() {
        // Helpers answer a registry they hold nothing for with an error; that is "no credentials".
        return Ok(None);
    }
    let answer: HelperAnswer = serde_json::from_slice(&output.stdout).with_context(|| {
        format!("`{program} get` did not answer with credentials JSON: check the helper")
    })?;
    if answer.username == IDENTITY_TOKEN_USER {
        bail!(identity_token_error(registry, &program));
    }
    Ok(Some(RegistryAuth::Basic(answer.username, answer.secret)))
}

fn identity_token_error(registry: &str, source: &str) -> String {
    format!(
        "{source} holds an OAuth identity token for {registry}, which this pusher cannot use: \
         pass a password or access token with --username U --password-stdin"
    )
}
