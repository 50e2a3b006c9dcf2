//! Links in the message: the URLs of HTML attributes and the URLs written in text, their
//! host names, and the suspicious ones.
//!
//! | Symbol | Meaning |
//! |--------|---------|
//! | `URL_IP` | a link to an IP address instead of a name (`http://192.0.2.1/`, also the decimal and hex spellings `http://3221225985/`, `http://0xC0.0.2.1/`) |
//! | `URL_SHORTENER` | a link through a URL shortener (bit.ly, tinyurl.com, …), hiding where it goes |
//! | `PHISH_LINK_MISMATCH` | a link whose text shows a URL or domain of another organization than the one it goes to (`<a href="http://evil.example">https://bank.example</a>`); links through the click-tracking domains of common mailing services are exempt |
//! | `MANY_URLS` | more than [`MANY_URLS`] distinct URLs |
//! | `URL_DATA` | a link (not an image) to a `data:` URL: a page carried in the message, out of reach of URL blocklists |
//! | `URL_JAVASCRIPT` | a `javascript:` link |
//! | `URL_PUNYCODE` | a link host with a punycode (`xn--`) label or non-ASCII characters: a look-alike of a familiar name (`pаypal.com` with a Cyrillic `а`) |
//!
//! Each fires at most once per message, with the first URL that matched as detail.

use std::net::IpAddr;

use super::domain;
use super::html::Link;
use crate::verdict::Hit;

/// `MANY_URLS` fires above this many distinct URLs.
pub const MANY_URLS: usize = 50;

/// At most this many URLs are read from the text of one part.
const MAX_TEXT_URLS: usize = 1000;

/// URL shorteners.
const SHORTENERS: &[&str] = &[
    "adf.ly",
    "bit.do",
    "bit.ly",
    "bitly.com",
    "buff.ly",
    "cutt.ly",
    "goo.gl",
    "is.gd",
    "ow.ly",
    "rb.gy",
    "rebrand.ly",
    "s.id",
    "shorte.st",
    "shorturl.at",
    "t.co",
    "t.ly",
    "tiny.cc",
    "tinyurl.com",
    "v.gd",
];

/// Click-tracking domains of mailing services: their links legitimately show one domain
/// and go to another.
const REDIRECTORS: &[&str] = &[
    "list-manage.com",
    "mailchi.mp",
    "mandrillapp.com",
    "mailgun.org",
    "mcsv.net",
    "rs6.net",
    "sendgrid.net",
    "sparkpostmail.com",
    "exct.net",
    "hubspotlinks.com",
    "awstrack.me",
    "safelinks.protection.outlook.com",
    "urldefense.com",
];

/// Top-level domains common enough that a bare `name.tld` in link text is read as a
/// domain (with a scheme or `www.` any TLD is).
const COMMON_TLDS: &[&str] = &[
    "com", "net", "org", "info", "biz", "io", "co", "me", "us", "uk", "de", "fr", "it", "es", "nl",
    "be", "ch", "at", "ru", "cn", "jp", "br", "ca", "au", "in", "eu", "gov", "edu",
];

/// Appends the URLs written in `text` (`http://…`, `https://…`, `www.…`) to `out`.
pub(crate) fn urls_in_text(text: &str, out: &mut Vec<String>) {
    // ASCII lower-casing keeps byte offsets, so positions in `lower` are positions in
    // `text`.
    let lower = text.to_ascii_lowercase();
    let ends_url =
        |c: char| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | '"' | '\'' | '`');
    let mut found = 0;
    let mut token_start = None;
    // Each token (a run between URL-ending characters) holds at most one URL; every
    // token is searched once per prefix, so the scan stays linear.
    for (at, c) in lower.char_indices().chain([(lower.len(), ' ')]) {
        if !ends_url(c) {
            token_start.get_or_insert(at);
            continue;
        }
        let Some(start) = token_start.take() else {
            continue;
        };
        let token = &lower[start..at];
        let url_start = ["http://", "https://", "www."]
            .iter()
            .filter_map(|prefix| {
                token
                    .match_indices(prefix)
                    .map(|(k, _)| k)
                    .find(|&k| k == 0 || !continues_word(token.as_bytes()[k - 1]))
            })
            .min();
        if let Some(k) = url_start {
            let url =
                text[start + k..at].trim_end_matches(['.', ',', ';', ':', '!', '?', ')', ']', '}']);
            if host_of(url).is_some() {
                out.push(url.to_owned());
                found += 1;
                if found >= MAX_TEXT_URLS {
                    return;
                }
            }
        }
    }
}

/// Whether a character before `http://` or `www.` makes it part of something else
/// (`xwww.`, `a@www.`).
fn continues_word(before: u8) -> bool {
    before.is_ascii_alphanumeric() || matches!(before, b'.' | b'-' | b'/' | b'_' | b'@')
}

/// The host of a web URL (`scheme://host…`, `//host…` or `www.host…`), normalized
/// (lower case, no trailing dot, IPv6 literals in brackets); `None` for other URLs
/// (`mailto:`, `cid:`, `data:`, relative ones).
pub(crate) fn host_of(url: &str) -> Option<String> {
    let url = url.trim();
    let rest = if let Some((scheme, rest)) = url.split_once("://") {
        let scheme_ok = !scheme.is_empty()
            && scheme.len() <= 10
            && scheme
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
        if !scheme_ok {
            return None;
        }
        rest
    } else if let Some(rest) = url.strip_prefix("//") {
        rest
    } else if url.len() > 4 && url.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("www.")) {
        url
    } else {
        return None;
    };
    let authority = rest.split(['/', '?', '#', '\\']).next().unwrap_or_default();
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if host_port.starts_with('[') {
        host_port.split_inclusive(']').next().unwrap_or_default()
    } else {
        host_port.split(':').next().unwrap_or_default()
    };
    let host = domain::normalize(host);
    (!host.is_empty()).then_some(host)
}

/// Whether a host is an address: an IPv6 literal, or a dotted/decimal/hex IPv4 (a host
/// whose last label is a number can only be an address: no TLD is numeric).
pub(crate) fn is_ip_host(host: &str) -> bool {
    if host.starts_with('[') {
        return true;
    }
    let last = host.rsplit('.').next().unwrap_or_default();
    let numeric = |label: &str| match label.strip_prefix("0x") {
        Some(hex) => !hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit()),
        None => !label.is_empty() && label.bytes().all(|b| b.is_ascii_digit()),
    };
    numeric(last) || host.parse::<IpAddr>().is_ok()
}

/// Whether a host has a punycode label or non-ASCII characters.
pub(crate) fn is_punycode(host: &str) -> bool {
    !host.is_ascii() || host.split('.').any(|label| label.starts_with("xn--"))
}

fn is_listed(host: &str, list: &[&str]) -> bool {
    list.iter()
        .any(|d| host == *d || host.strip_suffix(d).is_some_and(|h| h.ends_with('.')))
}

/// The host a link's text shows, if it shows one: a URL, `www.…`, or a bare domain with
/// a common TLD (`paypal.com/login`).
pub(crate) fn shown_host(text: &str) -> Option<String> {
    let text = text.trim();
    if text.is_empty() || text.contains(char::is_whitespace) {
        return None;
    }
    if let Some(host) = host_of(text) {
        return Some(host);
    }
    let candidate = text.split(['/', '?', '#']).next().unwrap_or_default();
    let candidate = domain::normalize(candidate);
    let labels: Vec<&str> = candidate.split('.').collect();
    let looks_like_domain = labels.len() >= 2
        && labels
            .iter()
            .all(|l| !l.is_empty() && l.chars().all(|c| c.is_alphanumeric() || c == '-'))
        && labels.last().is_some_and(|tld| COMMON_TLDS.contains(tld));
    looks_like_domain.then_some(candidate)
}

/// The URL symbols of a message with these links and URLs (`urls` includes the links'
/// targets).
pub(crate) fn hits(links: &[Link], urls: &[String]) -> Vec<Hit> {
    let mut hits = Vec::new();
    let fire = |hits: &mut Vec<Hit>, name: &'static str, detail: &str| {
        if !hits.iter().any(|h: &Hit| h.name == name) {
            hits.push(Hit::new(name).with_detail(detail));
        }
    };
    let mut distinct: Vec<&str> = Vec::new();
    for url in urls {
        if distinct.len() <= MANY_URLS && !distinct.contains(&url.as_str()) {
            distinct.push(url);
        }
        let Some(host) = host_of(url) else {
            continue;
        };
        if is_ip_host(&host) {
            fire(&mut hits, "URL_IP", &host);
        } else {
            if is_listed(&host, SHORTENERS) {
                fire(&mut hits, "URL_SHORTENER", &host);
            }
            if is_punycode(&host) {
                fire(&mut hits, "URL_PUNYCODE", &host);
            }
        }
    }
    if distinct.len() > MANY_URLS {
        fire(&mut hits, "MANY_URLS", &format!("more than {MANY_URLS}"));
    }
    for link in links {
        let scheme: String = link
            .href
            .chars()
            .filter(|c| !c.is_whitespace() && !c.is_control())
            .take(11)
            .collect::<String>()
            .to_ascii_lowercase();
        if scheme.starts_with("data:") {
            fire(&mut hits, "URL_DATA", "data:");
        } else if scheme.starts_with("javascript:") {
            fire(&mut hits, "URL_JAVASCRIPT", "javascript:");
        }
        let (Some(target), Some(shown)) = (host_of(&link.href), shown_host(&link.text)) else {
            continue;
        };
        if is_listed(&target, REDIRECTORS) {
            continue;
        }
        if !domain::same_organization(&target, &shown) {
            fire(
                &mut hits,
                "PHISH_LINK_MISMATCH",
                &format!("{shown} -> {target}"),
            );
        }
    }
    hits
}

/// The registrable-ish domain of a URL's host for domain blocklists: ASCII (IDNA), and
/// `None` for addresses and hosts that are no domain.
pub(crate) fn blocklist_domain(url: &str) -> Option<String> {
    let host = host_of(url)?;
    if is_ip_host(&host) {
        return None;
    }
    let ascii = if host.is_ascii() {
        host
    } else {
        idna::domain_to_ascii(&host).ok()?
    };
    let registrable = domain::registrable(&ascii);
    let valid = registrable.contains('.')
        && registrable
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'));
    valid.then(|| registrable.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_of_urls() {
        for (url, host) in [
            ("https://Example.COM/path", Some("example.com")),
            (
                "http://user:pw@bank.example@evil.example:8080/x",
                Some("evil.example"),
            ),
            ("HTTP://www.example.org.?q", Some("www.example.org")),
            ("//cdn.example/x.js", Some("cdn.example")),
            ("www.example.net/login", Some("www.example.net")),
            ("http://[2001:db8::1]:80/", Some("[2001:db8::1]")),
            ("http://192.0.2.1\\@x/", Some("192.0.2.1")),
            ("mailto:a@example.com", None),
            ("cid:part1", None),
            ("javascript:alert(1)", None),
            ("/relative", None),
            ("http:///", None),
            ("weird scheme://x", None),
        ] {
            assert_eq!(host_of(url).as_deref(), host, "{url}");
        }
    }

    #[test]
    fn urls_are_found_in_text() {
        let mut urls = Vec::new();
        urls_in_text(
            "See https://example.com/a, or (www.example.org). Not xwww.no.example; mail a@www.x \
             HTTP://Caps.example/Path! and http://é.example/ü",
            &mut urls,
        );
        assert_eq!(
            urls,
            vec![
                "https://example.com/a",
                "www.example.org",
                "HTTP://Caps.example/Path",
                "http://é.example/ü"
            ]
        );
    }

    #[test]
    fn ip_hosts_include_obfuscated_spellings() {
        for host in [
            "192.0.2.1",
            "3221225985",
            "0xc0.0.2.1",
            "0xc0000201",
            "[::1]",
        ] {
            assert!(is_ip_host(host), "{host}");
        }
        for host in ["example.com", "1.example.com", "123.example"] {
            assert!(!is_ip_host(host), "{host}");
        }
    }

    #[test]
    fn shown_hosts() {
        assert_eq!(
            shown_host("https://bank.example/login").as_deref(),
            Some("bank.example")
        );
        assert_eq!(
            shown_host(" www.bank.example ").as_deref(),
            Some("www.bank.example")
        );
        assert_eq!(
            shown_host("PayPal.com/signin").as_deref(),
            Some("paypal.com")
        );
        assert_eq!(shown_host("Click here"), None);
        assert_eq!(shown_host("report.pdf"), None);
        assert_eq!(shown_host(""), None);
    }

    #[test]
    fn blocklist_domains_are_ascii_and_registrable() {
        assert_eq!(
            blocklist_domain("https://a.b.Example.co.uk/x").as_deref(),
            Some("example.co.uk")
        );
        assert_eq!(
            blocklist_domain("http://bücher.example/").as_deref(),
            Some("xn--bcher-kva.example")
        );
        assert_eq!(blocklist_domain("http://192.0.2.1/"), None);
        assert_eq!(blocklist_domain("http://localhost/"), None);
    }
}
