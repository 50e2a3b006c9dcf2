//! Core newtypes shared by every mailstead crate.
//!
//! - [`Domain`]: a mail domain, normalised to lower-case ASCII (IDNA 2008 / UTS #46,
//!   RFC 5890) so that `Bücher.example` and `xn--bcher-kva.example` are one domain.
//! - [`Address`]: `local-part@domain` (RFC 5321 §4.1.2 `Mailbox`, with RFC 6531 UTF-8
//!   local parts), local part folded to lower case because every lookup is case-insensitive.
//! - Id newtypes ([`DomainId`], [`AccountId`], [`MailboxId`], ...) so that one kind of id can
//!   never be passed where another is expected, and IMAP numbers ([`Uid`], [`ModSeq`],
//!   [`UidValidity`]) named after RFC 9051.
//! - [`BlobId`]: the SHA-256 of a stored blob.
//! - [`Secret`]: a wrapper whose `Debug`/`Display` never print the value.
//!
//! Invariants: a `Domain` or `Address` value is always valid and normalised; parsing never
//! panics on any input (fuzzed in `fuzz/fuzz_targets/address.rs`).

mod address;
mod domain;
mod id;
mod secret;

pub use address::{Address, AddressError};
pub use domain::{Domain, DomainError};
pub use id::{
    AccountId, AliasId, AppPasswordId, BlobId, BlobIdError, DkimKeyId, DomainId, DsnRequestId,
    MailboxId, MessageId, ModSeq, QueueId, QueueRecipientId, Uid, UidValidity,
};
pub use secret::Secret;
