//! Plain data rows of the store (no behaviour beyond small helpers).

use mailstead_types::{
    AccountId, Address, AliasId, AppPasswordId, BlobId, DkimKeyId, DomainId, DsnRequestId,
    MailboxId, MessageId, ModSeq, QueueId, QueueRecipientId, Uid, UidValidity,
};
use std::borrow::Cow;

use serde::Serialize;

use crate::{Result, StoreError};

/// Seconds since the Unix epoch; every timestamp in the store uses it.
pub type UnixTime = i64;

/// The current time as [`UnixTime`].
pub fn unix_now() -> UnixTime {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// A hosted mail domain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Domain {
    /// Row id.
    pub id: DomainId,
    /// The domain name (ASCII form).
    pub name: mailstead_types::Domain,
    /// When it was created.
    pub created_at: UnixTime,
}

/// A user account: owns mailboxes, can log in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Account {
    /// Row id.
    pub id: AccountId,
    /// The domain the address belongs to.
    pub domain_id: DomainId,
    /// The login and primary address, normalised.
    pub address: Address,
    /// Human name shown in UIs and used in From: suggestions.
    pub display_name: String,
    /// Password hash in one of the schemes of `mailstead-credentials` (argon2id for new ones).
    #[serde(skip)]
    pub password_hash: String,
    /// Storage quota in bytes; `None` is unlimited.
    pub quota_bytes: Option<u64>,
    /// A disabled account can neither log in nor receive mail.
    pub enabled: bool,
    /// May administer every domain.
    pub global_admin: bool,
    /// May use any sender address (e.g. for a mailing-list manager).
    pub allow_spoofing: bool,
    /// When it was created.
    pub created_at: UnixTime,
}

/// What is needed to create an account.
#[derive(Debug, Clone)]
pub struct NewAccount {
    /// Login and primary address; its domain must exist as a primary domain.
    pub address: Address,
    /// Human name.
    pub display_name: String,
    /// Already-hashed password.
    pub password_hash: String,
    /// Quota in bytes, `None` unlimited.
    pub quota_bytes: Option<u64>,
    /// Enabled from the start?
    pub enabled: bool,
    /// Global administrator?
    pub global_admin: bool,
}

/// A partial update of an account: `None` leaves the field alone.
#[derive(Debug, Clone, Default)]
pub struct AccountUpdate {
    /// New display name.
    pub display_name: Option<String>,
    /// New password hash.
    pub password_hash: Option<String>,
    /// New quota (`Some(None)` sets unlimited).
    pub quota_bytes: Option<Option<u64>>,
    /// Enable or disable.
    pub enabled: Option<bool>,
    /// Grant or revoke global admin.
    pub global_admin: Option<bool>,
    /// Allow or forbid sending as any address.
    pub allow_spoofing: Option<bool>,
}

/// An app password: a per-device secret that logs in as its account (protocols only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AppPassword {
    /// Row id.
    pub id: AppPasswordId,
    /// Owner.
    pub account_id: AccountId,
    /// What the user called it ("phone", "laptop mutt").
    pub name: String,
    /// Hash of the token (argon2id).
    #[serde(skip)]
    pub hash: String,
    /// When it was created.
    pub created_at: UnixTime,
    /// Last successful login with it, if any.
    pub last_used_at: Option<UnixTime>,
}

/// An alias: an address (or pattern) in a domain delivering to one or more destinations.
///
/// `local_part` is the normalised local part, `""` for the catch-all `@domain`, or a
/// wildcard pattern in which `*` matches any run of characters (then `wildcard` is true).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Alias {
    /// Row id.
    pub id: AliasId,
    /// The domain.
    pub domain_id: DomainId,
    /// Local part, `""` for catch-all, or a `*` pattern.
    pub local_part: String,
    /// True when `local_part` is a pattern.
    pub wildcard: bool,
    /// Destination addresses, local or external, in the order given.
    pub destinations: Vec<String>,
    /// When it was created.
    pub created_at: UnixTime,
}

/// What is needed to create an alias.
#[derive(Debug, Clone)]
pub struct NewAlias {
    /// The domain.
    pub domain_id: DomainId,
    /// Local part, `""` for catch-all, or a `*` pattern (then `wildcard`).
    pub local_part: String,
    /// True when `local_part` is a pattern.
    pub wildcard: bool,
    /// At least one destination.
    pub destinations: Vec<String>,
}

/// RFC 6154 special-use attributes of a mailbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum SpecialUse {
    /// `\All`
    All,
    /// `\Archive`
    Archive,
    /// `\Drafts`
    Drafts,
    /// `\Flagged`
    Flagged,
    /// `\Junk`
    Junk,
    /// `\Sent`
    Sent,
    /// `\Trash`
    Trash,
}

impl SpecialUse {
    /// The attribute as written in IMAP and stored in the database, e.g. `\Sent`.
    pub fn as_str(self) -> &'static str {
        match self {
            SpecialUse::All => "\\All",
            SpecialUse::Archive => "\\Archive",
            SpecialUse::Drafts => "\\Drafts",
            SpecialUse::Flagged => "\\Flagged",
            SpecialUse::Junk => "\\Junk",
            SpecialUse::Sent => "\\Sent",
            SpecialUse::Trash => "\\Trash",
        }
    }

    /// Parses the IMAP form (case-insensitive).
    pub fn parse(s: &str) -> Option<Self> {
        [
            SpecialUse::All,
            SpecialUse::Archive,
            SpecialUse::Drafts,
            SpecialUse::Flagged,
            SpecialUse::Junk,
            SpecialUse::Sent,
            SpecialUse::Trash,
        ]
        .into_iter()
        .find(|u| u.as_str().eq_ignore_ascii_case(s))
    }
}

/// The mailboxes every new account gets, in order (name, special use).
pub const DEFAULT_MAILBOXES: [(&str, Option<SpecialUse>); 6] = [
    ("INBOX", None),
    ("Drafts", Some(SpecialUse::Drafts)),
    ("Sent", Some(SpecialUse::Sent)),
    ("Trash", Some(SpecialUse::Trash)),
    ("Junk", Some(SpecialUse::Junk)),
    ("Archive", Some(SpecialUse::Archive)),
];

/// A mailbox (folder) of one account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Mailbox {
    /// Row id.
    pub id: MailboxId,
    /// Owner.
    pub account_id: AccountId,
    /// Full hierarchical name with `/` as the separator, e.g. `Archive/2026`.
    pub name: String,
    /// RFC 9051 UIDVALIDITY: unique per (account, name) over time.
    pub uid_validity: UidValidity,
    /// The UID the next appended message gets.
    pub uid_next: Uid,
    /// The highest MODSEQ given out in this mailbox (RFC 7162); 1 for a new mailbox.
    pub highest_modseq: ModSeq,
    /// RFC 6154 role, if any.
    pub special_use: Option<SpecialUse>,
    /// Listed by LSUB / LIST (SUBSCRIBED).
    pub subscribed: bool,
}

/// IMAP system flags (RFC 9051 §2.3.2) as a bit set; keywords are kept apart.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize)]
pub struct Flags(pub u8);

impl Flags {
    /// `\Seen`
    pub const SEEN: Flags = Flags(1);
    /// `\Answered`
    pub const ANSWERED: Flags = Flags(2);
    /// `\Flagged`
    pub const FLAGGED: Flags = Flags(4);
    /// `\Deleted`
    pub const DELETED: Flags = Flags(8);
    /// `\Draft`
    pub const DRAFT: Flags = Flags(16);
    /// No flag.
    pub const EMPTY: Flags = Flags(0);

    /// True when every flag of `other` is set in `self`.
    pub fn contains(self, other: Flags) -> bool {
        self.0 & other.0 == other.0
    }

    /// Union.
    pub fn union(self, other: Flags) -> Flags {
        Flags(self.0 | other.0)
    }

    /// `self` without the flags of `other`.
    pub fn difference(self, other: Flags) -> Flags {
        Flags(self.0 & !other.0)
    }
}

/// One message in one mailbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Message {
    /// Row id.
    pub id: MessageId,
    /// The mailbox it is in.
    pub mailbox_id: MailboxId,
    /// Its UID there.
    pub uid: Uid,
    /// MODSEQ of its last change.
    pub modseq: ModSeq,
    /// System flags.
    pub flags: Flags,
    /// Keywords (RFC 9051 `flag-keyword` atoms), sorted, no duplicates.
    pub keywords: Vec<String>,
    /// INTERNALDATE.
    pub internal_date: UnixTime,
    /// RFC822.SIZE in octets.
    pub size: u64,
    /// The raw message.
    pub blob_id: BlobId,
}

/// What is needed to append a message to a mailbox.
#[derive(Debug, Clone)]
pub struct NewMessage {
    /// The raw message, already written to the blob store.
    pub blob_id: BlobId,
    /// Its size in octets.
    pub size: u64,
    /// INTERNALDATE.
    pub internal_date: UnixTime,
    /// Initial flags.
    pub flags: Flags,
    /// Initial keywords.
    pub keywords: Vec<String>,
    /// The message's index, stored with it (no-op if the blob has one already); `None`
    /// leaves the message unindexed until IMAP indexes it.
    pub index: Option<std::sync::Arc<MessageIndex>>,
}

/// What IMAP needs of a message without reading its blob, keyed by blob (content
/// addressed, so copies share it). Produced by `mailstead-message`; opaque here.
///
/// Every backend strips NUL characters from the three texts before storing them
/// (PostgreSQL `TEXT` cannot hold NUL, and the backends must agree), so what is read back
/// may be shorter than what was given by exactly those characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageIndex {
    /// The serialised summary (ENVELOPE, BODYSTRUCTURE, sent date; JSON).
    pub summary: String,
    /// Decoded, lower-cased header fields, `name: value` per line.
    pub header_text: String,
    /// Decoded, lower-cased body text.
    pub body_text: String,
}

impl MessageIndex {
    /// `(summary, header_text, body_text)` as stored: without NUL characters.
    pub(crate) fn stored_texts(&self) -> (Cow<'_, str>, Cow<'_, str>, Cow<'_, str>) {
        (
            without_nul(&self.summary),
            without_nul(&self.header_text),
            without_nul(&self.body_text),
        )
    }
}

/// `text` without NUL characters: how the message index texts, and the needles searched
/// for in them, are stored and compared (PostgreSQL `TEXT` cannot hold NUL).
pub(crate) fn without_nul(text: &str) -> Cow<'_, str> {
    if text.contains('\0') {
        Cow::Owned(text.replace('\0', ""))
    } else {
        Cow::Borrowed(text)
    }
}

/// Counts of one mailbox for STATUS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct MailboxCounts {
    /// Messages.
    pub messages: u64,
    /// Messages without `\Seen`.
    pub unseen: u64,
    /// Messages with `\Deleted`.
    pub deleted: u64,
    /// Sum of their sizes.
    pub size: u64,
}

/// How `store_flags` combines the given flags with the current ones (RFC 9051 §6.4.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlagOp {
    /// `FLAGS`: replace.
    Replace,
    /// `+FLAGS`: add.
    Add,
    /// `-FLAGS`: remove.
    Remove,
}

/// What kind of change a change-log row records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ChangeKind {
    /// A message was appended (or copied/moved in).
    Appended,
    /// Flags or keywords of a message changed.
    Flags,
    /// A message was expunged.
    Expunged,
}

/// One row of a mailbox's change log (for CONDSTORE/QRESYNC and notifications).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// MODSEQ of the change (strictly ascending per mailbox).
    pub modseq: ModSeq,
    /// The message.
    pub uid: Uid,
    /// What happened.
    pub kind: ChangeKind,
}

/// `RET=` of MAIL FROM (RFC 3461 §4.3): how much of the message a DSN returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum DsnRet {
    /// `RET=FULL`: the whole message.
    Full,
    /// `RET=HDRS`: only its header.
    Hdrs,
}

impl DsnRet {
    /// The stored form: `full` or `hdrs`.
    pub fn as_str(self) -> &'static str {
        match self {
            DsnRet::Full => "full",
            DsnRet::Hdrs => "hdrs",
        }
    }

    /// Parses the stored form (case-insensitive).
    pub fn parse(s: &str) -> Option<Self> {
        [DsnRet::Full, DsnRet::Hdrs]
            .into_iter()
            .find(|r| r.as_str().eq_ignore_ascii_case(s))
    }

    /// The stored form read back; `Corrupt` when it is none of the values.
    pub(crate) fn from_stored(s: &str) -> Result<Self> {
        Self::parse(s).ok_or_else(|| StoreError::Corrupt(format!("unknown DSN RET {s:?}")))
    }
}

/// The `Action` field of a per-recipient DSN part (RFC 3464 §2.3.3 `action-value`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum DsnAction {
    /// `failed`: the message could not be delivered.
    Failed,
    /// `delayed`: not delivered yet, still being tried.
    Delayed,
    /// `delivered`: delivered to the recipient's mailbox (RFC 3461 §6.2.2, the only
    /// notification local delivery owes: its failures are answered in the SMTP session).
    Delivered,
    /// `relayed`: passed to a system that does not return DSNs.
    Relayed,
    /// `expanded`: delivered to a list or alias that expanded it to several recipients.
    Expanded,
}

impl DsnAction {
    /// The RFC 3464 `action-value`, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            DsnAction::Failed => "failed",
            DsnAction::Delayed => "delayed",
            DsnAction::Delivered => "delivered",
            DsnAction::Relayed => "relayed",
            DsnAction::Expanded => "expanded",
        }
    }

    /// Parses an `action-value` (case-insensitive, as RFC 3464 §2.3.3 allows).
    pub fn parse(s: &str) -> Option<Self> {
        [
            DsnAction::Failed,
            DsnAction::Delayed,
            DsnAction::Delivered,
            DsnAction::Relayed,
            DsnAction::Expanded,
        ]
        .into_iter()
        .find(|a| a.as_str().eq_ignore_ascii_case(s))
    }

    /// The stored form read back; `Corrupt` when it is none of the values.
    pub(crate) fn from_stored(s: &str) -> Result<Self> {
        Self::parse(s).ok_or_else(|| StoreError::Corrupt(format!("unknown DSN action {s:?}")))
    }
}

/// `ORCPT=addr-type;xtext` of RCPT TO (RFC 3461 §4.2), reported as the DSN's
/// `Original-Recipient` field (RFC 3464 §2.3.1).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct OriginalRecipient {
    /// The address type as sent, usually `rfc822`.
    pub addr_type: String,
    /// The original recipient, xtext-decoded.
    pub address: String,
}

impl OriginalRecipient {
    /// The pair of nullable columns (`orcpt_type`, `orcpt`) read back: both or neither,
    /// else `Corrupt`.
    pub(crate) fn from_stored(
        addr_type: Option<String>,
        address: Option<String>,
    ) -> Result<Option<Self>> {
        match (addr_type, address) {
            (Some(addr_type), Some(address)) => Ok(Some(OriginalRecipient { addr_type, address })),
            (None, None) => Ok(None),
            _ => Err(StoreError::Corrupt(
                "DSN request with half an original recipient".into(),
            )),
        }
    }
}

/// A delivery status notification a delivery still owes its sender, kept with the message
/// until the outbound queue sends it as an RFC 3464 `multipart/report` and deletes it.
///
/// Local delivery answers failures in the SMTP session (4xx/5xx), so the one notification
/// it can owe is RFC 3461 §6.2.2's "delivered" (`Action: delivered`) for a recipient whose
/// `NOTIFY=` includes `SUCCESS`: one request per such accepted RCPT, written in the same
/// transaction as the messages ([`crate::MetaStore::deliver`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DsnRequest {
    /// Row id.
    pub id: DsnRequestId,
    /// The message as delivered (for `RET`, RFC 3461 §4.3). Keeps the blob referenced.
    pub blob_id: BlobId,
    /// The reverse path of MAIL FROM without `<>`, where the DSN goes; empty for the null
    /// sender (to which no DSN can be sent).
    pub mail_from: String,
    /// `ENVID=`, xtext-decoded: the DSN's `Original-Envelope-Id` (RFC 3464 §2.2.1).
    pub envid: Option<String>,
    /// `RET=`: whether the DSN returns the full message or its header only.
    pub ret: Option<DsnRet>,
    /// The recipient as accepted: the DSN's `Final-Recipient` (RFC 3464 §2.3.2).
    pub recipient: String,
    /// `ORCPT=`: the DSN's `Original-Recipient` (RFC 3464 §2.3.1).
    pub original_recipient: Option<OriginalRecipient>,
    /// The DSN's `Action` (RFC 3464 §2.3.3).
    pub action: DsnAction,
    /// When the message arrived (the DSN's `Arrival-Date`, RFC 3464 §2.2.5); requests are
    /// handed out oldest first.
    pub created_at: UnixTime,
}

/// What is needed to record a [`DsnRequest`]; see there for the fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDsnRequest {
    /// The message, already written to the blob store.
    pub blob_id: BlobId,
    /// Reverse path without `<>`, empty for the null sender.
    pub mail_from: String,
    /// `ENVID=`, decoded (`Original-Envelope-Id`).
    pub envid: Option<String>,
    /// `RET=`.
    pub ret: Option<DsnRet>,
    /// The recipient as accepted (`Final-Recipient`), not empty.
    pub recipient: String,
    /// `ORCPT=` (`Original-Recipient`).
    pub original_recipient: Option<OriginalRecipient>,
    /// `Action`.
    pub action: DsnAction,
    /// Arrival time.
    pub created_at: UnixTime,
}

impl NewDsnRequest {
    /// `Invalid` for a request no backend can store alike: an empty recipient, or a NUL
    /// character in any text (xtext can carry one; a PostgreSQL `TEXT` cannot, so SQLite
    /// refuses it too).
    pub(crate) fn check(&self) -> Result<()> {
        if self.recipient.is_empty() {
            return Err(StoreError::Invalid("DSN request without recipient".into()));
        }
        let mut texts = vec![
            ("mail from", &self.mail_from),
            ("recipient", &self.recipient),
        ];
        if let Some(envid) = &self.envid {
            texts.push(("envid", envid));
        }
        if let Some(o) = &self.original_recipient {
            texts.push(("orcpt address type", &o.addr_type));
            texts.push(("orcpt", &o.address));
        }
        match texts.into_iter().find(|(_, t)| t.contains('\0')) {
            Some((what, _)) => Err(StoreError::Invalid(format!(
                "DSN request {what} holds a NUL character"
            ))),
            None => Ok(()),
        }
    }
}

// --- DKIM keys ------------------------------------------------------------------------------

/// The algorithm of a DKIM key (RFC 6376 §3.3, RFC 8463).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum DkimAlgorithm {
    /// RSA (`k=rsa`, signed as `rsa-sha256`).
    Rsa,
    /// Ed25519 (`k=ed25519`, signed as `ed25519-sha256`, RFC 8463).
    Ed25519,
}

impl DkimAlgorithm {
    /// The stored form and the `k=` tag value: `rsa` or `ed25519`.
    pub fn as_str(self) -> &'static str {
        match self {
            DkimAlgorithm::Rsa => "rsa",
            DkimAlgorithm::Ed25519 => "ed25519",
        }
    }

    /// Parses the stored form (case-insensitive).
    pub fn parse(s: &str) -> Option<Self> {
        [DkimAlgorithm::Rsa, DkimAlgorithm::Ed25519]
            .into_iter()
            .find(|a| a.as_str().eq_ignore_ascii_case(s))
    }

    /// The stored form read back; `Corrupt` when it is none of the values.
    pub(crate) fn from_stored(s: &str) -> Result<Self> {
        Self::parse(s).ok_or_else(|| StoreError::Corrupt(format!("unknown DKIM algorithm {s:?}")))
    }
}

/// A DKIM signing key of a domain, published at `<selector>._domainkey.<domain>`.
///
/// Keys live in the store (and so in backups). A domain signs with every *active* key;
/// rotation adds new keys and deactivates the old ones, which stay (for verifiers of mail
/// already sent) until removed.
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct DkimKey {
    /// Row id.
    pub id: DkimKeyId,
    /// The signing domain.
    pub domain_id: DomainId,
    /// The selector (`s=`), unique per domain.
    pub selector: String,
    /// RSA or Ed25519.
    pub algorithm: DkimAlgorithm,
    /// The private key, PKCS#8 DER.
    #[serde(skip)]
    pub private_key: Vec<u8>,
    /// The public key as published in `p=` (before base64): SubjectPublicKeyInfo DER for
    /// RSA, the raw 32 bytes for Ed25519 (RFC 8463 §4.2).
    pub public_key: Vec<u8>,
    /// When it was created.
    pub created_at: UnixTime,
    /// Outgoing mail is signed with it.
    pub active: bool,
}

impl std::fmt::Debug for DkimKey {
    /// Never prints the private key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DkimKey")
            .field("id", &self.id)
            .field("domain_id", &self.domain_id)
            .field("selector", &self.selector)
            .field("algorithm", &self.algorithm)
            .field("created_at", &self.created_at)
            .field("active", &self.active)
            .finish_non_exhaustive()
    }
}

/// What is needed to store a DKIM key (active from the start).
#[derive(Clone)]
pub struct NewDkimKey {
    /// The signing domain.
    pub domain_id: DomainId,
    /// Selector, unique per domain (`Conflict` otherwise).
    pub selector: String,
    /// RSA or Ed25519.
    pub algorithm: DkimAlgorithm,
    /// PKCS#8 DER.
    pub private_key: Vec<u8>,
    /// As [`DkimKey::public_key`].
    pub public_key: Vec<u8>,
}

impl NewDkimKey {
    /// `Invalid` for a key no backend can store alike: an empty selector or key, or a NUL
    /// character in the selector (a PostgreSQL `TEXT` cannot hold one, so SQLite refuses
    /// it too).
    pub(crate) fn check(&self) -> Result<()> {
        if self.selector.is_empty() {
            return Err(StoreError::Invalid("DKIM key without selector".into()));
        }
        if self.selector.contains('\0') {
            return Err(StoreError::Invalid(
                "DKIM selector holds a NUL character".into(),
            ));
        }
        if self.private_key.is_empty() || self.public_key.is_empty() {
            return Err(StoreError::Invalid("DKIM key without key material".into()));
        }
        Ok(())
    }
}

// --- outbound queue -------------------------------------------------------------------------

/// `NOTIFY=` of a queued recipient (RFC 3461 §4.1) as a bit set; empty = not given (then
/// failures and delays are reported, as §4.1 allows and Postfix does).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize)]
pub struct NotifyFlags(pub u8);

impl NotifyFlags {
    /// `SUCCESS`
    pub const SUCCESS: NotifyFlags = NotifyFlags(1);
    /// `FAILURE`
    pub const FAILURE: NotifyFlags = NotifyFlags(2);
    /// `DELAY`
    pub const DELAY: NotifyFlags = NotifyFlags(4);
    /// `NEVER`
    pub const NEVER: NotifyFlags = NotifyFlags(8);
    /// Not given.
    pub const UNSET: NotifyFlags = NotifyFlags(0);

    /// True when every bit of `other` is set.
    pub fn contains(self, other: NotifyFlags) -> bool {
        self.0 & other.0 == other.0
    }

    /// Union.
    pub fn union(self, other: NotifyFlags) -> NotifyFlags {
        NotifyFlags(self.0 | other.0)
    }

    /// Whether a failure DSN is owed: FAILURE given, or NOTIFY not given at all.
    pub fn wants_failure(self) -> bool {
        self == NotifyFlags::UNSET || self.contains(NotifyFlags::FAILURE)
    }

    /// Whether a delay notice is owed: DELAY given, or NOTIFY not given at all.
    pub fn wants_delay(self) -> bool {
        self == NotifyFlags::UNSET || self.contains(NotifyFlags::DELAY)
    }

    /// Whether a success DSN is owed: SUCCESS given.
    pub fn wants_success(self) -> bool {
        self.contains(NotifyFlags::SUCCESS)
    }
}

/// Where one queued recipient stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum RecipientStatus {
    /// Not delivered yet; tried again at `next_attempt`.
    Pending,
    /// Accepted by the next hop (or delivered locally): final.
    Delivered,
    /// Permanently failed (5xx, null MX, expired): final; a DSN was queued if owed.
    Failed,
}

impl RecipientStatus {
    /// The stored form: `pending`, `delivered` or `failed`.
    pub fn as_str(self) -> &'static str {
        match self {
            RecipientStatus::Pending => "pending",
            RecipientStatus::Delivered => "delivered",
            RecipientStatus::Failed => "failed",
        }
    }

    /// Parses the stored form.
    pub fn parse(s: &str) -> Option<Self> {
        [
            RecipientStatus::Pending,
            RecipientStatus::Delivered,
            RecipientStatus::Failed,
        ]
        .into_iter()
        .find(|a| a.as_str() == s)
    }

    /// The stored form read back; `Corrupt` when it is none of the values.
    pub(crate) fn from_stored(s: &str) -> Result<Self> {
        Self::parse(s).ok_or_else(|| StoreError::Corrupt(format!("unknown recipient status {s:?}")))
    }

    /// Delivered or failed.
    pub fn is_final(self) -> bool {
        self != RecipientStatus::Pending
    }
}

/// A recipient to queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewQueuedRecipient {
    /// The forward path without `<>`, as it is sent in RCPT TO.
    pub address: String,
    /// `ORCPT=`, reported as `Original-Recipient`.
    pub original_recipient: Option<OriginalRecipient>,
    /// `NOTIFY=`.
    pub notify: NotifyFlags,
}

/// A message to queue for delivery to other servers (or to local mailboxes, for DSNs to
/// local senders): the blob is already durable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewQueuedMessage {
    /// The raw message as it is to be sent (signed, trace headers added).
    pub blob_id: BlobId,
    /// Its size in octets.
    pub size: u64,
    /// The reverse path without `<>`, `""` for the null sender (DSNs and other
    /// notifications: a failure of such a message is never reported).
    pub mail_from: String,
    /// `ENVID=`, decoded.
    pub envid: Option<String>,
    /// `RET=`.
    pub ret: Option<DsnRet>,
    /// The message needs `BODY=8BITMIME` (it has 8-bit octets).
    pub body_8bit: bool,
    /// The envelope needs `SMTPUTF8`.
    pub smtputf8: bool,
    /// `REQUIRETLS` (RFC 8689): deliver only over verified TLS to a server offering it.
    pub requiretls: bool,
    /// The account that submitted it, if any (for `queue list` and per-account limits).
    pub submitter: Option<AccountId>,
    /// When it was accepted (the DSN's Arrival-Date; expiry counts from here).
    pub created_at: UnixTime,
    /// First attempt (normally `created_at`).
    pub next_attempt: UnixTime,
    /// At least one.
    pub recipients: Vec<NewQueuedRecipient>,
}

impl NewQueuedMessage {
    /// `Invalid` for a message no backend can store alike: no recipient, an empty
    /// recipient address, a size beyond the 63 bits of an integer column, or a NUL
    /// character in any text (xtext can carry one; a PostgreSQL `TEXT` cannot, so SQLite
    /// refuses it too).
    pub(crate) fn check(&self) -> Result<()> {
        if self.recipients.is_empty() {
            return Err(StoreError::Invalid(
                "queued message without recipients".into(),
            ));
        }
        if i64::try_from(self.size).is_err() {
            return Err(StoreError::Invalid(format!(
                "queued message size {} is too large",
                self.size
            )));
        }
        let mut texts = vec![("mail from", &self.mail_from)];
        if let Some(envid) = &self.envid {
            texts.push(("envid", envid));
        }
        for r in &self.recipients {
            if r.address.is_empty() {
                return Err(StoreError::Invalid(
                    "queued recipient without address".into(),
                ));
            }
            texts.push(("recipient", &r.address));
            if let Some(o) = &r.original_recipient {
                texts.push(("orcpt address type", &o.addr_type));
                texts.push(("orcpt", &o.address));
            }
        }
        match texts.into_iter().find(|(_, t)| t.contains('\0')) {
            Some((what, _)) => Err(StoreError::Invalid(format!(
                "queued message {what} holds a NUL character"
            ))),
            None => Ok(()),
        }
    }
}

/// One recipient of a queued message and its delivery state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QueuedRecipient {
    /// Row id.
    pub id: QueueRecipientId,
    /// Forward path without `<>`.
    pub address: String,
    /// `ORCPT=`.
    pub original_recipient: Option<OriginalRecipient>,
    /// `NOTIFY=`.
    pub notify: NotifyFlags,
    /// Where it stands.
    pub status: RecipientStatus,
    /// Delivery attempts made so far.
    pub attempts: u32,
    /// When it is due again (pending recipients only).
    pub next_attempt: UnixTime,
    /// The last attempt, if any.
    pub last_attempt: Option<UnixTime>,
    /// The last error (or, when delivered, the accepting reply), for `queue show` and DSNs.
    pub last_error: Option<String>,
    /// A delay notice was sent for it already (one per recipient).
    pub delay_notified: bool,
}

/// A message in the outbound queue with all its recipients.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QueuedMessage {
    /// Row id (the queue id shown by `queue list`).
    pub id: QueueId,
    /// The raw message.
    pub blob_id: BlobId,
    /// Size in octets.
    pub size: u64,
    /// Reverse path without `<>`, `""` for the null sender.
    pub mail_from: String,
    /// `ENVID=`.
    pub envid: Option<String>,
    /// `RET=`.
    pub ret: Option<DsnRet>,
    /// Needs `BODY=8BITMIME`.
    pub body_8bit: bool,
    /// Needs `SMTPUTF8`.
    pub smtputf8: bool,
    /// `REQUIRETLS`.
    pub requiretls: bool,
    /// Submitting account.
    pub submitter: Option<AccountId>,
    /// Accepted at.
    pub created_at: UnixTime,
    /// Leased by a worker until then (`None`: free).
    pub lease_until: Option<UnixTime>,
    /// Recipients in the order queued (ascending id).
    pub recipients: Vec<QueuedRecipient>,
}

/// The outcome of one attempt for one recipient, written by [`crate::MetaStore::queue_complete`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecipientUpdate {
    /// The recipient.
    pub id: QueueRecipientId,
    /// New status.
    pub status: RecipientStatus,
    /// Whether an attempt was made (counts in `attempts`, sets `last_attempt`).
    pub attempted: bool,
    /// When it is due next (for `Pending`).
    pub next_attempt: UnixTime,
    /// The reply or error text.
    pub last_error: Option<String>,
    /// Set when a delay notice is queued for it now.
    pub delay_notified: bool,
}

impl RecipientUpdate {
    /// `Invalid` when `updates` name one recipient twice (which of the two would win is
    /// not something backends can agree on in one statement).
    pub(crate) fn check_all(updates: &[RecipientUpdate]) -> Result<()> {
        let mut seen = std::collections::HashSet::with_capacity(updates.len());
        match updates.iter().find(|u| !seen.insert(u.id)) {
            Some(u) => Err(StoreError::Invalid(format!(
                "queue recipient {} is updated twice",
                u.id
            ))),
            None => Ok(()),
        }
    }

    /// `last_error` as stored: without NUL characters (the text comes from a remote
    /// server, and a PostgreSQL `TEXT` cannot hold NUL).
    pub(crate) fn stored_error(&self) -> Option<Cow<'_, str>> {
        self.last_error.as_deref().map(without_nul)
    }
}

/// Size of the queue, for `queue list` summaries and metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct QueueStats {
    /// Messages in the queue.
    pub messages: u64,
    /// Recipients still pending.
    pub pending_recipients: u64,
    /// `created_at` of the oldest message.
    pub oldest: Option<UnixTime>,
}

// --- server secrets -------------------------------------------------------------------------

/// `Invalid` for a secret name no backend can store alike: empty, or holding a NUL
/// character (a PostgreSQL `TEXT` cannot).
pub(crate) fn check_secret_name(name: &str) -> Result<()> {
    if name.is_empty() || name.contains('\0') {
        return Err(StoreError::Invalid(format!("secret name {name:?}")));
    }
    Ok(())
}

// --- spam -------------------------------------------------------------------------------

/// Per-account spam settings (Mailu's `spam_enabled`, `spam_threshold`,
/// `spam_mark_as_read`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SpamSettings {
    /// Filter this account's mail (file spam in Junk).
    pub enabled: bool,
    /// 0–100: a message whose score is more than this percent of the reject score is
    /// spam to this account.
    pub threshold: u8,
    /// Mark messages filed in Junk as read (`\Seen`).
    pub mark_as_read: bool,
}

impl Default for SpamSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            threshold: 80,
            mark_as_read: false,
        }
    }
}

/// Which Bayes model: the server's or an account's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BayesModel {
    /// The global model, trained by every account.
    Global,
    /// One account's own model.
    Account(AccountId),
}

/// The class a message is learned as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BayesClass {
    /// Unwanted.
    Spam,
    /// Wanted.
    Ham,
}

/// Counts of one feature in a model.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BayesCounts {
    /// Learned spam messages that had the feature.
    pub spam: u32,
    /// Learned ham messages that had it.
    pub ham: u32,
}

/// How many messages a model has learned.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BayesTotals {
    /// Spam.
    pub spam: u64,
    /// Ham.
    pub ham: u64,
}

/// What [`crate::MetaStore::bayes_learn`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LearnOutcome {
    /// First time: counts added.
    Learned,
    /// Had been learned as the other class: moved over.
    Relearned,
    /// Already learned as this class: nothing changed.
    AlreadyKnown,
}

/// Greylisting timings (seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GreylistPolicy {
    /// How long a new triplet is deferred (RFC 6647 §4.2: typically minutes).
    pub delay: u64,
    /// How long after first sight a retry still counts; later, it starts over.
    pub retry_window: u64,
    /// How long a passed triplet stays passed after its last use.
    pub pass_lifetime: u64,
}

/// The answer of [`crate::MetaStore::greylist_check`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GreylistOutcome {
    /// Let it through.
    Pass,
    /// Defer: try again in this many seconds.
    Defer {
        /// Seconds until a retry would pass.
        retry_after: u64,
    },
}

impl SpamSettings {
    /// `Invalid` for a threshold above 100.
    pub(crate) fn check(&self) -> Result<()> {
        if self.threshold > 100 {
            return Err(StoreError::Invalid(format!(
                "spam threshold {} is above 100",
                self.threshold
            )));
        }
        Ok(())
    }
}

impl BayesModel {
    /// The `model_id` column: 0 for the global model, else the account id (account ids
    /// start at 1 in both backends: `AUTOINCREMENT` and identity columns). `Invalid` for
    /// an account id that is not positive, which would read or write the global model.
    pub(crate) fn stored_id(self) -> Result<i64> {
        match self {
            BayesModel::Global => Ok(0),
            BayesModel::Account(id) if id.0 > 0 => Ok(id.0),
            BayesModel::Account(id) => Err(StoreError::Invalid(format!(
                "account id {id} cannot have a Bayes model"
            ))),
        }
    }

    /// The account whose model this is.
    pub(crate) fn account(self) -> Option<AccountId> {
        match self {
            BayesModel::Global => None,
            BayesModel::Account(id) => Some(id),
        }
    }
}

impl BayesClass {
    /// The stored form: `spam` or `ham`.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            BayesClass::Spam => "spam",
            BayesClass::Ham => "ham",
        }
    }

    /// The stored form read back; `Corrupt` when it is neither.
    pub(crate) fn from_stored(s: &str) -> Result<Self> {
        match s {
            "spam" => Ok(BayesClass::Spam),
            "ham" => Ok(BayesClass::Ham),
            other => Err(StoreError::Corrupt(format!(
                "unknown Bayes class {other:?}"
            ))),
        }
    }
}

/// The longest `message_key` (bytes) [`crate::MetaStore::bayes_learn`] takes: a blob id is
/// 64 hex digits; the bound keeps the key within any backend's index entry size.
const MAX_MESSAGE_KEY_LEN: usize = 255;

/// `Invalid` for a Bayes message key no backend can store alike: empty, longer than
/// [`MAX_MESSAGE_KEY_LEN`], or holding a NUL character (a PostgreSQL `TEXT` cannot).
pub(crate) fn check_message_key(key: &str) -> Result<()> {
    if key.is_empty() || key.len() > MAX_MESSAGE_KEY_LEN || key.contains('\0') {
        return Err(StoreError::Invalid(format!("Bayes message key {key:?}")));
    }
    Ok(())
}

/// The features as stored: the `u64` as the `i64` of the same bits (SQL integers are
/// signed), sorted and without duplicates. A message counts once per feature however
/// often the caller names it; the order is the order rows are locked in (PostgreSQL),
/// the same for every transaction, so concurrent learns cannot deadlock on them.
pub(crate) fn stored_features(features: &[u64]) -> Vec<i64> {
    let mut stored: Vec<i64> = features.iter().map(|&f| stored_feature(f)).collect();
    stored.sort_unstable();
    stored.dedup();
    stored
}

/// One feature as stored: the same 64 bits as an `i64`.
pub(crate) fn stored_feature(feature: u64) -> i64 {
    i64::from_ne_bytes(feature.to_ne_bytes())
}

/// A stored feature read back: the same 64 bits as a `u64`.
pub(crate) fn feature_from_stored(stored: i64) -> u64 {
    u64::from_ne_bytes(stored.to_ne_bytes())
}

/// What one [`crate::MetaStore::bayes_learn`] changes, decided from the class the
/// message was learned as before (if any): the same for every backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LearnPlan {
    /// What the caller is told.
    pub outcome: LearnOutcome,
    /// Added to the spam count of every feature and to the spam total (clamped at 0).
    pub spam_delta: i32,
    /// Added to the ham count of every feature and to the ham total (clamped at 0).
    pub ham_delta: i32,
}

impl LearnPlan {
    /// The plan for learning a message as `class` that was learned as `previous`.
    ///
    /// Relearning takes one back from the old class and adds one to the new, for the
    /// features given now: the caller passes the same features as the first time (the
    /// message bytes are immutable and features deterministic), so no features are
    /// stored per message. Every learn adds one to each feature it names, so no count row
    /// ever ends at zero spam and zero ham: rows never need to be cleaned up.
    pub(crate) fn new(previous: Option<BayesClass>, class: BayesClass) -> Self {
        let (spam_delta, ham_delta) = match (previous, class) {
            (Some(p), c) if p == c => (0, 0),
            (Some(_), BayesClass::Spam) => (1, -1),
            (Some(_), BayesClass::Ham) => (-1, 1),
            (None, BayesClass::Spam) => (1, 0),
            (None, BayesClass::Ham) => (0, 1),
        };
        let outcome = match previous {
            None => LearnOutcome::Learned,
            Some(p) if p == class => LearnOutcome::AlreadyKnown,
            Some(_) => LearnOutcome::Relearned,
        };
        LearnPlan {
            outcome,
            spam_delta,
            ham_delta,
        }
    }

    /// The counts a feature row gets when it is new: the deltas, not below zero.
    pub(crate) fn initial(&self) -> (i32, i32) {
        (self.spam_delta.max(0), self.ham_delta.max(0))
    }
}

/// The longest greylist triplet (bytes) [`crate::MetaStore::greylist_check`] takes: an IP
/// network, a reverse path and a forward path (256 octets each at most, RFC 5321
/// §4.5.3.1.3) fit well within it.
const MAX_TRIPLET_LEN: usize = 1024;

/// `Invalid` for a triplet no backend can store alike: empty, longer than
/// [`MAX_TRIPLET_LEN`], or holding a NUL character.
pub(crate) fn check_triplet(triplet: &str) -> Result<()> {
    if triplet.is_empty() || triplet.len() > MAX_TRIPLET_LEN || triplet.contains('\0') {
        return Err(StoreError::Invalid(format!("greylist triplet {triplet:?}")));
    }
    Ok(())
}

/// One stored greylist entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct GreylistEntry {
    /// When the triplet was first seen (of this round: an expired entry starts over).
    pub first_seen: UnixTime,
    /// When it was last let through (`first_seen` until it passes).
    pub last_seen: UnixTime,
    /// Whether it has passed (retried after the delay).
    pub passed: bool,
}

impl GreylistPolicy {
    /// A number of seconds as a [`UnixTime`] difference (saturating: a policy of more
    /// than `i64::MAX` seconds is "forever").
    fn secs(value: u64) -> i64 {
        i64::try_from(value).unwrap_or(i64::MAX)
    }

    /// Whether `entry` has expired at `now`: not passed and retried later than
    /// `retry_window` after the first sight, or passed and unused for longer than
    /// `pass_lifetime`. Expired entries start over and are removed by the prune.
    pub(crate) fn is_expired(&self, entry: &GreylistEntry, now: UnixTime) -> bool {
        if entry.passed {
            now > entry
                .last_seen
                .saturating_add(Self::secs(self.pass_lifetime))
        } else {
            now > entry
                .first_seen
                .saturating_add(Self::secs(self.retry_window))
        }
    }

    /// The prune's bounds at `now`: entries not passed whose `first_seen` is below the
    /// first, and passed entries whose `last_seen` is below the second, have expired
    /// (the same condition as [`GreylistPolicy::is_expired`], written for an index-free
    /// `DELETE`).
    pub(crate) fn prune_bounds(&self, now: UnixTime) -> (UnixTime, UnixTime) {
        (
            now.saturating_sub(Self::secs(self.retry_window)),
            now.saturating_sub(Self::secs(self.pass_lifetime)),
        )
    }

    /// The answer for a triplet never seen (or whose entry expired), and its new entry:
    /// RFC 6647 §2.2, a new triplet is deferred and remembered.
    pub(crate) fn first_sight(&self, now: UnixTime) -> (GreylistOutcome, GreylistEntry) {
        let outcome = GreylistOutcome::Defer {
            retry_after: self.delay,
        };
        let fresh = GreylistEntry {
            first_seen: now,
            last_seen: now,
            passed: false,
        };
        (outcome, fresh)
    }

    /// The answer for a triplet whose stored entry is `entry` (`None`: never seen), and
    /// the entry to store (`None`: leave it as it is). See
    /// [`crate::MetaStore::greylist_check`]; every backend decides here.
    pub(crate) fn decide(
        &self,
        entry: Option<GreylistEntry>,
        now: UnixTime,
    ) -> (GreylistOutcome, Option<GreylistEntry>) {
        let Some(entry) = entry.filter(|e| !self.is_expired(e, now)) else {
            let (outcome, fresh) = self.first_sight(now);
            return (outcome, Some(fresh));
        };
        let due = entry.first_seen.saturating_add(Self::secs(self.delay));
        if !entry.passed && now < due {
            // Too early: the entry stays as it was (its first sight is what counts).
            let outcome = GreylistOutcome::Defer {
                retry_after: due.abs_diff(now),
            };
            return (outcome, None);
        }
        // Passed now, or passed before and still within its lifetime. A node whose clock
        // is behind never moves the last use back.
        let used = GreylistEntry {
            first_seen: entry.first_seen,
            last_seen: entry.last_seen.max(now),
            passed: true,
        };
        (GreylistOutcome::Pass, Some(used))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: GreylistPolicy = GreylistPolicy {
        delay: 300,
        retry_window: 4 * 3600,
        pass_lifetime: 30 * 86400,
    };

    fn entry(first_seen: UnixTime, last_seen: UnixTime, passed: bool) -> GreylistEntry {
        GreylistEntry {
            first_seen,
            last_seen,
            passed,
        }
    }

    #[test]
    fn greylist_decisions_follow_the_entry_and_the_clock() {
        let t = 1_700_000_000;
        let defer = |retry_after| GreylistOutcome::Defer { retry_after };
        let table = [
            // (stored entry, now, outcome, entry written)
            (None, t, defer(300), Some(entry(t, t, false))),
            (Some(entry(t, t, false)), t + 10, defer(290), None),
            (Some(entry(t, t, false)), t + 299, defer(1), None),
            (
                Some(entry(t, t, false)),
                t + 300,
                GreylistOutcome::Pass,
                Some(entry(t, t + 300, true)),
            ),
            (
                Some(entry(t, t, false)),
                t + 4 * 3600,
                GreylistOutcome::Pass,
                Some(entry(t, t + 4 * 3600, true)),
            ),
            // Retried after the window: starts over.
            (
                Some(entry(t, t, false)),
                t + 4 * 3600 + 1,
                defer(300),
                Some(entry(t + 4 * 3600 + 1, t + 4 * 3600 + 1, false)),
            ),
            // Passed and used within its lifetime, even long after the window.
            (
                Some(entry(t, t + 86400, true)),
                t + 20 * 86400,
                GreylistOutcome::Pass,
                Some(entry(t, t + 20 * 86400, true)),
            ),
            // Passed but unused for longer than its lifetime: starts over.
            (
                Some(entry(t, t + 300, true)),
                t + 300 + 30 * 86400 + 1,
                defer(300),
                Some(entry(
                    t + 300 + 30 * 86400 + 1,
                    t + 300 + 30 * 86400 + 1,
                    false,
                )),
            ),
            // A node whose clock is behind: still deferred, for longer.
            (Some(entry(t, t, false)), t - 100, defer(400), None),
            // ... and never moves a passed entry's last use back.
            (
                Some(entry(t, t + 1000, true)),
                t + 500,
                GreylistOutcome::Pass,
                Some(entry(t, t + 1000, true)),
            ),
        ];
        for (stored, now, outcome, written) in table {
            assert_eq!(
                POLICY.decide(stored, now),
                (outcome, written),
                "{stored:?} at {now}"
            );
        }
    }

    #[test]
    fn prune_bounds_match_expiry() {
        let now = 1_700_000_000;
        let (first_before, last_before) = POLICY.prune_bounds(now);
        for offset in -2..=2 {
            let pending = entry(first_before + offset, first_before + offset, false);
            assert_eq!(POLICY.is_expired(&pending, now), offset < 0, "{offset}");
            let passed = entry(0, last_before + offset, true);
            assert_eq!(POLICY.is_expired(&passed, now), offset < 0, "{offset}");
        }
        let forever = GreylistPolicy {
            delay: u64::MAX,
            retry_window: u64::MAX,
            pass_lifetime: u64::MAX,
        };
        assert!(!forever.is_expired(&entry(0, 0, false), i64::MAX));
        assert_eq!(
            forever.decide(Some(entry(0, 0, false)), 10).0,
            GreylistOutcome::Defer {
                retry_after: i64::MAX as u64 - 10
            }
        );
    }

    #[test]
    fn learn_plans_move_counts_between_classes() {
        use BayesClass::{Ham, Spam};
        let table = [
            (None, Spam, LearnOutcome::Learned, 1, 0),
            (None, Ham, LearnOutcome::Learned, 0, 1),
            (Some(Spam), Spam, LearnOutcome::AlreadyKnown, 0, 0),
            (Some(Ham), Ham, LearnOutcome::AlreadyKnown, 0, 0),
            (Some(Ham), Spam, LearnOutcome::Relearned, 1, -1),
            (Some(Spam), Ham, LearnOutcome::Relearned, -1, 1),
        ];
        for (previous, class, outcome, spam_delta, ham_delta) in table {
            let plan = LearnPlan::new(previous, class);
            assert_eq!(
                plan,
                LearnPlan {
                    outcome,
                    spam_delta,
                    ham_delta
                },
                "{previous:?} → {class:?}"
            );
            assert!(plan.initial().0 >= 0 && plan.initial().1 >= 0);
        }
    }

    #[test]
    fn features_are_stored_as_the_same_bits_sorted_once() {
        let features = [u64::MAX, 1, 1 << 63, 1, 0];
        let stored = stored_features(&features);
        assert_eq!(stored, vec![i64::MIN, -1, 0, 1]);
        for f in features {
            assert_eq!(feature_from_stored(stored_feature(f)), f);
        }
    }

    #[test]
    fn unstorable_keys_and_triplets_are_invalid() {
        assert!(check_message_key(&"a".repeat(64)).is_ok());
        for bad in ["", "a\0b", &"a".repeat(256)] {
            assert!(matches!(
                check_message_key(bad),
                Err(StoreError::Invalid(_))
            ));
        }
        assert!(check_triplet("192.0.2.0/24|a@example.org|b@example.net").is_ok());
        for bad in ["", "a\0b", &"a".repeat(1025)] {
            assert!(matches!(check_triplet(bad), Err(StoreError::Invalid(_))));
        }
        assert!(BayesModel::Account(AccountId(0)).stored_id().is_err());
        assert_eq!(BayesModel::Global.stored_id().ok(), Some(0));
        assert_eq!(BayesModel::Account(AccountId(7)).stored_id().ok(), Some(7));
    }
}
