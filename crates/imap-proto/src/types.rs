//! The values of the protocol: commands the client sends, responses the server sends.
//!
//! Names follow RFC 9051 §9 (formal syntax). Strings that are octets on the wire and may
//! not be UTF-8 (mailbox names before decoding, literal message data) are `Vec<u8>`;
//! strings the protocol defines as ASCII or UTF-8 are `String`.

use serde::{Deserialize, Serialize};

/// A date-time as IMAP writes it (`"17-Jul-1996 02:44:25 -0700"`).
pub type DateTime = time::OffsetDateTime;
/// A date as IMAP writes it in SEARCH (`1-Feb-1994`).
pub type Date = time::Date;

/// One complete command: tag and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandLine {
    /// The client's tag (an `astring` without `+`).
    pub tag: String,
    /// What it asks for.
    pub command: Command,
}

/// A mailbox name as sent: raw octets of the `astring`. The server decodes it (modified
/// UTF-7 under IMAP4rev1, UTF-8 once `UTF8=ACCEPT`/IMAP4rev2 is enabled) and treats
/// `INBOX` case-insensitively.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MailboxName(pub Vec<u8>);

/// A system flag or keyword (RFC 9051 §2.3.2, `flag`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Flag {
    /// `\Seen`
    Seen,
    /// `\Answered`
    Answered,
    /// `\Flagged`
    Flagged,
    /// `\Deleted`
    Deleted,
    /// `\Draft`
    Draft,
    /// `\Recent` (IMAP4rev1 only; never stored by a client).
    Recent,
    /// `\*` in PERMANENTFLAGS: new keywords may be created.
    Wildcard,
    /// Another `\Name` (flag-extension); kept so the server can refuse it. Holds the
    /// name without the backslash (`\Foo` → `Extension("Foo")`).
    Extension(String),
    /// A keyword atom such as `$Forwarded` or `NonJunk`.
    Keyword(String),
}

/// One number of a sequence set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SeqNum {
    /// A message sequence number or UID (non-zero).
    Value(u32),
    /// `*`: the largest number in use.
    Star,
}

/// `seq-number` or `seq-range`; a single number has `start == end`. The order as sent is
/// kept (`4:2` means `2:4`, RFC 9051 §9 `seq-range`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SeqRange {
    /// First end as written.
    pub start: SeqNum,
    /// Second end as written.
    pub end: SeqNum,
}

/// `sequence-set`, or `$` (SEARCHRES, RFC 5182): the result saved by the last
/// `SEARCH RETURN (SAVE)`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SequenceSet {
    /// Ranges as written, in order, never empty.
    Ranges(Vec<SeqRange>),
    /// `$`.
    Saved,
}

/// `section-text` / `section-msgtext` of `BODY[...]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SectionText {
    /// `HEADER`
    Header,
    /// `HEADER.FIELDS (names)`; names as sent (compare case-insensitively).
    HeaderFields(Vec<String>),
    /// `HEADER.FIELDS.NOT (names)`
    HeaderFieldsNot(Vec<String>),
    /// `TEXT`
    Text,
    /// `MIME` (only after a part number).
    Mime,
}

/// `section` of `BODY[...]`: a part path (`1.2.3`, empty for the whole message) and
/// what of it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Section {
    /// Part numbers, each ≥ 1; empty = the whole message.
    pub part: Vec<u32>,
    /// `None` = the part's content (or, for an empty path, the whole message).
    pub text: Option<SectionText>,
}

/// `<origin.count>` of a partial fetch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Partial {
    /// First octet.
    pub origin: u32,
    /// Most octets returned (non-zero).
    pub count: u32,
}

/// One `fetch-att`. The macros `ALL`, `FAST` and `FULL` are expanded by the parser
/// (RFC 9051 §6.4.5).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum FetchAttr {
    /// `ENVELOPE`
    Envelope,
    /// `FLAGS`
    Flags,
    /// `INTERNALDATE`
    InternalDate,
    /// `RFC822` (= `BODY[]`, sets `\Seen`; IMAP4rev1)
    Rfc822,
    /// `RFC822.HEADER` (= `BODY.PEEK[HEADER]`)
    Rfc822Header,
    /// `RFC822.SIZE`
    Rfc822Size,
    /// `RFC822.TEXT` (= `BODY[TEXT]`, sets `\Seen`)
    Rfc822Text,
    /// `BODY` without a section: the non-extensible body structure.
    Body,
    /// `BODYSTRUCTURE`
    BodyStructure,
    /// `UID`
    Uid,
    /// `MODSEQ` (CONDSTORE)
    ModSeq,
    /// `BODY[section]<partial>` or `BODY.PEEK[...]`.
    BodySection {
        /// `BODY.PEEK`: does not set `\Seen`.
        peek: bool,
        /// Which part.
        section: Section,
        /// `<origin.count>`.
        partial: Option<Partial>,
    },
    /// `BINARY[part]<partial>` / `BINARY.PEEK[...]` (RFC 3516).
    Binary {
        /// `BINARY.PEEK`.
        peek: bool,
        /// Part path (empty = whole message).
        part: Vec<u32>,
        /// `<origin.count>`.
        partial: Option<Partial>,
    },
    /// `BINARY.SIZE[part]` (RFC 3516).
    BinarySize {
        /// Part path.
        part: Vec<u32>,
    },
}

/// Modifiers after the FETCH attributes (RFC 7162 §3.1.4, §3.2.6).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct FetchModifiers {
    /// `CHANGEDSINCE <modseq>`
    pub changed_since: Option<u64>,
    /// `VANISHED` (UID FETCH only, QRESYNC)
    pub vanished: bool,
}

/// How STORE combines flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StoreKind {
    /// `FLAGS`
    Replace,
    /// `+FLAGS`
    Add,
    /// `-FLAGS`
    Remove,
}

/// A SEARCH key (RFC 9051 §6.4.4). `And` is a parenthesised list or the top level.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SearchKey {
    /// `ALL`
    All,
    /// `ANSWERED`
    Answered,
    /// `BCC string`
    Bcc(String),
    /// `BEFORE date` (internal date)
    Before(Date),
    /// `BODY string`
    Body(String),
    /// `CC string`
    Cc(String),
    /// `DELETED`
    Deleted,
    /// `DRAFT`
    Draft,
    /// `FLAGGED`
    Flagged,
    /// `FROM string`
    From(String),
    /// `HEADER field-name string`
    Header(String, String),
    /// `KEYWORD flag-keyword`
    Keyword(String),
    /// `LARGER n`
    Larger(u64),
    /// `NEW` (rev1: RECENT UNSEEN)
    New,
    /// `NOT key`
    Not(Box<SearchKey>),
    /// `OLD` (rev1)
    Old,
    /// `ON date`
    On(Date),
    /// `OR key key`
    Or(Box<SearchKey>, Box<SearchKey>),
    /// `RECENT` (rev1)
    Recent,
    /// `SEEN`
    Seen,
    /// `SENTBEFORE date`
    SentBefore(Date),
    /// `SENTON date`
    SentOn(Date),
    /// `SENTSINCE date`
    SentSince(Date),
    /// `SINCE date`
    Since(Date),
    /// `SMALLER n`
    Smaller(u64),
    /// `SUBJECT string`
    Subject(String),
    /// `TEXT string`
    Text(String),
    /// `TO string`
    To(String),
    /// `UID sequence-set`
    Uid(SequenceSet),
    /// `UNANSWERED`
    Unanswered,
    /// `UNDELETED`
    Undeleted,
    /// `UNDRAFT`
    Undraft,
    /// `UNFLAGGED`
    Unflagged,
    /// `UNKEYWORD flag-keyword`
    Unkeyword(String),
    /// `UNSEEN`
    Unseen,
    /// A bare sequence set (message numbers).
    SequenceSet(SequenceSet),
    /// `MODSEQ [entry-name entry-type] n` (CONDSTORE); only the number matters here.
    ModSeq(u64),
    /// `( key key ... )` or the keys of the command, all of which must match.
    And(Vec<SearchKey>),
}

/// `RETURN (...)` options of ESEARCH (RFC 4731) and SEARCHRES (RFC 5182).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SearchReturn {
    /// `MIN`
    Min,
    /// `MAX`
    Max,
    /// `ALL`
    All,
    /// `COUNT`
    Count,
    /// `SAVE`
    Save,
}

/// A STATUS data item (RFC 9051 §6.3.11, RFC 7162, RFC 8438 `SIZE`, RFC 7889).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StatusItem {
    /// `MESSAGES`
    Messages,
    /// `RECENT` (rev1)
    Recent,
    /// `UIDNEXT`
    UidNext,
    /// `UIDVALIDITY`
    UidValidity,
    /// `UNSEEN`
    Unseen,
    /// `DELETED` (rev2)
    Deleted,
    /// `SIZE` (STATUS=SIZE, RFC 8438)
    Size,
    /// `HIGHESTMODSEQ` (CONDSTORE)
    HighestModSeq,
    /// `APPENDLIMIT` (RFC 7889)
    AppendLimit,
}

/// QRESYNC parameters of SELECT/EXAMINE (RFC 7162 §3.2.5).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct QresyncParams {
    /// The UIDVALIDITY the client last knew.
    pub uid_validity: u32,
    /// The mod-sequence the client last knew.
    pub mod_seq: u64,
    /// Known UIDs, if sent.
    pub known_uids: Option<SequenceSet>,
    /// Sequence match data `(seqs uids)`, if sent.
    pub seq_match: Option<(SequenceSet, SequenceSet)>,
}

/// Parameters of SELECT/EXAMINE.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct SelectParams {
    /// `(CONDSTORE)`
    pub condstore: bool,
    /// `(QRESYNC (...))`
    pub qresync: Option<QresyncParams>,
}

/// Selection options of LIST-EXTENDED (RFC 5258 §3.1) and SPECIAL-USE (RFC 6154 §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ListSelect {
    /// `SUBSCRIBED`
    Subscribed,
    /// `REMOTE`
    Remote,
    /// `RECURSIVEMATCH`
    RecursiveMatch,
    /// `SPECIAL-USE`
    SpecialUse,
}

/// Return options of LIST-EXTENDED (RFC 5258 §3.2), LIST-STATUS (RFC 5819), SPECIAL-USE.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ListReturn {
    /// `SUBSCRIBED`
    Subscribed,
    /// `CHILDREN`
    Children,
    /// `SPECIAL-USE`
    SpecialUse,
    /// `STATUS (items)`
    Status(Vec<StatusItem>),
}

/// A LIST command, basic or extended.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ListCommand {
    /// Selection options (empty for a basic LIST).
    pub selection: Vec<ListSelect>,
    /// Reference name (raw).
    pub reference: MailboxName,
    /// Patterns (raw, with `*` and `%`); one for a basic LIST.
    pub patterns: Vec<MailboxName>,
    /// Return options.
    pub returns: Vec<ListReturn>,
}

/// One message of APPEND (several with MULTIAPPEND, RFC 3502).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppendMessage {
    /// Initial flags.
    pub flags: Vec<Flag>,
    /// INTERNALDATE, if given.
    pub date: Option<DateTime>,
    /// The message.
    pub data: Vec<u8>,
    /// Sent as `~{n}` literal8 (RFC 3516): may hold NUL.
    pub binary: bool,
}

/// Every command of RFC 3501/9051 and the extensions the server supports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `CAPABILITY`
    Capability,
    /// `NOOP`
    Noop,
    /// `LOGOUT`
    Logout,
    /// `STARTTLS`
    StartTls,
    /// `LOGIN user password`
    Login {
        /// User name.
        username: String,
        /// Password.
        password: String,
    },
    /// `AUTHENTICATE mech [initial-response]` (SASL-IR: `=` is an empty response).
    Authenticate {
        /// Mechanism name, upper-cased.
        mechanism: String,
        /// Base64 initial response as sent (`=` for empty).
        initial_response: Option<String>,
    },
    /// `ENABLE cap...`
    Enable(Vec<String>),
    /// `SELECT mailbox [params]`
    Select {
        /// Mailbox.
        mailbox: MailboxName,
        /// CONDSTORE/QRESYNC.
        params: SelectParams,
    },
    /// `EXAMINE mailbox [params]`
    Examine {
        /// Mailbox.
        mailbox: MailboxName,
        /// CONDSTORE/QRESYNC.
        params: SelectParams,
    },
    /// `CREATE mailbox [(USE (\Attr ...))]`
    Create {
        /// Mailbox.
        mailbox: MailboxName,
        /// CREATE-SPECIAL-USE attributes, as sent (`\Sent`).
        special_use: Vec<String>,
    },
    /// `DELETE mailbox`
    Delete(MailboxName),
    /// `RENAME from to`
    Rename {
        /// Existing name.
        from: MailboxName,
        /// New name.
        to: MailboxName,
    },
    /// `SUBSCRIBE mailbox`
    Subscribe(MailboxName),
    /// `UNSUBSCRIBE mailbox`
    Unsubscribe(MailboxName),
    /// `LIST ...`
    List(ListCommand),
    /// `LSUB reference pattern`
    Lsub {
        /// Reference.
        reference: MailboxName,
        /// Pattern.
        pattern: MailboxName,
    },
    /// `NAMESPACE`
    Namespace,
    /// `STATUS mailbox (items)`
    Status {
        /// Mailbox.
        mailbox: MailboxName,
        /// Items.
        items: Vec<StatusItem>,
    },
    /// `APPEND mailbox ...` (one or more messages).
    Append {
        /// Mailbox.
        mailbox: MailboxName,
        /// Messages, at least one.
        messages: Vec<AppendMessage>,
    },
    /// `IDLE` (the server then waits for `DONE`).
    Idle,
    /// `CHECK`
    Check,
    /// `CLOSE`
    Close,
    /// `UNSELECT`
    Unselect,
    /// `EXPUNGE`
    Expunge,
    /// `UID EXPUNGE set`
    UidExpunge(SequenceSet),
    /// `[UID] SEARCH [RETURN (...)] [CHARSET x] keys`
    Search {
        /// UID SEARCH.
        uid: bool,
        /// ESEARCH return options; `Some(vec![])` means `RETURN ()` (= ALL).
        returns: Option<Vec<SearchReturn>>,
        /// Charset, upper-cased.
        charset: Option<String>,
        /// The keys, as `SearchKey::And` of the top-level keys.
        criteria: SearchKey,
    },
    /// `[UID] FETCH set attrs [modifiers]`
    Fetch {
        /// UID FETCH.
        uid: bool,
        /// Messages.
        set: SequenceSet,
        /// Attributes, macros expanded.
        attrs: Vec<FetchAttr>,
        /// CHANGEDSINCE / VANISHED.
        modifiers: FetchModifiers,
    },
    /// `[UID] STORE set [(UNCHANGEDSINCE n)] [+-]FLAGS[.SILENT] flags`
    Store {
        /// UID STORE.
        uid: bool,
        /// Messages.
        set: SequenceSet,
        /// CONDSTORE `UNCHANGEDSINCE`.
        unchanged_since: Option<u64>,
        /// Replace, add or remove.
        kind: StoreKind,
        /// `.SILENT`
        silent: bool,
        /// Flags.
        flags: Vec<Flag>,
    },
    /// `[UID] COPY set mailbox`
    Copy {
        /// UID COPY.
        uid: bool,
        /// Messages.
        set: SequenceSet,
        /// Destination.
        mailbox: MailboxName,
    },
    /// `[UID] MOVE set mailbox`
    Move {
        /// UID MOVE.
        uid: bool,
        /// Messages.
        set: SequenceSet,
        /// Destination.
        mailbox: MailboxName,
    },
    /// `ID (field value ...)` or `ID NIL`.
    Id(Option<Vec<(String, Option<String>)>>),
    /// `GETQUOTA root`
    GetQuota(String),
    /// `GETQUOTAROOT mailbox`
    GetQuotaRoot(MailboxName),
    /// `SETQUOTA root (...)`: parsed so it can be refused properly.
    SetQuota(String),
}

impl Command {
    /// The command name as written on the wire (for logs and metrics), e.g. `UID FETCH`.
    pub fn name(&self) -> &'static str {
        match self {
            Command::Capability => "CAPABILITY",
            Command::Noop => "NOOP",
            Command::Logout => "LOGOUT",
            Command::StartTls => "STARTTLS",
            Command::Login { .. } => "LOGIN",
            Command::Authenticate { .. } => "AUTHENTICATE",
            Command::Enable(_) => "ENABLE",
            Command::Select { .. } => "SELECT",
            Command::Examine { .. } => "EXAMINE",
            Command::Create { .. } => "CREATE",
            Command::Delete(_) => "DELETE",
            Command::Rename { .. } => "RENAME",
            Command::Subscribe(_) => "SUBSCRIBE",
            Command::Unsubscribe(_) => "UNSUBSCRIBE",
            Command::List(_) => "LIST",
            Command::Lsub { .. } => "LSUB",
            Command::Namespace => "NAMESPACE",
            Command::Status { .. } => "STATUS",
            Command::Append { .. } => "APPEND",
            Command::Idle => "IDLE",
            Command::Check => "CHECK",
            Command::Close => "CLOSE",
            Command::Unselect => "UNSELECT",
            Command::Expunge => "EXPUNGE",
            Command::UidExpunge(_) => "UID EXPUNGE",
            Command::Search { uid: false, .. } => "SEARCH",
            Command::Search { uid: true, .. } => "UID SEARCH",
            Command::Fetch { uid: false, .. } => "FETCH",
            Command::Fetch { uid: true, .. } => "UID FETCH",
            Command::Store { uid: false, .. } => "STORE",
            Command::Store { uid: true, .. } => "UID STORE",
            Command::Copy { uid: false, .. } => "COPY",
            Command::Copy { uid: true, .. } => "UID COPY",
            Command::Move { uid: false, .. } => "MOVE",
            Command::Move { uid: true, .. } => "UID MOVE",
            Command::Id(_) => "ID",
            Command::GetQuota(_) => "GETQUOTA",
            Command::GetQuotaRoot(_) => "GETQUOTAROOT",
            Command::SetQuota(_) => "SETQUOTA",
        }
    }
}

// ------------------------------------------------------------------------------------
// Responses
// ------------------------------------------------------------------------------------

/// `OK`, `NO`, `BAD`, `PREAUTH`, `BYE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// `OK`
    Ok,
    /// `NO`
    No,
    /// `BAD`
    Bad,
    /// `PREAUTH`
    PreAuth,
    /// `BYE`
    Bye,
}

/// A response code in `[...]` (RFC 9051 §7.1 and the extensions').
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResponseCode {
    /// `ALERT`
    Alert,
    /// `CAPABILITY cap...`
    Capability(Vec<String>),
    /// `PARSE`
    Parse,
    /// `PERMANENTFLAGS (flags)`
    PermanentFlags(Vec<Flag>),
    /// `READ-ONLY`
    ReadOnly,
    /// `READ-WRITE`
    ReadWrite,
    /// `TRYCREATE`
    TryCreate,
    /// `UIDNEXT n`
    UidNext(u32),
    /// `UIDVALIDITY n`
    UidValidity(u32),
    /// `UNSEEN n` (rev1)
    Unseen(u32),
    /// `APPENDUID uidvalidity uid-set` (UIDPLUS)
    AppendUid(u32, Vec<(u32, u32)>),
    /// `COPYUID uidvalidity source-set dest-set` (UIDPLUS); ranges `(first,last)`.
    CopyUid(u32, Vec<(u32, u32)>, Vec<(u32, u32)>),
    /// `UIDNOTSTICKY`
    UidNotSticky,
    /// `HIGHESTMODSEQ n` (CONDSTORE)
    HighestModSeq(u64),
    /// `NOMODSEQ`
    NoModSeq,
    /// `MODIFIED set` (CONDSTORE STORE failures); ranges `(first,last)`.
    Modified(Vec<(u32, u32)>),
    /// `CLOSED` (QRESYNC)
    Closed,
    /// `OVERQUOTA` (RFC 9208)
    OverQuota,
    /// `TOOBIG` (RFC 4469 / 9051)
    TooBig,
    /// `LIMIT`
    Limit,
    /// `NONEXISTENT` (RFC 5530)
    NonExistent,
    /// `ALREADYEXISTS`
    AlreadyExists,
    /// `AUTHENTICATIONFAILED`
    AuthenticationFailed,
    /// `AUTHORIZATIONFAILED`
    AuthorizationFailed,
    /// `UNAVAILABLE`
    Unavailable,
    /// `PRIVACYREQUIRED`
    PrivacyRequired,
    /// `SERVERBUG`
    ServerBug,
    /// `CANNOT`
    Cannot,
    /// `INUSE`
    InUse,
    /// `EXPUNGEISSUED`
    ExpungeIssued,
    /// `NOPERM`
    NoPerm,
    /// `CLIENTBUG`
    ClientBug,
    /// `USEATTR` (RFC 6154)
    UseAttr,
    /// `BADCHARSET (charsets)`
    BadCharset(Vec<String>),
    /// `UNKNOWN-CTE` (RFC 3516)
    UnknownCte,
    /// `NOTSAVED` (RFC 5182)
    NotSaved,
    /// `HASCHILDREN` (RFC 9051)
    HasChildren,
    /// `CONTACTADMIN`
    ContactAdmin,
    /// `EXPIRED`
    Expired,
}

/// One address of an ENVELOPE (RFC 9051 §7.5.2 `address`). Group syntax: a start marker
/// has `host: None` and the group name in `mailbox`; an end marker has both `None`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct EnvelopeAddress {
    /// Display name (decoded, UTF-8).
    pub name: Option<String>,
    /// Source route (obsolete, always `None` from us).
    pub adl: Option<String>,
    /// Local part, or group name.
    pub mailbox: Option<String>,
    /// Domain.
    pub host: Option<String>,
}

/// ENVELOPE (RFC 9051 §7.5.2). Text fields as they appear in the header (still encoded
/// words, as RFC 9051 requires), `None` for NIL.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Envelope {
    /// `Date:`
    pub date: Option<String>,
    /// `Subject:`
    pub subject: Option<String>,
    /// `From:`
    pub from: Vec<EnvelopeAddress>,
    /// `Sender:` (defaults to From)
    pub sender: Vec<EnvelopeAddress>,
    /// `Reply-To:` (defaults to From)
    pub reply_to: Vec<EnvelopeAddress>,
    /// `To:`
    pub to: Vec<EnvelopeAddress>,
    /// `Cc:`
    pub cc: Vec<EnvelopeAddress>,
    /// `Bcc:`
    pub bcc: Vec<EnvelopeAddress>,
    /// `In-Reply-To:`
    pub in_reply_to: Option<String>,
    /// `Message-ID:`
    pub message_id: Option<String>,
}

/// Fields every non-multipart body has (RFC 9051 §9 `body-fields`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct BodyFields {
    /// Parameters of Content-Type (name, value).
    pub params: Vec<(String, String)>,
    /// `Content-ID`
    pub id: Option<String>,
    /// `Content-Description`
    pub description: Option<String>,
    /// `Content-Transfer-Encoding`, upper-cased (`7BIT` by default).
    pub encoding: String,
    /// Octets of the body as stored (encoded).
    pub octets: u32,
}

/// Extension data of a body part (RFC 9051 §9 `body-ext-1part` / `body-ext-mpart`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct BodyExtension {
    /// `Content-MD5` (single parts only).
    pub md5: Option<String>,
    /// `Content-Disposition`: value and parameters.
    pub disposition: Option<(String, Vec<(String, String)>)>,
    /// `Content-Language` tags.
    pub language: Vec<String>,
    /// `Content-Location`
    pub location: Option<String>,
}

/// BODYSTRUCTURE / BODY (RFC 9051 §7.5.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum BodyStructure {
    /// A non-multipart part.
    Single {
        /// Media type, e.g. `TEXT`.
        media_type: String,
        /// Subtype, e.g. `PLAIN`.
        subtype: String,
        /// Common fields.
        fields: BodyFields,
        /// Lines of a `TEXT/*` or `MESSAGE/RFC822` body.
        lines: Option<u32>,
        /// For `MESSAGE/RFC822` (and `MESSAGE/GLOBAL`): the inner envelope and body.
        message: Option<Box<(Envelope, BodyStructure)>>,
        /// Extension data (BODYSTRUCTURE only).
        ext: BodyExtension,
    },
    /// A multipart.
    Multi {
        /// Its parts, in order (at least one).
        parts: Vec<BodyStructure>,
        /// Subtype, e.g. `MIXED`.
        subtype: String,
        /// Parameters of Content-Type.
        params: Vec<(String, String)>,
        /// Extension data (BODYSTRUCTURE only; `md5` unused).
        ext: BodyExtension,
    },
}

/// One item of a FETCH response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchItem {
    /// `ATTR value` with the value already in wire form (an ENVELOPE or BODYSTRUCTURE
    /// encoded once at delivery by [`crate::encode::envelope_wire`] /
    /// [`crate::encode::body_wire`] and kept in the store).
    Preencoded {
        /// `ENVELOPE`, `BODY` or `BODYSTRUCTURE`.
        attr: &'static str,
        /// The value as it goes on the wire.
        wire: Vec<u8>,
    },
    /// `FLAGS (...)`
    Flags(Vec<Flag>),
    /// `UID n`
    Uid(u32),
    /// `INTERNALDATE "..."`
    InternalDate(DateTime),
    /// `RFC822.SIZE n`
    Rfc822Size(u64),
    /// `ENVELOPE (...)`
    Envelope(Box<Envelope>),
    /// `BODY (...)` (non-extensible form).
    Body(Box<BodyStructure>),
    /// `BODYSTRUCTURE (...)`
    BodyStructure(Box<BodyStructure>),
    /// `MODSEQ (n)`
    ModSeq(u64),
    /// `BODY[section]<origin> data` (also used for `RFC822`, `RFC822.HEADER`, `RFC822.TEXT`
    /// via `legacy`).
    BodySection {
        /// Section as requested.
        section: Section,
        /// Origin octet of a partial fetch.
        origin: Option<u32>,
        /// Data (`None` = NIL).
        data: Option<Vec<u8>>,
    },
    /// `RFC822 data` / `RFC822.HEADER data` / `RFC822.TEXT data`: which is named by the
    /// attribute.
    Rfc822 {
        /// `RFC822`, `RFC822.HEADER` or `RFC822.TEXT`.
        attr: &'static str,
        /// Data.
        data: Vec<u8>,
    },
    /// `BINARY[part]<origin> ~{n}data` (literal8 when it holds NUL).
    Binary {
        /// Part path.
        part: Vec<u32>,
        /// Origin of a partial fetch.
        origin: Option<u32>,
        /// Decoded data (`None` = NIL).
        data: Option<Vec<u8>>,
    },
    /// `BINARY.SIZE[part] n`
    BinarySize {
        /// Part path.
        part: Vec<u32>,
        /// Decoded size.
        size: u64,
    },
}

/// One mailbox of a LIST/LSUB response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListItem {
    /// Attributes as written (`\HasNoChildren`, `\Sent`, `\Subscribed`, ...).
    pub attributes: Vec<String>,
    /// Hierarchy delimiter (`None` = NIL).
    pub delimiter: Option<char>,
    /// Name as sent to this client (already mUTF-7 or UTF-8 encoded).
    pub name: String,
    /// Extended data, e.g. `("CHILDINFO" ("SUBSCRIBED"))`, as (tag, values).
    pub child_info: Vec<String>,
    /// `OLDNAME` extended data (RFC 9051 §6.3.9.6 after RENAME), if any.
    pub old_name: Option<String>,
}

/// `ESEARCH` response (RFC 4731 / RFC 9051 §7.3.4).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ESearch {
    /// The tag of the command it answers.
    pub tag: Option<String>,
    /// Results are UIDs.
    pub uid: bool,
    /// `MIN n`
    pub min: Option<u32>,
    /// `MAX n`
    pub max: Option<u32>,
    /// `COUNT n`
    pub count: Option<u32>,
    /// `ALL set` as ranges (None = not requested or empty).
    pub all: Option<Vec<(u32, u32)>>,
    /// `MODSEQ n` (CONDSTORE)
    pub modseq: Option<u64>,
}

/// Everything the server sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Response {
    /// `tag OK [code] text` or `* OK ...` (tag `None`).
    Status {
        /// Tag of the command, or untagged.
        tag: Option<String>,
        /// Status.
        status: Status,
        /// Response code.
        code: Option<ResponseCode>,
        /// Human-readable text (never empty on the wire).
        text: String,
    },
    /// `+ text` continuation request (text may be base64 for SASL).
    Continue(String),
    /// `* CAPABILITY ...`
    Capability(Vec<String>),
    /// `* ENABLED ...`
    Enabled(Vec<String>),
    /// `* n EXISTS`
    Exists(u32),
    /// `* n RECENT` (rev1)
    Recent(u32),
    /// `* n EXPUNGE`
    Expunge(u32),
    /// `* VANISHED [(EARLIER)] uid-set`; ranges `(first,last)`.
    Vanished {
        /// `(EARLIER)`
        earlier: bool,
        /// UIDs.
        uids: Vec<(u32, u32)>,
    },
    /// `* FLAGS (...)`
    Flags(Vec<Flag>),
    /// `* LIST (...) "/" name [ext]`
    List(ListItem),
    /// `* LSUB (...) "/" name`
    Lsub(ListItem),
    /// `* STATUS name (item value ...)`; `name` already encoded for the client. (Named
    /// `MailboxStatus` because `Status` is the `OK`/`NO`/`BAD` status response.)
    MailboxStatus {
        /// Mailbox name as sent to this client.
        mailbox: String,
        /// Items with values.
        items: Vec<(StatusItem, u64)>,
    },
    /// `* SEARCH n n ... [(MODSEQ n)]`
    Search(Vec<u32>, Option<u64>),
    /// `* ESEARCH ...`
    ESearch(ESearch),
    /// `* n FETCH (...)`
    Fetch(u32, Vec<FetchItem>),
    /// `* NAMESPACE (("" "/")) NIL NIL`: personal namespace prefix and delimiter.
    Namespace {
        /// Personal namespace prefix.
        prefix: String,
        /// Delimiter.
        delimiter: char,
    },
    /// `* ID (...)` or `* ID NIL`
    Id(Option<Vec<(String, String)>>),
    /// `* QUOTA root (STORAGE used limit)`; used and limit in KiB.
    Quota {
        /// Quota root name.
        root: String,
        /// (resource, usage, limit).
        resources: Vec<(String, u64, u64)>,
    },
    /// `* QUOTAROOT mailbox root...`
    QuotaRoot {
        /// Mailbox as sent to this client.
        mailbox: String,
        /// Roots.
        roots: Vec<String>,
    },
}
