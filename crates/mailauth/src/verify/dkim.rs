//! DKIM (RFC 6376 §6) of every `DKIM-Signature` field, through mail-auth's `verify_dkim`.
//!
//! mail-auth verifies the signatures it could parse; the fields it could not parse (a
//! syntax error, an unknown algorithm, an `l=` tag, which we refuse) are reported here
//! as `neutral` (RFC 8601 §2.7.1: "the signature or signatures contained syntax errors").
//! At most [`MAX_SIGNATURES`] signatures are verified (RFC 6376 §6.1 lets a verifier
//! limit them, against denial of service: each costs a key lookup and a public-key
//! operation); later ones are reported `neutral`, unverified.

use std::borrow::Cow;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use mail_auth::common::crypto::{Algorithm, CryptoError};
use mail_auth::common::headers::Header;
use mail_auth::common::resolver::ToFqdn as _;
use mail_auth::common::verify::VerifySignature as _;
use mail_auth::dkim::{DkimError, Signature};
use mail_auth::{AuthenticatedMessage, DkimOutput, DkimResult, DnsError as AuthDnsError, Error};

use super::dns::{Answers, Views, join_all, settle};
use super::{AuthResult, DkimCheck};

/// The most signatures of one message that are verified.
pub const MAX_SIGNATURES: usize = 20;

/// How many base64 characters of `b=` go into `header.b` (RFC 6008 §4: at least 8).
const HEADER_B_LEN: usize = 8;

/// `message`, or a copy of it with only its first [`MAX_SIGNATURES`] signatures.
pub(super) fn limited<'m>(
    message: &'m AuthenticatedMessage<'m>,
) -> Cow<'m, AuthenticatedMessage<'m>> {
    if message.dkim_headers.len() <= MAX_SIGNATURES {
        return Cow::Borrowed(message);
    }
    let mut copy = message.clone();
    copy.dkim_headers.truncate(MAX_SIGNATURES);
    Cow::Owned(copy)
}

/// Verifies the signatures of `message` (see [`limited`]) with the key records fetched
/// in one go before the first pass.
pub(super) async fn check<'m>(
    answers: &Answers<'_>,
    views: &'m Views<'m>,
    message: &'m AuthenticatedMessage<'m>,
) -> Vec<DkimOutput<'m>> {
    if message.dkim_headers.is_empty() {
        return Vec::new();
    }
    let keys: Vec<String> = message
        .dkim_headers
        .iter()
        .map(|header| header.header.domain_key().to_fqdn().into_owned())
        .collect();
    join_all(keys.iter().map(|key| answers.txt(key))).await;
    // Every miss of a DKIM pass is a key or ATPS lookup, which mail-auth reports as a
    // temporary error: complete or not, the outputs are right.
    let (outputs, _complete) = settle!(answers, views, |auth| auth
        .verify_dkim(views.parameters(message))
        .await);
    outputs
}

/// One [`DkimCheck`] per `DKIM-Signature` field of `original`, in field order: the
/// outputs of the verified ones (`verified` is [`limited`]`(original)`), then those
/// mail-auth could not parse, then those over the limit.
pub(super) fn checks(
    original: &AuthenticatedMessage<'_>,
    verified: &AuthenticatedMessage<'_>,
    outputs: &[DkimOutput<'_>],
) -> Vec<DkimCheck> {
    let raw = original.raw_message;
    let mut checks: Vec<(usize, DkimCheck)> = Vec::new();
    for output in outputs {
        // Outputs without a signature are mail-auth's for unparsable fields, which the
        // loop over `errors` below reports, all of them.
        let Some(signature) = output.signature() else {
            continue;
        };
        let Some(header) = verified
            .dkim_headers
            .iter()
            .find(|header| std::ptr::eq(&header.header, signature))
        else {
            continue;
        };
        let (result, reason) = result_of(output.result());
        checks.push((offset(raw, header), check_of(signature, result, reason)));
    }
    for header in &original.errors {
        if header.name.eq_ignore_ascii_case(b"DKIM-Signature") {
            checks.push((offset(raw, header), unparsed(header.value, &header.header)));
        }
    }
    for header in original.dkim_headers.iter().skip(MAX_SIGNATURES) {
        checks.push((
            offset(raw, header),
            check_of(
                &header.header,
                AuthResult::Neutral,
                Some(format!(
                    "not verified: more than {MAX_SIGNATURES} signatures"
                )),
            ),
        ));
    }
    checks.sort_by_key(|(offset, _)| *offset);
    checks.into_iter().map(|(_, check)| check).collect()
}

/// Where a field's value starts in the message (the fields' values are slices of it).
fn offset<T>(raw: &[u8], header: &Header<'_, T>) -> usize {
    (header.value.as_ptr() as usize).wrapping_sub(raw.as_ptr() as usize)
}

fn check_of(signature: &Signature, result: AuthResult, reason: Option<String>) -> DkimCheck {
    DkimCheck {
        result,
        domain: signature.d.to_ascii_lowercase(),
        selector: signature.s.clone(),
        algorithm: algorithm_name(signature.a).to_owned(),
        header_b: BASE64
            .encode(&signature.b)
            .chars()
            .take(HEADER_B_LEN)
            .collect(),
        reason,
    }
}

/// A field mail-auth could not parse: `neutral`, with what its tags say.
fn unparsed(value: &[u8], error: &Error) -> DkimCheck {
    let text = String::from_utf8_lossy(value);
    let tag = |name: &str| -> String {
        text.split(';')
            .filter_map(|tag| tag.split_once('='))
            .find(|(tag, _)| tag.trim() == name)
            .map(|(_, value)| value.split_whitespace().collect())
            .unwrap_or_default()
    };
    DkimCheck {
        result: AuthResult::Neutral,
        domain: tag("d").to_ascii_lowercase(),
        selector: tag("s"),
        algorithm: tag("a"),
        header_b: tag("b").chars().take(HEADER_B_LEN).collect(),
        reason: Some(format!("unusable signature: {}", error_text(error))),
    }
}

fn algorithm_name(algorithm: Algorithm) -> &'static str {
    match algorithm {
        Algorithm::RsaSha1 => "rsa-sha1",
        Algorithm::RsaSha256 => "rsa-sha256",
        Algorithm::Ed25519Sha256 => "ed25519-sha256",
    }
}

/// Our result and reason from mail-auth's (RFC 6376 §6.1, RFC 8601 §2.7.1).
fn result_of(result: &DkimResult) -> (AuthResult, Option<String>) {
    match result {
        DkimResult::Pass => (AuthResult::Pass, None),
        DkimResult::None => (AuthResult::None, None),
        // mail-auth calls a body hash mismatch neutral; RFC 6376 §6.1.3 says the
        // signature fails (PERMFAIL, "body hash did not verify").
        DkimResult::Neutral(Error::Dkim(DkimError::FailedBodyHashMatch)) => {
            (AuthResult::Fail, Some("body hash mismatch".to_owned()))
        }
        DkimResult::Neutral(err) => (AuthResult::Neutral, Some(error_text(err))),
        // mail-auth's Ed25519 verification reports a mismatch as a library error.
        DkimResult::Fail(Error::Crypto(CryptoError::Library(_))) => {
            (AuthResult::Fail, Some("signature mismatch".to_owned()))
        }
        DkimResult::Fail(err) => (AuthResult::Fail, Some(error_text(err))),
        DkimResult::PermError(err) => (AuthResult::PermError, Some(error_text(err))),
        DkimResult::TempError(err) => (AuthResult::TempError, Some(error_text(err))),
    }
}

/// A few words for an error of a signature or its key.
pub(super) fn error_text(err: &Error) -> String {
    match err {
        Error::Crypto(CryptoError::FailedVerification) => "signature mismatch".to_owned(),
        Error::Crypto(CryptoError::IncompatibleAlgorithms) => {
            "key type does not match a=".to_owned()
        }
        Error::Dkim(DkimError::FailedBodyHashMatch) => "body hash mismatch".to_owned(),
        Error::Dkim(DkimError::FailedAuidMatch) => "i= is not within d=".to_owned(),
        Error::Dkim(DkimError::RevokedPublicKey) => "key revoked".to_owned(),
        Error::Dkim(DkimError::SignatureExpired) => "signature expired".to_owned(),
        Error::Dkim(DkimError::SignatureLength) => "l= is not accepted".to_owned(),
        Error::Dns(AuthDnsError::RecordNotFound(_)) => "no key record".to_owned(),
        Error::Dns(AuthDnsError::InvalidRecordType) | Error::ParseError => {
            "key record invalid".to_owned()
        }
        Error::Dns(AuthDnsError::Resolver(_)) => "key lookup failed temporarily".to_owned(),
        other => {
            let text = other.to_string();
            let mut chars = text.chars();
            match chars.next() {
                Some(first) => first.to_lowercase().chain(chars).collect(),
                None => text,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unparsed_fields_report_their_tags() {
        let check = unparsed(
            b" v=1; a=rsa-sha512; d=Example.ORG; s=sel;\r\n\tb=abcd efgh\r\n ijkl; bh=x",
            &Error::Dkim(DkimError::UnsupportedAlgorithm),
        );
        assert_eq!(check.result, AuthResult::Neutral);
        assert_eq!(check.domain, "example.org");
        assert_eq!(check.selector, "sel");
        assert_eq!(check.algorithm, "rsa-sha512");
        assert_eq!(check.header_b, "abcdefgh");
        assert_eq!(
            check.reason.as_deref(),
            Some("unusable signature: unsupported algorithm in DKIM Signature")
        );
    }

    #[test]
    fn body_hash_mismatch_is_a_failure() {
        assert_eq!(
            result_of(&DkimResult::Neutral(Error::Dkim(
                DkimError::FailedBodyHashMatch
            ))),
            (AuthResult::Fail, Some("body hash mismatch".to_owned()))
        );
        assert_eq!(
            result_of(&DkimResult::PermError(Error::Dns(
                AuthDnsError::RecordNotFound(
                    mail_auth::hickory_resolver::proto::op::ResponseCode::NXDomain
                )
            ))),
            (AuthResult::PermError, Some("no key record".to_owned()))
        );
    }
}
