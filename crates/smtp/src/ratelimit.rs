//! Message rates over a sliding hour, kept in memory (per process, forgotten at restart,
//! which only ever relaxes them): per account on submission, per client IP on the MX.
//!
//! MAIL is refused with `450 4.7.1` while the key has `limit` messages in the window;
//! a message counts once it is accepted (its `250`), whatever its number of recipients.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use mailstead_types::AccountId;

/// The window the limit is counted over.
const WINDOW: Duration = Duration::from_secs(3600);

/// Accounts tracked before expired entries are swept (bounds memory).
const SWEEP_AFTER: usize = 10_000;

/// Accepted-message times per key (an account, or a client IP).
#[derive(Debug)]
pub(crate) struct SendRate<K = AccountId> {
    limit: u32,
    sent: Mutex<HashMap<K, VecDeque<Instant>>>,
}

impl<K: Hash + Eq + Copy> SendRate<K> {
    /// A limiter allowing `limit` messages per hour and key; 0 is unlimited.
    pub fn new(limit: u32) -> Self {
        SendRate {
            limit,
            sent: Mutex::default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<K, VecDeque<Instant>>> {
        // Each update is self-contained, so the map is consistent after a panic elsewhere.
        self.sent.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether `account` may start another message now.
    pub fn allows(&self, account: K) -> bool {
        self.allows_at(account, Instant::now())
    }

    fn allows_at(&self, account: K, now: Instant) -> bool {
        if self.limit == 0 {
            return true;
        }
        let mut sent = self.lock();
        let Some(times) = sent.get_mut(&account) else {
            return true;
        };
        prune(times, now);
        (times.len() as u64) < u64::from(self.limit)
    }

    /// Counts a message `account` had accepted.
    pub fn record(&self, account: K) {
        self.record_at(account, Instant::now());
    }

    fn record_at(&self, account: K, now: Instant) {
        if self.limit == 0 {
            return;
        }
        let mut sent = self.lock();
        if sent.len() > SWEEP_AFTER {
            sent.retain(|_, times| {
                prune(times, now);
                !times.is_empty()
            });
        }
        let times = sent.entry(account).or_default();
        prune(times, now);
        times.push_back(now);
    }
}

/// Drops the times older than the window (the deque is in ascending order).
fn prune(times: &mut VecDeque<Instant>, now: Instant) {
    while times
        .front()
        .is_some_and(|t| now.saturating_duration_since(*t) >= WINDOW)
    {
        times.pop_front();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allows_limit_messages_per_hour_then_refuses_until_the_oldest_expires() {
        let rate: SendRate = SendRate::new(3);
        let a = AccountId(1);
        let b = AccountId(2);
        let t0 = Instant::now();
        for i in 0..3 {
            let t = t0 + Duration::from_secs(i * 60);
            assert!(rate.allows_at(a, t), "message {i}");
            rate.record_at(a, t);
        }
        assert!(!rate.allows_at(a, t0 + Duration::from_secs(600)));
        // Another account has its own budget.
        assert!(rate.allows_at(b, t0 + Duration::from_secs(600)));
        // One hour after the first message, one slot is free again.
        assert!(rate.allows_at(a, t0 + WINDOW));
        rate.record_at(a, t0 + WINDOW);
        assert!(!rate.allows_at(a, t0 + WINDOW + Duration::from_secs(1)));
    }

    #[test]
    fn zero_is_unlimited() {
        let rate: SendRate = SendRate::new(0);
        let now = Instant::now();
        for _ in 0..1000 {
            rate.record_at(AccountId(7), now);
        }
        assert!(rate.allows_at(AccountId(7), now));
    }
}
