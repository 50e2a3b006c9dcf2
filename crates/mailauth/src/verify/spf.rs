//! SPF (RFC 7208) of the HELO and MAIL FROM identities, through mail-auth's `check_host()`.

use std::net::IpAddr;

use mail_auth::SpfOutput;
use mail_auth::spf::verify::SpfParameters;

use super::dns::{Answers, TxtKind, Views, settle};
use super::{SpfCheck, SpfResult};

/// What SPF checked for one identity: our result, and mail-auth's output for DMARC.
pub(super) struct Checked {
    pub(super) check: SpfCheck,
    pub(super) output: SpfOutput,
}

impl Checked {
    fn without_lookup(domain: String, result: SpfResult) -> Self {
        Self {
            output: SpfOutput::new(domain.clone()).with_result(to_mail_auth(result)),
            check: SpfCheck { result, domain },
        }
    }
}

/// Whether `helo` names a domain SPF can check: not empty, not an address literal (RFC
/// 7208 §2.3: then there is no HELO identity, the result is `none`).
fn is_domain(helo: &str) -> bool {
    !helo.is_empty() && !helo.starts_with('[') && helo.parse::<IpAddr>().is_err()
}

/// SPF of the HELO identity (RFC 7208 §2.3): `check_host()` of the HELO name with
/// `postmaster@<helo>` as sender.
pub(super) async fn check_helo(
    answers: &Answers<'_>,
    ip: IpAddr,
    helo: &str,
    hostname: &str,
) -> Checked {
    let domain = helo.to_ascii_lowercase();
    if !is_domain(&domain) {
        return Checked::without_lookup(domain, SpfResult::None);
    }
    let views = Views::new(answers, TxtKind::Spf);
    let (output, complete) = settle!(answers, views, |auth| {
        auth.verify_spf(views.parameters(SpfParameters::verify_ehlo(ip, &domain, hostname)))
            .await
    });
    finish(domain, output, complete)
}

/// SPF of the MAIL FROM identity (RFC 7208 §2.4), `mail_from` not empty: `check_host()` of
/// the address's domain (the HELO name for an address without one).
pub(super) async fn check_mail_from(
    answers: &Answers<'_>,
    ip: IpAddr,
    helo: &str,
    hostname: &str,
    mail_from: &str,
) -> Checked {
    let sender = mail_from.trim_start_matches('<').trim_end_matches('>');
    let domain = match sender.rsplit_once('@') {
        Some((_, domain)) => domain.to_ascii_lowercase(),
        None => helo.to_ascii_lowercase(),
    };
    if !is_domain(&domain) {
        return Checked::without_lookup(domain, SpfResult::None);
    }
    let helo = helo.to_ascii_lowercase();
    let views = Views::new(answers, TxtKind::Spf);
    let (output, complete) = settle!(answers, views, |auth| {
        auth.verify_spf(
            views.parameters(SpfParameters::verify_mail_from(ip, &helo, hostname, sender)),
        )
        .await
    });
    finish(domain, output, complete)
}

/// Our result from mail-auth's; a check that never got all its answers is a `temperror`
/// (its passes could have skipped a `ptr` mechanism over a missing answer, RFC 7208 §5.5).
fn finish(domain: String, output: SpfOutput, complete: bool) -> Checked {
    if !complete {
        return Checked::without_lookup(domain, SpfResult::TempError);
    }
    let result = from_mail_auth(output.result());
    Checked {
        check: SpfCheck { result, domain },
        output,
    }
}

fn from_mail_auth(result: mail_auth::SpfResult) -> SpfResult {
    match result {
        mail_auth::SpfResult::Pass => SpfResult::Pass,
        mail_auth::SpfResult::Fail => SpfResult::Fail,
        mail_auth::SpfResult::SoftFail => SpfResult::SoftFail,
        mail_auth::SpfResult::Neutral => SpfResult::Neutral,
        mail_auth::SpfResult::TempError => SpfResult::TempError,
        mail_auth::SpfResult::PermError => SpfResult::PermError,
        mail_auth::SpfResult::None => SpfResult::None,
    }
}

fn to_mail_auth(result: SpfResult) -> mail_auth::SpfResult {
    match result {
        SpfResult::Pass => mail_auth::SpfResult::Pass,
        SpfResult::Fail => mail_auth::SpfResult::Fail,
        SpfResult::SoftFail => mail_auth::SpfResult::SoftFail,
        SpfResult::Neutral => mail_auth::SpfResult::Neutral,
        SpfResult::TempError => mail_auth::SpfResult::TempError,
        SpfResult::PermError => mail_auth::SpfResult::PermError,
        SpfResult::None => mail_auth::SpfResult::None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_literals_are_not_helo_domains() {
        assert!(is_domain("mail.example.com"));
        assert!(!is_domain("[192.0.2.1]"));
        assert!(!is_domain("[IPv6:2001:db8::1]"));
        assert!(!is_domain("192.0.2.1"));
        assert!(!is_domain(""));
    }

    #[test]
    fn results_map_both_ways() {
        for result in [
            SpfResult::Pass,
            SpfResult::Fail,
            SpfResult::SoftFail,
            SpfResult::Neutral,
            SpfResult::None,
            SpfResult::TempError,
            SpfResult::PermError,
        ] {
            assert_eq!(from_mail_auth(to_mail_auth(result)), result);
        }
    }
}
