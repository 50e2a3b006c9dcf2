//! Authentication of incoming mail: SPF (RFC 7208) on MAIL FROM and HELO, every DKIM
//! signature (RFC 6376, RSA and Ed25519), DMARC (RFC 7489), ARC (RFC 8617) and iprev
//! (RFC 8601 §3), summarised in an `Authentication-Results` field (RFC 8601).
//!
//! The protocol logic is mail-auth's (`verify_spf`, `verify_dkim`, `verify_arc`,
//! `verify_dmarc`); every DNS answer comes from the project's [`Resolver`] (so session
//! tests run over a `MockResolver`), by way of the caches mail-auth consults before each
//! lookup: see the `dns` submodule for how, and for what that cannot express. iprev and
//! DMARC's `pct=` are done here.
//!
//! A [`Verifier::verify`] runs SPF (HELO and MAIL FROM), DKIM, ARC and iprev
//! concurrently, then DMARC on the SPF and DKIM results. Each check ends in a result,
//! never an error: a DNS failure is `temperror` ([`AuthOutcome::any_temporary`]), a bad
//! record `permerror`, and an answer that could not be had is never guessed.
//!
//! Submodules: `dns` (the bridge to [`Resolver`]), `spf`, `dkim`, `arc`, `dmarc`,
//! `iprev` (one per method), `header` ([`AuthOutcome::header`]), `strip`
//! ([`strip_own_results`]).

mod arc;
mod dkim;
mod dmarc;
mod dns;
mod header;
mod iprev;
mod spf;
mod strip;

use std::borrow::Cow;
use std::net::IpAddr;
use std::sync::Arc;

use mail_auth::AuthenticatedMessage;
use mail_auth::hickory_resolver::TokioResolver;
use mailstead_dns::Resolver;

pub use dkim::MAX_SIGNATURES as MAX_DKIM_SIGNATURES;

/// What the SMTP session knows about a message when it is checked.
#[derive(Debug, Clone)]
pub struct VerifyInput<'a> {
    /// The whole message as received (header and body), without our trace fields.
    pub message: &'a [u8],
    /// The client's address.
    pub remote_ip: IpAddr,
    /// The HELO/EHLO name the client gave.
    pub helo: &'a str,
    /// The MAIL FROM address, `""` for the null reverse path.
    pub mail_from: &'a str,
    /// Our host name: the SPF receiver (`%{r}`) and the authserv-id.
    pub hostname: &'a str,
}

/// Result of one SPF check (RFC 7208 §2.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SpfResult {
    /// `pass`.
    Pass,
    /// `fail`.
    Fail,
    /// `softfail`.
    SoftFail,
    /// `neutral`.
    Neutral,
    /// `none`: no record (or no domain to check).
    None,
    /// `temperror`: a DNS lookup failed temporarily.
    TempError,
    /// `permerror`: a record could not be interpreted.
    PermError,
}

/// One SPF check: of the MAIL FROM identity or of the HELO identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpfCheck {
    /// The result.
    pub result: SpfResult,
    /// The domain checked (the MAIL FROM's domain, the HELO name, or for a null reverse
    /// path `postmaster@` the HELO name, RFC 7208 §2.4).
    pub domain: String,
}

/// Result of one DKIM signature (RFC 8601 §2.7.1) or of ARC / iprev.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuthResult {
    /// `pass`.
    Pass,
    /// `fail` (signature or body hash mismatch, ARC chain broken, iprev names do not
    /// resolve back to the address).
    Fail,
    /// `neutral` (e.g. a signature that cannot be checked for a reason the RFCs call neutral).
    Neutral,
    /// `none`: nothing to check.
    None,
    /// `temperror`.
    TempError,
    /// `permerror`.
    PermError,
}

/// One DKIM signature's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DkimCheck {
    /// The result.
    pub result: AuthResult,
    /// `d=`.
    pub domain: String,
    /// `s=`.
    pub selector: String,
    /// `a=`, e.g. `rsa-sha256` or `ed25519-sha256`.
    pub algorithm: String,
    /// The first characters of `b=` (RFC 6008 `header.b`), to tell signatures apart.
    pub header_b: String,
    /// Why it is not a pass, in a few words (e.g. "body hash mismatch").
    pub reason: Option<String>,
}

/// A DMARC policy (RFC 7489 §6.3 `p=`/`sp=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DmarcPolicy {
    /// `none`: monitor only.
    None,
    /// `quarantine`: file as spam.
    Quarantine,
    /// `reject`: refuse.
    Reject,
}

/// The DMARC evaluation of the RFC5322.From domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DmarcCheck {
    /// `pass`, `fail`, `none`, `temperror` or `permerror` (RFC 7489 §11.2).
    pub result: AuthResult,
    /// The RFC5322.From domain (`header.from`).
    pub from_domain: String,
    /// The policy the record asks for this domain (`sp=` for a subdomain of the
    /// organizational domain when given, else `p=`); `None` when there is no record.
    pub policy: Option<DmarcPolicy>,
    /// The policy to apply to this message: `None` unless it fails DMARC with a record;
    /// for a failing message, `policy` when `pct=` sampling selects it, else the next
    /// lower policy (RFC 7489 §6.6.4: reject → quarantine, quarantine → none).
    pub applied: Option<DmarcPolicy>,
    /// An SPF pass whose domain aligns with the From domain (RFC 7489 §3.1.2).
    pub spf_aligned: bool,
    /// A DKIM pass whose `d=` aligns with the From domain (RFC 7489 §3.1.1).
    pub dkim_aligned: bool,
}

/// The ARC chain (RFC 8617 §5.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArcCheck {
    /// `pass`, `fail` or `none` (no ARC sets); `temperror`/`permerror` as DKIM.
    pub result: AuthResult,
    /// The number of ARC sets (`i=` of the last one), 0 when none.
    pub sets: u32,
}

/// iprev (RFC 8601 §3): the PTR names of the client's address resolving back to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IprevCheck {
    /// `pass`, `fail` (no name resolves back), `temperror`, `permerror` (no PTR).
    pub result: AuthResult,
    /// The name that resolved back (for `pass`), else the first PTR name if any.
    pub name: Option<String>,
}

/// Everything checked about one incoming message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthOutcome {
    /// SPF of the HELO identity.
    pub spf_helo: SpfCheck,
    /// SPF of the MAIL FROM identity.
    pub spf_mail_from: SpfCheck,
    /// Every DKIM signature, in the order of the message's fields (empty: none).
    pub dkim: Vec<DkimCheck>,
    /// The ARC chain.
    pub arc: ArcCheck,
    /// DMARC; `None` when the message has no single From domain to evaluate.
    pub dmarc: Option<DmarcCheck>,
    /// iprev.
    pub iprev: IprevCheck,
}

impl AuthOutcome {
    /// Whether any check ended in `temperror` (a DNS lookup failed temporarily), so a
    /// verdict built on it must not be permanent.
    pub fn any_temporary(&self) -> bool {
        self.spf_helo.result == SpfResult::TempError
            || self.spf_mail_from.result == SpfResult::TempError
            || self.dkim.iter().any(|d| d.result == AuthResult::TempError)
            || self.arc.result == AuthResult::TempError
            || self
                .dmarc
                .as_ref()
                .is_some_and(|d| d.result == AuthResult::TempError)
            || self.iprev.result == AuthResult::TempError
    }

    /// The `Authentication-Results:` field (RFC 8601 §2.2) with `authserv_id`, folded,
    /// ending in CRLF: methods `spf` (smtp.mailfrom, and smtp.helo), `dkim` (header.d,
    /// header.s, header.a, header.b) once per signature, `arc`, `dmarc` (header.from,
    /// policy.dmarc) and `iprev` (policy.iprev).
    ///
    /// Every result is on its own line, folded under 78 characters where tokens allow;
    /// values from the message, the client or DNS are quoted when they are not plain
    /// tokens. `remote_ip` goes into `policy.iprev` (and `smtp.remote-ip` of `arc`).
    ///
    /// ```
    /// # use mailstead_mailauth::*;
    /// let outcome = AuthOutcome {
    ///     spf_helo: SpfCheck { result: SpfResult::None, domain: "[192.0.2.1]".into() },
    ///     spf_mail_from: SpfCheck { result: SpfResult::Pass, domain: "example.org".into() },
    ///     dkim: vec![],
    ///     arc: ArcCheck { result: AuthResult::None, sets: 0 },
    ///     dmarc: None,
    ///     iprev: IprevCheck { result: AuthResult::PermError, name: None },
    /// };
    /// assert_eq!(
    ///     outcome.header("mx.example.net", "192.0.2.1".parse().unwrap()),
    ///     "Authentication-Results: mx.example.net;\r\n\
    ///      \tspf=pass smtp.mailfrom=example.org;\r\n\
    ///      \tspf=none smtp.helo=\"[192.0.2.1]\";\r\n\
    ///      \tdkim=none;\r\n\
    ///      \tarc=none;\r\n\
    ///      \tdmarc=none reason=\"no single author domain\";\r\n\
    ///      \tiprev=permerror policy.iprev=192.0.2.1\r\n"
    /// );
    /// ```
    pub fn header(&self, authserv_id: &str, remote_ip: IpAddr) -> String {
        header::field(self, authserv_id, remote_ip)
    }
}

/// Checks incoming mail. One per server; cheap to share.
pub struct Verifier {
    resolver: Arc<dyn Resolver>,
    /// The resolver mail-auth is given: no nameserver (see the `dns` submodule); the
    /// error when hickory would not build it.
    base: Result<TokioResolver, String>,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier").finish_non_exhaustive()
    }
}

impl Verifier {
    /// A verifier whose lookups all go through `resolver`.
    ///
    /// Needs no runtime to be built; [`Verifier::verify`] must run inside a tokio runtime.
    pub fn new(resolver: Arc<dyn Resolver>) -> Self {
        let base = dns::resolver_without_nameservers();
        if let Err(err) = &base {
            tracing::error!(
                error = %err,
                "cannot set up mail authentication; every SPF, DKIM, ARC and DMARC result will be temperror"
            );
        }
        Self { resolver, base }
    }

    /// Runs every check. Never fails: DNS trouble becomes `temperror` results, bad
    /// records `permerror`.
    ///
    /// A null reverse path (`mail_from` empty) is checked as `postmaster@<helo>` (RFC 7208
    /// §2.4): `spf_mail_from` is then the HELO check. A HELO that is an address literal
    /// has no SPF identity (`none`). A message that does not parse has no DKIM, ARC or
    /// DMARC results; SPF and iprev do not need it.
    pub async fn verify(&self, input: &VerifyInput<'_>) -> AuthOutcome {
        // A dual-stack socket reports IPv4 clients as ::ffff:a.b.c.d.
        let ip = input.remote_ip.to_canonical();
        let base = match &self.base {
            Ok(base) => base,
            Err(_) => return Self::unavailable(input),
        };
        let answers = dns::Answers::new(&*self.resolver, base, ip);
        let message = AuthenticatedMessage::parse(input.message);
        let dkim_message: Option<Cow<'_, AuthenticatedMessage<'_>>> =
            message.as_ref().map(dkim::limited);
        let dkim_views = dns::Views::new(&answers, dns::TxtKind::DomainKey);

        let null_path = input.mail_from.trim_matches(['<', '>']).is_empty();
        let (spf_helo, spf_mail_from, dkim_outputs, arc, iprev) = tokio::join!(
            spf::check_helo(&answers, ip, input.helo, input.hostname),
            async {
                if null_path {
                    None
                } else {
                    Some(
                        spf::check_mail_from(
                            &answers,
                            ip,
                            input.helo,
                            input.hostname,
                            input.mail_from,
                        )
                        .await,
                    )
                }
            },
            async {
                match &dkim_message {
                    Some(message) => dkim::check(&answers, &dkim_views, message).await,
                    None => Vec::new(),
                }
            },
            async {
                match &message {
                    Some(message) => arc::check(&answers, message).await,
                    None => ArcCheck {
                        result: AuthResult::None,
                        sets: 0,
                    },
                }
            },
            iprev::check(&answers, ip),
        );
        // RFC 7489 §3.1.2: with a null reverse path, SPF's domain is the HELO name.
        let spf_mail_from = spf_mail_from.as_ref().unwrap_or(&spf_helo);

        let (dkim, dmarc) = match (&message, &dkim_message) {
            (Some(message), Some(verified)) => (
                dkim::checks(message, verified, &dkim_outputs),
                dmarc::check(
                    &answers,
                    message,
                    &dkim_outputs,
                    &spf_mail_from.output,
                    &spf_mail_from.check.domain,
                )
                .await,
            ),
            _ => (Vec::new(), None),
        };
        AuthOutcome {
            spf_helo: spf_helo.check.clone(),
            spf_mail_from: spf_mail_from.check.clone(),
            dkim,
            arc,
            dmarc,
            iprev,
        }
    }

    /// The outcome when mail-auth could not be set up: `temperror` for everything.
    fn unavailable(input: &VerifyInput<'_>) -> AuthOutcome {
        let temporary = |domain: &str| SpfCheck {
            result: SpfResult::TempError,
            domain: domain.to_ascii_lowercase(),
        };
        AuthOutcome {
            spf_helo: temporary(input.helo),
            spf_mail_from: temporary(
                input
                    .mail_from
                    .rsplit_once('@')
                    .map_or(input.helo, |(_, domain)| domain.trim_end_matches('>')),
            ),
            dkim: Vec::new(),
            arc: ArcCheck {
                result: AuthResult::TempError,
                sets: 0,
            },
            dmarc: None,
            iprev: IprevCheck {
                result: AuthResult::TempError,
                name: None,
            },
        }
    }
}

/// Removes from the header section of `message` every `Authentication-Results` field
/// whose authserv-id is `authserv_id` (compared case-insensitively, RFC 8601 §5: a
/// receiver must not trust results that claim to be its own but came from outside),
/// with its continuation lines. `ARC-Authentication-Results` fields are sealed by
/// whoever added them and stay. Returns the message unchanged (borrowed) when there is
/// none. The body is never touched; a message without an empty line is all header.
pub fn strip_own_results<'m>(message: &'m [u8], authserv_id: &str) -> Cow<'m, [u8]> {
    strip::strip_own_results(message, authserv_id)
}
