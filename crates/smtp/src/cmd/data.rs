//! DATA (RFC 5321 §4.1.1.4) and BDAT (RFC 3030 §2).

use mailstead_smtp_proto::{DataDecoder, DataProgress, codes};

use super::rep;
use crate::deliver::{Context, Outcome};
use crate::session::{End, Flow, ReadError, Session};
use crate::state::BodyMode;

/// DATA: 354, then the dot-terminated message.
pub(crate) async fn data(s: &mut Session) -> Result<Flow, End> {
    let Some(tx) = &s.state.transaction else {
        s.conn
            .reply(&rep(codes::C503_BAD_SEQUENCE, "send MAIL first"));
        return Ok(s.bad_command());
    };
    if tx.body_mode == BodyMode::Chunking {
        s.conn
            .reply(&rep(codes::C503_BAD_SEQUENCE, "DATA after BDAT"));
        return Ok(s.bad_command());
    }
    if tx.recipients.is_empty() {
        s.conn
            .reply(&rep(codes::C554_TRANSACTION_FAILED, "no valid recipients"));
        return Ok(Flow::Continue);
    }
    s.conn.reply(&rep(
        codes::C354_START_DATA,
        "end data with <CR><LF>.<CR><LF>",
    ));
    let mut decoder = DataDecoder::new(s.server.config.max_message_size);
    loop {
        match decoder.feed(s.conn.buffered()) {
            DataProgress::Done { consumed } => {
                s.conn.consume(consumed);
                break;
            }
            DataProgress::NeedMore { consumed } => {
                s.conn.consume(consumed);
                read_data(s).await?;
            }
        }
    }
    if decoder.too_big() {
        s.state.reset_transaction();
        s.conn.reply(&rep(
            codes::C552_MESSAGE_TOO_BIG,
            "message exceeds the size limit",
        ));
        return Ok(Flow::Continue);
    }
    if decoder.nul_seen() > 0 {
        // NUL is not text (RFC 5321 §2.3.8 / RFC 5322 §2.1); we do not offer BINARYMIME.
        s.state.reset_transaction();
        s.conn.reply(&rep(
            codes::C554_CONTENT_REJECTED,
            "message contains NUL characters",
        ));
        return Ok(Flow::Continue);
    }
    let message = decoder.take_message();
    finish(s, message).await
}

/// BDAT: a chunk of exactly `size` octets; LAST completes the message.
pub(crate) async fn bdat(s: &mut Session, size: u64, last: bool) -> Result<Flow, End> {
    // RFC 3030 §2: the chunk follows the command whatever the verdict, so it is always
    // read; what is wrong with the transaction is said after.
    let keep = s
        .state
        .transaction
        .as_ref()
        .is_some_and(|t| !t.recipients.is_empty() && !t.too_big);
    let max = s.server.config.max_message_size;
    let already = s
        .state
        .transaction
        .as_ref()
        .map_or(0, |t| t.chunks.len() as u64);
    let fits = already.saturating_add(size) <= max;
    let mut remaining = size;
    let mut chunk = Vec::new();
    while remaining > 0 {
        if s.conn.buffered().is_empty() {
            read_data(s).await?;
        }
        let take = (s.conn.buffered().len() as u64).min(remaining) as usize;
        if keep && fits {
            chunk.extend_from_slice(&s.conn.buffered()[..take]);
        }
        s.conn.consume(take);
        remaining -= take as u64;
    }
    let Some(tx) = s.state.transaction.as_mut() else {
        s.conn
            .reply(&rep(codes::C503_BAD_SEQUENCE, "send MAIL first"));
        return Ok(s.bad_command());
    };
    if tx.recipients.is_empty() {
        s.conn
            .reply(&rep(codes::C554_TRANSACTION_FAILED, "no valid recipients"));
        return Ok(Flow::Continue);
    }
    tx.body_mode = BodyMode::Chunking;
    if !fits {
        tx.too_big = true;
        tx.chunks = Vec::new();
    }
    if !tx.too_big {
        tx.chunks.extend_from_slice(&chunk);
    }
    if !last {
        if tx.too_big {
            s.conn.reply(&rep(
                codes::C552_MESSAGE_TOO_BIG,
                "message exceeds the size limit",
            ));
            s.state.reset_transaction();
        } else {
            s.conn.reply(&rep(
                codes::C250_CHUNK_OK,
                format!("{size} octets received"),
            ));
        }
        return Ok(Flow::Continue);
    }
    let tx_too_big = tx.too_big;
    let message = std::mem::take(&mut tx.chunks);
    if tx_too_big {
        s.state.reset_transaction();
        s.conn.reply(&rep(
            codes::C552_MESSAGE_TOO_BIG,
            "message exceeds the size limit",
        ));
        return Ok(Flow::Continue);
    }
    if message.contains(&0) {
        s.state.reset_transaction();
        s.conn.reply(&rep(
            codes::C554_CONTENT_REJECTED,
            "message contains NUL characters",
        ));
        return Ok(Flow::Continue);
    }
    finish(s, message).await
}

/// Reads more message data; a timeout says 421 and ends the session, a disconnect ends
/// it quietly. Either way the partial message is dropped: nothing was stored yet.
async fn read_data(s: &mut Session) -> Result<(), End> {
    match s.conn.read_more(s.server.config.data_timeout).await {
        Ok(()) => Ok(()),
        Err(ReadError::Timeout) => {
            let text = format!("{} timeout waiting for data", s.server.config.hostname);
            s.conn.reply(&rep(codes::C421_TIMEOUT, text));
            Err(End::Closed)
        }
        Err(ReadError::Gone) => {
            tracing::info!("client disconnected during the message; nothing stored");
            Err(End::Gone)
        }
    }
}

/// Hands the complete message to the queue and answers: `250` only once it is durable.
async fn finish(s: &mut Session, body: Vec<u8>) -> Result<Flow, End> {
    let Some(tx) = s.state.transaction.take() else {
        s.conn
            .reply(&rep(codes::C503_BAD_SEQUENCE, "no transaction"));
        return Ok(Flow::Continue);
    };
    let ctx = Context {
        helo: s
            .state
            .greeting
            .as_ref()
            .map(|g| g.domain.clone())
            .unwrap_or_default(),
        extended: s.state.greeting.as_ref().is_some_and(|g| g.extended),
        remote: s.remote,
        tls: s.tls.clone(),
        account: s.state.account.clone(),
    };
    match crate::deliver::deliver(&s.server, &tx, &ctx, body).await {
        Ok(Outcome::Accepted { id, accepted }) => {
            s.server
                .delivered
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            if let Some(account) = &ctx.account {
                s.server.send_rate.record(account.id);
            } else if !s.submission() {
                s.server.ip_rate.record(ctx.remote.ip());
            }
            // "stored" when every copy is in a mailbox already, "queued" when some wait
            // for delivery to other servers.
            let text = if accepted.queued == 0 {
                format!("ok: stored as {id}")
            } else {
                format!("ok: queued as {id}")
            };
            s.conn.reply(&rep(codes::C250_QUEUED, text));
        }
        Ok(Outcome::Refused(reply)) => s.conn.reply(&reply),
        Err(e) => {
            tracing::error!(error = %e, "delivery failed");
            s.conn.reply(&rep(
                codes::C451_LOCAL_ERROR,
                "temporary local problem, try again later",
            ));
        }
    }
    Ok(Flow::Continue)
}
