//! Text that came from outside (a registry's answer, a header, a file, an annotation) made safe to
//! print: every control character is written as an escape, so a hostile server cannot move the
//! cursor, hide text, retitle the terminal (OSC), ring the bell or start a new line that looks like
//! ours. Only our own format strings may put a newline or an escape byte on the screen.

use std::fmt;

/// `text` with every C0 control (newline and tab too), DEL, every C1 control (U+0080 to U+009F,
/// which some terminals read as CSI and OSC) and the bidirectional overrides (which reorder what
/// the reader sees) written as `\n`, `\t`, `\r` or `\u{..}`; a backslash is doubled, so an escape
/// seen on screen always stands for a character that was escaped.
pub fn escaped(text: &str) -> String {
    Escaped(text).to_string()
}

/// [`escaped`] as a `Display` value, for `format!` without an intermediate string.
pub struct Escaped<'a>(pub &'a str);

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in self.0.chars() {
            match c {
                '\\' => f.write_str("\\\\")?,
                '\n' => f.write_str("\\n")?,
                '\r' => f.write_str("\\r")?,
                '\t' => f.write_str("\\t")?,
                c if needs_escape(c) => write!(f, "\\u{{{:x}}}", c as u32)?,
                c => fmt::Write::write_char(f, c)?,
            }
        }
        Ok(())
    }
}

/// `text` with every control but the newline escaped as [`escaped`] does, and backslashes left
/// alone: the last guard on an error as the xtask prints it, whose quoted parts were escaped
/// where they were quoted (so they hold no control to escape twice), in case a library's message
/// (a JSON parser quoting an unknown field) carried one through.
pub fn controls_escaped(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' => out.push('\n'),
            c if needs_escape(c) => out.push_str(&escaped(c.encode_utf8(&mut [0; 4]))),
            c => out.push(c),
        }
    }
    out
}

/// Controls and the characters that change how the rest of a line is displayed.
fn needs_escape(c: char) -> bool {
    c.is_control()
        // Bidirectional embeddings, overrides and isolates ("Trojan Source", CVE-2021-42574).
        || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::escaped;

    #[test]
    fn controls_are_escaped_and_plain_text_is_kept() {
        assert_eq!(escaped("pause:1.0 — ok"), "pause:1.0 — ok");
        assert_eq!(escaped("a\x1b]0;pwned\x07b"), "a\\u{1b}]0;pwned\\u{7}b");
        assert_eq!(escaped("x\ny\r\tz\x7f\u{9b}"), "x\\ny\\r\\tz\\u{7f}\\u{9b}");
        assert_eq!(escaped("\u{202e}txt"), "\\u{202e}txt");
        assert_eq!(escaped("a\\u{1b}"), "a\\\\u{1b}");
    }

    #[test]
    fn an_error_keeps_its_lines_and_what_was_escaped_already() {
        assert_eq!(
            super::controls_escaped("a\\u{1b}\x1b]0;x\x07\nb\u{9b}"),
            "a\\u{1b}\\u{1b}]0;x\\u{7}\nb\\u{9b}"
        );
    }

    #[test]
    fn nothing_escaped_holds_a_control_byte() {
        let every: String = (0..=0x2100u32).filter_map(char::from_u32).collect();
        let out = escaped(&every);
        assert!(
            !out.bytes().any(|b| b < 0x20 || b == 0x7f)
                && !out.chars().any(|c| ('\u{80}'..='\u{9f}').contains(&c)),
            "{out:?}"
        );
    }
}
