//! SMTP commands as types, and their wire form ([`Command::encode`], for the client side).
//!
//! [`crate::parse::parse_command`] turns a line into a [`Command`]; `Display` turns it back
//! into a line (without CRLF) that parses to the same value.

use std::fmt;

use crate::xtext;

/// One SMTP command (RFC 5321 §4.1.1 and the extensions listed per variant).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `EHLO domain` (RFC 5321 §4.1.1.1): Domain or address-literal as sent.
    Ehlo {
        /// The client's claimed name, as sent.
        domain: String,
    },
    /// `HELO domain` (RFC 5321 §4.1.1.1).
    Helo {
        /// The client's claimed name, as sent.
        domain: String,
    },
    /// `MAIL FROM:<reverse-path> [params]` (RFC 5321 §4.1.1.2).
    Mail(MailFrom),
    /// `RCPT TO:<forward-path> [params]` (RFC 5321 §4.1.1.3).
    Rcpt(RcptTo),
    /// `DATA` (RFC 5321 §4.1.1.4).
    Data,
    /// `BDAT chunk-size [LAST]` (RFC 3030 §2): `chunk_size` octets follow the line.
    Bdat {
        /// Octets in the chunk that follows the command line.
        chunk_size: u64,
        /// `LAST`: this chunk ends the message.
        last: bool,
    },
    /// `RSET` (RFC 5321 §4.1.1.5).
    Rset,
    /// `NOOP [string]` (RFC 5321 §4.1.1.9); the argument is ignored.
    Noop,
    /// `QUIT` (RFC 5321 §4.1.1.10).
    Quit,
    /// `VRFY string` (RFC 5321 §4.1.1.6).
    Vrfy {
        /// The argument as sent.
        argument: String,
    },
    /// `EXPN string` (RFC 5321 §4.1.1.7).
    Expn {
        /// The argument as sent.
        argument: String,
    },
    /// `HELP [string]` (RFC 5321 §4.1.1.8).
    Help {
        /// The topic, if any.
        topic: Option<String>,
    },
    /// `STARTTLS` (RFC 3207 §4).
    StartTls,
    /// `AUTH mechanism [initial-response]` (RFC 4954 §4).
    Auth {
        /// The SASL mechanism name, upper-cased.
        mechanism: String,
        /// The base64 initial response as sent (`=` for an empty one), if any.
        initial_response: Option<String>,
    },
}

/// An RFC 5321 `Mailbox`: `Local-part "@" ( Domain / address-literal )`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Path {
    /// The local part, unquoted and unescaped (`"a b"@x` gives `a b`); case preserved.
    pub local_part: String,
    /// The domain as sent (`example.org`, `[127.0.0.1]`, `[IPv6:::1]`); empty only for
    /// `RCPT TO:<Postmaster>` (RFC 5321 §4.5.1).
    pub domain: String,
}

impl Path {
    /// True for the bare `<Postmaster>` recipient of RFC 5321 §4.5.1.
    pub fn is_bare_postmaster(&self) -> bool {
        self.domain.is_empty() && self.local_part.eq_ignore_ascii_case("postmaster")
    }
}

impl fmt::Display for Path {
    /// `local@domain`, the local part quoted (RFC 5321 `Quoted-string`) when it is not a
    /// `Dot-string`; a bare postmaster prints without `@`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if is_dot_string(&self.local_part) {
            f.write_str(&self.local_part)?;
        } else {
            f.write_str("\"")?;
            for c in self.local_part.chars() {
                if c == '"' || c == '\\' {
                    f.write_str("\\")?;
                }
                write!(f, "{c}")?;
            }
            f.write_str("\"")?;
        }
        if !self.domain.is_empty() {
            write!(f, "@{}", self.domain)?;
        }
        Ok(())
    }
}

/// RFC 5322 `atext`, extended by RFC 6531 §3.3 with `UTF8-non-ascii`.
pub(crate) fn is_atext(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c) || !c.is_ascii()
}

/// RFC 5321 `Dot-string = Atom *("."  Atom)`, `Atom = 1*atext`.
pub(crate) fn is_dot_string(s: &str) -> bool {
    !s.is_empty()
        && s.split('.')
            .all(|atom| !atom.is_empty() && atom.chars().all(is_atext))
}

/// `Reverse-path = Path / "<>"` (RFC 5321 §4.1.2).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub enum ReversePath {
    /// `MAIL FROM:<>`: bounces and other notifications (RFC 5321 §4.5.5).
    #[default]
    Null,
    /// A sender mailbox.
    Path(Path),
}

impl fmt::Display for ReversePath {
    /// `<>` or `<local@domain>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReversePath::Null => f.write_str("<>"),
            ReversePath::Path(p) => write!(f, "<{p}>"),
        }
    }
}

/// `BODY=` (RFC 6152 §2, RFC 3030 §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Body {
    /// `BODY=7BIT`.
    SevenBit,
    /// `BODY=8BITMIME` (RFC 6152).
    EightBitMime,
    /// `BODY=BINARYMIME` (RFC 3030 §3; requires BDAT).
    BinaryMime,
}

impl Body {
    /// The keyword value as sent on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Body::SevenBit => "7BIT",
            Body::EightBitMime => "8BITMIME",
            Body::BinaryMime => "BINARYMIME",
        }
    }
}

/// `RET=` (RFC 3461 §4.3): what a failure DSN returns of the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Ret {
    /// `RET=FULL`: the whole message.
    Full,
    /// `RET=HDRS`: only the headers.
    Hdrs,
}

/// `NOTIFY=` (RFC 3461 §4.1): which DSNs the sender wants for a recipient.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Notify {
    /// `SUCCESS`.
    pub success: bool,
    /// `FAILURE`.
    pub failure: bool,
    /// `DELAY`.
    pub delay: bool,
}

impl Notify {
    /// `NOTIFY=NEVER`: all false.
    pub fn never() -> Self {
        Self::default()
    }

    /// True for `NOTIFY=NEVER`.
    pub fn is_never(&self) -> bool {
        !(self.success || self.failure || self.delay)
    }
}

impl fmt::Display for Notify {
    /// `NEVER` or a comma list such as `SUCCESS,FAILURE`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_never() {
            return f.write_str("NEVER");
        }
        let list: Vec<&str> = [
            (self.success, "SUCCESS"),
            (self.failure, "FAILURE"),
            (self.delay, "DELAY"),
        ]
        .into_iter()
        .filter_map(|(on, s)| on.then_some(s))
        .collect();
        f.write_str(&list.join(","))
    }
}

/// `ORCPT=addr-type;xtext` (RFC 3461 §4.2).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Orcpt {
    /// The address type, usually `rfc822`, as sent.
    pub addr_type: String,
    /// The original recipient, xtext-decoded.
    pub address: String,
}

/// `MAIL FROM:` with its parameters (RFC 5321 §4.1.1.2 and extensions).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MailFrom {
    /// The sender, or `<>`.
    pub reverse_path: ReversePath,
    /// `SIZE=` declared message size in octets (RFC 1870 §3).
    pub size: Option<u64>,
    /// `BODY=` (RFC 6152, RFC 3030).
    pub body: Option<Body>,
    /// `SMTPUTF8` (RFC 6531 §3.4).
    pub smtputf8: bool,
    /// `RET=` (RFC 3461 §4.3).
    pub ret: Option<Ret>,
    /// `ENVID=`, xtext-decoded (RFC 3461 §4.4).
    pub envid: Option<String>,
    /// `AUTH=`, xtext-decoded mailbox or `<>` (RFC 4954 §5).
    pub auth: Option<String>,
    /// `REQUIRETLS` (RFC 8689 §4).
    pub requiretls: bool,
}

/// `RCPT TO:` with its parameters (RFC 5321 §4.1.1.3, RFC 3461 §4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RcptTo {
    /// The recipient.
    pub forward_path: Path,
    /// `NOTIFY=` (RFC 3461 §4.1).
    pub notify: Option<Notify>,
    /// `ORCPT=` (RFC 3461 §4.2).
    pub orcpt: Option<Orcpt>,
}

impl fmt::Display for MailFrom {
    /// `MAIL FROM:<path>` followed by its parameters. `ENVID` and `AUTH` are
    /// xtext-encoded; an empty one cannot be sent (`esmtp-value = 1*(...)`) and would not
    /// re-parse.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MAIL FROM:{}", self.reverse_path)?;
        if let Some(size) = self.size {
            write!(f, " SIZE={size}")?;
        }
        if let Some(body) = self.body {
            write!(f, " BODY={}", body.as_str())?;
        }
        if self.smtputf8 {
            f.write_str(" SMTPUTF8")?;
        }
        if let Some(ret) = self.ret {
            f.write_str(match ret {
                Ret::Full => " RET=FULL",
                Ret::Hdrs => " RET=HDRS",
            })?;
        }
        if let Some(envid) = &self.envid {
            write!(f, " ENVID={}", xtext::encode(envid.as_bytes()))?;
        }
        if let Some(auth) = &self.auth {
            if auth == "<>" {
                f.write_str(" AUTH=<>")?;
            } else {
                write!(f, " AUTH={}", xtext::encode(auth.as_bytes()))?;
            }
        }
        if self.requiretls {
            f.write_str(" REQUIRETLS")?;
        }
        Ok(())
    }
}

impl fmt::Display for RcptTo {
    /// `RCPT TO:<path>` followed by its parameters.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RCPT TO:<{}>", self.forward_path)?;
        if let Some(notify) = self.notify {
            write!(f, " NOTIFY={notify}")?;
        }
        if let Some(orcpt) = &self.orcpt {
            write!(
                f,
                " ORCPT={};{}",
                orcpt.addr_type,
                xtext::encode(orcpt.address.as_bytes())
            )?;
        }
        Ok(())
    }
}

impl fmt::Display for Command {
    /// The command line without CRLF.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Command::Ehlo { domain } => write!(f, "EHLO {domain}"),
            Command::Helo { domain } => write!(f, "HELO {domain}"),
            Command::Mail(m) => write!(f, "{m}"),
            Command::Rcpt(r) => write!(f, "{r}"),
            Command::Data => f.write_str("DATA"),
            Command::Bdat { chunk_size, last } => {
                write!(f, "BDAT {chunk_size}{}", if *last { " LAST" } else { "" })
            }
            Command::Rset => f.write_str("RSET"),
            Command::Noop => f.write_str("NOOP"),
            Command::Quit => f.write_str("QUIT"),
            Command::Vrfy { argument } => write!(f, "VRFY {argument}"),
            Command::Expn { argument } => write!(f, "EXPN {argument}"),
            Command::Help { topic: None } => f.write_str("HELP"),
            Command::Help { topic: Some(t) } => write!(f, "HELP {t}"),
            Command::StartTls => f.write_str("STARTTLS"),
            Command::Auth {
                mechanism,
                initial_response: None,
            } => write!(f, "AUTH {mechanism}"),
            Command::Auth {
                mechanism,
                initial_response: Some(ir),
            } => write!(f, "AUTH {mechanism} {ir}"),
        }
    }
}

impl Command {
    /// The command line with CRLF, ready to send.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = self.to_string().into_bytes();
        out.extend_from_slice(b"\r\n");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(l: &str, d: &str) -> Path {
        Path {
            local_part: l.into(),
            domain: d.into(),
        }
    }

    #[test]
    fn path_display_quotes_only_when_needed() {
        assert_eq!(
            path("joe.q.public", "example.com").to_string(),
            "joe.q.public@example.com"
        );
        assert_eq!(path("a b", "x").to_string(), "\"a b\"@x");
        assert_eq!(path("a\"b\\c", "x").to_string(), "\"a\\\"b\\\\c\"@x");
        assert_eq!(path("a..b", "x").to_string(), "\"a..b\"@x");
        assert_eq!(path("", "x").to_string(), "\"\"@x");
        assert_eq!(path("用户", "例子.广告").to_string(), "用户@例子.广告");
        assert_eq!(path("postmaster", "").to_string(), "postmaster");
    }

    #[test]
    fn notify_display() {
        assert_eq!(Notify::never().to_string(), "NEVER");
        let n = Notify {
            success: true,
            failure: true,
            delay: false,
        };
        assert_eq!(n.to_string(), "SUCCESS,FAILURE");
    }

    #[test]
    fn command_encode_ends_in_crlf() {
        assert_eq!(
            Command::Bdat {
                chunk_size: 86,
                last: true
            }
            .encode(),
            b"BDAT 86 LAST\r\n"
        );
        assert_eq!(Command::Data.encode(), b"DATA\r\n");
    }
}
