//! Client-side framing: where the first complete response in a buffer ends.
//!
//! A response is one line, unless a line ends with a literal (`{n}` or `~{n}`, RFC 9051
//! §4.3, RFC 3516), in which case `n` octets and the next line belong to it too. This is
//! the only framing rule a client needs; parsing the response is up to the caller.

use crate::literal::literal_at_end;

/// The length of the first complete response in `buf` (through its final LF), or `None`
/// when more bytes are needed.
///
/// Text that merely looks like a literal at the end of a line (`* OK see {5}`) is taken
/// as one, as the grammar requires of a client.
pub fn response_complete(buf: &[u8]) -> Option<usize> {
    let mut start = 0;
    loop {
        let nl = start + buf.get(start..)?.iter().position(|&b| b == b'\n')?;
        let line_end = nl + 1;
        match literal_at_end(&buf[start..line_end]) {
            None => return Some(line_end),
            Some(spec) => {
                let len = usize::try_from(spec.len).ok()?;
                start = line_end.checked_add(len)?;
                if start > buf.len() {
                    return None;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_line_is_complete_at_its_lf() {
        assert_eq!(response_complete(b"* OK ready\r\n* 1 EXISTS\r\n"), Some(12));
        assert_eq!(response_complete(b"* OK rea"), None);
        assert_eq!(response_complete(b""), None);
    }

    #[test]
    fn literals_extend_the_response() {
        let r = b"* 1 FETCH (BODY[] {5}\r\nhe\nlo)\r\nnext";
        assert_eq!(response_complete(r), Some(r.len() - 4));
        assert_eq!(response_complete(&r[..20]), None);
        assert_eq!(response_complete(&r[..26]), None);
        let two = b"* 1 FETCH (A {1}\r\nx B ~{2}\r\n\0\0)\r\n";
        assert_eq!(response_complete(two), Some(two.len()));
    }

    #[test]
    fn an_absurd_literal_size_never_completes() {
        assert_eq!(
            response_complete(b"* X {99999999999999999999}\r\nab\r\n"),
            None
        );
    }
}
