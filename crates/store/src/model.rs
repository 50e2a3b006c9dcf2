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
