//! DKIM signing of outgoing mail (RFC 6376 §5), with keys parsed once.
//!
//! Choices: relaxed/relaxed canonicalization (RFC 6376 §3.4.2, §3.4.4; survives the
//! whitespace and header-folding changes relays make), `t=` set, no `l=` (RFC 6376 §8.2:
//! a length limit lets anyone append content) and no `x=` (a signature that expires would
//! fail re-verification of stored mail, e.g. by a forwarding list, for no security gain).
//! `h=` lists [`SIGNED_HEADERS`] as `mail-auth` writes it: the fields present, bottom-up,
//! then the ones absent, which RFC 6376 §5.4.2 allows and which keeps anyone from adding
//! such a field later without breaking the signature.

use std::fmt;

use mail_auth::common::crypto::{Ed25519Key, RsaKey, Sha256};
use mail_auth::common::headers::HeaderWriter as _;
use mail_auth::dkim::{Canonicalization, DkimSigner, Done, Signature};
use rustls_pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

use crate::error::DkimError;
use crate::key::KeyType;

/// The header fields signed: RFC 6376 §5.4.1's recommended list plus `Message-ID`,
/// `MIME-Version`, `Content-Type` and `Content-Transfer-Encoding` (the MIME fields decide
/// how the body is read, so leaving them out would let a relay change its meaning).
pub const SIGNED_HEADERS: &[&str] = &[
    "From",
    "Reply-To",
    "Subject",
    "Date",
    "To",
    "Cc",
    "Resent-Date",
    "Resent-From",
    "Resent-To",
    "Resent-Cc",
    "In-Reply-To",
    "References",
    "List-Id",
    "List-Help",
    "List-Unsubscribe",
    "List-Subscribe",
    "List-Post",
    "List-Owner",
    "List-Archive",
    "Message-ID",
    "MIME-Version",
    "Content-Type",
    "Content-Transfer-Encoding",
];

/// One key to sign with, as stored.
#[derive(Clone)]
pub struct SigningKey {
    /// The signing domain, `d=` (RFC 6376 §3.5), in the form published in DNS.
    pub domain: String,
    /// The selector, `s=`: the key is published at `<selector>._domainkey.<domain>`.
    pub selector: String,
    /// The algorithm of `private_pkcs8`.
    pub key_type: KeyType,
    /// PKCS#8 DER private key, as [`generate_key`](crate::generate_key) makes it.
    pub private_pkcs8: Vec<u8>,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("domain", &self.domain)
            .field("selector", &self.selector)
            .field("key_type", &self.key_type)
            .field("private_pkcs8", &"<redacted>")
            .finish()
    }
}

/// Keys parsed once, reused for many messages (parsing an RSA key is costly).
///
/// `Send + Sync`: share one behind an `Arc` between delivery tasks, and build a new one when
/// the keys change.
pub struct Signer {
    keys: Vec<ParsedKey>,
}

/// A parsed key with its `DKIM-Signature` template.
struct ParsedKey {
    domain: String,
    selector: String,
    signer: KeySigner,
}

enum KeySigner {
    Rsa(DkimSigner<RsaKey<Sha256>, Done>),
    Ed25519(DkimSigner<Ed25519Key, Done>),
}

impl Signer {
    /// Parses the keys; an unreadable key is an error naming its selector, and so is a
    /// selector or domain that cannot go into a `DKIM-Signature` tag.
    ///
    /// aws-lc-rs refuses RSA keys under 2048 bits; [`generate_key`](crate::generate_key)
    /// makes 2048-bit ones.
    pub fn new(keys: &[SigningKey]) -> Result<Signer, DkimError> {
        let keys = keys.iter().map(parse_key).collect::<Result<_, _>>()?;
        Ok(Signer { keys })
    }

    /// The `DKIM-Signature:` header fields (each ending in CRLF, folded as `mail-auth` folds
    /// them), one per key, in key order, to prepend to `message`. `message` is the whole
    /// message in wire form (CRLF line ends, not dot-stuffed). relaxed/relaxed
    /// canonicalization, `a=rsa-sha256` / `ed25519-sha256`, `t=` set to now, no `l=`, no
    /// `x=`. An empty key list gives an empty Vec.
    ///
    /// A message without a `From` header field is [`DkimError::MissingFrom`] (RFC 6376
    /// §5.4: "The From header field MUST be signed").
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, DkimError> {
        if self.keys.is_empty() {
            return Ok(Vec::new());
        }
        if !has_from_field(message) {
            return Err(DkimError::MissingFrom);
        }
        let mut fields = Vec::with_capacity(self.keys.len() * 512);
        for key in &self.keys {
            let signature: Signature = match &key.signer {
                KeySigner::Rsa(signer) => signer.sign(message),
                KeySigner::Ed25519(signer) => signer.sign(message),
            }
            .map_err(|source| DkimError::Signing {
                selector: key.selector.clone(),
                domain: key.domain.clone(),
                source,
            })?;
            signature.write_header(&mut fields);
        }
        Ok(fields)
    }
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut list = f.debug_list();
        for key in &self.keys {
            let key_type = match key.signer {
                KeySigner::Rsa(_) => KeyType::Rsa,
                KeySigner::Ed25519(_) => KeyType::Ed25519,
            };
            list.entry(&format_args!(
                "{}._domainkey.{} ({key_type})",
                key.selector, key.domain
            ));
        }
        list.finish()
    }
}

fn parse_key(key: &SigningKey) -> Result<ParsedKey, DkimError> {
    let invalid = |reason| DkimError::InvalidName {
        selector: key.selector.clone(),
        domain: key.domain.clone(),
        reason,
    };
    // RFC 6376 §3.5: `s=` is `selector` (sub-domain *("." sub-domain)), `d=` a
    // domain-name. Reject what would break the tag-list syntax or the DNS name; finer
    // checks are the store's, which owns domains.
    if !is_dns_name(&key.selector, true) {
        return Err(invalid(
            "the selector is not a dns name of letters, digits, '-' and '_'",
        ));
    }
    if !is_dns_name(&key.domain, false) {
        return Err(invalid("the domain is not a dns name"));
    }
    let unreadable = |source| DkimError::KeyUnreadable {
        selector: key.selector.clone(),
        domain: key.domain.clone(),
        key_type: key.key_type,
        source,
    };
    let signer = match key.key_type {
        KeyType::Rsa => {
            let der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.private_pkcs8.as_slice()));
            let rsa = RsaKey::<Sha256>::from_key_der(der).map_err(unreadable)?;
            KeySigner::Rsa(template(DkimSigner::from_key(rsa), key))
        }
        KeyType::Ed25519 => {
            let ed = Ed25519Key::from_pkcs8_der(&key.private_pkcs8).map_err(unreadable)?;
            KeySigner::Ed25519(template(DkimSigner::from_key(ed), key))
        }
    };
    Ok(ParsedKey {
        domain: key.domain.clone(),
        selector: key.selector.clone(),
        signer,
    })
}

/// The signature template shared by both algorithms.
fn template<T: mail_auth::common::crypto::SigningKey>(
    signer: DkimSigner<T>,
    key: &SigningKey,
) -> DkimSigner<T, Done> {
    signer
        .domain(key.domain.as_str())
        .selector(key.selector.as_str())
        .headers(SIGNED_HEADERS.iter().copied())
        .header_canonicalization(Canonicalization::Relaxed)
        .body_canonicalization(Canonicalization::Relaxed)
}

/// Whether `name` is dot-separated non-empty labels of ASCII letters, digits, `-` (and `_`
/// when `underscore`), or, for a domain, non-ASCII (a U-label, RFC 8616 §4).
fn is_dns_name(name: &str, selector: bool) -> bool {
    let name = name.strip_suffix('.').unwrap_or(name);
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label.chars().all(|c| {
                    c.is_ascii_alphanumeric()
                        || c == '-'
                        || (selector && c == '_')
                        || (!selector && !c.is_ascii())
                })
        })
}

/// Whether the header section of `message` has a `From` field, found exactly the way
/// `mail-auth` finds the fields it signs (its `HeaderIterator`, which is private, ported
/// below), so that a message passes this check exactly when its `From` gets signed.
fn has_from_field(message: &[u8]) -> bool {
    let mut start = 0;
    loop {
        match scan_field(message, start) {
            FieldScan::Named { colon, end } => {
                if message
                    .get(start..colon)
                    .is_some_and(|name| name.eq_ignore_ascii_case(b"From"))
                {
                    return true;
                }
                start = end;
            }
            FieldScan::Unnamed { end } => start = end,
            FieldScan::End => return false,
        }
    }
}

/// One step of `mail-auth`'s header scanner.
enum FieldScan {
    /// A field `name:value`, the value running to `end` (past its CRLF and continuations).
    Named { colon: usize, end: usize },
    /// A line without a colon ending in a bare LF: skipped.
    Unnamed { end: usize },
    /// The empty line, a colon-less line ending in CRLF, or the end of the message (a
    /// field without a final line end does not count).
    End,
}

/// mail-auth 0.13 `common/headers.rs` `scan_field`, from a field's first byte `start`.
fn scan_field(message: &[u8], start: usize) -> FieldScan {
    let mut cur = start;
    while let Some(rest) = message.get(cur..) {
        let Some(offset) = rest.iter().position(|&b| b == b':' || b == b'\n') else {
            break;
        };
        let pos = cur + offset;
        if rest.get(offset) == Some(&b':') {
            return scan_value(message, pos);
        }
        if (offset > 0 && rest.get(offset - 1) == Some(&b'\r')) || pos == start {
            return FieldScan::End;
        }
        match message.get(pos + 1) {
            Some(b' ' | b'\t') => cur = pos + 1,
            _ => return FieldScan::Unnamed { end: pos + 1 },
        }
    }
    FieldScan::End
}

/// mail-auth 0.13 `scan_value`: the value after `colon` runs to the first LF not followed
/// by folding whitespace.
fn scan_value(message: &[u8], colon: usize) -> FieldScan {
    let mut cur = colon + 1;
    while let Some(rest) = message.get(cur..) {
        let Some(offset) = rest.iter().position(|&b| b == b'\n') else {
            break;
        };
        let pos = cur + offset;
        match message.get(pos + 1) {
            Some(b' ' | b'\t') => cur = pos + 1,
            _ => {
                return FieldScan::Named {
                    colon,
                    end: pos + 1,
                };
            }
        }
    }
    FieldScan::End
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ed25519_key(selector: &str) -> SigningKey {
        let generated = crate::generate_key(KeyType::Ed25519).expect("ed25519 generation");
        SigningKey {
            domain: "example.org".into(),
            selector: selector.into(),
            key_type: KeyType::Ed25519,
            private_pkcs8: generated.private_pkcs8,
        }
    }

    #[test]
    fn signer_is_send_and_sync() {
        fn assert_bounds<T: Send + Sync>() {}
        assert_bounds::<Signer>();
    }

    #[test]
    fn signing_key_debug_does_not_print_the_key() {
        let key = ed25519_key("s1");
        let debug = format!("{key:?}");
        assert!(
            debug.contains("s1") && debug.contains("example.org"),
            "{debug}"
        );
        assert!(debug.contains("<redacted>"), "{debug}");
        assert!(
            !debug.contains(&format!("{:?}", key.private_pkcs8)),
            "{debug}"
        );
        // Not even a fragment of the bytes, in decimal as `Vec<u8>`'s Debug would show them.
        let fragment = format!("{:?}", &key.private_pkcs8[16..24]);
        assert!(
            !debug.contains(fragment.trim_matches(['[', ']'])),
            "{debug}"
        );
        let signer = Signer::new(&[key]).expect("valid key");
        assert_eq!(
            format!("{signer:?}"),
            "[s1._domainkey.example.org (ed25519)]"
        );
    }

    #[test]
    fn garbage_key_is_unreadable_and_named_by_selector() {
        for key_type in [KeyType::Rsa, KeyType::Ed25519] {
            let key = SigningKey {
                domain: "example.org".into(),
                selector: "broken2026".into(),
                key_type,
                private_pkcs8: b"not a key".to_vec(),
            };
            let err = Signer::new(&[ed25519_key("good"), key]).expect_err("garbage key");
            assert!(
                matches!(&err, DkimError::KeyUnreadable { selector, .. } if selector == "broken2026"),
                "{err:?}"
            );
            assert!(err.to_string().contains("broken2026"), "{err}");
            assert!(std::error::Error::source(&err).is_some());
        }
    }

    #[test]
    fn ed25519_key_labelled_rsa_is_unreadable() {
        let mut key = ed25519_key("mislabelled");
        key.key_type = KeyType::Rsa;
        let err = Signer::new(&[key]).expect_err("wrong algorithm");
        assert!(err.to_string().contains("mislabelled"), "{err}");
    }

    #[test]
    fn selector_or_domain_that_breaks_the_tag_list_is_rejected() {
        for (selector, domain) in [
            ("", "example.org"),
            ("a;b", "example.org"),
            ("a b", "example.org"),
            ("a..b", "example.org"),
            ("ok", ""),
            ("ok", "exa mple.org"),
            ("ok", "example.org; x=1"),
            ("ok", "under_score.example"),
        ] {
            let mut key = ed25519_key(selector);
            key.domain = domain.into();
            let err = Signer::new(&[key]).expect_err("invalid name");
            assert!(
                matches!(err, DkimError::InvalidName { .. }),
                "{selector:?} {domain:?}: {err:?}"
            );
        }
        for (selector, domain) in [
            ("ms20261123e-2", "mail.example.org"),
            ("a_b.c", "bücher.example"),
        ] {
            let mut key = ed25519_key(selector);
            key.domain = domain.into();
            Signer::new(&[key]).expect("valid name");
        }
    }

    #[test]
    fn empty_key_list_signs_nothing() {
        let signer = Signer::new(&[]).expect("no keys");
        assert_eq!(
            signer
                .sign(b"From: a@example.org\r\n\r\nhi\r\n")
                .expect("sign"),
            b""
        );
        assert_eq!(signer.sign(b"no headers at all").expect("sign"), b"");
    }

    #[test]
    fn message_without_from_is_refused() {
        let signer = Signer::new(&[ed25519_key("s1")]).expect("valid key");
        for message in [
            &b"To: b@example.com\r\nSubject: hi\r\n\r\nFrom: in the body\r\n"[..],
            b"",
            b"\r\nFrom: a@example.org\r\n",
            b"Subject: x\r\n From: folded into the subject\r\n\r\nhi\r\n",
            b"Sender: a@example.org\r\nFromage: brie\r\n\r\n",
            // A field without a line end is not a field to mail-auth, so it would not sign it.
            b"From: a@example.org",
            b" folded\r\nFrom: a@example.org\r\n\r\n",
            b"Garbage line\r\nFrom: a@example.org\r\n\r\n",
        ] {
            let err = signer.sign(message).expect_err("no From");
            assert!(matches!(err, DkimError::MissingFrom), "{err:?}");
        }
    }

    #[test]
    fn from_is_found_in_any_case_and_position() {
        for message in [
            &b"From: a@example.org\r\n\r\nhi\r\n"[..],
            b"To: b@example.com\r\nfrom: a@example.org\r\n\r\nhi\r\n",
            b"Subject: folded\r\n over two lines\r\nFROM:a@example.org\r\n\r\n",
            b"X-Odd\nFrom: a@example.org\n",
        ] {
            assert!(
                has_from_field(message),
                "{:?}",
                String::from_utf8_lossy(message)
            );
        }
    }

    #[test]
    fn signature_fields_are_crlf_terminated_and_in_key_order() {
        let signer = Signer::new(&[ed25519_key("first"), ed25519_key("second")]).expect("keys");
        let fields = signer
            .sign(b"From: a@example.org\r\nTo: b@example.com\r\n\r\nhi\r\n")
            .expect("sign");
        let text = String::from_utf8(fields).expect("ascii header");
        assert!(text.ends_with(";\r\n"), "{text}");
        let starts: Vec<_> = text
            .match_indices("DKIM-Signature: ")
            .map(|(at, _)| at)
            .collect();
        assert_eq!(starts.len(), 2, "{text}");
        assert_eq!(starts[0], 0);
        assert!(text[..starts[1]].contains("s=first;"), "{text}");
        assert!(text[starts[1]..].contains("s=second;"), "{text}");
        // Every line break is a CRLF followed by folding whitespace or the next field.
        for (at, _) in text.match_indices('\n') {
            assert_eq!(&text[at - 1..at], "\r");
            let next = &text[at + 1..];
            assert!(
                next.is_empty() || next.starts_with('\t') || next.starts_with("DKIM-Signature: ")
            );
        }
    }
}
