//! Removing `Authentication-Results` fields that claim to be ours (RFC 8601 §5).

use std::borrow::Cow;
use std::ops::Range;

/// See [`super::strip_own_results`].
pub(super) fn strip_own_results<'m>(message: &'m [u8], authserv_id: &str) -> Cow<'m, [u8]> {
    let ours = authserv_id.trim().as_bytes();
    let own: Vec<Range<usize>> = header_fields(message)
        .into_iter()
        .filter(|field| is_own_result(&message[field.clone()], ours))
        .collect();
    if own.is_empty() {
        return Cow::Borrowed(message);
    }
    let mut kept = Vec::with_capacity(message.len());
    let mut start = 0;
    for field in own {
        kept.extend_from_slice(&message[start..field.start]);
        start = field.end;
    }
    kept.extend_from_slice(&message[start..]);
    Cow::Owned(kept)
}

/// The byte ranges of the header fields of `message` (RFC 5322 §2.2), each with its
/// continuation lines and line ends: lines up to the first empty one (or the end of the
/// message, when there is no body), a line starting with a space or tab continuing the
/// field before it. Lines end in CRLF or a bare LF.
fn header_fields(message: &[u8]) -> Vec<Range<usize>> {
    let mut fields: Vec<Range<usize>> = Vec::new();
    let mut pos = 0;
    while pos < message.len() {
        let end = message[pos..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(message.len(), |i| pos + i + 1);
        let line = &message[pos..end];
        if line == b"\r\n" || line == b"\n" {
            break;
        }
        match fields.last_mut() {
            Some(field) if matches!(line.first(), Some(b' ' | b'\t')) => field.end = end,
            _ => fields.push(pos..end),
        }
        pos = end;
    }
    fields
}

/// Whether `field` is an `Authentication-Results` field whose authserv-id is `ours`
/// (ASCII case-insensitive).
fn is_own_result(field: &[u8], ours: &[u8]) -> bool {
    let Some(colon) = field.iter().position(|&b| b == b':') else {
        return false;
    };
    // RFC 5322 §4.5.x obsolete syntax allows white space before the colon.
    let name = field[..colon].trim_ascii_end();
    if !name.eq_ignore_ascii_case(b"Authentication-Results") {
        return false;
    }
    // Unfolded (RFC 5322 §2.2.3): the line breaks removed, the white space kept.
    let value: Vec<u8> = field[colon + 1..]
        .iter()
        .copied()
        .filter(|&b| b != b'\r' && b != b'\n')
        .collect();
    authserv_id(&value).is_some_and(|id| id.eq_ignore_ascii_case(ours))
}

/// The authserv-id at the start of a field value (RFC 8601 §2.2: `authserv-id = value`,
/// after optional CFWS): a quoted-string's content, or the token up to white space, a
/// comment or `;`.
fn authserv_id(value: &[u8]) -> Option<Vec<u8>> {
    let rest = skip_cfws(value);
    if let Some(quoted) = rest.strip_prefix(b"\"") {
        let mut id = Vec::new();
        let mut bytes = quoted.iter();
        while let Some(&b) = bytes.next() {
            match b {
                b'"' => return Some(id),
                b'\\' => id.push(*bytes.next()?),
                _ => id.push(b),
            }
        }
        return None;
    }
    let len = rest
        .iter()
        .position(|&b| matches!(b, b' ' | b'\t' | b'(' | b';'))
        .unwrap_or(rest.len());
    (len > 0).then(|| rest[..len].to_vec())
}

/// `value` after its leading white space and comments (RFC 5322 §3.2.2 CFWS; comments
/// nest, `\` quotes the next character).
fn skip_cfws(mut value: &[u8]) -> &[u8] {
    loop {
        value = value.trim_ascii_start();
        let Some(mut rest) = value.strip_prefix(b"(") else {
            return value;
        };
        let mut depth = 1usize;
        while depth > 0 {
            match rest.split_first() {
                None => return rest,
                Some((b'\\', tail)) => rest = tail.get(1..).unwrap_or_default(),
                Some((b'(', tail)) => {
                    depth += 1;
                    rest = tail;
                }
                Some((b')', tail)) => {
                    depth -= 1;
                    rest = tail;
                }
                Some((_, tail)) => rest = tail,
            }
        }
        value = rest;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "mx.example.com";

    fn strip(message: &str) -> String {
        String::from_utf8(strip_own_results(message.as_bytes(), ID).into_owned()).unwrap()
    }

    #[test]
    fn own_results_are_removed_others_kept() {
        let cases: &[(&str, &str, &str)] = &[
            (
                "plain field",
                "Authentication-Results: mx.example.com; spf=pass smtp.mailfrom=a.example\r\nFrom: a@a.example\r\n\r\nbody\r\n",
                "From: a@a.example\r\n\r\nbody\r\n",
            ),
            (
                "folded field with its continuation lines",
                "Received: x\r\nAuthentication-Results: mx.example.com;\r\n\tspf=pass smtp.mailfrom=a.example;\r\n dkim=pass header.d=a.example\r\nSubject: hi\r\n\r\nbody\r\n",
                "Received: x\r\nSubject: hi\r\n\r\nbody\r\n",
            ),
            (
                "another authserv-id is kept",
                "Authentication-Results: mx.other.example; spf=pass\r\nAuthentication-Results: mx.example.com.evil; spf=pass\r\n\r\n",
                "Authentication-Results: mx.other.example; spf=pass\r\nAuthentication-Results: mx.example.com.evil; spf=pass\r\n\r\n",
            ),
            (
                "field name and authserv-id in another case",
                "authentication-results: MX.Example.COM; dkim=pass\r\nAUTHENTICATION-RESULTS:mx.example.com;spf=fail\r\nTo: b@example.com\r\n\r\n",
                "To: b@example.com\r\n\r\n",
            ),
            (
                "comments, a version and a quoted authserv-id",
                "Authentication-Results: (forged) mx.example.com 1; spf=pass\r\nAuthentication-Results: \"mx.example.com\"; none\r\nAuthentication-Results:\r\n (nested (comment)) mx.example.com(x); dmarc=pass\r\nX: y\r\n\r\n",
                "X: y\r\n\r\n",
            ),
            (
                "arc results and lookalike field names stay",
                "ARC-Authentication-Results: i=1; mx.example.com; spf=pass\r\nX-Authentication-Results: mx.example.com; spf=pass\r\n\r\n",
                "ARC-Authentication-Results: i=1; mx.example.com; spf=pass\r\nX-Authentication-Results: mx.example.com; spf=pass\r\n\r\n",
            ),
            (
                "the body is never touched",
                "Subject: s\r\n\r\nAuthentication-Results: mx.example.com; spf=pass\r\n",
                "Subject: s\r\n\r\nAuthentication-Results: mx.example.com; spf=pass\r\n",
            ),
            (
                "a message without a body separator",
                "Subject: s\r\nAuthentication-Results: mx.example.com; spf=pass",
                "Subject: s\r\n",
            ),
            (
                "bare LF line ends",
                "Authentication-Results: mx.example.com;\n spf=pass\nSubject: s\n\nbody\n",
                "Subject: s\n\nbody\n",
            ),
            (
                "no authserv-id",
                "Authentication-Results: ; spf=pass\r\nAuthentication-Results:\r\n\r\n",
                "Authentication-Results: ; spf=pass\r\nAuthentication-Results:\r\n\r\n",
            ),
        ];
        for (what, message, expected) in cases {
            assert_eq!(strip(message), *expected, "{what}");
        }
    }

    #[test]
    fn a_message_without_own_results_is_borrowed() {
        let message = b"Authentication-Results: other.example; spf=pass\r\n\r\nbody";
        assert!(matches!(
            strip_own_results(message, ID),
            Cow::Borrowed(m) if m == message
        ));
        assert!(matches!(strip_own_results(b"", ID), Cow::Borrowed(b"")));
        assert!(matches!(
            strip_own_results(b"\xff\xfe garbage \x00", ID),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn unterminated_quotes_and_comments_do_not_match() {
        assert_eq!(authserv_id(b" \"mx.example.com"), None);
        assert_eq!(authserv_id(b" (unterminated mx.example.com; x"), None);
        assert_eq!(authserv_id(b" a\\"), Some(b"a\\".to_vec()));
    }
}
