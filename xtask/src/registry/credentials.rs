//! Registry credentials, found where docker, podman and skopeo keep them.
//!
//! Order: `--username` with `--password-stdin` (the caller's); then `REGISTRY_AUTH_FILE` (podman's
//! auth.json), podman's default auth.json, and docker's `config.json` (`$DOCKER_CONFIG` or
//! `~/.docker`). In each file, like docker: a `credHelpers` entry for the registry, else an `auths`
//! entry, else the `credsStore` helper. No credentials anywhere means an anonymous push.
//!
//! Docker Hub is one registry under four names: `docker.io`, `index.docker.io`,
//! `registry-1.docker.io`, and `https://index.docker.io/v1/`, the key `docker login` writes and
//! asks credential helpers about. Every other registry is its `host[:port]`, however a file spells
//! the key (`https://host`, `host/v1/`).
//!
//! A file is read as a plain JSON value and only the entry for the registry is decoded: another
//! registry's malformed entry never stops a push, and no error quotes a value (an `auth` is a
//! base64 password); errors name the file and the key.

use std::io::{ErrorKind, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};
use base64::Engine;
use serde_json::{Map, Value};
use xshell::{Shell, cmd};
use zeroize::Zeroizing;

pub use super::secret::Credentials;
use crate::escape::Escaped;
use crate::named_file;
use crate::oci::reference::{DOCKER_HUB, canonical_registry, registry_of_key};
use crate::secret_variables;

/// What a credential helper answers in `Username` when `Secret` is an OAuth identity token, and
/// the user name an identity token stands under when its entry names none.
const IDENTITY_TOKEN_USER: &str = "<token>";
/// The key docker keeps Docker Hub's credentials under, and asks credential helpers with.
const DOCKER_HUB_KEY: &str = "https://index.docker.io/v1/";
/// The most of a credential helper's answer read: `{"ServerURL", "Username", "Secret"}`, a few
/// KiB even for a cloud's token.
const MAX_HELPER_ANSWER: u64 = 64 << 10;
/// The most of a docker or podman config file read: a login is a line of JSON.
const MAX_CONFIG_FILE: u64 = 1 << 20;

/// The credentials stored for `registry` (`host[:port]`, Docker Hub by any name) in the first of
/// `files` that has any; None means anonymous access.
pub(crate) fn lookup(sh: &Shell, files: &[PathBuf], registry: &str) -> Result<Option<Credentials>> {
    let registry = canonical_registry(registry);
    for file in files {
        let text = match named_file::read(file, MAX_CONFIG_FILE) {
            Ok(text) => String::from_utf8_lossy(&text).into_owned(),
            Err(error) if error.kind() == ErrorKind::FileTooLarge => {
                bail!(
                    "{} is {error}: is it a docker or podman config?",
                    file.display()
                )
            }
            // Missing or unreadable: as docker does, the next place or no credentials.
            Err(_) => continue,
        };
        if let Some(credentials) = AuthFile::parse(file, &text)?.credentials(sh, registry)? {
            return Ok(Some(credentials));
        }
    }
    Ok(None)
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

/// The key docker uses for `registry`: Docker Hub's URL, else the host itself.
fn docker_key(registry: &str) -> &str {
    if registry == DOCKER_HUB {
        DOCKER_HUB_KEY
    } else {
        registry
    }
}

/// docker's config.json or podman's auth.json (the same shape), as a JSON value.
struct AuthFile<'a> {
    path: &'a Path,
    document: Map<String, Value>,
}

impl<'a> AuthFile<'a> {
    fn parse(path: &'a Path, text: &str) -> Result<AuthFile<'a>> {
        let fix = "fix or remove it, or pass --username U --password-stdin";
        // serde_json's syntax errors name a position, never the text around it.
        let document: Value = serde_json::from_str(text).map_err(|error| {
            anyhow::anyhow!(
                "{} is not valid JSON (line {}, column {}): {fix}",
                path.display(),
                error.line(),
                error.column()
            )
        })?;
        let Value::Object(document) = document else {
            bail!("{} is not a JSON object: {fix}", path.display());
        };
        Ok(AuthFile { path, document })
    }

    /// A `credHelpers` helper, else an `auths` entry, else the `credsStore` helper.
    fn credentials(&self, sh: &Shell, registry: &str) -> Result<Option<Credentials>> {
        if let Some((key, helper)) = self.entry("credHelpers", registry)? {
            let Some(helper) = helper.as_str() else {
                bail!(
                    "the `credHelpers` entry \"{}\" in {} is not a helper name: fix it",
                    Escaped(key),
                    self.path.display()
                );
            };
            return helper_credentials(sh, helper, registry);
        }
        if let Some((key, entry)) = self.entry("auths", registry)?
            && let Some(credentials) = self.decode(key, entry, registry)?
        {
            return Ok(Some(credentials));
        }
        match self.document.get("credsStore") {
            Some(Value::String(store)) if !store.is_empty() => {
                helper_credentials(sh, store, registry)
            }
            Some(Value::String(_)) | Some(Value::Null) | None => Ok(None),
            Some(_) => bail!(
                "`credsStore` in {} is not a helper name: fix it",
                self.path.display()
            ),
        }
    }

    /// The entry of the map `section` for `registry`: under docker's own key if there is one,
    /// else under the first key that names the registry.
    fn entry(&self, section: &str, registry: &str) -> Result<Option<(&str, &Value)>> {
        let Some(map) = self.document.get(section) else {
            return Ok(None);
        };
        let Value::Object(map) = map else {
            bail!(
                "`{section}` in {} is not a JSON object: fix or remove it",
                self.path.display()
            );
        };
        let exact = docker_key(registry);
        Ok(map
            .get_key_value(exact)
            .or_else(|| map.iter().find(|(key, _)| registry_of_key(key) == registry))
            .map(|(key, value)| (key.as_str(), value)))
    }

    /// An `auths` entry: `auth` (base64 of `user:password`), or `username` and `password`; with
    /// an `identitytoken` beside them (or alone), that token logs in under the entry's user.
    fn decode(&self, key: &str, entry: &Value, registry: &str) -> Result<Option<Credentials>> {
        let file = self.path.display();
        let fix =
            format!("log in again with `docker login {registry}` or `podman login {registry}`");
        let Value::Object(entry) = entry else {
            bail!(
                "the `auths` entry \"{}\" in {file} is not a JSON object: {fix}",
                Escaped(key)
            );
        };
        let text = |field: &str| -> Result<Option<&str>> {
            match entry.get(field) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(text)) => {
                    Ok(Some(text.as_str()).filter(|text| !text.is_empty()))
                }
                Some(_) => bail!(
                    "the `{field}` of the `auths` entry \"{}\" in {file} is not a string: {fix}",
                    Escaped(key)
                ),
            }
        };
        let identity_token = text("identitytoken")?;
        if let (Some(username), Some(password)) = (text("username")?, text("password")?) {
            return Ok(Some(match identity_token {
                Some(token) => Credentials::identity_token(username, token),
                None => Credentials::new(username, password),
            }));
        }
        let Some(encoded) = text("auth")? else {
            return Ok(
                identity_token.map(|token| Credentials::identity_token(IDENTITY_TOKEN_USER, token))
            );
        };
        let pair = base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .and_then(|decoded| {
                let (username, password) = decoded.split_once(':')?;
                Some(Credentials::new(username, password))
            });
        // `docker login` keeps the user name in `auth` beside the identity token, with an empty
        // password (or a placeholder): the token is what logs in.
        let pair = match (pair, identity_token) {
            (Some(pair), Some(token)) => Some(Credentials::identity_token(pair.username, token)),
            (pair, _) => pair,
        };
        match pair {
            Some(credentials) => Ok(Some(credentials)),
            None => bail!(
                "the `auth` of the `auths` entry \"{}\" in {file} is not base64 of user:password: {fix}",
                Escaped(key)
            ),
        }
    }
}

/// Asks `docker-credential-<helper>` for the registry's credentials, with the key docker asks it
/// with, and the secret variables the xtask took out of its environment (a helper may need its
/// cloud's keys). Its answer is read up to [`MAX_HELPER_ANSWER`] as a plain JSON value: no error
/// quotes it.
fn helper_credentials(sh: &Shell, helper: &str, registry: &str) -> Result<Option<Credentials>> {
    let program = format!("docker-credential-{helper}");
    let cannot_run = || {
        format!(
            "cannot run the credential helper `{program}`: install it, or remove `{helper}` from your docker config"
        )
    };
    // The shell's environment (its PATH finds the helper), and the secrets the xtask took out.
    let mut command: Command = cmd!(sh, "{program} get")
        .envs(secret_variables::for_credential_helpers())
        .into();
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .with_context(cannot_run)?;
    // A helper that does not read its input gets a broken pipe, and answers or fails as it will.
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(docker_key(registry).as_bytes());
    }
    let mut answer = Zeroizing::new(Vec::new());
    let read = child
        .stdout
        .take()
        .map(|stdout| stdout.take(MAX_HELPER_ANSWER + 1).read_to_end(&mut answer));
    if answer.len() as u64 > MAX_HELPER_ANSWER {
        let _ = child.kill();
    }
    let status = child.wait().with_context(cannot_run)?;
    if answer.len() as u64 > MAX_HELPER_ANSWER {
        bail!("`{program} get` answered more than {MAX_HELPER_ANSWER} bytes: check the helper");
    }
    read.transpose().with_context(cannot_run)?;
    if !status.success() {
        // Helpers answer a registry they hold nothing for with an error; that is "no credentials".
        return Ok(None);
    }
    let answer: Option<(String, String)> =
        serde_json::from_slice::<Value>(&answer)
            .ok()
            .and_then(|answer| {
                let field = |name: &str| answer.get(name)?.as_str().map(str::to_string);
                Some((field("Username")?, field("Secret")?))
            });
    let Some((username, secret)) = answer else {
        bail!(
            "`{program} get` did not answer with credentials JSON (Username, Secret): check the helper"
        );
    };
    if username == IDENTITY_TOKEN_USER {
        return Ok(Some(Credentials::identity_token(username, secret)));
    }
    Ok(Some(Credentials::new(username, secret)))
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use xshell::Shell;

    use super::{Credentials, lookup};

    const HUB_AUTH: &str = "Ym9iOmh1bnRlcjI="; // bob:hunter2

    fn config(dir: &Path, name: &str, json: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, json).unwrap();
        path
    }

    #[test]
    fn docker_hub_is_one_registry_whatever_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let sh = Shell::new().unwrap();
        let bob = Some(Credentials::new("bob", "hunter2"));
        for key in [
            "https://index.docker.io/v1/",
            "docker.io",
            "index.docker.io",
            "registry-1.docker.io",
            "https://registry-1.docker.io",
        ] {
            let file = config(
                dir.path(),
                "config.json",
                &format!(r#"{{"auths":{{"{key}":{{"auth":"{HUB_AUTH}"}}}}}}"#),
            );
            for registry in ["docker.io", "index.docker.io", "registry-1.docker.io"] {
                assert_eq!(
                    lookup(&sh, std::slice::from_ref(&file), registry).unwrap(),
                    bob,
                    "{key} for {registry}"
                );
            }
            assert_eq!(lookup(&sh, &[file], "ghcr.io").unwrap(), None, "{key}");
        }
    }

    #[test]
    fn only_the_registrys_entry_is_read_and_no_value_is_quoted() {
        let dir = tempfile::tempdir().unwrap();
        let sh = Shell::new().unwrap();
        let others_broken = config(
            dir.path(),
            "others.json",
            &format!(
                r#"{{"auths":{{"ghcr.io":"{HUB_AUTH}","quay.io":{{"auth":42}},"https://r.example:5000/v1/":{{"auth":"{HUB_AUTH}"}}}}}}"#
            ),
        );
        assert_eq!(
            lookup(&sh, &[others_broken], "r.example:5000").unwrap(),
            Some(Credentials::new("bob", "hunter2"))
        );
        for (name, json) in [
            (
                "string.json",
                format!(r#"{{"auths":{{"ghcr.io":"{HUB_AUTH}"}}}}"#),
            ),
            (
                "number.json",
                r#"{"auths":{"ghcr.io":{"auth":42}}}"#.to_string(),
            ),
            (
                "base64.json",
                r#"{"auths":{"ghcr.io":{"auth":"hunter2!"}}}"#.to_string(),
            ),
            (
                "pair.json",
                r#"{"auths":{"ghcr.io":{"auth":"aHVudGVyMg=="}}}"#.to_string(),
            ),
            (
                "syntax.json",
                format!(r#"{{"auths":{{"ghcr.io":{{"auth":"{HUB_AUTH}"}}"#),
            ),
        ] {
            let file = config(dir.path(), name, &json);
            let error = lookup(&sh, std::slice::from_ref(&file), "ghcr.io")
                .expect_err(name)
                .to_string();
            assert!(error.contains(&file.display().to_string()), "{error}");
            for secret in [HUB_AUTH, "hunter2", "42"] {
                assert!(!error.contains(secret), "{name} quotes a value: {error}");
            }
            if name != "syntax.json" {
                assert!(
                    error.contains("\"ghcr.io\""),
                    "{name} names no key: {error}"
                );
            }
            assert!(!error.contains('\n'), "{error}");
        }
    }

    #[test]
    fn identity_tokens_are_read_as_docker_login_stores_them() {
        let dir = tempfile::tempdir().unwrap();
        let sh = Shell::new().unwrap();
        let token = "an-identity-token";
        for (entry, username) in [
            // `docker login`: the user name in `auth` with an empty password.
            (
                format!(r#"{{"auth":"Ym9iOg==","identitytoken":"{token}"}}"#),
                "bob",
            ),
            (
                format!(r#"{{"username":"bob","password":"x","identitytoken":"{token}"}}"#),
                "bob",
            ),
            (format!(r#"{{"identitytoken":"{token}"}}"#), "<token>"),
        ] {
            let file = config(
                dir.path(),
                "config.json",
                &format!(r#"{{"auths":{{"r.example":{entry}}}}}"#),
            );
            let found = lookup(&sh, &[file], "r.example").unwrap().expect(&entry);
            assert_eq!(
                found,
                Credentials::identity_token(username, token),
                "{entry}"
            );
            assert!(!format!("{found:?}").contains(token), "{entry}");
        }
    }

    #[test]
    fn no_file_or_no_entry_is_anonymous() {
        let dir = tempfile::tempdir().unwrap();
        let sh = Shell::new().unwrap();
        let empty = config(dir.path(), "empty.json", "{}");
        let missing = dir.path().join("missing.json");
        assert_eq!(lookup(&sh, &[missing, empty], "ghcr.io").unwrap(), None);
    }
}
