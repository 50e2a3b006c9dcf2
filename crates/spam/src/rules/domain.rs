//! Domain names as the rules compare them: host names of links and addresses reduced to
//! a "registrable-ish" domain without the Public Suffix List.
//!
//! No symbols of its own. The reduction keeps the last two labels (`mail.example.com` →
//! `example.com`), or three when the second-level label is one of the generic ones
//! country registries put under their TLD (`shop.example.co.uk` → `example.co.uk`,
//! `x.example.com.au` → `example.com.au`). It is wrong for some private suffixes
//! (`user.github.io` → `github.io`), which only makes the comparisons more lenient.

/// Second-level labels under which country registries register names.
const GENERIC_SECOND_LEVEL: &[&str] = &[
    "ac", "co", "com", "edu", "gob", "gov", "go", "govt", "ltd", "me", "mil", "ne", "net", "nic",
    "or", "org", "plc", "sch",
];

/// Freemail providers: a Reply-To at one of these with a From elsewhere is a common
/// fraud pattern (the answer goes to an address anyone can create).
pub(crate) const FREEMAIL: &[&str] = &[
    "126.com",
    "163.com",
    "aol.com",
    "gmail.com",
    "gmx.com",
    "gmx.de",
    "gmx.net",
    "googlemail.com",
    "hotmail.co.uk",
    "hotmail.com",
    "hotmail.fr",
    "icloud.com",
    "live.com",
    "mail.com",
    "mail.ru",
    "me.com",
    "msn.com",
    "outlook.com",
    "proton.me",
    "protonmail.com",
    "qq.com",
    "web.de",
    "yahoo.co.uk",
    "yahoo.com",
    "yahoo.fr",
    "yandex.com",
    "yandex.ru",
    "ymail.com",
    "zoho.com",
];

/// A host name in normal form: lower case, no surrounding space, no trailing dot.
pub(crate) fn normalize(host: &str) -> String {
    host.trim().trim_end_matches('.').to_lowercase()
}

/// The registrable-ish domain of a (normalized) host name; the host itself when it has
/// two labels or fewer.
pub(crate) fn registrable(host: &str) -> &str {
    let labels: Vec<&str> = host.rsplitn(4, '.').collect();
    // labels: [tld, second, third, rest...]
    let keep = match labels.as_slice() {
        [tld, second, _, ..] if tld.len() == 2 && GENERIC_SECOND_LEVEL.contains(second) => 3,
        _ => 2,
    };
    if labels.len() <= keep {
        return host;
    }
    let cut: usize = labels[..keep].iter().map(|l| l.len() + 1).sum();
    &host[host.len() + 1 - cut..]
}

/// The domain of an address (`local@domain`), normalized; `None` without an `@` or
/// with nothing after it.
pub(crate) fn of_address(address: &str) -> Option<String> {
    let address = address.trim().trim_start_matches('<').trim_end_matches('>');
    let (_, domain) = address.rsplit_once('@')?;
    let domain = normalize(domain);
    (!domain.is_empty()).then_some(domain)
}

/// Whether two hosts share their registrable-ish domain.
pub(crate) fn same_organization(a: &str, b: &str) -> bool {
    registrable(a) == registrable(b)
}

/// Whether a host is a freemail provider's.
pub(crate) fn is_freemail(host: &str) -> bool {
    FREEMAIL.contains(&host) || FREEMAIL.contains(&registrable(host))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registrable_keeps_two_labels_or_three_under_a_generic_second_level() {
        for (host, expected) in [
            ("example.com", "example.com"),
            ("mail.example.com", "example.com"),
            ("a.b.c.example.com", "example.com"),
            ("shop.example.co.uk", "example.co.uk"),
            ("example.co.uk", "example.co.uk"),
            ("x.example.com.au", "example.com.au"),
            ("co.uk", "co.uk"),
            ("localhost", "localhost"),
            ("", ""),
            ("a.b.example.museum", "example.museum"),
        ] {
            assert_eq!(registrable(host), expected, "{host}");
        }
    }

    #[test]
    fn address_domains_are_normalized() {
        assert_eq!(
            of_address("<Alice@Mail.Example.COM.>"),
            Some("mail.example.com".to_owned())
        );
        assert_eq!(of_address("alice"), None);
        assert_eq!(of_address("alice@"), None);
    }

    #[test]
    fn freemail_matches_subdomains_too() {
        assert!(is_freemail("gmail.com"));
        assert!(is_freemail("mx.gmail.com"));
        assert!(!is_freemail("example.com"));
    }
}
