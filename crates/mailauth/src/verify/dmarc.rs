//! DMARC (RFC 7489) through mail-auth's `verify_dmarc`, plus `pct=` sampling.
//!
//! mail-auth 0.13 implements DMARCbis (RFC 9989) policy discovery: instead of the public
//! suffix list of RFC 7489 §3.2 it finds the organizational domain by a DNS tree walk
//! (§4.10): `_dmarc.<name>` for the author domain and each parent (at most eight
//! queries), the organizational domain being the shortest name with a record (unless a
//! `psd=` tag says otherwise). For ordinary domains this picks the record RFC 7489 picks
//! (the author domain's own, else the one at the registered domain), and it needs no
//! list that goes stale. The walk asks for `_dmarc.<tld>` too. The names are fetched in
//! one go before the first pass.
//!
//! What RFC 7489 has and mail-auth does not, done here: `pct=` (§6.6.4; DMARCbis dropped
//! it, mail-auth ignores it) is read from the record mail-auth applied. `sp=` is
//! mail-auth's: a record found at a parent of the author domain gives `sp=` (`p=` when
//! absent). DMARCbis' `t=y` lowers the policy one step, as mail-auth does; its `np=` never
//! applies (see the `dns` module).

use std::hash::BuildHasher as _;

use mail_auth::common::parse::TxtRecordParser as _;
use mail_auth::common::resolver::ToFqdn as _;
use mail_auth::common::to_a_label;
use mail_auth::dmarc::verify::DmarcParameters;
use mail_auth::dmarc::{Dmarc, Policy};
use mail_auth::{AuthenticatedMessage, DkimOutput, DkimResult, DmarcResult, SpfOutput, SpfResult};

use super::dns::{Answers, TxtKind, Views, join_all, settle};
use super::{AuthResult, DmarcCheck, DmarcPolicy};

/// The most signing domains whose organizational domain is fetched before the first pass.
const MAX_PREFETCHED_DOMAINS: usize = 10;

/// The RFC5322.From domain DMARC evaluates (as mail-auth finds it): the domain of the
/// From addresses when they all share one, else none (RFC 7489 §6.6.1).
fn author_domain(message: &AuthenticatedMessage<'_>) -> Option<String> {
    let mut domain: Option<String> = None;
    for from in &message.from {
        let Some((_, from_domain)) = from.rsplit_once('@') else {
            continue;
        };
        let from_domain = to_a_label(from_domain).into_owned();
        match &domain {
            None => domain = Some(from_domain),
            Some(known) if *known == from_domain => {}
            Some(_) => return None,
        }
    }
    domain
}

/// The names mail-auth's tree walk asks for, longest first: `domain`, then (a name of 8
/// labels or more jumps to its last 7) each parent down to the top-level domain.
fn tree_walk(domain: &str) -> Vec<String> {
    let labels: Vec<&str> = domain
        .split('.')
        .filter(|label| !label.is_empty())
        .collect();
    let total = labels.len();
    let mut names = Vec::new();
    if total < 2 {
        return names;
    }
    let mut count = total;
    loop {
        names.push(labels[total - count..].join("."));
        if count == 1 {
            break;
        }
        count = if count >= 8 { 7 } else { count - 1 };
    }
    names
}

/// The `_dmarc` TXT name of `domain`, as mail-auth asks for it.
fn record_key(domain: &str) -> String {
    format!("_dmarc.{domain}.").to_fqdn().into_owned()
}

/// Evaluates DMARC; `None` when the message has no single From domain.
pub(super) async fn check(
    answers: &Answers<'_>,
    message: &AuthenticatedMessage<'_>,
    dkim: &[DkimOutput<'_>],
    spf: &SpfOutput,
    mail_from_domain: &str,
) -> Option<DmarcCheck> {
    let from_domain = author_domain(message)?;

    // Prefetch: the walk for the From domain, and for the domains whose alignment may
    // need their own organizational domain (a passing or temporarily failing SPF or DKIM).
    let mut domains = vec![from_domain.clone()];
    if matches!(spf.result(), SpfResult::Pass | SpfResult::TempError) {
        domains.push(to_a_label(mail_from_domain).into_owned());
    }
    domains.extend(
        dkim.iter()
            .filter(|output| matches!(output.result(), DkimResult::Pass | DkimResult::TempError(_)))
            .filter_map(|output| output.signature())
            .map(|signature| to_a_label(&signature.d).into_owned())
            .take(MAX_PREFETCHED_DOMAINS),
    );
    let mut keys: Vec<String> = domains
        .iter()
        .flat_map(|domain| tree_walk(domain))
        .map(|name| record_key(&name))
        .collect();
    keys.sort();
    keys.dedup();
    join_all(keys.iter().map(|key| answers.txt(key))).await;

    let views = Views::new(answers, TxtKind::Dmarc);
    // Misses are `_dmarc` lookups (mail-auth: temperror) or the A lookup of the author
    // domain for `np=` (mail-auth: unknown, so `sp=`): complete or not, the output stands.
    let (output, _complete) = settle!(answers, views, |auth| {
        auth.verify_dmarc(views.parameters(DmarcParameters::new(
            message,
            dkim,
            mail_from_domain,
            spf,
        )))
        .await
    });
    if output.domain().is_empty() {
        return None;
    }
    let result = match output.result() {
        DmarcResult::Pass => AuthResult::Pass,
        DmarcResult::Fail(_) => AuthResult::Fail,
        DmarcResult::TempError(_) => AuthResult::TempError,
        DmarcResult::PermError(_) => AuthResult::PermError,
        DmarcResult::None => AuthResult::None,
    };
    let policy = output.dmarc_record().map(|_| match output.policy() {
        Policy::Reject => DmarcPolicy::Reject,
        Policy::Quarantine => DmarcPolicy::Quarantine,
        Policy::None | Policy::Unspecified => DmarcPolicy::None,
    });
    let applied = match (result, policy) {
        (AuthResult::Fail, Some(policy)) => {
            let pct = output
                .dmarc_record()
                .map_or(100, |record| applied_pct(answers, &from_domain, record));
            Some(if sampled(pct) { policy } else { lower(policy) })
        }
        _ => None,
    };
    Some(DmarcCheck {
        result,
        from_domain: output.domain().to_owned(),
        policy,
        applied,
        spf_aligned: *output.spf_result() == DmarcResult::Pass,
        dkim_aligned: *output.dkim_result() == DmarcResult::Pass,
    })
}

/// The `pct=` of the record mail-auth applied: the first record, the author domain's
/// own first and then from the top of the tree down, that parses to the same `Dmarc`.
fn applied_pct(answers: &Answers<'_>, from_domain: &str, applied: &Dmarc) -> u8 {
    let mut names = tree_walk(from_domain);
    if let Some(parents) = names.get_mut(1..) {
        parents.reverse();
    }
    for name in names {
        let Some(records) = answers.txt_records(&record_key(&name)) else {
            continue;
        };
        let Some(raw) = records
            .iter()
            .find(|record| Dmarc::parse(record.as_bytes()).is_ok())
        else {
            continue;
        };
        if Dmarc::parse(raw.as_bytes()).is_ok_and(|parsed| parsed == *applied) {
            return pct_of(raw);
        }
    }
    100
}

/// The `pct=` tag of a DMARC record (RFC 7489 §6.3): 0 to 100, 100 when absent or invalid.
fn pct_of(record: &str) -> u8 {
    record
        .split(';')
        .filter_map(|tag| tag.split_once('='))
        .find(|(name, _)| name.trim() == "pct")
        .and_then(|(_, value)| value.trim().parse::<u8>().ok())
        .filter(|pct| *pct <= 100)
        .unwrap_or(100)
}

/// Whether a failing message is among the `pct` percent the policy applies to (RFC 7489
/// §6.6.4: "a random sampling").
fn sampled(pct: u8) -> bool {
    match pct {
        0 => false,
        100.. => true,
        // A fresh `RandomState` has fresh SipHash keys: a new random draw each call
        // (sampling needs no cryptographic randomness).
        _ => std::hash::RandomState::new().hash_one(pct) % 100 < u64::from(pct),
    }
}

/// The next lower policy, applied to a failing message sampled out by `pct=` (RFC 7489
/// §6.6.4: reject → quarantine, quarantine → none).
fn lower(policy: DmarcPolicy) -> DmarcPolicy {
    match policy {
        DmarcPolicy::Reject => DmarcPolicy::Quarantine,
        DmarcPolicy::Quarantine | DmarcPolicy::None => DmarcPolicy::None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tree_walk_matches_mail_auths_query_order() {
        assert_eq!(
            tree_walk("a.b.example.com"),
            ["a.b.example.com", "b.example.com", "example.com", "com"]
        );
        assert_eq!(tree_walk("example.com"), ["example.com", "com"]);
        assert!(tree_walk("localhost").is_empty());
        // Eight labels or more: the author domain, then its last seven, then down.
        assert_eq!(
            tree_walk("1.2.3.4.5.6.7.8.9"),
            [
                "1.2.3.4.5.6.7.8.9",
                "3.4.5.6.7.8.9",
                "4.5.6.7.8.9",
                "5.6.7.8.9",
                "6.7.8.9",
                "7.8.9",
                "8.9",
                "9"
            ]
        );
    }

    #[test]
    fn pct_is_read_with_default_100() {
        assert_eq!(pct_of("v=DMARC1; p=reject; pct=25"), 25);
        assert_eq!(pct_of("v=DMARC1; p=reject; pct = 0 ;"), 0);
        assert_eq!(pct_of("v=DMARC1; p=reject"), 100);
        assert_eq!(pct_of("v=DMARC1; p=reject; pct=101"), 100);
        assert_eq!(pct_of("v=DMARC1; p=reject; pct=x"), 100);
    }

    #[test]
    fn sampling_follows_pct() {
        assert!((0..1000).all(|_| sampled(100)));
        assert!((0..1000).all(|_| !sampled(0)));
        let hits = (0..4000).filter(|_| sampled(50)).count();
        // 4000 draws at 50 %: within ±10 % of 2000 except with a probability below 1e-30.
        assert!((1600..=2400).contains(&hits), "{hits}");
    }

    #[test]
    fn sampled_out_policies_drop_one_level() {
        assert_eq!(lower(DmarcPolicy::Reject), DmarcPolicy::Quarantine);
        assert_eq!(lower(DmarcPolicy::Quarantine), DmarcPolicy::None);
        assert_eq!(lower(DmarcPolicy::None), DmarcPolicy::None);
    }
}
