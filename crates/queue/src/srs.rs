//! The Sender Rewriting Scheme (SRS, as specified by libsrs2 / Shevek's paper): when mail
//! is forwarded to another domain, the envelope sender is rewritten to an address of ours
//! so that SPF passes at the destination, and bounces come back to us, are verified and
//! are sent on to the original sender.
//!
//! `SRS0=HHHH=TT=orig-domain=orig-local@our-domain`, where TT is the day number modulo
//! 1024 in base32 (2 characters) and HHHH the first 4 characters of
//! base64(HMAC-SHA1(key, lowercase(TT ‖ orig-domain ‖ orig-local))). Rewriting an address
//! that is already SRS0 of another forwarder gives SRS1 (`SRS1=HHHH=first-domain==SRS0-rest@our-domain`),
//! so the chain does not grow.

/// Why a reverse rewrite failed (the bounce is refused: `550`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SrsError {
    /// Not an SRS address.
    #[error("not an SRS address")]
    NotSrs,
    /// The hash does not match: forged.
    #[error("SRS hash mismatch")]
    BadHash,
    /// Older than the maximum age.
    #[error("SRS address expired")]
    Expired,
    /// Syntactically broken.
    #[error("malformed SRS address")]
    Malformed,
}

/// An SRS rewriter with its secret key and our domain.
#[derive(Clone)]
pub struct Srs {
    key: Vec<u8>,
    domain: String,
    max_age_days: u32,
}

use base64::Engine as _;
use hmac::{Hmac, KeyInit as _, Mac as _};
use sha1::Sha1;

/// The tags that start an SRS local part (case-insensitive).
const SRS0_TAG: &str = "SRS0";
const SRS1_TAG: &str = "SRS1";
/// The separator we write, and the one every field after the first is split at.
const SEP: char = '=';
/// Separators accepted right after the tag: libsrs2's `SRS_SEPARATORS`, so addresses
/// of forwarders configured with `-` or `+` are still recognised.
const TAG_SEPARATORS: [char; 3] = ['=', '-', '+'];
/// Characters of the hash we write (and compare): libsrs2's default `hashlength`.
const HASH_LEN: usize = 4;
/// The timestamp alphabet (RFC 4648 base32), 5 bits per character.
const TIME_CHARS: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
/// Timestamps are day numbers modulo this (two base32 characters).
const TIME_SLOTS: u64 = 1024;

impl Srs {
    /// A rewriter for addresses `@domain`, with the secret `key` and the maximum age of
    /// a returned address (21 days is usual).
    pub fn new(key: &[u8], domain: &str, max_age_days: u32) -> Srs {
        Srs {
            key: key.to_vec(),
            domain: domain.to_ascii_lowercase(),
            max_age_days,
        }
    }

    /// The rewritten sender for `sender` (`local@domain`) on day `day` (days since the
    /// Unix epoch). The null sender is not rewritten (returns `""`); an address of our own
    /// domain is returned unchanged.
    pub fn forward(&self, sender: &str, day: u64) -> String {
        // Split at the last '@': a quoted local part may contain one.
        let Some((local, domain)) = sender.rsplit_once('@') else {
            // The null sender (RFC 5321 §4.5.5) and anything that is not an address
            // cannot be rewritten: there is no domain whose SPF would fail.
            return sender.to_string();
        };
        if local.is_empty() || domain.is_empty() || domain.eq_ignore_ascii_case(&self.domain) {
            return sender.to_string();
        }
        if strip_tag(local, SRS0_TAG).is_some()
            && let Some(user) = local.get(SRS0_TAG.len()..)
        {
            // Already SRS0 of the forwarder `domain`: SRS1 keeps its address and names
            // it, so the chain does not grow and bounces go to that forwarder directly.
            // `user` keeps its leading separator (libsrs2: "SRS1=HHHH=host==HHHH=TT=...").
            return self.srs1(domain, user);
        }
        if let Some(rest) = strip_tag(local, SRS1_TAG)
            && let Some((_hash, host, user)) = split_srs1(rest)
        {
            // SRS1 of another forwarder: keep the first forwarder and its SRS0 part,
            // re-sign for us (libsrs2 `srs_compile_guarded`).
            return self.srs1(host, user);
        }
        let stamp = timestamp(day);
        let hash = self.hash(&[&stamp, domain, local]);
        format!(
            "{SRS0_TAG}{SEP}{hash}{SEP}{stamp}{SEP}{domain}{SEP}{local}@{}",
            self.domain
        )
    }

    fn srs1(&self, host: &str, user: &str) -> String {
        let hash = self.hash(&[host, user]);
        format!(
            "{SRS1_TAG}{SEP}{hash}{SEP}{host}{SEP}{user}@{}",
            self.domain
        )
    }

    /// Whether `local` (the local part of an address in our domain) looks like SRS
    /// (`SRS0=` or `SRS1=`, case-insensitive), so the MX knows to reverse it.
    pub fn is_srs(local: &str) -> bool {
        strip_tag(local, SRS0_TAG).is_some() || strip_tag(local, SRS1_TAG).is_some()
    }

    /// The original sender for an SRS local part, verified (hash, age) as of day `day`.
    /// For SRS1, the SRS0 address at the first forwarder.
    pub fn reverse(&self, local: &str, day: u64) -> Result<String, SrsError> {
        if let Some(rest) = strip_tag(local, SRS1_TAG) {
            let (hash, host, user) = split_srs1(rest).ok_or(SrsError::Malformed)?;
            if user.is_empty() {
                return Err(SrsError::Malformed);
            }
            self.check_hash(hash, &[host, user])?;
            // `user` is the first forwarder's SRS0 part after "SRS0" (separator
            // included): the address that forwarder can reverse.
            return Ok(format!("{SRS0_TAG}{user}@{host}"));
        }
        let rest = strip_tag(local, SRS0_TAG).ok_or(SrsError::NotSrs)?;
        let mut fields = rest.splitn(4, SEP);
        let (Some(hash), Some(stamp), Some(host), Some(user)) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            return Err(SrsError::Malformed);
        };
        if hash.is_empty() || host.is_empty() || user.is_empty() {
            return Err(SrsError::Malformed);
        }
        let then = parse_timestamp(stamp).ok_or(SrsError::Malformed)?;
        // The hash first: a forged address is reported as forged, whatever its age.
        self.check_hash(hash, &[stamp, host, user])?;
        if !self.fresh(then, day) {
            return Err(SrsError::Expired);
        }
        Ok(format!("{user}@{host}"))
    }

    /// libsrs2 `srs_timestamp_check`: the stamp wraps every 1024 days, so a stamp
    /// "later" than today is from the previous cycle.
    fn fresh(&self, then: u64, day: u64) -> bool {
        let mut now = day % TIME_SLOTS;
        if now < then {
            now += TIME_SLOTS;
        }
        now - then <= u64::from(self.max_age_days)
    }

    /// The first [`HASH_LEN`] characters of base64(HMAC-SHA1(key, lowercase(parts...))).
    fn hash(&self, parts: &[&str]) -> String {
        // HMAC takes keys of any length (RFC 2104 §2: longer ones are hashed first), so
        // this cannot fail; the fallback only keeps the function total.
        let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(&self.key) else {
            return String::new();
        };
        for part in parts {
            // libsrs2 lower-cases the data (ASCII only) so that MTAs that change the case
            // of local parts do not break the hash.
            mac.update(part.to_ascii_lowercase().as_bytes());
        }
        let digest = mac.finalize().into_bytes();
        let mut b64 = base64::engine::general_purpose::STANDARD.encode(digest);
        b64.truncate(HASH_LEN);
        b64
    }

    fn check_hash(&self, given: &str, parts: &[&str]) -> Result<(), SrsError> {
        let expected = self.hash(parts);
        // Case-insensitive like libsrs2 (`strncasecmp`): the local part may have been
        // case-folded on the way back.
        if given.len() == HASH_LEN && given.eq_ignore_ascii_case(&expected) {
            Ok(())
        } else {
            Err(SrsError::BadHash)
        }
    }
}

/// `local` without `tag` and the separator after it, if it starts with them
/// (tag case-insensitive).
fn strip_tag<'a>(local: &'a str, tag: &str) -> Option<&'a str> {
    let head = local.get(..tag.len())?;
    let rest = &local[tag.len()..];
    let mut chars = rest.chars();
    let sep = chars.next()?;
    (head.eq_ignore_ascii_case(tag) && TAG_SEPARATORS.contains(&sep)).then_some(chars.as_str())
}

/// `HHHH=host=user` (after `SRS1=`) → (hash, host, user); `user` normally starts with
/// the separator (`==` in the address). `None` when a field is missing or empty.
fn split_srs1(rest: &str) -> Option<(&str, &str, &str)> {
    let (hash, rest) = rest.split_once(SEP)?;
    let (host, user) = rest.split_once(SEP)?;
    (!hash.is_empty() && !host.is_empty()).then_some((hash, host, user))
}

/// Day number modulo 1024 as two base32 characters.
fn timestamp(day: u64) -> String {
    let slot = day % TIME_SLOTS;
    // Both indices are < 32: the slot has 10 bits.
    [slot >> 5, slot & 31]
        .iter()
        .map(|&i| char::from(TIME_CHARS[i as usize]))
        .collect()
}

/// The inverse of [`timestamp`] (case-insensitive); `None` unless exactly two base32
/// characters.
fn parse_timestamp(stamp: &str) -> Option<u64> {
    let [hi, lo] = stamp.as_bytes() else {
        return None;
    };
    let value = |c: &u8| {
        TIME_CHARS
            .iter()
            .position(|t| t == &c.to_ascii_uppercase())
            .map(|p| p as u64)
    };
    Some((value(hi)? << 5) | value(lo)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const DAY: u64 = 20_000;

    fn srs() -> Srs {
        Srs::new(b"secret key", "Fwd.Example", 21)
    }

    #[test]
    fn srs0_round_trip() {
        let srs = srs();
        let rewritten = srs.forward("alice@origin.example", DAY);
        let (local, domain) = rewritten.rsplit_once('@').unwrap();
        assert_eq!(domain, "fwd.example");
        assert!(local.starts_with("SRS0="), "{rewritten}");
        assert!(local.ends_with("=origin.example=alice"), "{rewritten}");
        assert!(Srs::is_srs(local));
        assert_eq!(srs.reverse(local, DAY).unwrap(), "alice@origin.example");
        // Bounces may come back case-folded.
        assert_eq!(
            srs.reverse(&local.to_ascii_lowercase(), DAY + 3).unwrap(),
            "alice@origin.example"
        );
    }

    #[test]
    fn known_answer_timestamp_and_layout() {
        // Day 20000 % 1024 = 544 = 17 * 32 + 0 → "RA".
        assert_eq!(timestamp(DAY), "RA");
        assert_eq!(parse_timestamp("ra"), Some(544));
        assert_eq!(timestamp(0), "AA");
        assert_eq!(timestamp(1023), "77");
        let rewritten = srs().forward("bob@x.example", DAY);
        let parts: Vec<&str> = rewritten.split('=').collect();
        assert_eq!(parts[0], "SRS0");
        assert_eq!(parts[1].len(), 4);
        assert_eq!(parts[2], "RA");
    }

    #[test]
    fn known_answer_hash() {
        // python3 -c "import hmac, hashlib, base64; print(base64.b64encode(hmac.new(
        //   b'secret key', b'raorigin.examplealice', hashlib.sha1).digest())[:4])"
        let srs = srs();
        assert_eq!(srs.hash(&["RA", "origin.example", "alice"]), "/ujl");
        // The data is lower-cased first.
        assert_eq!(srs.hash(&["ra", "ORIGIN.example", "Alice"]), "/ujl");
    }

    #[test]
    fn tampered_hash_is_refused() {
        let srs = srs();
        let rewritten = srs.forward("alice@origin.example", DAY);
        let local = rewritten.rsplit_once('@').unwrap().0;
        let hash = &local[5..9];
        let other = if hash.starts_with('A') {
            "BBBB"
        } else {
            "AAAA"
        };
        let forged = local.replacen(hash, other, 1);
        assert_eq!(srs.reverse(&forged, DAY), Err(SrsError::BadHash));
        // The data changed under the hash: the user.
        let forged = local.replace("alice", "mallory");
        assert_eq!(srs.reverse(&forged, DAY), Err(SrsError::BadHash));
        // Another key.
        let other_key = Srs::new(b"other", "fwd.example", 21);
        assert_eq!(other_key.reverse(local, DAY), Err(SrsError::BadHash));
    }

    #[test]
    fn old_addresses_expire_and_the_stamp_wraps() {
        let srs = srs();
        let local = |day| {
            srs.forward("alice@origin.example", day)
                .split('@')
                .next()
                .unwrap()
                .to_string()
        };
        let l = local(DAY);
        assert!(srs.reverse(&l, DAY + 21).is_ok());
        assert_eq!(srs.reverse(&l, DAY + 22), Err(SrsError::Expired));
        assert_eq!(srs.reverse(&l, DAY + 500), Err(SrsError::Expired));
        // A stamp from the "future" is one from the previous cycle: expired.
        assert_eq!(srs.reverse(&l, DAY - 1), Err(SrsError::Expired));
        // Across the wrap: made on day 1023 of a cycle, read on day 5 of the next.
        let wrap = 1024 * 19 + 1023;
        let l = local(wrap);
        assert_eq!(srs.reverse(&l, wrap + 6).unwrap(), "alice@origin.example");
        assert_eq!(srs.reverse(&l, wrap + 22), Err(SrsError::Expired));
        // A whole cycle later the stamp looks fresh again: libsrs2 behaves the same.
        assert!(srs.reverse(&l, wrap + 1024).is_ok());
    }

    #[test]
    fn srs0_of_another_forwarder_becomes_srs1_and_reverses_to_it() {
        let first = Srs::new(b"first key", "first.example", 21);
        let second = Srs::new(b"second key", "second.example", 21);
        let srs0 = first.forward("alice@origin.example", DAY);
        let srs0_local = srs0.rsplit_once('@').unwrap().0.to_string();
        let srs1 = second.forward(&srs0, DAY);
        let (local, domain) = srs1.rsplit_once('@').unwrap();
        assert_eq!(domain, "second.example");
        let expected_tail = format!("=first.example={}", &srs0_local[4..]);
        assert!(local.starts_with("SRS1="), "{srs1}");
        assert!(local.ends_with(&expected_tail), "{srs1}");
        assert!(local.contains("=first.example=="), "{srs1}");
        // Our reverse gives the first forwarder's address, which it reverses.
        let back = second.reverse(local, DAY).unwrap();
        assert_eq!(back, srs0);
        assert_eq!(
            first
                .reverse(back.rsplit_once('@').unwrap().0, DAY)
                .unwrap(),
            "alice@origin.example"
        );
        // A third forwarder keeps the first one's address: no growth.
        let third = Srs::new(b"third key", "third.example", 21);
        let again = third.forward(&srs1, DAY);
        assert!(again.contains("=first.example=="), "{again}");
        assert_eq!(again.matches("SRS").count(), 1, "{again}");
        assert_eq!(
            third
                .reverse(again.rsplit_once('@').unwrap().0, DAY)
                .unwrap(),
            srs0
        );
        // Tampering with the SRS1 hash is caught.
        let forged = local.replacen(&local[5..9], "zzzz", 1);
        assert_eq!(second.reverse(&forged, DAY), Err(SrsError::BadHash));
    }

    #[test]
    fn null_sender_and_own_domain_are_unchanged() {
        let srs = srs();
        assert_eq!(srs.forward("", DAY), "");
        assert_eq!(srs.forward("bob@FWD.example", DAY), "bob@FWD.example");
        assert_eq!(srs.forward("no-domain", DAY), "no-domain");
    }

    #[test]
    fn non_srs_and_malformed_local_parts() {
        let srs = srs();
        assert!(!Srs::is_srs("alice"));
        assert!(!Srs::is_srs("SRS0"));
        assert!(!Srs::is_srs("SRS2=x"));
        assert!(Srs::is_srs("srs0=x"));
        assert!(Srs::is_srs("SRS1=x"));
        assert_eq!(srs.reverse("alice", DAY), Err(SrsError::NotSrs));
        assert_eq!(srs.reverse("SRS0", DAY), Err(SrsError::NotSrs));
        for bad in [
            "SRS0=",
            "SRS0=abcd",
            "SRS0=abcd=RA",
            "SRS0=abcd=RA=host",
            "SRS0=abcd=R=host=user",
            "SRS0=abcd=R!=host=user",
            "SRS0=abcd=RAA=host=user",
            "SRS0==RA=host=user",
            "SRS0=abcd=RA==user",
            "SRS0=abcd=RA=host=",
            "SRS1=",
            "SRS1=abcd",
            "SRS1=abcd=host",
            "SRS1==host==x",
            "SRS1=abcd==x",
            "SRS1=abcd=host=",
        ] {
            assert_eq!(srs.reverse(bad, DAY), Err(SrsError::Malformed), "{bad}");
        }
        assert_eq!(
            srs.reverse("SRS0=abcd=RA=host=user", DAY),
            Err(SrsError::BadHash)
        );
        assert_eq!(
            srs.reverse("SRS0=é=RA=host=user", DAY),
            Err(SrsError::BadHash)
        );
        assert_eq!(srs.reverse("SRSé", DAY), Err(SrsError::NotSrs));
    }

    proptest! {
        #[test]
        fn reverse_never_panics(local in "\\PC{0,40}", day in any::<u64>()) {
            let _ = srs().reverse(&local, day);
            let _ = Srs::is_srs(&local);
        }

        #[test]
        fn reverse_of_srs_shaped_input_never_panics(
            local in "(?i)srs[01][=+-][A-Za-z0-9+/=é]{0,30}",
            day in any::<u64>(),
        ) {
            let _ = srs().reverse(&local, day);
        }

        #[test]
        fn forward_never_panics_and_round_trips(
            user in "[a-z0-9.+_-]{1,20}",
            host in "[a-z0-9-]{1,10}\\.[a-z]{2,5}",
            day in 0u64..1_000_000,
        ) {
            let srs = srs();
            let sender = format!("{user}@{host}");
            let out = srs.forward(&sender, day);
            let local = out.rsplit_once('@').map(|(l, _)| l).unwrap_or("");
            prop_assert_eq!(srs.reverse(local, day), Ok(sender));
        }

        #[test]
        fn forward_of_arbitrary_input_never_panics(sender in "\\PC{0,40}", day in any::<u64>()) {
            let _ = srs().forward(&sender, day);
        }
    }
}
