//! The IMAP wire protocol, pure: bytes → types → bytes. No I/O, no async, no store.
//!
//! The server reads a command line by line: after each line it asks [`literal_at_end`]
//! whether a literal follows (`{n}`, `{n+}` of LITERAL+ RFC 7888, `~{n}` of BINARY RFC
//! 3516), checks the announced size against its limits *before* reading it, answers a
//! synchronising literal with a continuation request, reads exactly `n` octets and goes on.
//! When a line ends without a literal the whole command (lines and literals as they came
//! on the wire) goes to [`parse_command`]. Responses are [`Response`] values written by
//! [`Response::encode`], which picks atom, quoted string or literal for every string.
//! The other direction (for test clients and round trips): [`Command::encode`], and
//! [`client::response_complete`] to frame responses.
//!
//! # Modules
//!
//! - [`types`]: the values (commands, responses, flags, sequence sets, body structures).
//! - [`literal`]: literal announcements at line ends.
//! - [`parse`]: [`parse_command`], one method per ABNF rule.
//! - [`encode`]: [`Response::encode`], [`Command::encode`], [`encode::format_date_time`].
//! - [`mutf7`]: modified UTF-7 mailbox names.
//! - [`client`]: response framing for test clients.
//!
//! # RFCs
//!
//! | RFC | What | Where |
//! |-----|------|-------|
//! | 3501, 9051 | IMAP4rev1 / IMAP4rev2 formal syntax (§9 / §9) | [`parse`], [`encode`] |
//! | 7888 | LITERAL+ / LITERAL- non-synchronising literals | [`literal_at_end`] |
//! | 3516 | BINARY: `~{n}` literal8, `BINARY[...]`, `BINARY.SIZE` | [`parse`] |
//! | 2177 | IDLE | [`Command::Idle`] |
//! | 4315 | UIDPLUS: `UID EXPUNGE`, `APPENDUID`, `COPYUID` | [`parse`], [`ResponseCode`] |
//! | 6851 | MOVE | [`Command::Move`] |
//! | 6154 | SPECIAL-USE, CREATE-SPECIAL-USE (`USE (...)`) | [`Command::Create`] |
//! | 5258, 5819 | LIST-EXTENDED selection/return options, LIST-STATUS | [`ListCommand`] |
//! | 2342 | NAMESPACE | [`Response::Namespace`] |
//! | 5161 | ENABLE | [`Command::Enable`] |
//! | 4959 | SASL-IR | [`Command::Authenticate`] |
//! | 2971 | ID | [`Command::Id`] |
//! | 3691 | UNSELECT | [`Command::Unselect`] |
//! | 4731, 5182 | ESEARCH, SEARCHRES (`RETURN (SAVE)`, `$`) | [`SearchReturn`], [`SequenceSet::Saved`] |
//! | 7162 | CONDSTORE, QRESYNC | [`SelectParams`], [`FetchModifiers`], `UNCHANGEDSINCE` |
//! | 9208 | QUOTA | [`Command::GetQuota`], [`Response::Quota`] |
//! | 7889 | APPENDLIMIT | [`StatusItem::AppendLimit`] |
//! | 3502 | MULTIAPPEND | [`Command::Append`] |
//! | 2152, 3501 §5.1.3 | modified UTF-7 mailbox names | [`mutf7`] |
//!
//! # Invariants
//!
//! - SEARCH keys nest at most [`parse::MAX_SEARCH_DEPTH`] levels (parentheses, `NOT`,
//!   `OR`); deeper input is a [`ParseError`], never a stack overflow.
//! - No function panics on any input (fuzzed: `fuzz/fuzz_targets/imap_command.rs`; the
//!   corpus is replayed by `tests/fuzz_corpus.rs`).
//! - For every [`Command`] value the encoder can produce, `parse_command(encode(c)) == c`
//!   (proptest in `tests/roundtrip.rs`).
//! - Strings in responses are encoded so that a conforming client reads back the same
//!   octets (quoted when safe, literal otherwise).

pub mod client;
pub mod encode;
pub mod literal;
pub mod mutf7;
pub mod parse;
pub mod types;

pub use literal::{LiteralSpec, literal_at_end};
pub use parse::{ParseError, parse_command};
pub use types::*;
