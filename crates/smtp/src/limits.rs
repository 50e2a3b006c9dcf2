//! Connection counting: total and per client IP, released when the guard drops.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

/// Counts open connections against the configured maxima.
#[derive(Debug, Clone)]
pub struct ConnectionLimits {
    inner: Arc<Mutex<Counts>>,
    max_total: u32,
    max_per_ip: u32,
}

#[derive(Debug, Default)]
struct Counts {
    total: u32,
    per_ip: HashMap<IpAddr, u32>,
}

/// Holds one connection slot; dropping it frees the slot.
#[derive(Debug)]
pub struct ConnectionGuard {
    inner: Arc<Mutex<Counts>>,
    ip: IpAddr,
}

/// Why a connection was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The server has `max_connections` open.
    Total,
    /// This IP has `max_connections_per_ip` open.
    PerIp,
}

impl ConnectionLimits {
    /// Limits with these maxima.
    pub fn new(max_total: u32, max_per_ip: u32) -> Self {
        Self {
            inner: Arc::default(),
            max_total,
            max_per_ip,
        }
    }

    /// Takes a slot for `ip`, or says which limit is reached.
    pub fn acquire(&self, ip: IpAddr) -> Result<ConnectionGuard, Refusal> {
        // A poisoned lock only means another session panicked while counting; the counts
        // themselves are still consistent (each update is one statement).
        let mut c = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if c.total >= self.max_total {
            return Err(Refusal::Total);
        }
        let n = c.per_ip.entry(ip).or_insert(0);
        if *n >= self.max_per_ip {
            return Err(Refusal::PerIp);
        }
        *n += 1;
        c.total += 1;
        Ok(ConnectionGuard {
            inner: self.inner.clone(),
            ip,
        })
    }

    /// Connections open now.
    pub fn open(&self) -> u32 {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).total
    }
}

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        let mut c = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        c.total = c.total.saturating_sub(1);
        if let Some(n) = c.per_ip.get_mut(&self.ip) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                c.per_ip.remove(&self.ip);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_ip_and_total_limits_and_release() {
        let l = ConnectionLimits::new(3, 2);
        let a: IpAddr = "127.0.0.1".parse().unwrap();
        let b: IpAddr = "127.0.0.2".parse().unwrap();
        let g1 = l.acquire(a).unwrap();
        let _g2 = l.acquire(a).unwrap();
        assert_eq!(l.acquire(a).unwrap_err(), Refusal::PerIp);
        let _g3 = l.acquire(b).unwrap();
        assert_eq!(l.acquire(b).unwrap_err(), Refusal::Total);
        drop(g1);
        assert_eq!(l.open(), 2);
        assert!(l.acquire(a).is_ok());
    }
}
