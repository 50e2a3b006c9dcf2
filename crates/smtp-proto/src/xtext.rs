//! xtext, RFC 3461 §4: how DSN parameters carry arbitrary octets in an `esmtp-value`.
//!
//! ```text
//! xtext   = *( xchar / hexchar )
//! xchar   = any ASCII CHAR between "!" (33) and "~" (126) inclusive,
//!           except for "+" and "=".
//! hexchar = ASCII "+" immediately followed by two upper case hexadecimal digits
//! ```
//!
//! The decoder also accepts lower-case hex digits (liberal in what we accept); the
//! encoder always writes upper case.

/// Why a string is not valid xtext.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XtextError {
    /// A `+` not followed by two hexadecimal digits.
    #[error("'+' at offset {0} not followed by two hex digits")]
    BadHexchar(usize),
    /// An octet outside `xchar` (33–126 except `+` and `=`).
    #[error("octet {byte:#04x} at offset {offset} is not an xchar")]
    BadChar {
        /// The offending octet.
        byte: u8,
        /// Its offset in the input.
        offset: usize,
    },
}

/// Decodes xtext into the octets it stands for.
pub fn decode(input: &str) -> Result<Vec<u8>, XtextError> {
    let bytes = input.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'+' => {
                let hex = |j: usize| bytes.get(j).and_then(|&h| (h as char).to_digit(16));
                match (hex(i + 1), hex(i + 2)) {
                    (Some(hi), Some(lo)) => {
                        // Two hex digits are at most 0xFF.
                        out.push(
                            u8::try_from(hi * 16 + lo).map_err(|_| XtextError::BadHexchar(i))?,
                        );
                        i += 3;
                    }
                    _ => return Err(XtextError::BadHexchar(i)),
                }
            }
            33..=126 if b != b'=' => {
                out.push(b);
                i += 1;
            }
            _ => return Err(XtextError::BadChar { byte: b, offset: i }),
        }
    }
    Ok(out)
}

/// Encodes octets as xtext: `xchar`s as themselves, everything else as `+XX`.
pub fn encode(input: &[u8]) -> String {
    let mut out = String::with_capacity(input.len());
    for &b in input {
        if (33..=126).contains(&b) && b != b'+' && b != b'=' {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("+{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rfc3461_examples() {
        // RFC 3461 §4.2: ORCPT=rfc822;Bob+2BSmith@example.com style (a "+" in the address).
        assert_eq!(
            decode("Bob+2BSmith@example.com").unwrap(),
            b"Bob+Smith@example.com"
        );
        assert_eq!(encode(b"Bob+Smith@example.com"), "Bob+2BSmith@example.com");
        // RFC 3461 §9 example ENVID=QQ314159.
        assert_eq!(decode("QQ314159").unwrap(), b"QQ314159");
        assert_eq!(encode(b"a b=c"), "a+20b+3Dc");
        assert_eq!(decode("a+20b+3dc").unwrap(), b"a b=c");
    }

    #[test]
    fn invalid_xtext() {
        assert_eq!(decode("a+2"), Err(XtextError::BadHexchar(1)));
        assert_eq!(decode("+G0"), Err(XtextError::BadHexchar(0)));
        assert_eq!(
            decode("a=b"),
            Err(XtextError::BadChar {
                byte: b'=',
                offset: 1
            })
        );
        assert_eq!(
            decode("a b"),
            Err(XtextError::BadChar {
                byte: b' ',
                offset: 1
            })
        );
        assert!(decode("é").is_err());
    }

    proptest! {
        #[test]
        fn round_trip(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let e = encode(&bytes);
            prop_assert!(e.bytes().all(|b| (33..=126).contains(&b) && b != b'='));
            prop_assert_eq!(decode(&e).unwrap(), bytes);
        }

        #[test]
        fn decode_never_panics(s in ".{0,32}") {
            let _ = decode(&s);
        }
    }
}
