//! The SMTP wire protocol, pure: bytes → types → bytes. No I/O, no async, no store.
//!
//! The server (`mailstead-server`) splits the connection into command lines and feeds
//! them to [`parse::parse_command`], answers with [`reply::Reply`]s built from
//! [`codes`], and decodes the message after `354` with [`data::DataDecoder`]. The
//! outbound queue uses the other direction: [`command::Command::encode`],
//! [`reply::parse_reply`], [`ehlo::parse_ehlo_response`] and [`data::dot_stuff`].
//!
//! # RFCs
//!
//! | RFC | What | Where |
//! |-----|------|-------|
//! | 5321 | SMTP: §4.1.1 commands, §4.1.2 ABNF, §4.2 replies, §4.5.2 dot-stuffing, §4.5.3.1 limits, §4.5.1 `<Postmaster>` | [`command`], [`parse`], [`reply`], [`data`] |
//! | 1870 | SIZE: `SIZE=` on MAIL (§3–§4), 552 5.3.4 (§6) | [`parse`], [`codes`] |
//! | 2920 | PIPELINING: no parser impact; [`data::DataProgress`] reports how many bytes the data took so pipelined commands after it are kept | [`data`] |
//! | 3030 | CHUNKING / BINARYMIME: `BDAT` (§2), `BODY=BINARYMIME` (§3) | [`parse`] |
//! | 3207 | STARTTLS (§4): command and 220 / 454 / 530 codes | [`parse`], [`codes`] |
//! | 2034, 3463 | enhanced status codes on replies (RFC 2034 §4), their meaning (RFC 3463 §3) | [`reply`], [`codes`] |
//! | 3461 | DSN: `NOTIFY`, `ORCPT` (§4.1–§4.2), `RET`, `ENVID` (§4.3–§4.4), xtext (§4) | [`parse`], [`xtext`] |
//! | 6152 | 8BITMIME: `BODY=8BITMIME` (§2) | [`parse`] |
//! | 6531 | SMTPUTF8: `SMTPUTF8` parameter (§3.4), UTF-8 local parts and domains (§3.3) | [`parse`] |
//! | 4954 | AUTH command (§4), `AUTH=` on MAIL (§5), reply codes (§6) | [`parse`], [`codes`] |
//! | 8689 | REQUIRETLS on MAIL (§4) | [`parse`] |
//!
//! # Modules
//!
//! - [`command`]: [`Command`], [`MailFrom`], [`RcptTo`], [`Path`] and their wire form.
//! - [`parse`]: [`parse_command`], [`ParseError`] (with the reply for each error),
//!   [`MAX_COMMAND_LINE`].
//! - [`reply`]: [`Reply`], [`EnhancedCode`], [`parse_reply`].
//! - [`codes`]: every reply the server sends, `C550_NO_SUCH_USER` style.
//! - [`data`]: [`DataDecoder`] (DATA phase, streaming) and [`dot_stuff`].
//! - [`ehlo`]: [`EhloResponse`] and [`parse_ehlo_response`].
//! - [`xtext`]: RFC 3461 xtext.
//!
//! # Invariants
//!
//! - No function panics on any input (fuzzed: `fuzz/fuzz_targets/smtp_command.rs`,
//!   `smtp_data.rs`; the corpora are replayed by `tests/fuzz_corpus.rs`).
//! - Where an encoder exists, parsing its output gives the value back:
//!   `parse_command(cmd.to_string())`, `parse_reply(reply.encode())`,
//!   `xtext::decode(xtext::encode(x))`, and `DataDecoder` over `dot_stuff(m)` for a
//!   message `m` with CRLF line endings (property-tested).
//! - Reply text can never inject a reply line: CR and LF split lines.
//! - `DataDecoder` stores at most `max_size` octets and gives the same result for any
//!   split of its input into chunks; only a real `CRLF.CRLF` ends the data.

pub mod codes;
pub mod command;
pub mod data;
pub mod ehlo;
pub mod parse;
pub mod reply;
pub mod xtext;

pub use codes::ReplyCode;
pub use command::{Body, Command, MailFrom, Notify, Orcpt, Path, RcptTo, Ret, ReversePath};
pub use data::{DataDecoder, DataProgress, dot_stuff};
pub use ehlo::{EhloResponse, parse_ehlo_response};
pub use parse::{MAX_COMMAND_LINE, ParseError, parse_command};
pub use reply::{EnhancedCode, Reply, ReplyParseError, parse_reply};
