//! ARC chain validation (RFC 8617 §5.2) through mail-auth's `verify_arc`.

use mail_auth::common::resolver::ToFqdn as _;
use mail_auth::common::verify::VerifySignature as _;
use mail_auth::{AuthenticatedMessage, DkimResult};

use super::dns::{Answers, TxtKind, Views, join_all, settle};
use super::{ArcCheck, AuthResult};

/// Validates the ARC chain of `message`, with the key records of the newest
/// ARC-Message-Signature and of every ARC-Seal fetched before the first pass.
pub(super) async fn check(answers: &Answers<'_>, message: &AuthenticatedMessage<'_>) -> ArcCheck {
    let sets = message
        .as_headers
        .iter()
        .map(|seal| seal.header.i)
        .chain(message.ams_headers.iter().map(|ams| ams.header.i))
        .max()
        .unwrap_or(0);
    if sets == 0 && message.aar_headers.is_empty() && !message.has_arc_errors {
        return ArcCheck {
            result: AuthResult::None,
            sets: 0,
        };
    }
    // mail-auth refuses a chain of more than 50 sets before any lookup.
    let mut keys: Vec<String> = message
        .as_headers
        .iter()
        .take(50)
        .map(|seal| seal.header.domain_key().to_fqdn().into_owned())
        .chain(
            message
                .ams_headers
                .last()
                .map(|ams| ams.header.domain_key().to_fqdn().into_owned()),
        )
        .collect();
    keys.sort();
    keys.dedup();
    join_all(keys.iter().map(|key| answers.txt(key))).await;

    let views = Views::new(answers, TxtKind::DomainKey);
    // A miss is a key lookup, which mail-auth reports as a temporary error.
    let (output, _complete) = settle!(answers, views, |auth| auth
        .verify_arc(views.parameters(message))
        .await);
    let result = match output.result() {
        DkimResult::Pass => AuthResult::Pass,
        DkimResult::None => AuthResult::None,
        // RFC 8617 has no neutral: a chain that cannot be validated (malformed sets, a
        // body hash mismatch in the newest ARC-Message-Signature) fails (§5.2).
        DkimResult::Fail(_) | DkimResult::Neutral(_) => AuthResult::Fail,
        DkimResult::PermError(_) => AuthResult::PermError,
        DkimResult::TempError(_) => AuthResult::TempError,
    };
    ArcCheck { result, sets }
}
