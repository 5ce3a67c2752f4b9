//! `verify`'s table: a row for the index and each platform, a cell per check, each cell a short
//! state that holds or not; under it, a line per failing cell saying what differs. Rows and lines
//! quote the registry (platform fields, digests, media types, JSON values, file names in layers,
//! what signed statements claim): everything is escaped here, where it is printed.

use crate::escape::escaped;

/// How many hex digits of a digest the table shows.
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

/// One cell of the table: its text, and whether it holds.
pub(super) struct Cell {
    pub(super) text: String,
    pub(super) holds: bool,
}

impl Cell {
    pub(super) fn holds(text: impl Into<String>) -> Cell {
        Cell {
            text: text.into(),
            holds: true,
        }
    }

    pub(super) fn fails(text: impl Into<String>) -> Cell {
        Cell {
            text: text.into(),
            holds: false,
        }
    }
}

/// One row: the index, or a platform.
pub(super) struct Row {
    pub(super) name: String,
    pub(super) digest: String,
    pub(super) rebuilt: Cell,
    /// cosign 2's signature, the `.sig` image.
    pub(super) signature: Cell,
    /// cosign 3's signature, the bundle of `cosign sign`'s statement.
    pub(super) bundle: Cell,
    pub(super) sbom: Cell,
    /// The signed SBOM and provenance, in the `.att` image and as bundles.
    pub(super) attestations: Cell,
    /// What the failing cells mean, a line each.
    pub(super) details: Vec<String>,
}

impl Row {
    fn cells(&self) -> [&Cell; 5] {
        [
            &self.rebuilt,
            &self.signature,
            &self.bundle,
            &self.sbom,
            &self.attestations,
        ]
    }

    pub(super) fn holds(&self) -> bool {
        self.cells().iter().all(|cell| cell.holds)
    }
}

/// `sha256:0123456789ab`.
pub(super) fn short(digest: &str) -> String {
    digest
        .chars()
        .take("sha256:".len() + SHORT_DIGEST)
        .collect()
}

/// The table, then what every failing cell means; returns the first of those lines (escaped).
pub(super) fn print(rows: &[Row], keyed: bool) -> Option<String> {
    let cells: Vec<[String; 7]> = rows
        .iter()
        .map(|row| {
            let [rebuilt, signature, bundle, sbom, attestations] =
                row.cells().map(|cell| cell.text.clone());
            [
                row.name.clone(),
                short(&row.digest),
                rebuilt,
                signature,
                bundle,
                sbom,
                attestations,
            ]
            .map(|cell| escaped(&cell))
        })
        .collect();
    let width = |column: usize| {
        cells
            .iter()
            .map(|row| row[column].chars().count())
            .chain(std::iter::once(HEADER[column].len()))
            .max()
            .unwrap_or_default()
    };
    let widths: Vec<usize> = (0..HEADER.len()).map(width).collect();
    let line = |values: &[&str]| {
        values
            .iter()
            .zip(&widths)
            .map(|(value, width)| format!("{value:<width$}"))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    println!("{}", line(&HEADER));
    for row in &cells {
        println!("{}", line(&row.each_ref().map(String::as_str)));
    }
    if !keyed {
        println!("signatures and attestations not checked: give --key cosign.pub to check them");
    }
    // The platforms' details before the index's: a platform's blob is where a difference starts,
    // the index only lists the manifests that differ.
    let mut details = rows
        .iter()
        .skip(1)
        .chain(rows.first())
        .flat_map(|row| &row.details)
        .map(|detail| escaped(detail));
    let first = details.next();
    if let Some(first) = &first {
        println!("first difference: {first}");
    }
    for detail in details {
        println!("{detail}");
    }
    first
}
