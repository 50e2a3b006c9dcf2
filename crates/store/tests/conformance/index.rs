//! The message index: stored with delivery or by `put_index`, shared by copies of a blob,
//! read as summaries, listed when missing (`unindexed`), and searched as plain substrings.

use std::sync::Arc;

use mailstead_store::MetaStore;
use mailstead_store::model::{MessageIndex, NewMessage};
use mailstead_types::{MailboxId, Uid};

use super::{MetaFixture, inbox, mailbox, new_message};

fn uids(list: &[u32]) -> Vec<Uid> {
    list.iter().copied().map(Uid).collect()
}

/// An index whose texts name `n`.
fn index_of(n: u64) -> MessageIndex {
    MessageIndex {
        summary: format!("{{\"subject\":\"message {n}\"}}"),
        header_text: format!("subject: message {n}\nfrom: sender{n}@example.com\n"),
        body_text: format!("body of message {n}\n"),
    }
}

/// Message `n` carrying its index.
fn indexed_message(n: u64) -> NewMessage {
    NewMessage {
        index: Some(Arc::new(index_of(n))),
        ..new_message(n, 100)
    }
}

/// Message `n` carrying the given header and body text.
fn message_with_text(n: u64, header_text: &str, body_text: &str) -> NewMessage {
    NewMessage {
        index: Some(Arc::new(MessageIndex {
            summary: format!("summary {n}"),
            header_text: header_text.to_owned(),
            body_text: body_text.to_owned(),
        })),
        ..new_message(n, 100)
    }
}

async fn summary_of(s: &dyn MetaStore, mailbox: MailboxId, uid: u32) -> Option<String> {
    let got = s.summaries(mailbox, &[Uid(uid)]).await.expect("summaries");
    assert!(got.len() <= 1, "{got:?}");
    got.into_iter().next().map(|(u, summary)| {
        assert_eq!(u, Uid(uid));
        summary
    })
}

/// The index given with a delivery is stored with it; every copy of the blob (the same
/// delivery to several mailboxes, COPY, MOVE) finds it; `append_message` stores it too.
pub async fn index_is_stored_with_delivery_and_shared_by_copies(f: &MetaFixture) {
    let s = &*f.store;
    let (alice, inbox) = inbox(s).await;
    let archive = mailbox(s, alice.id, "Archive").await;
    let trash = mailbox(s, alice.id, "Trash").await;
    let expected = index_of(1).summary;

    let got = s
        .append_messages(&[
            (inbox.id, indexed_message(1)),
            (archive.id, indexed_message(1)),
        ])
        .await
        .expect("deliver");
    assert_eq!(got.len(), 2);
    assert_eq!(summary_of(s, inbox.id, 1).await, Some(expected.clone()));
    assert_eq!(summary_of(s, archive.id, 1).await, Some(expected.clone()));

    s.copy_messages(inbox.id, &uids(&[1]), trash.id, false)
        .await
        .expect("copy");
    s.copy_messages(archive.id, &uids(&[1]), trash.id, true)
        .await
        .expect("move");
    assert_eq!(
        s.summaries(trash.id, &uids(&[1, 2]))
            .await
            .expect("summaries"),
        vec![(Uid(1), expected.clone()), (Uid(2), expected)]
    );

    let appended = s
        .append_message(inbox.id, &indexed_message(2))
        .await
        .expect("append");
    assert_eq!(
        summary_of(s, inbox.id, appended.uid.0).await,
        Some(index_of(2).summary)
    );
    for mailbox in [inbox.id, archive.id, trash.id] {
        assert!(s.unindexed(mailbox).await.expect("unindexed").is_empty());
    }
}

/// A blob's index is written once: a later delivery or `put_index` with other content
/// keeps the first, and `put_index` of the same index again is a no-op. Expunging every
/// message of a blob leaves its index row for the garbage collector, so the blob delivered
/// again (without an index) is still indexed.
pub async fn put_index_is_idempotent_and_first_write_wins(f: &MetaFixture) {
    let s = &*f.store;
    let (alice, inbox) = inbox(s).await;
    let sent = mailbox(s, alice.id, "Sent").await;
    let first = s
        .append_message(inbox.id, &new_message(1, 10))
        .await
        .expect("append");
    assert_eq!(
        s.unindexed(inbox.id).await.expect("unindexed"),
        vec![(Uid(1), first.blob_id)]
    );
    assert_eq!(summary_of(s, inbox.id, 1).await, None);

    s.put_index(&first.blob_id, &index_of(1))
        .await
        .expect("put_index");
    s.put_index(&first.blob_id, &index_of(1))
        .await
        .expect("put_index again");
    s.put_index(&first.blob_id, &index_of(99))
        .await
        .expect("put_index of other content");
    assert_eq!(summary_of(s, inbox.id, 1).await, Some(index_of(1).summary));
    assert!(s.unindexed(inbox.id).await.expect("unindexed").is_empty());

    // Another delivery of the same blob with another index keeps the stored one.
    let other = NewMessage {
        index: Some(Arc::new(index_of(42))),
        ..new_message(1, 10)
    };
    let again = s.append_message(sent.id, &other).await.expect("append");
    assert_eq!(
        summary_of(s, sent.id, again.uid.0).await,
        Some(index_of(1).summary)
    );

    // The row outlives the messages.
    s.expunge(inbox.id, &uids(&[1])).await.expect("expunge");
    s.expunge(sent.id, &[again.uid]).await.expect("expunge");
    let back = s
        .append_message(inbox.id, &new_message(1, 10))
        .await
        .expect("append");
    assert_eq!(
        summary_of(s, inbox.id, back.uid.0).await,
        Some(index_of(1).summary)
    );
}

/// `summaries` returns the indexed messages among the given UIDs, ascending, each once,
/// leaving out unindexed, missing and other mailboxes' messages, and copes with a set of
/// 10,000 UIDs.
pub async fn summaries_cover_the_requested_indexed_uids(f: &MetaFixture) {
    let s = &*f.store;
    let (alice, inbox) = inbox(s).await;
    let sent = mailbox(s, alice.id, "Sent").await;
    for n in 1..=10u64 {
        let new = if n % 2 == 1 {
            indexed_message(n)
        } else {
            new_message(n, 100)
        };
        s.append_message(inbox.id, &new).await.expect("append");
    }
    s.append_message(sent.id, &indexed_message(11))
        .await
        .expect("append");

    let got = s
        .summaries(inbox.id, &uids(&[7, 2, 3, 5, 100, 3, 11]))
        .await
        .expect("summaries");
    assert_eq!(
        got,
        vec![
            (Uid(3), index_of(3).summary),
            (Uid(5), index_of(5).summary),
            (Uid(7), index_of(7).summary),
        ]
    );
    assert!(s.summaries(inbox.id, &[]).await.expect("empty").is_empty());

    let many: Vec<Uid> = (1..=10_000).rev().map(Uid).collect();
    let got = s.summaries(inbox.id, &many).await.expect("summaries");
    assert_eq!(
        got.iter().map(|(u, _)| *u).collect::<Vec<_>>(),
        uids(&[1, 3, 5, 7, 9])
    );
    let got = s.summaries(sent.id, &many).await.expect("summaries");
    assert_eq!(got, vec![(Uid(1), index_of(11).summary)]);

    let missing: Vec<Uid> = s
        .unindexed(inbox.id)
        .await
        .expect("unindexed")
        .into_iter()
        .map(|(uid, _)| uid)
        .collect();
    assert_eq!(missing, uids(&[2, 4, 6, 8, 10]));
    assert!(s.unindexed(sent.id).await.expect("unindexed").is_empty());
}

/// Search is a plain, case-sensitive substring test on the stored (lower-case) text:
/// `%`, `_`, quotes and backslashes are ordinary characters, non-ASCII text matches, only
/// the mailbox's own messages are searched, and an empty needle matches every indexed
/// message. `search_headers` returns the header text it matched.
pub async fn search_finds_plain_substrings(f: &MetaFixture) {
    let s = &*f.store;
    let (alice, inbox) = inbox(s).await;
    let sent = mailbox(s, alice.id, "Sent").await;
    let texts = [
        ("subject: 100% sure\n", "discount of 50% today"),
        ("subject: snake_case names\n", "call my_function()"),
        ("subject: it's \"quoted\"\n", "a back\\slash here"),
        ("subject: grüße aus köln\n", "日本語のテキスト"),
        ("subject: abc plain\n", "nothing special"),
    ];
    for (n, (header, body)) in texts.iter().enumerate() {
        s.append_message(inbox.id, &message_with_text(n as u64, header, body))
            .await
            .expect("append");
    }
    // Unindexed, and in another mailbox: never found.
    s.append_message(inbox.id, &new_message(50, 1))
        .await
        .expect("append");
    s.append_message(sent.id, &message_with_text(60, texts[0].0, texts[0].1))
        .await
        .expect("append");

    let headers = |needle: &'static str| async move {
        s.search_headers(inbox.id, needle)
            .await
            .expect("search_headers")
            .into_iter()
            .map(|(uid, _)| uid.0)
            .collect::<Vec<_>>()
    };
    let body = |needle: &'static str| async move {
        s.search_body(inbox.id, needle)
            .await
            .expect("search_body")
            .into_iter()
            .map(|uid| uid.0)
            .collect::<Vec<_>>()
    };

    assert_eq!(headers("%").await, [1]);
    assert_eq!(headers("0%").await, [1]);
    assert_eq!(headers("_").await, [2]);
    assert_eq!(headers("a_c").await, Vec::<u32>::new(), "_ is no wildcard");
    assert_eq!(headers("a%c").await, Vec::<u32>::new(), "% is no wildcard");
    assert_eq!(headers("it's").await, [3]);
    assert_eq!(headers("\"quoted\"").await, [3]);
    assert_eq!(headers("grüße").await, [4]);
    assert_eq!(headers("köln").await, [4]);
    assert_eq!(headers("Köln").await, Vec::<u32>::new(), "no case folding");
    assert_eq!(headers("subject:").await, [1, 2, 3, 4, 5]);
    assert_eq!(headers("").await, [1, 2, 3, 4, 5]);
    assert_eq!(headers("nothing").await, Vec::<u32>::new(), "body only");

    assert_eq!(body("50%").await, [1]);
    assert_eq!(body("my_f").await, [2]);
    assert_eq!(body("y_f").await, [2]);
    assert_eq!(body("back\\slash").await, [3]);
    assert_eq!(body("テキスト").await, [4]);
    assert_eq!(body("sure").await, Vec::<u32>::new(), "header only");
    assert_eq!(body("").await, [1, 2, 3, 4, 5]);

    let got = s
        .search_headers(inbox.id, "grüße")
        .await
        .expect("search_headers");
    assert_eq!(got, vec![(Uid(4), texts[3].0.to_owned())]);
    assert_eq!(
        s.search_headers(sent.id, "100%").await.expect("search"),
        vec![(Uid(1), texts[0].0.to_owned())]
    );
}

/// NUL characters are stripped from the stored texts (PostgreSQL `TEXT` cannot hold
/// them), in every backend alike, and ignored in search needles.
pub async fn nul_characters_are_stripped(f: &MetaFixture) {
    let s = &*f.store;
    let (_, inbox) = inbox(s).await;
    let new = NewMessage {
        index: Some(Arc::new(MessageIndex {
            summary: "{\"a\":\"x\0y\"}".into(),
            header_text: "subject: nul\0here\n".into(),
            body_text: "\0body\0 with nul".into(),
        })),
        ..new_message(1, 10)
    };
    s.append_message(inbox.id, &new).await.expect("append");
    assert_eq!(
        summary_of(s, inbox.id, 1).await,
        Some("{\"a\":\"xy\"}".into())
    );
    assert_eq!(
        s.search_headers(inbox.id, "nulhere").await.expect("search"),
        vec![(Uid(1), "subject: nulhere\n".to_owned())]
    );
    assert_eq!(
        s.search_headers(inbox.id, "nul\0here")
            .await
            .expect("search with a NUL"),
        vec![(Uid(1), "subject: nulhere\n".to_owned())]
    );
    assert_eq!(
        s.search_body(inbox.id, "body with").await.expect("search"),
        vec![Uid(1)]
    );

    let blob = s.messages(inbox.id).await.expect("messages")[0].blob_id;
    let other = s
        .append_message(inbox.id, &new_message(2, 10))
        .await
        .expect("append");
    s.put_index(
        &other.blob_id,
        &MessageIndex {
            summary: "\0".into(),
            header_text: "a\0\0b".into(),
            body_text: String::new(),
        },
    )
    .await
    .expect("put_index");
    assert_eq!(summary_of(s, inbox.id, 2).await, Some(String::new()));
    assert_eq!(
        s.search_headers(inbox.id, "ab").await.expect("search"),
        vec![(Uid(2), "ab".to_owned())]
    );
    assert_ne!(blob, other.blob_id);
}
