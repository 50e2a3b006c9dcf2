//! The EHLO reply (RFC 5321 §4.1.1.1): the server's name and greeting, then one
//! capability per line.
//!
//! ```text
//! ehlo-ok-rsp = ( "250" SP Domain [ SP ehlo-greet ] CRLF )
//!               / ( "250-" Domain [ SP ehlo-greet ] CRLF
//!                *( "250-" ehlo-line CRLF )
//!                   "250" SP ehlo-line CRLF )
//! ehlo-line   = ehlo-keyword *( SP ehlo-param )
//! ```
//!
//! No enhanced status codes here (RFC 2034 §3: they start after EHLO).

use crate::codes::C250_EHLO;
use crate::reply::Reply;

/// What a server says to EHLO.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EhloResponse {
    /// The server's own name (first word of the first line).
    pub domain: String,
    /// The rest of the first line; may be empty.
    pub greeting: String,
    /// One `ehlo-line` each: `PIPELINING`, `SIZE 10240000`, `AUTH PLAIN LOGIN`, ...
    pub capabilities: Vec<String>,
}

impl EhloResponse {
    /// The `250` multi-line reply.
    pub fn encode(&self) -> Reply {
        let first = if self.greeting.is_empty() {
            self.domain.clone()
        } else {
            format!("{} {}", self.domain, self.greeting)
        };
        Reply::multiline(
            C250_EHLO.code,
            C250_EHLO.enhanced,
            std::iter::once(first).chain(self.capabilities.iter().cloned()),
        )
    }

    /// The capability line whose keyword is `keyword` (case-insensitive), e.g. `SIZE`.
    pub fn capability(&self, keyword: &str) -> Option<&str> {
        self.capabilities.iter().map(String::as_str).find(|line| {
            line.split(' ')
                .next()
                .is_some_and(|k| k.eq_ignore_ascii_case(keyword))
        })
    }

    /// True if the server announced `keyword`.
    pub fn has_capability(&self, keyword: &str) -> bool {
        self.capability(keyword).is_some()
    }

    /// The parameters after `keyword`, e.g. `["PLAIN", "LOGIN"]` for `AUTH`.
    pub fn capability_params(&self, keyword: &str) -> Option<Vec<&str>> {
        self.capability(keyword)
            .map(|line| line.split(' ').skip(1).filter(|p| !p.is_empty()).collect())
    }
}

/// Reads an EHLO reply received by a client; lines after the first are capabilities.
/// Call it only for a positive reply; other replies give an empty capability list.
pub fn parse_ehlo_response(reply: &Reply) -> EhloResponse {
    let mut lines = reply.lines.iter();
    let first = lines.next().map(String::as_str).unwrap_or("");
    let (domain, greeting) = first.split_once(' ').unwrap_or((first, ""));
    EhloResponse {
        domain: domain.to_owned(),
        greeting: greeting.to_owned(),
        capabilities: if reply.is_positive() {
            lines.map(|l| l.trim().to_owned()).collect()
        } else {
            Vec::new()
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reply::parse_reply;

    #[test]
    fn rfc5321_d1_style_ehlo_reply_round_trips() {
        // RFC 5321 Appendix D.1.
        let wire =
            b"250-foo.com greets bar.com\r\n250-8BITMIME\r\n250-SIZE\r\n250-DSN\r\n250 HELP\r\n";
        let (reply, n) = parse_reply(wire).unwrap();
        assert_eq!(n, wire.len());
        let ehlo = parse_ehlo_response(&reply);
        assert_eq!(ehlo.domain, "foo.com");
        assert_eq!(ehlo.greeting, "greets bar.com");
        assert_eq!(ehlo.capabilities, ["8BITMIME", "SIZE", "DSN", "HELP"]);
        assert_eq!(ehlo.encode().encode(), wire);
    }

    #[test]
    fn capability_lookup() {
        let ehlo = EhloResponse {
            domain: "mx.example.org".into(),
            greeting: String::new(),
            capabilities: vec![
                "SIZE 10240000".into(),
                "AUTH PLAIN LOGIN".into(),
                "PIPELINING".into(),
            ],
        };
        assert_eq!(ehlo.capability("size"), Some("SIZE 10240000"));
        assert_eq!(ehlo.capability_params("AUTH"), Some(vec!["PLAIN", "LOGIN"]));
        assert!(ehlo.has_capability("PIPELINING"));
        assert!(!ehlo.has_capability("STARTTLS"));
        assert_eq!(ehlo.encode().encode(), b"250-mx.example.org\r\n250-SIZE 10240000\r\n250-AUTH PLAIN LOGIN\r\n250 PIPELINING\r\n");
        assert_eq!(parse_ehlo_response(&ehlo.encode()), ehlo);
    }

    #[test]
    fn single_line_ehlo_reply() {
        let (reply, _) = parse_reply(b"250 mx.example.org\r\n").unwrap();
        let ehlo = parse_ehlo_response(&reply);
        assert_eq!(ehlo.domain, "mx.example.org");
        assert!(ehlo.capabilities.is_empty());
    }
}
