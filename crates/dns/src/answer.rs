//! [`Mx`] and [`MxAnswer`]: what an MX lookup means to a mail sender.
//!
//! Both resolvers turn the MX records they got into an answer with
//! [`MxAnswer::from_records`], so the rules live in one place:
//!
//! - no MX record (NODATA) → [`MxAnswer::NoMx`]: the caller falls back to the implicit MX,
//!   the domain's own A/AAAA (RFC 5321 §5.1);
//! - only root (`.`) exchanges, normally the single `0 .` of RFC 7505 §3 →
//!   [`MxAnswer::NullMx`];
//! - otherwise the other records, root ones dropped (a `.` among real hosts is a
//!   misconfiguration, RFC 7505 §3 says it MUST NOT be published; the real hosts are
//!   tried), sorted by ascending preference, hosts of equal preference shuffled (RFC 5321
//!   §5.1: "randomize them to spread the load").

use std::hash::BuildHasher;

use crate::{DnsError, name};

/// One MX record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mx {
    /// Lower is tried first (RFC 5321 §5.1).
    pub preference: u16,
    /// The mail exchanger's host name: lower-case ASCII, no trailing dot.
    pub exchange: String,
}

/// The answer to an MX query (RFC 5321 §5.1, RFC 7505).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MxAnswer {
    /// MX records, sorted by ascending preference (hosts of equal preference in random
    /// order, RFC 5321 §5.1). Never empty.
    Hosts(Vec<Mx>),
    /// A null MX (a single MX with preference 0 and exchange "."): the domain accepts no
    /// mail (RFC 7505).
    NullMx,
    /// The domain exists but has no MX records (NODATA): the caller uses the implicit
    /// MX, the domain's own A/AAAA (RFC 5321 §5.1).
    NoMx,
}

impl MxAnswer {
    /// The answer for a domain whose MX records are `records`: pairs of preference and
    /// exchange in presentation form (`"mx1.example.com."` or without the dot, any case;
    /// `"."` is the root), following the rules in the module documentation.
    ///
    /// Hosts of equal preference come out in a different random order on each call;
    /// duplicate records are kept once.
    ///
    /// # Errors
    ///
    /// [`DnsError::InvalidName`] with the first bad exchange when no record is left but
    /// ones whose exchange is not a valid host name (see [`name::normalize`]); invalid
    /// exchanges next to valid ones are dropped.
    pub fn from_records<'a>(
        records: impl IntoIterator<Item = (u16, &'a str)>,
    ) -> Result<Self, DnsError> {
        let mut any = false;
        let mut first_invalid = None;
        let mut hosts = Vec::new();
        for (preference, exchange) in records {
            any = true;
            if exchange == "." {
                continue;
            }
            match name::normalize(exchange) {
                Ok(exchange) => hosts.push(Mx {
                    preference,
                    exchange,
                }),
                Err(err) => {
                    tracing::debug!(exchange, "MX record with an invalid exchange dropped");
                    first_invalid.get_or_insert(err);
                }
            }
        }
        if !any {
            return Ok(Self::NoMx);
        }
        if hosts.is_empty() {
            return match first_invalid {
                Some(err) => Err(err),
                None => Ok(Self::NullMx),
            };
        }
        // A fresh `RandomState` has fresh SipHash keys (random per thread, then
        // incremented per instance), so the hash is a new random tie-breaker on each call.
        let shuffle = std::hash::RandomState::new();
        hosts.sort_by_cached_key(|mx| (mx.preference, shuffle.hash_one(&mx.exchange)));
        hosts.dedup();
        Ok(Self::Hosts(hosts))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mx(preference: u16, exchange: &str) -> Mx {
        Mx {
            preference,
            exchange: exchange.to_owned(),
        }
    }

    #[test]
    fn no_records_is_no_mx() {
        assert_eq!(MxAnswer::from_records([]), Ok(MxAnswer::NoMx));
    }

    #[test]
    fn single_root_exchange_is_null_mx() {
        assert_eq!(MxAnswer::from_records([(0, ".")]), Ok(MxAnswer::NullMx));
        // RFC 7505 §3 asks for preference 0, but a single "." is undeliverable whatever
        // its preference.
        assert_eq!(MxAnswer::from_records([(10, ".")]), Ok(MxAnswer::NullMx));
    }

    #[test]
    fn root_exchange_among_hosts_is_ignored() {
        assert_eq!(
            MxAnswer::from_records([(0, "."), (10, "mx.example.com.")]),
            Ok(MxAnswer::Hosts(vec![mx(10, "mx.example.com")]))
        );
    }

    #[test]
    fn hosts_are_sorted_by_preference_and_normalized() {
        assert_eq!(
            MxAnswer::from_records([
                (20, "MX2.Example.com."),
                (5, "mx0.example.com"),
                (10, "mx1.example.com.")
            ]),
            Ok(MxAnswer::Hosts(vec![
                mx(5, "mx0.example.com"),
                mx(10, "mx1.example.com"),
                mx(20, "mx2.example.com"),
            ]))
        );
    }

    #[test]
    fn equal_preferences_are_shuffled() {
        let records = [
            (10, "a.example.com"),
            (10, "b.example.com"),
            (10, "c.example.com"),
            (10, "d.example.com"),
            (20, "z.example.com"),
        ];
        let mut firsts = std::collections::HashSet::new();
        for _ in 0..200 {
            let Ok(MxAnswer::Hosts(hosts)) = MxAnswer::from_records(records) else {
                panic!("expected hosts");
            };
            assert_eq!(hosts.len(), 5);
            assert!(hosts[..4].iter().all(|mx| mx.preference == 10));
            assert_eq!(hosts[4], mx(20, "z.example.com"));
            firsts.insert(hosts[0].exchange.clone());
        }
        // 200 draws of 4 equally likely hosts: all of them lead at some point (the chance
        // that one never does is below 1e-24).
        assert_eq!(firsts.len(), 4, "{firsts:?}");
    }

    #[test]
    fn duplicate_records_are_kept_once() {
        assert_eq!(
            MxAnswer::from_records([(10, "mx.example.com"), (10, "MX.example.com.")]),
            Ok(MxAnswer::Hosts(vec![mx(10, "mx.example.com")]))
        );
    }

    #[test]
    fn invalid_exchanges_are_dropped_or_reported() {
        assert_eq!(
            MxAnswer::from_records([(10, "bad..name"), (20, "mx.example.com")]),
            Ok(MxAnswer::Hosts(vec![mx(20, "mx.example.com")]))
        );
        assert_eq!(
            MxAnswer::from_records([(10, "bad..name"), (0, ".")]),
            Err(DnsError::InvalidName("bad..name".into()))
        );
    }
}
