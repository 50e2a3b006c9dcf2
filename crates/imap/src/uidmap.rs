//! The sequence-number map of a selected mailbox, stored as runs of consecutive UIDs.
//!
//! Message sequence number n is the n-th smallest UID the client knows. Mailboxes are
//! mostly long runs of consecutive UIDs (appends take UIDNEXT; expunges cut holes), so a
//! 10,000-message mailbox is a handful of runs instead of 40 KB per session: what keeps
//! a thousand idle clients cheap.

/// A run of `len` consecutive UIDs starting at `first`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Run {
    first: u32,
    len: u32,
}

impl Run {
    fn last(&self) -> u32 {
        self.first + (self.len - 1)
    }
}

/// Ascending UIDs with their sequence numbers (1-based).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct UidMap {
    runs: Vec<Run>,
    /// `starts[i]`: how many UIDs come before `runs[i]` (so its first has seq starts[i]+1).
    starts: Vec<u32>,
    len: u32,
}

impl UidMap {
    /// From ascending, distinct UIDs.
    pub fn from_sorted(uids: impl IntoIterator<Item = u32>) -> Self {
        let mut m = UidMap::default();
        m.extend(uids);
        m
    }

    /// Number of messages (EXISTS).
    pub fn len(&self) -> u32 {
        self.len
    }

    /// The largest UID, if any.
    pub fn last(&self) -> Option<u32> {
        self.runs.last().map(Run::last)
    }

    /// Index of the run holding `uid`.
    fn run_of(&self, uid: u32) -> Option<usize> {
        let i = self.runs.partition_point(|r| r.last() < uid);
        (i < self.runs.len() && self.runs[i].first <= uid).then_some(i)
    }

    /// Sequence number of `uid`, if known.
    pub fn seq_of(&self, uid: u32) -> Option<u32> {
        self.run_of(uid)
            .map(|i| self.starts[i] + (uid - self.runs[i].first) + 1)
    }

    /// Whether `uid` is known.
    pub fn contains(&self, uid: u32) -> bool {
        self.run_of(uid).is_some()
    }

    /// The UID with sequence number `seq` (1-based).
    pub fn uid_at(&self, seq: u32) -> Option<u32> {
        if seq == 0 || seq > self.len {
            return None;
        }
        let i = self.starts.partition_point(|s| *s < seq) - 1;
        Some(self.runs[i].first + (seq - 1 - self.starts[i]))
    }

    /// Appends UIDs larger than every known one (ascending); smaller ones are ignored.
    pub fn extend(&mut self, uids: impl IntoIterator<Item = u32>) {
        for uid in uids {
            match self.runs.last_mut() {
                Some(r) if uid <= r.last() => continue,
                Some(r) if uid == r.last() + 1 => r.len += 1,
                _ => {
                    self.runs.push(Run { first: uid, len: 1 });
                    self.starts.push(self.len);
                }
            }
            self.len += 1;
        }
    }

    /// Removes `uid`; returns the sequence number it had.
    pub fn remove(&mut self, uid: u32) -> Option<u32> {
        let i = self.run_of(uid)?;
        let seq = self.starts[i] + (uid - self.runs[i].first) + 1;
        let r = self.runs[i];
        if r.len == 1 {
            self.runs.remove(i);
            self.starts.remove(i);
        } else if uid == r.first {
            self.runs[i] = Run {
                first: uid + 1,
                len: r.len - 1,
            };
            // Its start count is unchanged: the run now begins one UID later.
            for s in &mut self.starts[i + 1..] {
                *s -= 1;
            }
            self.len -= 1;
            return Some(seq);
        } else if uid == r.last() {
            self.runs[i].len -= 1;
        } else {
            let head = uid - r.first;
            self.runs[i].len = head;
            self.runs.insert(
                i + 1,
                Run {
                    first: uid + 1,
                    len: r.len - head - 1,
                },
            );
            self.starts.insert(i + 1, self.starts[i] + head);
            for s in &mut self.starts[i + 2..] {
                *s -= 1;
            }
            self.len -= 1;
            return Some(seq);
        }
        let from = if r.len == 1 { i } else { i + 1 };
        for s in &mut self.starts[from..] {
            *s -= 1;
        }
        self.len -= 1;
        Some(seq)
    }

    /// `(seq, uid)` of the known UIDs in `lo..=hi`, ascending.
    pub fn in_uid_range(&self, lo: u32, hi: u32) -> impl Iterator<Item = (u32, u32)> + '_ {
        let from = self.runs.partition_point(|r| r.last() < lo);
        self.runs[from..]
            .iter()
            .zip(&self.starts[from..])
            .take_while(move |(r, _)| r.first <= hi)
            .flat_map(move |(r, start)| {
                let a = r.first.max(lo);
                let b = r.last().min(hi);
                (a..=b).map(move |u| (start + (u - r.first) + 1, u))
            })
    }

    /// Every `(seq, uid)`, ascending.
    #[cfg(test)]
    pub fn iter(&self) -> impl Iterator<Item = (u32, u32)> + '_ {
        self.in_uid_range(0, u32::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn check(m: &UidMap, model: &[u32]) {
        assert_eq!(m.len() as usize, model.len());
        assert_eq!(m.last(), model.last().copied());
        let all: Vec<(u32, u32)> = m.iter().collect();
        let want: Vec<(u32, u32)> = model
            .iter()
            .enumerate()
            .map(|(i, u)| (i as u32 + 1, *u))
            .collect();
        assert_eq!(all, want);
        for (i, u) in model.iter().enumerate() {
            assert_eq!(m.seq_of(*u), Some(i as u32 + 1));
            assert_eq!(m.uid_at(i as u32 + 1), Some(*u));
        }
        assert_eq!(m.uid_at(0), None);
        assert_eq!(m.uid_at(model.len() as u32 + 1), None);
    }

    #[test]
    fn runs_split_and_shrink() {
        let mut m = UidMap::from_sorted(1..=10);
        assert_eq!(m.runs.len(), 1);
        assert_eq!(m.remove(5), Some(5));
        assert_eq!(m.remove(1), Some(1));
        assert_eq!(m.remove(10), Some(8));
        assert_eq!(m.remove(42), None);
        check(&m, &[2, 3, 4, 6, 7, 8, 9]);
        m.extend([11, 12, 20]);
        check(&m, &[2, 3, 4, 6, 7, 8, 9, 11, 12, 20]);
        assert_eq!(
            m.in_uid_range(4, 11).collect::<Vec<_>>(),
            vec![(3, 4), (4, 6), (5, 7), (6, 8), (7, 9), (8, 11)]
        );
    }

    proptest! {
        #[test]
        fn behaves_like_a_sorted_vec(
            initial in proptest::collection::btree_set(1u32..200, 0..80),
            ops in proptest::collection::vec((any::<bool>(), 1u32..260), 0..80),
        ) {
            let mut model: Vec<u32> = initial.iter().copied().collect();
            let mut m = UidMap::from_sorted(model.iter().copied());
            check(&m, &model);
            for (remove, uid) in ops {
                if remove {
                    let want = model.binary_search(&uid).ok().map(|i| {
                        model.remove(i);
                        i as u32 + 1
                    });
                    prop_assert_eq!(m.remove(uid), want);
                } else {
                    if model.last().is_none_or(|l| uid > *l) {
                        model.push(uid);
                    }
                    m.extend([uid]);
                }
                check(&m, &model);
                let (lo, hi) = (uid / 2, uid + 17);
                let want: Vec<(u32, u32)> = model.iter().enumerate()
                    .filter(|(_, u)| (lo..=hi).contains(*u))
                    .map(|(i, u)| (i as u32 + 1, *u)).collect();
                prop_assert_eq!(m.in_uid_range(lo, hi).collect::<Vec<_>>(), want);
            }
        }
    }
}
