//! Test support: an in-process mailstead (SMTP MX, SMTP submission on STARTTLS and
//! implicit-TLS listeners, IMAP) on `127.0.0.1:0` with a SQLite store in a temp
//! directory, the mail-flow [`Queue`] over it (mock DNS; its delivery worker only on
//! request), fixtures (domain `example.org`, users `alice` and `bob`), a line-based SMTP
//! client and an IMAP client ([`imap::ImapClient`]), both with TLS. Each test builds its
//! own server; nothing is shared.

pub mod imap;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use mailstead_directory::{Directory, NewUser};
use mailstead_dns::{MockResolver, Resolver};
use mailstead_imap::{ImapConfig, ImapServer, Security};
use mailstead_queue::{Queue, QueueConfig};
use mailstead_smtp::{Role, Security as SmtpSecurity, SmtpConfig, SmtpServer};
use mailstead_spam::{Filter, FilterConfig};
use mailstead_store::Stores;
use mailstead_store::model::{Message, QueuedMessage};
use mailstead_types::{Address, BlobId, Secret};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// Asserts a reply's code and the enhanced status code (RFC 3463) that starts its text.
#[track_caller]
pub fn assert_reply(reply: &(u16, String), code: u16, enhanced: &str) {
    let (got, text) = reply;
    assert!(
        *got == code && (text == enhanced || text.starts_with(&format!("{enhanced} "))),
        "expected {code} {enhanced}, got {got} {text:?}"
    );
}

/// The password of every fixture user.
pub const PASSWORD: &str = "correct horse battery";

/// The name in the test certificate (and the servers' host name).
pub const HOSTNAME: &str = "mx.example.org";

/// A running in-process server.
pub struct TestServer {
    /// Holds the data directory alive.
    pub dir: tempfile::TempDir,
    /// The stores.
    pub stores: Stores,
    /// The directory over them.
    pub directory: Directory,
    /// The mail flow every SMTP listener hands messages to.
    pub queue: Arc<Queue>,
    /// The SMTP server in the MX role.
    pub smtp: Arc<SmtpServer>,
    /// Where SMTP (MX, cleartext + STARTTLS) listens.
    pub smtp_addr: SocketAddr,
    /// The SMTP server in the submission role.
    pub submission: Arc<SmtpServer>,
    /// Where submission with STARTTLS listens (as port 587).
    pub submission_addr: SocketAddr,
    /// Where submission with implicit TLS listens (as port 465).
    pub submissions_addr: SocketAddr,
    /// The IMAP server.
    pub imap: Arc<ImapServer>,
    /// Where IMAP (cleartext + STARTTLS) listens.
    pub imap_addr: SocketAddr,
    /// Where IMAP with implicit TLS listens.
    pub imaps_addr: SocketAddr,
    /// TLS client config trusting the server's self-signed certificate.
    pub tls_client: Arc<rustls::ClientConfig>,
    /// The MX filter, when [`TestServerBuilder::filter`] turned it on.
    pub filter: Option<Arc<Filter>>,
    shutdown: watch::Sender<bool>,
}

type Tweak<T> = Box<dyn FnOnce(&mut T) + Send>;

/// Settings of a [`TestServer`] before it starts; from [`TestServer::builder`].
pub struct TestServerBuilder {
    smtp: Tweak<SmtpConfig>,
    submission: Tweak<SmtpConfig>,
    imap: Tweak<ImapConfig>,
    queue: Tweak<QueueConfig>,
    resolver: Option<Arc<dyn Resolver>>,
    run_queue: bool,
    filter: Option<Tweak<FilterConfig>>,
}

impl TestServerBuilder {
    /// Changes the MX listener's settings.
    pub fn smtp(mut self, f: impl FnOnce(&mut SmtpConfig) + Send + 'static) -> Self {
        self.smtp = Box::new(f);
        self
    }

    /// Changes the submission listeners' settings (role `Submission` already set).
    pub fn submission(mut self, f: impl FnOnce(&mut SmtpConfig) + Send + 'static) -> Self {
        self.submission = Box::new(f);
        self
    }

    /// Changes the IMAP settings.
    pub fn imap(mut self, f: impl FnOnce(&mut ImapConfig) + Send + 'static) -> Self {
        self.imap = Box::new(f);
        self
    }

    /// Changes the queue settings (`QueueConfig::for_tests` by default).
    pub fn queue(mut self, f: impl FnOnce(&mut QueueConfig) + Send + 'static) -> Self {
        self.queue = Box::new(f);
        self
    }

    /// The resolver of the queue (default: an empty [`MockResolver`], every name
    /// NXDOMAIN).
    pub fn resolver(mut self, resolver: Arc<dyn Resolver>) -> Self {
        self.resolver = Some(resolver);
        self
    }

    /// Judges MX mail with a filter (authentication, spam scoring; DNS from the
    /// resolver) whose settings `f` changes from [`FilterConfig::default`], and lets IMAP
    /// moves into and out of Junk train it. Off by default.
    pub fn filter(mut self, f: impl FnOnce(&mut FilterConfig) + Send + 'static) -> Self {
        self.filter = Some(Box::new(f));
        self
    }

    /// Runs the queue's delivery worker (off by default, so tests can look at what was
    /// queued with `stores.meta.queue_list()`).
    pub fn run_queue(mut self) -> Self {
        self.run_queue = true;
        self
    }

    /// Starts the server.
    pub async fn start(self) -> TestServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let stores = mailstead_store::open(
            &mailstead_store::MetaBackend::Sqlite {
                path: dir.path().join("meta.sqlite3"),
                readers: 4,
            },
            &mailstead_store::BlobBackend::Fs {
                path: dir.path().join("blobs"),
            },
        )
        .await
        .expect("open store");
        let directory = Directory::new(stores.meta.clone());
        directory.add_domain("example.org").await.expect("domain");
        for user in ["alice@example.org", "bob@example.org"] {
            directory
                .add_user(user, &Secret::new(PASSWORD.into()), &NewUser::default())
                .await
                .expect("user");
        }
        let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
        mailstead_server::tls::generate_self_signed(&[HOSTNAME.into()], &cert, &key)
            .expect("certificate");
        let tls = mailstead_server::tls::load_server_config(&cert, &key).expect("tls config");
        let mut roots = rustls::RootCertStore::empty();
        for c in CertificateDer::pem_file_iter(&cert).expect("read cert") {
            roots.add(c.expect("pem")).expect("add root");
        }
        let tls_client = Arc::new(
            rustls::ClientConfig::builder_with_provider(Arc::new(
                rustls::crypto::aws_lc_rs::default_provider(),
            ))
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_root_certificates(roots)
            .with_no_client_auth(),
        );
        let (shutdown, rx) = watch::channel(false);

        let mut queue_config = QueueConfig::for_tests(HOSTNAME);
        (self.queue)(&mut queue_config);
        let resolver = self
            .resolver
            .unwrap_or_else(|| Arc::new(MockResolver::new()));
        let queue = Queue::new(queue_config, stores.clone(), resolver.clone())
            .await
            .expect("queue");
        let filter = self.filter.map(|tweak| {
            let mut config = FilterConfig::default();
            tweak(&mut config);
            Arc::new(Filter::new(config, resolver.clone(), stores.meta.clone()))
        });
        if self.run_queue {
            tokio::spawn(queue.clone().run(rx.clone()));
        }

        let mut config = SmtpConfig::for_tests(HOSTNAME);
        (self.smtp)(&mut config);
        let smtp = SmtpServer::with_filter(
            config,
            stores.clone(),
            Some(tls.clone()),
            queue.clone(),
            filter.clone(),
        );
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let smtp_addr = listener.local_addr().expect("addr");
        tokio::spawn(
            smtp.clone()
                .serve(listener, SmtpSecurity::StartTls, rx.clone()),
        );

        let mut config = SmtpConfig::for_tests(HOSTNAME);
        config.role = Role::Submission;
        (self.submission)(&mut config);
        let submission = SmtpServer::new(config, stores.clone(), Some(tls.clone()), queue.clone());
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let submission_addr = listener.local_addr().expect("addr");
        tokio::spawn(
            submission
                .clone()
                .serve(listener, SmtpSecurity::StartTls, rx.clone()),
        );
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let submissions_addr = listener.local_addr().expect("addr");
        tokio::spawn(
            submission
                .clone()
                .serve(listener, SmtpSecurity::ImplicitTls, rx.clone()),
        );

        let mut imap_config = ImapConfig::for_tests(HOSTNAME);
        (self.imap)(&mut imap_config);
        let learner: Option<Arc<dyn mailstead_imap::JunkLearner>> = filter.as_ref().map(|f| {
            Arc::new(mailstead_server::learn::ImapLearner::new(
                f.clone(),
                stores.blobs.clone(),
            )) as Arc<dyn mailstead_imap::JunkLearner>
        });
        let imap = ImapServer::with_learner(imap_config, stores.clone(), Some(tls), learner);
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let imap_addr = listener.local_addr().expect("addr");
        tokio::spawn(imap.clone().serve(listener, Security::StartTls, rx.clone()));
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let imaps_addr = listener.local_addr().expect("addr");
        tokio::spawn(imap.clone().serve(listener, Security::ImplicitTls, rx));
        TestServer {
            dir,
            stores,
            directory,
            queue,
            smtp,
            smtp_addr,
            submission,
            submission_addr,
            submissions_addr,
            imap,
            imap_addr,
            imaps_addr,
            tls_client,
            filter,
            shutdown,
        }
    }
}

impl TestServer {
    /// Settings to change before starting.
    pub fn builder() -> TestServerBuilder {
        TestServerBuilder {
            smtp: Box::new(|_| {}),
            submission: Box::new(|_| {}),
            imap: Box::new(|_| {}),
            queue: Box::new(|_| {}),
            resolver: None,
            run_queue: false,
            filter: None,
        }
    }

    /// A server with default test limits.
    pub async fn start() -> Self {
        Self::builder().start().await
    }

    /// A server whose SMTP (MX) limits `f` may change.
    pub async fn start_with(f: impl FnOnce(&mut SmtpConfig) + Send + 'static) -> Self {
        Self::builder().smtp(f).start().await
    }

    /// A server whose submission settings `f` may change.
    pub async fn start_with_submission(f: impl FnOnce(&mut SmtpConfig) + Send + 'static) -> Self {
        Self::builder().submission(f).start().await
    }

    /// A server whose IMAP settings `f` may change.
    pub async fn start_with_imap(f: impl FnOnce(&mut ImapConfig) + Send + 'static) -> Self {
        Self::builder().imap(f).start().await
    }

    /// A server whose SMTP (MX) and IMAP settings may be changed.
    pub async fn start_full(
        f: impl FnOnce(&mut SmtpConfig) + Send + 'static,
        g: impl FnOnce(&mut ImapConfig) + Send + 'static,
    ) -> Self {
        Self::builder().smtp(f).imap(g).start().await
    }

    /// A connected SMTP (MX) client that has read the greeting.
    pub async fn smtp_client(&self) -> SmtpClient {
        let mut c = SmtpClient::connect(self.smtp_addr).await;
        let (code, _) = c.read_reply().await;
        assert_eq!(code, 220, "greeting");
        c
    }

    /// A connected submission client (cleartext, STARTTLS offered) that has read the
    /// greeting.
    pub async fn submission_client(&self) -> SmtpClient {
        let mut c = SmtpClient::connect(self.submission_addr).await;
        let (code, _) = c.read_reply().await;
        assert_eq!(code, 220, "greeting");
        c
    }

    /// A submission client over implicit TLS (port 465 style) that has read the greeting.
    pub async fn submissions_client(&self) -> SmtpClient {
        let mut c =
            SmtpClient::connect_tls(self.submissions_addr, self.tls_client.clone(), HOSTNAME).await;
        let (code, _) = c.read_reply().await;
        assert_eq!(code, 220, "greeting");
        c
    }

    /// A submission client after EHLO, STARTTLS, EHLO and `AUTH PLAIN` as `user` with
    /// `password`: ready for MAIL.
    pub async fn submission_login_with(&self, user: &str, password: &str) -> SmtpClient {
        let c = self.submission_client().await;
        let mut c = c.starttls(self.tls_client.clone()).await;
        assert_eq!(c.cmd("EHLO client.example").await.0, 250);
        assert_reply(&c.auth_plain(user, password).await, 235, "2.7.0");
        c
    }

    /// [`TestServer::submission_login_with`] with the fixture password.
    pub async fn submission_login(&self, user: &str) -> SmtpClient {
        self.submission_login_with(user, PASSWORD).await
    }

    /// Every queued message with its recipients, oldest first.
    pub async fn queued(&self) -> Vec<QueuedMessage> {
        self.stores.meta.queue_list().await.expect("queue_list")
    }

    /// The raw content of a blob (a queued message's, say).
    pub async fn blob(&self, id: &BlobId) -> Vec<u8> {
        self.stores
            .blobs
            .get(id)
            .await
            .expect("blob")
            .expect("blob present")
    }

    /// Messages in a user's INBOX with their raw content, ascending UID.
    pub async fn inbox(&self, user: &str) -> Vec<(Message, Vec<u8>)> {
        self.mailbox(user, "INBOX").await
    }

    /// Messages in one of a user's mailboxes with their raw content, ascending UID.
    pub async fn mailbox(&self, user: &str, name: &str) -> Vec<(Message, Vec<u8>)> {
        let address: Address = user.parse().expect("address");
        let meta = &self.stores.meta;
        let account = meta
            .account(&address)
            .await
            .expect("store")
            .expect("account");
        let inbox = meta
            .mailbox(account.id, name)
            .await
            .expect("store")
            .expect("mailbox");
        let mut out = Vec::new();
        for m in meta.messages(inbox.id).await.expect("messages") {
            let raw = self.blob(&m.blob_id).await;
            out.push((m, raw));
        }
        out
    }

    /// An IMAP client logged in as `user` (fixture password).
    pub async fn imap_login(&self, user: &str) -> imap::ImapClient {
        imap::ImapClient::login(self.imap_addr, user, PASSWORD).await
    }

    /// The server's self-signed certificate in PEM, whose one name is [`HOSTNAME`]: for
    /// another server's `QueueConfig::extra_roots_pem` when it relays through this one.
    pub fn certificate_pem(&self) -> Vec<u8> {
        std::fs::read(self.dir.path().join("cert.pem")).expect("read certificate")
    }

    /// Asks the listeners (and the queue worker) to stop; open sessions get 421 at their
    /// next command.
    pub fn stop(&self) {
        let _ = self.shutdown.send(true);
    }
}

/// A byte stream for the client: plain or TLS.
pub trait ClientIo: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> ClientIo for T {}

/// A minimal SMTP client for tests: raw lines out, parsed replies in.
pub struct SmtpClient {
    stream: Box<dyn ClientIo>,
    buf: Vec<u8>,
}

impl SmtpClient {
    /// Connects (does not read the greeting).
    pub async fn connect(addr: SocketAddr) -> Self {
        let stream = TcpStream::connect(addr).await.expect("connect");
        SmtpClient {
            stream: Box::new(stream),
            buf: Vec::new(),
        }
    }

    /// Connects with TLS from the first byte (implicit TLS, RFC 8314), trusting `config`
    /// and checking the certificate for `name`; does not read the greeting.
    pub async fn connect_tls(
        addr: SocketAddr,
        config: Arc<rustls::ClientConfig>,
        name: &str,
    ) -> Self {
        SmtpClient::connect(addr).await.upgrade(config, name).await
    }

    /// EHLO, STARTTLS (expects `220`), then the handshake for [`HOSTNAME`]; EHLO must be
    /// sent again after (RFC 3207 §4.2).
    pub async fn starttls(mut self, config: Arc<rustls::ClientConfig>) -> Self {
        assert!(self.buf.is_empty(), "unread input before STARTTLS");
        let (code, _) = self.cmd("EHLO client.example").await;
        assert_eq!(code, 250, "EHLO before STARTTLS");
        let (code, text) = self.cmd("STARTTLS").await;
        assert_eq!(code, 220, "STARTTLS: {text}");
        self.upgrade(config, HOSTNAME).await
    }

    /// `AUTH PLAIN` with an initial response; returns the reply.
    pub async fn auth_plain(&mut self, user: &str, password: &str) -> (u16, String) {
        let ir = base64::engine::general_purpose::STANDARD.encode(format!("\0{user}\0{password}"));
        self.cmd(&format!("AUTH PLAIN {ir}")).await
    }

    /// Sends bytes as they are.
    pub async fn send_raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.expect("write");
        self.stream.flush().await.expect("flush");
    }

    /// Sends a line with CRLF.
    pub async fn send(&mut self, line: &str) {
        self.send_raw(format!("{line}\r\n").as_bytes()).await;
    }

    /// Sends a command and reads its reply.
    pub async fn cmd(&mut self, line: &str) -> (u16, String) {
        self.send(line).await;
        self.read_reply().await
    }

    /// Reads one (possibly multi-line) reply: code and the lines' text joined by `\n`
    /// (each line without code and separator). Panics after 10 s.
    pub async fn read_reply(&mut self) -> (u16, String) {
        let mut lines = Vec::new();
        loop {
            let line = self.read_line().await.expect("reply line before EOF");
            let code: u16 = line
                .get(..3)
                .and_then(|c| c.parse().ok())
                .unwrap_or_else(|| {
                    panic!("bad reply line {line:?}");
                });
            lines.push(line.get(4..).unwrap_or("").to_string());
            if line.as_bytes().get(3) != Some(&b'-') {
                return (code, lines.join("\n"));
            }
        }
    }

    /// Reads one line, `None` at EOF.
    pub async fn read_line(&mut self) -> Option<String> {
        loop {
            if let Some(pos) = self.buf.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.buf.drain(..=pos).collect();
                let text = String::from_utf8_lossy(&line);
                return Some(text.trim_end_matches(['\r', '\n']).to_string());
            }
            let mut chunk = [0u8; 4096];
            let n = tokio::time::timeout(Duration::from_secs(10), self.stream.read(&mut chunk))
                .await
                .expect("reply within 10 s")
                .ok()?;
            if n == 0 {
                return None;
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// True when the server closed the connection (EOF within 10 s, nothing else sent).
    pub async fn closed(&mut self) -> bool {
        self.read_line().await.is_none()
    }

    /// STARTTLS handshake after a `220` to STARTTLS was read.
    pub async fn upgrade(self, config: Arc<rustls::ClientConfig>, name: &str) -> Self {
        let connector = tokio_rustls::TlsConnector::from(config);
        let server_name = ServerName::try_from(name.to_string()).expect("server name");
        let tls = connector
            .connect(server_name, self.stream)
            .await
            .expect("TLS handshake");
        SmtpClient {
            stream: Box::new(tls),
            buf: Vec::new(),
        }
    }

    /// EHLO, MAIL, RCPT for each recipient, DATA with `body` (dot-stuffed here); returns
    /// the final reply.
    pub async fn send_mail(&mut self, from: &str, to: &[&str], body: &str) -> (u16, String) {
        let (code, _) = self.cmd("EHLO client.example").await;
        assert_eq!(code, 250);
        let (code, text) = self.cmd(&format!("MAIL FROM:<{from}>")).await;
        assert_eq!(code, 250, "{text}");
        for rcpt in to {
            let (code, text) = self.cmd(&format!("RCPT TO:<{rcpt}>")).await;
            assert_eq!(code, 250, "{rcpt}: {text}");
        }
        let (code, text) = self.cmd("DATA").await;
        assert_eq!(code, 354, "{text}");
        let mut data = String::new();
        for line in body.split_inclusive('\n') {
            let line = line.trim_end_matches(['\r', '\n']);
            if line.starts_with('.') {
                data.push('.');
            }
            data.push_str(line);
            data.push_str("\r\n");
        }
        data.push_str(".\r\n");
        self.send_raw(data.as_bytes()).await;
        self.read_reply().await
    }
}
