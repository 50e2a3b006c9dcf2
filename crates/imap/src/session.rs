//! The connection loop: greeting, command framing (lines and literals, with the limits
//! checked before a literal is read), state checks, dispatch, untagged updates, IDLE.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use mailstead_imap_proto::{
    Command, CommandLine, Response, ResponseCode, Status, literal_at_end, parse_command,
};
use mailstead_store::StoreError;
use mailstead_store::model::Account;
use mailstead_types::MailboxId;
use tokio::net::TcpStream;
use tokio::sync::{broadcast, watch};

use crate::conn::{Conn, Line, ReadError};
use crate::selected::Selected;
use crate::{ImapServer, Security};

/// Longest command line (without literals). RFC 7162 §4 asks for at least 8192.
pub(crate) const MAX_LINE: usize = 64 * 1024;
/// Largest literal outside APPEND (search strings, passwords, mailbox names).
pub(crate) const MAX_LITERAL: u64 = 64 * 1024;
/// Largest literal before authentication.
const MAX_LITERAL_UNAUTH: u64 = 8 * 1024;
/// Most literals in one command (MULTIAPPEND included).
const MAX_LITERALS: usize = 1000;
/// While idling, the change log is re-read this often even without a notification, so
/// changes made by another process (the CLI, another node) are seen too.
const IDLE_POLL: Duration = Duration::from_secs(30);

/// A command failed: how to answer it.
#[derive(Debug)]
pub(crate) enum CmdError {
    /// `NO [code] text`
    No(Option<ResponseCode>, String),
    /// `BAD [code] text`
    Bad(Option<ResponseCode>, String),
    /// The store failed: `NO [SERVERBUG]`/`[UNAVAILABLE]`, logged.
    Store(StoreError),
    /// The connection broke.
    Gone,
}

impl From<StoreError> for CmdError {
    fn from(e: StoreError) -> Self {
        CmdError::Store(e)
    }
}

impl From<ReadError> for CmdError {
    fn from(_: ReadError) -> Self {
        CmdError::Gone
    }
}

impl From<mailstead_directory::DirectoryError> for CmdError {
    fn from(e: mailstead_directory::DirectoryError) -> Self {
        match e {
            mailstead_directory::DirectoryError::Store(s) => CmdError::Store(s),
            other => CmdError::No(None, other.to_string()),
        }
    }
}

/// `NO [code] text` shorthand.
pub(crate) fn no(code: Option<ResponseCode>, text: impl Into<String>) -> CmdError {
    CmdError::No(code, text.into())
}

/// `BAD [CLIENTBUG] text`: the client sent something it should not have (RFC 5530 §3).
pub(crate) fn bad(text: impl Into<String>) -> CmdError {
    CmdError::Bad(Some(ResponseCode::ClientBug), text.into())
}

/// The tagged `OK` of a command.
#[derive(Debug)]
pub(crate) struct Done {
    pub code: Option<ResponseCode>,
    pub text: String,
}

impl Done {
    pub fn ok(text: impl Into<String>) -> Self {
        Done {
            code: None,
            text: text.into(),
        }
    }
    pub fn with(code: ResponseCode, text: impl Into<String>) -> Self {
        Done {
            code: Some(code),
            text: text.into(),
        }
    }
}

pub(crate) type CmdResult = Result<Done, CmdError>;

/// What the loop does after a command.
enum Flow {
    Continue,
    Logout,
}

/// Per-connection state.
pub(crate) struct Session {
    pub server: Arc<ImapServer>,
    pub conn: Conn,
    pub remote: SocketAddr,
    pub tls: bool,
    /// Logged in as.
    pub account: Option<Account>,
    /// `ENABLE IMAP4rev2` was given.
    pub rev2: bool,
    /// CONDSTORE is on (ENABLE, or a CONDSTORE-enabling command, RFC 7162 §3.1).
    pub condstore: bool,
    /// `ENABLE QRESYNC` was given.
    pub qresync: bool,
    /// The selected mailbox.
    pub selected: Option<Selected>,
    /// Wake-ups for the selected mailbox (subscribed at login).
    pub notes: Option<broadcast::Receiver<MailboxId>>,
    /// UIDs saved by `SEARCH RETURN (SAVE)` (RFC 5182), for `$`.
    pub saved: Option<Vec<u32>>,
    bad_in_a_row: u32,
    shutdown: watch::Receiver<bool>,
}

impl Session {
    /// Queues a response.
    pub fn send(&mut self, r: &Response) {
        r.encode(self.conn.out());
    }

    /// Queues an untagged `OK [code] text`.
    pub fn untagged_ok(&mut self, code: Option<ResponseCode>, text: &str) {
        self.send(&Response::Status {
            tag: None,
            status: Status::Ok,
            code,
            text: text.to_string(),
        });
    }

    /// The logged-in account (commands that need it are only dispatched after login).
    pub fn account(&self) -> Result<&Account, CmdError> {
        self.account
            .as_ref()
            .ok_or_else(|| bad("not authenticated"))
    }

    /// The selected mailbox.
    pub fn selected(&mut self) -> Result<&mut Selected, CmdError> {
        self.selected
            .as_mut()
            .ok_or_else(|| bad("no mailbox selected"))
    }

    /// Whether LOGIN/AUTHENTICATE may run on this connection now.
    pub fn auth_allowed(&self) -> bool {
        self.tls
            || (self.server.config.plaintext_auth_on_loopback && self.remote.ip().is_loopback())
    }

    /// Capabilities for the current state.
    pub fn capabilities(&self) -> Vec<String> {
        let mut caps: Vec<String> = [
            "IMAP4rev1",
            "IMAP4rev2",
            "LITERAL+",
            "SASL-IR",
            "ID",
            "ENABLE",
            "IDLE",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        if self.account.is_none() {
            if !self.tls && self.server.tls.is_some() {
                caps.push("STARTTLS".into());
            }
            if self.auth_allowed() {
                caps.push("AUTH=PLAIN".into());
            } else {
                caps.push("LOGINDISABLED".into());
            }
            return caps;
        }
        caps.extend(
            [
                "NAMESPACE",
                "UIDPLUS",
                "MOVE",
                "UNSELECT",
                "CHILDREN",
                "LIST-EXTENDED",
                "LIST-STATUS",
                "SPECIAL-USE",
                "CREATE-SPECIAL-USE",
                "ESEARCH",
                "SEARCHRES",
                "CONDSTORE",
                "QRESYNC",
                "QUOTA",
                "QUOTA=RES-STORAGE",
                "STATUS=SIZE",
                "BINARY",
                "MULTIAPPEND",
            ]
            .iter()
            .map(|s| s.to_string()),
        );
        caps.push(format!(
            "APPENDLIMIT={}",
            self.server.config.max_message_size
        ));
        caps
    }

    /// Reads one whole command (lines and literals). `Ok(None)` when the command was
    /// refused during framing (already answered).
    async fn read_command(&mut self) -> Result<Option<Vec<u8>>, ReadError> {
        let timeout = if self.account.is_some() {
            self.server.config.idle_timeout
        } else {
            self.server.config.login_timeout
        };
        let mut buf = Vec::new();
        let mut literals = 0usize;
        let mut first = true;
        loop {
            // The first line may wait for the whole idle time; later lines of the same
            // command must come promptly.
            let wait = if first {
                timeout
            } else {
                Duration::from_secs(60)
            };
            first = false;
            let line = match self.conn.next_line(MAX_LINE, wait).await? {
                Line::Text(l) => l,
                Line::TooLong => {
                    self.send(&Response::Status {
                        tag: None,
                        status: Status::Bad,
                        code: Some(ResponseCode::TooBig),
                        text: "command line too long".into(),
                    });
                    return Ok(None);
                }
            };
            buf.extend_from_slice(&line);
            if buf.len() > MAX_LINE * 4 {
                self.send(&Response::Status {
                    tag: None,
                    status: Status::Bad,
                    code: Some(ResponseCode::TooBig),
                    text: "command too long".into(),
                });
                return Ok(None);
            }
            let Some(spec) = literal_at_end(&line) else {
                return Ok(Some(buf));
            };
            literals += 1;
            let (tag, name) = tag_and_name(&buf);
            let limit = if self.account.is_none() {
                MAX_LITERAL_UNAUTH
            } else if name.eq_ignore_ascii_case("APPEND") {
                self.server.config.max_message_size
            } else {
                MAX_LITERAL
            };
            if spec.len > limit || literals > MAX_LITERALS {
                let text = if literals > MAX_LITERALS {
                    "too many literals".to_string()
                } else {
                    format!(
                        "literal of {} octets is over the limit of {limit}",
                        spec.len
                    )
                };
                if spec.non_sync {
                    // RFC 7888 §4: the octets are coming whether we want them or not; the
                    // only safe answer that does not read them is to close.
                    self.send(&Response::Status {
                        tag: None,
                        status: Status::Bye,
                        code: Some(ResponseCode::TooBig),
                        text,
                    });
                    return Err(ReadError::Gone);
                }
                self.send(&Response::Status {
                    tag,
                    status: Status::No,
                    code: Some(ResponseCode::TooBig),
                    text,
                });
                return Ok(None);
            }
            if !spec.non_sync {
                self.send(&Response::Continue("ready for literal".into()));
            }
            let len = usize::try_from(spec.len).map_err(|_| ReadError::Gone)?;
            self.conn
                .read_exact_into(len, &mut buf, Duration::from_secs(300))
                .await?;
        }
    }

    /// Sends the untagged updates of the selected mailbox (see [`Selected::sync`]).
    pub async fn sync(&mut self, allow_expunge: bool) -> Result<(), CmdError> {
        let Some(sel) = self.selected.as_mut() else {
            return Ok(());
        };
        let stores = self.server.stores.clone();
        let responses = match sel
            .sync(&stores, allow_expunge, self.condstore, self.qresync)
            .await
        {
            Ok(r) => r,
            Err(StoreError::NotFound(_)) => {
                // The mailbox was deleted under us (by another session).
                self.send(&Response::Status {
                    tag: None,
                    status: Status::Bye,
                    code: None,
                    text: "the selected mailbox was deleted".into(),
                });
                return Err(CmdError::Gone);
            }
            Err(e) => return Err(e.into()),
        };
        for r in &responses {
            r.encode(self.conn.out());
        }
        Ok(())
    }
}

/// Tag and command name of the first line of a command, for answers given before it is
/// parsed.
fn tag_and_name(buf: &[u8]) -> (Option<String>, String) {
    let line = buf.split(|&b| b == b'\n').next().unwrap_or_default();
    let mut words = line.split(|&b| b == b' ');
    let tag = words
        .next()
        .filter(|t| !t.is_empty() && t.iter().all(|b| b.is_ascii_graphic() && *b != b'+'))
        .map(|t| String::from_utf8_lossy(t).into_owned());
    let mut name = words
        .next()
        .map(|n| String::from_utf8_lossy(n).into_owned())
        .unwrap_or_default();
    if name.eq_ignore_ascii_case("UID") {
        name = words
            .next()
            .map(|n| String::from_utf8_lossy(n).into_owned())
            .unwrap_or_default();
    }
    (tag, name)
}

/// Which state a command needs.
fn allowed(s: &Session, cmd: &Command) -> Result<(), CmdError> {
    use Command::*;
    let authed = s.account.is_some();
    let selected = s.selected.is_some();
    match cmd {
        Capability | Noop | Logout | Id(_) => Ok(()),
        StartTls | Login { .. } | Authenticate { .. } => {
            if authed {
                Err(bad("already authenticated"))
            } else {
                Ok(())
            }
        }
        Check
        | Close
        | Unselect
        | Expunge
        | UidExpunge(_)
        | Search { .. }
        | Fetch { .. }
        | Store { .. }
        | Copy { .. }
        | Move { .. } => {
            if selected {
                Ok(())
            } else if authed {
                Err(bad("no mailbox selected"))
            } else {
                Err(bad("log in first"))
            }
        }
        _ => {
            if authed {
                Ok(())
            } else {
                Err(bad("log in first"))
            }
        }
    }
}

/// Runs one IMAP session to its end.
pub(crate) async fn run(
    server: Arc<ImapServer>,
    stream: TcpStream,
    remote: SocketAddr,
    security: Security,
    shutdown: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    let mut conn = Conn::new(Box::new(stream));
    let guard = server.limits.acquire(remote.ip());
    let mut tls = false;
    if security == Security::ImplicitTls {
        let Some(cfg) = server.tls.clone() else {
            return;
        };
        if conn.upgrade(cfg, Duration::from_secs(30)).await.is_err() {
            return;
        }
        tls = true;
    }
    let _guard = match guard {
        Ok(g) => g,
        Err(_) => {
            tracing::info!("connection refused: too many connections");
            Response::Status {
                tag: None,
                status: Status::Bye,
                code: Some(ResponseCode::Unavailable),
                text: "too many connections, try again later".into(),
            }
            .encode(conn.out());
            conn.shutdown().await;
            return;
        }
    };
    let mut s = Session {
        server,
        conn,
        remote,
        tls,
        account: None,
        rev2: false,
        condstore: false,
        qresync: false,
        selected: None,
        notes: None,
        saved: None,
        bad_in_a_row: 0,
        shutdown,
    };
    let caps = s.capabilities();
    s.untagged_ok(
        Some(ResponseCode::Capability(caps)),
        &format!("{} mailstead IMAP ready", s.server.config.hostname),
    );
    tracing::debug!("connected");
    loop {
        let mut stop = s.shutdown.clone();
        let read = tokio::select! {
            biased;
            _ = stop.wait_for(|v| *v), if !s.conn.has_buffered() => {
                s.send(&Response::Status { tag: None, status: Status::Bye, code: None, text: "server shutting down".into() });
                break;
            }
            r = s.read_command() => r,
        };
        let bytes = match read {
            Ok(Some(b)) => b,
            Ok(None) => {
                if bad_command(&mut s) {
                    break;
                }
                continue;
            }
            Err(ReadError::Timeout) => {
                s.send(&Response::Status {
                    tag: None,
                    status: Status::Bye,
                    code: None,
                    text: "autologout: idle too long".into(),
                });
                break;
            }
            Err(ReadError::Gone) => {
                tracing::debug!("client went away");
                s.conn.shutdown().await;
                return;
            }
        };
        let CommandLine { tag, command } = match parse_command(&bytes) {
            Ok(c) => c,
            Err(e) => {
                s.send(&Response::Status {
                    tag: e.tag.clone(),
                    status: Status::Bad,
                    code: Some(ResponseCode::ClientBug),
                    text: e.message.clone(),
                });
                if bad_command(&mut s) {
                    break;
                }
                continue;
            }
        };
        let name = command.name();
        tracing::trace!(command = name, "command");
        match dispatch(&mut s, &tag, command).await {
            Ok(Flow::Continue) => {}
            Ok(Flow::Logout) => break,
            Err(()) => {
                s.conn.shutdown().await;
                return;
            }
        }
    }
    s.conn.shutdown().await;
}

/// Counts a rejected command; true when the session must end.
fn bad_command(s: &mut Session) -> bool {
    s.bad_in_a_row += 1;
    if s.bad_in_a_row >= s.server.config.max_bad_commands {
        s.send(&Response::Status {
            tag: None,
            status: Status::Bye,
            code: None,
            text: "too many bad commands".into(),
        });
        return true;
    }
    false
}

/// Runs a command and writes its tagged answer. `Err(())` when the connection is gone.
async fn dispatch(s: &mut Session, tag: &str, command: Command) -> Result<Flow, ()> {
    if let Err(e) = allowed(s, &command) {
        finish(s, tag, Err(e));
        let _ = bad_command(s);
        return Ok(Flow::Continue);
    }
    // RFC 9051 §7.5.1: no EXPUNGE while answering a FETCH, STORE or SEARCH by sequence
    // number (the client may be pipelining more of them with numbers it holds).
    let allow_expunge = !matches!(
        command,
        Command::Fetch { uid: false, .. }
            | Command::Store { uid: false, .. }
            | Command::Search { uid: false, .. }
    );
    let is_logout = matches!(command, Command::Logout);
    let result = match command {
        Command::Idle => return idle(s, tag).await,
        Command::StartTls => return starttls(s, tag).await,
        other => execute(s, tag, other).await,
    };
    if let Err(CmdError::Gone) = result {
        return Err(());
    }
    // Untagged updates come before the tagged answer.
    if !is_logout && let Err(CmdError::Gone) = s.sync(allow_expunge).await {
        let _ = s.conn.flush().await;
        return Err(());
    }
    finish(s, tag, result);
    if is_logout {
        return Ok(Flow::Logout);
    }
    if s.conn.maybe_flush().await.is_err() {
        return Err(());
    }
    Ok(Flow::Continue)
}

/// Writes the tagged answer of a command.
fn finish(s: &mut Session, tag: &str, result: CmdResult) {
    let (status, code, text) = match result {
        Ok(done) => {
            s.bad_in_a_row = 0;
            (Status::Ok, done.code, done.text)
        }
        Err(CmdError::No(code, text)) => (Status::No, code, text),
        Err(CmdError::Bad(code, text)) => (Status::Bad, code, text),
        Err(CmdError::Store(e)) => {
            tracing::error!(error = %e, "store failed");
            let code = match e {
                StoreError::NotFound(_) => ResponseCode::NonExistent,
                StoreError::Conflict(_) => ResponseCode::AlreadyExists,
                StoreError::Invalid(_) => ResponseCode::Cannot,
                _ => ResponseCode::Unavailable,
            };
            (
                Status::No,
                Some(code),
                "the server could not do that now, try again".into(),
            )
        }
        Err(CmdError::Gone) => return,
    };
    s.send(&Response::Status {
        tag: Some(tag.to_string()),
        status,
        code,
        text,
    });
}

/// Every command but IDLE and STARTTLS.
async fn execute(s: &mut Session, tag: &str, command: Command) -> CmdResult {
    use crate::{append, auth, copy, fetch, mailbox, search, store_cmd};
    match command {
        Command::Capability => {
            let caps = s.capabilities();
            s.send(&Response::Capability(caps));
            Ok(Done::ok("CAPABILITY completed"))
        }
        Command::Noop | Command::Check => Ok(Done::ok("done")),
        Command::Logout => {
            s.send(&Response::Status {
                tag: None,
                status: Status::Bye,
                code: None,
                text: "logging out".into(),
            });
            Ok(Done::ok("LOGOUT completed"))
        }
        Command::Id(_) => {
            s.send(&Response::Id(Some(vec![
                ("name".into(), "mailstead".into()),
                ("version".into(), env!("CARGO_PKG_VERSION").into()),
            ])));
            Ok(Done::ok("ID completed"))
        }
        Command::Login { username, password } => auth::login(s, &username, password).await,
        Command::Authenticate {
            mechanism,
            initial_response,
        } => auth::authenticate(s, &mechanism, initial_response).await,
        Command::Enable(caps) => enable(s, &caps),
        Command::Select { mailbox, params } => {
            crate::selected::select(s, &mailbox, params, false).await
        }
        Command::Examine { mailbox, params } => {
            crate::selected::select(s, &mailbox, params, true).await
        }
        Command::Create {
            mailbox,
            special_use,
        } => mailbox::create(s, &mailbox, &special_use).await,
        Command::Delete(m) => mailbox::delete(s, &m).await,
        Command::Rename { from, to } => mailbox::rename(s, &from, &to).await,
        Command::Subscribe(m) => mailbox::subscribe(s, &m, true).await,
        Command::Unsubscribe(m) => mailbox::subscribe(s, &m, false).await,
        Command::List(list) => mailbox::list(s, &list).await,
        Command::Lsub { reference, pattern } => mailbox::lsub(s, &reference, &pattern).await,
        Command::Namespace => {
            s.send(&Response::Namespace {
                prefix: String::new(),
                delimiter: '/',
            });
            Ok(Done::ok("NAMESPACE completed"))
        }
        Command::Status { mailbox, items } => mailbox::status(s, &mailbox, &items).await,
        Command::Append { mailbox, messages } => append::append(s, &mailbox, messages).await,
        Command::Close => crate::selected::close(s, true).await,
        Command::Unselect => crate::selected::close(s, false).await,
        Command::Expunge => crate::selected::expunge(s, None).await,
        Command::UidExpunge(set) => crate::selected::expunge(s, Some(&set)).await,
        Command::Search {
            uid,
            returns,
            charset,
            criteria,
        } => search::search(s, tag, uid, returns, charset, criteria).await,
        Command::Fetch {
            uid,
            set,
            attrs,
            modifiers,
        } => fetch::fetch(s, uid, &set, &attrs, &modifiers).await,
        Command::Store {
            uid,
            set,
            unchanged_since,
            kind,
            silent,
            flags,
        } => store_cmd::store(s, uid, &set, unchanged_since, kind, silent, &flags).await,
        Command::Copy { uid, set, mailbox } => copy::copy(s, uid, &set, &mailbox, false).await,
        Command::Move { uid, set, mailbox } => copy::copy(s, uid, &set, &mailbox, true).await,
        Command::GetQuota(root) => mailbox::get_quota(s, &root).await,
        Command::GetQuotaRoot(m) => mailbox::get_quota_root(s, &m).await,
        Command::SetQuota(_) => Err(no(
            Some(ResponseCode::NoPerm),
            "quotas are set by the administrator",
        )),
        Command::Idle | Command::StartTls => Err(bad("unexpected")),
    }
}

/// ENABLE (RFC 5161): CONDSTORE, QRESYNC, IMAP4rev2 and UTF8=ACCEPT (taken as rev2's
/// UTF-8 names). Unknown capabilities are ignored, as the RFC says.
fn enable(s: &mut Session, caps: &[String]) -> CmdResult {
    let mut enabled = Vec::new();
    for cap in caps {
        let upper = cap.to_ascii_uppercase();
        match upper.as_str() {
            "CONDSTORE" if !s.condstore => {
                s.condstore = true;
                enabled.push(upper);
            }
            "QRESYNC" if !s.qresync => {
                s.qresync = true;
                s.condstore = true;
                enabled.push(upper);
            }
            "IMAP4REV2" if !s.rev2 => {
                s.rev2 = true;
                enabled.push("IMAP4rev2".to_string());
            }
            _ => {}
        }
    }
    s.send(&Response::Enabled(enabled));
    Ok(Done::ok("ENABLE completed"))
}

/// STARTTLS (RFC 9051 §6.2.1).
async fn starttls(s: &mut Session, tag: &str) -> Result<Flow, ()> {
    let Some(cfg) = s.server.tls.clone().filter(|_| !s.tls) else {
        finish(s, tag, Err(bad("STARTTLS is not available here")));
        return Ok(Flow::Continue);
    };
    finish(s, tag, Ok(Done::ok("begin TLS negotiation now")));
    if s.conn.upgrade(cfg, Duration::from_secs(30)).await.is_err() {
        return Err(());
    }
    s.tls = true;
    Ok(Flow::Continue)
}

/// What woke an idling session.
enum IdleEvent {
    Stop,
    Note(Result<MailboxId, broadcast::error::RecvError>),
    Poll,
    Line(Result<Line, ReadError>),
}

/// IDLE (RFC 2177): report changes as they happen until `DONE`.
async fn idle(s: &mut Session, tag: &str) -> Result<Flow, ()> {
    if s.account.is_none() {
        finish(s, tag, Err(bad("log in first")));
        return Ok(Flow::Continue);
    }
    if let Err(CmdError::Gone) = s.sync(true).await {
        return Err(());
    }
    s.send(&Response::Continue("idling".into()));
    let timeout = s.server.config.idle_timeout;
    let deadline = tokio::time::Instant::now() + timeout;
    let mut stop = s.shutdown.clone();
    let watching = s.selected.as_ref().map(|sel| sel.mailbox_id());
    loop {
        let mut poll = tokio::time::interval(IDLE_POLL);
        poll.reset();
        let mut wake = false;
        let event = {
            let notes = s.notes.as_mut();
            tokio::select! {
                biased;
                _ = async { let _ = stop.wait_for(|v| *v).await; } => IdleEvent::Stop,
                note = async {
                    match notes {
                        Some(rx) => rx.recv().await,
                        None => std::future::pending().await,
                    }
                } => IdleEvent::Note(note),
                _ = poll.tick() => IdleEvent::Poll,
                line = s.conn.next_line(MAX_LINE, deadline.saturating_duration_since(tokio::time::Instant::now())) => IdleEvent::Line(line),
            }
        };
        let line = match event {
            IdleEvent::Stop => {
                s.send(&Response::Status {
                    tag: None,
                    status: Status::Bye,
                    code: None,
                    text: "server shutting down".into(),
                });
                let _ = s.conn.flush().await;
                return Ok(Flow::Logout);
            }
            IdleEvent::Note(Ok(id)) => {
                wake = Some(id) == watching;
                None
            }
            IdleEvent::Note(Err(broadcast::error::RecvError::Lagged(_))) => {
                wake = true;
                None
            }
            IdleEvent::Note(Err(broadcast::error::RecvError::Closed)) => {
                s.notes = None;
                None
            }
            IdleEvent::Poll => {
                wake = true;
                None
            }
            IdleEvent::Line(l) => Some(l),
        };
        match line {
            None => {
                if wake {
                    match s.sync(true).await {
                        Err(CmdError::Gone) => return Err(()),
                        Err(e) => tracing::warn!(?e, "sync while idling failed"),
                        Ok(()) => {}
                    }
                    if s.conn.flush().await.is_err() {
                        return Err(());
                    }
                }
            }
            Some(Ok(Line::Text(l))) => {
                let word = String::from_utf8_lossy(&l);
                if word.trim().eq_ignore_ascii_case("DONE") {
                    finish(s, tag, Ok(Done::ok("IDLE terminated")));
                } else {
                    finish(s, tag, Err(bad("expected DONE")));
                }
                return Ok(Flow::Continue);
            }
            Some(Ok(Line::TooLong)) => {
                finish(s, tag, Err(bad("expected DONE")));
                return Ok(Flow::Continue);
            }
            Some(Err(ReadError::Timeout)) => {
                s.send(&Response::Status {
                    tag: None,
                    status: Status::Bye,
                    code: None,
                    text: "autologout: idle too long".into(),
                });
                let _ = s.conn.flush().await;
                return Ok(Flow::Logout);
            }
            Some(Err(ReadError::Gone)) => return Err(()),
        }
    }
}
