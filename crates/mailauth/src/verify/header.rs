//! The `Authentication-Results` header field (RFC 8601 §2.2) of an [`AuthOutcome`].
//!
//! One result per line: `spf` (MAIL FROM, then HELO), `dkim` once per signature (`none`
//! without any), `arc`, `dmarc`, `iprev`. Lines are folded between tokens to stay under 78
//! characters (RFC 5322 §2.1.1); a single token longer than that (a very long domain)
//! keeps its line. Values that are not plain tokens are written as quoted-strings, so
//! nothing a client or a DNS record controls can end a result or the field early.

use std::net::IpAddr;

use mail_auth::common::to_a_label;

use super::{AuthOutcome, AuthResult, DmarcPolicy, SpfResult};

/// The longest line written, CRLF not counted (RFC 5322 §2.1.1: fewer than 78).
const MAX_LINE: usize = 77;

/// The field, ending in CRLF.
pub(super) fn field(outcome: &AuthOutcome, authserv_id: &str, remote_ip: IpAddr) -> String {
    let mut results: Vec<Vec<String>> = Vec::new();

    for (check, property) in [
        (&outcome.spf_mail_from, "smtp.mailfrom"),
        (&outcome.spf_helo, "smtp.helo"),
    ] {
        let mut tokens = vec![format!("spf={}", spf_result(check.result))];
        if !check.domain.is_empty() {
            tokens.push(format!("{property}={}", pvalue(&to_a_label(&check.domain))));
        }
        results.push(tokens);
    }

    if outcome.dkim.is_empty() {
        results.push(vec!["dkim=none".to_owned()]);
    }
    for dkim in &outcome.dkim {
        let mut tokens = vec![format!("dkim={}", auth_result(dkim.result))];
        if let Some(reason) = &dkim.reason {
            tokens.push(format!("reason={}", quoted(reason)));
        }
        for (property, value) in [
            ("header.d", to_a_label(&dkim.domain).into_owned()),
            ("header.s", dkim.selector.clone()),
            ("header.a", dkim.algorithm.clone()),
            ("header.b", dkim.header_b.clone()),
        ] {
            if !value.is_empty() {
                tokens.push(format!("{property}={}", pvalue(&value)));
            }
        }
        results.push(tokens);
    }

    let mut arc = vec![format!("arc={}", auth_result(outcome.arc.result))];
    if outcome.arc.sets > 0 {
        // RFC 8617 §10.2.
        arc.push(format!("smtp.remote-ip={}", pvalue(&remote_ip.to_string())));
    }
    results.push(arc);

    match &outcome.dmarc {
        Some(dmarc) => {
            let mut tokens = vec![format!("dmarc={}", auth_result(dmarc.result))];
            if dmarc.applied.is_some() && dmarc.applied != dmarc.policy {
                tokens.push(format!("reason={}", quoted("sampled out by pct")));
            }
            tokens.push(format!(
                "header.from={}",
                pvalue(&to_a_label(&dmarc.from_domain))
            ));
            if let Some(policy) = dmarc.policy {
                tokens.push(format!("policy.dmarc={}", policy_name(policy)));
            }
            results.push(tokens);
        }
        // RFC 7489 §11.2: "none: ... no aligned identifier could be extracted".
        None => results.push(vec![
            "dmarc=none".to_owned(),
            format!("reason={}", quoted("no single author domain")),
        ]),
    }

    let mut iprev = vec![
        format!("iprev={}", auth_result(outcome.iprev.result)),
        format!("policy.iprev={}", pvalue(&remote_ip.to_string())),
    ];
    if let Some(name) = &outcome.iprev.name {
        iprev.push(comment(name));
    }
    results.push(iprev);

    fold(authserv_id, &results)
}

/// `Authentication-Results: <authserv-id>;` and one result per line, folded.
fn fold(authserv_id: &str, results: &[Vec<String>]) -> String {
    let mut field = String::with_capacity(512);
    let mut line = format!("Authentication-Results: {authserv_id}");
    for tokens in results {
        line.push(';');
        field.push_str(&line);
        field.push_str("\r\n");
        line = String::from("\t");
        for (i, token) in tokens.iter().enumerate() {
            // Room for the space and a closing ';'.
            if i > 0 && line.len() + 1 + token.len() + 1 > MAX_LINE {
                field.push_str(&line);
                field.push_str("\r\n");
                line = format!("\t{token}");
            } else {
                if i > 0 {
                    line.push(' ');
                }
                line.push_str(token);
            }
        }
    }
    field.push_str(&line);
    field.push_str("\r\n");
    field
}

fn spf_result(result: SpfResult) -> &'static str {
    match result {
        SpfResult::Pass => "pass",
        SpfResult::Fail => "fail",
        SpfResult::SoftFail => "softfail",
        SpfResult::Neutral => "neutral",
        SpfResult::None => "none",
        SpfResult::TempError => "temperror",
        SpfResult::PermError => "permerror",
    }
}

fn auth_result(result: AuthResult) -> &'static str {
    match result {
        AuthResult::Pass => "pass",
        AuthResult::Fail => "fail",
        AuthResult::Neutral => "neutral",
        AuthResult::None => "none",
        AuthResult::TempError => "temperror",
        AuthResult::PermError => "permerror",
    }
}

fn policy_name(policy: DmarcPolicy) -> &'static str {
    match policy {
        DmarcPolicy::None => "none",
        DmarcPolicy::Quarantine => "quarantine",
        DmarcPolicy::Reject => "reject",
    }
}

/// A property value (RFC 8601 §2.2 `pvalue`): bare when it is made of letters, digits
/// and `.-_+` with at most one `@` (a token, or `local-part@domain`), else a quoted-string.
fn pvalue(value: &str) -> String {
    let plain = !value.is_empty()
        && value.matches('@').count() <= 1
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-_+@".contains(&b));
    if plain {
        value.to_owned()
    } else {
        quoted(value)
    }
}

/// A quoted-string (RFC 5322 §3.2.4): `"` and `\` escaped, anything but printable ASCII
/// and space replaced by `?`.
fn quoted(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            ' '..='~' => out.push(c),
            _ => out.push('?'),
        }
    }
    out.push('"');
    out
}

/// A comment (RFC 5322 §3.2.2): parentheses and `\` escaped, anything but printable ASCII
/// replaced by `?`, spaces by `_` (the comment stays one token for folding).
fn comment(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('(');
    for c in value.chars() {
        match c {
            '(' | ')' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '!'..='~' => out.push(c),
            _ => out.push('_'),
        }
    }
    out.push(')');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_that_are_not_tokens_are_quoted() {
        assert_eq!(pvalue("example.com"), "example.com");
        assert_eq!(pvalue("user+tag@example.com"), "user+tag@example.com");
        assert_eq!(pvalue("2001:db8::1"), "\"2001:db8::1\"");
        assert_eq!(pvalue("ab/c+d=="), "\"ab/c+d==\"");
        assert_eq!(pvalue("evil; spf=pass"), "\"evil; spf=pass\"");
        assert_eq!(pvalue("a\"b\\c\r\nd"), "\"a\\\"b\\\\c??d\"");
        assert_eq!(pvalue(""), "\"\"");
        assert_eq!(comment("a(b)\\c d"), "(a\\(b\\)\\\\c_d)");
    }

    #[test]
    fn long_results_fold_between_tokens() {
        let long = "a".repeat(40);
        let results = vec![
            vec![
                "spf=pass".to_owned(),
                format!("smtp.mailfrom={long}.example"),
            ],
            vec![
                "dkim=pass".to_owned(),
                format!("header.d={long}.example"),
                "header.s=selector".to_owned(),
                format!("header.b={}", "b".repeat(80)),
            ],
        ];
        let field = fold("mx.example.net", &results);
        assert!(field.ends_with("\r\n"));
        for line in field.split("\r\n").filter(|line| !line.is_empty()) {
            let unbreakable = line.trim_start().len() > MAX_LINE - 2;
            assert!(line.len() <= MAX_LINE || unbreakable, "{line:?}");
            assert!(!line.contains('\r') && !line.contains('\n'));
        }
        assert_eq!(
            field,
            format!(
                "Authentication-Results: mx.example.net;\r\n\
                 \tspf=pass smtp.mailfrom={long}.example;\r\n\
                 \tdkim=pass header.d={long}.example\r\n\
                 \theader.s=selector\r\n\
                 \theader.b={}\r\n",
                "b".repeat(80)
            )
        );
    }
}
