//! `populate`: APPEND the corpus, pipelined (RFC 9051 §6.3.12).
//!
//! A writer thread sends the APPENDs while the reader (this thread) takes the tagged
//! answers; at most `--window` commands are unanswered at a time. With LITERAL+ (RFC
//! 7888) a command and its message go out in one piece (`{n+}`); without it the writer
//! sends the command line, waits for the server's `+` continuation (the reader passes it
//! on), then the message: still pipelined, since the next command may go out before the
//! previous one's OK.

use std::io::{BufWriter, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::mpsc::{Receiver, Sender, TryRecvError, channel};
use std::time::Instant;

use crate::conn::{Conn, Reader, quote};
use crate::report::Line;
use crate::{Opts, corpus};

pub fn run(mut o: Opts) -> Result<(), String> {
    let count = o.num("count", 10_000)?;
    let seed = o.num("seed", 1)?;
    let window = o.num("window", 64)?.max(1);
    let force_sync = o.flag("sync-literals");
    o.finish()?;
    let mut c = Conn::login(&o.addr, o.timeout, &o.user, &o.pass)?;
    if !o.mailbox.eq_ignore_ascii_case("INBOX") {
        // It may exist already: NO is fine, the STATUS below tells.
        let _ = c.command_each(&format!("CREATE {}", quote(&o.mailbox)), |_| Ok(()));
    }
    let before = messages(&mut c, &o.mailbox)?;
    let literal_plus = c.has("LITERAL+") && !force_sync;

    let started = Instant::now();
    let mailbox = quote(&o.mailbox);
    let (permit_tx, permit_rx) = channel::<()>();
    let (cont_tx, cont_rx) = channel::<()>();
    for _ in 0..window {
        let _ = permit_tx.send(());
    }
    let stream = c.writer.try_clone().map_err(|e| format!("socket: {e}"))?;
    let (sent, read) = std::thread::scope(|s| {
        let writer = s.spawn(|| {
            write_appends(
                &stream,
                &mailbox,
                seed,
                count,
                literal_plus,
                permit_rx,
                cont_rx,
            )
        });
        let read = read_answers(&mut c.reader, count, literal_plus, &permit_tx, &cont_tx);
        drop((permit_tx, cont_tx));
        if read.is_err() {
            // Unblock a writer stuck in a write to a server that stopped reading.
            let _ = c.writer.shutdown(Shutdown::Both);
        }
        let sent = writer
            .join()
            .unwrap_or_else(|_| Err("the writer thread panicked".into()));
        (sent, read)
    });
    read?;
    let bytes = sent?;
    let elapsed = started.elapsed();
    let after = messages(&mut c, &o.mailbox)?;
    let ok = after == before + count;
    Line::new("populate", &o.label, &o.addr)
        .str("mailbox", &o.mailbox)
        .num("messages", count)
        .num("seed", seed)
        .bool("literal_plus", literal_plus)
        .num("window", window)
        .num("bytes", bytes)
        .ms("ms", elapsed)
        .num(
            "messages_per_second",
            (count as f64 / elapsed.as_secs_f64()).round(),
        )
        .num("messages_before", before)
        .num("messages_after", after)
        .bool("ok", ok)
        .print();
    c.logout();
    if !ok {
        return Err(format!(
            "{} holds {after} messages after appending {count} to {before}",
            o.mailbox
        ));
    }
    Ok(())
}

/// STATUS (MESSAGES) of a mailbox.
fn messages(c: &mut Conn, mailbox: &str) -> Result<u64, String> {
    let untagged = c.ok(&format!("STATUS {} (MESSAGES)", quote(mailbox)))?;
    untagged
        .iter()
        .find_map(|r| {
            let text = String::from_utf8_lossy(&r.raw);
            let at = text.to_ascii_uppercase().rfind("(MESSAGES ")?;
            text[at + 10..]
                .trim_end()
                .trim_end_matches(')')
                .parse()
                .ok()
        })
        .ok_or_else(|| format!("STATUS {mailbox}: no MESSAGES"))
}

/// The writer: every APPEND, each after taking a permit; returns the message octets sent.
fn write_appends(
    stream: &TcpStream,
    mailbox: &str,
    seed: u64,
    count: u64,
    literal_plus: bool,
    permits: Receiver<()>,
    continuations: Receiver<()>,
) -> Result<u64, String> {
    let mut w = BufWriter::with_capacity(256 * 1024, stream);
    let io = |e: std::io::Error| format!("write: {e}");
    let mut bytes = 0u64;
    for i in 0..count {
        if let Err(TryRecvError::Empty) = permits.try_recv() {
            // The window is full: let the server have what is buffered, then wait.
            w.flush().map_err(io)?;
            permits
                .recv()
                .map_err(|_| "stopped: the reader failed".to_string())?;
        }
        let m = corpus::message(seed, i);
        bytes += m.bytes.len() as u64;
        let plus = if literal_plus { "+" } else { "" };
        write!(
            w,
            "P{i} APPEND {mailbox} {} {} {{{}{plus}}}\r\n",
            m.flags,
            m.internal_date,
            m.bytes.len()
        )
        .map_err(io)?;
        if !literal_plus {
            w.flush().map_err(io)?;
            continuations
                .recv()
                .map_err(|_| "stopped: the reader failed".to_string())?;
        }
        w.write_all(&m.bytes).map_err(io)?;
        w.write_all(b"\r\n").map_err(io)?;
    }
    w.flush().map_err(io)?;
    Ok(bytes)
}

/// The reader: `count` tagged OKs, passing on permits and continuations.
fn read_answers(
    reader: &mut Reader,
    count: u64,
    literal_plus: bool,
    permits: &Sender<()>,
    continuations: &Sender<()>,
) -> Result<(), String> {
    let mut done = 0;
    while done < count {
        let r = reader.response()?;
        if r.is_continuation() {
            if literal_plus {
                return Err(format!("continuation with LITERAL+: {}", r.first_line()));
            }
            let _ = continuations.send(());
        } else if let Some(tag) = r.tag() {
            if !tag.starts_with(b"P") {
                return Err(format!("unexpected tagged response {}", r.first_line()));
            }
            if r.status() != b"OK" {
                return Err(format!("APPEND failed: {}", r.first_line()));
            }
            done += 1;
            let _ = permits.send(());
        }
    }
    Ok(())
}
