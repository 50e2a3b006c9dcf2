//! What a session remembers between commands.

use mailstead_smtp_proto::{MailFrom, RcptTo};
use mailstead_store::model::Account;
use mailstead_types::Address;

/// The client's greeting.
#[derive(Debug, Clone)]
pub(crate) struct Greeting {
    /// The name it gave in HELO/EHLO.
    pub domain: String,
    /// EHLO (true) or HELO (false).
    pub extended: bool,
}

/// One accepted recipient.
#[derive(Debug, Clone)]
pub(crate) struct Recipient {
    /// The address as normalised.
    pub address: Address,
    /// The accounts it resolved to.
    pub accounts: Vec<Account>,
    /// The command with its DSN parameters (RFC 3461 §4: NOTIFY, ORCPT), which delivery
    /// stores for the outbound queue.
    pub rcpt: RcptTo,
}

/// How the message body is being sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BodyMode {
    /// Nothing sent yet.
    None,
    /// BDAT chunks have been received (DATA is no longer allowed).
    Chunking,
}

/// A mail transaction in progress (MAIL .. DATA / BDAT LAST).
#[derive(Debug, Clone)]
pub(crate) struct Transaction {
    /// MAIL FROM with its parameters.
    pub mail: MailFrom,
    /// Accepted recipients.
    pub recipients: Vec<Recipient>,
    /// BDAT progress.
    pub body_mode: BodyMode,
    /// Message bytes received so far by BDAT.
    pub chunks: Vec<u8>,
    /// BDAT data exceeded the size limit (keep reading, then refuse).
    pub too_big: bool,
}

/// Session state.
#[derive(Debug, Default)]
pub(crate) struct State {
    /// After HELO/EHLO.
    pub greeting: Option<Greeting>,
    /// After MAIL.
    pub transaction: Option<Transaction>,
    /// Rejected commands so far.
    pub bad_commands: u32,
}

impl State {
    /// RSET, and what STARTTLS and a finished transaction do: forget the transaction.
    pub fn reset_transaction(&mut self) {
        self.transaction = None;
    }
}
