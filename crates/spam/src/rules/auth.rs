//! Symbols from the authentication results ([`mailstead_mailauth::AuthOutcome`]), in the
//! manner of Rspamd's SPF, DKIM, DMARC, ARC and hfilter modules.
//!
//! | Symbol | Meaning |
//! |--------|---------|
//! | `SPF_PASS` | SPF of the MAIL FROM identity (the HELO name for a null reverse path) passed |
//! | `SPF_FAIL` | SPF `fail`: the domain says this client may not send its mail |
//! | `SPF_SOFTFAIL` | SPF `softfail` |
//! | `SPF_NONE` | the domain has no SPF record |
//! | `SPF_TEMPERROR` | SPF could not be checked (DNS) |
//! | `SPF_PERMERROR` | the domain's SPF record is broken |
//! | `DKIM_PASS` | a DKIM signature verified, by a domain other than the From domain |
//! | `DKIM_ALIGNED` | a DKIM signature of the From domain (DMARC-aligned, RFC 7489 §3.1.1) verified — instead of `DKIM_PASS` |
//! | `DKIM_FAIL` | signatures, none of which verified |
//! | `DMARC_PASS` | DMARC passed |
//! | `DMARC_POLICY_REJECT` | DMARC failed and the domain asks to reject (the policy applied after `pct=` sampling) |
//! | `DMARC_POLICY_QUARANTINE` | DMARC failed and the domain asks to quarantine |
//! | `DMARC_POLICY_NONE_FAIL` | DMARC failed with `p=none` (monitoring only) |
//! | `ARC_PASS` | the ARC chain verified (a forwarder vouches for results of before it) |
//! | `ARC_FAIL` | the ARC chain is broken |
//! | `IPREV_FAIL` | the client's PTR names do not resolve back to its address |
//! | `IPREV_NONE` | the client's address has no PTR record |
//!
//! Temporary DNS errors of DKIM, DMARC, ARC and iprev fire nothing: the message is no
//! worse for our resolver's trouble.

use mailstead_mailauth::{AuthOutcome, AuthResult, DmarcPolicy, SpfResult};

use super::domain;
use crate::verdict::Hit;

/// The symbols of an authentication outcome.
pub fn auth_hits(outcome: &AuthOutcome) -> Vec<Hit> {
    let mut hits = Vec::new();

    let spf = &outcome.spf_mail_from;
    let spf_symbol = match spf.result {
        SpfResult::Pass => Some("SPF_PASS"),
        SpfResult::Fail => Some("SPF_FAIL"),
        SpfResult::SoftFail => Some("SPF_SOFTFAIL"),
        SpfResult::Neutral => None,
        SpfResult::None => Some("SPF_NONE"),
        SpfResult::TempError => Some("SPF_TEMPERROR"),
        SpfResult::PermError => Some("SPF_PERMERROR"),
    };
    if let Some(symbol) = spf_symbol {
        hits.push(detailed(symbol, &spf.domain));
    }

    let from_domain = outcome
        .dmarc
        .as_ref()
        .map(|d| domain::normalize(&d.from_domain));
    let passes: Vec<_> = outcome
        .dkim
        .iter()
        .filter(|d| d.result == AuthResult::Pass)
        .collect();
    let aligned = passes.iter().find(|d| {
        outcome.dmarc.as_ref().is_some_and(|m| m.dkim_aligned)
            || from_domain
                .as_deref()
                .is_some_and(|from| domain::same_organization(&domain::normalize(&d.domain), from))
    });
    if let Some(pass) = aligned {
        hits.push(detailed("DKIM_ALIGNED", &pass.domain));
    } else if let Some(pass) = passes.first() {
        hits.push(detailed("DKIM_PASS", &pass.domain));
    } else if let Some(failed) = outcome.dkim.iter().find(|d| d.result == AuthResult::Fail) {
        hits.push(detailed("DKIM_FAIL", &failed.domain));
    }

    if let Some(dmarc) = &outcome.dmarc {
        match dmarc.result {
            AuthResult::Pass => hits.push(detailed("DMARC_PASS", &dmarc.from_domain)),
            AuthResult::Fail => {
                // RFC 7489 §6.6.4: a message sampled out by pct= gets the next lower
                // policy.
                let applied = dmarc.applied.or(match dmarc.policy {
                    Some(DmarcPolicy::Reject) => Some(DmarcPolicy::Quarantine),
                    _ => Some(DmarcPolicy::None),
                });
                let symbol = match applied {
                    Some(DmarcPolicy::Reject) => "DMARC_POLICY_REJECT",
                    Some(DmarcPolicy::Quarantine) => "DMARC_POLICY_QUARANTINE",
                    Some(DmarcPolicy::None) | None => "DMARC_POLICY_NONE_FAIL",
                };
                hits.push(detailed(symbol, &dmarc.from_domain));
            }
            _ => {}
        }
    }

    match outcome.arc.result {
        AuthResult::Pass => hits.push(Hit::new("ARC_PASS")),
        AuthResult::Fail => hits.push(Hit::new("ARC_FAIL")),
        _ => {}
    }

    match outcome.iprev.result {
        AuthResult::Fail => hits.push(match &outcome.iprev.name {
            Some(name) => detailed("IPREV_FAIL", name),
            None => Hit::new("IPREV_FAIL"),
        }),
        AuthResult::PermError => hits.push(Hit::new("IPREV_NONE")),
        _ => {}
    }
    hits
}

fn detailed(symbol: &'static str, detail: &str) -> Hit {
    if detail.is_empty() {
        Hit::new(symbol)
    } else {
        Hit::new(symbol).with_detail(detail)
    }
}
