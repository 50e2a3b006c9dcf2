//! Mail authentication for mailstead. Today: DKIM keys and DKIM signing of outgoing mail.
//! Verification of incoming mail (SPF, DKIM, DMARC) will be a further module of this crate.
//!
//! The cryptography and the DKIM wire format are [`mail_auth`]'s (signing) and
//! [`aws_lc_rs`]'s (key generation); this crate fixes the choices mailstead makes
//! (algorithms, key sizes, canonicalization, the header fields signed), checks what
//! `mail-auth` does not (a `From` field to sign), and gives errors that name the key.
//! It is pure: no I/O, no async, no store, no config. Keys come in as PKCS#8 DER bytes
//! from whoever stores them; the caller prepends the returned `DKIM-Signature:` fields
//! to the message.
//!
//! # RFCs
//!
//! | RFC | What | Where |
//! |-----|------|-------|
//! | 6376 | DKIM: §3.3 algorithms, §3.4.2/§3.4.4 relaxed canonicalization, §3.5 the `DKIM-Signature` tags, §3.6.1 the key record (`v=DKIM1; k=; p=`), §3.6.2.1 `<selector>._domainkey.<domain>`, §5.4 `From` MUST be signed, §5.4.1 recommended header fields | [`sign`], [`key`] |
//! | 8301 | RSA keys ≥ 1024 bits for signing, SHA-256 only: we generate 2048-bit keys and sign `rsa-sha256` | [`key`], [`sign`] |
//! | 8463 | Ed25519-SHA256 (§3) and its key record: `k=ed25519`, `p=` the raw 32-byte key (§4.2) | [`key`], [`sign`] |
//!
//! # Modules
//!
//! - [`key`] — [`KeyType`], [`generate_key`] → [`GeneratedKey`], [`dns_record`], [`selector_for`].
//! - [`sign`] — [`SigningKey`], [`SIGNED_HEADERS`], [`Signer`] (keys parsed once, many messages).
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

pub use error::DkimError;
pub use key::{GeneratedKey, KeyType, dns_record, generate_key, selector_for};
pub use sign::{SIGNED_HEADERS, Signer, SigningKey};
