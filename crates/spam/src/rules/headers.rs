//! Header anomalies, the forged sender and the HELO name.
//!
//! | Symbol | Meaning |
//! |--------|---------|
//! | `MISSING_DATE` | no `Date` (RFC 5322 §3.6 requires one) |
//! | `INVALID_DATE` | a `Date` that is no RFC 5322 date |
//! | `DATE_IN_FUTURE` | `Date` more than a day after reception |
//! | `DATE_IN_PAST` | `Date` more than a year before reception |
//! | `MISSING_MID` | no `Message-ID` |
//! | `INVALID_MSGID` | a `Message-ID` not of the form `<left@right>` (RFC 5322 §3.6.4) |
//! | `MISSING_FROM` | no `From`, or one without an address |
//! | `MULTIPLE_FROM` | more than one `From` field, or more than one address in it |
//! | `MISSING_SUBJECT` | no `Subject`, or an empty one |
//! | `SUBJ_ALL_CAPS` | a subject of several words in capitals only |
//! | `SUBJ_EXCESS_PUNCT` | a subject with three or more `!` or `$` |
//! | `MISSING_TO` | no `To` |
//! | `UNDISC_RCPT` | a `To` without addresses (`undisclosed-recipients:;`) |
//! | `MANY_RECIPIENTS` | more than [`MANY_RECIPIENTS`] addresses in `To` and `Cc` |
//! | `REPLYTO_DOM_NEQ_FROM_DOM` | answers go to another organization than the sender's (not for mailing lists: a `List-Id` exempts) |
//! | `FREEMAIL_REPLYTO` | answers go to a freemail address while the sender is not one: the fraud pattern "write to my private address" |
//! | `FROM_NAME_HAS_ADDR_MISMATCH` | the From display name shows an address of another domain than the real one (`"service@bank.example" <x@evil.example>`) |
//! | `MAILFROM_NEQ_FROM_DOM` | the envelope sender's organization is not the From's (mild: mailing services do it) |
//! | `FORGED_LOCAL_SENDER` | From one of our own domains, though the message came in from outside |
//! | `HELO_BARE_IP` | HELO is an address (`[192.0.2.1]` or `192.0.2.1`) rather than a name |
//! | `HELO_NOT_FQDN` | HELO is a single label or under a private TLD (`.local`, `.lan`, …) |
//! | `HELO_LOCALHOST` | HELO claims to be `localhost` (from a client that is not on loopback) |
//! | `MISSING_MIME_VERSION` | a `Content-Type` without `MIME-Version` (RFC 2045 §4) |
//! | `HEADER_8BIT` | raw 8-bit (UTF-8) text in the header, not RFC 2047-encoded |
//! | `INVALID_HEADER_8BIT` | raw 8-bit header text that is not even UTF-8 |
//! | `XMAILER_BULK` | `X-Mailer`/`User-Agent` of a bulk-mailing tool popular with spammers |

use std::net::IpAddr;
use std::time::{SystemTime, UNIX_EPOCH};

use mail_parser::{Address, HeaderName, Message};

use super::{MessageFacts, domain};
use crate::verdict::Hit;

/// `MANY_RECIPIENTS` fires above this many addresses in `To` and `Cc`.
pub const MANY_RECIPIENTS: usize = 20;

/// A `Date` this many seconds after reception is in the future.
const FUTURE_SECS: i64 = 24 * 3600;
/// A `Date` this many seconds before reception is in the past.
const PAST_SECS: i64 = 365 * 24 * 3600;

/// `X-Mailer`/`User-Agent` values (lower case, matched as substrings) of bulk-mailing
/// tools common in spam.
const BULK_MAILERS: &[&str] = &[
    "phpmailer",
    "sendblaster",
    "atomic mail sender",
    "turbo-mailer",
    "turbomailer",
    "supermailer",
    "maxbulk",
    "group mail",
    "mass mailer",
    "bulk mailer",
    "advanced mass sender",
    "mailking",
];

/// Top-level names that are not in the public DNS.
const PRIVATE_TLDS: &[&str] = &[
    "local",
    "localdomain",
    "lan",
    "home",
    "internal",
    "intranet",
    "corp",
    "private",
];

/// The symbols of the HELO name of a client at `remote_ip`.
pub(crate) fn helo_hits(helo: &str, remote_ip: IpAddr) -> Vec<Hit> {
    let helo = helo.trim();
    if helo.is_empty() {
        return Vec::new();
    }
    let literal = helo
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(helo);
    let literal = literal
        .get(..5)
        .filter(|p| p.eq_ignore_ascii_case("ipv6:"))
        .map_or(literal, |_| &literal[5..]);
    if literal.parse::<IpAddr>().is_ok() {
        return vec![Hit::new("HELO_BARE_IP").with_detail(helo)];
    }
    let name = domain::normalize(helo);
    let localhost =
        name == "localhost" || name.ends_with(".localhost") || name.starts_with("localhost.");
    if localhost {
        if remote_ip.to_canonical().is_loopback() {
            return Vec::new();
        }
        return vec![Hit::new("HELO_LOCALHOST").with_detail(helo)];
    }
    let tld = name.rsplit('.').next().unwrap_or_default();
    if !name.contains('.') || PRIVATE_TLDS.contains(&tld) {
        return vec![Hit::new("HELO_NOT_FQDN").with_detail(helo)];
    }
    Vec::new()
}

/// The header section of a raw message: up to the first empty line.
pub(crate) fn header_section(message: &[u8]) -> &[u8] {
    let mut at = 0;
    while at < message.len() {
        let end = message[at..]
            .iter()
            .position(|b| *b == b'\n')
            .map_or(message.len(), |p| at + p + 1);
        let line = &message[at..end];
        if line == b"\r\n" || line == b"\n" {
            return &message[..at];
        }
        at = end;
    }
    message
}

/// `HEADER_8BIT` / `INVALID_HEADER_8BIT` of the raw header section.
pub(crate) fn encoding_hits(header: &[u8]) -> Vec<Hit> {
    if header.is_ascii() {
        Vec::new()
    } else if std::str::from_utf8(header).is_ok() {
        vec![Hit::new("HEADER_8BIT")]
    } else {
        vec![Hit::new("INVALID_HEADER_8BIT")]
    }
}

/// The header symbols of a parsed message.
pub(crate) fn hits(message: &Message<'_>, facts: &MessageFacts<'_>, now: SystemTime) -> Vec<Hit> {
    let mut hits = Vec::new();
    let count = |name: HeaderName<'_>| message.headers().iter().filter(|h| h.name == name).count();

    date_hits(message, now, &mut hits);

    match message.header_raw(HeaderName::MessageId) {
        None => hits.push(Hit::new("MISSING_MID")),
        Some(raw) => {
            let id = raw.trim();
            let valid = id.len() > 2
                && id.starts_with('<')
                && id.ends_with('>')
                && id[1..id.len() - 1]
                    .split_once('@')
                    .is_some_and(|(l, r)| !l.is_empty() && !r.is_empty() && !r.contains('@'))
                && !id.contains(char::is_whitespace);
            if !valid {
                hits.push(Hit::new("INVALID_MSGID").with_detail(id));
            }
        }
    }

    let from_fields = count(HeaderName::From);
    let from_addresses: Vec<&mail_parser::Addr<'_>> = message
        .from()
        .map(|a| a.iter().filter(|a| a.address.is_some()).collect())
        .unwrap_or_default();
    let from = from_addresses.first().copied();
    let from_domain = from.and_then(|a| a.address()).and_then(domain::of_address);
    if from_fields == 0 || from_domain.is_none() {
        hits.push(Hit::new("MISSING_FROM"));
    }
    if from_fields > 1 || from_addresses.len() > 1 {
        hits.push(Hit::new("MULTIPLE_FROM"));
    }

    subject_hits(message.subject(), &mut hits);

    match message.to() {
        None if count(HeaderName::To) == 0 => hits.push(Hit::new("MISSING_TO")),
        to => {
            if to.map_or(0, count_addresses) == 0 {
                hits.push(Hit::new("UNDISC_RCPT"));
            }
        }
    }
    let recipients: usize = message
        .all_to()
        .chain(message.all_cc())
        .map(count_addresses)
        .sum();
    if recipients > MANY_RECIPIENTS {
        hits.push(Hit::new("MANY_RECIPIENTS").with_detail(recipients.to_string()));
    }

    if let Some(from_domain) = &from_domain {
        sender_hits(message, facts, from, from_domain, &mut hits);
    }

    if count(HeaderName::ContentType) > 0 && count(HeaderName::MimeVersion) == 0 {
        hits.push(Hit::new("MISSING_MIME_VERSION"));
    }

    for field in ["X-Mailer", "User-Agent"] {
        if let Some(value) = message.header_raw(field) {
            let lower = value.to_lowercase();
            if let Some(tool) = BULK_MAILERS.iter().find(|t| lower.contains(*t)) {
                hits.push(Hit::new("XMAILER_BULK").with_detail(*tool));
                break;
            }
        }
    }
    hits
}

fn date_hits(message: &Message<'_>, now: SystemTime, hits: &mut Vec<Hit>) {
    if message.header_raw(HeaderName::Date).is_none() {
        hits.push(Hit::new("MISSING_DATE"));
        return;
    }
    let Some(date) = message.date().filter(|d| d.is_valid()) else {
        hits.push(Hit::new("INVALID_DATE"));
        return;
    };
    let now = now
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    let sent = date.to_timestamp();
    if sent > now.saturating_add(FUTURE_SECS) {
        hits.push(Hit::new("DATE_IN_FUTURE").with_detail(date.to_rfc3339()));
    } else if sent < now.saturating_sub(PAST_SECS) {
        hits.push(Hit::new("DATE_IN_PAST").with_detail(date.to_rfc3339()));
    }
}

fn subject_hits(subject: Option<&str>, hits: &mut Vec<Hit>) {
    let subject = subject.map(str::trim).unwrap_or_default();
    if subject.is_empty() {
        hits.push(Hit::new("MISSING_SUBJECT"));
        return;
    }
    let upper = subject.chars().filter(|c| c.is_uppercase()).count();
    let lower = subject.chars().filter(|c| c.is_lowercase()).count();
    let words = subject
        .split_whitespace()
        .filter(|w| w.chars().filter(|c| c.is_alphabetic()).count() >= 2)
        .count();
    if lower == 0 && upper >= 10 && words >= 2 {
        hits.push(Hit::new("SUBJ_ALL_CAPS"));
    }
    let bangs = subject.matches('!').count();
    let dollars = subject.matches('$').count();
    if bangs >= 3 || dollars >= 3 {
        hits.push(Hit::new("SUBJ_EXCESS_PUNCT"));
    }
}

fn sender_hits(
    message: &Message<'_>,
    facts: &MessageFacts<'_>,
    from: Option<&mail_parser::Addr<'_>>,
    from_domain: &str,
    hits: &mut Vec<Hit>,
) {
    if facts
        .local_domains
        .iter()
        .any(|d| domain::normalize(d) == from_domain)
    {
        hits.push(Hit::new("FORGED_LOCAL_SENDER").with_detail(from_domain));
    }

    let reply_domain = message
        .reply_to()
        .and_then(|r| r.iter().find_map(|a| a.address()))
        .and_then(domain::of_address);
    if let Some(reply_domain) = reply_domain
        && !domain::same_organization(&reply_domain, from_domain)
    {
        if domain::is_freemail(&reply_domain) && !domain::is_freemail(from_domain) {
            hits.push(Hit::new("FREEMAIL_REPLYTO").with_detail(reply_domain));
        } else if message.header_raw(HeaderName::ListId).is_none() {
            hits.push(Hit::new("REPLYTO_DOM_NEQ_FROM_DOM").with_detail(reply_domain));
        }
    }

    if let Some(name) = from.and_then(|a| a.name())
        && let Some(shown) = address_in(name)
        && let Some(shown_domain) = domain::of_address(&shown)
        && !domain::same_organization(&shown_domain, from_domain)
    {
        hits.push(Hit::new("FROM_NAME_HAS_ADDR_MISMATCH").with_detail(shown));
    }

    if let Some(envelope_domain) = domain::of_address(facts.mail_from)
        && !domain::same_organization(&envelope_domain, from_domain)
    {
        hits.push(Hit::new("MAILFROM_NEQ_FROM_DOM").with_detail(envelope_domain));
    }
}

/// The first thing in `text` that looks like an address (`local@domain.tld`).
fn address_in(text: &str) -> Option<String> {
    text.split(|c: char| {
        c.is_whitespace()
            || matches!(
                c,
                '<' | '>' | '(' | ')' | '"' | '\'' | ',' | ';' | '[' | ']'
            )
    })
    .find(|token| {
        token.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        })
    })
    .map(str::to_lowercase)
}

fn count_addresses(address: &Address<'_>) -> usize {
    address.iter().filter(|a| a.address.is_some()).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_section_ends_at_the_first_empty_line() {
        assert_eq!(
            header_section(b"A: b\r\nC: d\r\n\r\nbody"),
            b"A: b\r\nC: d\r\n"
        );
        assert_eq!(header_section(b"A: b\n\nbody\n\nmore"), b"A: b\n");
        assert_eq!(header_section(b"A: b"), b"A: b");
        assert_eq!(header_section(b"\r\nbody"), b"");
    }

    #[test]
    fn addresses_in_display_names() {
        assert_eq!(
            address_in("Service (Support@Bank.example)").as_deref(),
            Some("support@bank.example")
        );
        assert_eq!(address_in("Alice Example"), None);
        assert_eq!(address_in("@ at me"), None);
        assert_eq!(address_in("a@b"), None);
    }
}
