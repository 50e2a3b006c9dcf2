//! A small IMAP client for tests: tagged commands out, whole responses in (literals read
//! and inlined), TLS by STARTTLS.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rustls_pki_types::ServerName;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::ClientIo;

/// One IMAP connection.
pub struct ImapClient {
    stream: Box<dyn ClientIo>,
    buf: Vec<u8>,
    next_tag: u32,
}

/// The responses to one command: untagged ones and, last, the tagged completion.
#[derive(Debug, Clone)]
pub struct Reply {
    /// The tag used.
    pub tag: String,
    /// Every response line before the tagged one, literals inlined.
    pub untagged: Vec<String>,
    /// The tagged line without the tag: `OK ...`, `NO ...` or `BAD ...`.
    pub status: String,
}

impl Reply {
    /// Panics unless the command ended `OK`.
    #[track_caller]
    pub fn ok(self) -> Self {
        assert!(
            self.status.starts_with("OK"),
            "expected OK, got {:?} after {:#?}",
            self.status,
            self.untagged
        );
        self
    }

    /// Panics unless the command ended `NO`.
    #[track_caller]
    pub fn no(self) -> Self {
        assert!(
            self.status.starts_with("NO"),
            "expected NO, got {:?}",
            self.status
        );
        self
    }

    /// Panics unless the command ended `BAD`.
    #[track_caller]
    pub fn bad(self) -> Self {
        assert!(
            self.status.starts_with("BAD"),
            "expected BAD, got {:?}",
            self.status
        );
        self
    }

    /// Untagged lines starting with `* <prefix>` (prefix compared case-sensitively).
    pub fn lines(&self, prefix: &str) -> Vec<&str> {
        self.untagged
            .iter()
            .filter_map(|l| l.strip_prefix("* "))
            .filter(|l| l.starts_with(prefix))
            .collect()
    }

    /// Whether any untagged line contains `needle`.
    pub fn has(&self, needle: &str) -> bool {
        self.untagged.iter().any(|l| l.contains(needle))
    }
}

impl ImapClient {
    /// Connects and reads the greeting (returned).
    pub async fn connect(addr: SocketAddr) -> (Self, String) {
        let stream = TcpStream::connect(addr).await.expect("connect");
        let mut c = ImapClient {
            stream: Box::new(stream),
            buf: Vec::new(),
            next_tag: 1,
        };
        let greeting = c.read_response().await.expect("greeting");
        (c, greeting)
    }

    /// Connects, reads the greeting and logs in.
    pub async fn login(addr: SocketAddr, user: &str, password: &str) -> Self {
        let (mut c, _) = Self::connect(addr).await;
        c.cmd(&format!("LOGIN {user} \"{password}\"")).await.ok();
        c
    }

    /// Sends raw bytes.
    pub async fn send_raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.expect("write");
        self.stream.flush().await.expect("flush");
    }

    /// A fresh tag.
    pub fn tag(&mut self) -> String {
        let t = format!("t{}", self.next_tag);
        self.next_tag += 1;
        t
    }

    /// Sends `tag line` and reads every response up to the tagged one. A line with a
    /// synchronising literal must be sent with [`ImapClient::send_raw`] instead.
    pub async fn cmd(&mut self, line: &str) -> Reply {
        let tag = self.tag();
        self.send_raw(format!("{tag} {line}\r\n").as_bytes()).await;
        self.read_until_tagged(&tag).await
    }

    /// Reads responses until the one tagged `tag`.
    pub async fn read_until_tagged(&mut self, tag: &str) -> Reply {
        let mut untagged = Vec::new();
        loop {
            let r = self.read_response().await.unwrap_or_else(|| {
                panic!("connection closed before {tag} completed: {untagged:#?}")
            });
            if let Some(rest) = r.strip_prefix(&format!("{tag} ")) {
                return Reply {
                    tag: tag.to_string(),
                    untagged,
                    status: rest.to_string(),
                };
            }
            untagged.push(r);
        }
    }

    async fn fill(&mut self) -> bool {
        let mut chunk = [0u8; 16384];
        let n = tokio::time::timeout(Duration::from_secs(10), self.stream.read(&mut chunk))
            .await
            .expect("response within 10 s")
            .unwrap_or(0);
        if n == 0 {
            return false;
        }
        self.buf.extend_from_slice(&chunk[..n]);
        true
    }

    /// One whole response (a line, with any literals it announces inlined), without the
    /// final CRLF; `None` at EOF.
    pub async fn read_response(&mut self) -> Option<String> {
        let mut out: Vec<u8> = Vec::new();
        loop {
            let Some(pos) = self.buf.iter().position(|&b| b == b'\n') else {
                if !self.fill().await {
                    return None;
                }
                continue;
            };
            let line: Vec<u8> = self.buf.drain(..=pos).collect();
            let trimmed = line
                .strip_suffix(b"\r\n")
                .or_else(|| line.strip_suffix(b"\n"))
                .unwrap_or(&line);
            out.extend_from_slice(trimmed);
            // `{n}` or `~{n}` at the end announces n octets.
            let literal = trimmed
                .strip_suffix(b"}")
                .and_then(|t| t.iter().rposition(|&b| b == b'{').map(|i| &t[i + 1..]))
                .and_then(|n| std::str::from_utf8(n).ok()?.parse::<usize>().ok());
            let Some(n) = literal else {
                return Some(String::from_utf8_lossy(&out).into_owned());
            };
            out.extend_from_slice(b"\r\n");
            while self.buf.len() < n {
                if !self.fill().await {
                    return None;
                }
            }
            out.extend(self.buf.drain(..n));
        }
    }

    /// True when the server closes the connection before sending anything else.
    pub async fn closed(&mut self) -> bool {
        self.read_response().await.is_none()
    }

    /// TLS handshake after the server's `OK` to STARTTLS.
    pub async fn upgrade(self, config: Arc<rustls::ClientConfig>, name: &str) -> Self {
        let connector = tokio_rustls::TlsConnector::from(config);
        let server_name = ServerName::try_from(name.to_string()).expect("server name");
        let tls = connector
            .connect(server_name, self.stream)
            .await
            .expect("TLS handshake");
        ImapClient {
            stream: Box::new(tls),
            buf: Vec::new(),
            next_tag: self.next_tag,
        }
    }
}
