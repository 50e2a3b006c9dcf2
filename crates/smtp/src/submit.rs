//! What submission does to a message (RFC 6409 §8) before it is accepted:
//!
//! - every address of every `From:` field must be one the account may use (design
//!   invariant 3, [`mailstead_directory::Directory::may_send_as`]), unless the account
//!   may spoof or the client is in a relay network and did not log in; a message
//!   without `From:` is refused (RFC 5322 §3.6 requires one);
//! - `Date:` (§8.3) and `Message-ID:` (§8.1: `<random@hostname>`) are added when missing;
//! - the DKIM domain is the domain of the first `From:` address.
//!
//! The header is read with `mail-parser`; nothing here parses MIME by hand.

use mail_parser::{HeaderName, MessageParser};
use mailstead_smtp_proto::{Reply, codes};
use mailstead_store::model::Account;
use mailstead_types::Address;

use crate::SmtpServer;
use crate::cmd::rep;

/// What a submitted message needs before it is signed and accepted.
#[derive(Debug)]
pub(crate) struct Prepared {
    /// Header fields to add (`Date:`, `Message-ID:`), each with its CRLF; may be empty.
    pub added: String,
    /// The domain to sign for: the first `From:` address's.
    pub signing_domain: Option<String>,
}

/// The facts of the header that submission looks at.
#[derive(Debug, Default, PartialEq, Eq)]
struct HeaderFacts {
    /// Every address of every `From:` field, in order.
    from: Vec<String>,
    /// A `Date:` field is present (whatever its value).
    has_date: bool,
    /// A `Message-ID:` field is present.
    has_message_id: bool,
}

fn inspect(message: &[u8]) -> HeaderFacts {
    let mut facts = HeaderFacts::default();
    let Some(parsed) = MessageParser::new().parse_headers(message) else {
        return facts;
    };
    for header in parsed.headers() {
        match &header.name {
            HeaderName::From => {
                if let Some(list) = header.value.as_address() {
                    facts.from.extend(
                        list.iter()
                            .filter_map(|a| a.address())
                            .map(|a| a.trim().to_string()),
                    );
                }
            }
            HeaderName::Date => facts.has_date = true,
            HeaderName::MessageId => facts.has_message_id = true,
            _ => {}
        }
    }
    facts
}

/// Whether `account` may use `address` (as written in a path or a header) as sender.
pub(crate) async fn may_send_as(
    server: &SmtpServer,
    account: &Account,
    address: &str,
) -> Result<bool, mailstead_directory::DirectoryError> {
    if account.allow_spoofing {
        return Ok(true);
    }
    // Quoted local parts, address literals and the like are no address of ours.
    let Ok(address) = address.parse::<Address>() else {
        return Ok(false);
    };
    server.directory.may_send_as(account, &address).await
}

/// Checks the `From:` addresses of `message` and works out what to add. `Ok(Err(reply))`
/// when the message is refused.
pub(crate) async fn prepare(
    server: &SmtpServer,
    account: Option<&Account>,
    message: &[u8],
    now: time::OffsetDateTime,
) -> Result<Result<Prepared, Reply>, mailstead_directory::DirectoryError> {
    let facts = inspect(message);
    if facts.from.is_empty() {
        return Ok(Err(rep(
            codes::C554_CONTENT_REJECTED,
            "message has no From header",
        )));
    }
    if let Some(account) = account {
        for from in &facts.from {
            if !may_send_as(server, account, from).await? {
                tracing::info!(account = %account.address, from = %from, "From: address refused");
                return Ok(Err(rep(
                    codes::C553_SENDER_NOT_ALLOWED,
                    format!("<{from}>: sender address not owned by {}", account.address),
                )));
            }
        }
    }
    let mut added = String::new();
    if !facts.has_date {
        let date = now
            .format(&time::format_description::well_known::Rfc2822)
            .unwrap_or_default();
        added.push_str(&format!("Date: {date}\r\n"));
    }
    if !facts.has_message_id {
        added.push_str(&format!(
            "Message-ID: <{:032x}@{}>\r\n",
            rand::random::<u128>(),
            server.config.hostname
        ));
    }
    let signing_domain = facts
        .from
        .first()
        .and_then(|a| a.rsplit_once('@'))
        .map(|(_, domain)| domain.to_ascii_lowercase());
    Ok(Ok(Prepared {
        added,
        signing_domain,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inspect_finds_every_from_address_and_date_and_message_id() {
        let facts = inspect(
            b"From: Alice <alice@example.org>, bob@example.org\r\n\
              Subject: hi\r\n\
              from: Group: carol@example.org;\r\n\
              Date: Mon, 1 Jan 2024 00:00:00 +0000\r\n\
              Message-ID: <x@y>\r\n\r\nbody\r\nFrom: mallory@evil.example\r\n",
        );
        assert_eq!(
            facts.from,
            ["alice@example.org", "bob@example.org", "carol@example.org"]
        );
        assert!(facts.has_date && facts.has_message_id);
    }

    #[test]
    fn inspect_of_a_message_without_those_fields() {
        let facts = inspect(b"Subject: hi\r\n\r\nFrom: body@example.org\r\n");
        assert_eq!(facts, HeaderFacts::default());
        assert_eq!(inspect(b""), HeaderFacts::default());
        assert_eq!(inspect(b"\r\n\r\n"), HeaderFacts::default());
        // A From field without any address is as good as none.
        assert!(inspect(b"From: undisclosed\r\n\r\n").from.is_empty());
    }
}
