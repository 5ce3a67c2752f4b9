//! What `verify`'s rows say in lines, on stderr: a line per problem in the table's order (the
//! rows top to bottom, a row's cells left to right), and the verdict last. When the key verifies
//! nothing in the image, the lines that say a signature is not the key's are one line, naming
//! the keys that signed and the key given, each as `sha256:` of its SubjectPublicKeyInfo. The
//! verdict names what tells most: the first blob that differs (a platform's before the index's,
//! which only lists the manifests that differ), else that line, else the first problem. A single
//! problem is said once, by the verdict. Lines quote the registry and are escaped here.

use std::collections::BTreeSet;

use super::commit;
use super::table::{Detail, Row};
use crate::escape::{Escaped, escaped};

/// The key given with `--key`, as lines name it.
pub(super) struct Key {
    /// `sha256:<hex>` of its SubjectPublicKeyInfo.
    pub(super) fingerprint: String,
    /// Its file's name, as the user knows it (`cosign.pub`).
    pub(super) file: String,
}

/// How verify ends: every row holds, or not; the line that says so.
pub(super) struct Verdict {
    pub(super) holds: bool,
    pub(super) line: String,
    /// The lines under the table, each escaped; empty when the verdict says the only one.
    pub(super) problems: Vec<String>,
}

/// Judges the rows of `shown`: `key` is `--key`'s; `other_commit` the commit the image names when
/// it is not this checkout's.
pub(super) fn judge(
    shown: &str,
    rows: &[Row],
    key: Option<&Key>,
    other_commit: Option<&str>,
) -> Verdict {
    let wrong_key = key.and_then(|key| wrong_key(rows, key));
    let mut problems = Vec::new();
    let mut said_wrong_key = false;
    for detail in rows
        .iter()
        .flat_map(|row| row.cells())
        .flat_map(|cell| &cell.details)
    {
        match (&wrong_key, &detail.other_keys) {
            (Some(line), Some(_)) if !said_wrong_key => {
                problems.push(line.clone());
                said_wrong_key = true;
            }
            (Some(_), Some(_)) => {}
            _ => problems.push(escaped(&detail.line)),
        }
    }
    let failing: Vec<&Row> = rows.iter().filter(|row| !row.holds()).collect();
    if failing.is_empty() {
        return Verdict {
            holds: true,
            line: format!(
                "every row holds: {shown} is what this checkout builds, and every platform has \
                 its SBOM{}",
                key.map_or_else(String::new, |key| format!(
                    "; signed with the key {} (.sig and bundle), and every platform's SBOM and \
                     provenance are attested with it in cosign 2's .att and cosign 3's bundles",
                    key.fingerprint
                ))
            ),
            problems,
        };
    }
    let first_difference = rows
        .iter()
        .skip(1)
        .chain(rows.first())
        .find_map(|row| row.rebuilt.details.first())
        .map(|detail| format!("first difference: {}", Escaped(&detail.line)));
    let telling = first_difference
        .or_else(|| wrong_key.clone())
        .or_else(|| problems.first().map(|first| format!("first: {first}")));
    let commit = other_commit.map_or_else(String::new, |revision| match commit::id(revision) {
        Some(id) => format!(" (the image was built from commit {id}: `git checkout {id}`)"),
        None => format!(" ({})", commit::not_an_id(revision)),
    });
    let line = format!(
        "{shown} does not verify: {} of {} rows do not hold ({}){commit}{}",
        failing.len(),
        rows.len(),
        failing
            .iter()
            .map(|row| escaped(&row.name))
            .collect::<Vec<_>>()
            .join(", "),
        telling
            .as_deref()
            .map_or_else(String::new, |telling| format!("; {telling}"))
    );
    if let [only] = problems.as_slice()
        && telling
            .as_deref()
            .is_some_and(|telling| telling.ends_with(only.as_str()))
    {
        problems.clear();
    }
    Verdict {
        holds: false,
        line,
        problems,
    }
}

/// When the key verifies nothing in the image and some signature is another key's: the one line
/// that says so, escaped.
fn wrong_key(rows: &[Row], key: &Key) -> Option<String> {
    let verifies_something = rows
        .iter()
        .flat_map(|row| row.signed_cells())
        .any(|cell| cell.verdict == super::table::Verdict::Ok);
    if verifies_something {
        return None;
    }
    let mut signers = BTreeSet::new();
    let mut any = false;
    for detail in rows
        .iter()
        .flat_map(|row| row.signed_cells())
        .flat_map(|cell| &cell.details)
    {
        if let Detail {
            other_keys: Some(keys),
            ..
        } = detail
        {
            any = true;
            signers.extend(keys.iter().map(|signer| escaped(signer)));
        }
    }
    if !any {
        return None;
    }
    let signed_by = match signers.len() {
        0 => "signed by a key it does not name (a .sig or .att names none)".to_string(),
        1 => format!("signed by key {}", signers.into_iter().collect::<String>()),
        _ => format!(
            "signed by keys {}",
            signers.into_iter().collect::<Vec<_>>().join(", ")
        ),
    };
    Some(format!(
        "{signed_by}; {} is {}: check --key",
        Escaped(&key.file),
        key.fingerprint
    ))
}

#[cfg(test)]
mod tests {
    use super::{Key, judge};
    use crate::commands::verify::table::{Cell, Detail, Row, Verdict};

    const THEIRS: &str = "sha256:a38b";
    const OURS: &str = "sha256:57a1";

    fn key() -> Key {
        Key {
            fingerprint: OURS.to_string(),
            file: "cosign.pub".to_string(),
        }
    }

    /// A row whose cells all hold.
    fn row(name: &str) -> Row {
        Row {
            name: name.to_string(),
            digest: "sha256:00".to_string(),
            platform: None,
            reference: format!("r/p@sha256:00 ({name})"),
            rebuilt: Cell::ok("yes"),
            signature: Cell::ok("ok"),
            bundle: Cell::ok("ok"),
            sbom: Cell::ok("ok (fallback tag)"),
            attestations: Cell::ok("ok"),
        }
    }

    /// A cell saying none is the key's; `signer`: the key its bundle names.
    fn other_key(name: &str, signer: Option<&str>) -> Cell {
        Cell::new(
            "not by this key",
            Verdict::OtherKey,
            vec![Detail {
                line: format!("{name}: none signed by the key {OURS}"),
                other_keys: Some(signer.into_iter().map(str::to_string).collect()),
            }],
        )
    }

    #[test]
    fn every_row_holding_is_a_verdict_without_problems() {
        let verdict = judge(
            "r/p:t",
            &[row("index"), row("linux/amd64")],
            Some(&key()),
            None,
        );
        assert!(verdict.holds && verdict.problems.is_empty());
        assert!(
            verdict.line.starts_with("every row holds: r/p:t"),
            "{}",
            verdict.line
        );
        assert!(verdict.line.contains(OURS), "{}", verdict.line);
    }

    /// Signed with another key: one line naming both keys, said once, by the verdict.
    #[test]
    fn a_wrong_key_is_one_line() {
        let mut rows = vec![row("index"), row("linux/amd64")];
        for row in &mut rows {
            row.signature = other_key(&row.name, None);
            row.bundle = other_key(&row.name, Some(THEIRS));
            row.attestations = other_key(&row.name, Some(THEIRS));
        }
        let verdict = judge("r/p:t", &rows, Some(&key()), None);
        assert!(!verdict.holds);
        assert_eq!(verdict.problems, Vec::<String>::new());
        assert!(
            verdict
                .line
                .ends_with("; signed by key sha256:a38b; cosign.pub is sha256:57a1: check --key"),
            "{}",
            verdict.line
        );
        // One cell the key verifies: the key is right, and every line stays.
        rows[1].attestations = Cell::ok("ok");
        let verdict = judge("r/p:t", &rows, Some(&key()), None);
        assert_eq!(verdict.problems.len(), 5, "{:?}", verdict.problems);
        assert!(!verdict.line.contains("check --key"), "{}", verdict.line);
    }

    /// The lines follow the table: the index's first, a row's columns left to right; the verdict
    /// names the first blob that differs, a platform's before the index's.
    #[test]
    fn problems_follow_the_table_and_the_first_difference_is_a_platforms_blob() {
        let mut index = row("index");
        index.rebuilt = Cell::failed("no: index", "index: the manifests differ".to_string());
        index.signature = Cell::missing("index: no signature".to_string());
        let mut amd64 = row("linux/amd64");
        amd64.rebuilt = Cell::failed("no: layer", "linux/amd64: layer differs".to_string());
        amd64.sbom = Cell::missing("linux/amd64: no SBOM".to_string());
        let verdict = judge("r/p:t", &[index, amd64], Some(&key()), None);
        assert_eq!(
            verdict.problems,
            [
                "index: the manifests differ",
                "index: no signature",
                "linux/amd64: layer differs",
                "linux/amd64: no SBOM",
            ]
        );
        assert!(
            verdict
                .line
                .ends_with("2 of 2 rows do not hold (index, linux/amd64); first difference: linux/amd64: layer differs"),
            "{}",
            verdict.line
        );
    }

    /// No blob differs: the verdict names the first problem, not as a difference; a single
    /// problem is said once.
    #[test]
    fn a_signature_problem_is_no_difference() {
        let mut amd64 = row("linux/amd64");
        amd64.signature = Cell::missing("linux/amd64: no signature".to_string());
        let verdict = judge("r/p:t", &[row("index"), amd64], Some(&key()), None);
        assert!(
            verdict.line.ends_with("; first: linux/amd64: no signature"),
            "{}",
            verdict.line
        );
        assert!(verdict.problems.is_empty());
    }
}
