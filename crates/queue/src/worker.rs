//! The delivery loop: lease due messages, deliver every pending recipient (grouped by
//! domain: one transaction per domain, RFC 5321 §3.3), record the outcome with the DSNs it
//! owes, repeat.
//!
//! Connections are reused: after a transaction a session goes back to a small pool keyed
//! by server address and TLS policy, and the next message for that server takes it
//! (Postfix's connection cache does the same). Reused sessions that turn out to be dead
//! are replaced by a fresh connection once, without counting as an attempt.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mailstead_directory::Directory;
use mailstead_smtp_proto::Reply;
use mailstead_store::model::{
    DsnAction, DsnRequest, NewQueuedMessage, NewQueuedRecipient, NotifyFlags, QueuedMessage,
    QueuedRecipient, RecipientStatus, RecipientUpdate, UnixTime, unix_now,
};
use mailstead_types::{QueueId, QueueRecipientId};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;

use crate::client::{ClientError, Envelope, Rcpt, Session, TlsPolicy};
use crate::dsn::{DsnRecipient, DsnReport, build_report, status_of};
use crate::route::{Hop, RouteError};
use crate::{Queue, QueueConfig, SmarthostTls};

/// Idle pooled connections older than this are closed rather than reused.
const POOL_IDLE: Duration = Duration::from_secs(10);
/// Stored DSN requests converted per pass.
const DSN_BATCH: u32 = 100;

/// Shared state of the worker: concurrency limits and the connection pool.
pub(crate) struct WorkerState {
    slots: Arc<Semaphore>,
    per_domain: Mutex<HashMap<String, Arc<Semaphore>>>,
    max_per_domain: usize,
    pool: Mutex<HashMap<PoolKey, Vec<Pooled>>>,
    /// Messages being delivered by this worker. A delivery can outlast its lease (a
    /// large message to a slow server); the lease is then taken again by this very
    /// worker, which must not start a second, parallel delivery of the same message.
    in_flight: Mutex<HashSet<QueueId>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct PoolKey {
    addr: SocketAddr,
    /// The name the session was opened for: a verified session's certificate was checked
    /// for this name only, so it must not carry mail for another name on the same address.
    host: String,
    policy: TlsPolicyKey,
    authenticated: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum TlsPolicyKey {
    Opportunistic,
    Required,
    Verified,
}

impl From<TlsPolicy> for TlsPolicyKey {
    fn from(p: TlsPolicy) -> Self {
        match p {
            TlsPolicy::Opportunistic => TlsPolicyKey::Opportunistic,
            TlsPolicy::Required => TlsPolicyKey::Required,
            TlsPolicy::Verified => TlsPolicyKey::Verified,
        }
    }
}

struct Pooled {
    session: Session,
    sent: usize,
    idle_since: Instant,
}

impl WorkerState {
    pub(crate) fn new(config: &QueueConfig) -> Self {
        WorkerState {
            slots: Arc::new(Semaphore::new(config.max_concurrent.max(1))),
            per_domain: Mutex::new(HashMap::new()),
            max_per_domain: config.max_per_domain.max(1),
            pool: Mutex::new(HashMap::new()),
            in_flight: Mutex::new(HashSet::new()),
        }
    }

    /// Marks `id` as being delivered; false when it is already.
    fn start_delivery(&self, id: QueueId) -> bool {
        match self.in_flight.lock() {
            Ok(mut set) => set.insert(id),
            // A poisoned set only loses the duplicate check.
            Err(_) => true,
        }
    }

    fn end_delivery(&self, id: QueueId) {
        if let Ok(mut set) = self.in_flight.lock() {
            set.remove(&id);
        }
    }

    fn domain_slots(&self, domain: &str) -> Arc<Semaphore> {
        match self.per_domain.lock() {
            Ok(mut m) => m
                .entry(domain.to_string())
                .or_insert_with(|| Arc::new(Semaphore::new(self.max_per_domain)))
                .clone(),
            // A poisoned map only loses the per-domain limit for this delivery.
            Err(_) => Arc::new(Semaphore::new(self.max_per_domain)),
        }
    }

    fn take_session(&self, key: &PoolKey) -> Option<Pooled> {
        let mut pool = self.pool.lock().ok()?;
        let list = pool.get_mut(key)?;
        while let Some(p) = list.pop() {
            if p.idle_since.elapsed() < POOL_IDLE {
                return Some(p);
            }
            tokio::spawn(p.session.quit());
        }
        None
    }

    fn put_session(&self, key: PoolKey, mut pooled: Pooled, max_messages: usize) {
        if pooled.sent >= max_messages {
            tokio::spawn(pooled.session.quit());
            return;
        }
        pooled.idle_since = Instant::now();
        if let Ok(mut pool) = self.pool.lock() {
            let list = pool.entry(key).or_default();
            if list.len() < self.max_per_domain {
                list.push(pooled);
                return;
            }
        }
        tokio::spawn(pooled.session.quit());
    }

    fn close_idle(&self) {
        let Ok(mut pool) = self.pool.lock() else {
            return;
        };
        for list in pool.values_mut() {
            let (keep, old): (Vec<_>, Vec<_>) = list
                .drain(..)
                .partition(|p| p.idle_since.elapsed() < POOL_IDLE);
            *list = keep;
            for p in old {
                tokio::spawn(p.session.quit());
            }
        }
        pool.retain(|_, l| !l.is_empty());
    }

    fn close_all(&self) {
        if let Ok(mut pool) = self.pool.lock() {
            for (_, list) in pool.drain() {
                for p in list {
                    tokio::spawn(p.session.quit());
                }
            }
        }
    }
}

/// The loop of [`Queue::run`].
pub(crate) async fn run(queue: Arc<Queue>, mut shutdown: watch::Receiver<bool>) {
    let mut tasks: JoinSet<()> = JoinSet::new();
    // `None`: no pass yet. (Was `Instant::now() - 60 s`, which panics when the monotonic
    // clock is younger than a minute: a server started right after boot.)
    let mut last_dsn_pass: Option<Instant> = None;
    let lease_secs = queue.config.lease.as_secs().max(1) as i64;
    tracing::info!("outbound queue started");
    loop {
        if *shutdown.borrow() {
            break;
        }
        // Stored "delivered" requests are converted at every pass (one cheap query; a
        // local delivery that owes one wakes the worker), idle connections closed at most
        // once a second.
        convert_dsn_requests(&queue).await;
        if last_dsn_pass.is_none_or(|t| t.elapsed() >= Duration::from_secs(1)) {
            last_dsn_pass = Some(Instant::now());
            queue.worker.close_idle();
        }
        let free = queue.worker.slots.available_permits();
        let mut leased = 0;
        if free > 0 {
            match queue
                .stores
                .meta
                .queue_lease(unix_now(), lease_secs, free as u32)
                .await
            {
                Ok(messages) => {
                    leased = messages.len();
                    for message in messages {
                        if !queue.worker.start_delivery(message.id) {
                            // Still being delivered here: leasing it again only renewed
                            // the lease (the delivery's outcome clears it).
                            continue;
                        }
                        let guard = InFlight(queue.clone(), message.id);
                        let Ok(permit) = queue.worker.slots.clone().acquire_owned().await else {
                            break;
                        };
                        let q = queue.clone();
                        tasks.spawn(async move {
                            let _permit = permit;
                            let _guard = guard;
                            deliver_message(&q, message).await;
                        });
                    }
                }
                Err(e) => tracing::error!(error = %e, "queue lease failed"),
            }
        }
        // Reap finished tasks without waiting.
        while tasks.try_join_next().is_some() {}
        if leased > 0 && queue.worker.slots.available_permits() > 0 {
            // There may be more due right now.
            continue;
        }
        // Sleep until the next due time (at least 200 ms, so work that is due but
        // leased elsewhere cannot make this spin; at most 5 s, so DSN requests and work
        // queued by other processes are picked up without a wake-up).
        let wait = match queue.stores.meta.queue_next_due().await {
            Ok(Some(due)) => Duration::from_secs((due - unix_now()).clamp(0, 5) as u64),
            Ok(None) => Duration::from_secs(5),
            Err(e) => {
                tracing::error!(error = %e, "queue scan failed");
                Duration::from_secs(5)
            }
        }
        .max(Duration::from_millis(200));
        tokio::select! {
            _ = shutdown.wait_for(|s| *s) => break,
            _ = queue.stores.meta.notifier().queue_notified() => {}
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
            _ = tokio::time::sleep(wait) => {}
        }
    }
    // Deliveries in flight finish and record their outcome; the leases of anything else
    // simply expire.
    while tasks.join_next().await.is_some() {}
    queue.worker.close_all();
    tracing::info!("outbound queue stopped");
}

/// Ends a message's [`WorkerState::start_delivery`] when its task ends, however it ends.
struct InFlight(Arc<Queue>, QueueId);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.worker.end_delivery(self.1);
    }
}

/// What happened to one recipient in one attempt.
#[derive(Debug, Clone)]
enum Attempt {
    /// Accepted by the next hop, or stored locally.
    Delivered {
        remote: Option<String>,
        reply: String,
        /// The next hop takes over DSN duties (it offered DSN, RFC 3461 §6.2.3);
        /// false: "relayed" must be reported for NOTIFY=SUCCESS.
        dsn_passed_on: bool,
        local: bool,
    },
    /// Try again later.
    Temporary {
        remote: Option<String>,
        text: String,
        status: String,
    },
    /// Failed for good.
    Permanent {
        remote: Option<String>,
        text: String,
        status: String,
    },
}

fn domain_of(address: &str) -> String {
    address
        .rsplit_once('@')
        .map(|(_, d)| d.trim_end_matches('.').to_ascii_lowercase())
        .unwrap_or_default()
}

/// Delivers the due recipients of one leased message and records the outcome.
async fn deliver_message(queue: &Queue, message: QueuedMessage) {
    let now = unix_now();
    let due: Vec<&QueuedRecipient> = message
        .recipients
        .iter()
        .filter(|r| r.status == RecipientStatus::Pending && r.next_attempt <= now)
        .collect();
    let results: Vec<(QueueRecipientId, Attempt)> = match queue
        .stores
        .blobs
        .get(&message.blob_id)
        .await
    {
        Ok(Some(body)) => {
            let mut by_domain: Vec<(String, Vec<&QueuedRecipient>)> = Vec::new();
            for r in due {
                let d = domain_of(&r.address);
                match by_domain.iter_mut().find(|(x, _)| *x == d) {
                    Some((_, list)) => list.push(r),
                    None => by_domain.push((d, vec![r])),
                }
            }
            let mut set = Vec::new();
            for (domain, rcpts) in by_domain {
                set.push(deliver_domain(queue, &message, domain, rcpts, &body));
            }
            futures_join_all(set).await.into_iter().flatten().collect()
        }
        Ok(None) => {
            tracing::error!(queue_id = %message.id, blob = %message.blob_id, "queued message's blob is missing");
            due.iter()
                .map(|r| {
                    (
                        r.id,
                        Attempt::Temporary {
                            remote: None,
                            text: "message content missing from the blob store".into(),
                            status: "4.3.0".into(),
                        },
                    )
                })
                .collect()
        }
        Err(e) => {
            tracing::error!(queue_id = %message.id, error = %e, "cannot read queued message");
            due.iter()
                .map(|r| {
                    (
                        r.id,
                        Attempt::Temporary {
                            remote: None,
                            text: format!("local problem reading the message: {e}"),
                            status: "4.3.0".into(),
                        },
                    )
                })
                .collect()
        }
    };
    record(queue, &message, results).await;
}

/// Runs the futures concurrently and collects their outputs in order.
async fn futures_join_all<F: std::future::Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut out = Vec::with_capacity(futures.len());
    // Few domains per message in practice; pin them and poll together.
    let mut pinned: Vec<_> = futures.into_iter().map(Box::pin).collect();
    let mut done: Vec<Option<F::Output>> = (0..pinned.len()).map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut all = true;
        for (i, f) in pinned.iter_mut().enumerate() {
            if done[i].is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => done[i] = Some(v),
                    std::task::Poll::Pending => all = false,
                }
            }
        }
        if all {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
    out.extend(done.into_iter().flatten());
    out
}

/// The TLS policy for a destination.
fn policy_for(queue: &Queue, message: &QueuedMessage, domain: &str, hop: &Hop) -> TlsPolicy {
    if message.requiretls {
        return TlsPolicy::Verified;
    }
    if let Some(relay) = &hop.smarthost {
        return match relay.tls {
            SmarthostTls::StartTls | SmarthostTls::Implicit => TlsPolicy::Verified,
            SmarthostTls::None => TlsPolicy::Opportunistic,
        };
    }
    if queue.config.tls_required
        || queue
            .config
            .tls_required_domains
            .iter()
            .any(|d| d.eq_ignore_ascii_case(domain))
    {
        return TlsPolicy::Required;
    }
    TlsPolicy::Opportunistic
}

fn all(rcpts: &[&QueuedRecipient], attempt: Attempt) -> Vec<(QueueRecipientId, Attempt)> {
    rcpts.iter().map(|r| (r.id, attempt.clone())).collect()
}

fn reply_text(reply: &Reply) -> String {
    String::from_utf8_lossy(&reply.encode())
        .trim_end()
        .replace("\r\n", " ")
}

/// Delivers to the recipients of one domain: locally when the domain is ours, else to the
/// first server of the route that gives an answer.
async fn deliver_domain(
    queue: &Queue,
    message: &QueuedMessage,
    domain: String,
    rcpts: Vec<&QueuedRecipient>,
    body: &[u8],
) -> Vec<(QueueRecipientId, Attempt)> {
    match local_domain(queue, &domain).await {
        Ok(true) => return deliver_local(queue, message, &rcpts, body).await,
        Ok(false) => {}
        Err(text) => {
            return all(
                &rcpts,
                Attempt::Temporary {
                    remote: None,
                    text,
                    status: "4.3.0".into(),
                },
            );
        }
    }
    let hops = match crate::route::resolve(queue, &domain).await {
        Ok(h) => h,
        Err(RouteError::Permanent { status, text }) => {
            return all(
                &rcpts,
                Attempt::Permanent {
                    remote: None,
                    text,
                    status: status.into(),
                },
            );
        }
        Err(RouteError::Temporary(text)) => {
            return all(
                &rcpts,
                Attempt::Temporary {
                    remote: None,
                    text,
                    status: "4.4.3".into(),
                },
            );
        }
    };
    let domain_slots = queue.worker.domain_slots(&domain);
    let _slot = domain_slots.acquire_owned().await.ok();
    let envelope = Envelope {
        mail_from: message.mail_from.clone(),
        size: body.len() as u64,
        envid: message.envid.clone(),
        ret: message.ret,
        body_8bit: message.body_8bit,
        smtputf8: message.smtputf8,
        requiretls: message.requiretls,
    };
    let smtp_rcpts: Vec<Rcpt> = rcpts
        .iter()
        .map(|r| Rcpt {
            address: r.address.clone(),
            notify: r.notify,
            original_recipient: r.original_recipient.clone(),
        })
        .collect();
    let mut last = Attempt::Temporary {
        remote: None,
        text: format!("no mail server of {domain} could be reached"),
        status: "4.4.1".into(),
    };
    for hop in &hops {
        let policy = policy_for(queue, message, &domain, hop);
        let key = PoolKey {
            addr: hop.addr,
            host: hop.host.clone(),
            policy: policy.into(),
            authenticated: hop.smarthost.as_ref().is_some_and(|s| s.username.is_some()),
        };
        let mut reused = queue.worker.take_session(&key);
        loop {
            let fresh = reused.is_none();
            let mut pooled = match reused.take() {
                Some(p) => p,
                None => match open(queue, hop, policy).await {
                    Ok(s) => Pooled {
                        session: s,
                        sent: 0,
                        idle_since: Instant::now(),
                    },
                    Err(e) => {
                        tracing::info!(domain = %domain, host = %hop.host, addr = %hop.addr, error = %e, "connection failed");
                        if hop.smarthost.is_some() && relay_login_failed(&e) {
                            // A smarthost refusing our login (535) or offering no usable
                            // mechanism is our misconfiguration, not the recipient's
                            // fault: defer and keep the mail, as Postfix does with
                            // `smtp_sasl_auth_soft_bounce`. Was: a 535 failed the
                            // recipients at once and bounced every message.
                            last = Attempt::Temporary {
                                remote: Some(hop.host.clone()),
                                text: e.to_string(),
                                status: "4.7.0".into(),
                            };
                        } else if e.is_permanent() {
                            // A 5xx greeting or a missing required extension applies to
                            // this host only; RFC 5321 §5.1 lets us try the others.
                            last = Attempt::Permanent {
                                remote: Some(hop.host.clone()),
                                text: e.to_string(),
                                status: permanent_status(&e),
                            };
                        } else if message.requiretls && matches!(e, ClientError::Tls(_)) {
                            // RFC 8689 §4.2.1, §5: without verified TLS to any MX host a
                            // REQUIRETLS message fails with 5.7.10. (Was: temporary, so it
                            // waited for expiry and then bounced with 5.4.7.)
                            last = Attempt::Permanent {
                                remote: Some(hop.host.clone()),
                                text: e.to_string(),
                                status: "5.7.10".into(),
                            };
                        } else {
                            last = Attempt::Temporary {
                                remote: Some(hop.host.clone()),
                                text: e.to_string(),
                                status: "4.4.1".into(),
                            };
                        }
                        break;
                    }
                },
            };
            let dsn_offered = pooled.session.capabilities().has_capability("DSN");
            // Remote-MTA names the host we chose (the MX name, as Postfix and Exim report
            // it), not whatever the server calls itself in its greeting.
            let remote = Some(hop.host.clone());
            match pooled.session.send(&envelope, &smtp_rcpts, body).await {
                Ok(outcome) => {
                    pooled.sent += 1;
                    let results = classify(&rcpts, &outcome, remote, dsn_offered);
                    queue.worker.put_session(
                        key.clone(),
                        pooled,
                        queue.config.max_messages_per_connection,
                    );
                    tracing::info!(
                        queue_id = %message.id,
                        domain = %domain,
                        host = %hop.host,
                        addr = %hop.addr,
                        recipients = rcpts.len(),
                        "delivery attempt done"
                    );
                    return results;
                }
                Err(e) if !fresh && !e.is_permanent() => {
                    // The pooled connection died while idle: open a fresh one.
                    tracing::debug!(error = %e, "pooled connection unusable; reconnecting");
                    continue;
                }
                Err(e) => {
                    tracing::info!(queue_id = %message.id, domain = %domain, host = %hop.host, error = %e, "delivery attempt failed");
                    tokio::spawn(pooled.session.quit());
                    if let ClientError::Unsupported(_) = e {
                        // The message needs an extension (REQUIRETLS, SMTPUTF8, 8BITMIME)
                        // this host lacks; another MX host may have it (RFC 8689 §4.2.1:
                        // "repeat ... with each host"). Was: failed at the first host.
                        last = Attempt::Permanent {
                            remote,
                            text: e.to_string(),
                            status: permanent_status(&e),
                        };
                        break;
                    }
                    if e.is_permanent() {
                        // A refused MAIL FROM: the same at every MX of the domain.
                        return all(
                            &rcpts,
                            Attempt::Permanent {
                                remote,
                                text: e.to_string(),
                                status: permanent_status(&e),
                            },
                        );
                    }
                    last = Attempt::Temporary {
                        remote,
                        text: e.to_string(),
                        status: temporary_status(&e),
                    };
                    break;
                }
            }
        }
    }
    all(&rcpts, last)
}

/// Whether opening a session failed at AUTH: refused, or no mechanism we can use.
fn relay_login_failed(e: &ClientError) -> bool {
    matches!(
        e,
        ClientError::Refused { stage: "AUTH", .. }
            | ClientError::Unsupported("AUTH PLAIN or LOGIN")
    )
}

fn permanent_status(e: &ClientError) -> String {
    match e {
        ClientError::Refused { reply, .. } => status_of(reply),
        // RFC 8689 §5: REQUIRETLS not supported / TLS not possible.
        ClientError::Unsupported("REQUIRETLS") => "5.7.30".into(),
        // RFC 3463 §3.7: X.6.3 conversion required but not supported (an 8-bit message
        // to a server without 8BITMIME, which we do not downgrade). Was 5.6.7, the
        // SMTPUTF8 code ("non-ASCII addresses not permitted", RFC 6531).
        ClientError::Unsupported("8BITMIME") => "5.6.3".into(),
        ClientError::Unsupported(_) => "5.6.7".into(),
        _ => "5.0.0".into(),
    }
}

fn temporary_status(e: &ClientError) -> String {
    match e {
        ClientError::Refused { reply, .. } => status_of(reply),
        ClientError::Timeout(_) => "4.4.2".into(),
        ClientError::Tls(_) => "4.7.5".into(),
        _ => "4.4.1".into(),
    }
}

async fn open(queue: &Queue, hop: &Hop, policy: TlsPolicy) -> Result<Session, ClientError> {
    let implicit = hop
        .smarthost
        .as_ref()
        .is_some_and(|s| s.tls == SmarthostTls::Implicit);
    let mut session =
        Session::connect(&queue.client, hop.addr, &hop.host, policy, implicit).await?;
    if let Some(relay) = &hop.smarthost
        && let (Some(user), Some(password)) = (&relay.username, &relay.password)
    {
        session.authenticate(user, password.expose()).await?;
    }
    Ok(session)
}

/// Per-recipient results of one transaction.
fn classify(
    rcpts: &[&QueuedRecipient],
    outcome: &crate::client::Outcome,
    remote: Option<String>,
    dsn_offered: bool,
) -> Vec<(QueueRecipientId, Attempt)> {
    rcpts
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let Some(rcpt_reply) = outcome.rcpt.get(i) else {
                return (
                    r.id,
                    Attempt::Temporary {
                        remote: remote.clone(),
                        text: "no reply to RCPT".into(),
                        status: "4.4.2".into(),
                    },
                );
            };
            let decisive = if rcpt_reply.is_positive() {
                match &outcome.data {
                    Some(d) => d,
                    None => rcpt_reply,
                }
            } else {
                rcpt_reply
            };
            let text = reply_text(decisive);
            let attempt = if decisive.is_positive() {
                Attempt::Delivered {
                    remote: remote.clone(),
                    reply: text,
                    dsn_passed_on: dsn_offered,
                    local: false,
                }
            } else if decisive.is_transient() {
                Attempt::Temporary {
                    remote: remote.clone(),
                    text,
                    status: status_of(decisive),
                }
            } else {
                Attempt::Permanent {
                    remote: remote.clone(),
                    text,
                    status: status_of(decisive),
                }
            };
            (r.id, attempt)
        })
        .collect()
}

async fn local_domain(queue: &Queue, domain: &str) -> Result<bool, String> {
    let Ok(name) = domain.parse::<mailstead_types::Domain>() else {
        return Ok(false);
    };
    queue
        .stores
        .meta
        .resolve_domain(&name)
        .await
        .map(|d| d.is_some())
        .map_err(|e| format!("local problem: {e}"))
}

/// Delivers to local recipients of a queued message (DSNs to local senders, mostly).
/// Not in the transaction that finishes the queue entry: a crash between the two
/// delivers twice, never zero times.
async fn deliver_local(
    queue: &Queue,
    message: &QueuedMessage,
    rcpts: &[&QueuedRecipient],
    body: &[u8],
) -> Vec<(QueueRecipientId, Attempt)> {
    let directory = Directory::new(queue.stores.meta.clone());
    let mut out = Vec::new();
    let mut local = Vec::new();
    for r in rcpts {
        let Ok(address) = r.address.parse::<mailstead_types::Address>() else {
            out.push((
                r.id,
                Attempt::Permanent {
                    remote: None,
                    text: "invalid local address".into(),
                    status: "5.1.3".into(),
                },
            ));
            continue;
        };
        match directory.resolve_recipient(&address).await {
            Ok(res) if !res.accounts.is_empty() => {
                local.push((
                    r.id,
                    res.accounts.iter().map(|a| a.id).collect::<Vec<_>>(),
                    r,
                ));
            }
            Ok(_) => out.push((
                r.id,
                Attempt::Permanent {
                    remote: None,
                    text: format!("<{}>: no such user here", r.address),
                    status: "5.1.1".into(),
                },
            )),
            Err(e) => out.push((
                r.id,
                Attempt::Temporary {
                    remote: None,
                    text: format!("local problem: {e}"),
                    status: "4.3.0".into(),
                },
            )),
        }
    }
    if local.is_empty() {
        return out;
    }
    let incoming = crate::Incoming {
        message: body.to_vec(),
        mail_from: message.mail_from.clone(),
        envid: message.envid.clone(),
        ret: message.ret,
        body_8bit: message.body_8bit,
        smtputf8: message.smtputf8,
        requiretls: false,
        submitter: None,
        local: local
            .iter()
            .map(|(_, accounts, r)| crate::LocalRecipient {
                address: r.address.clone(),
                accounts: accounts.clone(),
                // Success notices for these are reported from the queue's own record.
                notify: NotifyFlags::UNSET,
                original_recipient: r.original_recipient.clone(),
            })
            .collect(),
        remote: Vec::new(),
        forwarded: Vec::new(),
        // Final delivery here (RFC 5321 §4.4).
        return_path: Some(format!("Return-Path: <{}>\r\n", message.mail_from)),
        local_copies: std::collections::HashMap::new(),
    };
    let result = crate::local::accept(queue, incoming).await;
    for (id, _, _) in local {
        out.push((
            id,
            match &result {
                Ok(a) => Attempt::Delivered {
                    remote: None,
                    reply: format!("delivered locally as {}", a.id),
                    dsn_passed_on: false,
                    local: true,
                },
                Err(e) => Attempt::Temporary {
                    remote: None,
                    text: format!("local delivery failed: {e}"),
                    status: "4.3.0".into(),
                },
            },
        ));
    }
    out
}

/// The retry delay after `attempts` failed attempts: initial × 2^(attempts−1), capped.
pub(crate) fn backoff(config: &QueueConfig, attempts: u32) -> Duration {
    let factor = 1u32
        .checked_shl(attempts.saturating_sub(1).min(30))
        .unwrap_or(u32::MAX);
    config
        .retry_initial
        .checked_mul(factor)
        .unwrap_or(config.retry_max)
        .min(config.retry_max)
}

fn secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

/// Turns the attempt results into recipient updates and the notices they owe, writes
/// the blobs of the notices, and commits both in one transaction.
async fn record(queue: &Queue, message: &QueuedMessage, results: Vec<(QueueRecipientId, Attempt)>) {
    let now = unix_now();
    let config = &queue.config;
    let expired = now.saturating_sub(message.created_at) >= secs(config.give_up_after);
    let delay_due = config
        .delay_notice_after
        .is_some_and(|d| now.saturating_sub(message.created_at) >= secs(d));
    let mut updates = Vec::new();
    let mut failed = Vec::new();
    let mut delayed = Vec::new();
    let mut succeeded = Vec::new();
    for (id, attempt) in results {
        let Some(r) = message.recipients.iter().find(|r| r.id == id) else {
            continue;
        };
        let notify = r.notify;
        let can_notify = !message.mail_from.is_empty() && !notify.contains(NotifyFlags::NEVER);
        match attempt {
            Attempt::Delivered {
                remote,
                reply,
                dsn_passed_on,
                local,
            } => {
                if can_notify && notify.wants_success() && (local || !dsn_passed_on) {
                    succeeded.push(dsn_part(
                        r,
                        if local {
                            DsnAction::Delivered
                        } else {
                            DsnAction::Relayed
                        },
                        "2.0.0".into(),
                        remote,
                        Some(reply.clone()),
                        now,
                        None,
                    ));
                }
                updates.push(RecipientUpdate {
                    id,
                    status: RecipientStatus::Delivered,
                    attempted: true,
                    next_attempt: now,
                    last_error: Some(reply),
                    delay_notified: r.delay_notified,
                });
            }
            Attempt::Permanent {
                remote,
                text,
                status,
            } => {
                if can_notify && notify.wants_failure() {
                    failed.push(dsn_part(
                        r,
                        DsnAction::Failed,
                        status,
                        remote,
                        Some(text.clone()),
                        now,
                        None,
                    ));
                }
                updates.push(RecipientUpdate {
                    id,
                    status: RecipientStatus::Failed,
                    attempted: true,
                    next_attempt: now,
                    last_error: Some(text),
                    delay_notified: r.delay_notified,
                });
            }
            Attempt::Temporary {
                remote,
                text,
                status,
            } => {
                if expired {
                    if can_notify && notify.wants_failure() {
                        failed.push(dsn_part(
                            r,
                            DsnAction::Failed,
                            // RFC 3463: 4.4.7 delivery time expired, reported as permanent.
                            "5.4.7".into(),
                            remote,
                            Some(text.clone()),
                            now,
                            None,
                        ));
                    }
                    updates.push(RecipientUpdate {
                        id,
                        status: RecipientStatus::Failed,
                        attempted: true,
                        next_attempt: now,
                        last_error: Some(format!("gave up: {text}")),
                        delay_notified: r.delay_notified,
                    });
                    continue;
                }
                let wait = backoff(config, r.attempts + 1);
                let notify_delay =
                    delay_due && !r.delay_notified && can_notify && notify.wants_delay();
                if notify_delay {
                    delayed.push(dsn_part(
                        r,
                        DsnAction::Delayed,
                        status,
                        remote,
                        Some(text.clone()),
                        now,
                        Some(
                            message
                                .created_at
                                .saturating_add(secs(config.give_up_after)),
                        ),
                    ));
                }
                updates.push(RecipientUpdate {
                    id,
                    status: RecipientStatus::Pending,
                    attempted: true,
                    next_attempt: now.saturating_add(secs(wait).max(1)),
                    last_error: Some(text),
                    delay_notified: r.delay_notified || notify_delay,
                });
            }
        }
    }
    let mut notices = Vec::new();
    let original = if failed.is_empty() && delayed.is_empty() && succeeded.is_empty() {
        None
    } else {
        queue
            .stores
            .blobs
            .get(&message.blob_id)
            .await
            .ok()
            .flatten()
    };
    for parts in [failed, delayed, succeeded] {
        if parts.is_empty() {
            continue;
        }
        let report = DsnReport {
            reporting_mta: &config.hostname,
            to: &message.mail_from,
            envid: message.envid.as_deref(),
            arrival: message.created_at,
            recipients: parts,
            original: original.as_deref().unwrap_or_default(),
            ret: message.ret,
            max_return_size: config.dsn_max_return_size,
            now,
        };
        match notice(queue, &report, &message.mail_from).await {
            Ok(n) => notices.push(n),
            Err(e) => {
                // Without its notice the outcome must not be recorded: keep the lease to
                // expire and try the whole thing again.
                tracing::error!(queue_id = %message.id, error = %e, "cannot write DSN; outcome not recorded");
                return;
            }
        }
    }
    match queue
        .stores
        .meta
        .queue_complete(message.id, &updates, &notices)
        .await
    {
        Ok(removed) => {
            for u in &updates {
                if let Some(r) = message.recipients.iter().find(|r| r.id == u.id) {
                    tracing::info!(
                        queue_id = %message.id,
                        rcpt = %r.address,
                        status = u.status.as_str(),
                        detail = u.last_error.as_deref().unwrap_or(""),
                        "recipient"
                    );
                }
            }
            if removed {
                tracing::debug!(queue_id = %message.id, "queue entry finished");
            }
        }
        Err(mailstead_store::StoreError::NotFound(_)) => {
            tracing::info!(queue_id = %message.id, "queue entry was deleted during delivery");
        }
        Err(e) => {
            tracing::error!(queue_id = %message.id, error = %e, "cannot record delivery outcome")
        }
    }
}

fn dsn_part(
    r: &QueuedRecipient,
    action: DsnAction,
    status: String,
    remote: Option<String>,
    diagnostic: Option<String>,
    now: UnixTime,
    will_retry_until: Option<UnixTime>,
) -> DsnRecipient {
    DsnRecipient {
        final_recipient: r.address.clone(),
        original_recipient: r.original_recipient.clone(),
        action,
        status,
        remote_mta: remote,
        diagnostic,
        last_attempt: Some(now),
        will_retry_until,
    }
}

/// Writes a report's blob and returns it as a queued message from the null sender.
async fn notice(
    queue: &Queue,
    report: &DsnReport<'_>,
    to: &str,
) -> Result<NewQueuedMessage, mailstead_store::StoreError> {
    let mut bytes = build_report(report);
    let from_domain = queue.config.hostname.clone();
    match queue.dkim_sign(&from_domain, &bytes).await {
        Ok(sig) if !sig.is_empty() => {
            let mut signed = sig;
            signed.extend_from_slice(&bytes);
            bytes = signed;
        }
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "cannot sign DSN; sending it unsigned"),
    }
    let blob_id = queue.stores.blobs.put(&bytes).await?;
    let now = unix_now();
    Ok(NewQueuedMessage {
        blob_id,
        size: bytes.len() as u64,
        mail_from: String::new(),
        envid: None,
        ret: None,
        body_8bit: bytes.iter().any(|b| *b >= 0x80),
        smtputf8: !to.is_ascii(),
        requiretls: false,
        submitter: None,
        created_at: now,
        next_attempt: now,
        recipients: vec![NewQueuedRecipient {
            address: to.to_string(),
            original_recipient: None,
            notify: NotifyFlags::UNSET,
        }],
    })
}

/// Turns the "delivered" notices owed by local deliveries (stored DSN requests) into
/// queued reports.
async fn convert_dsn_requests(queue: &Queue) {
    let requests = match queue.stores.meta.dsn_requests(DSN_BATCH).await {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "cannot read DSN requests");
            return;
        }
    };
    for request in requests {
        if let Err(e) = convert_one(queue, &request).await {
            tracing::error!(error = %e, "cannot queue a success DSN");
        }
    }
}

async fn convert_one(
    queue: &Queue,
    request: &DsnRequest,
) -> Result<(), mailstead_store::StoreError> {
    if request.mail_from.is_empty() {
        return queue
            .stores
            .meta
            .replace_dsn_request(request.id, None)
            .await;
    }
    let original = queue
        .stores
        .blobs
        .get(&request.blob_id)
        .await?
        .unwrap_or_default();
    let now = unix_now();
    let report = DsnReport {
        reporting_mta: &queue.config.hostname,
        to: &request.mail_from,
        envid: request.envid.as_deref(),
        arrival: request.created_at,
        recipients: vec![DsnRecipient {
            final_recipient: request.recipient.clone(),
            original_recipient: request.original_recipient.clone(),
            action: request.action,
            status: "2.0.0".into(),
            remote_mta: None,
            diagnostic: None,
            last_attempt: Some(request.created_at),
            will_retry_until: None,
        }],
        original: &original,
        // RFC 3461 §4.3: a success DSN returns only the header unless FULL was asked for.
        ret: Some(request.ret.unwrap_or(mailstead_store::model::DsnRet::Hdrs)),
        max_return_size: queue.config.dsn_max_return_size,
        now,
    };
    let n = notice(queue, &report, &request.mail_from).await?;
    queue
        .stores
        .meta
        .replace_dsn_request(request.id, Some(&n))
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_initial_up_to_the_cap() {
        let mut c = QueueConfig::for_tests("h");
        c.retry_initial = Duration::from_secs(300);
        c.retry_max = Duration::from_secs(4 * 3600);
        let seq: Vec<u64> = (1..=8).map(|a| backoff(&c, a).as_secs()).collect();
        assert_eq!(seq, vec![300, 600, 1200, 2400, 4800, 9600, 14400, 14400]);
        assert_eq!(backoff(&c, 1000).as_secs(), 14400);
    }

    #[test]
    fn domain_of_takes_the_part_after_the_last_at() {
        assert_eq!(domain_of("a@B.Example."), "b.example");
        assert_eq!(domain_of("\"a@b\"@c.example"), "c.example");
        assert_eq!(domain_of("nodomain"), "");
    }
}
