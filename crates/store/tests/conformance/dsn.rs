//! DSN requests (RFC 3461 §6.2.2): stored by `deliver` with the messages in one
//! transaction, listed oldest first, deleted; and what a request may not hold.

use mailstead_store::MetaStore;
use mailstead_store::model::{
    DsnAction, DsnRequest, DsnRet, NewDsnRequest, NewMessage, OriginalRecipient,
};
use mailstead_types::{DsnRequestId, MailboxId, ModSeq, Uid};

use super::{MetaFixture, assert_err, inbox, new_message};

/// A "delivered" request for `recipient` about `message`, with every optional field set.
fn request(message: &NewMessage, recipient: &str, created_at: i64) -> NewDsnRequest {
    NewDsnRequest {
        blob_id: message.blob_id,
        mail_from: "sender@example.com".into(),
        envid: Some("QQ314159 env id".into()),
        ret: Some(DsnRet::Hdrs),
        recipient: recipient.into(),
        original_recipient: Some(OriginalRecipient {
            addr_type: "rfc822".into(),
            address: format!("Orig+{recipient}"),
        }),
        action: DsnAction::Delivered,
        created_at,
    }
}

/// What the store must give back for `new`, whatever id it chose.
fn stored(id: DsnRequestId, new: &NewDsnRequest) -> DsnRequest {
    DsnRequest {
        id,
        blob_id: new.blob_id,
        mail_from: new.mail_from.clone(),
        envid: new.envid.clone(),
        ret: new.ret,
        recipient: new.recipient.clone(),
        original_recipient: new.original_recipient.clone(),
        action: new.action,
        created_at: new.created_at,
    }
}

/// Every request as stored (far more than any test stores).
async fn all(s: &dyn MetaStore) -> Vec<DsnRequest> {
    s.dsn_requests(1_000).await.expect("dsn_requests")
}

/// Requests come back field for field, with the optional fields both set and absent
/// (null sender, no ENVID, RET, ORCPT), oldest first by `created_at` and, within one
/// second, in the order they were stored; `limit` bounds the list.
pub async fn dsn_requests_are_stored_by_deliver_and_listed_oldest_first(f: &MetaFixture) {
    let s = &*f.store;
    let (_, inbox) = inbox(s).await;
    assert!(all(s).await.is_empty());

    let first = new_message(1, 10);
    let bare = NewDsnRequest {
        mail_from: String::new(),
        envid: None,
        ret: None,
        original_recipient: None,
        ..request(&first, "bob@example.org", 1_700_000_200)
    };
    let delivered = s
        .deliver(
            &[(inbox.id, first.clone())],
            &[
                request(&first, "alice@example.org", 1_700_000_300),
                bare.clone(),
            ],
        )
        .await
        .expect("deliver");
    assert_eq!(delivered.len(), 1);
    assert_eq!(delivered[0].uid, Uid(1));

    let second = new_message(2, 20);
    let full = NewDsnRequest {
        ret: Some(DsnRet::Full),
        ..request(&second, "carol@example.org", 1_700_000_200)
    };
    s.deliver(&[(inbox.id, second)], std::slice::from_ref(&full))
        .await
        .expect("deliver");

    let got = all(s).await;
    let expected_order = [
        &bare,
        &full,
        &request(&first, "alice@example.org", 1_700_000_300),
    ];
    assert_eq!(got.len(), 3, "{got:?}");
    for (got, new) in got.iter().zip(expected_order) {
        assert_eq!(*got, stored(got.id, new));
    }
    assert!(got[0].id < got[1].id, "same second: in the order stored");
    let ids: std::collections::HashSet<_> = got.iter().map(|r| r.id).collect();
    assert_eq!(ids.len(), 3, "distinct ids");

    assert_eq!(s.dsn_requests(2).await.expect("limit 2"), got[..2].to_vec());
    assert_eq!(s.dsn_requests(0).await.expect("limit 0"), vec![]);
    assert_eq!(
        s.deliver(&[], &[]).await.expect("nothing to deliver"),
        vec![]
    );
    assert_eq!(all(s).await, got);
}

/// A request without messages (nothing else to write) is stored on its own.
pub async fn deliver_stores_requests_without_targets(f: &MetaFixture) {
    let s = &*f.store;
    let new = request(&new_message(1, 1), "alice@example.org", 1_700_000_000);
    assert_eq!(
        s.deliver(&[], std::slice::from_ref(&new))
            .await
            .expect("deliver"),
        vec![]
    );
    let got = all(s).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0], stored(got[0].id, &new));
}

/// A deleted request is gone and the others stay; deleting it again is `NotFound`.
pub async fn dsn_request_is_deleted(f: &MetaFixture) {
    let s = &*f.store;
    let (_, inbox) = inbox(s).await;
    let message = new_message(1, 10);
    s.deliver(
        &[(inbox.id, message.clone())],
        &[
            request(&message, "alice@example.org", 1_700_000_000),
            request(&message, "bob@example.org", 1_700_000_001),
        ],
    )
    .await
    .expect("deliver");
    let before = all(s).await;
    assert_eq!(before.len(), 2);

    s.delete_dsn_request(before[0].id).await.expect("delete");
    assert_eq!(all(s).await, before[1..].to_vec());
    assert_err!(s.delete_dsn_request(before[0].id).await, NotFound);
    assert_err!(
        s.delete_dsn_request(DsnRequestId(before[1].id.0 + 1000))
            .await,
        NotFound
    );
    s.delete_dsn_request(before[1].id).await.expect("delete");
    assert!(all(s).await.is_empty());
    assert_eq!(s.messages(inbox.id).await.expect("messages").len(), 1);
}

/// A delivery that fails (a missing mailbox among its targets, or a request that cannot
/// be stored) stores neither messages nor requests, and uses up no UID or MODSEQ.
pub async fn deliver_is_atomic_with_its_dsn_requests(f: &MetaFixture) {
    let s = &*f.store;
    let (_, inbox) = inbox(s).await;
    let before = s
        .mailbox_by_id(inbox.id)
        .await
        .expect("mailbox")
        .expect("exists");
    let missing = MailboxId(inbox.id.0 + 1000);
    let message = new_message(1, 10);
    let good = request(&message, "alice@example.org", 1_700_000_000);

    for targets in [
        vec![(inbox.id, message.clone()), (missing, message.clone())],
        vec![(missing, message.clone()), (inbox.id, message.clone())],
    ] {
        assert_err!(
            s.deliver(&targets, std::slice::from_ref(&good)).await,
            NotFound
        );
    }
    // xtext can carry a NUL, which not every backend can store: refused alike by all.
    for bad in [
        NewDsnRequest {
            envid: Some("a\0b".into()),
            ..good.clone()
        },
        NewDsnRequest {
            original_recipient: Some(OriginalRecipient {
                addr_type: "rfc822".into(),
                address: "x\0@example.org".into(),
            }),
            ..good.clone()
        },
        NewDsnRequest {
            recipient: String::new(),
            ..good.clone()
        },
    ] {
        assert_err!(
            s.deliver(&[(inbox.id, message.clone())], &[good.clone(), bad])
                .await,
            Invalid
        );
    }

    assert!(all(s).await.is_empty(), "no request stored");
    assert!(
        s.messages(inbox.id).await.expect("messages").is_empty(),
        "no message stored"
    );
    let after = s
        .mailbox_by_id(inbox.id)
        .await
        .expect("mailbox")
        .expect("exists");
    assert_eq!(after, before, "UIDNEXT and HIGHESTMODSEQ unchanged");
    assert_eq!(
        s.changes_since(inbox.id, ModSeq(0)).await.expect("changes"),
        vec![]
    );

    // The store still works: the same delivery, corrected, goes through whole.
    let got = s
        .deliver(&[(inbox.id, message)], std::slice::from_ref(&good))
        .await
        .expect("deliver");
    assert_eq!(got[0].uid, Uid(1));
    assert_eq!(all(s).await.len(), 1);
}
