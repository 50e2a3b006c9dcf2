//! Test support: an in-process mailstead (SMTP and IMAP) on `127.0.0.1:0` with a SQLite
//! store in a temp directory, fixtures (domain `example.org`, users `alice` and `bob`), a
//! line-based SMTP client and an IMAP client ([`imap::ImapClient`]), both with TLS. Each
//! test builds its own server; nothing is shared.

pub mod imap;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use mailstead_directory::{Directory, NewUser};
use mailstead_imap::{ImapConfig, ImapServer, Security};
use mailstead_smtp::{SmtpConfig, SmtpServer};
use mailstead_store::Stores;
use mailstead_store::model::Message;
use mailstead_types::{Address, Secret};
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

/// A running in-process server.
pub struct TestServer {
    /// Holds the data directory alive.
    pub dir: tempfile::TempDir,
    /// The stores.
    pub stores: Stores,
    /// The directory over them.
    pub directory: Directory,
    /// The SMTP server.
    pub smtp: Arc<SmtpServer>,
    /// Where SMTP listens.
    pub smtp_addr: SocketAddr,
    /// The IMAP server.
    pub imap: Arc<ImapServer>,
    /// Where IMAP (cleartext + STARTTLS) listens.
    pub imap_addr: SocketAddr,
    /// Where IMAP with implicit TLS listens.
    pub imaps_addr: SocketAddr,
    /// TLS client config trusting the server's self-signed certificate.
    pub tls_client: Arc<rustls::ClientConfig>,
    shutdown: watch::Sender<bool>,
}

impl TestServer {
    /// A server with default test limits.
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// A server whose SMTP limits `f` may change.
    pub async fn start_with(f: impl FnOnce(&mut SmtpConfig)) -> Self {
        Self::start_full(f, |_| {}).await
    }

    /// A server whose IMAP settings `f` may change.
    pub async fn start_with_imap(f: impl FnOnce(&mut ImapConfig)) -> Self {
        Self::start_full(|_| {}, f).await
    }

    /// A server whose SMTP and IMAP settings may be changed.
    pub async fn start_full(
        f: impl FnOnce(&mut SmtpConfig),
        g: impl FnOnce(&mut ImapConfig),
    ) -> Self {
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
        mailstead_server::tls::generate_self_signed(&["mx.example.org".into()], &cert, &key)
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
        let mut config = SmtpConfig::for_tests("mx.example.org");
        f(&mut config);
        let smtp = SmtpServer::new(config, stores.clone(), Some(tls.clone()));
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let smtp_addr = listener.local_addr().expect("addr");
        let (shutdown, rx) = watch::channel(false);
        tokio::spawn(smtp.clone().serve(listener, rx.clone()));
        let mut imap_config = ImapConfig::for_tests("mx.example.org");
        g(&mut imap_config);
        let imap = ImapServer::new(imap_config, stores.clone(), Some(tls));
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
            smtp,
            smtp_addr,
            imap,
            imap_addr,
            imaps_addr,
            tls_client,
            shutdown,
        }
    }

    /// A connected SMTP client that has read the greeting.
    pub async fn smtp_client(&self) -> SmtpClient {
        let mut c = SmtpClient::connect(self.smtp_addr).await;
        let (code, _) = c.read_reply().await;
        assert_eq!(code, 220, "greeting");
        c
    }

    /// Messages in a user's INBOX with their raw content, ascending UID.
    pub async fn inbox(&self, user: &str) -> Vec<(Message, Vec<u8>)> {
        let address: Address = user.parse().expect("address");
        let meta = &self.stores.meta;
        let account = meta
            .account(&address)
            .await
            .expect("store")
            .expect("account");
        let inbox = meta
            .mailbox(account.id, "INBOX")
            .await
            .expect("store")
            .expect("inbox");
        let mut out = Vec::new();
        for m in meta.messages(inbox.id).await.expect("messages") {
            let raw = self
                .stores
                .blobs
                .get(&m.blob_id)
                .await
                .expect("blob")
                .expect("blob present");
            out.push((m, raw));
        }
        out
    }

    /// An IMAP client logged in as `user` (fixture password).
    pub async fn imap_login(&self, user: &str) -> imap::ImapClient {
        imap::ImapClient::login(self.imap_addr, user, PASSWORD).await
    }

    /// Asks the listener to stop accepting; open sessions get 421 at their next command.
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
