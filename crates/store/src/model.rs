//! Plain data rows of the store (no behaviour beyond small helpers).

use mailstead_types::{
    AccountId, Address, AliasId, AppPasswordId, BlobId, DomainId, DsnRequestId, MailboxId,
    MessageId, ModSeq, Uid, UidValidity,
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
