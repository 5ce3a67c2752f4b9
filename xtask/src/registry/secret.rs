//! Passwords and tokens as a type whose `Debug` and `Display` print `***`: whatever formats a
//! value holding one (an error, a log line, a `{:?}` of the options) cannot show it. The text is
//! reachable through [`Secret::expose`] alone, which only builds request headers; the memory that
//! held it is wiped when it is dropped.

use std::fmt;

use zeroize::{ZeroizeOnDrop, Zeroizing};

/// What a secret prints as.
const REDACTED: &str = "***";

#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Zeroizing<String>);

impl Secret {
    pub fn new(text: impl Into<String>) -> Secret {
        Secret(Zeroizing::new(text.into()))
    }

    /// The secret itself: for an `Authorization` header, never for output.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

/// The text is [`Zeroizing`]: wiped when dropped.
impl ZeroizeOnDrop for Secret {}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({REDACTED})")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

/// A user name and its password (or access token), as `docker login` takes them; or an OAuth2
/// identity token, which `docker login` stores in place of the password when the registry's token
/// server hands one out (`az acr login` writes one too).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub password: Secret,
    /// `password` is an identity token: a refresh token that only the token server takes, traded
    /// there for access tokens (OAuth2's `grant_type=refresh_token`), never sent as a password.
    pub(crate) is_identity_token: bool,
}

impl Credentials {
    pub fn new(username: impl Into<String>, password: impl Into<String>) -> Credentials {
        Credentials {
            username: username.into(),
            password: Secret::new(password),
            is_identity_token: false,
        }
    }

    pub(crate) fn identity_token(
        username: impl Into<String>,
        token: impl Into<String>,
    ) -> Credentials {
        Credentials {
            is_identity_token: true,
            ..Credentials::new(username, token)
        }
    }
}

#[cfg(test)]
mod tests {
    use zeroize::ZeroizeOnDrop;

    use super::{Credentials, Secret};

    /// Compiles only for a type whose memory is wiped when dropped.
    fn wiped_when_dropped<T: ZeroizeOnDrop>() {}

    #[test]
    fn secrets_are_wiped_when_dropped() {
        wiped_when_dropped::<Secret>();
    }

    #[test]
    fn secrets_never_format() {
        let credentials = Credentials::new("bob", "hunter2");
        for shown in [
            format!("{credentials:?}"),
            format!("{credentials:#?}"),
            format!("{}", credentials.password),
            format!("{:?}", Secret::new("hunter2")),
        ] {
            assert!(!shown.contains("hunter2"), "{shown}");
            assert!(shown.contains("***"), "{shown}");
        }
        assert!(format!("{credentials:?}").contains("bob"));
        assert_eq!(credentials.password.expose(), "hunter2");
    }
}
