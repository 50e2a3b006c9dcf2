//! Modified UTF-7 mailbox names (RFC 3501 §5.1.3), used until the client enables UTF-8.
//!
//! Printable ASCII except `&` stands for itself; `&` is written `&-`; anything else is
//! UTF-16, base64-encoded with `,` in place of `/` and no padding, between `&` and `-`.
//! [`decode`] accepts non-minimal forms (e.g. two adjacent shifted runs or an ASCII
//! character inside one) but refuses unterminated shifts, octets outside printable
//! ASCII, bad base64 and unpaired surrogates.

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

fn b64_value(c: u8) -> Option<u32> {
    ALPHABET
        .iter()
        .position(|&a| a == c)
        .and_then(|v| u32::try_from(v).ok())
}

/// Decodes a modified UTF-7 name; `None` when it is not valid modified UTF-7.
pub fn decode(name: &[u8]) -> Option<String> {
    let mut out = String::with_capacity(name.len());
    let mut i = 0;
    while i < name.len() {
        let c = name[i];
        if !(0x20..=0x7e).contains(&c) {
            return None;
        }
        if c != b'&' {
            out.push(char::from(c));
            i += 1;
            continue;
        }
        // A shifted run: `&` base64 `-`.
        let end = i + 1 + name.get(i + 1..)?.iter().position(|&b| b == b'-')?;
        let run = &name[i + 1..end];
        i = end + 1;
        if run.is_empty() {
            out.push('&');
            continue;
        }
        let mut units = Vec::with_capacity(run.len() * 6 / 16);
        let (mut acc, mut bits) = (0u32, 0u32);
        for &b in run {
            acc = (acc << 6) | b64_value(b)?;
            bits += 6;
            if bits >= 16 {
                bits -= 16;
                units.push(u16::try_from((acc >> bits) & 0xffff).ok()?);
                acc &= (1 << bits) - 1;
            }
        }
        if units.is_empty() {
            return None;
        }
        out.push_str(&String::from_utf16(&units).ok()?);
    }
    Some(out)
}

/// Encodes a UTF-8 name as modified UTF-7.
pub fn encode(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut units: Vec<u16> = Vec::new();
    for ch in name.chars() {
        if (' '..='~').contains(&ch) {
            flush(&mut out, &mut units);
            if ch == '&' {
                out.push_str("&-");
            } else {
                out.push(ch);
            }
        } else {
            let mut buf = [0u16; 2];
            units.extend_from_slice(ch.encode_utf16(&mut buf));
        }
    }
    flush(&mut out, &mut units);
    out
}

/// Writes pending UTF-16 units as one shifted run.
fn flush(out: &mut String, units: &mut Vec<u16>) {
    if units.is_empty() {
        return;
    }
    out.push('&');
    let (mut acc, mut bits) = (0u32, 0u32);
    for u in units.drain(..) {
        acc = (acc << 16) | u32::from(u);
        bits += 16;
        while bits >= 6 {
            bits -= 6;
            out.push(char::from(ALPHABET[((acc >> bits) & 63) as usize]));
        }
        acc &= (1 << bits) - 1;
    }
    if bits > 0 {
        out.push(char::from(ALPHABET[((acc << (6 - bits)) & 63) as usize]));
    }
    out.push('-');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3501_example_round_trips() {
        // RFC 3501 §5.1.3: "~peter/mail/台北/日本語"
        let name = "~peter/mail/\u{53f0}\u{5317}/\u{65e5}\u{672c}\u{8a9e}";
        assert_eq!(encode(name), "~peter/mail/&U,BTFw-/&ZeVnLIqe-");
        assert_eq!(
            decode(b"~peter/mail/&U,BTFw-/&ZeVnLIqe-").as_deref(),
            Some(name)
        );
    }

    #[test]
    fn ampersand_and_invalid_forms() {
        assert_eq!(encode("Tom & Jerry"), "Tom &- Jerry");
        assert_eq!(decode(b"Tom &- Jerry").as_deref(), Some("Tom & Jerry"));
        assert_eq!(decode(b"&U,BTFw"), None);
        assert_eq!(decode(b"&U/BTFw-"), None);
        assert_eq!(decode(b"caf\xc3\xa9"), None);
        assert_eq!(encode("\u{1f600}"), "&2D3eAA-");
        assert_eq!(decode(b"&2D3eAA-").as_deref(), Some("\u{1f600}"));
        assert_eq!(decode(b"&2D0-"), None, "lone high surrogate");
    }
}
