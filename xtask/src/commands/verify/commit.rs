//! The commit an image says it was built from (its revision annotation, its provenance's
//! `source.commit`): text from the registry, unchecked, that verify suggests checking out. Only a
//! commit id (7 to 40 hex digits, as git abbreviates or spells it whole) goes into a suggested
//! `git checkout`; anything else is said to be no commit id, escaped, and never offered as a
//! command: a line a user copies into a shell must hold nothing the registry chose but hex.

use crate::escape::Escaped;

/// The shortest abbreviation git prints, and a SHA-1 commit id written whole.
const SHORTEST_ID: usize = 7;
const LONGEST_ID: usize = 40;

/// `revision` when it is a commit id.
pub(super) fn id(revision: &str) -> Option<&str> {
    ((SHORTEST_ID..=LONGEST_ID).contains(&revision.len())
        && revision.bytes().all(|byte| byte.is_ascii_hexdigit()))
    .then_some(revision)
}

/// `the revision `…` is not a commit id (…): nothing to check out`, the revision escaped.
pub(super) fn not_an_id(revision: &str) -> String {
    format!("the revision `{}` {}", Escaped(revision), is_not_an_id())
}

/// `is not a commit id (7 to 40 hex digits): nothing to check out`, for a line whose printer
/// escapes everything in it (verify's table): the revision itself is left out.
pub(super) fn is_not_an_id() -> String {
    format!("is not a commit id ({SHORTEST_ID} to {LONGEST_ID} hex digits): nothing to check out")
}

#[cfg(test)]
mod tests {
    use super::{id, not_an_id};

    #[test]
    fn only_hex_of_a_commit_ids_length_is_offered_to_git() {
        let full = "0123456789abcdef0123456789ABCDEF01234567";
        assert_eq!(id(full), Some(full));
        assert_eq!(id("abc1234"), Some("abc1234"));
        for not in [
            "abc123",
            "$(touch PWNED)",
            "v1.0.0",
            "0123456789abcdef0123456789abcdef012345678",
            "abc1234\u{1b}",
        ] {
            assert_eq!(id(not), None, "{not:?}");
        }
        let said = not_an_id("$(touch PWNED)\u{1b}]0;x\u{7}");
        assert!(
            !said.contains("git checkout") && said.contains("\\u{1b}]0;x\\u{7}"),
            "{said}"
        );
        assert!(!said.bytes().any(|byte| byte < 0x20), "{said}");
    }
}
