//! Content rules: what the message itself, its envelope and its authentication results
//! say about it. Each rule fires a symbol ([`Hit`]); [`WEIGHTS`] gives every symbol's
//! default weight, on a scale where 15 refuses a message and 12 (Mailu's default 80 %)
//! files it in Junk.
//!
//! # Entry points
//!
//! - [`content_hits`] — the message bytes and the SMTP envelope ([`MessageFacts`]):
//!   header anomalies, the forged sender, the HELO name, HTML, links, attachments.
//! - [`auth_hits`] — an [`AuthOutcome`](mailstead_mailauth::AuthOutcome) (SPF, DKIM,
//!   DMARC, ARC, iprev).
//! - [`domains_in`] — the domains of the message's links, for the domain blocklists of
//!   [`crate::dnsbl`].
//!
//! # Symbols
//!
//! | Group | Symbols | Module |
//! |-------|---------|--------|
//! | authentication | `SPF_PASS`, `SPF_FAIL`, `SPF_SOFTFAIL`, `SPF_NONE`, `SPF_TEMPERROR`, `SPF_PERMERROR`, `DKIM_PASS`, `DKIM_ALIGNED`, `DKIM_FAIL`, `DMARC_PASS`, `DMARC_POLICY_REJECT`, `DMARC_POLICY_QUARANTINE`, `DMARC_POLICY_NONE_FAIL`, `ARC_PASS`, `ARC_FAIL`, `IPREV_FAIL`, `IPREV_NONE` | [`auth`] |
//! | header | `MISSING_DATE`, `INVALID_DATE`, `DATE_IN_FUTURE`, `DATE_IN_PAST`, `MISSING_MID`, `INVALID_MSGID`, `MISSING_FROM`, `MULTIPLE_FROM`, `MISSING_SUBJECT`, `SUBJ_ALL_CAPS`, `SUBJ_EXCESS_PUNCT`, `MISSING_TO`, `UNDISC_RCPT`, `MANY_RECIPIENTS`, `REPLYTO_DOM_NEQ_FROM_DOM`, `FREEMAIL_REPLYTO`, `FROM_NAME_HAS_ADDR_MISMATCH`, `MAILFROM_NEQ_FROM_DOM`, `MISSING_MIME_VERSION`, `HEADER_8BIT`, `INVALID_HEADER_8BIT`, `XMAILER_BULK` | [`headers`] |
//! | forged sender | `FORGED_LOCAL_SENDER` | [`headers`] |
//! | HELO | `HELO_BARE_IP`, `HELO_NOT_FQDN`, `HELO_LOCALHOST` | [`headers`] |
//! | HTML | `HTML_ONLY`, `HTML_IMAGE_ONLY` | [`html`] |
//! | links | `URL_IP`, `URL_SHORTENER`, `PHISH_LINK_MISMATCH`, `MANY_URLS`, `URL_DATA`, `URL_JAVASCRIPT`, `URL_PUNYCODE` | [`url`] |
//! | attachments | `ATTACH_EXECUTABLE`, `ATTACH_MACRO`, `ATTACH_DOUBLE_EXT`, `ATTACH_ARCHIVE_EXECUTABLE` | [`attachment`] |
//! | parsing | `PARSE_ERROR`: mail-parser could not read the message, or it has no header field; the header rules are then skipped (what is there cannot be judged), the rest runs on what could be read | here |
//!
//! Each module's documentation says what its symbols mean. A symbol fires at most once
//! per message; its detail names the first thing that matched.
//!
//! # Modules
//!
//! - [`auth`] — [`auth_hits`].
//! - [`headers`] — header fields, the envelope and HELO.
//! - [`html`] — a permissive scan of HTML for links, text and images.
//! - [`url`] — URLs in text and HTML, their hosts, the link rules.
//! - [`attachment`] — file names and ZIP entry names.
//! - `domain` (private) — "registrable-ish" domains without the Public Suffix List.

pub mod attachment;
pub mod auth;
mod domain;
pub mod headers;
pub mod html;
pub mod url;

use std::net::IpAddr;
use std::time::SystemTime;

use mail_parser::{Message, MessageParser, MimeHeaders, PartType};

pub use auth::auth_hits;

use crate::verdict::Hit;

/// Symbols of the rules and their default weights: positive is spammy, negative hammy.
/// Authentication weights follow Rspamd's defaults, raised where Rspamd relies on a
/// separate policy action (DMARC) that mailstead folds into the score.
pub const WEIGHTS: &[(&str, f64)] = &[
    // Authentication.
    ("SPF_PASS", -0.2),
    ("SPF_FAIL", 2.0),
    ("SPF_SOFTFAIL", 0.5),
    ("SPF_NONE", 0.3),
    ("SPF_TEMPERROR", 0.2),
    ("SPF_PERMERROR", 0.5),
    ("DKIM_PASS", -0.2),
    ("DKIM_ALIGNED", -1.0),
    ("DKIM_FAIL", 1.0),
    ("DMARC_PASS", -1.0),
    ("DMARC_POLICY_REJECT", 6.0),
    ("DMARC_POLICY_QUARANTINE", 3.5),
    ("DMARC_POLICY_NONE_FAIL", 0.5),
    ("ARC_PASS", -0.5),
    ("ARC_FAIL", 1.0),
    ("IPREV_FAIL", 1.0),
    ("IPREV_NONE", 1.5),
    // Header fields.
    ("MISSING_DATE", 1.0),
    ("INVALID_DATE", 1.5),
    ("DATE_IN_FUTURE", 3.0),
    ("DATE_IN_PAST", 1.0),
    ("MISSING_MID", 1.5),
    ("INVALID_MSGID", 1.0),
    ("MISSING_FROM", 3.0),
    ("MULTIPLE_FROM", 4.0),
    ("MISSING_SUBJECT", 1.0),
    ("SUBJ_ALL_CAPS", 1.5),
    ("SUBJ_EXCESS_PUNCT", 1.5),
    ("MISSING_TO", 1.0),
    ("UNDISC_RCPT", 1.5),
    ("MANY_RECIPIENTS", 1.0),
    ("REPLYTO_DOM_NEQ_FROM_DOM", 1.0),
    ("FREEMAIL_REPLYTO", 2.0),
    ("FROM_NAME_HAS_ADDR_MISMATCH", 4.0),
    ("MAILFROM_NEQ_FROM_DOM", 0.5),
    ("MISSING_MIME_VERSION", 1.5),
    ("HEADER_8BIT", 0.5),
    ("INVALID_HEADER_8BIT", 1.5),
    ("XMAILER_BULK", 1.0),
    // Forged sender.
    ("FORGED_LOCAL_SENDER", 10.0),
    // HELO.
    ("HELO_BARE_IP", 2.0),
    ("HELO_NOT_FQDN", 1.5),
    ("HELO_LOCALHOST", 2.5),
    // HTML.
    ("HTML_ONLY", 0.5),
    ("HTML_IMAGE_ONLY", 2.0),
    // Links.
    ("URL_IP", 2.5),
    ("URL_SHORTENER", 1.0),
    ("PHISH_LINK_MISMATCH", 5.0),
    ("MANY_URLS", 0.5),
    ("URL_DATA", 1.5),
    ("URL_JAVASCRIPT", 3.0),
    ("URL_PUNYCODE", 2.0),
    // Attachments.
    ("ATTACH_EXECUTABLE", 6.0),
    ("ATTACH_MACRO", 3.0),
    ("ATTACH_DOUBLE_EXT", 4.0),
    ("ATTACH_ARCHIVE_EXECUTABLE", 5.0),
    // Parsing.
    ("PARSE_ERROR", 1.0),
];

/// `HTML_IMAGE_ONLY` fires for HTML with an image and fewer visible characters than
/// this.
pub const IMAGE_ONLY_MAX_TEXT: usize = 100;

/// What the content rules look at: the message and its SMTP envelope.
///
/// The rules are for mail that came in from outside without authentication (the MX);
/// submissions of our own users are not judged.
#[derive(Debug, Clone, Copy)]
pub struct MessageFacts<'a> {
    /// The whole message (header and body) as received.
    pub message: &'a [u8],
    /// The MAIL FROM address, `""` for the null reverse path.
    pub mail_from: &'a str,
    /// The HELO/EHLO name the client gave (`""` when unknown: no HELO rule fires).
    pub helo: &'a str,
    /// The client's address.
    pub remote_ip: IpAddr,
    /// Our own domains: a From in one of them, in mail from outside, is forged
    /// (`FORGED_LOCAL_SENDER`). Compared case-insensitively, subdomains not included.
    pub local_domains: &'a [String],
}

/// The symbols of the message and its envelope (every rule but the authentication
/// ones), judged now: [`content_hits_at`] with the current time. Never panics, whatever
/// the bytes.
pub fn content_hits(facts: &MessageFacts<'_>) -> Vec<Hit> {
    content_hits_at(facts, SystemTime::now())
}

/// [`content_hits`] for a message received at `now`: the `Date` rules compare with it
/// (so tests, and a message rescored later, do not depend on the clock).
pub fn content_hits_at(facts: &MessageFacts<'_>, now: SystemTime) -> Vec<Hit> {
    let mut hits = headers::helo_hits(facts.helo, facts.remote_ip);
    hits.extend(headers::encoding_hits(headers::header_section(
        facts.message,
    )));
    let Some(message) = MessageParser::default().parse(facts.message) else {
        hits.push(Hit::new("PARSE_ERROR").with_detail("unparseable"));
        return hits;
    };
    if message.headers().is_empty() {
        hits.push(Hit::new("PARSE_ERROR").with_detail("no header fields"));
    } else {
        hits.extend(headers::hits(&message, facts, now));
    }
    hits.extend(body_hits(&message));
    hits.extend(attachment::hits(&message));
    hits
}

/// The body parts that are read as text: text and HTML parts that are not attachments.
enum Body<'m> {
    Text(&'m str),
    Html(&'m str),
}

fn bodies<'m>(message: &'m Message<'_>) -> Vec<Body<'m>> {
    message
        .parts
        .iter()
        .filter(|part| {
            !part
                .content_disposition()
                .is_some_and(|d| d.is_attachment())
        })
        .filter_map(|part| match &part.body {
            PartType::Text(text) => Some(Body::Text(text.as_ref())),
            PartType::Html(html) => Some(Body::Html(html.as_ref())),
            _ => None,
        })
        .collect()
}

/// HTML and link symbols.
fn body_hits(message: &Message<'_>) -> Vec<Hit> {
    let mut hits = Vec::new();
    let mut links = Vec::new();
    let mut urls = Vec::new();
    let (mut has_plain, mut has_html) = (false, false);
    let (mut html_text, mut images) = (0usize, 0usize);
    for body in bodies(message) {
        match body {
            Body::Text(text) => {
                has_plain = true;
                url::urls_in_text(text, &mut urls);
            }
            Body::Html(html) => {
                has_html = true;
                let scanned = html::scan(html);
                html_text += scanned.text.chars().filter(|c| !c.is_whitespace()).count();
                images += scanned.images;
                urls.extend(scanned.urls);
                url::urls_in_text(&scanned.text, &mut urls);
                links.extend(scanned.links);
            }
        }
    }
    if has_html && !has_plain {
        hits.push(Hit::new("HTML_ONLY"));
    }
    if has_html && images > 0 && html_text < IMAGE_ONLY_MAX_TEXT {
        hits.push(Hit::new("HTML_IMAGE_ONLY").with_detail(format!("{html_text} characters")));
    }
    hits.extend(url::hits(&links, &urls));
    hits
}

/// The registrable-ish domains (see the `domain` module: `www.shop.example.co.uk` →
/// `example.co.uk`) of the web links in the text and HTML parts, in ASCII (IDNA), in
/// order of appearance, without duplicates and addresses, at most `limit`: what the
/// domain blocklists of [`crate::dnsbl`] are asked about. A message mail-parser cannot
/// read is searched as text.
pub fn domains_in(message: &[u8], limit: usize) -> Vec<String> {
    let mut urls = Vec::new();
    match MessageParser::default().parse(message) {
        Some(parsed) => {
            for body in bodies(&parsed) {
                match body {
                    Body::Text(text) => url::urls_in_text(text, &mut urls),
                    Body::Html(html) => {
                        let scanned = html::scan(html);
                        urls.extend(scanned.urls);
                        url::urls_in_text(&scanned.text, &mut urls);
                    }
                }
            }
        }
        None => url::urls_in_text(&String::from_utf8_lossy(message), &mut urls),
    }
    let mut domains: Vec<String> = Vec::new();
    for url in &urls {
        if domains.len() >= limit {
            break;
        }
        if let Some(domain) = url::blocklist_domain(url)
            && !domains.contains(&domain)
        {
            domains.push(domain);
        }
    }
    domains
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_have_unique_upper_case_names() {
        let mut seen = std::collections::HashSet::new();
        for (name, _) in WEIGHTS {
            assert!(
                name.bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_'),
                "{name}"
            );
            assert!(seen.insert(*name), "{name} twice");
        }
    }
}
