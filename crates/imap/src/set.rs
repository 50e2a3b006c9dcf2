//! Sequence sets (RFC 9051 §9 `sequence-set`) against the selected mailbox.

use mailstead_imap_proto::{SeqNum, SeqRange, SequenceSet};

use crate::selected::Selected;
use crate::session::CmdError;

fn bounds(r: &SeqRange, star: u32) -> (u32, u32) {
    let v = |n: SeqNum| match n {
        SeqNum::Value(v) => v,
        SeqNum::Star => star,
    };
    let (a, b) = (v(r.start), v(r.end));
    (a.min(b), a.max(b))
}

/// Whether `uid` is in a UID set whose `*` is `max_uid` (`$` is resolved by callers).
pub(crate) fn uid_set_contains(set: &SequenceSet, uid: u32, max_uid: u32) -> bool {
    match set {
        SequenceSet::Saved => false,
        SequenceSet::Ranges(rs) => rs.iter().any(|r| {
            let (lo, hi) = bounds(r, max_uid);
            (lo..=hi).contains(&uid)
        }),
    }
}

/// The `(sequence number, UID)` pairs a set names, ascending, without duplicates.
///
/// By UID (`uid`): UIDs the client knows that fall in the ranges (`*` = the highest UID;
/// a range entirely above it still names the last message, RFC 9051 §6.4.8 `UID FETCH
/// 1000:*` on a mailbox whose highest UID is 500). By sequence number: numbers outside
/// `1..=EXISTS` are an error (`BAD`). `$` is the saved search result.
pub(crate) fn resolve(
    sel: &Selected,
    set: &SequenceSet,
    uid: bool,
    saved: Option<&[u32]>,
) -> Result<Vec<(u32, u32)>, CmdError> {
    let n = sel.uids.len();
    let mut out = Vec::new();
    match set {
        SequenceSet::Saved => {
            // RFC 5182 §2.1: `$` always holds UIDs; an unset one is empty.
            for uid in saved.unwrap_or(&[]) {
                if let Some(seq) = sel.seq_of(*uid) {
                    out.push((seq, *uid));
                }
            }
        }
        SequenceSet::Ranges(rs) if uid => {
            let max = sel.uids.last().unwrap_or(0);
            for r in rs {
                let (lo, hi) = bounds(r, max);
                let lo = if matches!(r.start, SeqNum::Star) || matches!(r.end, SeqNum::Star) {
                    lo.min(max)
                } else {
                    lo
                };
                out.extend(sel.uids.in_uid_range(lo, hi));
            }
        }
        SequenceSet::Ranges(rs) => {
            for r in rs {
                if n == 0 && (r.start == SeqNum::Star || r.end == SeqNum::Star) {
                    // `1:*` on an empty mailbox names nothing; clients send it routinely.
                    continue;
                }
                let (lo, hi) = bounds(r, n);
                if lo == 0 || hi > n {
                    return Err(CmdError::Bad(
                        Some(mailstead_imap_proto::ResponseCode::ClientBug),
                        format!("message sequence number out of range (1:{n})"),
                    ));
                }
                for seq in lo..=hi {
                    if let Some(uid) = sel.uids.uid_at(seq) {
                        out.push((seq, uid));
                    }
                }
            }
        }
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

/// Compresses ascending numbers into `(first, last)` ranges.
pub(crate) fn ranges(sorted: &[u32]) -> Vec<(u32, u32)> {
    let mut out: Vec<(u32, u32)> = Vec::new();
    for &v in sorted {
        match out.last_mut() {
            Some((_, last)) if v == last.saturating_add(1) => *last = v,
            Some((_, last)) if v == *last => {}
            _ => out.push((v, v)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_compress_runs() {
        assert_eq!(ranges(&[1, 2, 3, 5, 7, 8]), vec![(1, 3), (5, 5), (7, 8)]);
        assert_eq!(ranges(&[]), vec![]);
    }
}
