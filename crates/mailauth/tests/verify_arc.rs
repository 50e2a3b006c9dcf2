//! ARC chain validation (RFC 8617 §5.2) through [`Verifier::verify`] over a mock
//! resolver, of chains sealed with mail-auth's `ArcSealer`.

mod support;

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;
use std::time::Instant;

use mail_auth::arc::ArcSealer;
use mail_auth::common::crypto::Ed25519Key;
use mail_auth::common::headers::HeaderWriter as _;
use mail_auth::common::parse::TxtRecordParser as _;
use mail_auth::common::verify::DomainKey;
use mail_auth::hickory_resolver::config::{ResolverConfig, ResolverOpts};
use mail_auth::{
    ArcOutput, AuthenticatedMessage, AuthenticationResults, DkimResult, MessageAuthenticator,
    Parameters, ResolverCache, Txt,
};
use mailstead_dns::MockResolver;
use mailstead_mailauth::{ArcCheck, AuthResult};
use support::{CLIENT, Session, ed25519_key, ip, key_record, verify};

const MESSAGE: &str = concat!(
    "From: alice@sender.test\r\n",
    "To: list@forwarder.test\r\n",
    "Subject: hello\r\n",
    "\r\n",
    "Hi all.\r\n",
);

/// The forwarders' key record names.
const HOP1_KEY: &str = "arc._domainkey.hop1.test";
const HOP2_KEY: &str = "arc._domainkey.hop2.test";

/// A TXT cache holding key records, for mail-auth's own verification when sealing.
struct Keys(HashMap<Box<str>, Txt>);

impl ResolverCache<Box<str>, Txt> for Keys {
    fn get<Q>(&self, name: &Q) -> Option<Txt>
    where
        Box<str>: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.0.get(name).cloned()
    }

    fn remove<Q>(&self, _: &Q) -> Option<Txt>
    where
        Box<str>: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        None
    }

    fn insert(&self, _: Box<str>, _: Txt, _: Instant) {}
}

/// `message` sealed by a forwarder `domain` with the Ed25519 test key (selector `arc`),
/// after validating the chain it already carries as mail-auth would.
async fn sealed(message: &[u8], domain: &str) -> Vec<u8> {
    let parsed = AuthenticatedMessage::parse(message).expect("message parses");
    let keys = Keys(
        [HOP1_KEY, HOP2_KEY]
            .into_iter()
            .map(|name| {
                let record = key_record(ed25519_key());
                let key = DomainKey::parse(record.as_bytes()).expect("key record");
                (format!("{name}.").into_boxed_str(), Txt::from(key))
            })
            .collect(),
    );
    let authenticator = MessageAuthenticator::new(
        ResolverConfig::from_parts(None, Vec::new(), Vec::new()),
        ResolverOpts::default(),
    )
    .expect("resolver");
    let arc: ArcOutput<'_> = if parsed.ams_headers.is_empty() {
        ArcOutput::default()
    } else {
        authenticator
            .verify_arc(Parameters::new(&parsed).with_txt_cache(&keys))
            .await
    };
    assert!(
        matches!(arc.result(), DkimResult::Pass | DkimResult::None),
        "chain to seal: {:?}",
        arc.result()
    );
    let results = AuthenticationResults::new(domain).with_arc_result(&arc, ip(CLIENT));
    let key = Ed25519Key::from_pkcs8_der(&ed25519_key().private_pkcs8).expect("key");
    let set = ArcSealer::from_key(key)
        .domain(domain)
        .selector("arc")
        .headers(["From", "To", "Subject"])
        .seal(&parsed, &results, &arc)
        .expect("seal");
    [set.to_header().as_bytes(), message].concat()
}

fn published() -> MockResolver {
    MockResolver::new()
        .txt(HOP1_KEY, &[&key_record(ed25519_key())])
        .txt(HOP2_KEY, &[&key_record(ed25519_key())])
}

async fn arc(dns: MockResolver, message: &[u8]) -> ArcCheck {
    verify(
        dns,
        &Session {
            message,
            ..Session::default()
        },
    )
    .await
    .arc
}

#[tokio::test]
async fn a_message_without_arc_sets_is_none() {
    assert_eq!(
        arc(published(), MESSAGE.as_bytes()).await,
        ArcCheck {
            result: AuthResult::None,
            sets: 0
        }
    );
}

#[tokio::test]
async fn valid_chains_pass() {
    let one = sealed(MESSAGE.as_bytes(), "hop1.test").await;
    assert_eq!(
        arc(published(), &one).await,
        ArcCheck {
            result: AuthResult::Pass,
            sets: 1
        }
    );
    let two = sealed(&one, "hop2.test").await;
    assert_eq!(
        arc(published(), &two).await,
        ArcCheck {
            result: AuthResult::Pass,
            sets: 2
        }
    );
}

#[tokio::test]
async fn broken_chains_fail() {
    let one = sealed(MESSAGE.as_bytes(), "hop1.test").await;
    let two = sealed(&one, "hop2.test").await;
    let text = String::from_utf8(two.clone()).expect("ascii");
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "body changed after the last seal",
            text.replace("Hi all.", "Hi all, buy now.").into_bytes(),
        ),
        (
            "signed header changed after the last seal",
            text.replace("Subject: hello", "Subject: hello!")
                .into_bytes(),
        ),
        (
            "a seal's cv= changed",
            text.replacen("cv=pass", "cv=none", 1).into_bytes(),
        ),
        ("the first set removed", {
            // Keep only the fields of instance 2 (and the message).
            let mut kept = String::new();
            let mut skip = false;
            for line in text.split_inclusive("\r\n") {
                if !line.starts_with([' ', '\t']) {
                    skip = line.starts_with("ARC-") && line.contains("i=1");
                }
                if !skip {
                    kept.push_str(line);
                }
            }
            kept.into_bytes()
        }),
    ];
    for (what, message) in cases {
        assert_eq!(
            arc(published(), &message).await.result,
            AuthResult::Fail,
            "{what}"
        );
    }
    // Unchanged, it passes.
    assert_eq!(arc(published(), &two).await.result, AuthResult::Pass);
}

#[tokio::test]
async fn key_lookup_errors_are_reported_as_dkim_ones() {
    let one = sealed(MESSAGE.as_bytes(), "hop1.test").await;
    assert_eq!(
        arc(MockResolver::new(), &one).await,
        ArcCheck {
            result: AuthResult::PermError,
            sets: 1
        }
    );
    assert_eq!(
        arc(MockResolver::new().temporary_failure(HOP1_KEY), &one).await,
        ArcCheck {
            result: AuthResult::TempError,
            sets: 1
        }
    );
}
