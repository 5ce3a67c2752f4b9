//! PEM, as Go's `encoding/pem` writes it for cosign: `-----BEGIN LABEL-----`, the bytes in
//! standard base64 wrapped at 64 columns, `-----END LABEL-----`, each line ending in `\n`. Reading
//! takes the first block, with any line width, blank lines, CRLF and text around the block.

use anyhow::{Context, Result, bail};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use zeroize::Zeroizing;

/// Go's `encoding/pem` line width.
const LINE_WIDTH: usize = 64;
const BEGIN: &str = "-----BEGIN ";
const END: &str = "-----END ";
const DASHES: &str = "-----";

/// `bytes` as a PEM block labelled `label`. The text is as secret as the bytes, so it is wiped
/// when dropped.
pub(crate) fn encode(label: &str, bytes: &[u8]) -> Zeroizing<String> {
    let body = Zeroizing::new(STANDARD.encode(bytes));
    let mut text = Zeroizing::new(format!("{BEGIN}{label}{DASHES}\n"));
    for line in body.as_bytes().chunks(LINE_WIDTH) {
        text.push_str(std::str::from_utf8(line).expect("base64 is ASCII"));
        text.push('\n');
    }
    text.push_str(&format!("{END}{label}{DASHES}\n"));
    text
}

/// The label and bytes of the first PEM block in `text`.
pub(crate) fn decode(text: &str) -> Result<(String, Zeroizing<Vec<u8>>)> {
    let mut lines = text.lines().map(str::trim);
    let label = lines
        .find_map(|line| line.strip_prefix(BEGIN)?.strip_suffix(DASHES))
        .context("no PEM block (`-----BEGIN ...-----`) in it")?
        .to_string();
    let end = format!("{END}{label}{DASHES}");
    let mut body = Zeroizing::new(String::new());
    let mut ended = false;
    for line in lines {
        if line == end {
            ended = true;
            break;
        }
        // RFC 1421 headers (`Proc-Type: ...`) are not base64; cosign never writes them.
        if !line.contains(':') {
            body.push_str(line);
        }
    }
    if !ended {
        bail!("its PEM block `{label}` has no `{end}` line: the file is cut short");
    }
    let bytes = Zeroizing::new(
        STANDARD
            .decode(body.as_bytes())
            .with_context(|| format!("its PEM block `{label}` is not valid base64"))?,
    );
    Ok((label, bytes))
}

#[cfg(test)]
mod tests {
    use super::{decode, encode};

    #[test]
    fn lines_are_64_columns_as_go_writes_them() {
        let bytes: Vec<u8> = (0..100).collect();
        let text = encode("PUBLIC KEY", &bytes);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "-----BEGIN PUBLIC KEY-----");
        assert_eq!(lines[1].len(), 64);
        assert_eq!(lines.last(), Some(&"-----END PUBLIC KEY-----"));
        assert!(text.ends_with('\n'));
        let (label, decoded) = decode(&text).unwrap();
        assert_eq!(
            (label.as_str(), decoded.as_slice()),
            ("PUBLIC KEY", &bytes[..])
        );
    }

    #[test]
    fn other_line_widths_crlf_and_surrounding_text_are_read() {
        let text = "a comment\r\n-----BEGIN X-----\r\nAAEC\r\nAwQ=\r\n-----END X-----\r\ntrailer";
        let (label, bytes) = decode(text).unwrap();
        assert_eq!(
            (label.as_str(), bytes.as_slice()),
            ("X", &[0, 1, 2, 3, 4][..])
        );
    }

    #[test]
    fn a_cut_block_is_refused() {
        let error = decode("-----BEGIN X-----\nAAEC\n").unwrap_err().to_string();
        assert!(error.contains("cut short"), "{error}");
        assert!(decode("nothing").is_err());
    }
}
