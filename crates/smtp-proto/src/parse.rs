//! Command-line parser: one line (without CRLF) → [`Command`].
//!
//! Functions are named after the RFC 5321 §4.1.2 ABNF rule they implement and quote it.
//! Deliberate liberalities (all as Postfix accepts them) are marked `// liberal:`.

use std::net::Ipv6Addr;

use crate::codes;
use crate::command::{
    Body, Command, MailFrom, Notify, Orcpt, Path, RcptTo, Ret, ReversePath, is_atext,
};
use crate::reply::Reply;
use crate::xtext;

/// Longest command line accepted, in octets, without CRLF.
///
/// RFC 5321 §4.5.3.1.4 sets the command line limit at 512 octets including CRLF, but
/// §4.5.3.1 also says extensions may raise it, and they do: RFC 1870, RFC 3461 and
/// RFC 4954 each add parameters (an `AUTH=` mailbox, `ORCPT=` of up to 500 characters,
/// `ENVID=` of 100, an AUTH initial response of up to 12 288 octets per RFC 4954 §4 —
/// long initial responses are sent as continuation lines by real clients). 4096 leaves
/// room for all parameters on one line while still bounding memory.
pub const MAX_COMMAND_LINE: usize = 4096;

/// Why a command line could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// The line is empty or white space only.
    #[error("empty command line")]
    Empty,
    /// The verb is not an SMTP command we know.
    #[error("unknown command {0:?}")]
    UnknownCommand(String),
    /// The arguments do not follow the grammar.
    #[error("syntax error: {0}")]
    Syntax(String),
    /// The sender address of `MAIL FROM:` is malformed (replied 501 5.1.7).
    #[error("bad sender address syntax: {0}")]
    BadSender(String),
    /// The recipient address of `RCPT TO:` is malformed (replied 501 5.1.3).
    #[error("bad recipient address syntax: {0}")]
    BadRecipient(String),
    /// A `MAIL`/`RCPT` parameter this server does not implement.
    #[error("unknown parameter {0}")]
    UnknownParameter(String),
    /// A known parameter with a bad value, a missing value, or given twice.
    #[error("invalid parameter {name}: {reason}")]
    InvalidParameter {
        /// The parameter keyword, upper-cased.
        name: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The line is longer than [`MAX_COMMAND_LINE`].
    #[error("command line too long")]
    LineTooLong,
}

impl ParseError {
    /// The reply the server sends for this error.
    ///
    /// The text never echoes unknown input beyond a validated parameter keyword.
    pub fn reply(&self) -> Reply {
        match self {
            ParseError::Empty => Reply::from_code(codes::C500_SYNTAX, "Error: bad syntax"),
            ParseError::UnknownCommand(_) => {
                Reply::from_code(codes::C500_UNKNOWN_COMMAND, "Error: command not recognized")
            }
            ParseError::Syntax(reason) => {
                Reply::from_code(codes::C501_SYNTAX, format!("Syntax error: {reason}"))
            }
            ParseError::BadSender(reason) => Reply::from_code(
                codes::C501_BAD_SENDER,
                format!("Bad sender address syntax: {reason}"),
            ),
            ParseError::BadRecipient(reason) => Reply::from_code(
                codes::C501_BAD_RECIPIENT,
                format!("Bad recipient address syntax: {reason}"),
            ),
            ParseError::UnknownParameter(name) => Reply::from_code(
                codes::C555_UNKNOWN_PARAMETER,
                format!("Unsupported option: {name}"),
            ),
            ParseError::InvalidParameter { name, reason } => Reply::from_code(
                codes::C501_SYNTAX,
                format!("Bad {name} parameter: {reason}"),
            ),
            ParseError::LineTooLong => {
                Reply::from_code(codes::C500_LINE_TOO_LONG, "Error: line too long")
            }
        }
    }
}

fn syntax(reason: &str) -> ParseError {
    ParseError::Syntax(reason.to_owned())
}

fn invalid(name: &str, reason: impl Into<String>) -> ParseError {
    ParseError::InvalidParameter {
        name: name.to_owned(),
        reason: reason.into(),
    }
}

/// Parses one command line, given without its CRLF.
///
/// ```text
/// command = verb [ SP arguments ]   ; RFC 5321 §4.1.1, verbs case-insensitive (§2.4)
/// ```
pub fn parse_command(line: &[u8]) -> Result<Command, ParseError> {
    if line.len() > MAX_COMMAND_LINE {
        return Err(ParseError::LineTooLong);
    }
    // liberal: a stray CR left by a bare-LF line split, and trailing white space.
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let line = trim_end(line);
    if line.iter().all(|b| *b == b' ' || *b == b'\t') {
        return Err(ParseError::Empty);
    }
    let (verb, rest) = match line.iter().position(|&b| b == b' ') {
        Some(i) => (&line[..i], &line[i + 1..]),
        None => (line, &b""[..]),
    };
    if verb.is_empty() || verb.len() > 16 || !verb.iter().all(u8::is_ascii_alphanumeric) {
        return Err(ParseError::UnknownCommand(
            String::from_utf8_lossy(&verb[..verb.len().min(32)]).into_owned(),
        ));
    }
    let verb = String::from_utf8_lossy(verb).to_ascii_uppercase();
    let known = matches!(
        verb.as_str(),
        "EHLO"
            | "HELO"
            | "MAIL"
            | "RCPT"
            | "DATA"
            | "BDAT"
            | "RSET"
            | "NOOP"
            | "QUIT"
            | "VRFY"
            | "EXPN"
            | "HELP"
            | "STARTTLS"
            | "AUTH"
    );
    if !known {
        return Err(ParseError::UnknownCommand(verb));
    }
    let rest = std::str::from_utf8(rest).map_err(|_| syntax("invalid UTF-8"))?;
    if rest.chars().any(|c| c.is_control() && c != '\t') {
        return Err(syntax("control character in command"));
    }
    let rest = rest.trim_start_matches(' ');
    match verb.as_str() {
        "EHLO" => Ok(Command::Ehlo {
            domain: parse_helo_domain(rest)?,
        }),
        "HELO" => Ok(Command::Helo {
            domain: parse_helo_domain(rest)?,
        }),
        "MAIL" => parse_mail(rest).map(Command::Mail),
        "RCPT" => parse_rcpt(rest).map(Command::Rcpt),
        "DATA" => no_argument(rest, Command::Data),
        "BDAT" => parse_bdat(rest),
        "RSET" => no_argument(rest, Command::Rset),
        // RFC 5321 §4.1.1.9: "NOOP" [ SP String ]; the string is ignored.
        "NOOP" => Ok(Command::Noop),
        "QUIT" => no_argument(rest, Command::Quit),
        "VRFY" => Ok(Command::Vrfy {
            argument: required_string(rest)?,
        }),
        "EXPN" => Ok(Command::Expn {
            argument: required_string(rest)?,
        }),
        "HELP" => Ok(Command::Help {
            topic: (!rest.is_empty()).then(|| rest.to_owned()),
        }),
        "STARTTLS" => no_argument(rest, Command::StartTls),
        _ => parse_auth(rest),
    }
}

fn trim_end(mut line: &[u8]) -> &[u8] {
    while let [head @ .., b' ' | b'\t'] = line {
        line = head;
    }
    line
}

fn no_argument(rest: &str, command: Command) -> Result<Command, ParseError> {
    if rest.is_empty() {
        Ok(command)
    } else {
        Err(syntax("command takes no argument"))
    }
}

fn required_string(rest: &str) -> Result<String, ParseError> {
    if rest.is_empty() {
        Err(syntax("argument required"))
    } else {
        Ok(rest.to_owned())
    }
}

/// ```text
/// ehlo = "EHLO" SP ( Domain / address-literal ) CRLF
/// helo = "HELO" SP Domain CRLF
/// ```
/// liberal: anything non-empty without spaces is accepted as sent (Postfix does so by
/// default); whether the name must be a valid domain is the server's policy.
fn parse_helo_domain(rest: &str) -> Result<String, ParseError> {
    if rest.is_empty() {
        return Err(syntax("domain name required"));
    }
    if rest.contains([' ', '\t']) {
        return Err(syntax("domain name must be one word"));
    }
    Ok(rest.to_owned())
}

/// `bdat-cmd = "BDAT" SP chunk-size [ SP end-marker ] CRLF`,
/// `chunk-size = 1*DIGIT`, `end-marker = "LAST"` (RFC 3030 §2).
fn parse_bdat(rest: &str) -> Result<Command, ParseError> {
    let mut words = rest.split(' ').filter(|w| !w.is_empty());
    let size = words.next().ok_or_else(|| syntax("chunk size required"))?;
    if !size.bytes().all(|b| b.is_ascii_digit()) {
        return Err(syntax("chunk size is not a number"));
    }
    let chunk_size = size
        .parse::<u64>()
        .map_err(|_| syntax("chunk size out of range"))?;
    let last = match words.next() {
        None => false,
        Some(w) if w.eq_ignore_ascii_case("LAST") => true,
        Some(_) => return Err(syntax("expected LAST")),
    };
    if words.next().is_some() {
        return Err(syntax("too many arguments"));
    }
    Ok(Command::Bdat { chunk_size, last })
}

/// `"AUTH" SP sasl-mech [SP initial-response]`, `sasl-mech = 1*20(UPPER-ALPHA / DIGIT /
/// "-" / "_")`, `initial-response = base64 / "="` (RFC 4954 §4; mechanism names are
/// case-insensitive).
fn parse_auth(rest: &str) -> Result<Command, ParseError> {
    let mut words = rest.split(' ').filter(|w| !w.is_empty());
    let mechanism = words.next().ok_or_else(|| syntax("mechanism required"))?;
    if mechanism.len() > 20
        || !mechanism
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(syntax("invalid mechanism name"));
    }
    let initial_response = match words.next() {
        None => None,
        Some(ir) if is_base64_or_empty(ir) => Some(ir.to_owned()),
        Some(_) => return Err(syntax("initial response is not base64")),
    };
    if words.next().is_some() {
        return Err(syntax("too many arguments"));
    }
    Ok(Command::Auth {
        mechanism: mechanism.to_ascii_uppercase(),
        initial_response,
    })
}

/// `base64 = base64-terminal / ( 1*(4base64-char) [base64-terminal] )` or `"="`.
/// Only the alphabet is checked here; decoding is the SASL layer's job.
fn is_base64_or_empty(s: &str) -> bool {
    s == "="
        || s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || b == b'=')
}

/// `mail = "MAIL FROM:" Reverse-path [SP Mail-parameters] CRLF` (RFC 5321 §4.1.1.2).
fn parse_mail(rest: &str) -> Result<MailFrom, ParseError> {
    let after = strip_keyword(rest, "FROM:").ok_or_else(|| syntax("expected FROM:<address>"))?;
    let (reverse_path, params) = parse_reverse_path(after).map_err(ParseError::BadSender)?;
    let mut mail = MailFrom {
        reverse_path,
        ..MailFrom::default()
    };
    let mut seen: Vec<String> = Vec::new();
    for (name, value) in parse_esmtp_params(params)? {
        if seen.contains(&name) {
            return Err(invalid(&name, "given twice"));
        }
        seen.push(name.clone());
        match name.as_str() {
            "SIZE" => mail.size = Some(parse_size(&name, value)?),
            "BODY" => {
                let v = required_value(&name, value)?;
                mail.body = Some(match v.to_ascii_uppercase().as_str() {
                    "7BIT" => Body::SevenBit,
                    "8BITMIME" => Body::EightBitMime,
                    "BINARYMIME" => Body::BinaryMime,
                    _ => return Err(invalid(&name, "must be 7BIT, 8BITMIME or BINARYMIME")),
                });
            }
            "SMTPUTF8" => {
                no_value(&name, value)?;
                mail.smtputf8 = true;
            }
            "REQUIRETLS" => {
                no_value(&name, value)?;
                mail.requiretls = true;
            }
            "RET" => {
                let v = required_value(&name, value)?;
                mail.ret = Some(match v.to_ascii_uppercase().as_str() {
                    "FULL" => Ret::Full,
                    "HDRS" => Ret::Hdrs,
                    _ => return Err(invalid(&name, "must be FULL or HDRS")),
                });
            }
            "ENVID" => {
                let v = required_value(&name, value)?;
                mail.envid = Some(decode_xtext(&name, v)?);
            }
            "AUTH" => {
                // RFC 4954 §5: auth-param = "AUTH=" ( xtext / "<>" )
                let v = required_value(&name, value)?;
                mail.auth = Some(if v == "<>" {
                    v.to_owned()
                } else {
                    decode_xtext(&name, v)?
                });
            }
            _ => return Err(ParseError::UnknownParameter(name)),
        }
    }
    Ok(mail)
}

/// ```text
/// rcpt = "RCPT TO:" ( "<Postmaster@" Domain ">" / "<Postmaster>" /
///        Forward-path ) [SP Rcpt-parameters] CRLF
/// ```
/// (RFC 5321 §4.1.1.3); `<Postmaster@Domain>` is an ordinary path.
fn parse_rcpt(rest: &str) -> Result<RcptTo, ParseError> {
    let after = strip_keyword(rest, "TO:").ok_or_else(|| syntax("expected TO:<address>"))?;
    let (forward_path, params) = parse_forward_path(after).map_err(ParseError::BadRecipient)?;
    let mut rcpt = RcptTo {
        forward_path,
        notify: None,
        orcpt: None,
    };
    let mut seen: Vec<String> = Vec::new();
    for (name, value) in parse_esmtp_params(params)? {
        if seen.contains(&name) {
            return Err(invalid(&name, "given twice"));
        }
        seen.push(name.clone());
        match name.as_str() {
            "NOTIFY" => rcpt.notify = Some(parse_notify(&name, value)?),
            "ORCPT" => rcpt.orcpt = Some(parse_orcpt(&name, value)?),
            _ => return Err(ParseError::UnknownParameter(name)),
        }
    }
    Ok(rcpt)
}

/// Strips `FROM:` / `TO:` case-insensitively, then any spaces.
/// liberal: `MAIL FROM: <a@b>` (a space after the colon) as Postfix accepts.
fn strip_keyword<'a>(rest: &'a str, keyword: &str) -> Option<&'a str> {
    let head = rest.get(..keyword.len())?;
    if !head.eq_ignore_ascii_case(keyword) {
        return None;
    }
    Some(rest[keyword.len()..].trim_start_matches(' '))
}

/// `Reverse-path = Path / "<>"`; returns the path and the text after `>`.
fn parse_reverse_path(s: &str) -> Result<(ReversePath, &str), String> {
    if let Some(rest) = s.strip_prefix("<>") {
        return Ok((ReversePath::Null, rest));
    }
    let (path, rest) = parse_path(s, false)?;
    Ok((ReversePath::Path(path), rest))
}

/// `Forward-path = Path`, plus `"<Postmaster>"` (RFC 5321 §4.1.1.3).
fn parse_forward_path(s: &str) -> Result<(Path, &str), String> {
    if s.starts_with("<>") {
        return Err("empty recipient".into());
    }
    parse_path(s, true)
}

/// ```text
/// Path    = "<" [ A-d-l ":" ] Mailbox ">"
/// A-d-l   = At-domain *( "," At-domain )   ; source route, accepted and dropped
/// At-domain = "@" Domain
/// Mailbox = Local-part "@" ( Domain / address-literal )
/// ```
fn parse_path(s: &str, allow_bare_postmaster: bool) -> Result<(Path, &str), String> {
    let mut rest = s
        .strip_prefix('<')
        .ok_or("address must be enclosed in <>")?;
    if rest.starts_with('@') {
        rest = skip_adl(rest)?;
    }
    let (local_part, after_local) = parse_local_part(rest)?;
    if allow_bare_postmaster
        && let Some(after) = after_local.strip_prefix('>')
        && local_part.eq_ignore_ascii_case("postmaster")
        && !rest.starts_with('"')
    {
        return Ok((
            Path {
                local_part: "postmaster".into(),
                domain: String::new(),
            },
            after,
        ));
    }
    let after_at = after_local
        .strip_prefix('@')
        .ok_or("missing @domain in address")?;
    let end = after_at.find('>').ok_or("missing closing >")?;
    let domain = &after_at[..end];
    if domain.starts_with('[') {
        parse_address_literal(domain)?;
    } else {
        parse_domain(domain)?;
    }
    Ok((
        Path {
            local_part,
            domain: domain.to_owned(),
        },
        &after_at[end + 1..],
    ))
}

/// `A-d-l = At-domain *( "," At-domain )` followed by `":"`; returns the text after `:`.
fn skip_adl(s: &str) -> Result<&str, String> {
    let colon = s.find(':').ok_or("source route without ':'")?;
    for at_domain in s[..colon].split(',') {
        let domain = at_domain
            .strip_prefix('@')
            .ok_or("source route hop without '@'")?;
        parse_domain(domain)?;
    }
    Ok(&s[colon + 1..])
}

/// ```text
/// Local-part     = Dot-string / Quoted-string
/// Dot-string     = Atom *("."  Atom)
/// Quoted-string  = DQUOTE *QcontentSMTP DQUOTE
/// QcontentSMTP   = qtextSMTP / quoted-pairSMTP
/// quoted-pairSMTP = %d92 %d32-126
/// qtextSMTP      = %d32-33 / %d35-91 / %d93-126   ; RFC 6531 adds UTF8-non-ascii
/// ```
/// Returns the unquoted, unescaped local part and the text after it.
fn parse_local_part(s: &str) -> Result<(String, &str), String> {
    if let Some(quoted) = s.strip_prefix('"') {
        let mut out = String::new();
        let mut chars = quoted.char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '"' => return Ok((out, &quoted[i + 1..])),
                '\\' => match chars.next() {
                    Some((_, e)) if (' '..='~').contains(&e) => out.push(e),
                    _ => return Err("bad escape in quoted local part".into()),
                },
                c if (' '..='~').contains(&c) || !c.is_ascii() => out.push(c),
                _ => return Err("bad character in quoted local part".into()),
            }
        }
        return Err("unterminated quoted local part".into());
    }
    let end = s
        .find(|c: char| !(is_atext(c) || c == '.'))
        .unwrap_or(s.len());
    let local = &s[..end];
    if local.is_empty() {
        return Err("empty local part".into());
    }
    if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return Err("misplaced dot in local part".into());
    }
    Ok((local.to_owned(), &s[end..]))
}

/// ```text
/// Domain     = sub-domain *("." sub-domain)
/// sub-domain = Let-dig [Ldh-str]        ; RFC 6531 §3.3: sub-domain =/ U-label
/// Ldh-str    = *( ALPHA / DIGIT / "-" ) Let-dig
/// ```
/// liberal: `_` is accepted inside labels, as Postfix does.
fn parse_domain(s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Err("empty domain".into());
    }
    for label in s.split('.') {
        let ok = !label.is_empty()
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || !c.is_ascii());
        if !ok {
            return Err("invalid domain".into());
        }
    }
    Ok(())
}

/// ```text
/// address-literal  = "[" ( IPv4-address-literal / IPv6-address-literal /
///                    General-address-literal ) "]"
/// IPv4-address-literal = Snum 3("."  Snum)
/// IPv6-address-literal = "IPv6:" IPv6-addr
/// General-address-literal = Standardized-tag ":" 1*dcontent
/// dcontent         = %d33-90 / %d94-126
/// ```
fn parse_address_literal(s: &str) -> Result<(), String> {
    let inner = s
        .strip_prefix('[')
        .and_then(|s| s.strip_suffix(']'))
        .ok_or("unterminated address literal")?;
    if inner.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return if is_ipv4_literal(inner) {
            Ok(())
        } else {
            Err("invalid IPv4 address literal".into())
        };
    }
    let (tag, content) = inner.split_once(':').ok_or("invalid address literal")?;
    if tag.eq_ignore_ascii_case("IPv6") {
        return content
            .parse::<Ipv6Addr>()
            .map(|_| ())
            .map_err(|_| "invalid IPv6 address literal".into());
    }
    // General-address-literal: Standardized-tag = Ldh-str (IANA registered).
    let tag_ok = !tag.is_empty()
        && tag.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !tag.ends_with('-');
    let content_ok = !content.is_empty()
        && content
            .bytes()
            .all(|b| (33..=90).contains(&b) || (94..=126).contains(&b));
    if tag_ok && content_ok {
        Ok(())
    } else {
        Err("invalid address literal".into())
    }
}

/// `Snum 3("."  Snum)`, `Snum = 1*3DIGIT` representing 0-255.
fn is_ipv4_literal(s: &str) -> bool {
    let parts: Vec<&str> = s.split('.').collect();
    parts.len() == 4
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.len() <= 3
                && p.bytes().all(|b| b.is_ascii_digit())
                && p.parse::<u16>().is_ok_and(|n| n <= 255)
        })
}

/// ```text
/// Mail-parameters = esmtp-param *(SP esmtp-param)
/// esmtp-param     = esmtp-keyword ["=" esmtp-value]
/// esmtp-keyword   = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-")
/// esmtp-value     = 1*(%d33-60 / %d62-126)   ; RFC 6531 adds UTF8-non-ascii
/// ```
/// Returns (upper-cased keyword, value) pairs. liberal: several spaces between
/// parameters.
fn parse_esmtp_params(s: &str) -> Result<Vec<(String, Option<&str>)>, ParseError> {
    if !s.is_empty() && !s.starts_with(' ') {
        return Err(syntax("expected space after address"));
    }
    let mut out = Vec::new();
    for param in s.split(' ').filter(|p| !p.is_empty()) {
        let (keyword, value) = match param.split_once('=') {
            Some((k, v)) => (k, Some(v)),
            None => (param, None),
        };
        let keyword_ok = keyword
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric())
            && keyword
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if !keyword_ok {
            return Err(syntax("invalid parameter keyword"));
        }
        let name = keyword.to_ascii_uppercase();
        if let Some(v) = value
            && (v.is_empty()
                || !v
                    .chars()
                    .all(|c| !c.is_ascii() || (c.is_ascii_graphic() && c != '=')))
        {
            return Err(invalid(&name, "invalid value"));
        }
        out.push((name, value));
    }
    Ok(out)
}

fn required_value<'a>(name: &str, value: Option<&'a str>) -> Result<&'a str, ParseError> {
    value.ok_or_else(|| invalid(name, "value required"))
}

fn no_value(name: &str, value: Option<&str>) -> Result<(), ParseError> {
    match value {
        None => Ok(()),
        Some(_) => Err(invalid(name, "takes no value")),
    }
}

/// `size-param = "SIZE=" size-value`, `size-value = 1*20DIGIT` (RFC 1870 §4).
fn parse_size(name: &str, value: Option<&str>) -> Result<u64, ParseError> {
    let v = required_value(name, value)?;
    if v.len() > 20 || !v.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid(name, "not a number"));
    }
    v.parse().map_err(|_| invalid(name, "out of range"))
}

/// `notify-esmtp-value = "NEVER" / 1#notify-list-element`,
/// `notify-list-element = "SUCCESS" / "FAILURE" / "DELAY"` (RFC 3461 §4.1).
fn parse_notify(name: &str, value: Option<&str>) -> Result<Notify, ParseError> {
    let v = required_value(name, value)?;
    let mut notify = Notify::never();
    let mut never = false;
    for element in v.split(',') {
        match element.to_ascii_uppercase().as_str() {
            "NEVER" => never = true,
            "SUCCESS" => notify.success = true,
            "FAILURE" => notify.failure = true,
            "DELAY" => notify.delay = true,
            _ => return Err(invalid(name, "must be NEVER or SUCCESS,FAILURE,DELAY")),
        }
    }
    if never && !notify.is_never() {
        return Err(invalid(name, "NEVER cannot be combined with other values"));
    }
    Ok(notify)
}

/// `orcpt-parameter = "ORCPT=" original-recipient-address`,
/// `original-recipient-address = addr-type ";" xtext`, `addr-type = atom`
/// (RFC 3461 §4.2).
fn parse_orcpt(name: &str, value: Option<&str>) -> Result<Orcpt, ParseError> {
    let v = required_value(name, value)?;
    let (addr_type, address) = v
        .split_once(';')
        .ok_or_else(|| invalid(name, "expected addr-type;address"))?;
    if addr_type.is_empty() || !addr_type.chars().all(|c| c.is_ascii() && is_atext(c)) {
        return Err(invalid(name, "invalid address type"));
    }
    Ok(Orcpt {
        addr_type: addr_type.to_owned(),
        address: decode_xtext(name, address)?,
    })
}

fn decode_xtext(name: &str, value: &str) -> Result<String, ParseError> {
    let bytes = xtext::decode(value).map_err(|e| invalid(name, e.to_string()))?;
    String::from_utf8(bytes).map_err(|_| invalid(name, "decoded value is not UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reply::EnhancedCode;
    use proptest::prelude::*;

    fn p(line: &str) -> Result<Command, ParseError> {
        parse_command(line.as_bytes())
    }

    fn path(l: &str, d: &str) -> Path {
        Path {
            local_part: l.into(),
            domain: d.into(),
        }
    }

    fn mail(l: &str, d: &str) -> MailFrom {
        MailFrom {
            reverse_path: ReversePath::Path(path(l, d)),
            ..MailFrom::default()
        }
    }

    fn rcpt(l: &str, d: &str) -> RcptTo {
        RcptTo {
            forward_path: path(l, d),
            notify: None,
            orcpt: None,
        }
    }

    // RFC 5321 Appendix D.1–D.4: the commands of the example scenarios.
    #[test]
    fn rfc5321_appendix_d_scenarios() {
        let table: Vec<(&str, Command)> = vec![
            (
                "EHLO bar.com",
                Command::Ehlo {
                    domain: "bar.com".into(),
                },
            ),
            (
                "MAIL FROM:<Smith@bar.com>",
                Command::Mail(mail("Smith", "bar.com")),
            ),
            (
                "RCPT TO:<Jones@foo.com>",
                Command::Rcpt(rcpt("Jones", "foo.com")),
            ),
            (
                "RCPT TO:<Green@foo.com>",
                Command::Rcpt(rcpt("Green", "foo.com")),
            ),
            (
                "RCPT TO:<Brown@foo.com>",
                Command::Rcpt(rcpt("Brown", "foo.com")),
            ),
            ("DATA", Command::Data),
            ("QUIT", Command::Quit),
            (
                "EHLO foo.com",
                Command::Ehlo {
                    domain: "foo.com".into(),
                },
            ),
            (
                "MAIL FROM:<JQP@bar.com>",
                Command::Mail(mail("JQP", "bar.com")),
            ),
            (
                "RCPT TO:<Jones@XYZ.COM>",
                Command::Rcpt(rcpt("Jones", "XYZ.COM")),
            ),
            (
                "VRFY Crispin",
                Command::Vrfy {
                    argument: "Crispin".into(),
                },
            ),
            (
                "MAIL FROM:<EAK@bar.com>",
                Command::Mail(mail("EAK", "bar.com")),
            ),
            (
                "RCPT TO:<Admin.MRC@foo.com>",
                Command::Rcpt(rcpt("Admin.MRC", "foo.com")),
            ),
            (
                "HELO bar.com",
                Command::Helo {
                    domain: "bar.com".into(),
                },
            ),
            ("RSET", Command::Rset),
            ("NOOP", Command::Noop),
            ("NOOP anything goes", Command::Noop),
            (
                "EXPN Example-People",
                Command::Expn {
                    argument: "Example-People".into(),
                },
            ),
            ("HELP", Command::Help { topic: None }),
            (
                "HELP MAIL",
                Command::Help {
                    topic: Some("MAIL".into()),
                },
            ),
            ("STARTTLS", Command::StartTls),
        ];
        for (line, want) in table {
            assert_eq!(p(line), Ok(want.clone()), "{line}");
            assert_eq!(p(&want.to_string()), Ok(want), "{line} re-encoded");
        }
    }

    #[test]
    fn verbs_and_keywords_are_case_insensitive() {
        assert_eq!(p("mail from:<a@b.c>"), Ok(Command::Mail(mail("a", "b.c"))));
        assert_eq!(p("Rcpt To:<a@b.c>"), Ok(Command::Rcpt(rcpt("a", "b.c"))));
        assert_eq!(p("starttls"), Ok(Command::StartTls));
        assert_eq!(
            p("MAIL FROM:<a@b.c> body=8bitmime size=10"),
            Ok(Command::Mail(MailFrom {
                body: Some(Body::EightBitMime),
                size: Some(10),
                ..mail("a", "b.c")
            }))
        );
    }

    #[test]
    fn liberal_spacing_as_postfix() {
        assert_eq!(p("MAIL FROM: <a@b.c>"), Ok(Command::Mail(mail("a", "b.c"))));
        assert_eq!(p("RCPT TO:  <a@b.c>"), Ok(Command::Rcpt(rcpt("a", "b.c"))));
        assert_eq!(
            p("MAIL FROM:<a@b.c>  SIZE=1 "),
            Ok(Command::Mail(MailFrom {
                size: Some(1),
                ..mail("a", "b.c")
            }))
        );
        assert_eq!(p("QUIT \r"), Ok(Command::Quit));
    }

    #[test]
    fn null_reverse_path_and_postmaster() {
        assert_eq!(p("MAIL FROM:<>"), Ok(Command::Mail(MailFrom::default())));
        // RFC 5321 §4.5.1: <Postmaster> without a domain, case-insensitive.
        assert_eq!(
            p("RCPT TO:<Postmaster>"),
            Ok(Command::Rcpt(rcpt("postmaster", "")))
        );
        assert_eq!(
            p("RCPT TO:<POSTMASTER>"),
            Ok(Command::Rcpt(rcpt("postmaster", "")))
        );
        assert_eq!(
            p("RCPT TO:<Postmaster@Example.org>"),
            Ok(Command::Rcpt(rcpt("Postmaster", "Example.org")))
        );
        assert!(matches!(
            p("MAIL FROM:<Postmaster>"),
            Err(ParseError::BadSender(_))
        ));
        assert!(matches!(p("RCPT TO:<>"), Err(ParseError::BadRecipient(_))));
    }

    // RFC 5321 §4.1.2 / §C: source routes are accepted and dropped.
    #[test]
    fn source_route_is_dropped() {
        assert_eq!(
            p("RCPT TO:<@ONE,@TWO:JOE@THREE>"),
            Ok(Command::Rcpt(rcpt("JOE", "THREE")))
        );
        assert_eq!(
            p("MAIL FROM:<@hosta.int,@jkl.org:userc@d.bar.org>"),
            Ok(Command::Mail(mail("userc", "d.bar.org")))
        );
        assert!(p("RCPT TO:<@ONE,TWO:JOE@THREE>").is_err());
    }

    #[test]
    fn quoted_local_parts() {
        assert_eq!(
            p(r#"RCPT TO:<"John Doe"@example.com>"#),
            Ok(Command::Rcpt(rcpt("John Doe", "example.com")))
        );
        assert_eq!(
            p(r#"RCPT TO:<"a\"b\\c@d"@example.com>"#),
            Ok(Command::Rcpt(rcpt(r#"a"b\c@d"#, "example.com")))
        );
        assert_eq!(
            p(r#"RCPT TO:<"plain"@example.com>"#),
            Ok(Command::Rcpt(rcpt("plain", "example.com")))
        );
        assert_eq!(
            p(r#"RCPT TO:<""@example.com>"#),
            Ok(Command::Rcpt(rcpt("", "example.com")))
        );
        assert!(matches!(
            p(r#"RCPT TO:<"abc@example.com>"#),
            Err(ParseError::BadRecipient(_))
        ));
        assert!(matches!(
            p("RCPT TO:<\"a\tb\"@example.com>"),
            Err(ParseError::BadRecipient(_))
        ));
    }

    #[test]
    fn address_literals() {
        assert_eq!(
            p("RCPT TO:<u@[127.0.0.1]>"),
            Ok(Command::Rcpt(rcpt("u", "[127.0.0.1]")))
        );
        assert_eq!(
            p("RCPT TO:<u@[IPv6:2001:db8::1]>"),
            Ok(Command::Rcpt(rcpt("u", "[IPv6:2001:db8::1]")))
        );
        assert_eq!(
            p("RCPT TO:<u@[IPv6:::ffff:1.2.3.4]>"),
            Ok(Command::Rcpt(rcpt("u", "[IPv6:::ffff:1.2.3.4]")))
        );
        assert_eq!(
            p("RCPT TO:<u@[x-tag:abc]>"),
            Ok(Command::Rcpt(rcpt("u", "[x-tag:abc]")))
        );
        for bad in [
            "[256.0.0.1]",
            "[1.2.3]",
            "[IPv6:zz]",
            "[]",
            "[1.2.3.4",
            "[nocolon]",
        ] {
            assert!(
                matches!(
                    p(&format!("RCPT TO:<u@{bad}>")),
                    Err(ParseError::BadRecipient(_))
                ),
                "{bad}"
            );
        }
        assert_eq!(
            p("EHLO [192.0.2.1]"),
            Ok(Command::Ehlo {
                domain: "[192.0.2.1]".into()
            })
        );
    }

    #[test]
    fn bad_addresses() {
        for bad in [
            "a@", "@b.c", "a@b..c", "a..b@c", ".a@c", "a.@c", "a@-b.c", "a@b-.c", "a b@c", "a@b.c.",
        ] {
            assert!(
                matches!(
                    p(&format!("RCPT TO:<{bad}>")),
                    Err(ParseError::BadRecipient(_))
                ),
                "{bad}"
            );
            assert!(
                matches!(
                    p(&format!("MAIL FROM:<{bad}>")),
                    Err(ParseError::BadSender(_))
                ),
                "{bad}"
            );
        }
        assert!(matches!(
            p("MAIL FROM:a@b.c"),
            Err(ParseError::BadSender(_))
        ));
        assert!(matches!(
            p("MAIL FROM:<a@b.c"),
            Err(ParseError::BadSender(_))
        ));
        assert!(matches!(p("MAIL TO:<a@b.c>"), Err(ParseError::Syntax(_))));
        assert!(matches!(
            p("MAIL FROM:<a@b.c>SIZE=1"),
            Err(ParseError::Syntax(_))
        ));
        assert!(matches!(p("MAIL"), Err(ParseError::Syntax(_))));
    }

    // RFC 6531 §3.3: UTF-8 local parts and domains.
    #[test]
    fn rfc6531_utf8_addresses() {
        assert_eq!(
            p("MAIL FROM:<用户@例子.广告> SMTPUTF8"),
            Ok(Command::Mail(MailFrom {
                smtputf8: true,
                ..mail("用户", "例子.广告")
            }))
        );
        assert_eq!(
            p("RCPT TO:<θσερ@εχαμπλε.ψομ>"),
            Ok(Command::Rcpt(rcpt("θσερ", "εχαμπλε.ψομ")))
        );
        assert!(matches!(
            p("MAIL FROM:<a@b.c> SMTPUTF8=yes"),
            Err(ParseError::InvalidParameter { .. })
        ));
    }

    // RFC 1870 §4 / §7 example.
    #[test]
    fn rfc1870_size() {
        assert_eq!(
            p("MAIL FROM:<ned@thor.innosoft.com> SIZE=500000"),
            Ok(Command::Mail(MailFrom {
                size: Some(500000),
                ..mail("ned", "thor.innosoft.com")
            }))
        );
        for bad in [
            "SIZE=abc",
            "SIZE=",
            "SIZE",
            "SIZE=-1",
            "SIZE=123456789012345678901",
            "SIZE=99999999999999999999",
        ] {
            let line = format!("MAIL FROM:<a@b.c> {bad}");
            assert!(
                matches!(p(&line), Err(ParseError::InvalidParameter { ref name, .. }) if name == "SIZE"),
                "{bad}: {:?}",
                p(&line)
            );
        }
    }

    // RFC 3030 §4 examples.
    #[test]
    fn rfc3030_bdat() {
        assert_eq!(
            p("BDAT 86 LAST"),
            Ok(Command::Bdat {
                chunk_size: 86,
                last: true
            })
        );
        assert_eq!(
            p("BDAT 100000"),
            Ok(Command::Bdat {
                chunk_size: 100000,
                last: false
            })
        );
        assert_eq!(
            p("BDAT 0 last"),
            Ok(Command::Bdat {
                chunk_size: 0,
                last: true
            })
        );
        assert_eq!(
            p("MAIL FROM:<ned@ymir.claremont.edu> BODY=BINARYMIME"),
            Ok(Command::Mail(MailFrom {
                body: Some(Body::BinaryMime),
                ..mail("ned", "ymir.claremont.edu")
            }))
        );
        for bad in [
            "BDAT",
            "BDAT x",
            "BDAT -1",
            "BDAT 1 FIRST",
            "BDAT 1 LAST x",
            "BDAT 99999999999999999999999",
        ] {
            assert!(matches!(p(bad), Err(ParseError::Syntax(_))), "{bad}");
        }
        assert!(matches!(
            p("MAIL FROM:<a@b.c> BODY=9BIT"),
            Err(ParseError::InvalidParameter { .. })
        ));
    }

    // RFC 3461 §9 (example scenarios): ENVID, RET, NOTIFY, ORCPT.
    #[test]
    fn rfc3461_dsn_parameters() {
        assert_eq!(
            p("MAIL FROM:<Alice@Example.ORG> RET=HDRS ENVID=QQ314159"),
            Ok(Command::Mail(MailFrom {
                ret: Some(Ret::Hdrs),
                envid: Some("QQ314159".into()),
                ..mail("Alice", "Example.ORG")
            }))
        );
        assert_eq!(
            p("RCPT TO:<Bob@Example.COM> NOTIFY=SUCCESS ORCPT=rfc822;Bob@Example.COM"),
            Ok(Command::Rcpt(RcptTo {
                notify: Some(Notify {
                    success: true,
                    failure: false,
                    delay: false
                }),
                orcpt: Some(Orcpt {
                    addr_type: "rfc822".into(),
                    address: "Bob@Example.COM".into()
                }),
                ..rcpt("Bob", "Example.COM")
            }))
        );
        assert_eq!(
            p("RCPT TO:<Dana@Ivory.EDU> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;Dana@Ivory.EDU"),
            Ok(Command::Rcpt(RcptTo {
                notify: Some(Notify {
                    success: true,
                    failure: true,
                    delay: false
                }),
                orcpt: Some(Orcpt {
                    addr_type: "rfc822".into(),
                    address: "Dana@Ivory.EDU".into()
                }),
                ..rcpt("Dana", "Ivory.EDU")
            }))
        );
        assert_eq!(
            p("RCPT TO:<Fred@Bombs.AF.MIL> NOTIFY=NEVER"),
            Ok(Command::Rcpt(RcptTo {
                notify: Some(Notify::never()),
                ..rcpt("Fred", "Bombs.AF.MIL")
            }))
        );
        assert_eq!(
            p("RCPT TO:<a@b.c> ORCPT=rfc822;Bob+2BSmith@example.com NOTIFY=delay"),
            Ok(Command::Rcpt(RcptTo {
                notify: Some(Notify {
                    success: false,
                    failure: false,
                    delay: true
                }),
                orcpt: Some(Orcpt {
                    addr_type: "rfc822".into(),
                    address: "Bob+Smith@example.com".into()
                }),
                ..rcpt("a", "b.c")
            }))
        );
        assert_eq!(
            p("MAIL FROM:<a@b.c> RET=FULL ENVID=a+20b"),
            Ok(Command::Mail(MailFrom {
                ret: Some(Ret::Full),
                envid: Some("a b".into()),
                ..mail("a", "b.c")
            }))
        );
        for bad in [
            "RCPT TO:<a@b.c> NOTIFY=NEVER,SUCCESS",
            "RCPT TO:<a@b.c> NOTIFY=SOMETIMES",
            "RCPT TO:<a@b.c> NOTIFY",
            "RCPT TO:<a@b.c> ORCPT=rfc822",
            "RCPT TO:<a@b.c> ORCPT=;a@b.c",
            "RCPT TO:<a@b.c> ORCPT=rfc822;a+ZZb",
            "MAIL FROM:<a@b.c> ENVID=a+2",
            "MAIL FROM:<a@b.c> ENVID=+FF",
            "MAIL FROM:<a@b.c> RET=ALL",
        ] {
            assert!(
                matches!(p(bad), Err(ParseError::InvalidParameter { .. })),
                "{bad}: {:?}",
                p(bad)
            );
        }
    }

    // RFC 4954 §4 and §5 examples.
    #[test]
    fn rfc4954_auth() {
        assert_eq!(
            p("AUTH PLAIN dGVzdAB0ZXN0ADEyMzQ="),
            Ok(Command::Auth {
                mechanism: "PLAIN".into(),
                initial_response: Some("dGVzdAB0ZXN0ADEyMzQ=".into())
            })
        );
        assert_eq!(
            p("auth gssapi"),
            Ok(Command::Auth {
                mechanism: "GSSAPI".into(),
                initial_response: None
            })
        );
        assert_eq!(
            p("AUTH PLAIN ="),
            Ok(Command::Auth {
                mechanism: "PLAIN".into(),
                initial_response: Some("=".into())
            })
        );
        assert_eq!(
            p("MAIL FROM:<e=mc2@example.com> AUTH=e+3Dmc2@example.com"),
            Ok(Command::Mail(MailFrom {
                auth: Some("e=mc2@example.com".into()),
                ..mail("e=mc2", "example.com")
            }))
        );
        assert_eq!(
            p("MAIL FROM:<a@b.c> AUTH=<>"),
            Ok(Command::Mail(MailFrom {
                auth: Some("<>".into()),
                ..mail("a", "b.c")
            }))
        );
        assert!(matches!(p("AUTH"), Err(ParseError::Syntax(_))));
        assert!(matches!(p("AUTH PLAIN a b"), Err(ParseError::Syntax(_))));
        assert!(matches!(p("AUTH PL@IN"), Err(ParseError::Syntax(_))));
        assert!(matches!(p("AUTH PLAIN ***"), Err(ParseError::Syntax(_))));
    }

    #[test]
    fn requiretls() {
        assert_eq!(
            p("MAIL FROM:<a@b.c> REQUIRETLS"),
            Ok(Command::Mail(MailFrom {
                requiretls: true,
                ..mail("a", "b.c")
            }))
        );
    }

    #[test]
    fn parameter_errors() {
        assert_eq!(
            p("MAIL FROM:<a@b.c> FOO=bar"),
            Err(ParseError::UnknownParameter("FOO".into()))
        );
        assert_eq!(
            p("MAIL FROM:<a@b.c> NOTIFY=NEVER"),
            Err(ParseError::UnknownParameter("NOTIFY".into()))
        );
        assert_eq!(
            p("RCPT TO:<a@b.c> SIZE=1"),
            Err(ParseError::UnknownParameter("SIZE".into()))
        );
        assert_eq!(
            p("MAIL FROM:<a@b.c> SIZE=1 size=2"),
            Err(ParseError::InvalidParameter {
                name: "SIZE".into(),
                reason: "given twice".into()
            })
        );
        assert!(matches!(
            p("RCPT TO:<a@b.c> NOTIFY=NEVER NOTIFY=NEVER"),
            Err(ParseError::InvalidParameter { .. })
        ));
        assert!(matches!(
            p("MAIL FROM:<a@b.c> -X=1"),
            Err(ParseError::Syntax(_))
        ));
        assert!(matches!(
            p("MAIL FROM:<a@b.c> =1"),
            Err(ParseError::Syntax(_))
        ));
        assert!(matches!(
            p("MAIL FROM:<a@b.c> X=a=b"),
            Err(ParseError::InvalidParameter { .. })
        ));
    }

    #[test]
    fn command_errors() {
        assert_eq!(p(""), Err(ParseError::Empty));
        assert_eq!(p("   "), Err(ParseError::Empty));
        assert_eq!(p("FOO bar"), Err(ParseError::UnknownCommand("FOO".into())));
        assert!(matches!(
            parse_command(b"\xff\xfe"),
            Err(ParseError::UnknownCommand(_))
        ));
        assert!(matches!(
            p("GET / HTTP/1.1"),
            Err(ParseError::UnknownCommand(_))
        ));
        assert!(matches!(p("DATA now"), Err(ParseError::Syntax(_))));
        assert!(matches!(p("QUIT now"), Err(ParseError::Syntax(_))));
        assert!(matches!(p("EHLO"), Err(ParseError::Syntax(_))));
        assert!(matches!(p("EHLO a b"), Err(ParseError::Syntax(_))));
        assert!(matches!(p("VRFY"), Err(ParseError::Syntax(_))));
        assert!(matches!(
            parse_command(b"EHLO a\xffb"),
            Err(ParseError::Syntax(_))
        ));
        assert!(matches!(
            parse_command(b"EHLO a\0b"),
            Err(ParseError::Syntax(_))
        ));
        let long = format!("NOOP {}", "x".repeat(MAX_COMMAND_LINE));
        assert_eq!(p(&long), Err(ParseError::LineTooLong));
        let fits = format!("NOOP {}", "x".repeat(MAX_COMMAND_LINE - 5));
        assert_eq!(p(&fits), Ok(Command::Noop));
    }

    #[test]
    fn each_error_has_its_reply_code() {
        let code = |e: ParseError| {
            let r = e.reply();
            (r.code, r.enhanced)
        };
        let e = |a, b, c| Some(EnhancedCode(a, b, c));
        assert_eq!(code(ParseError::Empty), (500, e(5, 5, 2)));
        assert_eq!(
            code(ParseError::UnknownCommand("X".into())),
            (500, e(5, 5, 1))
        );
        assert_eq!(code(ParseError::Syntax("x".into())), (501, e(5, 5, 4)));
        assert_eq!(code(ParseError::BadSender("x".into())), (501, e(5, 1, 7)));
        assert_eq!(
            code(ParseError::BadRecipient("x".into())),
            (501, e(5, 1, 3))
        );
        assert_eq!(
            code(ParseError::UnknownParameter("X".into())),
            (555, e(5, 5, 4))
        );
        assert_eq!(
            code(ParseError::InvalidParameter {
                name: "SIZE".into(),
                reason: "x".into()
            }),
            (501, e(5, 5, 4))
        );
        assert_eq!(code(ParseError::LineTooLong), (500, e(5, 5, 2)));
        assert_eq!(
            p("MAIL FROM:<a@b.c> X-FOO").unwrap_err().reply().encode(),
            b"555 5.5.4 Unsupported option: X-FOO\r\n"
        );
    }

    fn domain() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?(\\.[a-z0-9]{1,8}){0,3}",
            "[a-z]{1,5}\\.(例子|ψομ)",
            (0u8..=255, 0u8..=255, 0u8..=255, 0u8..=255)
                .prop_map(|(a, b, c, d)| format!("[{a}.{b}.{c}.{d}]")),
            any::<[u16; 8]>().prop_map(|s| format!("[IPv6:{}]", std::net::Ipv6Addr::from(s))),
        ]
    }

    fn path_strategy() -> impl Strategy<Value = Path> {
        ("[ -~θ用]{0,12}", domain()).prop_map(|(local_part, domain)| Path { local_part, domain })
    }

    fn text() -> impl Strategy<Value = String> {
        "[!-~é]([ -~é]{0,10}[!-~é])?"
    }

    fn command() -> impl Strategy<Value = Command> {
        let mail = (
            proptest::option::of(path_strategy()),
            proptest::option::of(any::<u64>()),
            proptest::option::of(prop_oneof![
                Just(Body::SevenBit),
                Just(Body::EightBitMime),
                Just(Body::BinaryMime)
            ]),
            any::<bool>(),
            proptest::option::of(prop_oneof![Just(Ret::Full), Just(Ret::Hdrs)]),
            // esmtp-value = 1*(...): an empty ENVID or AUTH cannot be sent.
            proptest::option::of(".{1,12}"),
            proptest::option::of(prop_oneof![Just("<>".to_owned()), ".{1,12}".boxed()]),
            any::<bool>(),
        )
            .prop_map(
                |(path, size, body, smtputf8, ret, envid, auth, requiretls)| {
                    Command::Mail(MailFrom {
                        reverse_path: path.map_or(ReversePath::Null, ReversePath::Path),
                        size,
                        body,
                        smtputf8,
                        ret,
                        envid,
                        auth,
                        requiretls,
                    })
                },
            );
        let rcpt = (
            prop_oneof![
                path_strategy(),
                Just(Path {
                    local_part: "postmaster".into(),
                    domain: String::new()
                })
            ],
            proptest::option::of(any::<(bool, bool, bool)>().prop_map(
                |(success, failure, delay)| Notify {
                    success,
                    failure,
                    delay,
                },
            )),
            proptest::option::of(
                ("[A-Za-z0-9-]{1,8}", ".{0,12}")
                    .prop_map(|(addr_type, address)| Orcpt { addr_type, address }),
            ),
        )
            .prop_map(|(forward_path, notify, orcpt)| {
                Command::Rcpt(RcptTo {
                    forward_path,
                    notify,
                    orcpt,
                })
            });
        prop_oneof![
            mail,
            rcpt,
            domain().prop_map(|domain| Command::Ehlo { domain }),
            domain().prop_map(|domain| Command::Helo { domain }),
            (any::<u64>(), any::<bool>())
                .prop_map(|(chunk_size, last)| Command::Bdat { chunk_size, last }),
            text().prop_map(|argument| Command::Vrfy { argument }),
            text().prop_map(|argument| Command::Expn { argument }),
            proptest::option::of(text()).prop_map(|topic| Command::Help { topic }),
            (
                "[A-Z0-9_-]{1,20}",
                proptest::option::of("=|[A-Za-z0-9+/]{1,20}={0,2}")
            )
                .prop_map(|(mechanism, initial_response)| Command::Auth {
                    mechanism,
                    initial_response
                }),
            Just(Command::Data),
            Just(Command::Rset),
            Just(Command::Noop),
            Just(Command::Quit),
            Just(Command::StartTls),
        ]
    }

    proptest! {
        #[test]
        fn parse_of_encode_round_trips(cmd in command()) {
            let wire = cmd.encode();
            let line = wire.strip_suffix(b"\r\n").unwrap();
            prop_assert_eq!(parse_command(line), Ok(cmd));
        }

        #[test]
        fn never_panics_and_parsed_commands_re_parse(line in proptest::collection::vec(any::<u8>(), 0..80)) {
            if let Ok(cmd) = parse_command(&line) {
                prop_assert_eq!(parse_command(cmd.to_string().as_bytes()), Ok(cmd));
            }
        }

        #[test]
        fn mail_lines_never_panic(s in "(?i)(MAIL FROM:|RCPT TO:)[ ]?<[ -~é]{0,30}>( [A-Z]{1,6}(=[ -~]{0,8})?){0,3}") {
            if let Ok(cmd) = parse_command(s.as_bytes()) {
                prop_assert_eq!(parse_command(cmd.to_string().as_bytes()), Ok(cmd));
            }
        }
    }
}
