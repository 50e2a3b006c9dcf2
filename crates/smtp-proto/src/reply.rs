//! SMTP replies: the server encodes them, the (later) client parses them.
//!
//! RFC 5321 §4.2:
//!
//! ```text
//! Reply-line     = *( Reply-code "-" [ textstring ] CRLF )
//!                  Reply-code [ SP textstring ] CRLF
//! Reply-code     = %x32-35 %x30-35 %x30-39
//! textstring     = 1*(%d09 / %d32-126) ; HT, SP, Printable US-ASCII
//! ```
//!
//! Enhanced status codes (RFC 2034 §4, RFC 3463 §2) prefix the text of every line of a
//! reply: `250-2.1.0 first` / `250 2.1.0 last`.

use std::fmt;

use crate::codes::ReplyCode;

/// An enhanced mail system status code, RFC 3463 §2: `class "." subject "." detail`.
///
/// The class (2, 4 or 5) must agree with the first digit of the reply code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EnhancedCode(pub u8, pub u16, pub u16);

impl fmt::Display for EnhancedCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.0, self.1, self.2)
    }
}

/// One SMTP reply, possibly multi-line.
///
/// `lines` hold the text only: neither the code nor the enhanced code. Text is kept free
/// of CR and LF by the constructors and by [`Reply::encode`], so a reply can never inject
/// another reply line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The three-digit reply code (RFC 5321 §4.2.2).
    pub code: u16,
    /// The enhanced status code repeated on every line (RFC 2034), if any.
    pub enhanced: Option<EnhancedCode>,
    /// The text of each line; an empty vector encodes as one line without text.
    pub lines: Vec<String>,
}

impl Reply {
    /// A reply whose `text` is split into lines at CR, LF or CRLF.
    pub fn new(code: u16, enhanced: Option<EnhancedCode>, text: impl AsRef<str>) -> Self {
        Self {
            code,
            enhanced,
            lines: split_lines(text.as_ref()),
        }
    }

    /// A multi-line reply; any line containing CR or LF is split further.
    pub fn multiline<I, S>(code: u16, enhanced: Option<EnhancedCode>, lines: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        Self {
            code,
            enhanced,
            lines: lines
                .into_iter()
                .flat_map(|l| split_lines(l.as_ref()))
                .collect(),
        }
    }

    /// A reply from one of the [`crate::codes`] constants.
    pub fn from_code(code: ReplyCode, text: impl AsRef<str>) -> Self {
        Self::new(code.code, code.enhanced, text)
    }

    /// The wire form: every line ends in CRLF; all but the last use `code-`.
    ///
    /// Control characters other than HT in the text are replaced by `?` (RFC 5321
    /// `textstring`); UTF-8 text is sent as is (RFC 6531 §3.7.4 allows it after SMTPUTF8,
    /// and it never contains CR or LF bytes).
    pub fn encode(&self) -> Vec<u8> {
        let lines: Vec<&str> = if self.lines.is_empty() {
            vec![""]
        } else {
            self.lines.iter().map(String::as_str).collect()
        };
        let mut pieces: Vec<String> = Vec::with_capacity(lines.len());
        for line in lines {
            pieces.extend(split_lines(line));
        }
        let mut out = Vec::new();
        let n = pieces.len();
        for (i, text) in pieces.iter().enumerate() {
            let sep = if i + 1 == n { ' ' } else { '-' };
            let mut line = format!("{:03}", self.code.min(999));
            match (&self.enhanced, text.is_empty()) {
                (Some(e), true) => line.push_str(&format!("{sep}{e}")),
                (Some(e), false) => line.push_str(&format!("{sep}{e} {text}")),
                (None, true) if sep == '-' => line.push('-'),
                (None, true) => {}
                (None, false) => line.push_str(&format!("{sep}{text}")),
            }
            out.extend(
                line.chars()
                    .map(|c| if c.is_control() && c != '\t' { '?' } else { c })
                    .collect::<String>()
                    .as_bytes(),
            );
            out.extend_from_slice(b"\r\n");
        }
        out
    }

    /// 2yz: positive completion (RFC 5321 §4.2.1); 3yz intermediate is not included.
    pub fn is_positive(&self) -> bool {
        (200..300).contains(&self.code)
    }

    /// 3yz: positive intermediate (e.g. 354 after DATA, 334 during AUTH).
    pub fn is_intermediate(&self) -> bool {
        (300..400).contains(&self.code)
    }

    /// 4yz: transient negative completion.
    pub fn is_transient(&self) -> bool {
        (400..500).contains(&self.code)
    }

    /// 5yz: permanent negative completion.
    pub fn is_permanent(&self) -> bool {
        (500..600).contains(&self.code)
    }

    /// All lines joined with a space: handy for logs and DSNs.
    pub fn text(&self) -> String {
        self.lines.join(" ")
    }
}

impl fmt::Display for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.code)?;
        if let Some(e) = self.enhanced {
            write!(f, " {e}")?;
        }
        if !self.lines.is_empty() {
            write!(f, " {}", self.text())?;
        }
        Ok(())
    }
}

fn split_lines(text: &str) -> Vec<String> {
    if !text.contains(['\r', '\n']) {
        return vec![text.to_owned()];
    }
    let normalised = text.replace("\r\n", "\n").replace('\r', "\n");
    normalised.split('\n').map(str::to_owned).collect()
}

/// Why [`parse_reply`] could not return a reply.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplyParseError {
    /// The input holds no complete reply yet: read more bytes and try again.
    #[error("incomplete reply")]
    Incomplete,
    /// The input is not an SMTP reply.
    #[error("invalid reply: {0}")]
    Invalid(String),
}

/// Parses one complete, possibly multi-line reply from the start of `input` and returns it
/// with the number of bytes it took.
///
/// Lines end in CRLF; a bare LF is accepted too (liberal client side). The enhanced code
/// is taken from the first line when the reply class is 2, 4 or 5 and the code's class
/// matches (RFC 2034 §4), and stripped from every line that repeats it.
///
/// The caller bounds how many bytes it buffers while this returns
/// [`ReplyParseError::Incomplete`].
pub fn parse_reply(input: &[u8]) -> Result<(Reply, usize), ReplyParseError> {
    let mut pos = 0;
    let mut code: Option<u16> = None;
    let mut raw_lines: Vec<String> = Vec::new();
    loop {
        let rest = &input[pos..];
        // A line that has started wrongly is invalid even before its end arrives.
        check_line_prefix(rest, code)?;
        let Some(lf) = rest.iter().position(|&b| b == b'\n') else {
            return Err(ReplyParseError::Incomplete);
        };
        let mut line = &rest[..lf];
        if let Some(stripped) = line.strip_suffix(b"\r") {
            line = stripped;
        }
        pos += lf + 1;
        if line.len() < 3 {
            return Err(ReplyParseError::Invalid("line shorter than a code".into()));
        }
        let this_code = parse_code(&line[..3])?;
        if let Some(c) = code
            && c != this_code
        {
            return Err(ReplyParseError::Invalid(format!(
                "code {this_code} inside a {c} reply"
            )));
        }
        code = Some(this_code);
        let (last, text) = match line.get(3) {
            None => (true, &b""[..]),
            Some(b' ') => (true, &line[4..]),
            Some(b'-') => (false, &line[4..]),
            Some(_) => {
                return Err(ReplyParseError::Invalid(
                    "code not followed by SP or '-'".into(),
                ));
            }
        };
        raw_lines.push(String::from_utf8_lossy(text).into_owned());
        if last {
            break;
        }
    }
    let code = code.unwrap_or_default();
    let enhanced = raw_lines
        .first()
        .and_then(|l| split_enhanced(l))
        .map(|(e, _)| e)
        .filter(|e| u16::from(e.0) == code / 100);
    let lines = raw_lines
        .into_iter()
        .map(|l| match (enhanced, split_enhanced(&l)) {
            (Some(e), Some((le, text))) if e == le => text.to_owned(),
            _ => l,
        })
        .collect();
    Ok((
        Reply {
            code,
            enhanced,
            lines,
        },
        pos,
    ))
}

fn check_line_prefix(rest: &[u8], code: Option<u16>) -> Result<(), ReplyParseError> {
    for (i, &b) in rest.iter().take(3).enumerate() {
        if b == b'\n' || b == b'\r' {
            return Ok(()); // reported as a short line once complete
        }
        let ok = match i {
            0 => (b'2'..=b'5').contains(&b),
            _ => b.is_ascii_digit(),
        };
        if !ok {
            return Err(ReplyParseError::Invalid(
                "reply code is not 3 digits".into(),
            ));
        }
    }
    if rest.len() >= 3
        && let Some(c) = code
        && parse_code(&rest[..3]).ok() != Some(c)
    {
        return Err(ReplyParseError::Invalid(
            "code changes inside a reply".into(),
        ));
    }
    Ok(())
}

/// `Reply-code = %x32-35 %x30-35 %x30-39` (second digit relaxed to 0-9).
fn parse_code(digits: &[u8]) -> Result<u16, ReplyParseError> {
    match digits {
        [a @ b'2'..=b'5', b @ b'0'..=b'9', c @ b'0'..=b'9'] => {
            Ok(u16::from(a - b'0') * 100 + u16::from(b - b'0') * 10 + u16::from(c - b'0'))
        }
        _ => Err(ReplyParseError::Invalid(
            "reply code is not 3 digits".into(),
        )),
    }
}

/// RFC 3463 §2: `status-code = class "." subject "." detail`, `class = "2"/"4"/"5"`,
/// `subject = 1*3digit`, `detail = 1*3digit`; followed by SP or the end of the line.
fn split_enhanced(text: &str) -> Option<(EnhancedCode, &str)> {
    let (code, rest) = match text.split_once(' ') {
        Some((c, r)) => (c, r),
        None => (text, ""),
    };
    let mut parts = code.split('.');
    let class = parts.next()?;
    let subject = parts.next()?;
    let detail = parts.next()?;
    if parts.next().is_some() {
        return None;
    }
    let digits = |s: &str, max: usize| {
        !s.is_empty() && s.len() <= max && s.bytes().all(|b| b.is_ascii_digit())
    };
    if !matches!(class, "2" | "4" | "5") || !digits(subject, 3) || !digits(detail, 3) {
        return None;
    }
    Some((
        EnhancedCode(
            class.parse().ok()?,
            subject.parse().ok()?,
            detail.parse().ok()?,
        ),
        rest,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn enhanced_code_displays_dotted() {
        assert_eq!(EnhancedCode(5, 1, 1).to_string(), "5.1.1");
    }

    #[test]
    fn single_line_with_enhanced_code() {
        let r = Reply::new(250, Some(EnhancedCode(2, 1, 0)), "Sender ok");
        assert_eq!(r.encode(), b"250 2.1.0 Sender ok\r\n");
    }

    // RFC 2034 §6 example (S: 250-dbc.mtview.ca.us says hello ... is the EHLO reply; the
    // status examples are `250 2.1.0 Originator <ned@ymir.claremont.edu> ok`).
    #[test]
    fn rfc2034_examples_parse() {
        let (r, n) = parse_reply(b"250 2.1.0 Originator <ned@ymir.claremont.edu> ok\r\n").unwrap();
        assert_eq!(n, 50);
        assert_eq!(r.code, 250);
        assert_eq!(r.enhanced, Some(EnhancedCode(2, 1, 0)));
        assert_eq!(r.lines, vec!["Originator <ned@ymir.claremont.edu> ok"]);
        let (r, _) = parse_reply(b"550 5.1.1 Mailbox \"nosuchuser\" does not exist\r\n").unwrap();
        assert_eq!(r.enhanced, Some(EnhancedCode(5, 1, 1)));
        assert!(r.is_permanent());
        let (r, _) = parse_reply(b"354 Send message, ending in CRLF.CRLF.\r\n").unwrap();
        assert_eq!(r.enhanced, None);
        assert!(r.is_intermediate());
    }

    #[test]
    fn multiline_repeats_enhanced_code_on_each_line() {
        let r = Reply::multiline(550, Some(EnhancedCode(5, 7, 1)), ["one", "two"]);
        assert_eq!(r.encode(), b"550-5.7.1 one\r\n550 5.7.1 two\r\n");
        assert_eq!(parse_reply(&r.encode()).unwrap(), (r.clone(), 30));
    }

    #[test]
    fn text_with_crlf_is_split_not_injected() {
        let r = Reply::new(250, None, "ok\r\n250 injected\nx\ry");
        assert_eq!(r.lines, vec!["ok", "250 injected", "x", "y"]);
        assert_eq!(
            r.encode(),
            b"250-ok\r\n250-250 injected\r\n250-x\r\n250 y\r\n"
        );
        // Even a hand-built line with CRLF is split on encode.
        let r = Reply {
            code: 451,
            enhanced: None,
            lines: vec!["a\r\n221 bye".into()],
        };
        assert_eq!(r.encode(), b"451-a\r\n451 221 bye\r\n");
    }

    #[test]
    fn empty_text_encodes_code_alone() {
        assert_eq!(Reply::new(250, None, "").encode(), b"250\r\n");
        assert_eq!(
            Reply::new(250, Some(EnhancedCode(2, 0, 0)), "").encode(),
            b"250 2.0.0\r\n"
        );
    }

    #[test]
    fn classes() {
        assert!(Reply::new(250, None, "").is_positive());
        assert!(Reply::new(421, None, "").is_transient());
        assert!(Reply::new(554, None, "").is_permanent());
        assert!(!Reply::new(354, None, "").is_positive());
    }

    #[test]
    fn parse_reply_incomplete_and_pipelined_rest() {
        assert_eq!(parse_reply(b""), Err(ReplyParseError::Incomplete));
        assert_eq!(
            parse_reply(b"250-a\r\n250"),
            Err(ReplyParseError::Incomplete)
        );
        assert_eq!(parse_reply(b"25"), Err(ReplyParseError::Incomplete));
        let (r, n) = parse_reply(b"250 ok\r\n354 go\r\n").unwrap();
        assert_eq!((r.code, n), (250, 8));
        let (r, n) = parse_reply(b"220\n").unwrap();
        assert_eq!((r.code, r.lines, n), (220, vec![String::new()], 4));
    }

    #[test]
    fn parse_reply_invalid() {
        assert!(matches!(
            parse_reply(b"hello\r\n"),
            Err(ReplyParseError::Invalid(_))
        ));
        assert!(matches!(
            parse_reply(b"hel"),
            Err(ReplyParseError::Invalid(_))
        ));
        assert!(matches!(
            parse_reply(b"250-a\r\n251 b\r\n"),
            Err(ReplyParseError::Invalid(_))
        ));
        assert!(matches!(
            parse_reply(b"250-a\r\n251"),
            Err(ReplyParseError::Invalid(_))
        ));
        assert!(matches!(
            parse_reply(b"250xa\r\n"),
            Err(ReplyParseError::Invalid(_))
        ));
        assert!(matches!(
            parse_reply(b"25\r\n"),
            Err(ReplyParseError::Invalid(_))
        ));
        assert!(matches!(
            parse_reply(b"650 x\r\n"),
            Err(ReplyParseError::Invalid(_))
        ));
    }

    #[test]
    fn enhanced_code_of_other_class_is_text() {
        let (r, _) = parse_reply(b"250 5.1.1 odd\r\n").unwrap();
        assert_eq!(r.enhanced, None);
        assert_eq!(r.lines, vec!["5.1.1 odd"]);
    }

    fn text_line() -> impl Strategy<Value = String> {
        // Lines that do not begin with a digit, so they cannot look like an enhanced code.
        "([a-zA-Z<>@ .é][ -~é]{0,30})?"
    }

    proptest! {
        #[test]
        fn encode_then_parse_round_trips(
            code in prop_oneof![200u16..300, 400u16..600],
            enhanced in proptest::option::of((0u16..1000, 0u16..1000)),
            lines in proptest::collection::vec(text_line(), 1..5),
            tail in proptest::collection::vec(any::<u8>(), 0..10),
        ) {
            let enhanced = enhanced.map(|(s, d)| EnhancedCode((code / 100) as u8, s, d));
            let r = Reply::multiline(code, enhanced, &lines);
            let mut wire = r.encode();
            let len = wire.len();
            wire.extend_from_slice(&tail);
            let (parsed, n) = parse_reply(&wire).unwrap();
            prop_assert_eq!(n, len);
            prop_assert_eq!(parsed, r);
        }

        #[test]
        fn parse_reply_never_panics(input in proptest::collection::vec(any::<u8>(), 0..64)) {
            if let Ok((_, n)) = parse_reply(&input) {
                prop_assert!(n <= input.len());
            }
        }

        #[test]
        fn prefixes_are_incomplete(lines in proptest::collection::vec(text_line(), 1..4), cut in 0usize..200) {
            let wire = Reply::multiline(250, None, &lines).encode();
            let cut = cut % wire.len();
            prop_assert_eq!(parse_reply(&wire[..cut]), Err(ReplyParseError::Incomplete));
        }
    }
}
