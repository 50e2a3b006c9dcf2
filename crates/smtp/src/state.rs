//! What a session remembers between commands.

use mailstead_smtp_proto::{MailFrom, RcptTo};
use mailstead_store::model::Account;
use mailstead_types::AccountId;

/// The client's greeting.
#[derive(Debug, Clone)]
pub(crate) struct Greeting {
    /// The name it gave in HELO/EHLO.
    pub domain: String,
    /// EHLO (true) or HELO (false).
    pub extended: bool,
}

/// Where an accepted recipient's copy goes.
#[derive(Debug, Clone)]
pub(crate) enum Route {
    /// A local address: the accounts it reaches get the message in their INBOX, and the
    /// external destinations of its aliases get it forwarded (through the queue, with the
    /// sender rewritten by SRS).
    Local {
        /// The accounts (distinct).
        accounts: Vec<AccountId>,
        /// External alias destinations.
        forwarded: Vec<String>,
    },
    /// Another server's address (submission, or the original sender behind one of our
    /// SRS addresses): queued as it is.
    Remote(String),
}

/// One accepted recipient.
#[derive(Debug, Clone)]
pub(crate) struct Recipient {
    /// The address as accepted (normalised when local), for the Received header and the
    /// DSN's Final-Recipient.
    pub address: String,
    /// Where it goes.
    pub route: Route,
    /// The command with its DSN parameters (RFC 3461 §4: NOTIFY, ORCPT), which the queue
    /// keeps.
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

/// Session state. STARTTLS replaces it with a fresh one (RFC 3207 §4.2), authentication
/// included (RFC 4954 §4 forbids AUTH before a new EHLO anyway).
#[derive(Debug, Default)]
pub(crate) struct State {
    /// After HELO/EHLO.
    pub greeting: Option<Greeting>,
    /// After a successful AUTH (submission).
    pub account: Option<Account>,
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
