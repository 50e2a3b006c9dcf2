//! The DNS bridge: mail-auth's checks see only answers our [`Resolver`] gave.
//!
//! mail-auth resolves through its own hickory resolver, but before every lookup it asks
//! the `ResolverCache`s handed to it in `mail_auth::Parameters`. So each check runs in
//! passes over [`Views`] of one per-message store of answers, [`Answers`]:
//!
//! 1. A pass runs the check (say `verify_spf`). Every cache question about a name the
//!    store does not know is recorded as a miss and answered "not cached".
//! 2. mail-auth then asks its own resolver, which is a hickory `TokioResolver` with *no*
//!    nameserver: the lookup fails at once (in microseconds, tested) with
//!    `Error::Dns(DnsError::Resolver("no connections available"))`, which every check maps
//!    to `temperror` (or, where RFC 7208 says a DNS error means "no match", to no match).
//! 3. If the pass had misses, the missed names are looked up through our [`Resolver`], the
//!    answers go into the store, and the check runs again; a pass without misses is the
//!    result ([`settle!`], at most [`MAX_PASSES`] passes).
//!
//! How each answer reaches mail-auth:
//!
//! - **TXT**: records are parsed into the `Txt` the check expects ([`TxtKind`]); NXDOMAIN
//!   and NODATA become `Txt::Error(Error::Dns(DnsError::RecordNotFound(rcode)))`, what
//!   mail-auth's hickory path returns, so SPF, DKIM and DMARC see "no record";
//!   [`DnsError::Temporary`] becomes `DnsError::Resolver(..)`, a `temperror`. More than
//!   one `v=spf1` record is a syntax error (RFC 7208 §4.5, `permerror`), and so is an
//!   unknown mechanism (§4.6.1; mail-auth's parser skips those); more than one `v=DMARC1`
//!   record is no record (RFC 7489 §6.6.3).
//! - **A/AAAA, positive**: in the IPv4/IPv6 caches.
//! - **A/AAAA, negative** (NXDOMAIN or NODATA): *never* in the caches, because
//!   mail-auth's `exists()` takes any cache hit, even an empty record set, as "the name
//!   exists" (a forged `exists:` match). Instead the empty family goes into the static
//!   `Hosts` table of that pass's hickory resolver, as an empty lookup: hickory answers
//!   from `Hosts` before it would ask a nameserver, so `a`/`mx` lookups get an empty
//!   answer (no match) and `exists()`'s `lookup_ip` gets an empty answer (`Ok(false)`).
//!   Tested: a negative `exists:` does not match, a temporary failure is `temperror`.
//! - **A/AAAA, temporary failure**: in neither: the lookup reaches the resolver without
//!   nameservers and fails, a `temperror`.
//! - **MX**: the exchanges grouped by preference; NXDOMAIN, NODATA and null MX are an
//!   empty set (the `mx` mechanism matches nothing); a temporary failure is left out
//!   (`temperror`). With an answer, the A/AAAA of the first ten exchanges are fetched at
//!   once, so an `mx` mechanism costs one pass, not eleven.
//! - **PTR** (only ever of the client's address): the names, or an empty set; a temporary
//!   failure is left out, which RFC 7208 §5.5 treats as no match. The A/AAAA of the first
//!   ten names are fetched with it.
//!
//! Limits: at most [`MAX_LOOKUPS`] lookups per message; past that, names are answered
//! as temporary failures (`temperror`, never a guess). An A/AAAA NXDOMAIN looks like
//! NODATA to mail-auth, so DMARCbis' `np=` (which needs the difference) never applies;
//! `sp=` does, as in RFC 7489. mail-auth's `exists()` counts AAAA records too (RFC 7208
//! §5.7 asks for A only): a name with only AAAA records matches.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::future::Future;
use std::hash::{Hash, Hasher};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::Poll;
use std::time::Instant;

use mail_auth::common::parse::TxtRecordParser;
use mail_auth::common::resolver::ToFqdn as _;
use mail_auth::common::to_a_label;
use mail_auth::common::verify::DomainKey;
use mail_auth::dkim::{Atps, DomainKeyReport};
use mail_auth::dmarc::Dmarc;
use mail_auth::hickory_resolver::config::{ResolveHosts, ResolverConfig, ResolverOpts};
use mail_auth::hickory_resolver::lookup::Lookup;
use mail_auth::hickory_resolver::net::runtime::TokioRuntimeProvider;
use mail_auth::hickory_resolver::proto::op::{Query, ResponseCode};
use mail_auth::hickory_resolver::proto::rr::{Name, RecordType};
use mail_auth::hickory_resolver::{Hosts, TokioResolver};
use mail_auth::spf::Spf;
use mail_auth::{
    DnsError as AuthDnsError, DnssecStatus, Error, MX, MessageAuthenticator, Parameters, RecordSet,
    ResolverCache, Txt,
};
use mailstead_dns::{DnsError, MxAnswer, Resolver};

/// The most passes one check runs; a check still missing answers after them is a
/// `temperror`. SPF needs the most: one per DNS mechanism (at most 10, RFC 7208 §4.6.4),
/// plus the record itself and the final pass.
pub(super) const MAX_PASSES: usize = 20;

/// The most lookups through our resolver for one message, all checks together.
pub(super) const MAX_LOOKUPS: usize = 200;

/// The most host names of one MX or PTR answer whose addresses are fetched with it (RFC
/// 7208 §4.6.4: an `mx` or `ptr` mechanism looks at no more than 10).
pub(super) const MAX_HOSTS_PER_ANSWER: usize = 10;

/// The hickory resolver mail-auth is built on: no nameserver, no `/etc/hosts`. Every
/// lookup it is left with fails at once, except those the per-pass [`Hosts`] answers.
pub(super) fn resolver_without_nameservers() -> Result<TokioResolver, String> {
    let mut options = ResolverOpts::default();
    options.use_hosts_file = ResolveHosts::Never;
    TokioResolver::builder_with_config(
        ResolverConfig::from_parts(None, Vec::new(), Vec::new()),
        TokioRuntimeProvider::default(),
    )
    .with_options(options)
    .build()
    .map_err(|err| err.to_string())
}

/// An answer of our resolver, or a temporary failure.
#[derive(Debug, Clone)]
pub(super) enum Answer<T> {
    /// The records; empty for NXDOMAIN and NODATA.
    Found(T),
    /// [`DnsError::Temporary`] (or the lookup budget was spent).
    Temporary,
}

/// A and AAAA records of one name.
#[derive(Debug, Clone, Default)]
pub(super) struct Addresses {
    v4: Arc<[Ipv4Addr]>,
    v6: Arc<[Ipv6Addr]>,
}

impl Addresses {
    /// Whether `ip` is among them.
    pub(super) fn contains(&self, ip: IpAddr) -> bool {
        match ip {
            IpAddr::V4(v4) => self.v4.contains(&v4),
            IpAddr::V6(v6) => self.v6.contains(&v6),
        }
    }
}

/// A TXT answer as our resolver gave it.
#[derive(Debug, Clone)]
enum TxtAnswer {
    /// At least one record.
    Records(Arc<[String]>),
    /// NXDOMAIN (`NXDomain`) or NODATA (`NoError`).
    NotFound(ResponseCode),
    /// A temporary failure, with its reason.
    Temporary(String),
}

/// Which record type a check parses TXT answers as (the caches are asked by name only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum TxtKind {
    /// SPF records (an `exp=` lookup then gets the wrong type, so no explanation: we do
    /// not use explanations).
    Spf,
    /// DKIM and ARC key records (and ATPS / DKIM report records by their names).
    DomainKey,
    /// DMARC records.
    Dmarc,
}

/// Everything looked up for one message.
#[derive(Default)]
struct State {
    txt: HashMap<Box<str>, TxtAnswer>,
    mx: HashMap<Box<str>, Answer<RecordSet<MX>>>,
    ips: HashMap<Box<str>, Answer<Addresses>>,
    /// PTR of the client's address, the only one mail-auth asks for.
    ptr: Option<Answer<Arc<[Box<str>]>>>,
    lookups: usize,
}

/// The answers for one message: keys are names as mail-auth asks for them (ASCII lower
/// case, trailing dot, see `ToFqdn`), answers as our resolver gave them.
pub(super) struct Answers<'r> {
    resolver: &'r dyn Resolver,
    base: &'r TokioResolver,
    client_ip: IpAddr,
    state: Mutex<State>,
}

impl<'r> Answers<'r> {
    /// An empty store for a message from `client_ip`.
    pub(super) fn new(
        resolver: &'r dyn Resolver,
        base: &'r TokioResolver,
        client_ip: IpAddr,
    ) -> Self {
        Self {
            resolver,
            base,
            client_ip,
            state: Mutex::new(State::default()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic elsewhere cannot leave the maps half-updated (each update is one insert).
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The authenticator for the next pass: the resolver without nameservers, with the
    /// negative A/AAAA answers known so far as empty static hosts (see the module
    /// documentation).
    pub(super) fn authenticator(&self) -> MessageAuthenticator {
        let mut hosts = Hosts::default();
        for (key, answer) in &self.lock().ips {
            let Answer::Found(addresses) = answer else {
                continue;
            };
            // A name hickory cannot parse fails mail-auth's own lookup with a parse
            // error (temperror for `a`/`mx`/`exists`) before reaching the hosts.
            let Ok(name) = Name::from_str_relaxed(key.as_ref()) else {
                continue;
            };
            for (empty, record_type) in [
                (addresses.v4.is_empty(), RecordType::A),
                (addresses.v6.is_empty(), RecordType::AAAA),
            ] {
                if empty {
                    let query = Query::query(name.clone(), record_type);
                    hosts.insert(
                        name.clone(),
                        record_type,
                        Lookup::new_with_max_ttl(query, []),
                    );
                }
            }
        }
        let mut resolver = self.base.clone();
        resolver.set_hosts(Arc::new(hosts));
        MessageAuthenticator(resolver)
    }

    /// Takes one lookup from the message's budget.
    fn spend(&self) -> bool {
        let mut state = self.lock();
        if state.lookups >= MAX_LOOKUPS {
            return false;
        }
        state.lookups += 1;
        true
    }

    /// Looks up the TXT records of `key` unless known.
    pub(super) async fn txt(&self, key: &str) {
        if self.lock().txt.contains_key(key) {
            return;
        }
        let answer = if !self.spend() {
            TxtAnswer::Temporary("too many lookups for one message".to_owned())
        } else {
            match self.resolver.txt(&to_a_label(key)).await {
                Ok(records) if records.is_empty() => TxtAnswer::NotFound(ResponseCode::NoError),
                Ok(records) => TxtAnswer::Records(records.into()),
                Err(DnsError::Temporary { reason, .. }) => TxtAnswer::Temporary(reason),
                // NXDOMAIN, or a name that cannot exist.
                Err(_) => TxtAnswer::NotFound(ResponseCode::NXDomain),
            }
        };
        self.lock().txt.insert(key.into(), answer);
    }

    /// The TXT records of `key` if it has been looked up and has some.
    pub(super) fn txt_records(&self, key: &str) -> Option<Arc<[String]>> {
        match self.lock().txt.get(key) {
            Some(TxtAnswer::Records(records)) => Some(records.clone()),
            _ => None,
        }
    }

    /// Looks up the MX records of `key` unless known, and the addresses of the first
    /// exchanges with them.
    pub(super) async fn mx(&self, key: &str) {
        if self.lock().mx.contains_key(key) {
            return;
        }
        let answer = if !self.spend() {
            Answer::Temporary
        } else {
            match self.resolver.mx(&to_a_label(key)).await {
                Ok(MxAnswer::Hosts(hosts)) => {
                    let mut groups: Vec<MX> = Vec::new();
                    let mut current: Option<(u16, Vec<Box<str>>)> = None;
                    for mx in hosts {
                        match &mut current {
                            Some((preference, exchanges)) if *preference == mx.preference => {
                                exchanges.push(mx.exchange.into());
                            }
                            _ => {
                                if let Some((preference, exchanges)) = current.take() {
                                    groups.push(MX {
                                        exchanges: exchanges.into(),
                                        preference,
                                    });
                                }
                                current = Some((mx.preference, vec![mx.exchange.into()]));
                            }
                        }
                    }
                    if let Some((preference, exchanges)) = current {
                        groups.push(MX {
                            exchanges: exchanges.into(),
                            preference,
                        });
                    }
                    Answer::Found(record_set(groups))
                }
                Ok(MxAnswer::NullMx | MxAnswer::NoMx) => Answer::Found(record_set(Vec::new())),
                Err(err) if err.is_temporary() => Answer::Temporary,
                Err(_) => Answer::Found(record_set(Vec::new())),
            }
        };
        let exchanges: Vec<Box<str>> = match &answer {
            Answer::Found(set) => set
                .rrset
                .iter()
                .flat_map(|mx| mx.exchanges.iter())
                .take(MAX_HOSTS_PER_ANSWER)
                .map(|host| host.to_fqdn().into())
                .collect(),
            Answer::Temporary => Vec::new(),
        };
        self.lock().mx.insert(key.into(), answer);
        join_all(exchanges.iter().map(|host| self.ips(host))).await;
    }

    /// The A and AAAA records of `key`, looked up unless known.
    pub(super) async fn ips(&self, key: &str) -> Answer<Addresses> {
        if let Some(answer) = self.lock().ips.get(key) {
            return answer.clone();
        }
        let answer = if !self.spend() {
            Answer::Temporary
        } else {
            match self.resolver.ips(&to_a_label(key)).await {
                Ok(ips) => {
                    let v4: Vec<Ipv4Addr> = ips
                        .iter()
                        .filter_map(|ip| match ip {
                            IpAddr::V4(v4) => Some(*v4),
                            IpAddr::V6(_) => None,
                        })
                        .collect();
                    let v6: Vec<Ipv6Addr> = ips
                        .iter()
                        .filter_map(|ip| match ip {
                            IpAddr::V6(v6) => Some(*v6),
                            IpAddr::V4(_) => None,
                        })
                        .collect();
                    Answer::Found(Addresses {
                        v4: v4.into(),
                        v6: v6.into(),
                    })
                }
                Err(err) if err.is_temporary() => Answer::Temporary,
                Err(_) => Answer::Found(Addresses::default()),
            }
        };
        self.lock().ips.insert(key.into(), answer.clone());
        answer
    }

    /// The PTR names of the client's address (normal form, no trailing dot), looked up
    /// unless known, with the addresses of the first names.
    pub(super) async fn ptr(&self) -> Answer<Arc<[Box<str>]>> {
        if let Some(answer) = &self.lock().ptr {
            return answer.clone();
        }
        let answer = if !self.spend() {
            Answer::Temporary
        } else {
            match self.resolver.ptr(self.client_ip).await {
                // Without the trailing dot: mail-auth's `ptr` mechanism then compares
                // names with the target domain correctly.
                Ok(names) => Answer::Found(names.into_iter().map(Box::from).collect()),
                Err(err) if err.is_temporary() => Answer::Temporary,
                Err(_) => Answer::Found(Arc::from([])),
            }
        };
        self.lock().ptr = Some(answer.clone());
        if let Answer::Found(names) = &answer {
            let keys: Vec<Box<str>> = names
                .iter()
                .take(MAX_HOSTS_PER_ANSWER)
                .map(|name| name.to_fqdn().into())
                .collect();
            join_all(keys.iter().map(|key| self.ips(key))).await;
        }
        answer
    }

    /// Looks up what a pass missed; `false` when there was nothing it could look up (the
    /// pass will not change).
    pub(super) async fn resolve(&self, missed: Missed) -> bool {
        let progress = !(missed.txt.is_empty()
            && missed.mx.is_empty()
            && missed.ips.is_empty()
            && !missed.ptr);
        let txt = join_all(missed.txt.iter().map(|key| self.txt(key)));
        let mx = join_all(missed.mx.iter().map(|key| self.mx(key)));
        let ips = join_all(missed.ips.iter().map(|key| self.ips(key)));
        let ptr = async {
            if missed.ptr {
                self.ptr().await;
            }
        };
        tokio::join!(txt, mx, ips, ptr);
        progress
    }
}

fn record_set<T>(records: Vec<T>) -> RecordSet<T> {
    RecordSet {
        rrset: records.into(),
        dnssec_status: DnssecStatus::Indeterminate,
    }
}

/// Runs the futures concurrently (on the current task) and returns their outputs in order.
pub(super) async fn join_all<F: Future>(futures: impl IntoIterator<Item = F>) -> Vec<F::Output> {
    let mut pending: Vec<Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = pending.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut done = true;
        for (future, output) in pending.iter_mut().zip(outputs.iter_mut()) {
            if output.is_none() {
                match future.as_mut().poll(cx) {
                    Poll::Ready(value) => *output = Some(value),
                    Poll::Pending => done = false,
                }
            }
        }
        if done { Poll::Ready(()) } else { Poll::Pending }
    })
    .await;
    outputs.into_iter().flatten().collect()
}

/// Names a pass asked about that the store did not know.
#[derive(Debug, Default)]
pub(super) struct Missed {
    txt: Vec<Box<str>>,
    mx: Vec<Box<str>>,
    ips: Vec<Box<str>>,
    ptr: bool,
    /// A question whose name could not be recovered (see [`key_text`]); it cannot be
    /// looked up, so the pass's DNS error stands.
    unidentified: bool,
}

impl Missed {
    /// Whether the pass got every answer it asked for.
    pub(super) fn is_empty(&self) -> bool {
        self.txt.is_empty()
            && self.mx.is_empty()
            && self.ips.is_empty()
            && !self.ptr
            && !self.unidentified
    }
}

/// One check's view of the [`Answers`]: the five caches of `mail_auth::Parameters` in one
/// value, recording what it was asked and did not know.
pub(super) struct Views<'a> {
    answers: &'a Answers<'a>,
    kind: TxtKind,
    missed: Mutex<Missed>,
    /// TXT answers already parsed as `kind` (parsing a key record is not free).
    parsed: Mutex<HashMap<Box<str>, Txt>>,
}

impl<'a> Views<'a> {
    /// A view parsing TXT answers as `kind`.
    pub(super) fn new(answers: &'a Answers<'a>, kind: TxtKind) -> Self {
        Self {
            answers,
            kind,
            missed: Mutex::new(Missed::default()),
            parsed: Mutex::new(HashMap::new()),
        }
    }

    /// The `Parameters` of a mail-auth check, with this view as every cache.
    pub(super) fn parameters<P>(
        &self,
        params: P,
    ) -> Parameters<'_, P, Self, Self, Self, Self, Self> {
        Parameters {
            params,
            cache_txt: Some(self),
            cache_mx: Some(self),
            cache_ptr: Some(self),
            cache_ipv4: Some(self),
            cache_ipv6: Some(self),
        }
    }

    /// What the last pass missed, leaving the record empty for the next one.
    pub(super) fn take_missed(&self) -> Missed {
        std::mem::take(&mut *self.missed.lock().unwrap_or_else(PoisonError::into_inner))
    }

    fn miss<Q>(&self, name: &Q, record: impl FnOnce(&mut Missed, Box<str>))
    where
        Box<str>: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let mut missed = self.missed.lock().unwrap_or_else(PoisonError::into_inner);
        match key_text(name) {
            Some(key) => record(&mut missed, key),
            None => missed.unidentified = true,
        }
    }
}

/// The `str` behind a cache key mail-auth passes as `&Q` (the trait is generic over the
/// borrowed form; mail-auth always passes a `str`).
///
/// `str`'s `Hash` feeds the hasher its bytes and then `0xff`; a hasher that records what
/// it is fed gets the bytes back. The candidate is accepted only if it compares equal to
/// the key through `Borrow`, so a change in how `str` hashes can make this return
/// `None` (the miss then stays a DNS error, a `temperror`), never a wrong name. A test
/// checks it works.
fn key_text<Q>(name: &Q) -> Option<Box<str>>
where
    Box<str>: Borrow<Q>,
    Q: Hash + Eq + ?Sized,
{
    #[derive(Default)]
    struct Recorder(Vec<u8>);
    impl Hasher for Recorder {
        fn finish(&self) -> u64 {
            0
        }
        fn write(&mut self, bytes: &[u8]) {
            self.0.extend_from_slice(bytes);
        }
    }
    let mut recorder = Recorder::default();
    name.hash(&mut recorder);
    let bytes = recorder.0.strip_suffix(&[0xff])?;
    let candidate: Box<str> = std::str::from_utf8(bytes).ok()?.into();
    (<Box<str> as Borrow<Q>>::borrow(&candidate) == name).then_some(candidate)
}

/// The first record of `records` that parses as `T`, as mail-auth's own lookup picks it.
fn parse_first<T: TxtRecordParser + Into<Txt>>(records: &[String]) -> Txt {
    let mut result = Err(Error::Dns(AuthDnsError::InvalidRecordType));
    for record in records {
        result = T::parse(record.as_bytes());
        if result.is_ok() {
            break;
        }
    }
    result.into()
}

/// Whether `record` starts with `tag` (ASCII case-insensitive) followed by one of `ends`
/// or its end.
fn starts_with_version(record: &str, tag: &str, ends: &[u8]) -> bool {
    let bytes = record.trim_start().as_bytes();
    bytes.len() >= tag.len()
        && bytes[..tag.len()].eq_ignore_ascii_case(tag.as_bytes())
        && bytes.get(tag.len()).is_none_or(|b| ends.contains(b))
}

/// Whether an SPF record has a term that is neither a mechanism of RFC 7208 §5 nor a
/// modifier (`name=value`, §6; unknown modifiers are ignored, §6).
fn has_unknown_mechanism(record: &str) -> bool {
    const MECHANISMS: [&str; 8] = ["all", "include", "a", "mx", "ptr", "ip4", "ip6", "exists"];
    record.split_ascii_whitespace().skip(1).any(|term| {
        let term = term.trim_start_matches(['+', '-', '~', '?']);
        let name_end = term.find([':', '/', '=']).unwrap_or(term.len());
        let (name, rest) = term.split_at(name_end);
        !rest.starts_with('=') && !MECHANISMS.iter().any(|m| m.eq_ignore_ascii_case(name))
    })
}

/// The `Txt` a check of `kind` gets for `name`.
fn txt_value(kind: TxtKind, name: &str, answer: &TxtAnswer) -> Txt {
    let records = match answer {
        TxtAnswer::Records(records) => records,
        TxtAnswer::NotFound(code) => {
            return Txt::Error(Error::Dns(AuthDnsError::RecordNotFound(*code)));
        }
        TxtAnswer::Temporary(reason) => {
            return Txt::Error(Error::Dns(AuthDnsError::Resolver(reason.clone())));
        }
    };
    match kind {
        TxtKind::Spf => {
            let mut spf = records
                .iter()
                .filter(|r| starts_with_version(r, "v=spf1", b" "));
            match (spf.next(), spf.next()) {
                // RFC 7208 §4.5: more than one SPF record is a permerror.
                (Some(_), Some(_)) => Txt::Error(Error::ParseError),
                // §4.6.1, which mail-auth's parser skips: so is an unknown mechanism.
                (Some(record), None) if has_unknown_mechanism(record) => {
                    Txt::Error(Error::ParseError)
                }
                _ => parse_first::<Spf>(records),
            }
        }
        TxtKind::Dmarc => {
            // RFC 7489 §6.6.3: several DMARC records mean no policy.
            let dmarc = records
                .iter()
                .filter(|r| starts_with_version(r, "v=DMARC1", b"; \t"))
                .count();
            if dmarc > 1 {
                Txt::Error(Error::Dns(AuthDnsError::InvalidRecordType))
            } else {
                parse_first::<Dmarc>(records)
            }
        }
        TxtKind::DomainKey if name.starts_with("_report._domainkey.") => {
            parse_first::<DomainKeyReport>(records)
        }
        TxtKind::DomainKey if name.contains("._atps.") => parse_first::<Atps>(records),
        TxtKind::DomainKey => parse_first::<DomainKey>(records),
    }
}

impl ResolverCache<Box<str>, Txt> for Views<'_> {
    fn get<Q>(&self, name: &Q) -> Option<Txt>
    where
        Box<str>: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let mut parsed = self.parsed.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(txt) = parsed.get(name) {
            return Some(txt.clone());
        }
        let state = self.answers.lock();
        match state.txt.get_key_value(name) {
            Some((key, answer)) => {
                let txt = txt_value(self.kind, key, answer);
                parsed.insert(key.clone(), txt.clone());
                Some(txt)
            }
            None => {
                drop(state);
                drop(parsed);
                self.miss(name, |missed, key| missed.txt.push(key));
                None
            }
        }
    }

    fn remove<Q>(&self, _: &Q) -> Option<Txt>
    where
        Box<str>: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        None
    }

    fn insert(&self, _: Box<str>, _: Txt, _: Instant) {}
}

impl ResolverCache<Box<str>, RecordSet<MX>> for Views<'_> {
    fn get<Q>(&self, name: &Q) -> Option<RecordSet<MX>>
    where
        Box<str>: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let found = self.answers.lock().mx.get(name).cloned();
        match found {
            Some(Answer::Found(set)) => Some(set),
            Some(Answer::Temporary) => None,
            None => {
                self.miss(name, |missed, key| missed.mx.push(key));
                None
            }
        }
    }

    fn remove<Q>(&self, _: &Q) -> Option<RecordSet<MX>>
    where
        Box<str>: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        None
    }

    fn insert(&self, _: Box<str>, _: RecordSet<MX>, _: Instant) {}
}

impl Views<'_> {
    /// The addresses of one family for `name`: `Some` only when there are some (see the
    /// module documentation for why a negative answer is never a cache hit).
    fn addresses<Q, T>(
        &self,
        name: &Q,
        family: impl FnOnce(&Addresses) -> Arc<[T]>,
    ) -> Option<RecordSet<T>>
    where
        Box<str>: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let found = self.answers.lock().ips.get(name).cloned();
        match found {
            Some(Answer::Found(addresses)) => {
                let rrset = family(&addresses);
                (!rrset.is_empty()).then_some(RecordSet {
                    rrset,
                    dnssec_status: DnssecStatus::Indeterminate,
                })
            }
            Some(Answer::Temporary) => None,
            None => {
                self.miss(name, |missed, key| missed.ips.push(key));
                None
            }
        }
    }
}

impl ResolverCache<Box<str>, RecordSet<Ipv4Addr>> for Views<'_> {
    fn get<Q>(&self, name: &Q) -> Option<RecordSet<Ipv4Addr>>
    where
        Box<str>: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.addresses(name, |addresses| addresses.v4.clone())
    }

    fn remove<Q>(&self, _: &Q) -> Option<RecordSet<Ipv4Addr>>
    where
        Box<str>: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        None
    }

    fn insert(&self, _: Box<str>, _: RecordSet<Ipv4Addr>, _: Instant) {}
}

impl ResolverCache<Box<str>, RecordSet<Ipv6Addr>> for Views<'_> {
    fn get<Q>(&self, name: &Q) -> Option<RecordSet<Ipv6Addr>>
    where
        Box<str>: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.addresses(name, |addresses| addresses.v6.clone())
    }

    fn remove<Q>(&self, _: &Q) -> Option<RecordSet<Ipv6Addr>>
    where
        Box<str>: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        None
    }

    fn insert(&self, _: Box<str>, _: RecordSet<Ipv6Addr>, _: Instant) {}
}

impl ResolverCache<IpAddr, RecordSet<Box<str>>> for Views<'_> {
    fn get<Q>(&self, ip: &Q) -> Option<RecordSet<Box<str>>>
    where
        IpAddr: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let mut missed = self.missed.lock().unwrap_or_else(PoisonError::into_inner);
        if <IpAddr as Borrow<Q>>::borrow(&self.answers.client_ip) != ip {
            // mail-auth only asks for the client's address; anything else stays an error.
            missed.unidentified = true;
            return None;
        }
        let found = self.answers.lock().ptr.clone();
        match found {
            Some(Answer::Found(names)) => Some(RecordSet {
                rrset: names,
                dnssec_status: DnssecStatus::Indeterminate,
            }),
            Some(Answer::Temporary) => None,
            None => {
                missed.ptr = true;
                None
            }
        }
    }

    fn remove<Q>(&self, _: &Q) -> Option<RecordSet<Box<str>>>
    where
        IpAddr: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        None
    }

    fn insert(&self, _: IpAddr, _: RecordSet<Box<str>>, _: Instant) {}
}

/// Runs one mail-auth check in passes until it needs no answer we do not have (see the
/// module documentation). `|auth| expr`: `expr` runs the check with the pass's
/// `MessageAuthenticator` bound to `auth`. Evaluates to `(output, complete)`; not
/// complete means the last pass still missed answers (its DNS errors stand).
macro_rules! settle {
    ($answers:expr, $views:expr, |$auth:ident| $check:expr) => {{
        let mut passes = 0;
        loop {
            let $auth = $answers.authenticator();
            let output = $check;
            passes += 1;
            let missed = $views.take_missed();
            if missed.is_empty() {
                break (output, true);
            }
            if passes >= $crate::verify::dns::MAX_PASSES || !$answers.resolve(missed).await {
                break (output, false);
            }
        }
    }};
}
pub(super) use settle;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_text_recovers_str_keys() {
        assert_eq!(
            key_text::<str>("example.com.").as_deref(),
            Some("example.com.")
        );
        let boxed: Box<str> = "_dmarc.example.com.".into();
        assert_eq!(
            key_text::<Box<str>>(&boxed).as_deref(),
            Some("_dmarc.example.com.")
        );
        assert_eq!(key_text::<str>("").as_deref(), Some(""));
    }

    #[test]
    fn spf_records_are_counted_by_version_tag() {
        assert!(starts_with_version("v=spf1 -all", "v=spf1", b" "));
        assert!(starts_with_version("V=SPF1", "v=spf1", b" "));
        assert!(!starts_with_version("v=spf10 -all", "v=spf1", b" "));
        assert!(starts_with_version("v=DMARC1; p=none", "v=DMARC1", b"; \t"));
        assert!(!starts_with_version("v=DMARC", "v=DMARC1", b"; \t"));
    }

    #[test]
    fn unknown_mechanisms_are_found_and_modifiers_are_not() {
        assert!(!has_unknown_mechanism(
            "v=spf1 +a mx/24 -ip4:192.0.2.0/24 ip6:2001:db8::/32 ?include:x.test \
             ptr exists:%{i}.x.test redirect=y.test exp=z.test unknown=mod ~all"
        ));
        assert!(!has_unknown_mechanism("v=spf1"));
        assert!(has_unknown_mechanism("v=spf1 foo:bar -all"));
        assert!(has_unknown_mechanism("v=spf1 ip5:192.0.2.1 -all"));
        assert!(has_unknown_mechanism("v=spf1 -alll"));
    }

    #[test]
    fn several_spf_records_are_a_syntax_error() {
        let answer = TxtAnswer::Records(Arc::from(vec![
            "v=spf1 -all".to_owned(),
            "v=spf1 +all".to_owned(),
        ]));
        assert!(matches!(
            txt_value(TxtKind::Spf, "example.com.", &answer),
            Txt::Error(Error::ParseError)
        ));
        let one = TxtAnswer::Records(Arc::from(vec![
            "site-verification=x".to_owned(),
            "v=spf1 -all".to_owned(),
        ]));
        assert!(matches!(
            txt_value(TxtKind::Spf, "example.com.", &one),
            Txt::Spf(_)
        ));
    }

    #[test]
    fn negative_and_temporary_txt_answers_are_mail_auth_errors() {
        assert!(matches!(
            txt_value(
                TxtKind::Spf,
                "x.",
                &TxtAnswer::NotFound(ResponseCode::NXDomain)
            ),
            Txt::Error(Error::Dns(AuthDnsError::RecordNotFound(
                ResponseCode::NXDomain
            )))
        ));
        assert!(matches!(
            txt_value(
                TxtKind::Dmarc,
                "x.",
                &TxtAnswer::Temporary("timeout".into())
            ),
            Txt::Error(Error::Dns(AuthDnsError::Resolver(_)))
        ));
    }

    #[tokio::test]
    async fn join_all_keeps_order() {
        let outputs = join_all((0..5).map(|i| async move {
            tokio::task::yield_now().await;
            i * 2
        }))
        .await;
        assert_eq!(outputs, vec![0, 2, 4, 6, 8]);
    }

    #[tokio::test]
    async fn the_resolver_without_nameservers_fails_fast_as_a_resolver_error() {
        let resolver = resolver_without_nameservers().expect("builds");
        let auth = MessageAuthenticator(resolver);
        let none: Option<&mail_auth::common::cache::NoCache<Box<str>, Txt>> = None;
        let started = std::time::Instant::now();
        let err = auth
            .txt_lookup::<Spf>("example.com.", none)
            .await
            .expect_err("no nameserver, no answer");
        assert!(
            matches!(err, Error::Dns(AuthDnsError::Resolver(_))),
            "{err:?}"
        );
        assert!(started.elapsed() < std::time::Duration::from_millis(100));
    }
}
