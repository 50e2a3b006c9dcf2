//! The replies the server sends, each a reply code with its enhanced status code.
//!
//! Names carry the number so a reader sees the wire code at the call site:
//! `Reply::from_code(C550_NO_SUCH_USER, "no such user")`.
//!
//! Reply codes: RFC 5321 §4.2.2–§4.2.3 (and the extension RFCs cited per constant).
//! Enhanced status codes: RFC 3463 §3 (`class.subject.detail`), registry in RFC 5248.
//! RFC 2034 §3 attaches enhanced codes to the replies after EHLO; the 220 greeting, the
//! EHLO/HELO reply itself and the 3yz intermediate replies carry none
//! (`enhanced: None`), as Postfix does.

use crate::reply::{EnhancedCode, Reply};

/// A reply code and its enhanced status code (none for 220 greeting, 3yz and EHLO).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ReplyCode {
    /// The three-digit reply code.
    pub code: u16,
    /// The RFC 3463 enhanced status code, if the reply carries one.
    pub enhanced: Option<EnhancedCode>,
}

impl ReplyCode {
    /// A reply with this code and `text`; same as [`Reply::from_code`].
    pub fn reply(self, text: impl AsRef<str>) -> Reply {
        Reply::from_code(self, text)
    }
}

const fn c(code: u16, class: u8, subject: u16, detail: u16) -> ReplyCode {
    ReplyCode {
        code,
        enhanced: Some(EnhancedCode(class, subject, detail)),
    }
}

const fn plain(code: u16) -> ReplyCode {
    ReplyCode {
        code,
        enhanced: None,
    }
}

// ---- 2yz positive completion ----

/// 211 System status (RFC 5321 §4.2.3).
pub const C211_SYSTEM_STATUS: ReplyCode = c(211, 2, 0, 0);
/// 214 Help message (RFC 5321 §4.1.1.8).
pub const C214_HELP: ReplyCode = c(214, 2, 0, 0);
/// 220 greeting (RFC 5321 §4.2): no enhanced code before EHLO (RFC 2034 §3).
pub const C220_READY: ReplyCode = plain(220);
/// 220 2.0.0 Ready to start TLS (RFC 3207 §4).
pub const C220_READY_FOR_TLS: ReplyCode = c(220, 2, 0, 0);
/// 221 2.0.0 closing the channel after QUIT (RFC 5321 §4.1.1.10).
pub const C221_BYE: ReplyCode = c(221, 2, 0, 0);
/// 235 2.7.0 Authentication successful (RFC 4954 §6).
pub const C235_AUTH_SUCCEEDED: ReplyCode = c(235, 2, 7, 0);
/// 250 2.0.0 OK (generic: NOOP, RSET).
pub const C250_OK: ReplyCode = c(250, 2, 0, 0);
/// 250 to EHLO/HELO: no enhanced code (RFC 2034 §3); see [`crate::ehlo::EhloResponse`].
pub const C250_EHLO: ReplyCode = plain(250);
/// 250 2.1.0 sender accepted (RFC 3463 X.1.0 "other address status").
pub const C250_SENDER_OK: ReplyCode = c(250, 2, 1, 0);
/// 250 2.1.5 recipient accepted (RFC 3463 X.1.5 "destination address valid").
pub const C250_RECIPIENT_OK: ReplyCode = c(250, 2, 1, 5);
/// 250 2.0.0 message accepted / queued after DATA or BDAT LAST.
pub const C250_QUEUED: ReplyCode = c(250, 2, 0, 0);
/// 250 2.0.0 BDAT chunk received (RFC 3030 §2; RFC 3463 X.0.0).
pub const C250_CHUNK_OK: ReplyCode = c(250, 2, 0, 0);
/// 252 2.0.0 Cannot VRFY user, but will accept message (RFC 5321 §3.5.3).
///
/// RFC 3463 §3.1 X.0.0 "other undefined status" — the address was neither verified (which
/// would be X.1.5) nor found invalid, so no more specific subject applies.
pub const C252_CANNOT_VRFY: ReplyCode = c(252, 2, 0, 0);

// ---- 3yz positive intermediate ----

/// 334 AUTH continuation (RFC 4954 §4); text is base64.
pub const C334_AUTH_CONTINUE: ReplyCode = plain(334);
/// 354 Start mail input; end with `<CRLF>.<CRLF>` (RFC 5321 §4.1.1.4).
pub const C354_START_DATA: ReplyCode = plain(354);

// ---- 4yz transient negative ----

/// 421 4.3.2 shutting down (RFC 3463 X.3.2 "system not accepting network messages").
pub const C421_SHUTTING_DOWN: ReplyCode = c(421, 4, 3, 2);
/// 421 4.7.0 too many connections from this client (as Postfix).
pub const C421_TOO_MANY_CONNECTIONS: ReplyCode = c(421, 4, 7, 0);
/// 421 4.4.2 timeout (RFC 3463 X.4.2 "bad connection"; RFC 5321 §4.5.3.2).
pub const C421_TIMEOUT: ReplyCode = c(421, 4, 4, 2);
/// 421 4.7.0 too many errors in this session.
pub const C421_TOO_MANY_ERRORS: ReplyCode = c(421, 4, 7, 0);
/// 450 4.2.1 mailbox temporarily unavailable (RFC 3463 X.2.1).
pub const C450_MAILBOX_UNAVAILABLE: ReplyCode = c(450, 4, 2, 1);
/// 450 4.7.1 sending rate limit exceeded (RFC 3463 X.7.1 "delivery not authorized"; as
/// Postfix's `smtpd_client_message_rate_limit`, transient so the client retries later).
pub const C450_RATE_LIMITED: ReplyCode = c(450, 4, 7, 1);
/// 451 4.3.0 local error in processing (RFC 3463 X.3.0 "other mail system status").
pub const C451_LOCAL_ERROR: ReplyCode = c(451, 4, 3, 0);
/// 451 4.7.1 greylisted (RFC 6647 §2.1: a temporary failure the client retries; X.7.1 as
/// Postfix's postgrey and Rspamd use).
pub const C451_GREYLISTED: ReplyCode = c(451, 4, 7, 1);
/// 451 4.4.3 temporary directory/DNS lookup failure (RFC 3463 X.4.3).
pub const C451_LOOKUP_FAILED: ReplyCode = c(451, 4, 4, 3);
/// 452 4.5.3 too many recipients (RFC 5321 §4.5.3.1.10; RFC 3463 X.5.3).
pub const C452_TOO_MANY_RECIPIENTS: ReplyCode = c(452, 4, 5, 3);
/// 452 4.2.2 mailbox full, transient (RFC 3463 X.2.2 "mailbox full").
pub const C452_INSUFFICIENT_STORAGE: ReplyCode = c(452, 4, 2, 2);
/// 452 4.3.1 mail system full (RFC 3463 X.3.1): the server's own disk.
pub const C452_SYSTEM_FULL: ReplyCode = c(452, 4, 3, 1);
/// 454 4.7.0 TLS not available (RFC 3207 §4).
pub const C454_TLS_UNAVAILABLE: ReplyCode = c(454, 4, 7, 0);
/// 454 4.7.0 temporary authentication failure (RFC 4954 §6).
pub const C454_AUTH_TEMPORARY_FAILURE: ReplyCode = c(454, 4, 7, 0);
/// 454 4.7.1 relay access denied, transient (as Postfix `defer_unauth_destination`).
pub const C454_RELAY_DENIED_TEMPORARY: ReplyCode = c(454, 4, 7, 1);

// ---- 5yz permanent negative ----

/// 500 5.5.2 line too long (RFC 5321 §4.5.3.1.4; RFC 3463 X.5.2 "syntax error").
pub const C500_LINE_TOO_LONG: ReplyCode = c(500, 5, 5, 2);
/// 500 5.5.2 syntax error: empty or unparsable command line.
pub const C500_SYNTAX: ReplyCode = c(500, 5, 5, 2);
/// 500 5.5.1 command unrecognized (RFC 3463 X.5.1 "invalid command").
pub const C500_UNKNOWN_COMMAND: ReplyCode = c(500, 5, 5, 1);
/// 500 5.5.6 AUTH line too long (RFC 4954 §4; RFC 3463/5248 X.5.6 "authentication
/// exchange line is too long").
pub const C500_AUTH_LINE_TOO_LONG: ReplyCode = c(500, 5, 5, 6);
/// 501 5.5.4 syntax error in parameters or arguments (RFC 3463 X.5.4).
pub const C501_SYNTAX: ReplyCode = c(501, 5, 5, 4);
/// 501 5.1.7 bad sender mailbox syntax (RFC 3463 X.1.7).
pub const C501_BAD_SENDER: ReplyCode = c(501, 5, 1, 7);
/// 501 5.1.3 bad destination mailbox syntax (RFC 3463 X.1.3).
pub const C501_BAD_RECIPIENT: ReplyCode = c(501, 5, 1, 3);
/// 501 5.5.2 an AUTH response that is not base64 (RFC 4954 §4: "cannot BASE64 decode").
pub const C501_AUTH_BAD_BASE64: ReplyCode = c(501, 5, 5, 2);
/// 501 5.0.0 AUTH exchange cancelled by the client with `*` (RFC 4954 §4).
pub const C501_AUTH_CANCELLED: ReplyCode = c(501, 5, 0, 0);
/// 502 5.5.1 command not implemented (RFC 5321 §4.2.4).
pub const C502_NOT_IMPLEMENTED: ReplyCode = c(502, 5, 5, 1);
/// 503 5.5.1 bad sequence of commands (RFC 5321 §4.1.4).
pub const C503_BAD_SEQUENCE: ReplyCode = c(503, 5, 5, 1);
/// 504 5.5.4 command parameter not implemented (e.g. unknown AUTH mechanism,
/// RFC 4954 §4).
pub const C504_PARAMETER_NOT_IMPLEMENTED: ReplyCode = c(504, 5, 5, 4);
/// 530 5.7.0 must issue STARTTLS first (RFC 3207 §4).
pub const C530_STARTTLS_FIRST: ReplyCode = c(530, 5, 7, 0);
/// 530 5.7.0 authentication required (RFC 4954 §6).
pub const C530_AUTH_REQUIRED: ReplyCode = c(530, 5, 7, 0);
/// 530 5.7.10 REQUIRETLS given on a session without TLS (RFC 8689 §4.1: the option is
/// only valid over TLS; RFC 5248 X.7.10 "encryption needed").
pub const C530_REQUIRETLS_NEEDS_TLS: ReplyCode = c(530, 5, 7, 10);
/// 534 5.7.9 authentication mechanism is too weak (RFC 4954 §6).
pub const C534_AUTH_TOO_WEAK: ReplyCode = c(534, 5, 7, 9);
/// 535 5.7.8 authentication credentials invalid (RFC 4954 §6).
pub const C535_AUTH_FAILED: ReplyCode = c(535, 5, 7, 8);
/// 538 5.7.11 encryption required for requested authentication mechanism (RFC 4954 §6).
pub const C538_ENCRYPTION_REQUIRED: ReplyCode = c(538, 5, 7, 11);
/// 550 5.1.1 no such user (RFC 3463 X.1.1 "bad destination mailbox address").
pub const C550_NO_SUCH_USER: ReplyCode = c(550, 5, 1, 1);
/// 550 5.1.2 bad destination system address (RFC 3463 X.1.2), e.g. an address literal
/// (`user@[192.0.2.1]`) on submission.
pub const C550_BAD_DESTINATION_SYSTEM: ReplyCode = c(550, 5, 1, 2);
/// 550 5.2.1 mailbox disabled (RFC 3463 X.2.1).
pub const C550_MAILBOX_DISABLED: ReplyCode = c(550, 5, 2, 1);
/// 550 5.7.1 rejected by policy (RFC 3463 X.7.1 "delivery not authorized").
pub const C550_POLICY_REJECTED: ReplyCode = c(550, 5, 7, 1);
/// 550 5.7.10 REQUIRETLS needed but not possible (RFC 8689 §5).
pub const C550_REQUIRETLS_NOT_POSSIBLE: ReplyCode = c(550, 5, 7, 10);
/// 552 5.2.2 mailbox full (RFC 3463 X.2.2).
pub const C552_MAILBOX_FULL: ReplyCode = c(552, 5, 2, 2);
/// 552 5.3.4 message too big for system (RFC 1870 §6; RFC 3463 X.3.4).
pub const C552_MESSAGE_TOO_BIG: ReplyCode = c(552, 5, 3, 4);
/// 553 5.7.1 sender address not owned by the authenticated user (as Postfix
/// `reject_sender_login_mismatch`; RFC 3463 X.7.1 "delivery not authorized").
pub const C553_SENDER_NOT_ALLOWED: ReplyCode = c(553, 5, 7, 1);
/// 553 5.6.7 non-ASCII address without SMTPUTF8 (RFC 6531 §3.5; RFC 5248 X.6.7).
pub const C553_SMTPUTF8_REQUIRED: ReplyCode = c(553, 5, 6, 7);
/// 554 5.7.1 relay access denied (RFC 3463 X.7.1 "delivery not authorized").
pub const C554_RELAY_DENIED: ReplyCode = c(554, 5, 7, 1);
/// 554 5.5.0 transaction failed, e.g. DATA with no valid recipients (RFC 5321 §3.3).
pub const C554_TRANSACTION_FAILED: ReplyCode = c(554, 5, 5, 0);
/// 554 5.6.0 message content rejected (RFC 3463 X.6.0 "other media error"), e.g. bare LF.
pub const C554_CONTENT_REJECTED: ReplyCode = c(554, 5, 6, 0);
/// 555 5.5.4 MAIL/RCPT parameter not recognized (RFC 5321 §4.1.1.11).
pub const C555_UNKNOWN_PARAMETER: ReplyCode = c(555, 5, 5, 4);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constants_encode_with_their_enhanced_code() {
        assert_eq!(
            Reply::from_code(C550_NO_SUCH_USER, "no such user").encode(),
            b"550 5.1.1 no such user\r\n"
        );
        assert_eq!(
            C354_START_DATA.reply("end with <CRLF>.<CRLF>").encode(),
            b"354 end with <CRLF>.<CRLF>\r\n"
        );
    }

    #[test]
    fn enhanced_class_matches_reply_class() {
        for c in [
            C211_SYSTEM_STATUS,
            C214_HELP,
            C220_READY_FOR_TLS,
            C221_BYE,
            C235_AUTH_SUCCEEDED,
            C250_OK,
            C250_SENDER_OK,
            C250_RECIPIENT_OK,
            C250_QUEUED,
            C250_CHUNK_OK,
            C252_CANNOT_VRFY,
            C421_SHUTTING_DOWN,
            C421_TOO_MANY_CONNECTIONS,
            C421_TIMEOUT,
            C421_TOO_MANY_ERRORS,
            C450_MAILBOX_UNAVAILABLE,
            C450_RATE_LIMITED,
            C451_LOCAL_ERROR,
            C451_GREYLISTED,
            C451_LOOKUP_FAILED,
            C452_TOO_MANY_RECIPIENTS,
            C452_INSUFFICIENT_STORAGE,
            C452_SYSTEM_FULL,
            C454_TLS_UNAVAILABLE,
            C454_AUTH_TEMPORARY_FAILURE,
            C454_RELAY_DENIED_TEMPORARY,
            C500_LINE_TOO_LONG,
            C500_SYNTAX,
            C500_UNKNOWN_COMMAND,
            C500_AUTH_LINE_TOO_LONG,
            C501_SYNTAX,
            C501_BAD_SENDER,
            C501_BAD_RECIPIENT,
            C501_AUTH_CANCELLED,
            C501_AUTH_BAD_BASE64,
            C502_NOT_IMPLEMENTED,
            C503_BAD_SEQUENCE,
            C504_PARAMETER_NOT_IMPLEMENTED,
            C530_STARTTLS_FIRST,
            C530_AUTH_REQUIRED,
            C530_REQUIRETLS_NEEDS_TLS,
            C534_AUTH_TOO_WEAK,
            C535_AUTH_FAILED,
            C538_ENCRYPTION_REQUIRED,
            C550_NO_SUCH_USER,
            C550_BAD_DESTINATION_SYSTEM,
            C550_MAILBOX_DISABLED,
            C550_POLICY_REJECTED,
            C550_REQUIRETLS_NOT_POSSIBLE,
            C552_MAILBOX_FULL,
            C552_MESSAGE_TOO_BIG,
            C553_SENDER_NOT_ALLOWED,
            C553_SMTPUTF8_REQUIRED,
            C554_RELAY_DENIED,
            C554_TRANSACTION_FAILED,
            C554_CONTENT_REJECTED,
            C555_UNKNOWN_PARAMETER,
        ] {
            let e = c.enhanced.unwrap();
            assert_eq!(u16::from(e.0), c.code / 100, "{c:?}");
        }
    }
}
