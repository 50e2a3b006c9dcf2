//! The SASL PLAIN message (RFC 4616 §2), shared by every protocol that offers it (IMAP
//! AUTHENTICATE, SMTP AUTH, later POP3 and ManageSieve), so they agree on what is accepted.
//!
//! ```text
//! message   = [authzid] UTF8NUL authcid UTF8NUL passwd
//! ```
//!
//! Acting for another identity is not supported: a non-empty `authzid` must name the
//! login itself (compared without regard to ASCII case).

/// The credentials of a PLAIN message.
#[derive(Clone, PartialEq, Eq)]
pub struct PlainCredentials {
    /// `authcid`: the login.
    pub authcid: String,
    /// `passwd`.
    pub password: String,
}

impl std::fmt::Debug for PlainCredentials {
    /// Never prints the password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlainCredentials")
            .field("authcid", &self.authcid)
            .finish_non_exhaustive()
    }
}

/// Why a PLAIN message is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PlainError {
    /// Not exactly three NUL-separated fields.
    #[error("malformed PLAIN response")]
    Malformed,
    /// The login or the password is not UTF-8.
    #[error("user name and password must be UTF-8")]
    NotUtf8,
    /// `authzid` names someone other than the login.
    #[error("acting as another user is not allowed")]
    OtherIdentity,
}

/// Splits a decoded (not base64) PLAIN message into its credentials.
pub fn parse_plain(message: &[u8]) -> Result<PlainCredentials, PlainError> {
    let mut parts = message.split(|&b| b == 0);
    let (Some(authzid), Some(authcid), Some(password), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(PlainError::Malformed);
    };
    let (Ok(authcid), Ok(password)) = (
        String::from_utf8(authcid.to_vec()),
        String::from_utf8(password.to_vec()),
    ) else {
        return Err(PlainError::NotUtf8);
    };
    if !authzid.is_empty() && !authzid.eq_ignore_ascii_case(authcid.as_bytes()) {
        return Err(PlainError::OtherIdentity);
    }
    Ok(PlainCredentials { authcid, password })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(authcid: &str, password: &str) -> Result<PlainCredentials, PlainError> {
        Ok(PlainCredentials {
            authcid: authcid.into(),
            password: password.into(),
        })
    }

    #[test]
    fn rfc_4616_messages() {
        // RFC 4616 §4's examples, and the same with the login as authzid.
        assert_eq!(
            parse_plain(b"\0tim\0tanstaaftanstaaf"),
            ok("tim", "tanstaaftanstaaf")
        );
        assert_eq!(parse_plain(b"Tim\0tim\0x"), ok("tim", "x"));
        assert_eq!(
            parse_plain(b"Ursel\0Kurt\0xipj3plmq"),
            Err(PlainError::OtherIdentity)
        );
        assert_eq!(parse_plain(b"\0\0"), ok("", ""));
    }

    #[test]
    fn malformed_messages() {
        for m in [
            &b""[..],
            b"tim",
            b"\0tim",
            b"\0tim\0pw\0extra",
            b"a\0b\0c\0",
        ] {
            assert_eq!(parse_plain(m), Err(PlainError::Malformed), "{m:?}");
        }
        assert_eq!(parse_plain(b"\0\xff\0pw"), Err(PlainError::NotUtf8));
        assert_eq!(parse_plain(b"\0tim\0\xc3"), Err(PlainError::NotUtf8));
    }

    #[test]
    fn debug_hides_the_password() {
        let c = parse_plain(b"\0tim\0secret-pw").expect("valid");
        assert!(!format!("{c:?}").contains("secret-pw"));
    }
}
