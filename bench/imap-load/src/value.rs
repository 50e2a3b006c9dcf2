//! IMAP data as values, for checking FETCH responses: atoms, quoted strings, literals
//! (`{n}`, `~{n}`), NIL and parenthesised lists (RFC 9051 §4). Borrowed from the
//! response's bytes, so a 30 KB body is not copied.
//!
//! An atom may carry a section with spaces and parentheses, as FETCH item names do
//! (`BODY[HEADER.FIELDS (SUBJECT)]<0>`): inside `[...]` nothing ends the atom.

/// One value.
#[derive(Debug, PartialEq)]
pub enum Value<'a> {
    Atom(&'a [u8]),
    /// A quoted string (escapes kept: only its length and presence are checked here)
    /// or a literal.
    Str(&'a [u8]),
    Nil,
    List(Vec<Value<'a>>),
}

impl Value<'_> {
    pub fn as_number(&self) -> Option<u64> {
        match self {
            Value::Atom(a) => std::str::from_utf8(a).ok()?.parse().ok(),
            _ => None,
        }
    }
}

/// Parses a sequence of values up to the end of `buf` (CR and LF count as spaces).
pub fn parse(buf: &[u8]) -> Result<Vec<Value<'_>>, String> {
    let mut pos = 0;
    let out = parse_seq(buf, &mut pos, false)?;
    Ok(out)
}

fn parse_seq<'a>(buf: &'a [u8], pos: &mut usize, in_list: bool) -> Result<Vec<Value<'a>>, String> {
    let mut out = Vec::new();
    while *pos < buf.len() {
        match buf[*pos] {
            b' ' | b'\r' | b'\n' => *pos += 1,
            b')' => {
                if in_list {
                    *pos += 1;
                    return Ok(out);
                }
                return Err(format!("unbalanced ')' at {}", *pos));
            }
            b'(' => {
                *pos += 1;
                out.push(Value::List(parse_seq(buf, pos, true)?));
            }
            b'"' => {
                *pos += 1;
                let start = *pos;
                loop {
                    match buf.get(*pos) {
                        None => return Err("unterminated quoted string".into()),
                        Some(b'\\') => *pos += 2,
                        Some(b'"') => break,
                        Some(_) => *pos += 1,
                    }
                }
                out.push(Value::Str(&buf[start..*pos]));
                *pos += 1;
            }
            b'{' | b'~' if buf[*pos] == b'{' || buf.get(*pos + 1) == Some(&b'{') => {
                let open = if buf[*pos] == b'~' { *pos + 1 } else { *pos };
                let close = buf[open..]
                    .iter()
                    .position(|&b| b == b'}')
                    .map(|i| open + i)
                    .ok_or("unterminated literal length")?;
                let digits = &buf[open + 1..close];
                let digits = digits.strip_suffix(b"+").unwrap_or(digits);
                let len: usize = std::str::from_utf8(digits)
                    .ok()
                    .and_then(|d| d.parse().ok())
                    .ok_or("bad literal length")?;
                if buf.get(close + 1..close + 3) != Some(b"\r\n") {
                    return Err("literal length not followed by CRLF".into());
                }
                let start = close + 3;
                let end = start
                    .checked_add(len)
                    .filter(|&e| e <= buf.len())
                    .ok_or("literal runs past the response")?;
                out.push(Value::Str(&buf[start..end]));
                *pos = end;
            }
            _ => {
                let start = *pos;
                let mut depth = 0usize;
                while let Some(&b) = buf.get(*pos) {
                    match b {
                        b'[' => depth += 1,
                        b']' => depth = depth.saturating_sub(1),
                        b' ' | b'(' | b')' | b'\r' | b'\n' if depth == 0 => break,
                        _ => {}
                    }
                    *pos += 1;
                }
                let atom = &buf[start..*pos];
                out.push(if atom.eq_ignore_ascii_case(b"NIL") {
                    Value::Nil
                } else {
                    Value::Atom(atom)
                });
            }
        }
    }
    if in_list {
        return Err("unterminated list".into());
    }
    Ok(out)
}

/// The (name, value) pairs of a FETCH response.
pub type FetchItems<'a> = Vec<(&'a [u8], Value<'a>)>;

/// A FETCH response `* n FETCH (name value ...)`: n and its items.
pub fn fetch_response(raw: &[u8]) -> Result<Option<(u64, FetchItems<'_>)>, String> {
    let Some(rest) = raw.strip_prefix(b"* ") else {
        return Ok(None);
    };
    let mut vals = parse(rest)?;
    let is_fetch = matches!(vals.get(1), Some(Value::Atom(a)) if a.eq_ignore_ascii_case(b"FETCH"));
    if !is_fetch {
        return Ok(None);
    }
    let seq = vals[0]
        .as_number()
        .ok_or("FETCH without a message number")?;
    let Some(Value::List(items)) = vals.pop() else {
        return Err("FETCH without a list of items".into());
    };
    if vals.len() != 2 || items.len() % 2 != 0 {
        return Err("malformed FETCH response".into());
    }
    let mut pairs = Vec::with_capacity(items.len() / 2);
    let mut it = items.into_iter();
    while let (Some(name), Some(value)) = (it.next(), it.next()) {
        let Value::Atom(name) = name else {
            return Err("FETCH item name is not an atom".into());
        };
        pairs.push((name, value));
    }
    Ok(Some((seq, pairs)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fetch_with_literal_and_envelope() {
        let raw = b"* 12 FETCH (UID 40 FLAGS (\\Seen) RFC822.SIZE 5 ENVELOPE (\"d\" {3}\r\na)b NIL NIL NIL NIL NIL NIL NIL \"<id>\") BODY[] {5}\r\nhe)lo)\r\n";
        let (seq, items) = fetch_response(raw).unwrap().unwrap();
        assert_eq!(seq, 12);
        let names: Vec<&[u8]> = items.iter().map(|(n, _)| *n).collect();
        assert_eq!(
            names,
            [
                &b"UID"[..],
                b"FLAGS",
                b"RFC822.SIZE",
                b"ENVELOPE",
                b"BODY[]"
            ]
        );
        assert_eq!(items[4].1, Value::Str(b"he)lo"));
        let Value::List(env) = &items[3].1 else {
            panic!()
        };
        assert_eq!(env.len(), 10);
        assert_eq!(env[1], Value::Str(b"a)b"));
    }

    #[test]
    fn section_atoms_keep_spaces() {
        let raw = b"* 1 FETCH (BODY[HEADER.FIELDS (SUBJECT)] {9}\r\nSubject:x)\r\n";
        let (_, items) = fetch_response(raw).unwrap().unwrap();
        assert_eq!(items[0].0, b"BODY[HEADER.FIELDS (SUBJECT)]");
    }

    #[test]
    fn not_fetch() {
        assert!(fetch_response(b"* 3 EXISTS\r\n").unwrap().is_none());
        assert!(fetch_response(b"* 1 FETCH (UID)\r\n").is_err());
    }
}
