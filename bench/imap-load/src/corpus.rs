//! The benchmark corpus: message `i` of seed `s` is a pure function of (s, i), so every
//! server gets the same bytes, in the same order, and a run can be repeated exactly.
//!
//! What it looks like (mail as a personal INBOX holds it):
//! - sizes from 2 KB to 30 KB: 60% 2–8 KB, 30% 8–16 KB, 10% 16–30 KB (about 9 KB on
//!   average, 90 MB for 10,000 messages);
//! - 60% text/plain (some quoted-printable), 25% multipart/alternative (text + HTML),
//!   15% multipart/mixed with a base64 attachment (PDF- or PNG-typed random bytes);
//! - the headers of delivered mail: Received (1–3), DKIM-Signature, From/To (some Cc),
//!   Subject (some "Re:" with In-Reply-To/References), Date, Message-ID, MIME headers,
//!   some List-Id;
//! - text from a fixed vocabulary of ordinary words. The rare word [`RARE_WORD`] is in
//!   the text of exactly the messages with `i % 2000 == 7`, nowhere else (no vocabulary
//!   word contains it), so SEARCH TEXT/BODY for it must find exactly those.
//!
//! Flags: about 70% \Seen, 5% \Flagged, 10% \Answered; internal date = Date header.

/// The word `search` looks for.
pub const RARE_WORD: &str = "xylophonist";

/// Whether message `i` holds [`RARE_WORD`].
pub fn has_rare_word(i: u64) -> bool {
    i % 2000 == 7
}

const WORDS: &[&str] = &[
    "the",
    "of",
    "and",
    "to",
    "in",
    "is",
    "for",
    "on",
    "that",
    "with",
    "as",
    "are",
    "this",
    "be",
    "at",
    "from",
    "by",
    "we",
    "will",
    "have",
    "it",
    "or",
    "an",
    "not",
    "you",
    "our",
    "can",
    "all",
    "please",
    "meeting",
    "project",
    "report",
    "update",
    "schedule",
    "review",
    "budget",
    "team",
    "customer",
    "release",
    "draft",
    "version",
    "change",
    "request",
    "question",
    "answer",
    "thanks",
    "regards",
    "tomorrow",
    "today",
    "week",
    "month",
    "quarter",
    "plan",
    "proposal",
    "contract",
    "invoice",
    "payment",
    "order",
    "delivery",
    "shipping",
    "warehouse",
    "inventory",
    "supplier",
    "account",
    "password",
    "server",
    "network",
    "backup",
    "storage",
    "database",
    "migration",
    "deadline",
    "priority",
    "feedback",
    "summary",
    "agenda",
    "minutes",
    "decision",
    "action",
    "item",
    "follow",
    "up",
    "status",
    "progress",
    "issue",
    "ticket",
    "support",
    "incident",
    "outage",
    "maintenance",
    "window",
    "upgrade",
    "security",
    "policy",
    "compliance",
    "audit",
    "training",
    "workshop",
    "conference",
    "travel",
    "hotel",
    "flight",
    "booking",
    "expense",
    "receipt",
    "approval",
    "manager",
    "director",
    "colleague",
    "office",
    "remote",
    "holiday",
    "vacation",
    "weekend",
    "morning",
    "afternoon",
    "evening",
    "lunch",
    "coffee",
    "garden",
    "river",
    "mountain",
    "harbour",
    "bridge",
    "village",
    "market",
    "bakery",
    "library",
    "museum",
    "concert",
    "theatre",
    "football",
    "bicycle",
    "weather",
    "rain",
    "sunshine",
    "autumn",
    "winter",
    "spring",
    "summer",
    "recipe",
    "kitchen",
    "dinner",
    "birthday",
    "family",
    "children",
    "school",
    "teacher",
    "homework",
    "neighbour",
    "apartment",
    "landlord",
    "repair",
    "plumber",
    "electrician",
    "window",
    "door",
    "roof",
    "paint",
    "furniture",
    "sofa",
    "table",
    "chair",
    "lamp",
    "carpet",
    "interesting",
    "important",
    "quickly",
    "carefully",
    "together",
    "separately",
    "attached",
    "below",
    "above",
    "again",
    "soon",
    "later",
    "already",
    "still",
    "maybe",
    "definitely",
    "probably",
    "certainly",
    "exactly",
    "roughly",
    "about",
    "around",
    "number",
    "figure",
    "chart",
    "table",
    "slide",
    "document",
    "spreadsheet",
    "file",
    "folder",
    "link",
    "page",
    "section",
    "chapter",
    "paragraph",
    "sentence",
    "word",
];

const FIRST: &[&str] = &[
    "Anna", "Ben", "Clara", "David", "Elena", "Felix", "Greta", "Hugo", "Ines", "Jonas", "Karin",
    "Lukas", "Maria", "Nils", "Olga", "Paul", "Rosa", "Sven", "Tina", "Umar",
];
const LAST: &[&str] = &[
    "Andersen", "Becker", "Costa", "Dubois", "Eriksen", "Fischer", "Garcia", "Hansen", "Ivanova",
    "Jensen", "Keller", "Larsen", "Moreau", "Novak", "Olsen", "Petrov",
];
const DOMAINS: &[&str] = &[
    "example.com",
    "example.net",
    "example.org",
    "mail.example.com",
    "lists.example.org",
];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];
const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"]; // 1970-01-01 was a Thursday
const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// xorshift64*: reproducible without a dependency.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64, i: u64) -> Rng {
        let mut r = Rng((seed ^ i.wrapping_mul(0x9E37_79B9_7F4A_7C15)) | 1);
        for _ in 0..4 {
            r.next();
        }
        r
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick<'a>(&mut self, list: &[&'a str]) -> &'a str {
        list[self.below(list.len() as u64) as usize]
    }
}

/// One message of the corpus.
pub struct Message {
    pub bytes: Vec<u8>,
    /// For APPEND: `(\Seen \Flagged)`, maybe `()`.
    pub flags: String,
    /// For APPEND: `"01-Jan-2024 10:00:00 +0000"`, quoted.
    pub internal_date: String,
}

/// Message `i` of seed `seed`.
pub fn message(seed: u64, i: u64) -> Message {
    let mut r = Rng::new(seed, i);
    let target = match r.below(10) {
        0..=5 => 2048 + r.below(6 * 1024),
        6..=8 => 8 * 1024 + r.below(8 * 1024),
        _ => 16 * 1024 + r.below(14 * 1024),
    } as usize;
    // Two years of mail, one every ~105 minutes, from 2023-01-01.
    let epoch = 1_672_531_200 + i * 6300 + r.below(3600);
    let (date_hdr, internal) = dates(epoch);
    let domain = r.pick(DOMAINS);
    let (first, last) = (r.pick(FIRST), r.pick(LAST));
    let kind = i % 20;
    let reply = r.below(4) == 0 && i > 0;

    let mut h = String::with_capacity(2048);
    for hop in 0..1 + r.below(3) {
        let ip = r.below(250) + 2;
        h.push_str(&format!(
            "Received: from mx{hop}.{domain} (mx{hop}.{domain} [192.0.2.{ip}])\r\n\tby mail.bench.test with ESMTPS id {:016x}\r\n\tfor <user@bench.test>; {date_hdr}\r\n",
            r.next()
        ));
    }
    h.push_str(&format!(
        "DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d={domain}; s=sel{};\r\n\th=from:to:subject:date:message-id:mime-version;\r\n\tbh={}=;\r\n",
        r.below(3),
        b64_chars(&mut r, 43)
    ));
    for _ in 0..5 {
        h.push_str(&format!("\t{}\r\n", b64_chars(&mut r, 68)));
    }
    h.push_str(&format!(
        "From: \"{first} {last}\" <{}.{}@{domain}>\r\nTo: \"Bench User\" <user@bench.test>\r\n",
        first.to_ascii_lowercase(),
        last.to_ascii_lowercase()
    ));
    if r.below(4) == 0 {
        h.push_str(&format!(
            "Cc: \"{} {}\" <team@{domain}>\r\n",
            r.pick(FIRST),
            r.pick(LAST)
        ));
    }
    let n = 4 + r.below(6) as usize;
    let subject = words(&mut r, n);
    h.push_str(&format!(
        "Subject: {}{}\r\nDate: {date_hdr}\r\nMessage-ID: <{seed}.{i}.{:08x}@{domain}>\r\n",
        if reply { "Re: " } else { "" },
        capitalise(&subject),
        r.next() as u32
    ));
    if reply {
        let parent = r.below(i);
        h.push_str(&format!(
            "In-Reply-To: <{seed}.{parent}@{domain}>\r\nReferences: <{seed}.{parent}@{domain}>\r\n"
        ));
    }
    if r.below(5) == 0 {
        h.push_str(&format!("List-Id: <announce.{domain}>\r\n"));
    }
    h.push_str("MIME-Version: 1.0\r\n");

    let rare = has_rare_word(i);
    let mut body = String::new();
    match kind {
        0..=11 => {
            let qp = r.below(3) == 0;
            h.push_str("Content-Type: text/plain; charset=utf-8\r\n");
            h.push_str(if qp {
                "Content-Transfer-Encoding: quoted-printable\r\n"
            } else {
                "Content-Transfer-Encoding: 7bit\r\n"
            });
            let budget = target.saturating_sub(h.len() + 2);
            body.push_str(&text(&mut r, budget, rare, qp));
        }
        12..=16 => {
            let boundary = format!("alt-{:012x}", r.next() & 0xFFFF_FFFF_FFFF);
            h.push_str(&format!(
                "Content-Type: multipart/alternative; boundary=\"{boundary}\"\r\n"
            ));
            let budget = target.saturating_sub(h.len() + 300) / 2;
            let plain = text(&mut r, budget.max(200), rare, false);
            let html = format!(
                "<html><body>\r\n<p>{}</p>\r\n</body></html>\r\n",
                plain.replace("\r\n\r\n", "</p>\r\n<p>")
            );
            body.push_str(&format!(
                "This is a multi-part message in MIME format.\r\n\r\n--{boundary}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 7bit\r\n\r\n{plain}\r\n--{boundary}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: 7bit\r\n\r\n{html}\r\n--{boundary}--\r\n"
            ));
        }
        _ => {
            let boundary = format!("mix-{:012x}", r.next() & 0xFFFF_FFFF_FFFF);
            h.push_str(&format!(
                "Content-Type: multipart/mixed; boundary=\"{boundary}\"\r\n"
            ));
            let budget = 400 + r.below(800) as usize;
            let plain = text(&mut r, budget, rare, false);
            let (ctype, ext) = if r.below(2) == 0 {
                ("application/pdf", "pdf")
            } else {
                ("image/png", "png")
            };
            // base64 is 4/3 of the bytes, plus CRLF per 76 characters.
            let overhead = h.len() + plain.len() + 500;
            let raw_len = (target.saturating_sub(overhead) * 3 / 4 * 76 / 78).max(600);
            let att = base64_lines(&mut r, raw_len);
            body.push_str(&format!(
                "This is a multi-part message in MIME format.\r\n\r\n--{boundary}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 7bit\r\n\r\n{plain}\r\n--{boundary}\r\nContent-Type: {ctype}; name=\"attachment-{i}.{ext}\"\r\nContent-Disposition: attachment; filename=\"attachment-{i}.{ext}\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{att}\r\n--{boundary}--\r\n"
            ));
        }
    }

    let mut flags = Vec::new();
    let f = r.below(100);
    if f < 70 {
        flags.push("\\Seen");
    }
    if r.below(100) < 5 {
        flags.push("\\Flagged");
    }
    if f < 10 {
        flags.push("\\Answered");
    }
    let mut bytes = h.into_bytes();
    bytes.extend_from_slice(b"\r\n");
    bytes.extend_from_slice(body.as_bytes());
    Message {
        bytes,
        flags: format!("({})", flags.join(" ")),
        internal_date: internal,
    }
}

/// `n` words separated by spaces.
fn words(r: &mut Rng, n: usize) -> String {
    (0..n).map(|_| r.pick(WORDS)).collect::<Vec<_>>().join(" ")
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// About `budget` octets of paragraphs, lines under 78 characters, CRLF; with the rare
/// word in the second sentence when `rare`. Quoted-printable text gets a few `=C3=A9`
/// ("é") so that it is not 7-bit in disguise.
fn text(r: &mut Rng, budget: usize, rare: bool, qp: bool) -> String {
    let mut out = String::with_capacity(budget + 100);
    let mut line = String::new();
    let mut sentence = 0;
    out.push_str(&format!("Hello {},\r\n\r\n", r.pick(FIRST)));
    while out.len() + line.len() < budget {
        let n = 6 + r.below(12) as usize;
        let mut s = capitalise(&words(r, n));
        sentence += 1;
        if rare && sentence == 2 {
            s.push_str(" with the ");
            s.push_str(RARE_WORD);
        }
        if qp && r.below(4) == 0 {
            s.push_str(" caf=C3=A9");
        }
        s.push('.');
        for w in s.split(' ') {
            if line.len() + w.len() + 1 > 72 {
                out.push_str(line.trim_end());
                out.push_str("\r\n");
                line.clear();
            }
            line.push_str(w);
            line.push(' ');
        }
        if r.below(6) == 0 {
            out.push_str(line.trim_end());
            out.push_str("\r\n\r\n");
            line.clear();
        }
    }
    if !line.is_empty() {
        out.push_str(line.trim_end());
        out.push_str("\r\n");
    }
    out.push_str(&format!("\r\nRegards,\r\n{}\r\n", r.pick(FIRST)));
    out
}

fn b64_chars(r: &mut Rng, n: usize) -> String {
    (0..n).map(|_| B64[r.below(64) as usize] as char).collect()
}

/// The base64 of `len` random octets, 76 characters a line, CRLF between lines.
fn base64_lines(r: &mut Rng, len: usize) -> String {
    let raw: Vec<u8> = (0..len).map(|_| r.next() as u8).collect();
    let mut enc = String::with_capacity(len * 4 / 3 + 4);
    for chunk in raw.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for k in 0..4 {
            if k <= chunk.len() {
                enc.push(B64[((n >> (18 - 6 * k)) & 63) as usize] as char);
            } else {
                enc.push('=');
            }
        }
    }
    let lines: Vec<&str> = enc
        .as_bytes()
        .chunks(76)
        .map(|c| std::str::from_utf8(c).unwrap_or_default())
        .collect();
    lines.join("\r\n")
}

/// (`Date:` value, quoted APPEND date-time) of a Unix time, in UTC.
fn dates(t: u64) -> (String, String) {
    let days = t / 86_400;
    let secs = t % 86_400;
    let (y, m, d) = civil_from_days(days as i64);
    let (hh, mm, ss) = (secs / 3600, secs / 60 % 60, secs % 60);
    let mon = MONTHS[(m - 1) as usize];
    (
        format!(
            "{}, {d:02} {mon} {y} {hh:02}:{mm:02}:{ss:02} +0000",
            DAYS[(days % 7) as usize]
        ),
        format!("\"{d:02}-{mon}-{y} {hh:02}:{mm:02}:{ss:02} +0000\""),
    )
}

/// Days since 1970-01-01 → (year, month, day) (H. Hinnant's civil_from_days).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_sized() {
        let mut total = 0;
        for i in 0..400 {
            let a = message(1, i);
            assert_eq!(a.bytes, message(1, i).bytes);
            assert!(
                (1500..=34 * 1024).contains(&a.bytes.len()),
                "message {i}: {} octets",
                a.bytes.len()
            );
            assert!(
                !a.bytes.windows(2).any(|w| w[1] == b'\n' && w[0] != b'\r'),
                "bare LF in {i}"
            );
            total += a.bytes.len();
        }
        let avg = total / 400;
        assert!((6_000..12_000).contains(&avg), "average {avg}");
    }

    #[test]
    fn rare_word_only_where_intended() {
        assert!(!WORDS.iter().any(|w| w.contains(RARE_WORD)));
        for i in [0, 6, 7, 8, 2007, 3999, 4007] {
            let m = message(3, i);
            let has = String::from_utf8_lossy(&m.bytes).contains(RARE_WORD);
            assert_eq!(has, has_rare_word(i), "message {i}");
        }
    }

    #[test]
    fn dates_are_right() {
        assert_eq!(
            dates(1_672_531_200),
            (
                "Sun, 01 Jan 2023 00:00:00 +0000".to_string(),
                "\"01-Jan-2023 00:00:00 +0000\"".to_string()
            )
        );
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
    }
}
