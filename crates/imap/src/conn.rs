//! The connection: stream (TCP or TLS), input buffer, output buffer.
//!
//! Responses are queued and written only before the session waits for input (or when the
//! queue grows past [`FLUSH_AT`], so a FETCH of 10,000 bodies streams instead of piling up
//! in memory). Idle connections hold no read scratch space: reads go into the spare
//! capacity of the input buffer, which is released when empty.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Output queued past this many octets is written out at once.
pub(crate) const FLUSH_AT: usize = 256 * 1024;

/// A byte stream: plain TCP or TLS over it.
pub(crate) trait Io: AsyncRead + AsyncWrite + Unpin + Send + Sync {
    /// Asks the kernel to acknowledge what arrives next at once (TCP_QUICKACK). Used
    /// while a literal is expected: clients such as Python's imaplib send a literal and
    /// its closing CRLF in two writes, and with Nagle on their side the CRLF waits for our
    /// ACK, which the kernel delays by up to 40 ms when we have nothing to send.
    fn quickack(&self) {}
}

impl Io for tokio::net::TcpStream {
    fn quickack(&self) {
        // Best effort: only a latency hint.
        let _ = socket2::SockRef::from(self).set_tcp_quickack(true);
    }
}

impl Io for tokio_rustls::server::TlsStream<Box<dyn Io>> {
    fn quickack(&self) {
        self.get_ref().0.quickack();
    }
}

/// Why reading failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ReadError {
    /// Nothing arrived in time.
    Timeout,
    /// Closed or broken.
    Gone,
}

/// A line read from the client.
pub(crate) enum Line {
    /// A complete line including its LF (and CR when sent).
    Text(Vec<u8>),
    /// Longer than the limit (read to its end and thrown away).
    TooLong,
}

/// The buffered connection.
pub(crate) struct Conn {
    stream: Option<Box<dyn Io>>,
    input: Vec<u8>,
    start: usize,
    output: Vec<u8>,
    write_timeout: Duration,
}

impl Conn {
    pub fn new(stream: Box<dyn Io>) -> Self {
        Conn {
            stream: Some(stream),
            input: Vec::new(),
            start: 0,
            output: Vec::new(),
            write_timeout: Duration::from_secs(120),
        }
    }

    /// The output queue, to encode responses into.
    pub fn out(&mut self) -> &mut Vec<u8> {
        &mut self.output
    }

    /// Writes queued output; a client that does not read it in time is gone.
    pub async fn flush(&mut self) -> Result<(), ReadError> {
        if self.output.is_empty() {
            return Ok(());
        }
        let stream = self.stream.as_mut().ok_or(ReadError::Gone)?;
        let write = async {
            stream.write_all(&self.output).await?;
            stream.flush().await
        };
        match tokio::time::timeout(self.write_timeout, write).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) | Err(_) => return Err(ReadError::Gone),
        }
        self.output.clear();
        // Most sessions sit idle between commands: keep no big buffer around.
        if self.output.capacity() > 4 * 1024 {
            self.output = Vec::new();
        }
        Ok(())
    }

    /// Flushes when the queue is large (between responses of a long FETCH).
    pub async fn maybe_flush(&mut self) -> Result<(), ReadError> {
        if self.output.len() >= FLUSH_AT {
            self.flush().await?;
        }
        Ok(())
    }

    fn buffered(&self) -> &[u8] {
        &self.input[self.start..]
    }

    /// Whether unread input is waiting (pipelined commands).
    pub fn has_buffered(&self) -> bool {
        self.start < self.input.len()
    }

    fn consume(&mut self, n: usize) {
        self.start = (self.start + n).min(self.input.len());
        if self.start == self.input.len() {
            self.input.clear();
            self.start = 0;
            if self.input.capacity() > 4 * 1024 {
                self.input = Vec::new();
            }
        } else if self.start > 64 * 1024 {
            self.input.drain(..self.start);
            self.start = 0;
        }
    }

    /// Flushes output, then reads more input (at least one byte) within `timeout`.
    /// Cancel-safe: when dropped before completion nothing read is lost.
    pub async fn read_more(&mut self, timeout: Duration) -> Result<(), ReadError> {
        self.flush().await?;
        let stream = self.stream.as_mut().ok_or(ReadError::Gone)?;
        // An idle session waits with a small buffer; one that is receiving (a literal, a
        // pipelined batch) reads in bigger steps.
        let step = if self.input.is_empty() {
            1024
        } else {
            16 * 1024
        };
        if self.input.capacity() - self.input.len() < step {
            self.input.reserve(step);
        }
        match tokio::time::timeout(timeout, stream.read_buf(&mut self.input)).await {
            Err(_) => Err(ReadError::Timeout),
            Ok(Err(_)) | Ok(Ok(0)) => Err(ReadError::Gone),
            Ok(Ok(_)) => Ok(()),
        }
    }

    /// The next line (with its line ending). A line longer than `max` is read to its end
    /// and reported as too long. The line must arrive within `timeout`.
    pub async fn next_line(&mut self, max: usize, timeout: Duration) -> Result<Line, ReadError> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut discarding = false;
        let mut scanned = 0;
        loop {
            if let Some(pos) = self.buffered()[scanned..].iter().position(|&b| b == b'\n') {
                let end = scanned + pos + 1;
                let line = self.buffered()[..end].to_vec();
                self.consume(end);
                if discarding || line.len() > max {
                    return Ok(Line::TooLong);
                }
                return Ok(Line::Text(line));
            }
            scanned = self.buffered().len();
            if scanned > max + 2 {
                discarding = true;
                let n = self.buffered().len();
                self.consume(n);
                scanned = 0;
            }
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            self.read_more(left).await?;
        }
    }

    /// See [`Io::quickack`].
    pub fn quickack(&self) {
        if let Some(s) = self.stream.as_ref() {
            s.quickack();
        }
    }

    /// Exactly `n` octets (a literal), read within `timeout`, appended to `into`. What is
    /// already buffered is taken first; the rest is read straight into `into`.
    pub async fn read_exact_into(
        &mut self,
        n: usize,
        into: &mut Vec<u8>,
        timeout: Duration,
    ) -> Result<(), ReadError> {
        let deadline = tokio::time::Instant::now() + timeout;
        into.reserve(n);
        let take = n.min(self.buffered().len());
        into.extend_from_slice(&self.buffered()[..take]);
        self.consume(take);
        let mut left = n - take;
        if left > 0 {
            self.flush().await?;
            // After the continuation went out: sending it is what put the socket into
            // delayed-ACK mode.
            self.quickack();
        }
        while left > 0 {
            let stream = self.stream.as_mut().ok_or(ReadError::Gone)?;
            let wait = deadline.saturating_duration_since(tokio::time::Instant::now());
            let mut limited = (&mut **stream).take(left as u64);
            match tokio::time::timeout(wait, limited.read_buf(into)).await {
                Err(_) => return Err(ReadError::Timeout),
                Ok(Err(_)) | Ok(Ok(0)) => return Err(ReadError::Gone),
                Ok(Ok(got)) => left -= got,
            }
        }
        Ok(())
    }

    /// Replaces the stream by TLS over it. Buffered plaintext is discarded first: what the
    /// client sent after STARTTLS before the handshake must not count as sent over TLS
    /// (the command-injection attack, RFC 9051 §6.2.1).
    pub async fn upgrade(
        &mut self,
        config: Arc<rustls::ServerConfig>,
        timeout: Duration,
    ) -> Result<(), ReadError> {
        self.flush().await?;
        self.input = Vec::new();
        self.start = 0;
        let plain = self.stream.take().ok_or(ReadError::Gone)?;
        let acceptor = tokio_rustls::TlsAcceptor::from(config);
        match tokio::time::timeout(timeout, acceptor.accept(plain)).await {
            Ok(Ok(s)) => {
                self.stream = Some(Box::new(s));
                Ok(())
            }
            Ok(Err(e)) => {
                tracing::info!(error = %e, "TLS handshake failed");
                Err(ReadError::Gone)
            }
            Err(_) => Err(ReadError::Gone),
        }
    }

    /// Flushes and closes.
    pub async fn shutdown(&mut self) {
        let _ = self.flush().await;
        if let Some(s) = self.stream.as_mut() {
            let _ = s.shutdown().await;
        }
    }
}
