//! Signatures made by [`Signer`] verified by two independent verifiers: `mail-auth`'s own
//! (offline, the key records pre-seeded in its TXT cache) and Python's dkimpy (run as
//! `python3`, its DNS lookup replaced by a function answering from the records given).
//!
//! dkimpy and PyNaCl (for Ed25519) must be installed (`pip install dkimpy pynacl`): the
//! dkimpy tests fail, not skip, without them.

use std::collections::HashMap;
use std::io::Write as _;
use std::pin::pin;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::task::{Context, Poll, Waker};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use mail_auth::common::parse::TxtRecordParser as _;
use mail_auth::common::verify::DomainKey;
use mail_auth::{
    AuthenticatedMessage, DkimResult, MessageAuthenticator, Parameters, ResolverCache, Txt,
};
use mailstead_mailauth::{
    GeneratedKey, KeyType, SIGNED_HEADERS, Signer, SigningKey, dns_record, generate_key,
};

const DOMAIN: &str = "example.org";
const RSA_SELECTOR: &str = "ms20261123r";
const ED25519_SELECTOR: &str = "ms20261123e";

/// Whitespace runs, trailing spaces and trailing empty lines: relaxed canonicalization
/// (RFC 6376 §3.4.2, §3.4.4) has something to do.
const MESSAGE: &str = concat!(
    "From: Alice Example <alice@example.org>\r\n",
    "To: bob@example.com,\r\n",
    "  carol@example.net\r\n",
    "Subject: Quarterly   report\t \r\n",
    "Date: Mon, 23 Nov 2026 10:00:00 +0000\r\n",
    "Message-ID: <20261123100000.1@example.org>\r\n",
    "MIME-Version: 1.0\r\n",
    "Content-Type: text/plain; charset=utf-8\r\n",
    "Content-Transfer-Encoding: 8bit\r\n",
    "X-Unsigned: not in h=\r\n",
    "\r\n",
    "Hello Bob,  \r\n",
    "\r\n",
    "the numbers are in.\r\n",
    "\r\n",
    "\r\n",
);

/// One RSA key for the whole test binary: generating RSA-2048 is slow in debug builds.
fn rsa_key() -> &'static GeneratedKey {
    static KEY: OnceLock<GeneratedKey> = OnceLock::new();
    KEY.get_or_init(|| generate_key(KeyType::Rsa).expect("rsa-2048 generation"))
}

fn ed25519_key() -> &'static GeneratedKey {
    static KEY: OnceLock<GeneratedKey> = OnceLock::new();
    KEY.get_or_init(|| generate_key(KeyType::Ed25519).expect("ed25519 generation"))
}

/// A signer with the RSA key then the Ed25519 key, and the TXT records publishing them.
fn signer_and_records() -> (Signer, Vec<(String, String)>) {
    let keys = [(RSA_SELECTOR, rsa_key()), (ED25519_SELECTOR, ed25519_key())];
    let signing_keys: Vec<SigningKey> = keys
        .iter()
        .map(|(selector, key)| SigningKey {
            domain: DOMAIN.into(),
            selector: (*selector).into(),
            key_type: key.key_type,
            private_pkcs8: key.private_pkcs8.clone(),
        })
        .collect();
    let records = keys
        .iter()
        .map(|(selector, key)| {
            (
                format!("{selector}._domainkey.{DOMAIN}"),
                dns_record(key.key_type, &key.public_key),
            )
        })
        .collect();
    (Signer::new(&signing_keys).expect("keys parse"), records)
}

fn signed(message: &str) -> (Vec<u8>, Vec<(String, String)>) {
    let (signer, records) = signer_and_records();
    let fields = signer.sign(message.as_bytes()).expect("sign");
    ([fields.as_slice(), message.as_bytes()].concat(), records)
}

// --- mail-auth's verifier, offline ---------------------------------------------------

/// A TXT cache holding the key records, so `mail-auth` never asks DNS.
struct TxtCache(HashMap<Box<str>, Txt>);

impl TxtCache {
    fn new(records: &[(String, String)]) -> Self {
        let entries = records
            .iter()
            .map(|(name, record)| {
                let key = DomainKey::parse(record.as_bytes()).expect("our record parses");
                (format!("{name}.").into_boxed_str(), Txt::from(key))
            })
            .collect();
        TxtCache(entries)
    }
}

impl ResolverCache<Box<str>, Txt> for TxtCache {
    fn get<Q>(&self, name: &Q) -> Option<Txt>
    where
        Box<str>: std::borrow::Borrow<Q>,
        Q: std::hash::Hash + Eq + ?Sized,
    {
        self.0.get(name).cloned()
    }

    fn remove<Q>(&self, _: &Q) -> Option<Txt>
    where
        Box<str>: std::borrow::Borrow<Q>,
        Q: std::hash::Hash + Eq + ?Sized,
    {
        None
    }

    fn insert(&self, _: Box<str>, _: Txt, _: Instant) {}
}

/// Polls once: with every record in the cache the verifier never awaits anything, and
/// if it did it would be going to the network, which these tests must not.
fn ready<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("mail-auth went to DNS: a key record was not in the cache"),
    }
}

/// mail-auth's result per selector.
fn mail_auth_verify(message: &[u8], records: &[(String, String)]) -> HashMap<String, DkimResult> {
    let cache = TxtCache::new(records);
    let parsed = AuthenticatedMessage::parse(message).expect("mail-auth parses the message");
    // Never queried (every lookup hits the cache); building it opens no socket.
    let authenticator = MessageAuthenticator::new_cloudflare().expect("resolver");
    let outputs = ready(authenticator.verify_dkim(Parameters::new(&parsed).with_txt_cache(&cache)));
    outputs
        .iter()
        .map(|output| {
            let selector = output.signature().map_or_else(String::new, |s| s.s.clone());
            (selector, output.result().clone())
        })
        .collect()
}

// --- dkimpy ------------------------------------------------------------------------

const DKIMPY: &str = r#"
import logging, sys
try:
    import dkim
    import nacl.signing  # dkimpy needs PyNaCl for ed25519-sha256
except ImportError as err:
    print(f"cannot import: {err}", file=sys.stderr)
    sys.exit(3)
count = int(sys.argv[1])
records = {}
for arg in sys.argv[2:]:
    name, value = arg.split("=", 1)
    records[name.encode().rstrip(b".").lower()] = value.encode()
def dnsfunc(name, timeout=5):
    return records.get(name.rstrip(b".").lower())
logging.basicConfig(stream=sys.stderr, level=logging.DEBUG)
message = sys.stdin.buffer.read()
verifier = dkim.DKIM(message, logger=logging.getLogger("dkim"))
for idx in range(count):
    try:
        print(bool(verifier.verify(idx=idx, dnsfunc=dnsfunc)))
    except dkim.DKIMException as err:  # what dkim.verify() turns into False
        print(f"signature {idx}: {err}", file=sys.stderr)
        print(False)
"#;

/// dkimpy's verdict on each of the first `count` DKIM-Signature fields, top to bottom.
fn dkimpy_verify(message: &[u8], count: usize, records: &[(String, String)]) -> Vec<bool> {
    let mut child = Command::new("python3")
        .arg("-c")
        .arg(DKIMPY)
        .arg(count.to_string())
        .args(
            records
                .iter()
                .map(|(name, record)| format!("{name}={record}")),
        )
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|err| {
            panic!("python3 is needed for the dkimpy cross-check and could not start: {err}")
        });
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(message)
        .expect("write message to python3");
    let output = child.wait_with_output().expect("python3 runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    if output.status.code() == Some(3) {
        panic!("dkimpy and PyNaCl are needed for this test (pip install dkimpy pynacl): {stderr}");
    }
    assert!(output.status.success(), "dkimpy script failed: {stderr}");
    let verdicts: Vec<bool> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| line == "True")
        .collect();
    assert_eq!(verdicts.len(), count, "dkimpy output; its log:\n{stderr}");
    if verdicts.iter().any(|ok| !ok) {
        eprintln!("dkimpy log:\n{stderr}");
    }
    verdicts
}

// --- the signature fields ----------------------------------------------------------

/// Each `DKIM-Signature` field of `fields`, unfolded, as its tags.
fn signature_tags(fields: &[u8]) -> Vec<HashMap<String, String>> {
    let text = String::from_utf8(fields.to_vec()).expect("signature fields are ASCII");
    let unfolded = text.replace("\r\n\t", " ").replace("\r\n ", " ");
    unfolded
        .lines()
        .map(|line| {
            let value = line
                .strip_prefix("DKIM-Signature:")
                .unwrap_or_else(|| panic!("not a DKIM-Signature field: {line:?}"));
            value
                .split(';')
                .filter_map(|tag| tag.split_once('='))
                .map(|(name, value)| {
                    let value: String = value.chars().filter(|c| !c.is_whitespace()).collect();
                    (name.trim().to_owned(), value)
                })
                .collect()
        })
        .collect()
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs()
}

// --- tests -------------------------------------------------------------------------

#[test]
fn rsa_and_ed25519_signatures_verify_with_mail_auth() {
    let (message, records) = signed(MESSAGE);
    let results = mail_auth_verify(&message, &records);
    assert_eq!(results.len(), 2, "{results:?}");
    assert_eq!(results[RSA_SELECTOR], DkimResult::Pass, "{results:?}");
    assert_eq!(results[ED25519_SELECTOR], DkimResult::Pass, "{results:?}");
}

#[test]
fn rsa_and_ed25519_signatures_verify_with_dkimpy() {
    let (message, records) = signed(MESSAGE);
    assert_eq!(dkimpy_verify(&message, 2, &records), [true, true]);
}

#[test]
fn signatures_are_relaxed_with_algorithm_domain_selector_and_headers() {
    let (signer, _) = signer_and_records();
    let before = now();
    let fields = signer.sign(MESSAGE.as_bytes()).expect("sign");
    let after = now();
    let tags = signature_tags(&fields);
    assert_eq!(tags.len(), 2);
    for (tags, (algorithm, selector)) in tags.iter().zip([
        ("rsa-sha256", RSA_SELECTOR),
        ("ed25519-sha256", ED25519_SELECTOR),
    ]) {
        assert_eq!(tags["v"], "1");
        assert_eq!(tags["a"], algorithm, "{tags:?}");
        assert_eq!(tags["c"], "relaxed/relaxed", "{tags:?}");
        assert_eq!(tags["d"], DOMAIN, "{tags:?}");
        assert_eq!(tags["s"], selector, "{tags:?}");
        let signed: Vec<String> = tags["h"].split(':').map(str::to_ascii_lowercase).collect();
        for name in [
            "from",
            "subject",
            "date",
            "to",
            "message-id",
            "mime-version",
        ] {
            assert!(
                signed.iter().any(|h| h == name),
                "{name} not in h={}",
                tags["h"]
            );
        }
        assert!(!signed.iter().any(|h| h == "x-unsigned"), "h={}", tags["h"]);
        // Every recommended field is listed, present or not (absent ones guard against
        // being added later, RFC 6376 §5.4.2).
        for name in SIGNED_HEADERS {
            assert!(
                signed.iter().any(|h| h.eq_ignore_ascii_case(name)),
                "{name} not in h={}",
                tags["h"]
            );
        }
        let t: u64 = tags["t"].parse().expect("t= is a number");
        assert!(
            (before..=after).contains(&t),
            "t={t} not in {before}..={after}"
        );
        assert!(!tags.contains_key("l"), "no l=: {tags:?}");
        assert!(!tags.contains_key("x"), "no x=: {tags:?}");
        assert!(!tags["bh"].is_empty() && !tags["b"].is_empty(), "{tags:?}");
    }
}

#[test]
fn tampered_body_fails_verification() {
    let (message, records) = signed(MESSAGE);
    let tampered = String::from_utf8(message)
        .expect("ASCII message")
        .replace("the numbers are in.", "the numbers are in. Wire 10k to me.");
    assert_eq!(
        dkimpy_verify(tampered.as_bytes(), 2, &records),
        [false, false]
    );
    let results = mail_auth_verify(tampered.as_bytes(), &records);
    assert!(
        results.values().all(|result| *result != DkimResult::Pass),
        "{results:?}"
    );
}

#[test]
fn tampered_signed_header_fails_verification() {
    let (message, records) = signed(MESSAGE);
    let tampered = String::from_utf8(message)
        .expect("ASCII message")
        .replace("Subject: Quarterly", "Subject: Urgent");
    assert_eq!(
        dkimpy_verify(tampered.as_bytes(), 2, &records),
        [false, false]
    );
}

#[test]
fn added_header_absent_at_signing_fails_verification() {
    // Reply-To was absent but is listed in h=, so adding one breaks the signature.
    let (message, records) = signed(MESSAGE);
    let tampered = [b"Reply-To: mallory@example.net\r\n".as_slice(), &message].concat();
    assert_eq!(dkimpy_verify(&tampered, 2, &records), [false, false]);
}

#[test]
fn relaxed_canonicalization_survives_whitespace_changes_and_unsigned_fields() {
    let (message, records) = signed(MESSAGE);
    let relayed = String::from_utf8(message)
        .expect("ASCII message")
        .replace(
            "Subject: Quarterly   report\t \r\n",
            "Subject: Quarterly report\r\n",
        )
        .replace("Hello Bob,  \r\n", "Hello Bob,\r\n")
        .replace(
            "X-Unsigned: not in h=\r\n",
            "X-Unsigned: changed by a relay\r\n",
        );
    let relayed = format!("Received: from relay.example.net\r\n{relayed}\r\n");
    assert_eq!(dkimpy_verify(relayed.as_bytes(), 2, &records), [true, true]);
}

#[test]
fn rsa_key_is_2048_bits_published_as_subject_public_key_info() {
    let key = rsa_key();
    let record = dns_record(KeyType::Rsa, &key.public_key);
    let p = record
        .strip_prefix("v=DKIM1; k=rsa; p=")
        .unwrap_or_else(|| panic!("record: {record}"));
    let der = BASE64.decode(p).expect("p= is base64");
    assert_eq!(der, key.public_key);
    // SEQUENCE { SEQUENCE { OID rsaEncryption (1.2.840.113549.1.1.1), NULL }, BIT STRING }
    const RSA_ENCRYPTION_OID: &[u8] = &[
        0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01,
    ];
    assert_eq!(der[0], 0x30);
    assert!(
        der.windows(RSA_ENCRYPTION_OID.len())
            .any(|w| w == RSA_ENCRYPTION_OID)
    );
    // A 2048-bit modulus and e = 65537 make a 294-byte SubjectPublicKeyInfo.
    assert_eq!(der.len(), 294, "not RSA-2048");
}
