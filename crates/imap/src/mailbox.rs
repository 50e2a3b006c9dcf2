//! Mailbox names and the commands on mailboxes: CREATE, DELETE, RENAME, SUBSCRIBE,
//! UNSUBSCRIBE, LIST (with LIST-EXTENDED, LIST-STATUS, SPECIAL-USE, CHILDREN), LSUB,
//! STATUS, GETQUOTA, GETQUOTAROOT.
//!
//! Names are stored in UTF-8 with `/` as the hierarchy delimiter; `INBOX` is stored as
//! such and matched case-insensitively, also as the first level of a longer name. The
//! client sees modified UTF-7 until it enables IMAP4rev2 (RFC 9051 §5.1).

use std::collections::{BTreeMap, BTreeSet};

use mailstead_imap_proto::{
    ListCommand, ListItem, ListReturn, ListSelect, MailboxName, Response, ResponseCode, StatusItem,
    mutf7,
};
use mailstead_store::StoreError;
use mailstead_store::model::{Mailbox, SpecialUse};
use mailstead_types::AccountId;

use crate::session::{CmdError, CmdResult, Done, Session, bad, no};

/// The hierarchy delimiter.
pub(crate) const DELIMITER: char = '/';

/// Puts `INBOX` (any case) as the first level into its canonical form.
fn canonical(name: &str) -> String {
    let first = name.split(DELIMITER).next().unwrap_or_default();
    if first.eq_ignore_ascii_case("INBOX") {
        format!("INBOX{}", &name[first.len()..])
    } else {
        name.to_string()
    }
}

/// The stored name a client's mailbox argument means.
pub(crate) fn decode_name(s: &Session, raw: &MailboxName) -> Result<String, CmdError> {
    let text = if s.rev2 {
        String::from_utf8(raw.0.clone()).map_err(|_| bad("mailbox name is not UTF-8"))?
    } else {
        match mutf7::decode(&raw.0) {
            Some(t) => t,
            // Clients that never heard of modified UTF-7 send UTF-8; take it when it is
            // unambiguous (no `&`).
            None => match String::from_utf8(raw.0.clone()) {
                Ok(t) if !t.contains('&') => t,
                _ => return Err(bad("mailbox name is not valid modified UTF-7")),
            },
        }
    };
    if text.chars().any(|c| c.is_control()) {
        return Err(bad("mailbox name holds control characters"));
    }
    Ok(canonical(&text))
}

/// A stored name as this client must see it.
pub(crate) fn encode_name(s: &Session, name: &str) -> String {
    if s.rev2 {
        name.to_string()
    } else {
        mutf7::encode(name)
    }
}

/// Checks a name for CREATE/RENAME targets; returns it without a trailing delimiter.
fn valid_new_name(name: &str) -> Result<String, CmdError> {
    let trimmed = name.strip_suffix(DELIMITER).unwrap_or(name);
    if trimmed.is_empty() {
        return Err(bad("empty mailbox name"));
    }
    if trimmed.len() > 1000 {
        return Err(bad("mailbox name too long"));
    }
    if trimmed.contains(['*', '%']) {
        return Err(no(
            Some(ResponseCode::Cannot),
            "mailbox names cannot hold * or %",
        ));
    }
    if trimmed.split(DELIMITER).any(|level| level.is_empty()) {
        return Err(no(
            Some(ResponseCode::Cannot),
            "empty hierarchy level in the name",
        ));
    }
    if trimmed.split(DELIMITER).count() > 32 {
        return Err(no(Some(ResponseCode::Cannot), "hierarchy too deep"));
    }
    Ok(canonical(trimmed))
}

/// The parents of a name: `a/b/c` → `a`, `a/b`.
fn parents(name: &str) -> Vec<&str> {
    name.match_indices(DELIMITER)
        .map(|(i, _)| &name[..i])
        .collect()
}

fn not_found() -> CmdError {
    no(Some(ResponseCode::NonExistent), "no such mailbox")
}

async fn find(s: &Session, account: AccountId, name: &str) -> Result<Mailbox, CmdError> {
    s.server
        .stores
        .meta
        .mailbox(account, name)
        .await?
        .ok_or_else(not_found)
}

/// CREATE (RFC 9051 §6.3.4, CREATE-SPECIAL-USE RFC 6154 §3): missing parents are
/// created too.
pub(crate) async fn create(s: &mut Session, raw: &MailboxName, uses: &[String]) -> CmdResult {
    let account = s.account()?.id;
    let name = valid_new_name(&decode_name(s, raw)?)?;
    if name.eq_ignore_ascii_case("INBOX") {
        return Err(no(Some(ResponseCode::AlreadyExists), "INBOX always exists"));
    }
    let special = match uses {
        [] => None,
        [one] => Some(
            SpecialUse::parse(one)
                .ok_or_else(|| no(Some(ResponseCode::UseAttr), "unknown special-use attribute"))?,
        ),
        _ => {
            return Err(no(
                Some(ResponseCode::UseAttr),
                "one special-use attribute per mailbox",
            ));
        }
    };
    let meta = s.server.stores.meta.clone();
    if meta.mailbox(account, &name).await?.is_some() {
        return Err(no(Some(ResponseCode::AlreadyExists), "mailbox exists"));
    }
    for parent in parents(&name) {
        if meta.mailbox(account, parent).await?.is_none() {
            match meta.create_mailbox(account, parent, None).await {
                Ok(_) | Err(StoreError::Conflict(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
    match meta.create_mailbox(account, &name, special).await {
        Ok(_) => Ok(Done::ok("CREATE completed")),
        Err(StoreError::Conflict(_)) => {
            Err(no(Some(ResponseCode::AlreadyExists), "mailbox exists"))
        }
        Err(e) => Err(e.into()),
    }
}

/// DELETE (RFC 9051 §6.3.5). Children, if any, stay (their parent becomes a
/// non-existent hierarchy level).
pub(crate) async fn delete(s: &mut Session, raw: &MailboxName) -> CmdResult {
    let account = s.account()?.id;
    let name = decode_name(s, raw)?;
    if name == "INBOX" {
        return Err(no(Some(ResponseCode::Cannot), "INBOX cannot be deleted"));
    }
    let mailbox = find(s, account, &name).await?;
    if s.selected.as_ref().map(|sel| sel.mailbox_id()) == Some(mailbox.id) {
        s.selected = None;
    }
    s.server.stores.meta.delete_mailbox(mailbox.id).await?;
    Ok(Done::ok("DELETE completed"))
}

/// RENAME (RFC 9051 §6.3.6): children move with it; renaming INBOX moves its messages
/// into a new mailbox and leaves INBOX empty.
pub(crate) async fn rename(s: &mut Session, from: &MailboxName, to: &MailboxName) -> CmdResult {
    let account = s.account()?.id;
    let from = decode_name(s, from)?;
    let to = valid_new_name(&decode_name(s, to)?)?;
    let meta = s.server.stores.meta.clone();
    let source = find(s, account, &from).await?;
    if to.eq_ignore_ascii_case("INBOX") || meta.mailbox(account, &to).await?.is_some() {
        return Err(no(Some(ResponseCode::AlreadyExists), "target exists"));
    }
    if to.starts_with(&format!("{from}{DELIMITER}")) {
        return Err(no(
            Some(ResponseCode::Cannot),
            "cannot move a mailbox into itself",
        ));
    }
    for parent in parents(&to) {
        if meta.mailbox(account, parent).await?.is_none() {
            match meta.create_mailbox(account, parent, None).await {
                Ok(_) | Err(StoreError::Conflict(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
    if from == "INBOX" {
        let target = meta.create_mailbox(account, &to, None).await?;
        let uids: Vec<_> = meta
            .messages(source.id)
            .await?
            .iter()
            .map(|m| m.uid)
            .collect();
        if !uids.is_empty() {
            meta.copy_messages(source.id, &uids, target.id, true)
                .await?;
        }
        return Ok(Done::ok("RENAME completed"));
    }
    let prefix = format!("{from}{DELIMITER}");
    let all = meta.mailboxes(account).await?;
    let children: Vec<&Mailbox> = all.iter().filter(|m| m.name.starts_with(&prefix)).collect();
    for child in &children {
        let new_name = format!("{to}{DELIMITER}{}", &child.name[prefix.len()..]);
        if all.iter().any(|m| m.name == new_name) {
            return Err(no(
                Some(ResponseCode::AlreadyExists),
                format!("{new_name} exists"),
            ));
        }
    }
    meta.rename_mailbox(source.id, &to).await?;
    for child in children {
        let new_name = format!("{to}{DELIMITER}{}", &child.name[prefix.len()..]);
        meta.rename_mailbox(child.id, &new_name).await?;
    }
    if let Some(sel) = s.selected.as_mut()
        && sel.mailbox.id == source.id
    {
        sel.mailbox.name = to.clone();
    }
    Ok(Done::ok("RENAME completed"))
}

/// SUBSCRIBE / UNSUBSCRIBE (RFC 9051 §6.3.7–6.3.8).
pub(crate) async fn subscribe(s: &mut Session, raw: &MailboxName, on: bool) -> CmdResult {
    let account = s.account()?.id;
    let name = decode_name(s, raw)?;
    let mailbox = find(s, account, &name).await?;
    s.server.stores.meta.set_subscribed(mailbox.id, on).await?;
    Ok(Done::ok(if on {
        "SUBSCRIBE completed"
    } else {
        "UNSUBSCRIBE completed"
    }))
}

/// Whether `name` matches a LIST pattern (`*` anything, `%` anything but the delimiter).
/// Dynamic programming over (pattern position, name position): no recursion, and
/// O(pattern × name) however many wildcards a client sends.
pub(crate) fn matches(pattern: &[char], name: &[char]) -> bool {
    // row[j]: pattern[..i] matches name[..j].
    let mut row = vec![false; name.len() + 1];
    row[0] = true;
    for &pc in pattern {
        let mut next = vec![false; name.len() + 1];
        match pc {
            '*' => {
                let mut any = false;
                for j in 0..=name.len() {
                    any |= row[j];
                    next[j] = any;
                }
            }
            '%' => {
                let mut run = false;
                for j in 0..=name.len() {
                    if j > 0 && name[j - 1] == DELIMITER {
                        run = false;
                    }
                    run |= row[j];
                    next[j] = run;
                }
            }
            c => {
                for j in 1..=name.len() {
                    next[j] = row[j - 1] && name[j - 1] == c;
                }
            }
        }
        row = next;
    }
    row[name.len()]
}

/// One row a LIST may return.
struct Entry {
    exists: Option<Mailbox>,
    has_children: bool,
    subscribed_child: bool,
}

fn entries(all: &[Mailbox]) -> BTreeMap<String, Entry> {
    let mut map: BTreeMap<String, Entry> = BTreeMap::new();
    for m in all {
        map.entry(m.name.clone())
            .or_insert(Entry {
                exists: None,
                has_children: false,
                subscribed_child: false,
            })
            .exists = Some(m.clone());
        for parent in parents(&m.name) {
            let e = map.entry(parent.to_string()).or_insert(Entry {
                exists: None,
                has_children: false,
                subscribed_child: false,
            });
            e.has_children = true;
            if m.subscribed {
                e.subscribed_child = true;
            }
        }
    }
    map
}

/// LIST (RFC 9051 §6.3.9, RFC 5258, RFC 5819, RFC 6154).
pub(crate) async fn list(s: &mut Session, cmd: &ListCommand) -> CmdResult {
    let account = s.account()?.id;
    let reference = decode_name(s, &cmd.reference)?;
    let mut patterns = Vec::new();
    for p in &cmd.patterns {
        let raw = decode_name(s, p)?;
        patterns.push(raw);
    }
    let extended = !cmd.selection.is_empty() || !cmd.returns.is_empty() || patterns.len() > 1;
    if patterns.len() == 1 && patterns[0].is_empty() {
        // RFC 9051 §6.3.9: the delimiter and root of the reference.
        let item = ListItem {
            attributes: vec!["\\Noselect".into()],
            delimiter: Some(DELIMITER),
            name: String::new(),
            child_info: vec![],
            old_name: None,
        };
        s.send(&Response::List(item));
        return Ok(Done::ok("LIST completed"));
    }
    let sel_subscribed = cmd.selection.contains(&ListSelect::Subscribed);
    let sel_special = cmd.selection.contains(&ListSelect::SpecialUse);
    let recursive = cmd.selection.contains(&ListSelect::RecursiveMatch);
    if recursive && !sel_subscribed && !sel_special {
        return Err(bad("RECURSIVEMATCH needs another selection option"));
    }
    let ret_subscribed = sel_subscribed || cmd.returns.contains(&ListReturn::Subscribed);
    // CHILDREN is always returned (RFC 3348 servers may); SPECIAL-USE attributes too.
    let status_items: Option<Vec<StatusItem>> = cmd.returns.iter().find_map(|r| match r {
        ListReturn::Status(items) => Some(items.clone()),
        _ => None,
    });
    let all = s.server.stores.meta.mailboxes(account).await?;
    let map = entries(&all);
    let compiled: Vec<Vec<char>> = patterns
        .iter()
        .map(|p| canonical(&format!("{reference}{p}")).chars().collect())
        .collect();
    let mut names: Vec<(&String, &Entry)> = map
        .iter()
        .filter(|(name, _)| {
            let chars: Vec<char> = name.chars().collect();
            compiled.iter().any(|p| matches(p, &chars))
        })
        .collect();
    // INBOX first, then by name.
    names.sort_by_key(|(name, _)| (name.as_str() != "INBOX", name.to_string()));
    let mut out = Vec::new();
    for (name, entry) in names {
        let mut attrs = Vec::new();
        let mut child_info = Vec::new();
        match &entry.exists {
            Some(m) => {
                if sel_subscribed && !m.subscribed {
                    if recursive && entry.subscribed_child {
                        child_info.push("SUBSCRIBED".to_string());
                    } else {
                        continue;
                    }
                }
                if sel_special && m.special_use.is_none() {
                    continue;
                }
                if let Some(u) = m.special_use {
                    attrs.push(u.as_str().to_string());
                }
                if ret_subscribed && m.subscribed {
                    attrs.push("\\Subscribed".into());
                }
            }
            None => {
                if sel_special {
                    continue;
                }
                if sel_subscribed {
                    if recursive && entry.subscribed_child {
                        child_info.push("SUBSCRIBED".to_string());
                    } else {
                        continue;
                    }
                }
                if extended || s.rev2 {
                    attrs.push("\\NonExistent".into());
                }
                attrs.push("\\Noselect".into());
            }
        }
        attrs.push(if entry.has_children {
            "\\HasChildren".into()
        } else {
            "\\HasNoChildren".into()
        });
        if name == "INBOX" && !attrs.iter().any(|a| a.starts_with("\\No")) {
            // Nothing to add: INBOX has no special-use role.
        }
        out.push((
            ListItem {
                attributes: attrs,
                delimiter: Some(DELIMITER),
                name: encode_name(s, name),
                child_info,
                old_name: None,
            },
            entry.exists.clone(),
        ));
    }
    for (item, mailbox) in out {
        s.send(&Response::List(item));
        if let (Some(items), Some(m)) = (&status_items, mailbox) {
            let values = status_values(s, &m, items).await?;
            let name = encode_name(s, &m.name);
            s.send(&Response::MailboxStatus {
                mailbox: name,
                items: values,
            });
        }
    }
    Ok(Done::ok("LIST completed"))
}

/// LSUB (RFC 3501 §6.3.9; kept for IMAP4rev1 clients).
pub(crate) async fn lsub(
    s: &mut Session,
    reference: &MailboxName,
    pattern: &MailboxName,
) -> CmdResult {
    let account = s.account()?.id;
    let pattern: Vec<char> = canonical(&format!(
        "{}{}",
        decode_name(s, reference)?,
        decode_name(s, pattern)?
    ))
    .chars()
    .collect();
    let all = s.server.stores.meta.mailboxes(account).await?;
    let mut subscribed: BTreeSet<String> = BTreeSet::new();
    for m in all.iter().filter(|m| m.subscribed) {
        subscribed.insert(m.name.clone());
    }
    let mut items = Vec::new();
    let mut implied: BTreeSet<String> = BTreeSet::new();
    for name in &subscribed {
        let chars: Vec<char> = name.chars().collect();
        if matches(&pattern, &chars) {
            items.push((name.clone(), false));
        } else {
            // `%` at the end lists a parent level of a subscribed mailbox as \Noselect.
            for p in parents(name) {
                let pc: Vec<char> = p.chars().collect();
                if !subscribed.contains(p) && matches(&pattern, &pc) {
                    implied.insert(p.to_string());
                }
            }
        }
    }
    items.extend(implied.into_iter().map(|n| (n, true)));
    items.sort();
    for (name, noselect) in items {
        let item = ListItem {
            attributes: if noselect {
                vec!["\\Noselect".into()]
            } else {
                vec![]
            },
            delimiter: Some(DELIMITER),
            name: encode_name(s, &name),
            child_info: vec![],
            old_name: None,
        };
        s.send(&Response::Lsub(item));
    }
    Ok(Done::ok("LSUB completed"))
}

async fn status_values(
    s: &Session,
    m: &Mailbox,
    items: &[StatusItem],
) -> Result<Vec<(StatusItem, u64)>, CmdError> {
    let needs_counts = items.iter().any(|i| {
        matches!(
            i,
            StatusItem::Messages | StatusItem::Unseen | StatusItem::Deleted | StatusItem::Size
        )
    });
    let counts = if needs_counts {
        s.server.stores.meta.mailbox_counts(m.id).await?
    } else {
        Default::default()
    };
    let mut out = Vec::new();
    for item in items {
        let v = match item {
            StatusItem::Messages => counts.messages,
            StatusItem::Recent => 0,
            StatusItem::UidNext => m.uid_next.0.into(),
            StatusItem::UidValidity => m.uid_validity.0.into(),
            StatusItem::Unseen => counts.unseen,
            StatusItem::Deleted => counts.deleted,
            StatusItem::Size => counts.size,
            StatusItem::HighestModSeq => m.highest_modseq.0,
            StatusItem::AppendLimit => s.server.config.max_message_size,
        };
        out.push((*item, v));
    }
    Ok(out)
}

/// STATUS (RFC 9051 §6.3.11).
pub(crate) async fn status(s: &mut Session, raw: &MailboxName, items: &[StatusItem]) -> CmdResult {
    let account = s.account()?.id;
    let name = decode_name(s, raw)?;
    let m = find(s, account, &name).await?;
    if items.contains(&StatusItem::HighestModSeq) {
        s.condstore = true;
    }
    let values = status_values(s, &m, items).await?;
    let mailbox = encode_name(s, &m.name);
    s.send(&Response::MailboxStatus {
        mailbox,
        items: values,
    });
    Ok(Done::ok("STATUS completed"))
}

/// The account's quota line, if it has a quota: `(root, used KiB, limit KiB)`.
async fn quota(s: &Session) -> Result<Option<(u64, u64)>, CmdError> {
    let account = s.account()?;
    let Some(limit) = account.quota_bytes else {
        return Ok(None);
    };
    let used = s.server.stores.meta.account_usage(account.id).await?;
    Ok(Some((used.div_ceil(1024), limit / 1024)))
}

/// GETQUOTA (RFC 9208 §4.2): the one root is `""`, the whole account.
pub(crate) async fn get_quota(s: &mut Session, root: &str) -> CmdResult {
    if !root.is_empty() {
        return Err(no(Some(ResponseCode::NonExistent), "no such quota root"));
    }
    let Some((used, limit)) = quota(s).await? else {
        return Err(no(
            Some(ResponseCode::NonExistent),
            "this account has no quota",
        ));
    };
    s.send(&Response::Quota {
        root: String::new(),
        resources: vec![("STORAGE".into(), used, limit)],
    });
    Ok(Done::ok("GETQUOTA completed"))
}

/// GETQUOTAROOT (RFC 9208 §4.3).
pub(crate) async fn get_quota_root(s: &mut Session, raw: &MailboxName) -> CmdResult {
    let account = s.account()?.id;
    let name = decode_name(s, raw)?;
    let m = find(s, account, &name).await?;
    let q = quota(s).await?;
    let mailbox = encode_name(s, &m.name);
    s.send(&Response::QuotaRoot {
        mailbox,
        roots: if q.is_some() {
            vec![String::new()]
        } else {
            vec![]
        },
    });
    if let Some((used, limit)) = q {
        s.send(&Response::Quota {
            root: String::new(),
            resources: vec![("STORAGE".into(), used, limit)],
        });
    }
    Ok(Done::ok("GETQUOTAROOT completed"))
}

/// Quota check before adding `adding` octets (APPEND, COPY): `NO [OVERQUOTA]`.
pub(crate) async fn check_quota(s: &Session, adding: u64) -> Result<(), CmdError> {
    let account = s.account()?;
    if let Some(limit) = account.quota_bytes {
        let used = s.server.stores.meta.account_usage(account.id).await?;
        if used.saturating_add(adding) > limit {
            return Err(no(Some(ResponseCode::OverQuota), "quota exceeded"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, n: &str) -> bool {
        let p: Vec<char> = p.chars().collect();
        let n: Vec<char> = n.chars().collect();
        matches(&p, &n)
    }

    #[test]
    fn list_wildcards() {
        assert!(m("*", "a/b/c"));
        assert!(m("%", "INBOX"));
        assert!(!m("%", "a/b"));
        assert!(m("a/%", "a/b"));
        assert!(!m("a/%", "a/b/c"));
        assert!(m("a/*", "a/b/c"));
        assert!(m("*c", "a/b/c"));
        assert!(m("a%c", "abbc"));
        assert!(!m("a%c", "ab/c"));
        assert!(m("", ""));
        assert!(!m("", "a"));
        assert!(m("INBOX", "INBOX"));
        assert!(m("*/%", "a/b/c"));
        assert!(!m("%/%", "a/b/c"));
        assert!(m("%/%/%", "a/b/c"));
    }

    #[test]
    fn inbox_is_canonical_at_the_first_level_only() {
        assert_eq!(canonical("inbox"), "INBOX");
        assert_eq!(canonical("Inbox/Sub"), "INBOX/Sub");
        assert_eq!(canonical("a/inbox"), "a/inbox");
        assert_eq!(canonical("inboxes"), "inboxes");
    }

    #[test]
    fn parents_of_a_name() {
        assert_eq!(parents("a/b/c"), vec!["a", "a/b"]);
        assert!(parents("a").is_empty());
    }
}
