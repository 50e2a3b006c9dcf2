//! What the worker tests share: a store in a temporary directory with one local domain
//! and two accounts, a running [`Queue`], scripted fake SMTP servers on loopback
//! addresses, and a DSN reader.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mail_parser::{MessageParser, MimeHeaders};
use mailstead_dns::MockResolver;
use mailstead_queue::{Incoming, LocalRecipient, Queue, QueueConfig, RemoteRecipient};
use mailstead_store::model::{NewAccount, NotifyFlags, QueuedMessage};
use mailstead_store::{BlobBackend, MetaBackend, Stores};
use mailstead_types::{AccountId, Address, Domain};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

/// Our host name (not a local domain: DSNs go out unsigned).
pub const HOSTNAME: &str = "mailstead.test";
/// The local domain.
pub const LOCAL_DOMAIN: &str = "local.test";
/// A local account, the sender of most test messages (DSNs land in its INBOX).
pub const ALICE: &str = "alice@local.test";
/// Another local account.
pub const BOB: &str = "bob@local.test";

/// Longest wait for anything the tests expect to happen.
const DEADLINE: Duration = Duration::from_secs(20);

/// The loopback address `127.0.0.<last>`.
pub fn lo(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, last))
}

/// Polls `check` every 50 ms until it gives a value; panics after 20 s naming `what`.
pub async fn eventually<T>(what: &str, mut check: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + DEADLINE;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A store in a temporary directory with `local.test`, alice and bob.
pub struct Env {
    /// The stores (shared by every queue started on them).
    pub stores: Stores,
    /// alice's account.
    pub alice: AccountId,
    /// bob's account.
    pub bob: AccountId,
    _dir: tempfile::TempDir,
}

impl Env {
    /// A fresh store.
    pub async fn new() -> Env {
        let dir = tempfile::tempdir().expect("temporary directory");
        let stores = mailstead_store::open(
            &MetaBackend::Sqlite {
                path: dir.path().join("meta.sqlite"),
                readers: 2,
            },
            &BlobBackend::Fs {
                path: dir.path().join("blobs"),
            },
        )
        .await
        .expect("open the store");
        let domain: Domain = LOCAL_DOMAIN.parse().expect("domain");
        stores
            .meta
            .create_domain(&domain)
            .await
            .expect("create domain");
        let mut ids = Vec::new();
        for address in [ALICE, BOB] {
            let account = stores
                .meta
                .create_account(&NewAccount {
                    address: address.parse::<Address>().expect("address"),
                    display_name: String::new(),
                    password_hash: "unused".into(),
                    quota_bytes: None,
                    enabled: true,
                    global_admin: false,
                })
                .await
                .expect("create account");
            ids.push(account.id);
        }
        Env {
            stores,
            alice: ids[0],
            bob: ids[1],
            _dir: dir,
        }
    }

    /// Test settings with remote MX hosts on `port`.
    pub fn config(&self, port: u16) -> QueueConfig {
        QueueConfig {
            remote_port: port,
            ..QueueConfig::for_tests(HOSTNAME)
        }
    }

    /// A queue over this store (its worker not started).
    pub async fn queue(&self, config: QueueConfig, dns: MockResolver) -> Arc<Queue> {
        Queue::new(config, self.stores.clone(), Arc::new(dns))
            .await
            .expect("queue")
    }

    /// A queue with its worker running.
    pub async fn start(&self, config: QueueConfig, dns: MockResolver) -> Worker {
        Worker::start(self.queue(config, dns).await)
    }

    /// Every queued message.
    pub async fn queued(&self) -> Vec<QueuedMessage> {
        self.stores.meta.queue_list().await.expect("queue list")
    }

    /// Waits until the queue is empty (every message finished, notices delivered).
    pub async fn wait_queue_empty(&self) {
        eventually("an empty queue", async || {
            self.queued().await.is_empty().then_some(())
        })
        .await;
    }

    /// The raw messages in the INBOX of `account`, oldest first.
    pub async fn inbox(&self, account: AccountId) -> Vec<Vec<u8>> {
        let meta = &self.stores.meta;
        let Some(inbox) = meta.mailbox(account, "INBOX").await.expect("mailbox") else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for m in meta.messages(inbox.id).await.expect("messages") {
            let raw = self.stores.blobs.get(&m.blob_id).await.expect("blob");
            out.push(raw.expect("the blob of a stored message"));
        }
        out
    }

    /// The DSNs in the INBOX of `account`.
    pub async fn dsns(&self, account: AccountId) -> Vec<Dsn> {
        self.inbox(account)
            .await
            .iter()
            .filter_map(|raw| Dsn::parse(raw))
            .collect()
    }

    /// Waits for exactly one DSN in alice's INBOX, with nothing left in the queue.
    pub async fn one_dsn_to_alice(&self) -> Dsn {
        self.wait_queue_empty().await;
        let mut dsns = self.dsns(self.alice).await;
        assert_eq!(dsns.len(), 1, "DSNs to alice: {dsns:#?}");
        dsns.remove(0)
    }
}

/// A running worker.
pub struct Worker {
    /// The queue it runs.
    pub queue: Arc<Queue>,
    shutdown: watch::Sender<bool>,
    handle: JoinHandle<()>,
}

impl Worker {
    /// Runs the worker of `queue`.
    pub fn start(queue: Arc<Queue>) -> Worker {
        let (shutdown, rx) = watch::channel(false);
        let handle = tokio::spawn(queue.clone().run(rx));
        Worker {
            queue,
            shutdown,
            handle,
        }
    }

    /// Accepts a message.
    pub async fn accept(&self, incoming: Incoming) {
        self.queue.accept(incoming).await.expect("accept");
    }

    /// Asks the worker to stop and waits until it has (deliveries in flight finish).
    pub async fn stop(self) {
        self.shutdown.send_replace(true);
        tokio::time::timeout(DEADLINE, self.handle)
            .await
            .expect("the worker stops in time")
            .expect("the worker does not panic");
    }

    /// Kills the worker where it stands (its deliveries in flight are dropped, their
    /// leases stay), like `kill -9`.
    pub async fn crash(self) {
        self.handle.abort();
        let _ = self.handle.await;
    }
}

/// A message from `from` to the remote `to`, with `subject`.
pub fn message(from: &str, to: &[&str], subject: &str) -> Incoming {
    Incoming {
        message: format!(
            "From: <{from}>\r\nTo: <{}>\r\nSubject: {subject}\r\nMessage-ID: <{subject}@local.test>\r\n\r\nHello.\r\n",
            to.first().copied().unwrap_or_default()
        )
        .into_bytes(),
        mail_from: from.to_string(),
        envid: None,
        ret: None,
        body_8bit: false,
        smtputf8: false,
        requiretls: false,
        submitter: None,
        local: Vec::new(),
        remote: to.iter().map(|a| remote(a, NotifyFlags::UNSET)).collect(),
        forwarded: Vec::new(),
        return_path: None,
        local_copies: Default::default(),
    }
}

/// A remote recipient.
pub fn remote(address: &str, notify: NotifyFlags) -> RemoteRecipient {
    RemoteRecipient {
        address: address.to_string(),
        notify,
        original_recipient: None,
    }
}

/// A local recipient of one account.
pub fn local(address: &str, account: AccountId, notify: NotifyFlags) -> LocalRecipient {
    LocalRecipient {
        address: address.to_string(),
        accounts: vec![account],
        notify,
        original_recipient: None,
    }
}

// --- fake SMTP servers ---------------------------------------------------------------

/// The reply to `RCPT TO:<address>` seen `n` times before.
pub type RcptReply = Arc<dyn Fn(&str, usize) -> String + Send + Sync>;

/// How a fake server answers.
#[derive(Clone)]
pub struct Script {
    /// EHLO keywords (STARTTLS is added before TLS when `tls` is set).
    pub caps: Vec<&'static str>,
    /// The reply to `RCPT TO:<address>` seen `n` times before (by this server).
    pub rcpt: RcptReply,
    /// The reply after the data of the `n`-th DATA (from 0).
    pub data: Arc<dyn Fn(usize) -> String + Send + Sync>,
    /// Waits this long before the reply after the data.
    pub data_delay: Duration,
    /// Offers STARTTLS with this certificate.
    pub tls: Option<TlsAcceptor>,
    /// Closes the connection after the reply to the data (as a server whose idle
    /// timeout is shorter than the client's pool keeps connections).
    pub close_after_data: bool,
}

impl Default for Script {
    fn default() -> Self {
        Script {
            caps: vec!["PIPELINING", "8BITMIME", "ENHANCEDSTATUSCODES"],
            rcpt: Arc::new(|_, _| "250 2.1.5 ok".into()),
            data: Arc::new(|_| "250 2.0.0 queued".into()),
            data_delay: Duration::ZERO,
            tls: None,
            close_after_data: false,
        }
    }
}

impl Script {
    /// Answers every RCPT with `rcpt(address, times seen before)`.
    pub fn rcpt(self, rcpt: impl Fn(&str, usize) -> String + Send + Sync + 'static) -> Self {
        Script {
            rcpt: Arc::new(rcpt),
            ..self
        }
    }

    /// Answers the `n`-th DATA (from 0) after the data with `data(n)`.
    pub fn data(self, data: impl Fn(usize) -> String + Send + Sync + 'static) -> Self {
        Script {
            data: Arc::new(data),
            ..self
        }
    }

    /// Waits `delay` before the reply after the data.
    pub fn data_delay(self, delay: Duration) -> Self {
        Script {
            data_delay: delay,
            ..self
        }
    }

    /// Offers STARTTLS with `acceptor`.
    pub fn tls(self, acceptor: TlsAcceptor) -> Self {
        Script {
            tls: Some(acceptor),
            ..self
        }
    }

    /// Closes every connection after the reply to the data.
    pub fn close_after_data(self) -> Self {
        Script {
            close_after_data: true,
            ..self
        }
    }

    /// These EHLO keywords instead of the default ones.
    pub fn caps(self, caps: &[&'static str]) -> Self {
        Script {
            caps: caps.to_vec(),
            ..self
        }
    }
}

/// One message a fake server accepted.
#[derive(Debug, Clone)]
pub struct Transaction {
    /// The address the connection came to.
    pub ip: IpAddr,
    /// The connection (counted from 0 per server).
    pub connection: usize,
    /// The MAIL line.
    pub mail: String,
    /// The RCPT lines of the transaction (accepted or not).
    pub rcpts: Vec<String>,
    /// The message, dot-stuffing undone, without the final `.`.
    pub data: Vec<u8>,
}

impl Transaction {
    /// The Subject of the message.
    pub fn subject(&self) -> String {
        MessageParser::default()
            .parse(&self.data)
            .and_then(|m| m.subject().map(str::to_string))
            .unwrap_or_default()
    }
}

/// What a fake server saw.
#[derive(Debug, Clone, Default)]
pub struct Log {
    /// The local address of every connection, in order.
    pub connections: Vec<IpAddr>,
    /// Every MAIL line.
    pub mails: Vec<String>,
    /// Every RCPT line.
    pub rcpts: Vec<String>,
    /// Every accepted message.
    pub transactions: Vec<Transaction>,
    rcpt_seen: HashMap<String, usize>,
    data_seen: usize,
}

/// A scripted SMTP server listening on one port of several loopback addresses.
pub struct FakeMx {
    /// The port (the same on every address).
    pub port: u16,
    log: Arc<Mutex<Log>>,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for FakeMx {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

impl FakeMx {
    /// A server on `127.0.0.2` and `127.0.0.<n>` for each `n` of `more`, all on one
    /// free port. Binding 127.0.0.2 first keeps ports apart between tests: no other
    /// test can get this port there, so none picks it for its other addresses either.
    pub async fn start(more: &[u8], script: Script) -> FakeMx {
        for _ in 0..20 {
            let first = TcpListener::bind((lo(2), 0)).await.expect("bind 127.0.0.2");
            let port = first.local_addr().expect("local address").port();
            if let Some(mx) = Self::on(port, Some(first), more, script.clone()).await {
                return mx;
            }
        }
        panic!("no port free on every address");
    }

    /// Another server on `port` (taken by a [`FakeMx::start`] of the same test) at
    /// `127.0.0.<n>` for each `n` of `ips`.
    pub async fn start_on(port: u16, ips: &[u8], script: Script) -> FakeMx {
        Self::on(port, None, ips, script)
            .await
            .expect("the port is free on these addresses")
    }

    async fn on(
        port: u16,
        first: Option<TcpListener>,
        more: &[u8],
        script: Script,
    ) -> Option<FakeMx> {
        let mut listeners: Vec<TcpListener> = first.into_iter().collect();
        for &n in more {
            listeners.push(TcpListener::bind((lo(n), port)).await.ok()?);
        }
        let log = Arc::new(Mutex::new(Log::default()));
        let tasks = listeners
            .into_iter()
            .map(|listener| {
                let (log, script) = (log.clone(), script.clone());
                tokio::spawn(async move {
                    while let Ok((tcp, _)) = listener.accept().await {
                        let (log, script) = (log.clone(), script.clone());
                        tokio::spawn(async move {
                            // A connection that fails (TLS, I/O) just ends.
                            let _ = serve(tcp, &script, &log).await;
                        });
                    }
                })
            })
            .collect();
        Some(FakeMx { port, log, tasks })
    }

    /// What it saw so far.
    pub fn log(&self) -> Log {
        self.log.lock().expect("log").clone()
    }

    /// Waits until it has accepted `n` messages; returns them.
    pub async fn wait_transactions(&self, n: usize) -> Vec<Transaction> {
        eventually(&format!("{n} messages at the fake server"), async || {
            let t = self.log().transactions;
            (t.len() >= n).then_some(t)
        })
        .await
    }
}

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

async fn say(io: &mut BufReader<Box<dyn Io>>, reply: &str) -> std::io::Result<()> {
    let inner = io.get_mut();
    inner.write_all(reply.as_bytes()).await?;
    inner.write_all(b"\r\n").await?;
    inner.flush().await
}

/// The next line without its line end; `None` at the end of the stream.
async fn line(io: &mut BufReader<Box<dyn Io>>) -> std::io::Result<Option<String>> {
    let mut buf = Vec::new();
    let n = tokio::time::timeout(Duration::from_secs(60), io.read_until(b'\n', &mut buf))
        .await
        .map_err(|_| std::io::Error::other("idle"))??;
    if n == 0 {
        return Ok(None);
    }
    while buf.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
        buf.pop();
    }
    Ok(Some(String::from_utf8_lossy(&buf).into_owned()))
}

/// One SMTP connection (RFC 5321 server side, as little as the client needs).
async fn serve(tcp: TcpStream, script: &Script, log: &Mutex<Log>) -> std::io::Result<()> {
    let ip = tcp.local_addr()?.ip();
    let connection = {
        let mut log = log.lock().expect("log");
        log.connections.push(ip);
        log.connections.len() - 1
    };
    let mut io: BufReader<Box<dyn Io>> = BufReader::new(Box::new(tcp));
    let mut is_tls = false;
    // MAIL line, RCPT lines, whether any RCPT was accepted.
    let mut txn: Option<(String, Vec<String>, bool)> = None;
    say(&mut io, "220 fake.test ESMTP").await?;
    while let Some(cmd) = line(&mut io).await? {
        let upper = cmd.to_ascii_uppercase();
        if upper.starts_with("EHLO") || upper.starts_with("HELO") {
            txn = None;
            let mut caps: Vec<&str> = vec!["fake.test"];
            if script.tls.is_some() && !is_tls {
                caps.push("STARTTLS");
            }
            caps.extend(script.caps.iter().copied());
            let n = caps.len();
            let reply: Vec<String> = caps
                .iter()
                .enumerate()
                .map(|(i, c)| format!("250{}{c}", if i + 1 == n { ' ' } else { '-' }))
                .collect();
            say(&mut io, &reply.join("\r\n")).await?;
        } else if upper == "STARTTLS" {
            match (&script.tls, is_tls) {
                (Some(acceptor), false) => {
                    say(&mut io, "220 2.0.0 go ahead").await?;
                    let tls = acceptor.accept(io.into_inner()).await?;
                    io = BufReader::new(Box::new(tls));
                    is_tls = true;
                    txn = None;
                }
                _ => say(&mut io, "502 5.5.1 not here").await?,
            }
        } else if upper.starts_with("MAIL FROM:") {
            log.lock().expect("log").mails.push(cmd.clone());
            txn = Some((cmd, Vec::new(), false));
            say(&mut io, "250 2.1.0 ok").await?;
        } else if upper.starts_with("RCPT TO:") {
            let address = cmd
                .split_once('<')
                .and_then(|(_, rest)| rest.split_once('>'))
                .map(|(a, _)| a.to_string())
                .unwrap_or_default();
            let reply = {
                let mut log = log.lock().expect("log");
                log.rcpts.push(cmd.clone());
                let seen = log.rcpt_seen.entry(address.clone()).or_default();
                let n = *seen;
                *seen += 1;
                drop(log);
                (script.rcpt)(&address, n)
            };
            match &mut txn {
                Some((_, rcpts, accepted)) => {
                    rcpts.push(cmd);
                    *accepted |= reply.starts_with('2');
                    say(&mut io, &reply).await?;
                }
                None => say(&mut io, "503 5.5.1 MAIL first").await?,
            }
        } else if upper == "DATA" {
            let Some((mail, rcpts, true)) = txn.take() else {
                say(&mut io, "503 5.5.1 no valid recipients").await?;
                continue;
            };
            say(&mut io, "354 go ahead").await?;
            let mut data = Vec::new();
            loop {
                let mut buf = Vec::new();
                if io.read_until(b'\n', &mut buf).await? == 0 {
                    return Ok(());
                }
                if buf == b".\r\n" {
                    break;
                }
                // RFC 5321 §4.5.2: undo the dot-stuffing.
                let start = usize::from(buf.first() == Some(&b'.'));
                data.extend_from_slice(&buf[start..]);
            }
            tokio::time::sleep(script.data_delay).await;
            let n = {
                let mut log = log.lock().expect("log");
                log.data_seen += 1;
                log.data_seen - 1
            };
            let reply = (script.data)(n);
            if reply.starts_with('2') {
                log.lock().expect("log").transactions.push(Transaction {
                    ip,
                    connection,
                    mail,
                    rcpts,
                    data,
                });
            }
            say(&mut io, &reply).await?;
            if script.close_after_data {
                return Ok(());
            }
        } else if upper == "RSET" {
            txn = None;
            say(&mut io, "250 2.0.0 ok").await?;
        } else if upper == "NOOP" {
            say(&mut io, "250 2.0.0 ok").await?;
        } else if upper == "QUIT" {
            say(&mut io, "221 2.0.0 bye").await?;
            return Ok(());
        } else {
            say(&mut io, "500 5.5.2 unknown command").await?;
        }
    }
    Ok(())
}

/// A self-signed certificate for `names`: the server's TLS acceptor and the PEM to trust.
pub fn certificate(names: &[&str]) -> (TlsAcceptor, String) {
    let names = names.iter().map(|n| n.to_string()).collect::<Vec<_>>();
    let certified = rcgen::generate_simple_self_signed(names).expect("certificate");
    let key = rustls_pki_types::PrivateKeyDer::Pkcs8(certified.signing_key.serialize_der().into());
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("TLS versions")
    .with_no_client_auth()
    .with_single_cert(vec![certified.cert.der().clone()], key)
    .expect("server certificate");
    (TlsAcceptor::from(Arc::new(config)), certified.cert.pem())
}

// --- DSNs ------------------------------------------------------------------------------

/// A delivery status notification, read with mail-parser.
#[derive(Debug, Clone)]
pub struct Dsn {
    /// Subject.
    pub subject: String,
    /// The per-message fields (lower-case names).
    pub message_fields: HashMap<String, String>,
    /// The per-recipient fields, one map per recipient (lower-case names).
    pub recipients: Vec<HashMap<String, String>>,
    /// The media type of the returned original (`message/rfc822` or
    /// `text/rfc822-headers`), if any.
    pub returned: Option<String>,
    /// The human-readable part.
    pub text: String,
}

impl Dsn {
    /// The DSN in `raw`, or `None` when it is not a `multipart/report;
    /// report-type=delivery-status` with a `message/delivery-status` part.
    pub fn parse(raw: &[u8]) -> Option<Dsn> {
        let message = MessageParser::default().parse(raw)?;
        let ct = message.content_type()?;
        if !(ct.ctype().eq_ignore_ascii_case("multipart")
            && ct
                .subtype()
                .is_some_and(|s| s.eq_ignore_ascii_case("report"))
            && ct
                .attribute("report-type")
                .is_some_and(|t| t.eq_ignore_ascii_case("delivery-status")))
        {
            return None;
        }
        let status = message.parts.iter().find(|p| {
            p.content_type().is_some_and(|ct| {
                ct.ctype().eq_ignore_ascii_case("message")
                    && ct
                        .subtype()
                        .is_some_and(|s| s.eq_ignore_ascii_case("delivery-status"))
            })
        })?;
        let text = message
            .parts
            .iter()
            .find(|p| {
                p.content_type().is_some_and(|ct| {
                    ct.ctype() == "text" && ct.subtype().is_some_and(|s| s == "plain")
                })
            })
            .and_then(|p| p.text_contents())
            .unwrap_or_default()
            .to_string();
        let returned = message.parts.iter().find_map(|p| {
            let ct = p.content_type()?;
            let t =
                format!("{}/{}", ct.ctype(), ct.subtype().unwrap_or_default()).to_ascii_lowercase();
            matches!(t.as_str(), "message/rfc822" | "text/rfc822-headers").then_some(t)
        });
        let mut groups = fields(&String::from_utf8_lossy(status.contents()));
        if groups.is_empty() {
            return None;
        }
        let message_fields = groups.remove(0);
        Some(Dsn {
            subject: message.subject().unwrap_or_default().to_string(),
            message_fields,
            recipients: groups,
            returned,
            text,
        })
    }

    /// The only recipient's field `name` (the DSN must be about one recipient).
    pub fn field(&self, name: &str) -> String {
        assert_eq!(self.recipients.len(), 1, "recipients in {self:#?}");
        self.recipients[0]
            .get(name)
            .cloned()
            .unwrap_or_else(|| panic!("no {name} in {self:#?}"))
    }
}

/// The groups of `name: value` fields of a delivery-status body (RFC 3464 §2.1),
/// continuation lines unfolded.
fn fields(body: &str) -> Vec<HashMap<String, String>> {
    let body = body.replace("\r\n", "\n");
    body.split("\n\n")
        .filter(|g| !g.trim().is_empty())
        .map(|group| {
            let mut map = HashMap::new();
            let mut last: Option<String> = None;
            for l in group.lines() {
                if l.starts_with([' ', '\t']) {
                    if let Some(k) = &last
                        && let Some(v) = map.get_mut(k)
                    {
                        let v: &mut String = v;
                        v.push(' ');
                        v.push_str(l.trim());
                    }
                } else if let Some((k, v)) = l.split_once(':') {
                    let k = k.trim().to_ascii_lowercase();
                    map.insert(k.clone(), v.trim().to_string());
                    last = Some(k);
                }
            }
            map
        })
        .collect()
}
