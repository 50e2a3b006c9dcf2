//! Encoders: responses (server side) and commands (client side, for tests and round trips).
//!
//! Strings are written in the smallest form their content allows (RFC 9051 §4.3): an atom
//! where the grammar allows one (`astring` positions) and every octet is an
//! `ASTRING-CHAR`; a quoted string when every octet is printable ASCII (`"` and `\`
//! escaped); otherwise a literal, `{n}` from the server and `{n+}` (RFC 7888) from the
//! client. Message data (`BODY[...]`, `RFC822*`) is always a literal, and `BINARY[...]`
//! data holding NUL a literal8 `~{n}` (RFC 3516 §4.2).

use crate::parse::{is_astring_char, is_list_char};
use crate::types::{
    BodyExtension, BodyFields, BodyStructure, Command, ESearch, Envelope, EnvelopeAddress,
    FetchAttr, FetchItem, Flag, ListItem, ListReturn, ListSelect, Partial, Response, ResponseCode,
    SearchKey, SearchReturn, Section, SectionText, SelectParams, SeqNum, SequenceSet, Status,
    StatusItem, StoreKind,
};

/// Literal style: a server sends synchronising `{n}` (no continuation needed in that
/// direction); a client here sends `{n+}`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    Server,
    Client,
}

/// Writes `data` as a literal (`{n}` or `{n+}` CRLF data).
fn literal(out: &mut Vec<u8>, data: &[u8], side: Side) {
    out.push(b'{');
    out.extend_from_slice(data.len().to_string().as_bytes());
    if side == Side::Client {
        out.push(b'+');
    }
    out.extend_from_slice(b"}\r\n");
    out.extend_from_slice(data);
}

/// `string = quoted / literal`: quoted when every octet is printable ASCII.
fn string(out: &mut Vec<u8>, s: &[u8], side: Side) {
    if s.iter().all(|b| matches!(b, 0x20..=0x7e)) {
        out.push(b'"');
        for &b in s {
            if b == b'"' || b == b'\\' {
                out.push(b'\\');
            }
            out.push(b);
        }
        out.push(b'"');
    } else {
        literal(out, s, side);
    }
}

/// `astring = 1*ASTRING-CHAR / string`
fn astring(out: &mut Vec<u8>, s: &[u8], side: Side) {
    if !s.is_empty() && s.iter().all(|&b| is_astring_char(b)) && !s.eq_ignore_ascii_case(b"NIL") {
        out.extend_from_slice(s);
    } else {
        string(out, s, side);
    }
}

/// `nstring = string / nil`
fn nstring(out: &mut Vec<u8>, s: Option<&[u8]>, side: Side) {
    match s {
        Some(s) => string(out, s, side),
        None => out.extend_from_slice(b"NIL"),
    }
}

/// Writes `items` separated by single spaces.
fn spaced<T>(out: &mut Vec<u8>, items: &[T], mut f: impl FnMut(&mut Vec<u8>, &T)) {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(b' ');
        }
        f(out, item);
    }
}

/// `"(" items ")"` with single spaces.
fn paren<T>(out: &mut Vec<u8>, items: &[T], f: impl FnMut(&mut Vec<u8>, &T)) {
    out.push(b'(');
    spaced(out, items, f);
    out.push(b')');
}

fn num(out: &mut Vec<u8>, n: impl ToString) {
    out.extend_from_slice(n.to_string().as_bytes());
}

/// Text of a response (`text = 1*TEXT-CHAR`): CR, LF and NUL become spaces, and an empty
/// text gets a fallback so the line stays valid.
fn text(out: &mut Vec<u8>, t: &str, fallback: &str) {
    let t = if t.is_empty() { fallback } else { t };
    out.extend(t.bytes().map(|b| {
        if matches!(b, b'\r' | b'\n' | 0) {
            b' '
        } else {
            b
        }
    }));
}

/// `flag` / `flag-perm`.
fn flag(out: &mut Vec<u8>, f: &Flag) {
    let s: &str = match f {
        Flag::Seen => "\\Seen",
        Flag::Answered => "\\Answered",
        Flag::Flagged => "\\Flagged",
        Flag::Deleted => "\\Deleted",
        Flag::Draft => "\\Draft",
        Flag::Recent => "\\Recent",
        Flag::Wildcard => "\\*",
        Flag::Extension(name) => {
            out.push(b'\\');
            name
        }
        Flag::Keyword(k) => k,
    };
    out.extend_from_slice(s.as_bytes());
}

fn flag_list(out: &mut Vec<u8>, flags: &[Flag]) {
    paren(out, flags, flag);
}

/// A uid-set / sequence-set from `(first, last)` ranges: `1:3,5`.
fn ranges(out: &mut Vec<u8>, ranges: &[(u32, u32)]) {
    for (i, &(a, b)) in ranges.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        num(out, a);
        if a != b {
            out.push(b':');
            num(out, b);
        }
    }
}

fn seq_num(out: &mut Vec<u8>, n: SeqNum) {
    match n {
        SeqNum::Value(v) => num(out, v),
        SeqNum::Star => out.push(b'*'),
    }
}

fn sequence_set(out: &mut Vec<u8>, set: &SequenceSet) {
    match set {
        SequenceSet::Saved => out.push(b'$'),
        SequenceSet::Ranges(rs) => {
            for (i, r) in rs.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                seq_num(out, r.start);
                if r.start != r.end {
                    out.push(b':');
                    seq_num(out, r.end);
                }
            }
        }
    }
}

fn status_item_name(item: StatusItem) -> &'static str {
    match item {
        StatusItem::Messages => "MESSAGES",
        StatusItem::Recent => "RECENT",
        StatusItem::UidNext => "UIDNEXT",
        StatusItem::UidValidity => "UIDVALIDITY",
        StatusItem::Unseen => "UNSEEN",
        StatusItem::Deleted => "DELETED",
        StatusItem::Size => "SIZE",
        StatusItem::HighestModSeq => "HIGHESTMODSEQ",
        StatusItem::AppendLimit => "APPENDLIMIT",
    }
}

/// `section-spec` without the brackets: `1.2.HEADER.FIELDS (SUBJECT FROM)`.
fn section(out: &mut Vec<u8>, s: &Section, side: Side) {
    part(out, &s.part);
    let Some(t) = &s.text else { return };
    if !s.part.is_empty() {
        out.push(b'.');
    }
    match t {
        SectionText::Header => out.extend_from_slice(b"HEADER"),
        SectionText::Text => out.extend_from_slice(b"TEXT"),
        SectionText::Mime => out.extend_from_slice(b"MIME"),
        SectionText::HeaderFields(names) => {
            out.extend_from_slice(b"HEADER.FIELDS ");
            paren(out, names, |out, n| astring(out, n.as_bytes(), side));
        }
        SectionText::HeaderFieldsNot(names) => {
            out.extend_from_slice(b"HEADER.FIELDS.NOT ");
            paren(out, names, |out, n| astring(out, n.as_bytes(), side));
        }
    }
}

/// `section-part = nz-number *("." nz-number)`
fn part(out: &mut Vec<u8>, part: &[u32]) {
    for (i, p) in part.iter().enumerate() {
        if i > 0 {
            out.push(b'.');
        }
        num(out, p);
    }
}

// ------------------------------------------------------------------------------------
// Responses
// ------------------------------------------------------------------------------------

impl Response {
    /// Appends the wire form, CRLF included, to `out`. Strings become atoms, quoted
    /// strings or literals as their content requires; `BINARY` data holding NUL becomes
    /// a literal8.
    pub fn encode(&self, out: &mut Vec<u8>) {
        const S: Side = Side::Server;
        match self {
            Response::Status {
                tag,
                status,
                code,
                text: t,
            } => {
                match tag {
                    Some(tag) => out.extend_from_slice(tag.as_bytes()),
                    None => out.push(b'*'),
                }
                let (word, fallback) = match status {
                    Status::Ok => ("OK", "done"),
                    Status::No => ("NO", "failed"),
                    Status::Bad => ("BAD", "invalid command"),
                    Status::PreAuth => ("PREAUTH", "logged in"),
                    Status::Bye => ("BYE", "logging out"),
                };
                out.push(b' ');
                out.extend_from_slice(word.as_bytes());
                out.push(b' ');
                if let Some(code) = code {
                    out.push(b'[');
                    response_code(out, code);
                    out.extend_from_slice(b"] ");
                }
                text(out, t, fallback);
            }
            Response::Continue(t) => {
                out.extend_from_slice(b"+ ");
                text(out, t, "");
            }
            Response::Capability(caps) => {
                out.extend_from_slice(b"* CAPABILITY");
                for c in caps {
                    out.push(b' ');
                    out.extend_from_slice(c.as_bytes());
                }
            }
            Response::Enabled(caps) => {
                out.extend_from_slice(b"* ENABLED");
                for c in caps {
                    out.push(b' ');
                    out.extend_from_slice(c.as_bytes());
                }
            }
            Response::Exists(n) => out.extend_from_slice(format!("* {n} EXISTS").as_bytes()),
            Response::Recent(n) => out.extend_from_slice(format!("* {n} RECENT").as_bytes()),
            Response::Expunge(n) => out.extend_from_slice(format!("* {n} EXPUNGE").as_bytes()),
            Response::Vanished { earlier, uids } => {
                out.extend_from_slice(b"* VANISHED ");
                if *earlier {
                    out.extend_from_slice(b"(EARLIER) ");
                }
                ranges(out, uids);
            }
            Response::Flags(flags) => {
                out.extend_from_slice(b"* FLAGS ");
                flag_list(out, flags);
            }
            Response::List(item) => {
                out.extend_from_slice(b"* LIST ");
                list_item(out, item, true);
            }
            Response::Lsub(item) => {
                out.extend_from_slice(b"* LSUB ");
                list_item(out, item, false);
            }
            Response::MailboxStatus { mailbox, items } => {
                out.extend_from_slice(b"* STATUS ");
                astring(out, mailbox.as_bytes(), S);
                out.push(b' ');
                paren(out, items, |out, (item, value)| {
                    out.extend_from_slice(status_item_name(*item).as_bytes());
                    out.push(b' ');
                    num(out, value);
                });
            }
            Response::Search(ns, modseq) => {
                out.extend_from_slice(b"* SEARCH");
                for n in ns {
                    out.push(b' ');
                    num(out, n);
                }
                if let Some(m) = modseq {
                    out.extend_from_slice(format!(" (MODSEQ {m})").as_bytes());
                }
            }
            Response::ESearch(e) => esearch(out, e),
            Response::Fetch(n, items) => {
                out.extend_from_slice(format!("* {n} FETCH ").as_bytes());
                paren(out, items, fetch_item);
            }
            Response::Namespace { prefix, delimiter } => {
                out.extend_from_slice(b"* NAMESPACE ((");
                string(out, prefix.as_bytes(), S);
                out.push(b' ');
                delimiter_or_nil(out, Some(*delimiter));
                out.extend_from_slice(b")) NIL NIL");
            }
            Response::Id(fields) => {
                out.extend_from_slice(b"* ID ");
                match fields {
                    None => out.extend_from_slice(b"NIL"),
                    Some(fields) => paren(out, fields, |out, (k, v)| {
                        string(out, k.as_bytes(), S);
                        out.push(b' ');
                        string(out, v.as_bytes(), S);
                    }),
                }
            }
            Response::Quota { root, resources } => {
                out.extend_from_slice(b"* QUOTA ");
                astring(out, root.as_bytes(), S);
                out.push(b' ');
                paren(out, resources, |out, (name, usage, limit)| {
                    out.extend_from_slice(name.as_bytes());
                    out.extend_from_slice(format!(" {usage} {limit}").as_bytes());
                });
            }
            Response::QuotaRoot { mailbox, roots } => {
                out.extend_from_slice(b"* QUOTAROOT ");
                astring(out, mailbox.as_bytes(), S);
                for r in roots {
                    out.push(b' ');
                    astring(out, r.as_bytes(), S);
                }
            }
        }
        out.extend_from_slice(b"\r\n");
    }

    /// The wire form as a new vector (see [`Response::encode`]).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode(&mut out);
        out
    }
}

/// `resp-text-code` (RFC 9051 §9 and the extensions').
fn response_code(out: &mut Vec<u8>, code: &ResponseCode) {
    use ResponseCode as C;
    let simple = match code {
        C::Alert => "ALERT",
        C::Parse => "PARSE",
        C::ReadOnly => "READ-ONLY",
        C::ReadWrite => "READ-WRITE",
        C::TryCreate => "TRYCREATE",
        C::UidNotSticky => "UIDNOTSTICKY",
        C::NoModSeq => "NOMODSEQ",
        C::Closed => "CLOSED",
        C::OverQuota => "OVERQUOTA",
        C::TooBig => "TOOBIG",
        C::Limit => "LIMIT",
        C::NonExistent => "NONEXISTENT",
        C::AlreadyExists => "ALREADYEXISTS",
        C::AuthenticationFailed => "AUTHENTICATIONFAILED",
        C::AuthorizationFailed => "AUTHORIZATIONFAILED",
        C::Unavailable => "UNAVAILABLE",
        C::PrivacyRequired => "PRIVACYREQUIRED",
        C::ServerBug => "SERVERBUG",
        C::Cannot => "CANNOT",
        C::InUse => "INUSE",
        C::ExpungeIssued => "EXPUNGEISSUED",
        C::NoPerm => "NOPERM",
        C::ClientBug => "CLIENTBUG",
        C::UseAttr => "USEATTR",
        C::UnknownCte => "UNKNOWN-CTE",
        C::NotSaved => "NOTSAVED",
        C::HasChildren => "HASCHILDREN",
        C::ContactAdmin => "CONTACTADMIN",
        C::Expired => "EXPIRED",
        C::Capability(caps) => {
            out.extend_from_slice(b"CAPABILITY");
            for c in caps {
                out.push(b' ');
                out.extend_from_slice(c.as_bytes());
            }
            return;
        }
        C::PermanentFlags(flags) => {
            out.extend_from_slice(b"PERMANENTFLAGS ");
            flag_list(out, flags);
            return;
        }
        C::UidNext(n) => return num(out, format!("UIDNEXT {n}")),
        C::UidValidity(n) => return num(out, format!("UIDVALIDITY {n}")),
        C::Unseen(n) => return num(out, format!("UNSEEN {n}")),
        C::HighestModSeq(n) => return num(out, format!("HIGHESTMODSEQ {n}")),
        C::AppendUid(validity, uids) => {
            out.extend_from_slice(format!("APPENDUID {validity} ").as_bytes());
            ranges(out, uids);
            return;
        }
        C::CopyUid(validity, from, to) => {
            out.extend_from_slice(format!("COPYUID {validity} ").as_bytes());
            ranges(out, from);
            out.push(b' ');
            ranges(out, to);
            return;
        }
        C::Modified(set) => {
            out.extend_from_slice(b"MODIFIED ");
            ranges(out, set);
            return;
        }
        C::BadCharset(charsets) => {
            out.extend_from_slice(b"BADCHARSET");
            if !charsets.is_empty() {
                out.push(b' ');
                paren(out, charsets, |out, c| {
                    astring(out, c.as_bytes(), Side::Server)
                });
            }
            return;
        }
    };
    out.extend_from_slice(simple.as_bytes());
}

/// `"/"` or `NIL` (`QUOTED-CHAR` with escapes).
fn delimiter_or_nil(out: &mut Vec<u8>, d: Option<char>) {
    match d {
        None => out.extend_from_slice(b"NIL"),
        Some(c) => {
            let mut buf = [0u8; 4];
            string(out, c.encode_utf8(&mut buf).as_bytes(), Side::Server);
        }
    }
}

/// `mailbox-list = "(" [mbx-list-flags] ")" SP (DQUOTE QUOTED-CHAR DQUOTE / nil) SP mailbox
/// [SP mbox-list-extended]` (RFC 9051 §9, RFC 5258 §5)
fn list_item(out: &mut Vec<u8>, item: &ListItem, extended: bool) {
    paren(out, &item.attributes, |out, a| {
        out.extend_from_slice(a.as_bytes())
    });
    out.push(b' ');
    delimiter_or_nil(out, item.delimiter);
    out.push(b' ');
    astring(out, item.name.as_bytes(), Side::Server);
    if !extended || (item.child_info.is_empty() && item.old_name.is_none()) {
        return;
    }
    out.extend_from_slice(b" (");
    let mut first = true;
    if !item.child_info.is_empty() {
        out.extend_from_slice(b"\"CHILDINFO\" ");
        paren(out, &item.child_info, |out, c| {
            string(out, c.as_bytes(), Side::Server);
        });
        first = false;
    }
    if let Some(old) = &item.old_name {
        if !first {
            out.push(b' ');
        }
        out.extend_from_slice(b"\"OLDNAME\" (");
        string(out, old.as_bytes(), Side::Server);
        out.push(b')');
    }
    out.push(b')');
}

/// `esearch-response = "ESEARCH" [search-correlator] [SP "UID"] *(SP search-return-data)`
/// (RFC 4731 §3.1)
fn esearch(out: &mut Vec<u8>, e: &ESearch) {
    out.extend_from_slice(b"* ESEARCH");
    if let Some(tag) = &e.tag {
        out.extend_from_slice(b" (TAG ");
        string(out, tag.as_bytes(), Side::Server);
        out.push(b')');
    }
    if e.uid {
        out.extend_from_slice(b" UID");
    }
    if let Some(n) = e.min {
        out.extend_from_slice(format!(" MIN {n}").as_bytes());
    }
    if let Some(n) = e.max {
        out.extend_from_slice(format!(" MAX {n}").as_bytes());
    }
    if let Some(n) = e.count {
        out.extend_from_slice(format!(" COUNT {n}").as_bytes());
    }
    if let Some(all) = e.all.as_deref().filter(|a| !a.is_empty()) {
        out.extend_from_slice(b" ALL ");
        ranges(out, all);
    }
    if let Some(m) = e.modseq {
        out.extend_from_slice(format!(" MODSEQ {m}").as_bytes());
    }
}

/// One `msg-att` item.
fn fetch_item(out: &mut Vec<u8>, item: &FetchItem) {
    const S: Side = Side::Server;
    match item {
        FetchItem::Preencoded { attr, wire } => {
            out.extend_from_slice(attr.as_bytes());
            out.push(b' ');
            out.extend_from_slice(wire);
        }
        FetchItem::Flags(flags) => {
            out.extend_from_slice(b"FLAGS ");
            flag_list(out, flags);
        }
        FetchItem::Uid(n) => num(out, format!("UID {n}")),
        FetchItem::InternalDate(dt) => {
            out.extend_from_slice(b"INTERNALDATE \"");
            out.extend_from_slice(format_date_time(dt).as_bytes());
            out.push(b'"');
        }
        FetchItem::Rfc822Size(n) => num(out, format!("RFC822.SIZE {n}")),
        FetchItem::Envelope(env) => {
            out.extend_from_slice(b"ENVELOPE ");
            envelope(out, env);
        }
        FetchItem::Body(b) => {
            out.extend_from_slice(b"BODY ");
            body(out, b, false);
        }
        FetchItem::BodyStructure(b) => {
            out.extend_from_slice(b"BODYSTRUCTURE ");
            body(out, b, true);
        }
        FetchItem::ModSeq(m) => num(out, format!("MODSEQ ({m})")),
        FetchItem::BodySection {
            section: s,
            origin,
            data,
        } => {
            out.extend_from_slice(b"BODY[");
            section(out, s, S);
            out.push(b']');
            if let Some(o) = origin {
                out.extend_from_slice(format!("<{o}>").as_bytes());
            }
            out.push(b' ');
            match data {
                Some(d) => literal(out, d, S),
                None => out.extend_from_slice(b"NIL"),
            }
        }
        FetchItem::Rfc822 { attr, data } => {
            out.extend_from_slice(attr.as_bytes());
            out.push(b' ');
            literal(out, data, S);
        }
        FetchItem::Binary {
            part: p,
            origin,
            data,
        } => {
            out.extend_from_slice(b"BINARY[");
            part(out, p);
            out.push(b']');
            if let Some(o) = origin {
                out.extend_from_slice(format!("<{o}>").as_bytes());
            }
            out.push(b' ');
            match data {
                Some(d) => {
                    if d.contains(&0) {
                        out.push(b'~');
                    }
                    literal(out, d, S);
                }
                None => out.extend_from_slice(b"NIL"),
            }
        }
        FetchItem::BinarySize { part: p, size } => {
            out.extend_from_slice(b"BINARY.SIZE[");
            part(out, p);
            out.extend_from_slice(format!("] {size}").as_bytes());
        }
    }
}

fn opt_str(out: &mut Vec<u8>, s: &Option<String>) {
    nstring(out, s.as_deref().map(str::as_bytes), Side::Server);
}

/// `envelope = "(" env-date SP env-subject SP env-from SP env-sender SP env-reply-to SP
/// env-to SP env-cc SP env-bcc SP env-in-reply-to SP env-message-id ")"`
fn envelope(out: &mut Vec<u8>, e: &Envelope) {
    out.push(b'(');
    opt_str(out, &e.date);
    out.push(b' ');
    opt_str(out, &e.subject);
    for list in [&e.from, &e.sender, &e.reply_to, &e.to, &e.cc, &e.bcc] {
        out.push(b' ');
        addresses(out, list);
    }
    out.push(b' ');
    opt_str(out, &e.in_reply_to);
    out.push(b' ');
    opt_str(out, &e.message_id);
    out.push(b')');
}

/// `"(" 1*address ")" / nil`; `address = "(" addr-name SP addr-adl SP addr-mailbox SP
/// addr-host ")"`
fn addresses(out: &mut Vec<u8>, list: &[EnvelopeAddress]) {
    if list.is_empty() {
        out.extend_from_slice(b"NIL");
        return;
    }
    out.push(b'(');
    for a in list {
        out.push(b'(');
        opt_str(out, &a.name);
        out.push(b' ');
        opt_str(out, &a.adl);
        out.push(b' ');
        opt_str(out, &a.mailbox);
        out.push(b' ');
        opt_str(out, &a.host);
        out.push(b')');
    }
    out.push(b')');
}

/// `body-fld-param = "(" string SP string *(SP string SP string) ")" / nil`
fn params(out: &mut Vec<u8>, ps: &[(String, String)]) {
    if ps.is_empty() {
        out.extend_from_slice(b"NIL");
        return;
    }
    paren(out, ps, |out, (k, v)| {
        string(out, k.as_bytes(), Side::Server);
        out.push(b' ');
        string(out, v.as_bytes(), Side::Server);
    });
}

/// `body-fields = body-fld-param SP body-fld-id SP body-fld-desc SP body-fld-enc SP
/// body-fld-octets`
fn body_fields(out: &mut Vec<u8>, f: &BodyFields) {
    params(out, &f.params);
    out.push(b' ');
    opt_str(out, &f.id);
    out.push(b' ');
    opt_str(out, &f.description);
    out.push(b' ');
    let enc = if f.encoding.is_empty() {
        "7BIT"
    } else {
        &f.encoding
    };
    string(out, enc.as_bytes(), Side::Server);
    out.push(b' ');
    num(out, f.octets);
}

/// `body-fld-dsp SP body-fld-lang SP body-fld-loc` (the tail shared by single and multi
/// part extension data).
fn body_ext_tail(out: &mut Vec<u8>, ext: &BodyExtension) {
    out.push(b' ');
    match &ext.disposition {
        None => out.extend_from_slice(b"NIL"),
        Some((value, ps)) => {
            out.push(b'(');
            string(out, value.as_bytes(), Side::Server);
            out.push(b' ');
            params(out, ps);
            out.push(b')');
        }
    }
    out.push(b' ');
    match ext.language.as_slice() {
        [] => out.extend_from_slice(b"NIL"),
        [one] => string(out, one.as_bytes(), Side::Server),
        many => paren(out, many, |out, l| string(out, l.as_bytes(), Side::Server)),
    }
    out.push(b' ');
    opt_str(out, &ext.location);
}

/// `body = "(" (body-type-1part / body-type-mpart) ")"`. With `extended` (BODYSTRUCTURE)
/// the extension data is written, at every level; without it (BODY) never.
///
/// A `MESSAGE/RFC822` or `MESSAGE/GLOBAL` part is written as `body-type-msg` (envelope,
/// body, lines); if the caller left `message` empty an empty envelope and an empty
/// `TEXT/PLAIN` body stand in, so the response stays parseable. `TEXT/*` parts always
/// carry `body-fld-lines` (0 when `lines` is `None`).
fn body(out: &mut Vec<u8>, b: &BodyStructure, extended: bool) {
    out.push(b'(');
    match b {
        BodyStructure::Single {
            media_type,
            subtype,
            fields,
            lines,
            message,
            ext,
        } => {
            string(out, media_type.as_bytes(), Side::Server);
            out.push(b' ');
            string(out, subtype.as_bytes(), Side::Server);
            out.push(b' ');
            body_fields(out, fields);
            let is_message = media_type.eq_ignore_ascii_case("MESSAGE")
                && (subtype.eq_ignore_ascii_case("RFC822")
                    || subtype.eq_ignore_ascii_case("GLOBAL"));
            if message.is_some() || is_message {
                out.push(b' ');
                match message {
                    Some(inner) => {
                        envelope(out, &inner.0);
                        out.push(b' ');
                        body(out, &inner.1, extended);
                    }
                    None => {
                        envelope(out, &Envelope::default());
                        out.push(b' ');
                        out.extend_from_slice(b"(\"TEXT\" \"PLAIN\" NIL NIL NIL \"7BIT\" 0 0)");
                    }
                }
                out.push(b' ');
                num(out, lines.unwrap_or(0));
            } else if media_type.eq_ignore_ascii_case("TEXT") {
                out.push(b' ');
                num(out, lines.unwrap_or(0));
            }
            if extended {
                out.push(b' ');
                opt_str(out, &ext.md5);
                body_ext_tail(out, ext);
            }
        }
        BodyStructure::Multi {
            parts,
            subtype,
            params: ps,
            ext,
        } => {
            for p in parts {
                body(out, p, extended);
            }
            if parts.is_empty() {
                // body-type-mpart needs a part; an empty text part keeps it parseable.
                out.extend_from_slice(b"(\"TEXT\" \"PLAIN\" NIL NIL NIL \"7BIT\" 0 0)");
            }
            out.push(b' ');
            string(out, subtype.as_bytes(), Side::Server);
            if extended {
                out.push(b' ');
                params(out, ps);
                body_ext_tail(out, ext);
            }
        }
    }
    out.push(b')');
}

/// `date-time` of RFC 9051 §9 without the quotes: `17-Jul-1996 02:44:25 -0700`.
///
/// The day is written as two digits (`date-day-fixed = (SP DIGIT) / 2DIGIT`); years
/// outside 0..=9999 are clamped, and the zone is rounded to whole minutes.
/// The wire form of an ENVELOPE value (`("date" "subject" ...)`), as the server sends it;
/// for [`FetchItem::Preencoded`].
pub fn envelope_wire(e: &Envelope) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    envelope(&mut out, e);
    out
}

/// The wire form of a BODY (`extended == false`) or BODYSTRUCTURE value; for
/// [`FetchItem::Preencoded`].
pub fn body_wire(b: &BodyStructure, extended: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    body(&mut out, b, extended);
    out
}

/// `date-time` of RFC 9051 §9 without the quotes: `17-Jul-1996 02:44:25 -0700`.
pub fn format_date_time(dt: &crate::types::DateTime) -> String {
    let offset = dt.offset().whole_minutes();
    let sign = if offset < 0 { '-' } else { '+' };
    let offset = offset.unsigned_abs();
    format!(
        "{:02}-{}-{:04} {:02}:{:02}:{:02} {}{:02}{:02}",
        dt.day(),
        month_name(dt.month()),
        dt.year().clamp(0, 9999),
        dt.hour(),
        dt.minute(),
        dt.second(),
        sign,
        offset / 60,
        offset % 60
    )
}

/// `date-month`
fn month_name(m: time::Month) -> &'static str {
    use time::Month::*;
    match m {
        January => "Jan",
        February => "Feb",
        March => "Mar",
        April => "Apr",
        May => "May",
        June => "Jun",
        July => "Jul",
        August => "Aug",
        September => "Sep",
        October => "Oct",
        November => "Nov",
        December => "Dec",
    }
}

/// `date-text` of SEARCH: `1-Feb-1994`.
fn format_date(d: &crate::types::Date) -> String {
    format!(
        "{}-{}-{:04}",
        d.day(),
        month_name(d.month()),
        d.year().clamp(0, 9999)
    )
}

// ------------------------------------------------------------------------------------
// Commands
// ------------------------------------------------------------------------------------

impl Command {
    /// The wire form of this command with `tag`, CRLF included. Literals are written as
    /// non-synchronising `{n+}` so the result can be sent in one write.
    pub fn encode(&self, tag: &str) -> Vec<u8> {
        const C: Side = Side::Client;
        let mut out = Vec::new();
        out.extend_from_slice(tag.as_bytes());
        out.push(b' ');
        let o = &mut out;
        match self {
            Command::Capability
            | Command::Noop
            | Command::Logout
            | Command::StartTls
            | Command::Namespace
            | Command::Idle
            | Command::Check
            | Command::Close
            | Command::Unselect
            | Command::Expunge => o.extend_from_slice(self.name().as_bytes()),
            Command::Login { username, password } => {
                o.extend_from_slice(b"LOGIN ");
                astring(o, username.as_bytes(), C);
                o.push(b' ');
                astring(o, password.as_bytes(), C);
            }
            Command::Authenticate {
                mechanism,
                initial_response,
            } => {
                o.extend_from_slice(b"AUTHENTICATE ");
                o.extend_from_slice(mechanism.as_bytes());
                if let Some(r) = initial_response {
                    o.push(b' ');
                    o.extend_from_slice(r.as_bytes());
                }
            }
            Command::Enable(caps) => {
                o.extend_from_slice(b"ENABLE");
                for c in caps {
                    o.push(b' ');
                    o.extend_from_slice(c.as_bytes());
                }
            }
            Command::Select { mailbox, params } | Command::Examine { mailbox, params } => {
                o.extend_from_slice(self.name().as_bytes());
                o.push(b' ');
                astring(o, &mailbox.0, C);
                select_params(o, params);
            }
            Command::Create {
                mailbox,
                special_use,
            } => {
                o.extend_from_slice(b"CREATE ");
                astring(o, &mailbox.0, C);
                if !special_use.is_empty() {
                    o.extend_from_slice(b" (USE ");
                    paren(o, special_use, |o, a| o.extend_from_slice(a.as_bytes()));
                    o.push(b')');
                }
            }
            Command::Delete(m)
            | Command::Subscribe(m)
            | Command::Unsubscribe(m)
            | Command::GetQuotaRoot(m) => {
                o.extend_from_slice(self.name().as_bytes());
                o.push(b' ');
                astring(o, &m.0, C);
            }
            Command::Rename { from, to } => {
                o.extend_from_slice(b"RENAME ");
                astring(o, &from.0, C);
                o.push(b' ');
                astring(o, &to.0, C);
            }
            Command::List(l) => {
                o.extend_from_slice(b"LIST ");
                if !l.selection.is_empty() {
                    paren(o, &l.selection, |o, s| {
                        o.extend_from_slice(match s {
                            ListSelect::Subscribed => b"SUBSCRIBED".as_slice(),
                            ListSelect::Remote => b"REMOTE",
                            ListSelect::RecursiveMatch => b"RECURSIVEMATCH",
                            ListSelect::SpecialUse => b"SPECIAL-USE",
                        })
                    });
                    o.push(b' ');
                }
                astring(o, &l.reference.0, C);
                o.push(b' ');
                match l.patterns.as_slice() {
                    [one] => list_mailbox(o, &one.0),
                    many => paren(o, many, |o, p| list_mailbox(o, &p.0)),
                }
                if !l.returns.is_empty() {
                    o.extend_from_slice(b" RETURN ");
                    paren(o, &l.returns, |o, r| match r {
                        ListReturn::Subscribed => o.extend_from_slice(b"SUBSCRIBED"),
                        ListReturn::Children => o.extend_from_slice(b"CHILDREN"),
                        ListReturn::SpecialUse => o.extend_from_slice(b"SPECIAL-USE"),
                        ListReturn::Status(items) => {
                            o.extend_from_slice(b"STATUS ");
                            status_items(o, items);
                        }
                    });
                }
            }
            Command::Lsub { reference, pattern } => {
                o.extend_from_slice(b"LSUB ");
                astring(o, &reference.0, C);
                o.push(b' ');
                list_mailbox(o, &pattern.0);
            }
            Command::Status { mailbox, items } => {
                o.extend_from_slice(b"STATUS ");
                astring(o, &mailbox.0, C);
                o.push(b' ');
                status_items(o, items);
            }
            Command::Append { mailbox, messages } => {
                o.extend_from_slice(b"APPEND ");
                astring(o, &mailbox.0, C);
                for m in messages {
                    o.push(b' ');
                    if !m.flags.is_empty() {
                        flag_list(o, &m.flags);
                        o.push(b' ');
                    }
                    if let Some(d) = &m.date {
                        o.push(b'"');
                        o.extend_from_slice(format_date_time(d).as_bytes());
                        o.extend_from_slice(b"\" ");
                    }
                    if m.binary {
                        o.push(b'~');
                    }
                    literal(o, &m.data, C);
                }
            }
            Command::UidExpunge(set) => {
                o.extend_from_slice(b"UID EXPUNGE ");
                sequence_set(o, set);
            }
            Command::Search {
                uid: _,
                returns,
                charset,
                criteria,
            } => {
                o.extend_from_slice(self.name().as_bytes());
                if let Some(rs) = returns {
                    o.extend_from_slice(b" RETURN ");
                    paren(o, rs, |o, r| {
                        o.extend_from_slice(match r {
                            SearchReturn::Min => b"MIN".as_slice(),
                            SearchReturn::Max => b"MAX",
                            SearchReturn::All => b"ALL",
                            SearchReturn::Count => b"COUNT",
                            SearchReturn::Save => b"SAVE",
                        })
                    });
                }
                if let Some(cs) = charset {
                    o.extend_from_slice(b" CHARSET ");
                    astring(o, cs.as_bytes(), C);
                }
                o.push(b' ');
                match criteria {
                    SearchKey::And(keys) => spaced(o, keys, search_key),
                    other => search_key(o, other),
                }
            }
            Command::Fetch {
                uid: _,
                set,
                attrs,
                modifiers,
            } => {
                o.extend_from_slice(self.name().as_bytes());
                o.push(b' ');
                sequence_set(o, set);
                o.push(b' ');
                paren(o, attrs, fetch_attr);
                let mut mods: Vec<String> = Vec::new();
                if let Some(m) = modifiers.changed_since {
                    mods.push(format!("CHANGEDSINCE {m}"));
                }
                if modifiers.vanished {
                    mods.push("VANISHED".to_owned());
                }
                if !mods.is_empty() {
                    o.push(b' ');
                    paren(o, &mods, |o, m| o.extend_from_slice(m.as_bytes()));
                }
            }
            Command::Store {
                uid: _,
                set,
                unchanged_since,
                kind,
                silent,
                flags,
            } => {
                o.extend_from_slice(self.name().as_bytes());
                o.push(b' ');
                sequence_set(o, set);
                if let Some(u) = unchanged_since {
                    o.extend_from_slice(format!(" (UNCHANGEDSINCE {u})").as_bytes());
                }
                o.extend_from_slice(match kind {
                    StoreKind::Replace => b" FLAGS".as_slice(),
                    StoreKind::Add => b" +FLAGS",
                    StoreKind::Remove => b" -FLAGS",
                });
                if *silent {
                    o.extend_from_slice(b".SILENT");
                }
                o.push(b' ');
                flag_list(o, flags);
            }
            Command::Copy { set, mailbox, .. } | Command::Move { set, mailbox, .. } => {
                o.extend_from_slice(self.name().as_bytes());
                o.push(b' ');
                sequence_set(o, set);
                o.push(b' ');
                astring(o, &mailbox.0, C);
            }
            Command::Id(fields) => {
                o.extend_from_slice(b"ID ");
                match fields {
                    None => o.extend_from_slice(b"NIL"),
                    Some(fields) => paren(o, fields, |o, (k, v)| {
                        string(o, k.as_bytes(), C);
                        o.push(b' ');
                        nstring(o, v.as_deref().map(str::as_bytes), C);
                    }),
                }
            }
            Command::GetQuota(root) => {
                o.extend_from_slice(b"GETQUOTA ");
                astring(o, root.as_bytes(), C);
            }
            Command::SetQuota(root) => {
                o.extend_from_slice(b"SETQUOTA ");
                astring(o, root.as_bytes(), C);
                o.extend_from_slice(b" ()");
            }
        }
        out.extend_from_slice(b"\r\n");
        out
    }
}

/// `list-mailbox = 1*list-char / string`
fn list_mailbox(out: &mut Vec<u8>, s: &[u8]) {
    if !s.is_empty() && s.iter().all(|&b| is_list_char(b)) {
        out.extend_from_slice(s);
    } else {
        string(out, s, Side::Client);
    }
}

fn status_items(out: &mut Vec<u8>, items: &[StatusItem]) {
    paren(out, items, |o, i| {
        o.extend_from_slice(status_item_name(*i).as_bytes());
    });
}

/// `select-params` (RFC 4466, RFC 7162 §7)
fn select_params(out: &mut Vec<u8>, p: &SelectParams) {
    if !p.condstore && p.qresync.is_none() {
        return;
    }
    out.extend_from_slice(b" (");
    if p.condstore {
        out.extend_from_slice(b"CONDSTORE");
        if p.qresync.is_some() {
            out.push(b' ');
        }
    }
    if let Some(q) = &p.qresync {
        out.extend_from_slice(format!("QRESYNC ({} {}", q.uid_validity, q.mod_seq).as_bytes());
        if let Some(known) = &q.known_uids {
            out.push(b' ');
            sequence_set(out, known);
        }
        if let Some((seqs, uids)) = &q.seq_match {
            out.extend_from_slice(b" (");
            sequence_set(out, seqs);
            out.push(b' ');
            sequence_set(out, uids);
            out.push(b')');
        }
        out.push(b')');
    }
    out.push(b')');
}

/// `search-key` (client side).
fn search_key(out: &mut Vec<u8>, key: &SearchKey) {
    use SearchKey as K;
    let with_string = |out: &mut Vec<u8>, name: &str, s: &str| {
        out.extend_from_slice(name.as_bytes());
        out.push(b' ');
        astring(out, s.as_bytes(), Side::Client);
    };
    let with_date = |out: &mut Vec<u8>, name: &str, d: &crate::types::Date| {
        out.extend_from_slice(format!("{name} {}", format_date(d)).as_bytes());
    };
    let simple = match key {
        K::All => "ALL",
        K::Answered => "ANSWERED",
        K::Deleted => "DELETED",
        K::Draft => "DRAFT",
        K::Flagged => "FLAGGED",
        K::New => "NEW",
        K::Old => "OLD",
        K::Recent => "RECENT",
        K::Seen => "SEEN",
        K::Unanswered => "UNANSWERED",
        K::Undeleted => "UNDELETED",
        K::Undraft => "UNDRAFT",
        K::Unflagged => "UNFLAGGED",
        K::Unseen => "UNSEEN",
        K::Bcc(s) => return with_string(out, "BCC", s),
        K::Body(s) => return with_string(out, "BODY", s),
        K::Cc(s) => return with_string(out, "CC", s),
        K::From(s) => return with_string(out, "FROM", s),
        K::Subject(s) => return with_string(out, "SUBJECT", s),
        K::Text(s) => return with_string(out, "TEXT", s),
        K::To(s) => return with_string(out, "TO", s),
        K::Header(f, v) => {
            with_string(out, "HEADER", f);
            out.push(b' ');
            return astring(out, v.as_bytes(), Side::Client);
        }
        K::Keyword(k) => return out.extend_from_slice(format!("KEYWORD {k}").as_bytes()),
        K::Unkeyword(k) => return out.extend_from_slice(format!("UNKEYWORD {k}").as_bytes()),
        K::Before(d) => return with_date(out, "BEFORE", d),
        K::On(d) => return with_date(out, "ON", d),
        K::Since(d) => return with_date(out, "SINCE", d),
        K::SentBefore(d) => return with_date(out, "SENTBEFORE", d),
        K::SentOn(d) => return with_date(out, "SENTON", d),
        K::SentSince(d) => return with_date(out, "SENTSINCE", d),
        K::Larger(n) => return num(out, format!("LARGER {n}")),
        K::Smaller(n) => return num(out, format!("SMALLER {n}")),
        K::ModSeq(n) => return num(out, format!("MODSEQ {n}")),
        K::Uid(set) => {
            out.extend_from_slice(b"UID ");
            return sequence_set(out, set);
        }
        K::Not(k) => {
            out.extend_from_slice(b"NOT ");
            return search_key(out, k);
        }
        K::Or(a, b) => {
            out.extend_from_slice(b"OR ");
            search_key(out, a);
            out.push(b' ');
            return search_key(out, b);
        }
        K::SequenceSet(set) => return sequence_set(out, set),
        K::And(keys) => return paren(out, keys, search_key),
    };
    out.extend_from_slice(simple.as_bytes());
}

/// `fetch-att` (client side).
fn fetch_attr(out: &mut Vec<u8>, a: &FetchAttr) {
    let partial = |out: &mut Vec<u8>, p: &Option<Partial>| {
        if let Some(p) = p {
            out.extend_from_slice(format!("<{}.{}>", p.origin, p.count).as_bytes());
        }
    };
    match a {
        FetchAttr::Envelope => out.extend_from_slice(b"ENVELOPE"),
        FetchAttr::Flags => out.extend_from_slice(b"FLAGS"),
        FetchAttr::InternalDate => out.extend_from_slice(b"INTERNALDATE"),
        FetchAttr::Rfc822 => out.extend_from_slice(b"RFC822"),
        FetchAttr::Rfc822Header => out.extend_from_slice(b"RFC822.HEADER"),
        FetchAttr::Rfc822Size => out.extend_from_slice(b"RFC822.SIZE"),
        FetchAttr::Rfc822Text => out.extend_from_slice(b"RFC822.TEXT"),
        FetchAttr::Body => out.extend_from_slice(b"BODY"),
        FetchAttr::BodyStructure => out.extend_from_slice(b"BODYSTRUCTURE"),
        FetchAttr::Uid => out.extend_from_slice(b"UID"),
        FetchAttr::ModSeq => out.extend_from_slice(b"MODSEQ"),
        FetchAttr::BodySection {
            peek,
            section: s,
            partial: p,
        } => {
            out.extend_from_slice(if *peek { b"BODY.PEEK[" } else { b"BODY[" });
            section(out, s, Side::Client);
            out.push(b']');
            partial(out, p);
        }
        FetchAttr::Binary {
            peek,
            part: pt,
            partial: p,
        } => {
            out.extend_from_slice(if *peek { b"BINARY.PEEK[" } else { b"BINARY[" });
            part(out, pt);
            out.push(b']');
            partial(out, p);
        }
        FetchAttr::BinarySize { part: pt } => {
            out.extend_from_slice(b"BINARY.SIZE[");
            part(out, pt);
            out.push(b']');
        }
    }
}
