//! One IMAP client connection over plain TCP: tagged commands, and responses read
//! whole, literals included (RFC 9051 §4.3: a line ending in `{n}` or `{n+}` is followed
//! by n octets, then the line goes on), so that a message body containing CRLF or
//! something that looks like a tagged line is never misread.
//!
//! Every read has the connection's timeout; a line (outside literals) is at most 1 MiB.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

const MAX_LINE: usize = 1 << 20;

/// One server response: its wire bytes (every line and literal, CRLFs included).
pub struct Response {
    pub raw: Vec<u8>,
}

impl Response {
    /// `+ ...`: a command continuation request.
    pub fn is_continuation(&self) -> bool {
        self.raw.starts_with(b"+")
    }

    /// `* ...`: untagged.
    pub fn is_untagged(&self) -> bool {
        self.raw.starts_with(b"* ")
    }

    /// The tag, for a tagged response.
    pub fn tag(&self) -> Option<&[u8]> {
        if self.is_untagged() || self.is_continuation() {
            return None;
        }
        self.raw.split(|&b| b == b' ').next()
    }

    /// `OK`, `NO` or `BAD` of a tagged response (or of `* OK` and the like).
    pub fn status(&self) -> &[u8] {
        self.raw.split(|&b| b == b' ').nth(1).unwrap_or_default()
    }

    /// The first line, for error messages.
    pub fn first_line(&self) -> String {
        let end = self
            .raw
            .iter()
            .position(|&b| b == b'\n')
            .unwrap_or(self.raw.len());
        String::from_utf8_lossy(&self.raw[..end.min(300)])
            .trim_end()
            .to_string()
    }
}

/// The reading half (owned separately so that a pipelining writer can run beside it).
pub struct Reader {
    inner: BufReader<TcpStream>,
    /// Octets read so far.
    pub bytes_read: u64,
}

impl Reader {
    /// Reads one whole response.
    pub fn response(&mut self) -> Result<Response, String> {
        let mut raw = Vec::with_capacity(256);
        loop {
            let start = raw.len();
            let n = self
                .inner
                .by_ref()
                .take((MAX_LINE + 1) as u64)
                .read_until(b'\n', &mut raw)
                .map_err(|e| format!("read: {e}"))?;
            if n == 0 {
                return Err("the server closed the connection".into());
            }
            self.bytes_read += n as u64;
            if !raw.ends_with(b"\n") {
                return Err(format!("a line longer than {MAX_LINE} octets"));
            }
            match literal_len(&raw[start..]) {
                Some(len) => {
                    let at = raw.len();
                    raw.resize(at + len, 0);
                    self.inner
                        .read_exact(&mut raw[at..])
                        .map_err(|e| format!("read a literal of {len} octets: {e}"))?;
                    self.bytes_read += len as u64;
                }
                None => return Ok(Response { raw }),
            }
        }
    }
}

/// The length announced by a line ending in `{n}\r\n`, `{n+}\r\n` or `~{n}\r\n`.
fn literal_len(line: &[u8]) -> Option<usize> {
    let line = line
        .strip_suffix(b"\r\n")
        .or_else(|| line.strip_suffix(b"\n"))?;
    let body = line.strip_suffix(b"}")?;
    let open = body.iter().rposition(|&b| b == b'{')?;
    let digits = &body[open + 1..];
    let digits = digits.strip_suffix(b"+").unwrap_or(digits);
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

/// A logged-in (or not yet) connection.
pub struct Conn {
    pub reader: Reader,
    pub writer: TcpStream,
    next_tag: u64,
    /// Capabilities (upper case), from the last CAPABILITY.
    pub caps: Vec<String>,
}

impl Conn {
    /// Connects and reads the greeting; `buf` is the read buffer's size.
    pub fn connect(addr: &str, timeout: Duration, buf: usize) -> Result<Conn, String> {
        let sa = addr
            .to_socket_addrs()
            .map_err(|e| format!("{addr}: {e}"))?
            .next()
            .ok_or_else(|| format!("{addr}: no address"))?;
        let stream = TcpStream::connect_timeout(&sa, Duration::from_secs(30))
            .map_err(|e| format!("connect to {addr}: {e}"))?;
        stream
            .set_read_timeout(Some(timeout))
            .and_then(|()| stream.set_write_timeout(Some(timeout)))
            .and_then(|()| stream.set_nodelay(true))
            .map_err(|e| format!("socket options: {e}"))?;
        let writer = stream.try_clone().map_err(|e| format!("socket: {e}"))?;
        let mut conn = Conn {
            reader: Reader {
                inner: BufReader::with_capacity(buf, stream),
                bytes_read: 0,
            },
            writer,
            next_tag: 0,
            caps: Vec::new(),
        };
        let greeting = conn.reader.response()?;
        if !greeting.raw.starts_with(b"* OK") {
            return Err(format!("greeting: {}", greeting.first_line()));
        }
        Ok(conn)
    }

    /// Connects, logs in and learns the capabilities (with a 256 KiB read buffer, for
    /// bulk reads).
    pub fn login(addr: &str, timeout: Duration, user: &str, pass: &str) -> Result<Conn, String> {
        Conn::login_with(addr, timeout, user, pass, 256 * 1024)
    }

    /// [`Conn::login`] with a read buffer of `buf` octets.
    pub fn login_with(
        addr: &str,
        timeout: Duration,
        user: &str,
        pass: &str,
        buf: usize,
    ) -> Result<Conn, String> {
        let mut c = Conn::connect(addr, timeout, buf)?;
        c.ok(&format!("LOGIN {} {}", quote(user), quote(pass)))
            .map_err(|e| format!("LOGIN {user}: {e}"))?;
        c.capability()?;
        Ok(c)
    }

    pub fn tag(&mut self) -> String {
        self.next_tag += 1;
        format!("L{}", self.next_tag)
    }

    pub fn send(&mut self, bytes: &[u8]) -> Result<(), String> {
        self.writer
            .write_all(bytes)
            .map_err(|e| format!("write: {e}"))
    }

    /// Sends `TAG line`, hands every untagged response to `each`, and returns the
    /// tagged response (any status).
    pub fn command_each(
        &mut self,
        line: &str,
        mut each: impl FnMut(&Response) -> Result<(), String>,
    ) -> Result<Response, String> {
        let tag = self.tag();
        self.send(format!("{tag} {line}\r\n").as_bytes())?;
        loop {
            let r = self.reader.response()?;
            match r.tag() {
                Some(t) if t == tag.as_bytes() => return Ok(r),
                Some(_) => return Err(format!("unexpected tagged response {}", r.first_line())),
                None if r.is_continuation() => {
                    return Err(format!("unexpected continuation to {line:?}"));
                }
                None => each(&r)?,
            }
        }
    }

    /// A command that must end in OK; returns its untagged responses.
    pub fn ok(&mut self, line: &str) -> Result<Vec<Response>, String> {
        let mut untagged = Vec::new();
        let done = self.command_each(line, |r| {
            untagged.push(Response { raw: r.raw.clone() });
            Ok(())
        })?;
        if done.status() != b"OK" {
            return Err(format!("{}: {}", short(line), done.first_line()));
        }
        Ok(untagged)
    }

    pub fn capability(&mut self) -> Result<(), String> {
        let untagged = self.ok("CAPABILITY")?;
        self.caps = untagged
            .iter()
            .filter(|r| r.raw.starts_with(b"* CAPABILITY "))
            .flat_map(|r| {
                String::from_utf8_lossy(&r.raw[13..])
                    .split_whitespace()
                    .map(str::to_ascii_uppercase)
                    .collect::<Vec<_>>()
            })
            .collect();
        Ok(())
    }

    pub fn has(&self, cap: &str) -> bool {
        self.caps.iter().any(|c| c == cap)
    }

    /// SELECT; returns EXISTS.
    pub fn select(&mut self, mailbox: &str) -> Result<u64, String> {
        let untagged = self.ok(&format!("SELECT {}", quote(mailbox)))?;
        exists(&untagged).ok_or_else(|| format!("SELECT {mailbox}: no EXISTS"))
    }

    /// LOGOUT: BYE, then OK (errors ignored: the measurement is done).
    pub fn logout(mut self) {
        let _ = self.command_each("LOGOUT", |_| Ok(()));
    }
}

/// The last `* n EXISTS` among responses.
pub fn exists(untagged: &[Response]) -> Option<u64> {
    untagged.iter().rev().find_map(|r| parse_exists(&r.raw))
}

/// n of `* n EXISTS\r\n`.
pub fn parse_exists(raw: &[u8]) -> Option<u64> {
    let rest = raw.strip_prefix(b"* ")?;
    let sp = rest.iter().position(|&b| b == b' ')?;
    let word = rest[sp + 1..].trim_ascii_end();
    if !word.eq_ignore_ascii_case(b"EXISTS") {
        return None;
    }
    std::str::from_utf8(&rest[..sp]).ok()?.parse().ok()
}

/// An IMAP quoted string.
pub fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

fn short(line: &str) -> String {
    // Never echo a password.
    if line.starts_with("LOGIN ") {
        "LOGIN".into()
    } else {
        line.chars().take(80).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_lengths() {
        assert_eq!(literal_len(b"* 1 FETCH (BODY[] {42}\r\n"), Some(42));
        assert_eq!(literal_len(b"A1 APPEND INBOX {5+}\r\n"), Some(5));
        assert_eq!(literal_len(b"* 1 FETCH (BINARY[1] ~{7}\r\n"), Some(7));
        assert_eq!(literal_len(b"* OK done {x}\r\n"), None);
        assert_eq!(literal_len(b"* OK {}\r\n"), None);
        assert_eq!(literal_len(b"* 3 EXISTS\r\n"), None);
    }

    #[test]
    fn exists_lines() {
        assert_eq!(parse_exists(b"* 10000 EXISTS\r\n"), Some(10000));
        assert_eq!(parse_exists(b"* 3 RECENT\r\n"), None);
    }
}
