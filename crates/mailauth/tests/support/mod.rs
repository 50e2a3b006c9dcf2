//! What the verification tests share: running a [`Verifier`] over a [`MockResolver`],
//! keys generated once per test binary, signing with this crate's [`Signer`], and a
//! resolver that counts the lookups made through it.

#![allow(dead_code)] // Each test binary uses a different part.

use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use mailstead_dns::{DnsError, MockResolver, MxAnswer, Resolver};
use mailstead_mailauth::{
    AuthOutcome, GeneratedKey, KeyType, Signer, SigningKey, Verifier, VerifyInput, dns_record,
    generate_key,
};

/// Our host name: the authserv-id and SPF's `%{r}`.
pub const HOSTNAME: &str = "mx.receiver.test";

/// The client's address in most tests.
pub const CLIENT: &str = "192.0.2.1";

/// `s` as an address.
pub fn ip(s: &str) -> IpAddr {
    s.parse().expect("test address")
}

/// What [`verify`] is asked about, with defaults for the fields a test does not set.
#[derive(Debug, Clone)]
pub struct Session<'a> {
    pub remote_ip: IpAddr,
    pub helo: &'a str,
    pub mail_from: &'a str,
    pub message: &'a [u8],
}

impl Default for Session<'_> {
    fn default() -> Self {
        Session {
            remote_ip: ip(CLIENT),
            helo: "mail.sender.test",
            mail_from: "",
            message: b"From: a@sender.test\r\nSubject: s\r\n\r\nbody\r\n",
        }
    }
}

/// Runs every check of `session` over `dns`.
pub async fn verify_with(dns: Arc<dyn Resolver>, session: &Session<'_>) -> AuthOutcome {
    Verifier::new(dns)
        .verify(&VerifyInput {
            message: session.message,
            remote_ip: session.remote_ip,
            helo: session.helo,
            mail_from: session.mail_from,
            hostname: HOSTNAME,
        })
        .await
}

/// Runs every check of `session` over the mock `dns`.
pub async fn verify(dns: MockResolver, session: &Session<'_>) -> AuthOutcome {
    verify_with(Arc::new(dns), session).await
}

/// One RSA key for the whole test binary: generating RSA-2048 is slow in debug builds.
pub fn rsa_key() -> &'static GeneratedKey {
    static KEY: OnceLock<GeneratedKey> = OnceLock::new();
    KEY.get_or_init(|| generate_key(KeyType::Rsa).expect("rsa-2048 generation"))
}

/// One Ed25519 key for the whole test binary.
pub fn ed25519_key() -> &'static GeneratedKey {
    static KEY: OnceLock<GeneratedKey> = OnceLock::new();
    KEY.get_or_init(|| generate_key(KeyType::Ed25519).expect("ed25519 generation"))
}

/// Another Ed25519 key, for a record that does not match the signing key.
pub fn other_ed25519_key() -> &'static GeneratedKey {
    static KEY: OnceLock<GeneratedKey> = OnceLock::new();
    KEY.get_or_init(|| generate_key(KeyType::Ed25519).expect("ed25519 generation"))
}

/// The TXT record publishing `key`.
pub fn key_record(key: &GeneratedKey) -> String {
    dns_record(key.key_type, &key.public_key)
}

/// `message` with `DKIM-Signature` fields prepended, one per `(domain, selector, key)`,
/// in that order, made by this crate's [`Signer`].
pub fn signed(message: &str, keys: &[(&str, &str, &GeneratedKey)]) -> Vec<u8> {
    let signing_keys: Vec<SigningKey> = keys
        .iter()
        .map(|(domain, selector, key)| SigningKey {
            domain: (*domain).into(),
            selector: (*selector).into(),
            key_type: key.key_type,
            private_pkcs8: key.private_pkcs8.clone(),
        })
        .collect();
    let signer = Signer::new(&signing_keys).expect("keys parse");
    let fields = signer.sign(message.as_bytes()).expect("sign");
    [fields.as_slice(), message.as_bytes()].concat()
}

/// A [`Resolver`] that counts the lookups made through it.
pub struct Counting {
    pub inner: MockResolver,
    pub lookups: AtomicUsize,
}

impl Counting {
    pub fn new(inner: MockResolver) -> Arc<Self> {
        Arc::new(Self {
            inner,
            lookups: AtomicUsize::new(0),
        })
    }

    pub fn lookups(&self) -> usize {
        self.lookups.load(Ordering::SeqCst)
    }
}

#[async_trait::async_trait]
impl Resolver for Counting {
    async fn mx(&self, domain: &str) -> Result<MxAnswer, DnsError> {
        self.lookups.fetch_add(1, Ordering::SeqCst);
        Resolver::mx(&self.inner, domain).await
    }

    async fn ips(&self, host: &str) -> Result<Vec<IpAddr>, DnsError> {
        self.lookups.fetch_add(1, Ordering::SeqCst);
        self.inner.ips(host).await
    }

    async fn txt(&self, name: &str) -> Result<Vec<String>, DnsError> {
        self.lookups.fetch_add(1, Ordering::SeqCst);
        Resolver::txt(&self.inner, name).await
    }

    async fn ptr(&self, ip: IpAddr) -> Result<Vec<String>, DnsError> {
        self.lookups.fetch_add(1, Ordering::SeqCst);
        Resolver::ptr(&self.inner, ip).await
    }
}
