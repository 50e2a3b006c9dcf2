//! Failed-login throttling, shared by every protocol that takes a password.
//!
//! Two rules, both over a sliding window:
//! - **per client IP**: after `max_failures_per_ip` failures from one address within the
//!   window, further attempts from it are refused without checking the password until
//!   the window has passed (a guesser from one address is stopped);
//! - **per account**: after `slow_account_after` failures against one account (from any
//!   address), every further attempt on that account is delayed by an extra
//!   `account_delay` but still checked, so a distributed guesser is slowed while the
//!   owner, logging in correctly from an address that has not failed, always gets in.
//!
//! Every failure is answered only after `failure_delay`. The state is in memory and per
//! process (forgotten at restart, which only ever relaxes it).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Settings of a [`LoginLimiter`].
#[derive(Debug, Clone)]
pub struct LoginLimits {
    /// Wait before answering a failed attempt.
    pub failure_delay: Duration,
    /// Failures from one IP within `window` after which that IP is refused.
    pub max_failures_per_ip: u32,
    /// Failures against one account within `window` after which its attempts are slowed.
    pub slow_account_after: u32,
    /// The extra wait for attempts on such an account.
    pub account_delay: Duration,
    /// How long a failure counts.
    pub window: Duration,
}

impl Default for LoginLimits {
    fn default() -> Self {
        LoginLimits {
            failure_delay: Duration::from_secs(1),
            max_failures_per_ip: 10,
            slow_account_after: 5,
            account_delay: Duration::from_secs(2),
            window: Duration::from_secs(15 * 60),
        }
    }
}

/// What to do with a login attempt before checking it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginGate {
    /// Check it now.
    Check,
    /// Check it after this extra wait (the account is under attack).
    CheckAfter(Duration),
    /// Refuse it unchecked: this address failed too often.
    Refuse,
}

#[derive(Debug, Default)]
struct Counts {
    by_ip: HashMap<IpAddr, Vec<Instant>>,
    by_account: HashMap<String, Vec<Instant>>,
}

/// Counts failed logins per IP and per account; cheap to share behind an `Arc`.
#[derive(Debug)]
pub struct LoginLimiter {
    limits: LoginLimits,
    counts: Mutex<Counts>,
}

fn prune(times: &mut Vec<Instant>, now: Instant, window: Duration) {
    times.retain(|t| now.saturating_duration_since(*t) < window);
}

impl LoginLimiter {
    /// A limiter with these settings.
    pub fn new(limits: LoginLimits) -> Self {
        LoginLimiter {
            limits,
            counts: Mutex::default(),
        }
    }

    /// The settings.
    pub fn limits(&self) -> &LoginLimits {
        &self.limits
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Counts> {
        // Counts stay consistent under a panic elsewhere (each update is self-contained).
        self.counts.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Decides about an attempt by `ip` on `login` (the name as typed, lower-cased here).
    pub fn gate(&self, ip: IpAddr, login: &str) -> LoginGate {
        self.gate_at(ip, login, Instant::now())
    }

    fn gate_at(&self, ip: IpAddr, login: &str, now: Instant) -> LoginGate {
        let window = self.limits.window;
        let mut c = self.lock();
        if let Some(times) = c.by_ip.get_mut(&ip) {
            prune(times, now, window);
            if times.len() as u32 >= self.limits.max_failures_per_ip {
                return LoginGate::Refuse;
            }
        }
        if let Some(times) = c.by_account.get_mut(&login.to_lowercase()) {
            prune(times, now, window);
            if times.len() as u32 >= self.limits.slow_account_after {
                return LoginGate::CheckAfter(self.limits.account_delay);
            }
        }
        LoginGate::Check
    }

    /// Records a failed attempt.
    pub fn failed(&self, ip: IpAddr, login: &str) {
        self.failed_at(ip, login, Instant::now());
    }

    fn failed_at(&self, ip: IpAddr, login: &str, now: Instant) {
        let window = self.limits.window;
        let mut c = self.lock();
        // Bound memory under a flood of distinct names or addresses: drop expired entries
        // once the maps grow.
        if c.by_ip.len() > 10_000 || c.by_account.len() > 10_000 {
            c.by_ip.retain(|_, t| {
                prune(t, now, window);
                !t.is_empty()
            });
            c.by_account.retain(|_, t| {
                prune(t, now, window);
                !t.is_empty()
            });
        }
        c.by_ip.entry(ip).or_default().push(now);
        c.by_account
            .entry(login.to_lowercase())
            .or_default()
            .push(now);
    }

    /// Records a successful login: the address's failures are forgiven (the account's stay,
    /// so an attack on it from elsewhere is still slowed).
    pub fn succeeded(&self, ip: IpAddr) {
        self.lock().by_ip.remove(&ip);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter() -> LoginLimiter {
        LoginLimiter::new(LoginLimits {
            failure_delay: Duration::ZERO,
            max_failures_per_ip: 3,
            slow_account_after: 2,
            account_delay: Duration::from_secs(2),
            window: Duration::from_secs(60),
        })
    }

    const A: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 1));
    const B: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 2));

    #[test]
    fn an_address_that_fails_too_often_is_refused_until_the_window_passes() {
        let l = limiter();
        let t0 = Instant::now();
        for i in 0..3 {
            l.failed_at(A, &format!("user{i}@example.org"), t0);
        }
        assert_eq!(l.gate_at(A, "new@example.org", t0), LoginGate::Refuse);
        assert_eq!(l.gate_at(B, "new@example.org", t0), LoginGate::Check);
        assert_eq!(
            l.gate_at(A, "new@example.org", t0 + Duration::from_secs(61)),
            LoginGate::Check
        );
    }

    #[test]
    fn an_attacked_account_is_slowed_but_never_locked_for_another_address() {
        let l = limiter();
        let t0 = Instant::now();
        l.failed_at(A, "Alice@example.org", t0);
        l.failed_at(A, "alice@example.org", t0);
        // A is not refused yet (2 < 3) but the account is slowed for everyone.
        assert_eq!(
            l.gate_at(B, "alice@example.org", t0),
            LoginGate::CheckAfter(Duration::from_secs(2))
        );
        l.failed_at(A, "alice@example.org", t0);
        assert_eq!(l.gate_at(A, "alice@example.org", t0), LoginGate::Refuse);
        // The owner from another address is still checked (slowed, not refused).
        assert_eq!(
            l.gate_at(B, "alice@example.org", t0),
            LoginGate::CheckAfter(Duration::from_secs(2))
        );
    }

    #[test]
    fn success_forgives_the_address() {
        let l = limiter();
        let t0 = Instant::now();
        l.failed_at(A, "x@example.org", t0);
        l.failed_at(A, "y@example.org", t0);
        l.succeeded(A);
        l.failed_at(A, "z@example.org", t0);
        assert_eq!(l.gate_at(A, "q@example.org", t0), LoginGate::Check);
    }
}
