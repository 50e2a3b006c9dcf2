//! `idle`: what a server's memory looks like with many clients waiting for mail —
//! `--conns` connections, each logged in, with the mailbox selected and in IDLE (RFC
//! 2177), as every desktop and phone client keeps one.
//!
//! 1. `--measure-cmd` runs (sh -c) before the first connection; its stdout must be a
//!    JSON object, with `rss_kb` (and `pss_kb`) for the per-connection figures.
//! 2. The connections are opened, `--login-parallel` logins at a time, each on its own
//!    thread (small stack, small read buffer), until all are in IDLE (the `+` came).
//! 3. After `--settle-secs`, the command runs again: per connection = (after − before)
//!    / conns.
//! 4. Unless `--no-notify`: one more connection APPENDs a message, and every idling
//!    connection must see `* n EXISTS` with a larger n within `--notify-timeout-secs`;
//!    the latency from sending the APPEND is reported (median, max).
//! 5. All send DONE (the IDLE must end with a tagged OK) and LOGOUT.

use std::net::{Shutdown, TcpStream};
use std::sync::mpsc::{Sender, channel};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use crate::Opts;
use crate::conn::{Conn, parse_exists, quote};
use crate::report::Line;

/// What every idler thread needs.
struct Params {
    addr: String,
    user: String,
    pass: String,
    mailbox: String,
    timeout: Duration,
    notify: bool,
}

/// Set once, when the idlers are to end their IDLE. On a failure, `abort` also shuts
/// their sockets down, so that an idler blocked in a read (waiting for EXISTS) ends at
/// once instead of at its read timeout.
#[derive(Default)]
struct Stop {
    done: Mutex<bool>,
    cv: Condvar,
    sockets: Mutex<Vec<TcpStream>>,
}

impl Stop {
    fn wait(&self) {
        let mut done = self.done.lock().unwrap_or_else(|e| e.into_inner());
        while !*done {
            done = self.cv.wait(done).unwrap_or_else(|e| e.into_inner());
        }
    }

    fn set(&self) {
        *self.done.lock().unwrap_or_else(|e| e.into_inner()) = true;
        self.cv.notify_all();
    }

    /// Keeps a handle on an idler's socket for [`Stop::abort`]; one registered after an
    /// abort is shut down at once.
    fn register(&self, s: &TcpStream) {
        let Ok(clone) = s.try_clone() else { return };
        let mut sockets = self.sockets.lock().unwrap_or_else(|e| e.into_inner());
        if *self.done.lock().unwrap_or_else(|e| e.into_inner()) {
            let _ = clone.shutdown(Shutdown::Both);
        }
        sockets.push(clone);
    }

    fn abort(&self) {
        // `done` first: a socket registered after this sees it.
        self.set();
        for s in self
            .sockets
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
        {
            let _ = s.shutdown(Shutdown::Both);
        }
    }
}

pub fn run(mut o: Opts) -> Result<(), String> {
    let conns = o.num("conns", 1000)?;
    let settle = Duration::from_secs(o.num("settle-secs", 3)?);
    let parallel = o.num("login-parallel", 16)?.max(1);
    let notify = !o.flag("no-notify");
    let notify_timeout = Duration::from_secs(o.num("notify-timeout-secs", 60)?);
    let measure = o.text("measure-cmd");
    o.finish()?;

    let before = measure.as_deref().map(run_measure).transpose()?;
    let p = Arc::new(Params {
        addr: o.addr.clone(),
        user: o.user.clone(),
        pass: o.pass.clone(),
        mailbox: o.mailbox.clone(),
        // Idlers wait through the settling, the measuring and the notification.
        timeout: o
            .timeout
            .max(settle + notify_timeout + Duration::from_secs(60)),
        notify,
    });
    let stop = Arc::new(Stop::default());
    let (ready_tx, ready_rx) = channel::<Result<(), String>>();
    let (note_tx, note_rx) = channel::<Result<Instant, String>>();

    // 2. Open the connections.
    let started = Instant::now();
    let mut handles = Vec::with_capacity(conns as usize);
    let mut ready = 0u64;
    let mut failure = None;
    while ready < conns && failure.is_none() {
        if (handles.len() as u64) < conns && (handles.len() as u64) - ready < parallel {
            let (p, stop, ready_tx, note_tx) =
                (p.clone(), stop.clone(), ready_tx.clone(), note_tx.clone());
            let h = std::thread::Builder::new()
                .stack_size(256 * 1024)
                .spawn(move || idler(&p, &stop, &ready_tx, &note_tx))
                .map_err(|e| format!("thread {}: {e}", handles.len()))?;
            handles.push(h);
            continue;
        }
        match ready_rx.recv_timeout(o.timeout) {
            Ok(Ok(())) => ready += 1,
            Ok(Err(e)) => failure = Some(format!("connection {}: {e}", ready + 1)),
            Err(_) => failure = Some("a connection did not reach IDLE in time".into()),
        }
    }
    let connect_time = started.elapsed();

    let mut after = None;
    let mut latencies = Vec::new();
    if failure.is_none() {
        // 3. Measure while they idle.
        std::thread::sleep(settle);
        after = measure.as_deref().map(run_measure).transpose()?;
        // 4. One APPEND; every idler must hear of it.
        if notify {
            match append_one(&o) {
                Ok(sent) => {
                    let deadline = Instant::now() + notify_timeout;
                    while (latencies.len() as u64) < conns {
                        let left = deadline.saturating_duration_since(Instant::now());
                        match note_rx.recv_timeout(left) {
                            Ok(Ok(at)) => latencies.push(at.saturating_duration_since(sent)),
                            Ok(Err(e)) => {
                                failure = Some(format!("while waiting for EXISTS: {e}"));
                                break;
                            }
                            Err(_) => {
                                failure = Some(format!(
                                    "only {} of {conns} idling connections saw the new message within {}s",
                                    latencies.len(),
                                    notify_timeout.as_secs()
                                ));
                                break;
                            }
                        }
                    }
                }
                Err(e) => failure = Some(format!("the APPEND during IDLE: {e}")),
            }
        }
    }

    // 5. End the IDLEs (cut them off after a failure).
    if failure.is_some() {
        stop.abort();
    } else {
        stop.set();
    }
    let mut clean = 0u64;
    for h in handles {
        match h.join() {
            Ok(Ok(())) => clean += 1,
            Ok(Err(e)) => {
                failure.get_or_insert(e);
            }
            Err(_) => {
                failure.get_or_insert("an idler thread panicked".into());
            }
        }
    }
    latencies.sort();
    let ok = failure.is_none() && clean == conns;
    let mut line = Line::new("idle", &o.label, &o.addr)
        .str("mailbox", &o.mailbox)
        .num("conns", conns)
        .num("idling", ready)
        .ms("connect_ms", connect_time)
        .num("settle_secs", settle.as_secs());
    if let (Some(b), Some(a)) = (&before, &after) {
        line = line.raw("before", b).raw("after", a);
        for key in ["rss_kb", "pss_kb"] {
            if let (Some(x), Some(y)) = (field(b, key), field(a, key)) {
                let per = (y as f64 - x as f64) / conns as f64;
                line = line.num(&format!("{key}_per_conn"), (per * 10.0).round() / 10.0);
            }
        }
    }
    if notify {
        line = line.num("notified", latencies.len());
        if let (Some(med), Some(max)) = (latencies.get(latencies.len() / 2), latencies.last()) {
            line = line.ms("notify_ms_median", *med).ms("notify_ms_max", *max);
        }
    }
    line = line.num("ended_cleanly", clean).bool("ok", ok);
    if let Some(e) = &failure {
        line = line.str("error", e);
    }
    line.print();
    match failure {
        Some(e) => Err(e),
        None if clean != conns => Err(format!("{} IDLEs did not end with OK", conns - clean)),
        None => Ok(()),
    }
}

/// One connection's life: into IDLE, tell; maybe wait for EXISTS, tell; wait for the
/// stop; DONE, OK, LOGOUT.
fn idler(
    p: &Params,
    stop: &Stop,
    ready: &Sender<Result<(), String>>,
    notified: &Sender<Result<Instant, String>>,
) -> Result<(), String> {
    let setup = (|| {
        let mut c = Conn::login_with(&p.addr, p.timeout, &p.user, &p.pass, 4096)?;
        stop.register(&c.writer);
        let exists = c.select(&p.mailbox)?;
        let tag = c.tag();
        c.send(format!("{tag} IDLE\r\n").as_bytes())?;
        let r = c.reader.response()?;
        if !r.is_continuation() {
            return Err(format!("IDLE: {}", r.first_line()));
        }
        Ok((c, tag, exists))
    })();
    let (mut c, tag, exists) = match setup {
        Ok(v) => v,
        Err(e) => {
            let _ = ready.send(Err(e.clone()));
            return Err(e);
        }
    };
    let _ = ready.send(Ok(()));
    if p.notify {
        // Untagged lines until * n EXISTS with n above what SELECT said (a server may
        // send keep-alives such as "* OK Still here" meanwhile).
        let heard = loop {
            match c.reader.response() {
                Ok(r) if parse_exists(&r.raw).is_some_and(|n| n > exists) => {
                    break Ok(Instant::now());
                }
                Ok(r) if r.is_untagged() => continue,
                Ok(r) => break Err(format!("during IDLE: {}", r.first_line())),
                Err(e) => break Err(e),
            }
        };
        let failed = heard.as_ref().err().cloned();
        let _ = notified.send(heard);
        if let Some(e) = failed {
            return Err(e);
        }
    }
    stop.wait();
    c.send(b"DONE\r\n")?;
    loop {
        let r = c.reader.response()?;
        match r.tag() {
            Some(t) if t == tag.as_bytes() => {
                if r.status() != b"OK" {
                    return Err(format!("IDLE ended with {}", r.first_line()));
                }
                break;
            }
            Some(_) => return Err(format!("unexpected {}", r.first_line())),
            None => {}
        }
    }
    c.logout();
    Ok(())
}

/// APPENDs one small message on a connection of its own; returns when it was sent.
fn append_one(o: &Opts) -> Result<Instant, String> {
    let mut c = Conn::login(&o.addr, o.timeout, &o.user, &o.pass)?;
    let msg = b"From: idle@bench.test\r\nTo: user@bench.test\r\nSubject: wake up\r\nMessage-ID: <idle-wake-up@bench.test>\r\n\r\nNew mail for the idlers.\r\n";
    let tag = c.tag();
    let line = format!("{tag} APPEND {} {{{}}}\r\n", quote(&o.mailbox), msg.len());
    let sent = Instant::now();
    c.send(line.as_bytes())?;
    let r = c.reader.response()?;
    if !r.is_continuation() {
        return Err(format!("APPEND: {}", r.first_line()));
    }
    c.send(msg)?;
    c.send(b"\r\n")?;
    loop {
        let r = c.reader.response()?;
        if r.tag() == Some(tag.as_bytes()) {
            if r.status() != b"OK" {
                return Err(format!("APPEND: {}", r.first_line()));
            }
            break;
        }
    }
    c.logout();
    Ok(sent)
}

/// Runs the measuring command; its stdout, which must be a JSON object.
fn run_measure(cmd: &str) -> Result<String, String> {
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .output()
        .map_err(|e| format!("--measure-cmd: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if !out.status.success() || !text.starts_with('{') || !text.ends_with('}') {
        return Err(format!(
            "--measure-cmd {cmd:?} failed or printed no JSON object: {text} {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(text)
}

/// A top-level number field of a flat JSON object.
fn field(json: &str, key: &str) -> Option<u64> {
    let at = json.find(&format!("\"{key}\":"))? + key.len() + 3;
    let digits: String = json[at..]
        .trim_start()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    #[test]
    fn fields() {
        let j = r#"{"processes":4,"rss_kb":13744,"pss_kb": 3719}"#;
        assert_eq!(super::field(j, "rss_kb"), Some(13744));
        assert_eq!(super::field(j, "pss_kb"), Some(3719));
        assert_eq!(super::field(j, "vsz_kb"), None);
    }
}
