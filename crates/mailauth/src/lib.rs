//! Mail authentication for mailstead: DKIM keys and DKIM signing of outgoing mail, and
//! authentication of incoming mail (SPF, DKIM, DMARC, ARC, iprev) summarised in an
//! `Authentication-Results` field.
//!
//! The cryptography, the DKIM wire format and the protocol logic of every check are
//! [`mail_auth`]'s (signing, `verify_spf` / `verify_dkim` / `verify_arc` /
//! `verify_dmarc`) and [`aws_lc_rs`]'s (key generation); this crate fixes the choices
//! mailstead makes (algorithms, key sizes, canonicalization, the header fields signed,
//! limits), checks what `mail-auth` does not (a `From` field to sign, DMARC's `pct=`,
//! iprev), gives errors that name the key, and puts every DNS lookup of verification
//! through the project's [`mailstead_dns::Resolver`] (how: [`verify`]'s `dns`
//! submodule). Signing is pure: no I/O, no async, no store, no config; keys come in as
//! PKCS#8 DER bytes from whoever stores them, and the caller prepends the returned
//! `DKIM-Signature:` fields to the message. Verification is async (DNS) and must run in a
//! tokio runtime.
//!
//! # RFCs
//!
//! | RFC | What | Where |
//! |-----|------|-------|
//! | 6376 | DKIM signing: §3.3 algorithms, §3.4.2/§3.4.4 relaxed canonicalization, §3.5 the `DKIM-Signature` tags, §3.6.1 the key record (`v=DKIM1; k=; p=`), §3.6.2.1 `<selector>._domainkey.<domain>`, §5.4 `From` MUST be signed, §5.4.1 recommended header fields | [`sign`], [`key`] |
//! | 6376 | DKIM verification (§6): every signature, each its own result; §6.1 at most [`MAX_DKIM_SIGNATURES`] verified; §6.1.2 no key record → permerror; §6.1.3 body hash mismatch → fail; `l=` refused | [`verify`] (`dkim`) |
//! | 8301 | RSA keys ≥ 1024 bits for signing, SHA-256 only: we generate 2048-bit keys and sign `rsa-sha256` | [`key`], [`sign`] |
//! | 8463 | Ed25519-SHA256 (§3) and its key record: `k=ed25519`, `p=` the raw 32-byte key (§4.2); verified too | [`key`], [`sign`], [`verify`] |
//! | 7208 | SPF: `check_host()` of the MAIL FROM (§2.4, null reverse path → `postmaster@<HELO>`) and HELO (§2.3) identities; §4.5 one record; §4.6.1 unknown mechanisms are permerror; §4.6.4 the 10-lookup limit; §5 the mechanisms; §2.6 the results | [`verify`] (`spf`) |
//! | 7489 | DMARC: §3.1 relaxed/strict alignment (`adkim=`, `aspf=`), §6.3 `p=`/`sp=`/`pct=`, §6.6.4 `pct=` sampling (sampled out → the next lower policy), §11.2 the results; the organizational domain by the DMARCbis tree walk (RFC 9989 §4.10) rather than a public suffix list | [`verify`] (`dmarc`) |
//! | 8617 | ARC: §5.2 chain validation (`pass`/`fail`/`none`) | [`verify`] (`arc`) |
//! | 8601 | `Authentication-Results`: §2.2 the field (one result per line, folded, values quoted when not tokens), §2.7 the method results, §3 iprev, §5 removing fields that claim our authserv-id | [`AuthOutcome::header`], [`strip_own_results`] |
//!
//! # Modules
//!
//! - [`key`] — [`KeyType`], [`generate_key`] → [`GeneratedKey`], [`dns_record`], [`selector_for`].
//! - [`sign`] — [`SigningKey`], [`SIGNED_HEADERS`], [`Signer`] (keys parsed once, many messages).
//! - [`verify`] — [`Verifier`] (`verify(&VerifyInput) → AuthOutcome`), the result types
//!   ([`SpfCheck`], [`DkimCheck`], [`ArcCheck`], [`DmarcCheck`], [`IprevCheck`]),
//!   [`AuthOutcome::header`], [`strip_own_results`].
//! - [`error`] — [`DkimError`].
//!
//! # Invariants
//!
//! - Private key bytes never reach a `Debug` or `Display` output ([`SigningKey`]'s and
//!   [`Signer`]'s `Debug` print domain, selector and key type only).
//! - Every signature is `c=relaxed/relaxed`, `rsa-sha256` or `ed25519-sha256`, carries
//!   `t=` and neither `l=` (a body-length limit lets anyone append to the body) nor `x=`.
//! - A message without a `From` field is never signed (RFC 6376 §5.4): [`Signer::sign`]
//!   returns [`DkimError::MissingFrom`].
//! - Verification never fails and never guesses: a DNS answer that could not be had is a
//!   `temperror` ([`AuthOutcome::any_temporary`]), never a pass; a name without records
//!   never satisfies SPF's `exists`, `a`, `mx` or `ptr`.
//! - Every DNS lookup of verification goes through the [`mailstead_dns::Resolver`] given
//!   to [`Verifier::new`]; `mail-auth`'s own resolver has no nameserver. At most
//!   200 lookups per message.
//! - Nothing the client, the message or DNS controls can end an `Authentication-Results`
//!   result or field early (values are quoted); [`strip_own_results`] touches the header
//!   section only.
//! - No function panics on any message bytes.
//!
//! # Example
//!
//! ```
//! use mailstead_mailauth::{KeyType, Signer, SigningKey, dns_record, generate_key, selector_for};
//!
//! let key = generate_key(KeyType::Ed25519)?;
//! let selector = selector_for("ms", KeyType::Ed25519, (2026, 11, 23));
//! assert_eq!(selector, "ms20261123e");
//! // Publish this TXT record at ms20261123e._domainkey.example.org:
//! let record = dns_record(key.key_type, &key.public_key);
//! assert!(record.starts_with("v=DKIM1; k=ed25519; p="));
//!
//! let signer = Signer::new(&[SigningKey {
//!     domain: "example.org".into(),
//!     selector,
//!     key_type: key.key_type,
//!     private_pkcs8: key.private_pkcs8,
//! }])?;
//! let message = b"From: a@example.org\r\nTo: b@example.com\r\nSubject: hi\r\n\r\nhello\r\n";
//! let fields = signer.sign(message)?;
//! assert!(fields.starts_with(b"DKIM-Signature: v=1; a=ed25519-sha256; s=ms20261123e; d=example.org; c=relaxed/relaxed;"));
//! let signed = [fields.as_slice(), message].concat();
//! # let _ = signed;
//! # Ok::<(), mailstead_mailauth::DkimError>(())
//! ```

pub mod error;
pub mod key;
pub mod sign;
pub mod verify;

pub use error::DkimError;
pub use key::{GeneratedKey, KeyType, dns_record, generate_key, selector_for};
pub use sign::{SIGNED_HEADERS, Signer, SigningKey};
pub use verify::{
    ArcCheck, AuthOutcome, AuthResult, DkimCheck, DmarcCheck, DmarcPolicy, IprevCheck,
    MAX_DKIM_SIGNATURES, SpfCheck, SpfResult, Verifier, VerifyInput, strip_own_results,
};
