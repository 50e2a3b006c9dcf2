//! Literals at the end of a command line (RFC 9051 §4.3, RFC 7888 LITERAL+, RFC 3516 `~{n}`).
//!
//! ```text
//! literal    = "{" number64 ["+"] "}" CRLF *CHAR8      ; RFC 9051 §9, RFC 7888 §8
//! literal8   = "~{" number64 ["+"] "}" CRLF *OCTET    ; RFC 3516 §4.1
//! ```
//!
//! The size is read into a `u64` (saturating at `u64::MAX` for up to 20 digits) so the
//! server can compare it with its limits and refuse an absurd size before reading.

/// A literal announced at the end of a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LiteralSpec {
    /// Octets that follow the line's CRLF.
    pub len: u64,
    /// `{n+}`: the client sends the octets without waiting for `+`.
    pub non_sync: bool,
    /// `~{n}`: literal8, may hold NUL.
    pub binary: bool,
}

/// Most digits accepted in a literal size; more is not a literal but garbage.
const MAX_DIGITS: usize = 20;

/// The literal announced at the end of `line` (which ends with CRLF or LF), if any.
///
/// `{n}`, `{n+}`, `~{n}` and `~{n+}` count only immediately before the line ending. A
/// size of up to 20 digits that does not fit in a `u64` is reported as `u64::MAX`, which
/// every limit refuses; more than 20 digits is `None`.
pub fn literal_at_end(line: &[u8]) -> Option<LiteralSpec> {
    let line = line.strip_suffix(b"\n")?;
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let line = line.strip_suffix(b"}")?;
    let (line, non_sync) = match line.strip_suffix(b"+") {
        Some(rest) => (rest, true),
        None => (line, false),
    };
    let digits = line.iter().rev().take_while(|b| b.is_ascii_digit()).count();
    if digits == 0 || digits > MAX_DIGITS {
        return None;
    }
    let (line, digits) = line.split_at(line.len() - digits);
    let line = line.strip_suffix(b"{")?;
    let binary = line.ends_with(b"~");
    let len = digits.iter().fold(0u64, |acc, d| {
        acc.saturating_mul(10).saturating_add(u64::from(d - b'0'))
    });
    Some(LiteralSpec {
        len,
        non_sync,
        binary,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(len: u64, non_sync: bool, binary: bool) -> Option<LiteralSpec> {
        Some(LiteralSpec {
            len,
            non_sync,
            binary,
        })
    }

    #[test]
    fn literal_forms_are_recognised_before_the_line_ending() {
        assert_eq!(literal_at_end(b"a APPEND x {5}\r\n"), spec(5, false, false));
        assert_eq!(literal_at_end(b"a APPEND x {5+}\n"), spec(5, true, false));
        assert_eq!(literal_at_end(b"a APPEND x ~{0}\r\n"), spec(0, false, true));
        assert_eq!(literal_at_end(b"a APPEND x ~{7+}\r\n"), spec(7, true, true));
        assert_eq!(
            literal_at_end(b"{18446744073709551615}\r\n"),
            spec(u64::MAX, false, false)
        );
        assert_eq!(
            literal_at_end(b"{99999999999999999999}\r\n"),
            spec(u64::MAX, false, false)
        );
    }

    #[test]
    fn lines_without_a_literal_are_none() {
        for line in [
            &b"a NOOP\r\n"[..],
            b"a LOGIN {5}",
            b"{}\r\n",
            b"{+}\r\n",
            b"5}\r\n",
            b"{5} \r\n",
            b"{-5}\r\n",
            b"{999999999999999999999}\r\n",
            b"",
            b"\n",
        ] {
            assert_eq!(
                literal_at_end(line),
                None,
                "{:?}",
                String::from_utf8_lossy(line)
            );
        }
    }
}
