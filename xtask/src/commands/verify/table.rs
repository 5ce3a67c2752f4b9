//! `verify`'s table: a row for the index and each platform, a cell per check, each cell a short
//! text with its verdict and, when it does not hold, a line per problem. This is verify's result
//! for people, on stdout: the table, a reference by digest per row (what verify and cosign take
//! as input), and the legend, the one home of what each column proves and which verifiers read
//! it (docs/verify.md shows it; a test holds the two together). The problems go to stderr
//! (`verdict.rs`); `--json` prints the same rows as one document (`json.rs`). Rows quote the
//! registry (platform fields, digests): everything is escaped here, where it is printed.

use std::collections::BTreeSet;

use serde::Serialize;

use crate::escape::escaped;
use crate::oci::descriptor::OciPlatform;

/// How many hex digits of a digest the table shows without `--wide`.
const SHORT_DIGEST: usize = 12;
/// The table's columns.
const HEADER: [&str; 7] = [
    "platform",
    "digest",
    "rebuilt = registry",
    ".sig",
    "bundle",
    "SBOM",
    "attestations",
];
/// Under the table: each column, and each cell text that needs it, with what it proves and who
/// reads it.
const LEGEND: [(&str, &str); 8] = [
    (
        "rebuilt = registry",
        "this checkout, rebuilt with the image's date, gives the same digests: the index; a \
         platform's manifest, config and layer",
    ),
    (
        ".sig",
        "cosign 2's signature of the digest by the key, the image under the tag \
         sha256-<hex>.sig: what cosign 2, sigstore policy-controller, Kyverno ClusterPolicy \
         (type: Cosign) and containers/image (CRI-O, podman) check",
    ),
    (
        "bundle",
        "cosign 3's signature of the digest by the key, a Sigstore bundle among its OCI 1.1 \
         referrers: what cosign 3, Kyverno ImageValidatingPolicy (1.17 on) and Kyverno \
         ClusterPolicy (type: SigstoreBundle, 1.19 on) check",
    ),
    (
        "SBOM",
        "the platform's SPDX SBOM, an unsigned referrer, lists the layer's /pause (SHA-256, \
         SHA-1) and the pinned rustc: what the layer holds; its signed copy is in attestations",
    ),
    (
        "attestations",
        "the SBOM and the SLSA provenance (this commit, this compiler) signed by the key, in \
         the .att image (cosign 2 verify-attestation, policy-controller, Kyverno ClusterPolicy \
         type: Cosign) and as bundles (cosign 3, Kyverno ImageValidatingPolicy, type: \
         SigstoreBundle)",
    ),
    (
        "ok (fallback tag)",
        "the registry has no referrers API: the referrers were found under the tag \
         sha256-<hex>, where cosign 3 and Kyverno look for them too",
    ),
    (
        "ok (referrers API)",
        "the referrers were found through the registry's referrers API",
    ),
    (
        "-",
        "does not apply: the index has no SBOM and no attestations",
    ),
];

/// What a check found, as `--json` names it: it holds (`ok`, `not checked`, `not applicable`)
/// or not (`failed`, `missing`, `other key`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub(super) enum Verdict {
    #[serde(rename = "ok")]
    Ok,
    /// Something is there and does not hold.
    #[serde(rename = "failed")]
    Failed,
    /// Nothing is there to check.
    #[serde(rename = "missing")]
    Missing,
    /// Signatures are there, none by the key.
    #[serde(rename = "other key")]
    OtherKey,
    /// Not checked: no `--key`, or nothing to check it against.
    #[serde(rename = "not checked")]
    NotChecked,
    /// The check is not made for this row (the index has no SBOM).
    #[serde(rename = "not applicable")]
    NotApplicable,
}

impl Verdict {
    pub(super) fn holds(self) -> bool {
        matches!(
            self,
            Verdict::Ok | Verdict::NotChecked | Verdict::NotApplicable
        )
    }
}

/// One problem of a cell: its line, naming the row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Detail {
    pub(super) line: String,
    /// When the line says that no signature of a kind is the key's: the keys that did sign, as
    /// far as they name themselves (`sha256:` fingerprints: a bundle names its key, a `.sig` or
    /// an `.att` envelope does not).
    pub(super) other_keys: Option<BTreeSet<String>>,
}

impl Detail {
    pub(super) fn line(line: String) -> Detail {
        Detail {
            line,
            other_keys: None,
        }
    }
}

/// One cell of the table: its text, its verdict, and when it does not hold, why.
pub(super) struct Cell {
    pub(super) text: String,
    pub(super) verdict: Verdict,
    pub(super) details: Vec<Detail>,
}

impl Cell {
    pub(super) fn new(text: impl Into<String>, verdict: Verdict, details: Vec<Detail>) -> Cell {
        Cell {
            text: text.into(),
            verdict,
            details,
        }
    }

    pub(super) fn ok(text: impl Into<String>) -> Cell {
        Cell::new(text, Verdict::Ok, Vec::new())
    }

    /// `not checked`, or `-` where there was nothing to check it against.
    pub(super) fn not_checked(text: &str) -> Cell {
        Cell::new(text, Verdict::NotChecked, Vec::new())
    }

    pub(super) fn not_applicable() -> Cell {
        Cell::new("-", Verdict::NotApplicable, Vec::new())
    }

    /// A cell that does not hold, with the line that says why.
    pub(super) fn failed(text: impl Into<String>, line: String) -> Cell {
        Cell::new(text, Verdict::Failed, vec![Detail::line(line)])
    }

    pub(super) fn missing(line: String) -> Cell {
        Cell::new("missing", Verdict::Missing, vec![Detail::line(line)])
    }

    pub(super) fn holds(&self) -> bool {
        self.verdict.holds()
    }
}

/// One row: the index, or an entry of the index (a platform).
pub(super) struct Row {
    /// `index`, or the platform as the table names it (`linux/arm64`).
    pub(super) name: String,
    pub(super) digest: String,
    /// The entry's platform as the index lists it; none for the index.
    pub(super) platform: Option<OciPlatform>,
    /// `REGISTRY/REPOSITORY@DIGEST`: what verify (for the index) and cosign take.
    pub(super) reference: String,
    pub(super) rebuilt: Cell,
    /// cosign 2's signature, the `.sig` image.
    pub(super) signature: Cell,
    /// cosign 3's signature, the bundle of `cosign sign`'s statement.
    pub(super) bundle: Cell,
    pub(super) sbom: Cell,
    /// The signed SBOM and provenance, in the `.att` image and as bundles.
    pub(super) attestations: Cell,
}

impl Row {
    /// The cells in the table's order.
    pub(super) fn cells(&self) -> [&Cell; 5] {
        [
            &self.rebuilt,
            &self.signature,
            &self.bundle,
            &self.sbom,
            &self.attestations,
        ]
    }

    /// The cells that say whether the key signed: `.sig`, bundle, attestations.
    pub(super) fn signed_cells(&self) -> [&Cell; 3] {
        [&self.signature, &self.bundle, &self.attestations]
    }

    pub(super) fn holds(&self) -> bool {
        self.cells().iter().all(|cell| cell.holds())
    }
}

/// `sha256:0123456789ab`, the form attestations' lines name a blob by.
pub(super) fn short(digest: &str) -> String {
    digest
        .chars()
        .take("sha256:".len() + SHORT_DIGEST)
        .collect()
}

/// Prints the table on stdout; `wide`: the digests in full in it, else shortened there and in
/// full below it, as a reference per row. Then the legend.
pub(super) fn print(rows: &[Row], wide: bool, keyed: bool) {
    let cells: Vec<[String; 7]> = rows
        .iter()
        .map(|row| {
            let [rebuilt, signature, bundle, sbom, attestations] =
                row.cells().map(|cell| cell.text.clone());
            let digest = if wide {
                row.digest.clone()
            } else {
                short(&row.digest)
            };
            [
                row.name.clone(),
                digest,
                rebuilt,
                signature,
                bundle,
                sbom,
                attestations,
            ]
            .map(|cell| escaped(&cell))
        })
        .collect();
    let widths: Vec<usize> = (0..HEADER.len())
        .map(|column| {
            widest(
                cells
                    .iter()
                    .map(|row| row[column].as_str())
                    .chain([HEADER[column]]),
            )
        })
        .collect();
    println!("{}", line(&HEADER, &widths));
    for row in &cells {
        println!("{}", line(&row.each_ref().map(String::as_str), &widths));
    }
    if !wide {
        println!();
        let names: Vec<String> = rows.iter().map(|row| escaped(&row.name)).collect();
        let width = widest(names.iter().map(String::as_str));
        for (name, row) in names.iter().zip(rows) {
            println!("{name:<width$}  {}", escaped(&row.reference));
        }
    }
    println!();
    if !keyed {
        println!("signatures and attestations not checked: give --key cosign.pub to check them");
    }
    for line in legend() {
        println!("{line}");
    }
}

/// The legend's lines, as printed.
fn legend() -> Vec<String> {
    let width = widest(LEGEND.iter().map(|(term, _)| *term));
    LEGEND
        .iter()
        .map(|(term, meaning)| format!("{term:<width$}  {meaning}"))
        .collect()
}

/// The width of the widest of `texts`, in characters.
fn widest<'a>(texts: impl Iterator<Item = &'a str>) -> usize {
    texts
        .map(|text| text.chars().count())
        .max()
        .unwrap_or_default()
}

/// One line of the table: the values in columns `widths` wide, two spaces apart.
fn line(values: &[&str], widths: &[usize]) -> String {
    values
        .iter()
        .zip(widths)
        .map(|(value, width)| format!("{value:<width$}"))
        .collect::<Vec<_>>()
        .join("  ")
        .trim_end()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::legend;
    use crate::project;

    /// docs/verify.md shows the legend as verify prints it.
    #[test]
    fn the_manual_shows_the_legend_as_printed() {
        let page = std::fs::read_to_string(project::root().join("docs/verify.md")).unwrap();
        for line in legend() {
            assert!(
                page.lines().any(|shown| shown == line),
                "docs/verify.md does not show the legend line:\n{line}"
            );
        }
    }
}
