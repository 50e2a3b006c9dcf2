//! iprev (RFC 8601 §3): the client's address has a PTR name whose A/AAAA records contain
//! it again. Done here, through the same per-message answers as the other checks (so
//! SPF's `ptr` mechanism reuses the lookups).

use std::net::IpAddr;

use mail_auth::common::resolver::ToFqdn as _;

use super::dns::{Answer, Answers, MAX_HOSTS_PER_ANSWER, join_all};
use super::{AuthResult, IprevCheck};

/// iprev of the client (the address of [`Answers`]): `pass` when one of the first
/// [`MAX_HOSTS_PER_ANSWER`] PTR names resolves back to `ip`; `permerror` without a PTR
/// name; `temperror` when a lookup failed temporarily and no name matched; else `fail`.
pub(super) async fn check(answers: &Answers<'_>, ip: IpAddr) -> IprevCheck {
    let names = match answers.ptr().await {
        Answer::Temporary => {
            return IprevCheck {
                result: AuthResult::TempError,
                name: None,
            };
        }
        Answer::Found(names) => names,
    };
    let Some(first) = names.first() else {
        return IprevCheck {
            result: AuthResult::PermError,
            name: None,
        };
    };
    let names: Vec<&str> = names
        .iter()
        .take(MAX_HOSTS_PER_ANSWER)
        .map(|n| &**n)
        .collect();
    let forward = join_all(names.iter().map(|name| async move {
        let key = name.to_fqdn();
        answers.ips(&key).await
    }))
    .await;
    let mut temporary = false;
    for (name, addresses) in names.iter().zip(forward) {
        match addresses {
            Answer::Found(addresses) if addresses.contains(ip) => {
                return IprevCheck {
                    result: AuthResult::Pass,
                    name: Some((*name).to_owned()),
                };
            }
            Answer::Found(_) => {}
            Answer::Temporary => temporary = true,
        }
    }
    IprevCheck {
        result: if temporary {
            AuthResult::TempError
        } else {
            AuthResult::Fail
        },
        name: Some(first.to_string()),
    }
}
