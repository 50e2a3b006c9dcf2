//! Random passwords and app-password tokens for humans to read, copy and type.

use rand::RngExt as _;

/// Digits, upper and lower case letters without the look-alikes `0`, `O`, `1`, `l` and `I`:
/// 57 symbols, so 5.8 bits of entropy per character.
pub(crate) const ALPHABET: &[u8] = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

/// Length of [`generate_password`] output (about 140 bits).
const PASSWORD_LEN: usize = 24;
/// Length of [`generate_token`] output (about 187 bits).
const TOKEN_LEN: usize = 32;

/// A random password for a human: 24 characters from an alphabet without look-alikes
/// (no `0`/`O`/`1`/`l`/`I`), about 140 bits of entropy.
pub fn generate_password() -> String {
    random_string(PASSWORD_LEN)
}

/// A random app-password token: 32 characters from the same alphabet as
/// [`generate_password`], about 187 bits of entropy.
pub fn generate_token() -> String {
    random_string(TOKEN_LEN)
}

fn random_string(len: usize) -> String {
    // `ThreadRng` is a CSPRNG (ChaCha12) seeded from, and periodically reseeded by, the
    // operating system; `random_range` samples uniformly (no modulo bias).
    let mut rng = rand::rng();
    (0..len)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alphabet_has_no_look_alikes_and_no_duplicates() {
        for c in b"0O1lI" {
            assert!(!ALPHABET.contains(c), "{}", char::from(*c));
        }
        let mut sorted = ALPHABET.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), ALPHABET.len());
        assert_eq!(ALPHABET.len(), 8 + 24 + 25);
    }

    #[test]
    fn generated_strings_have_the_right_length_and_alphabet() {
        for _ in 0..100 {
            let p = generate_password();
            assert_eq!(p.len(), 24);
            assert!(p.bytes().all(|b| ALPHABET.contains(&b)), "{p}");
            let t = generate_token();
            assert_eq!(t.len(), 32);
            assert!(t.bytes().all(|b| ALPHABET.contains(&b)), "{t}");
        }
    }

    #[test]
    fn generated_strings_differ_and_use_the_whole_alphabet() {
        assert_ne!(generate_password(), generate_password());
        assert_ne!(generate_token(), generate_token());
        // 200 tokens are 6400 draws: every one of the 57 symbols shows up unless the
        // sampling is broken (chance of a miss is below 57 * (56/57)^6400, about 1e-47).
        let all: String = (0..200).map(|_| generate_token()).collect();
        for c in ALPHABET {
            assert!(all.as_bytes().contains(c), "{} never drawn", char::from(*c));
        }
    }
}
