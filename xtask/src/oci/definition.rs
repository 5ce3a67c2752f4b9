//! The image's definition (`image/image.toml`, parsed from its text here): entrypoint, user, the
//! binary's place in the image and the fixed annotations. Everything computed at build time is
//! left out of it. A definition that could not give a runnable image is refused, naming the field
//! and the rule.

use std::collections::BTreeMap;

use anyhow::{Result, bail};
use serde::Deserialize;

pub(crate) const CREATED: &str = "org.opencontainers.image.created";
pub(crate) const VERSION: &str = "org.opencontainers.image.version";
pub(crate) const REVISION: &str = "org.opencontainers.image.revision";
/// Annotations the definition may set that the SBOM repeats: the image's license and source.
pub(crate) const LICENSES: &str = "org.opencontainers.image.licenses";
pub(crate) const SOURCE: &str = "org.opencontainers.image.source";
/// The annotations the build computes; the definition may not set them.
pub(crate) const COMPUTED_ANNOTATIONS: &[&str] = &[CREATED, VERSION, REVISION];

/// Permission bits plus setuid, setgid and sticky: everything a tar mode may say about a file.
const MAX_MODE: u32 = 0o7777;
/// The largest uid or gid a ustar header holds (seven octal digits).
const MAX_TAR_ID: u64 = 0o7777777;
/// The execute bits for the owner, the group and everyone else.
const OWNER_EXECUTE: u32 = 0o100;
const GROUP_EXECUTE: u32 = 0o010;
const OTHER_EXECUTE: u32 = 0o001;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Definition {
    pub(crate) entrypoint: Vec<String>,
    /// `UID:GID`: numbers, since the image has no /etc/passwd to look names up in.
    pub(crate) user: String,
    pub(crate) binary: File,
    /// Sorted by key, so that every manifest serialises them in the same order.
    pub(crate) annotations: BTreeMap<String, String>,
}

/// Where and how a file lands in the image.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct File {
    /// Absolute path inside the image, e.g. `/pause`.
    pub(crate) path: String,
    pub(crate) mode: u32,
    pub(crate) uid: u64,
    pub(crate) gid: u64,
}

impl File {
    /// The path as a layer tar names it: relative to the root.
    pub(crate) fn tar_path(&self) -> &str {
        self.path.trim_start_matches('/')
    }
}

impl Definition {
    /// Parses and checks the text of an image definition.
    pub(crate) fn parse(text: &str) -> Result<Definition> {
        let definition: Definition = toml::from_str(text).map_err(|error| {
            // toml's own Display spans several lines; one line names where and what.
            let at = error.span().map_or(0, |span| span.start);
            let line = text[..at].matches('\n').count() + 1;
            let source = text.lines().nth(line - 1).unwrap_or_default().trim();
            anyhow::anyhow!("line {line} (`{source}`): {}", error.message())
        })?;
        definition.check()?;
        Ok(definition)
    }

    fn check(&self) -> Result<()> {
        let binary = &self.binary;
        let normal = binary.path.starts_with('/')
            && binary
                .tar_path()
                .split('/')
                .all(|part| !part.is_empty() && part != "." && part != "..");
        if !normal {
            bail!(
                "`binary.path` is {:?}: it must be an absolute path to a file, with no empty, `.` \
                 or `..` component and no trailing `/`, e.g. \"/pause\"",
                binary.path
            );
        }
        if binary.mode > MAX_MODE {
            bail!(
                "`binary.mode` is {:#o}: a file mode is at most 0o7777, e.g. 0o755",
                binary.mode
            );
        }
        for (field, id) in [("binary.uid", binary.uid), ("binary.gid", binary.gid)] {
            if id > MAX_TAR_ID {
                bail!("`{field}` is {id}: a layer's tar header holds at most {MAX_TAR_ID}");
            }
        }
        match self.entrypoint.first() {
            Some(program) if *program == binary.path => {}
            Some(program) => bail!(
                "`entrypoint` runs {program:?}, which is not in the image: its first element must be \
                 `binary.path`, {:?}",
                binary.path
            ),
            None => bail!(
                "`entrypoint` is empty: give the command the container runs, e.g. [\"{}\"]",
                binary.path
            ),
        }
        let (uid, gid) = self.user_ids()?;
        let may_execute = if uid == binary.uid {
            binary.mode & OWNER_EXECUTE
        } else if gid == binary.gid {
            binary.mode & GROUP_EXECUTE
        } else {
            binary.mode & OTHER_EXECUTE
        } != 0;
        if !may_execute && uid != 0 {
            bail!(
                "`binary.mode` {:#o} does not let `user` {} execute {}: set the execute bit that \
                 applies to it, e.g. mode = 0o755",
                binary.mode,
                self.user,
                binary.path
            );
        }
        if let Some(key) = self
            .annotations
            .keys()
            .find(|key| COMPUTED_ANNOTATIONS.contains(&key.as_str()))
        {
            bail!("annotation `{key}` is computed at build time: remove it from [annotations]");
        }
        Ok(())
    }

    /// `user` as numbers: `UID:GID`, or `UID` alone (whose group is then the same number, as
    /// runtimes do for an image without /etc/group).
    fn user_ids(&self) -> Result<(u64, u64)> {
        let number = |text: &str| {
            (!text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()))
                .then(|| text.parse::<u32>().ok())
                .flatten()
        };
        let (uid, gid) = match self.user.split_once(':') {
            Some((uid, gid)) => (number(uid), number(gid)),
            None => (number(&self.user), number(&self.user)),
        };
        match (uid, gid) {
            (Some(uid), Some(gid)) => Ok((uid.into(), gid.into())),
            _ => bail!(
                "`user` is {:?}: give numeric ids, `UID:GID` (the image has no /etc/passwd to \
                 look a name up in), e.g. \"65535:65535\"",
                self.user
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Definition;

    /// The project's definition, as the refusals below edit it.
    const GOOD: &str = include_str!("../../../image/image.toml");

    #[test]
    fn the_project_definition_is_accepted() {
        let definition = Definition::parse(GOOD).expect("image/image.toml");
        assert_eq!(definition.binary.path, "/pause");
    }

    /// Each edit breaks one rule; the error names the field and says what the rule is.
    #[test]
    fn a_bad_definition_is_refused_naming_the_field() {
        let with = |from: &str, to: &str| {
            assert!(GOOD.contains(from), "image/image.toml has no `{from}`");
            GOOD.replace(from, to)
        };
        let cases = [
            (
                format!("{GOOD}\"org.opencontainers.image.created\" = \"2000-01-01T00:00:00Z\"\n"),
                "computed at build time",
            ),
            (with("entrypoint =", "entry_point ="), "unknown field"),
            (with("mode = 0o755", "mode = \"rwx\""), "mode"),
            (
                with("mode = 0o755", "mode = 4294967295"),
                "`binary.mode` is 0o37777777777",
            ),
            (
                with("mode = 0o755", "mode = 0o750"),
                "does not let `user` 65535:65535 execute",
            ),
            (
                with("path = \"/pause\"", "path = \"/pause/\""),
                "`binary.path` is \"/pause/\"",
            ),
            (
                with("path = \"/pause\"", "path = \"/a/../pause\""),
                "`binary.path`",
            ),
            (
                with("path = \"/pause\"", "path = \"pause\""),
                "`binary.path`",
            ),
            (
                with("entrypoint = [\"/pause\"]", "entrypoint = [\"\"]"),
                "`entrypoint` runs \"\"",
            ),
            (
                with("entrypoint = [\"/pause\"]", "entrypoint = []"),
                "`entrypoint` is empty",
            ),
            (
                with("user = \"65535:65535\"", "user = \"\""),
                "`user` is \"\"",
            ),
            (
                with("user = \"65535:65535\"", "user = \"nobody\""),
                "`user` is \"nobody\"",
            ),
            (
                with("user = \"65535:65535\"", "user = \"1:x\""),
                "numeric ids",
            ),
            (
                with("uid = 0", "uid = 99999999"),
                "`binary.uid` is 99999999",
            ),
        ];
        for (text, expected) in cases {
            let error = Definition::parse(&text).expect_err(expected).to_string();
            assert!(
                error.contains(expected),
                "expected {expected:?} in: {error}"
            );
            assert!(!error.contains('\n'), "one line: {error}");
        }
    }

    #[test]
    fn a_uid_alone_and_root_are_accepted() {
        for (from, to) in [
            ("user = \"65535:65535\"", "user = \"65535\""),
            ("user = \"65535:65535\"", "user = \"0:0\""),
        ] {
            Definition::parse(&GOOD.replace(from, to))
                .unwrap_or_else(|error| panic!("{to}: {error}"));
        }
    }
}
