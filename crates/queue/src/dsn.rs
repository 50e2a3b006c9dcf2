//! Delivery status notifications (RFC 3464 `multipart/report; report-type=delivery-status`,
//! RFC 6522 the report type, RFC 3461 §6 what is owed, RFC 3834 Auto-Submitted).
//!
//! Built with mail-builder (no hand-written MIME). A DSN is always sent with the null
//! reverse path, so a DSN about a DSN can never be owed (RFC 3461 §6.2, RFC 5321 §4.5.5).

use mail_builder::MessageBuilder;
use mail_builder::headers::address::Address;
use mail_builder::headers::content_type::ContentType;
use mail_builder::headers::date::Date;
use mail_builder::headers::message_id::MessageId;
use mail_builder::headers::raw::Raw;
use mail_builder::mime::{BodyPart, MimePart};
use mailstead_store::model::{DsnAction, DsnRet, OriginalRecipient, UnixTime};

/// One per-recipient part of a report (RFC 3464 §2.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DsnRecipient {
    /// `Final-Recipient: rfc822;` the address (§2.3.2).
    pub final_recipient: String,
    /// `Original-Recipient` from ORCPT (§2.3.1).
    pub original_recipient: Option<OriginalRecipient>,
    /// `Action` (§2.3.3).
    pub action: DsnAction,
    /// `Status` (§2.3.4, RFC 3463), e.g. `5.1.1`, `4.4.1`, `2.0.0`.
    pub status: String,
    /// `Remote-MTA: dns;` the server that answered (§2.3.5).
    pub remote_mta: Option<String>,
    /// `Diagnostic-Code: smtp;` the reply as received (§2.3.6).
    pub diagnostic: Option<String>,
    /// `Last-Attempt-Date` (§2.3.7).
    pub last_attempt: Option<UnixTime>,
    /// `Will-Retry-Until` for delayed recipients (§2.3.9).
    pub will_retry_until: Option<UnixTime>,
}

/// Everything one report says.
#[derive(Debug, Clone)]
pub struct DsnReport<'a> {
    /// Our host name: `Reporting-MTA: dns;` (§2.2.2) and `MAILER-DAEMON@` in From.
    pub reporting_mta: &'a str,
    /// Where the report goes (the original reverse path).
    pub to: &'a str,
    /// `Original-Envelope-Id` (§2.2.1).
    pub envid: Option<&'a str>,
    /// `Arrival-Date` (§2.2.5).
    pub arrival: UnixTime,
    /// The recipients reported on (all with the same kind of action in practice).
    pub recipients: Vec<DsnRecipient>,
    /// The original message (returned whole, or its header only, per `ret`).
    pub original: &'a [u8],
    /// `RET=`: `Hdrs` returns `text/rfc822-headers`; `Full` or unset returns the whole
    /// message as `message/rfc822`, unless it is larger than `max_return_size`, then
    /// the header only.
    pub ret: Option<DsnRet>,
    /// Largest original returned whole.
    pub max_return_size: usize,
    /// The report's Date.
    pub now: UnixTime,
}

/// Builds the complete report message: From `Mail Delivery System
/// <MAILER-DAEMON@reporting_mta>`, To, Subject by action (failed: "Undelivered Mail
/// Returned to Sender", delayed: "Delayed Mail (still being retried)", delivered /
/// expanded / relayed: "Successful Mail Delivery Report"), Date, Message-ID,
/// `Auto-Submitted: auto-replied` (RFC 3834 §5), MIME-Version; the parts: a
/// human-readable `text/plain` explanation naming each recipient and reason, the
/// `message/delivery-status` part, and the original (or its header).
pub fn build_report(report: &DsnReport<'_>) -> Vec<u8> {
    let kind = Kind::of(&report.recipients);
    let reporting_mta = one_line(report.reporting_mta);
    let message_id = format!(
        "{}.{:016x}@{}",
        report.now,
        rand::random::<u64>(),
        reporting_mta
    );
    // RFC 6522 §3: the report is the whole body, `multipart/report` with the
    // `report-type` parameter naming the second part's type.
    let body = MimePart::new(
        ContentType::new("multipart/report").attribute("report-type", "delivery-status"),
        vec![
            MimePart::new(
                "text/plain",
                BodyPart::Text(explanation(report, kind).into()),
            ),
            raw_part(
                "message/delivery-status",
                delivery_status(report).into_bytes(),
            ),
            returned_original(report),
        ],
    );
    let builder = MessageBuilder::new()
        .from(Address::new_address(
            Some("Mail Delivery System"),
            format!("MAILER-DAEMON@{reporting_mta}"),
        ))
        .to(Address::new_address(None::<&str>, one_line(report.to)))
        .subject(kind.subject())
        .date(Date::new(report.now))
        .message_id(MessageId::new(message_id))
        // RFC 3834 §5: an automatic response, so responders do not answer it.
        .header("Auto-Submitted", Raw::new("auto-replied"))
        .body(body);
    // Writing into a Vec cannot fail (`impl Write for Vec<u8>` never errors), and every
    // Content-Type given above is a `ContentType`, so mail-builder's panic on other
    // header kinds cannot happen.
    builder.write_to_vec().unwrap_or_default()
}

/// The RFC 3463 status for an SMTP reply: its enhanced code if it has one, else
/// derived from the basic code (`4.0.0` / `5.0.0`, `2.0.0`).
pub fn status_of(reply: &mailstead_smtp_proto::Reply) -> String {
    let class = reply.code / 100;
    match reply.enhanced {
        // RFC 3463 §2: the class must agree with the reply code's first digit (the
        // parser checks it; a reply built by hand might not).
        Some(code) if u16::from(code.0) == class => code.to_string(),
        _ => match class {
            2 => "2.0.0".into(),
            5 => "5.0.0".into(),
            // 4yz, and anything unexpected in place of a completion reply: transient.
            _ => "4.0.0".into(),
        },
    }
}

/// What a report is about, for the subject and the explanation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Failed,
    Delayed,
    Success,
}

impl Kind {
    /// The most serious action among the recipients: a failure outweighs a delay,
    /// which outweighs a success.
    fn of(recipients: &[DsnRecipient]) -> Kind {
        if recipients.iter().any(|r| r.action == DsnAction::Failed) {
            Kind::Failed
        } else if recipients.iter().any(|r| r.action == DsnAction::Delayed) {
            Kind::Delayed
        } else {
            Kind::Success
        }
    }

    fn subject(self) -> &'static str {
        match self {
            Kind::Failed => "Undelivered Mail Returned to Sender",
            Kind::Delayed => "Delayed Mail (still being retried)",
            Kind::Success => "Successful Mail Delivery Report",
        }
    }
}

/// The first, human-readable part (RFC 6522 §3: "a human-readable description").
fn explanation(report: &DsnReport<'_>, kind: Kind) -> String {
    let mut text = format!(
        "This is the mail system at host {}.\r\n\r\n",
        one_line(report.reporting_mta)
    );
    text.push_str(match kind {
        Kind::Failed => {
            "Your message could not be delivered to one or more recipients.\r\n\
             The details are below, and the message (or its header) is attached.\r\n"
        }
        Kind::Delayed => {
            "Your message could not be delivered to one or more recipients yet.\r\n\
             Delivery is still being tried; you do not need to resend it.\r\n"
        }
        Kind::Success => "Your message was delivered to the recipients below.\r\n",
    });
    for r in &report.recipients {
        text.push_str("\r\n<");
        text.push_str(&one_line(&r.final_recipient));
        text.push_str(">: ");
        text.push_str(match r.action {
            DsnAction::Failed => "delivery failed",
            DsnAction::Delayed => "delivery delayed",
            DsnAction::Delivered => "delivered",
            DsnAction::Relayed => "relayed to a system that does not send reports",
            DsnAction::Expanded => "delivered and forwarded to other recipients",
        });
        if let Some(mta) = &r.remote_mta {
            text.push_str(" (");
            text.push_str(&one_line(mta));
            text.push(')');
        }
        if let Some(until) = r.will_retry_until.and_then(rfc5322_date) {
            text.push_str(", retried until ");
            text.push_str(&until);
        }
        text.push_str("\r\n    ");
        match &r.diagnostic {
            Some(d) => text.push_str(&truncate(&one_line(d), MAX_FIELD_VALUE)),
            None => text.push_str(&format!("status {}", one_line(&r.status))),
        }
        text.push_str("\r\n");
    }
    text
}

/// The `message/delivery-status` body, RFC 3464 §2.1:
///
/// ```text
/// delivery-status-content = per-message-fields 1*( CRLF per-recipient-fields )
/// ```
///
/// Each group is a block of header-like fields; the groups are separated by a blank
/// line.
fn delivery_status(report: &DsnReport<'_>) -> String {
    let mut out = String::new();
    // §2.2.2 `Reporting-MTA: mta-name-type ; mta-name`.
    field(
        &mut out,
        "Reporting-MTA",
        &format!("dns; {}", one_line(report.reporting_mta)),
    );
    // §2.2.1: the ENVID as given (xtext-decoded).
    if let Some(envid) = report.envid {
        field(&mut out, "Original-Envelope-Id", envid);
    }
    // §2.2.5.
    if let Some(date) = rfc5322_date(report.arrival) {
        field(&mut out, "Arrival-Date", &date);
    }
    for r in &report.recipients {
        out.push_str("\r\n");
        // §2.3.1 `Original-Recipient: address-type ; generic-address` (from ORCPT).
        if let Some(OriginalRecipient { addr_type, address }) = &r.original_recipient {
            field(
                &mut out,
                "Original-Recipient",
                &format!("{};{}", one_line(addr_type), one_line(address)),
            );
        }
        // §2.3.2.
        field(
            &mut out,
            "Final-Recipient",
            &format!("rfc822; {}", one_line(&r.final_recipient)),
        );
        // §2.3.3, §2.3.4.
        field(&mut out, "Action", r.action.as_str());
        field(&mut out, "Status", &r.status);
        // §2.3.5.
        if let Some(mta) = &r.remote_mta {
            field(&mut out, "Remote-MTA", &format!("dns; {}", one_line(mta)));
        }
        // §2.3.6 `Diagnostic-Code: diagnostic-type ; *text`.
        if let Some(diagnostic) = &r.diagnostic {
            field(
                &mut out,
                "Diagnostic-Code",
                &format!("smtp; {}", one_line(diagnostic)),
            );
        }
        // §2.3.7.
        if let Some(date) = r.last_attempt.and_then(rfc5322_date) {
            field(&mut out, "Last-Attempt-Date", &date);
        }
        // §2.3.9: only meaningful for `delayed`.
        if let Some(date) = r.will_retry_until.and_then(rfc5322_date) {
            field(&mut out, "Will-Retry-Until", &date);
        }
    }
    out
}

/// Longest field value written (a diagnostic can be a long multi-line reply joined):
/// even a value without a space to fold at stays under RFC 5322 §2.1.1's 998 octets
/// per line.
const MAX_FIELD_VALUE: usize = 900;
/// Where folding starts (RFC 5322 §2.1.1 "SHOULD be no more than 78 characters").
const FOLD_AT: usize = 78;

/// Appends `Name: value` CRLF, the value made one line, cut to [`MAX_FIELD_VALUE`], and
/// folded at spaces (RFC 5322 §2.2.3) so no line is overly long.
fn field(out: &mut String, name: &str, value: &str) {
    let value = truncate(&one_line(value), MAX_FIELD_VALUE);
    out.push_str(name);
    out.push(':');
    let mut line_len = name.len() + 1;
    for (i, word) in value.split(' ').enumerate() {
        // A space before every word but the first; one that would overflow the line
        // becomes the folding whitespace. Never before an empty word (a run of spaces):
        // that could leave a line of white space only (RFC 5322 §4.2, obsolete syntax).
        if i > 0 && !word.is_empty() && line_len + 1 + word.len() > FOLD_AT && line_len > 1 {
            out.push_str("\r\n");
            line_len = 0;
        }
        out.push(' ');
        out.push_str(word);
        line_len += 1 + word.len();
    }
    out.push_str("\r\n");
}

/// `text` with every control character (CR and LF included) replaced by a space, so a
/// value taken from the network can never start a field or a part of its own.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_string()
}

/// At most `max` octets of `text`, cut at a character boundary.
fn truncate(text: &str, max: usize) -> String {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_string()
}

/// An RFC 5322 §3.3 date-time (`Sat, 12 Jun 1993 13:25:19 +0000`); `None` for a time
/// outside what `time` can represent.
fn rfc5322_date(t: UnixTime) -> Option<String> {
    time::OffsetDateTime::from_unix_timestamp(t)
        .ok()?
        .format(&time::format_description::well_known::Rfc2822)
        .ok()
}

/// A part written as given (no transfer encoding): `message/*` parts must not be
/// base64 or quoted-printable encoded (RFC 2046 §5.2.1, RFC 3464 §2.1 / RFC 6522 §5).
/// `8bit` when it holds any non-ASCII octet, else `7bit`.
fn raw_part(content_type: &'static str, contents: Vec<u8>) -> MimePart<'static> {
    let encoding = if contents.is_ascii() { "7bit" } else { "8bit" };
    MimePart::new(
        ContentType::new(content_type),
        BodyPart::Binary(contents.into()),
    )
    .transfer_encoding(encoding)
}

/// The third part: the whole original as `message/rfc822`, or only its header as
/// `text/rfc822-headers` (RFC 6522 §4) when `RET=HDRS` or the original is too large
/// (RFC 3461 §4.3).
fn returned_original(report: &DsnReport<'_>) -> MimePart<'static> {
    let whole = report.ret != Some(DsnRet::Hdrs) && report.original.len() <= report.max_return_size;
    if whole {
        raw_part("message/rfc822", crlf_lines(report.original))
    } else {
        let header = header_section(
            report.original,
            report.max_return_size.max(MIN_HEADER_RETURN),
        );
        raw_part("text/rfc822-headers", crlf_lines(header))
    }
}

/// The header returned even when `max_return_size` is tiny: a typical header fits.
const MIN_HEADER_RETURN: usize = 64 * 1024;

/// The header section of `message` (up to and including the CRLF that ends its last
/// field; RFC 5322 §2.1: the header ends at the first empty line), at most `max`
/// octets, cut at a line end.
fn header_section(message: &[u8], max: usize) -> &[u8] {
    let mut end = 0;
    let mut pos = 0;
    while pos < message.len() {
        let line_end = message[pos..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(message.len(), |i| pos + i + 1);
        let line = &message[pos..line_end];
        if line == b"\r\n" || line == b"\n" || line_end > max {
            break;
        }
        end = line_end;
        pos = line_end;
    }
    &message[..end]
}

/// `data` with bare CR and bare LF made CRLF, so the part's lines cannot be read
/// differently by another MTA (the original was stored as received).
fn crlf_lines(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + data.len() / 32);
    let mut i = 0;
    while let Some(&b) = data.get(i) {
        match b {
            b'\r' | b'\n' => {
                out.extend_from_slice(b"\r\n");
                i += if b == b'\r' && data.get(i + 1) == Some(&b'\n') {
                    2
                } else {
                    1
                };
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use mailstead_smtp_proto::{EnhancedCode, Reply};

    const ORIGINAL: &[u8] = b"From: Alice <alice@example.org>\r\n\
To: bob@remote.example, carol@remote.example\r\n\
Subject: Quarterly figures\r\n\
Message-ID: <orig-1@example.org>\r\n\
\r\n\
Hello Bob,\r\n\
.a line with a dot\r\n\
--not-a-boundary\r\n\
bye\r\n";

    fn recipient(addr: &str, action: DsnAction, status: &str) -> DsnRecipient {
        DsnRecipient {
            final_recipient: addr.into(),
            original_recipient: None,
            action,
            status: status.into(),
            remote_mta: Some("mx.remote.example".into()),
            diagnostic: Some(format!("550 5.1.1 <{addr}>: Recipient address rejected")),
            last_attempt: Some(1_700_000_100),
            will_retry_until: None,
        }
    }

    fn report<'a>(recipients: Vec<DsnRecipient>, ret: Option<DsnRet>) -> DsnReport<'a> {
        DsnReport {
            reporting_mta: "mail.example.org",
            to: "alice@example.org",
            envid: Some("QQ314159"),
            arrival: 1_700_000_000,
            recipients,
            original: ORIGINAL,
            ret,
            max_return_size: 1024 * 1024,
            now: 1_700_000_200,
        }
    }

    fn failed_report<'a>(ret: Option<DsnRet>) -> DsnReport<'a> {
        let mut bob = recipient("bob@remote.example", DsnAction::Failed, "5.1.1");
        bob.original_recipient = Some(OriginalRecipient {
            addr_type: "rfc822".into(),
            address: "Bob@Remote.Example".into(),
        });
        let mut carol = recipient("carol@remote.example", DsnAction::Failed, "5.2.2");
        carol.diagnostic = Some(format!(
            "552 5.2.2 mailbox full\r\nInjected-Field: evil {}",
            "word ".repeat(60)
        ));
        report(vec![bob, carol], ret)
    }

    fn header<'a>(message: &'a str, name: &str) -> Option<&'a str> {
        let head = message.split("\r\n\r\n").next()?;
        head.split("\r\n")
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(": "))
    }

    #[test]
    fn report_headers() {
        let out = build_report(&failed_report(None));
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            header(&text, "Subject"),
            Some("Undelivered Mail Returned to Sender")
        );
        assert_eq!(header(&text, "Auto-Submitted"), Some("auto-replied"));
        assert_eq!(header(&text, "To"), Some("<alice@example.org>"));
        assert!(
            header(&text, "From")
                .unwrap()
                .contains("<MAILER-DAEMON@mail.example.org>")
        );
        assert_eq!(
            header(&text, "Date"),
            Some("Tue, 14 Nov 2023 22:16:40 +0000")
        );
        assert!(
            header(&text, "Message-ID")
                .unwrap()
                .ends_with("@mail.example.org>")
        );
        assert_eq!(header(&text, "MIME-Version"), Some("1.0"));
        assert!(
            text.contains("Content-Type: multipart/report; report-type=\"delivery-status\"")
                || text.contains("Content-Type: multipart/report; report-type=delivery-status"),
            "{text}"
        );
        // The injected line of the diagnostic stays inside its field.
        assert!(!text.contains("\r\nInjected-Field:"), "{text}");
    }

    #[test]
    fn subjects_by_action() {
        let delayed = report(
            vec![recipient("b@r.example", DsnAction::Delayed, "4.4.1")],
            None,
        );
        let text = String::from_utf8(build_report(&delayed)).unwrap();
        assert_eq!(
            header(&text, "Subject"),
            Some("Delayed Mail (still being retried)")
        );
        for action in [
            DsnAction::Delivered,
            DsnAction::Relayed,
            DsnAction::Expanded,
        ] {
            let ok = report(vec![recipient("b@r.example", action, "2.0.0")], None);
            let text = String::from_utf8(build_report(&ok)).unwrap();
            assert_eq!(
                header(&text, "Subject"),
                Some("Successful Mail Delivery Report")
            );
        }
    }

    #[test]
    fn delivery_status_fields() {
        let mut r = failed_report(None);
        r.recipients[1].will_retry_until = Some(1_700_086_400);
        let ds = delivery_status(&r);
        let groups: Vec<&str> = ds.split("\r\n\r\n").collect();
        assert_eq!(groups.len(), 3, "{ds}");
        assert_eq!(
            groups[0],
            "Reporting-MTA: dns; mail.example.org\r\n\
             Original-Envelope-Id: QQ314159\r\n\
             Arrival-Date: Tue, 14 Nov 2023 22:13:20 +0000"
        );
        assert!(groups[1].starts_with(
            "Original-Recipient: rfc822;Bob@Remote.Example\r\n\
             Final-Recipient: rfc822; bob@remote.example\r\n\
             Action: failed\r\n\
             Status: 5.1.1\r\n\
             Remote-MTA: dns; mx.remote.example\r\n\
             Diagnostic-Code: smtp; 550 5.1.1 <bob@remote.example>: Recipient address\r\n rejected\r\n\
             Last-Attempt-Date: Tue, 14 Nov 2023 22:15:00 +0000"
        ), "{}", groups[1]);
        assert!(groups[2].contains("Will-Retry-Until: Wed, 15 Nov 2023 22:13:20 +0000"));
        for line in ds.split("\r\n") {
            assert!(line.len() <= FOLD_AT, "{line:?}");
        }
    }

    #[test]
    fn status_from_reply() {
        let r = Reply::new(550, Some(EnhancedCode(5, 1, 1)), "no such user");
        assert_eq!(status_of(&r), "5.1.1");
        assert_eq!(status_of(&Reply::new(451, None, "later")), "4.0.0");
        assert_eq!(status_of(&Reply::new(554, None, "no")), "5.0.0");
        assert_eq!(status_of(&Reply::new(250, None, "ok")), "2.0.0");
        // A class that disagrees with the code is ignored.
        let r = Reply::new(450, Some(EnhancedCode(5, 1, 1)), "odd");
        assert_eq!(status_of(&r), "4.0.0");
        let (parsed, _) = mailstead_smtp_proto::parse_reply(b"452 4.2.2 Mailbox full\r\n").unwrap();
        assert_eq!(status_of(&parsed), "4.2.2");
    }

    #[test]
    fn header_section_stops_at_the_blank_line_and_the_limit() {
        assert_eq!(
            header_section(b"A: 1\r\nB: 2\r\n\r\nbody\r\n", 1000),
            b"A: 1\r\nB: 2\r\n"
        );
        assert_eq!(
            header_section(b"A: 1\nB: 2\n\nbody\n", 1000),
            b"A: 1\nB: 2\n"
        );
        assert_eq!(header_section(b"A: 1\r\nB: 2", 1000), b"A: 1\r\nB: 2");
        assert_eq!(header_section(b"A: 1\r\nB: 2\r\n\r\n", 8), b"A: 1\r\n");
        assert_eq!(header_section(b"", 8), b"");
    }

    /// The parts as mail-parser sees them.
    #[test]
    fn mail_parser_reads_the_report() {
        use mail_parser::{MessageParser, MimeHeaders, PartType};
        let out = build_report(&failed_report(None));
        let msg = MessageParser::default().parse(&out).unwrap();
        let ct = msg.content_type().unwrap();
        assert_eq!(ct.ctype(), "multipart");
        assert_eq!(ct.subtype(), Some("report"));
        assert_eq!(ct.attribute("report-type"), Some("delivery-status"));
        let PartType::Multipart(children) = &msg.parts[0].body else {
            panic!("not multipart");
        };
        assert_eq!(children.len(), 3);
        let parts: Vec<_> = children.iter().map(|&i| &msg.parts[i as usize]).collect();
        let text = parts[0].text_contents().unwrap();
        assert!(
            text.contains("<bob@remote.example>: delivery failed"),
            "{text}"
        );
        let status = parts[1].content_type().unwrap();
        assert_eq!(status.ctype(), "message");
        assert_eq!(status.subtype(), Some("delivery-status"));
        let body = String::from_utf8_lossy(parts[1].contents());
        assert!(
            body.contains("Final-Recipient: rfc822; carol@remote.example"),
            "{body}"
        );
        let PartType::Message(original) = &parts[2].body else {
            panic!("original not message/rfc822: {:?}", parts[2].body);
        };
        assert_eq!(original.subject(), Some("Quarterly figures"));
        assert!(
            original
                .body_text(0)
                .unwrap()
                .contains(".a line with a dot")
        );
    }

    /// Python's `email` package is the reference reader: it parses
    /// `message/delivery-status` into one Message per field group.
    #[test]
    fn python_email_reads_the_report() {
        let py = PythonReport::read(&build_report(&failed_report(None)));
        assert_eq!(py.get("content-type"), "multipart/report");
        assert_eq!(py.get("report-type"), "delivery-status");
        assert_eq!(
            py.get("parts"),
            "text/plain,message/delivery-status,message/rfc822"
        );
        assert_eq!(py.get("groups"), "3");
        assert_eq!(py.get("g0.Reporting-MTA"), "dns; mail.example.org");
        assert_eq!(py.get("g0.Original-Envelope-Id"), "QQ314159");
        assert_eq!(py.get("g1.Final-Recipient"), "rfc822; bob@remote.example");
        assert_eq!(py.get("g1.Original-Recipient"), "rfc822;Bob@Remote.Example");
        assert_eq!(py.get("g1.Action"), "failed");
        assert_eq!(py.get("g1.Status"), "5.1.1");
        assert_eq!(py.get("g2.Final-Recipient"), "rfc822; carol@remote.example");
        assert_eq!(py.get("g2.Action"), "failed");
        assert_eq!(py.get("g2.Status"), "5.2.2");
        assert!(
            py.get("g2.Diagnostic-Code")
                .starts_with("smtp; 552 5.2.2 mailbox full Injected-Field")
        );
        assert_eq!(py.get("g2.Injected-Field"), "<missing>");
        assert_eq!(py.get("original.Subject"), "Quarterly figures");
        assert_eq!(py.get("original.defects"), "0");
        assert_eq!(py.get("defects"), "0");
    }

    #[test]
    fn headers_only_when_ret_hdrs_or_too_large() {
        let py = PythonReport::read(&build_report(&failed_report(Some(DsnRet::Hdrs))));
        assert_eq!(
            py.get("parts"),
            "text/plain,message/delivery-status,text/rfc822-headers"
        );
        assert!(py.get("third").contains("Subject: Quarterly figures"));
        assert!(!py.get("third").contains("Hello Bob"));

        let mut big = failed_report(Some(DsnRet::Full));
        big.max_return_size = 100;
        let out = build_report(&big);
        let py = PythonReport::read(&out);
        assert_eq!(
            py.get("parts"),
            "text/plain,message/delivery-status,text/rfc822-headers"
        );
        assert!(!String::from_utf8_lossy(&out).contains("Hello Bob"));

        let py = PythonReport::read(&build_report(&failed_report(Some(DsnRet::Full))));
        assert_eq!(
            py.get("parts"),
            "text/plain,message/delivery-status,message/rfc822"
        );
    }

    #[test]
    fn delayed_report_for_python() {
        let mut r = recipient("dave@slow.example", DsnAction::Delayed, "4.4.1");
        r.diagnostic = Some("421 4.4.1 try later".into());
        r.will_retry_until = Some(1_700_432_000);
        let mut report = report(vec![r], None);
        report.envid = None;
        let py = PythonReport::read(&build_report(&report));
        assert_eq!(py.get("groups"), "2");
        assert_eq!(py.get("g0.Original-Envelope-Id"), "<missing>");
        assert_eq!(py.get("g1.Action"), "delayed");
        assert_eq!(py.get("g1.Status"), "4.4.1");
        assert_eq!(
            py.get("g1.Will-Retry-Until"),
            "Sun, 19 Nov 2023 22:13:20 +0000"
        );
    }

    /// What Python's `email` module made of a report: `key<TAB>value` lines.
    struct PythonReport(std::collections::HashMap<String, String>);

    impl PythonReport {
        const SCRIPT: &str = r#"
import email, email.policy, sys
msg = email.message_from_binary_file(open(sys.argv[1], "rb"), policy=email.policy.compat32)
out = {}
out["content-type"] = msg.get_content_type()
out["report-type"] = msg.get_param("report-type") or ""
out["defects"] = str(len(msg.defects))
parts = msg.get_payload()
out["parts"] = ",".join(p.get_content_type() for p in parts)
groups = parts[1].get_payload()
out["groups"] = str(len(groups))
for i, g in enumerate(groups):
    for name in ["Reporting-MTA", "Original-Envelope-Id", "Arrival-Date", "Original-Recipient",
                 "Final-Recipient", "Action", "Status", "Remote-MTA", "Diagnostic-Code",
                 "Last-Attempt-Date", "Will-Retry-Until", "Injected-Field"]:
        v = g.get(name)
        out["g%d.%s" % (i, name)] = "<missing>" if v is None else " ".join(v.split())
third = parts[2]
if third.get_content_type() == "message/rfc822":
    orig = third.get_payload()[0]
    out["original.Subject"] = orig["Subject"]
    out["original.defects"] = str(len(orig.defects))
else:
    out["third"] = third.get_payload().replace("\r", "").replace("\n", "|")
for k, v in out.items():
    print("%s\t%s" % (k, v))
"#;

        fn read(message: &[u8]) -> PythonReport {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("report.eml");
            std::fs::write(&path, message).unwrap();
            let output = match std::process::Command::new("python3")
                .arg("-c")
                .arg(Self::SCRIPT)
                .arg(&path)
                .output()
            {
                Ok(o) => o,
                Err(e) => panic!(
                    "this test needs python3 (its email package is the reference DSN reader): {e}"
                ),
            };
            assert!(
                output.status.success(),
                "python3 failed: {}\n{}",
                String::from_utf8_lossy(&output.stderr),
                String::from_utf8_lossy(message)
            );
            PythonReport(
                String::from_utf8(output.stdout)
                    .unwrap()
                    .lines()
                    .filter_map(|l| l.split_once('\t'))
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            )
        }

        fn get(&self, key: &str) -> &str {
            self.0.get(key).map_or("<absent>", String::as_str)
        }
    }
}
