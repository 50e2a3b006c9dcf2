//! [`Unbound`]: a real DNS server on loopback for tests (feature `testing`).
//!
//! Tests of DNS-dependent code (MX delivery, SPF, DKIM, DMARC) can run against a real
//! server instead of [`crate::MockResolver`], through the real [`crate::HickoryResolver`]:
//!
//! ```no_run
//! use mailstead_dns::{HickoryResolver, MxAnswer, Resolver, testing::Unbound};
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! let server = Unbound::start(&[
//!     "example.test. MX 10 mx1.example.test.",
//!     "mx1.example.test. A 127.0.0.1",
//!     r#"example.test. TXT "v=spf1 " "ip4:127.0.0.1 -all""#,
//! ])?;
//! let dns = HickoryResolver::new(&server.dns_config())?;
//! assert!(matches!(dns.mx("example.test").await?, MxAnswer::Hosts(_)));
//! # Ok(()) }
//! ```
//!
//! The server is `unbound` (Debian package `unbound`; `scripts/test.sh` installs it), run
//! as a child process with its configuration, log and working directory in a temporary
//! directory, on `127.0.0.1` and a free port (UDP and TCP), killed when the [`Unbound`]
//! is dropped. A missing `unbound` is an error, never a reason to skip a test.
//!
//! Zones: the server is authoritative for everything, from the given records alone. Its
//! configuration has `local-zone: "." static` (and `local-zone: "test." static`, which
//! replaces unbound's built-in empty `test.` zone of RFC 6761), so a name without records
//! is NXDOMAIN, a name with records of other types (or an empty non-terminal, such as
//! `test.` itself) is NODATA, and the server never recurses: no query leaves the machine,
//! whatever name a test looks up. Names need not be under `test.`, but names under
//! `test.` (RFC 6761 §6.2) are the clearest choice.

use std::fs::File;
use std::io;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::DnsConfig;

/// How long [`Unbound::start`] waits for the server to answer its first query.
pub const START_TIMEOUT: Duration = Duration::from_secs(15);

/// Where `unbound` is looked for after the directories of `PATH`.
const UNBOUND_FALLBACKS: [&str; 2] = ["/usr/sbin/unbound", "/usr/local/sbin/unbound"];

/// How often a start is retried when the chosen port was taken in the meantime.
const PORT_ATTEMPTS: usize = 5;

/// A running unbound DNS server on loopback, serving the records it was started with;
/// killed on drop.
#[derive(Debug)]
pub struct Unbound {
    /// Where it listens, UDP and TCP (`127.0.0.1:<port>`).
    pub addr: SocketAddr,
    child: Child,
    dir: tempfile::TempDir,
}

impl Unbound {
    /// Starts unbound serving `local_data`, resource records in presentation form as
    /// unbound's `local-data` takes them (`"example.test. MX 10 mx1.example.test."`,
    /// `r#"example.test. TXT "part one" "part two""#`), and waits until it answers.
    ///
    /// See the module documentation for the zones.
    ///
    /// # Errors
    ///
    /// - [`io::ErrorKind::NotFound`] when no `unbound` binary is installed;
    /// - [`io::ErrorKind::InvalidInput`] for a record containing `'` or a line break
    ///   (they would break the configuration file);
    /// - unbound refusing the configuration or exiting, with its log in the message;
    /// - [`io::ErrorKind::TimedOut`] when it does not answer within [`START_TIMEOUT`].
    pub fn start(local_data: &[&str]) -> io::Result<Unbound> {
        let binary = find_unbound()?;
        for record in local_data {
            if record.contains(['\'', '\n', '\r']) {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("local-data record {record:?} contains ' or a line break"),
                ));
            }
        }
        let dir = tempfile::Builder::new()
            .prefix("mailstead-unbound-")
            .tempdir()?;
        let mut last_error = None;
        for _ in 0..PORT_ATTEMPTS {
            let port = free_port()?;
            match start_on(&binary, dir.path(), port, local_data) {
                Ok(child) => {
                    return Ok(Unbound {
                        addr: SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
                        child,
                        dir,
                    });
                }
                // Another process took the port between `free_port` and unbound's bind.
                Err(err) if err.kind() == io::ErrorKind::AddrInUse => last_error = Some(err),
                Err(err) => return Err(err),
            }
        }
        Err(last_error.unwrap_or_else(|| io::Error::other("unbound did not start")))
    }

    /// A [`DnsConfig`] that sends every query to this server only, with a short timeout.
    pub fn dns_config(&self) -> DnsConfig {
        DnsConfig {
            nameservers: vec![self.addr],
            timeout: Duration::from_secs(2),
            attempts: 2,
        }
    }

    /// unbound's log so far (errors and warnings), for test failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("unbound.log")).unwrap_or_default()
    }
}

impl Drop for Unbound {
    fn drop(&mut self) {
        // Errors mean it has already exited; nothing else to do.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The `unbound` binary: from `PATH`, else the usual sbin directories (which a non-root
/// `PATH` often lacks).
fn find_unbound() -> io::Result<PathBuf> {
    let from_path = std::env::var_os("PATH")
        .map(|path| {
            std::env::split_paths(&path)
                .map(|dir| dir.join("unbound"))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    from_path
        .into_iter()
        .chain(UNBOUND_FALLBACKS.iter().map(PathBuf::from))
        .find(|candidate| candidate.is_file())
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                "the `unbound` DNS server is not installed (not in PATH, /usr/sbin or \
                 /usr/local/sbin); install the Debian package `unbound` \
                 (scripts/test.sh does)",
            )
        })
}

/// A port free on 127.0.0.1 for both UDP and TCP at the time of the call, taken below the
/// kernel's ephemeral range (32768 and up): a port from `bind(:0)` is one that outgoing
/// connections and unbound's own query sockets also draw from, so it could be taken again
/// before unbound binds it. A per-process sequence in 12000..20000 (start from the
/// process id), each candidate checked by binding it.
fn free_port() -> io::Result<u16> {
    use std::sync::atomic::{AtomicU32, Ordering};
    // 12000..20000: apart from the end-to-end tests' own range (20000..32000).
    const LOW: u32 = 12_000;
    const SPAN: u32 = 8_000;
    static NEXT: AtomicU32 = AtomicU32::new(u32::MAX);
    let _ = NEXT.compare_exchange(
        u32::MAX,
        std::process::id().wrapping_mul(7919) % SPAN,
        Ordering::SeqCst,
        Ordering::SeqCst,
    );
    let mut last_error = None;
    for _ in 0..SPAN {
        let port = (LOW + NEXT.fetch_add(1, Ordering::SeqCst) % SPAN) as u16;
        let bound = UdpSocket::bind((Ipv4Addr::LOCALHOST, port))
            .and_then(|_udp| TcpListener::bind((Ipv4Addr::LOCALHOST, port)));
        match bound {
            Ok(_tcp) => return Ok(port),
            Err(err) => last_error = Some(err),
        }
    }
    Err(last_error.unwrap_or_else(|| io::Error::other("no free port")))
}

/// unbound's configuration: see the module documentation for the zones.
fn config_text(dir: &Path, port: u16, local_data: &[&str]) -> String {
    let mut text = format!(
        "server:
    interface: 127.0.0.1@{port}
    port: {port}
    do-ip4: yes
    do-ip6: no
    do-udp: yes
    do-tcp: yes
    do-daemonize: no
    username: \"\"
    chroot: \"\"
    directory: \"{dir}\"
    pidfile: \"\"
    use-syslog: no
    logfile: \"\"
    verbosity: 1
    num-threads: 1
    so-reuseport: no
    outgoing-range: 16
    access-control: 127.0.0.0/8 allow
    module-config: \"iterator\"
    do-not-query-localhost: no
    local-zone: \".\" static
    local-zone: \"test.\" static
",
        dir = dir.display()
    );
    for record in local_data {
        text.push_str(&format!("    local-data: '{record}'\n"));
    }
    text.push_str("remote-control:\n    control-enable: no\n");
    text
}

/// Writes the configuration, starts unbound and waits until it answers on `port`.
fn start_on(binary: &Path, dir: &Path, port: u16, local_data: &[&str]) -> io::Result<Child> {
    let conf = dir.join("unbound.conf");
    std::fs::write(&conf, config_text(dir, port, local_data))?;
    let log_path = dir.join("unbound.log");
    let log = File::create(&log_path)?;
    let mut child = Command::new(binary)
        .arg("-d")
        .arg("-c")
        .arg(&conf)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()?;
    let read_log = || std::fs::read_to_string(&log_path).unwrap_or_default();

    let probe = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))?;
    probe.set_read_timeout(Some(Duration::from_millis(100)))?;
    let id = (std::process::id() as u16) ^ port;
    let query = readiness_query(id);
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        if let Some(status) = child.try_wait()? {
            let log = read_log();
            // unbound writes "bind: address already in use" (strerror, lower case on this
            // libc); compare without case so the retry with another port happens.
            let kind = if log.to_ascii_lowercase().contains("address already in use") {
                io::ErrorKind::AddrInUse
            } else {
                io::ErrorKind::Other
            };
            return Err(io::Error::new(
                kind,
                format!("unbound exited ({status}) at start; its log:\n{log}"),
            ));
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!(
                    "unbound did not answer on 127.0.0.1:{port} within {START_TIMEOUT:?}; \
                     its log:\n{}",
                    read_log()
                ),
            ));
        }
        // Until unbound binds, the send may fail (ICMP port unreachable); keep polling.
        if probe.send_to(&query, (Ipv4Addr::LOCALHOST, port)).is_ok() {
            let mut buf = [0u8; 512];
            if let Ok((len, _)) = probe.recv_from(&mut buf)
                && is_response_to(&buf[..len], id)
            {
                return Ok(child);
            }
        } else {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// A DNS query (RFC 1035 §4.1) for the SOA of the root, recursion desired.
fn readiness_query(id: u16) -> Vec<u8> {
    let mut query = Vec::with_capacity(17);
    query.extend_from_slice(&id.to_be_bytes());
    query.extend_from_slice(&[0x01, 0x00]); // flags: RD
    query.extend_from_slice(&[0, 1, 0, 0, 0, 0, 0, 0]); // QDCOUNT 1, the rest 0
    query.push(0); // QNAME: the root
    query.extend_from_slice(&[0, 6, 0, 1]); // QTYPE SOA, QCLASS IN
    query
}

/// Whether `packet` is a DNS response (QR set) with the given id.
fn is_response_to(packet: &[u8], id: u16) -> bool {
    packet.len() >= 12 && packet[..2] == id.to_be_bytes() && packet[2] & 0x80 != 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_quotes_each_record_and_makes_the_root_static() {
        let text = config_text(
            Path::new("/tmp/x"),
            5353,
            &["a.test. A 127.0.0.1", "a.test. TXT \"x\" \"y\""],
        );
        assert!(text.contains("interface: 127.0.0.1@5353\n"));
        assert!(text.contains("local-zone: \".\" static\n"));
        assert!(text.contains("local-data: 'a.test. A 127.0.0.1'\n"));
        assert!(text.contains("local-data: 'a.test. TXT \"x\" \"y\"'\n"));
    }

    #[test]
    fn records_that_would_break_the_config_are_refused() {
        // Checked before unbound is needed, but only reached when it is installed.
        if find_unbound().is_ok() {
            let err = Unbound::start(&["a.test. TXT 'x'"]).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        }
    }

    #[test]
    fn readiness_query_is_a_root_soa_query() {
        let query = readiness_query(0xabcd);
        assert_eq!(
            query,
            [0xab, 0xcd, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 6, 0, 1]
        );
        assert!(!is_response_to(&query, 0xabcd));
        let mut response = query.clone();
        response[2] |= 0x80;
        assert!(is_response_to(&response, 0xabcd));
        assert!(!is_response_to(&response, 0xabce));
    }
}
