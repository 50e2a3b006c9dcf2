//! A small, fixed pool of threads for password hashing and verification.
//!
//! Why not `spawn_blocking`: argon2id with the default cost allocates 19 MiB per call. On
//! tokio's blocking pool (up to 512 threads) a burst of logins runs that many hashes at
//! once, and the C allocator keeps each thread's freed 19 MiB in that thread's arena: 200
//! IMAP clients logging in together left the server 3 GiB larger. A fixed pool bounds both
//! the CPU a login flood can take and the memory the allocator keeps (one arena per pool
//! thread). Jobs queue in order; the threads end when the last handle is dropped.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use crate::{DirectoryError, Result};

type Job = Box<dyn FnOnce() + Send>;

/// The pool; cheap to share behind an `Arc`.
pub(crate) struct HashPool {
    tx: Mutex<mpsc::Sender<Job>>,
}

impl HashPool {
    /// A pool of `threads` threads (at least one).
    pub fn new(threads: usize) -> Self {
        let (tx, rx) = mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..threads.max(1) {
            let rx = rx.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("mailstead-hash-{i}"))
                .spawn(move || {
                    loop {
                        let job = {
                            let guard = rx.lock().unwrap_or_else(|p| p.into_inner());
                            match guard.recv() {
                                Ok(job) => job,
                                Err(_) => return,
                            }
                        };
                        job();
                    }
                });
            if let Err(e) = spawned {
                tracing::error!(error = %e, "cannot start a password hashing thread");
            }
        }
        HashPool { tx: Mutex::new(tx) }
    }

    /// A pool sized to the machine: its cores, at most 4.
    pub fn for_machine() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Self::new(cores.min(4))
    }

    /// Runs `f` on a pool thread and waits (asynchronously) for its result.
    pub async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T> {
        let (done_tx, done_rx) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            // A panic in the hash code fails this login, not the pool thread.
            let outcome = catch_unwind(AssertUnwindSafe(f));
            let _ = done_tx.send(outcome);
        });
        self.tx
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .send(job)
            .map_err(|_| DirectoryError::Task("password hashing pool is gone".into()))?;
        match done_rx.await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(_)) => Err(DirectoryError::Task("password hashing panicked".into())),
            Err(_) => Err(DirectoryError::Task("password hashing pool is gone".into())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn runs_jobs_and_survives_a_panic() {
        let pool = HashPool::new(2);
        assert_eq!(pool.run(|| 21 * 2).await.expect("result"), 42);
        assert!(pool.run(|| -> u8 { panic!("boom") }).await.is_err());
        let results = futures_join(&pool).await;
        assert_eq!(results, (0..8).collect::<Vec<u32>>());
    }

    async fn futures_join(pool: &HashPool) -> Vec<u32> {
        let mut out = Vec::new();
        for i in 0..8u32 {
            out.push(pool.run(move || i).await.expect("result"));
        }
        out
    }
}
