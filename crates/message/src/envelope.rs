//! ENVELOPE (RFC 9051 §7.5.2) from a message's header fields.
//!
//! Date, Subject, In-Reply-To and Message-ID are the raw field values (unfolded,
//! trimmed, encoded words left as they are), as RFC 9051 requires. Addresses come from
//! mail-parser's address parser, which has already decoded the display names; a name
//! that is not plain ASCII is written back as an RFC 2047 encoded word
//! (`=?UTF-8?Q?...?=`), so clients see the same form a raw header would give them and
//! IMAP4rev1 clients never get 8-bit octets in a quoted string.

use mail_parser::{Addr, Address, HeaderName, HeaderValue};
use mailstead_imap_proto::{Envelope, EnvelopeAddress};

use crate::tree::Part;

/// The ENVELOPE of the message whose root is `root`.
pub(crate) fn envelope(root: &Part<'_, '_>) -> Envelope {
    let from = addresses(root, &HeaderName::From);
    // RFC 9051 §7.5.2: Sender and Reply-To absent or empty → the From value.
    let or_from = |list: Vec<EnvelopeAddress>| {
        if list.is_empty() { from.clone() } else { list }
    };
    Envelope {
        date: root.raw_value(&HeaderName::Date),
        subject: root.raw_value(&HeaderName::Subject),
        sender: or_from(addresses(root, &HeaderName::Sender)),
        reply_to: or_from(addresses(root, &HeaderName::ReplyTo)),
        to: addresses(root, &HeaderName::To),
        cc: addresses(root, &HeaderName::Cc),
        bcc: addresses(root, &HeaderName::Bcc),
        in_reply_to: root.raw_value(&HeaderName::InReplyTo),
        message_id: root.raw_value(&HeaderName::MessageId),
        from,
    }
}

/// The addresses of the first field named `name`, groups as start/end markers
/// (RFC 9051 §7.5.2: start has the group name as mailbox and a NIL host, end is all NIL).
fn addresses(root: &Part<'_, '_>, name: &HeaderName<'_>) -> Vec<EnvelopeAddress> {
    match root.value(name) {
        Some(HeaderValue::Address(Address::List(list))) => list.iter().map(address).collect(),
        Some(HeaderValue::Address(Address::Group(groups))) => {
            let mut out = Vec::new();
            for group in groups {
                match group.name.as_deref() {
                    Some(group_name) => {
                        out.push(EnvelopeAddress {
                            mailbox: Some(encode_phrase(group_name)),
                            ..EnvelopeAddress::default()
                        });
                        out.extend(group.addresses.iter().map(address));
                        out.push(EnvelopeAddress::default());
                    }
                    // Addresses outside any group.
                    None => out.extend(group.addresses.iter().map(address)),
                }
            }
            out
        }
        _ => Vec::new(),
    }
}

/// One mailbox. A missing domain gives an empty (not NIL) host, so it cannot be read
/// as a group marker; a bare word without an address is taken as the local part.
fn address(addr: &Addr<'_>) -> EnvelopeAddress {
    let name = addr
        .name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty());
    match addr.address.as_deref().map(str::trim) {
        Some(address) => {
            let (mailbox, host) = match address.rfind('@') {
                Some(at) => (&address[..at], &address[at + 1..]),
                None => (address, ""),
            };
            EnvelopeAddress {
                name: name.map(encode_phrase),
                adl: None,
                mailbox: Some(mailbox.to_string()),
                host: Some(host.to_string()),
            }
        }
        None => EnvelopeAddress {
            name: None,
            adl: None,
            mailbox: Some(name.unwrap_or_default().to_string()),
            host: Some(String::new()),
        },
    }
}

/// Longest payload of one encoded word: 75 octets (RFC 2047 §2) less `=?UTF-8?Q?` and
/// `?=`.
const MAX_WORD_PAYLOAD: usize = 75 - 12;

/// `text` as is when it is printable ASCII, else as RFC 2047 `Q` encoded words
/// (RFC 2047 §5 rule 3 for a phrase), split at character boundaries.
pub(crate) fn encode_phrase(text: &str) -> String {
    if text.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return text.to_string();
    }
    let mut words: Vec<String> = Vec::new();
    let mut payload = String::new();
    for ch in text.chars() {
        let mut buf = [0u8; 4];
        let mut encoded = String::new();
        for &b in ch.encode_utf8(&mut buf).as_bytes() {
            match b {
                b' ' => encoded.push('_'),
                b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'!' | b'*' | b'+' | b'-' | b'/' => {
                    encoded.push(char::from(b))
                }
                _ => encoded.push_str(&format!("={b:02X}")),
            }
        }
        if !payload.is_empty() && payload.len() + encoded.len() > MAX_WORD_PAYLOAD {
            words.push(format!("=?UTF-8?Q?{payload}?="));
            payload.clear();
        }
        payload.push_str(&encoded);
    }
    if !payload.is_empty() {
        words.push(format!("=?UTF-8?Q?{payload}?="));
    }
    words.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_phrase_is_kept() {
        assert_eq!(encode_phrase("Doe, John"), "Doe, John");
    }

    #[test]
    fn non_ascii_phrase_becomes_q_encoded_words() {
        assert_eq!(
            encode_phrase("Jörg Weiß"),
            "=?UTF-8?Q?J=C3=B6rg_Wei=C3=9F?="
        );
    }

    #[test]
    fn long_phrase_is_split_into_words_of_at_most_75_octets() {
        let long = "é".repeat(40);
        let encoded = encode_phrase(&long);
        let words: Vec<&str> = encoded.split(' ').collect();
        assert!(words.len() > 1);
        assert!(words.iter().all(|w| w.len() <= 75));
        assert!(
            words
                .iter()
                .all(|w| w.starts_with("=?UTF-8?Q?") && w.ends_with("?="))
        );
    }
}
