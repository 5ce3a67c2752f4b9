//! `verify --json`: verify's result for scripts, one JSON document on stdout in place of the
//! table: the verdict, the key, and each row (the index, then each entry of the index) with its
//! full digest, its platform as the index lists it and its reference by digest, and each check
//! with its verdict, its cell's text and, when it does not hold, its lines. docs/verify.md
//! documents every field; this file is their one definition. serde_json escapes what the
//! registry said.

use anyhow::Result;
use serde::Serialize;

use super::table::{Cell, Row, Verdict};
use crate::oci::descriptor::OciPlatform;

#[derive(Serialize)]
struct Document<'a> {
    /// The reference verify was given.
    reference: &'a str,
    /// Whether every row holds; verify exits 0 exactly when it does.
    verified: bool,
    /// The verdict as the last line on stderr says it (without `error: `).
    verdict: &'a str,
    /// `--key`'s fingerprint, `sha256:` of its SubjectPublicKeyInfo; null without `--key`.
    key: Option<&'a str>,
    rows: Vec<JsonRow<'a>>,
}

#[derive(Serialize)]
struct JsonRow<'a> {
    /// `index`, or the platform as the table names it (`linux/arm64`).
    name: &'a str,
    digest: &'a str,
    /// `REGISTRY/REPOSITORY@DIGEST`.
    reference: &'a str,
    /// `{"architecture", "os", "variant"}` as the index lists the entry; null for the index.
    platform: Option<&'a OciPlatform>,
    /// Whether every check of the row holds.
    holds: bool,
    checks: Checks<'a>,
}

/// The table's columns.
#[derive(Serialize)]
struct Checks<'a> {
    rebuilt: Check<'a>,
    sig: Check<'a>,
    bundle: Check<'a>,
    sbom: Check<'a>,
    attestations: Check<'a>,
}

#[derive(Serialize)]
struct Check<'a> {
    verdict: Verdict,
    /// The cell as the table shows it: `yes`, `no: layer`, `ok (fallback tag)`, ...
    text: &'a str,
    /// A line per problem, naming the row; empty when it holds.
    details: Vec<&'a str>,
}

impl<'a> From<&'a Cell> for Check<'a> {
    fn from(cell: &'a Cell) -> Check<'a> {
        Check {
            verdict: cell.verdict,
            text: &cell.text,
            details: cell
                .details
                .iter()
                .map(|detail| detail.line.as_str())
                .collect(),
        }
    }
}

/// Prints the document of `rows` on stdout.
pub(super) fn print(
    reference: &str,
    rows: &[Row],
    holds: bool,
    verdict: &str,
    key: Option<&str>,
) -> Result<()> {
    let document = Document {
        reference,
        verified: holds,
        verdict,
        key,
        rows: rows
            .iter()
            .map(|row| JsonRow {
                name: &row.name,
                digest: &row.digest,
                reference: &row.reference,
                platform: row.platform.as_ref(),
                holds: row.holds(),
                checks: Checks {
                    rebuilt: (&row.rebuilt).into(),
                    sig: (&row.signature).into(),
                    bundle: (&row.bundle).into(),
                    sbom: (&row.sbom).into(),
                    attestations: (&row.attestations).into(),
                },
            })
            .collect(),
    };
    println!("{}", serde_json::to_string_pretty(&document)?);
    Ok(())
}
