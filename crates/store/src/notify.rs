//! In-process change notification: which mailbox changed, for IMAP IDLE and for sessions
//! with the mailbox selected. Only a wake-up: receivers re-read the change log
//! (`changes_since`), so a lagged receiver that missed some announcements loses nothing.

use mailstead_types::MailboxId;
use tokio::sync::broadcast;

/// Broadcasts the ids of mailboxes whose committed state changed.
#[derive(Debug)]
pub struct Notifier {
    tx: broadcast::Sender<MailboxId>,
    /// Wakes the outbound queue when something was queued (or made due) in this process.
    queue: tokio::sync::Notify,
}

impl Default for Notifier {
    fn default() -> Self {
        Self::new()
    }
}

impl Notifier {
    /// A notifier with room for 1024 unread announcements per receiver; a receiver that
    /// falls further behind gets `Lagged` and must re-read everything it watches.
    pub fn new() -> Self {
        let (tx, _) = broadcast::channel(1024);
        Notifier {
            tx,
            queue: tokio::sync::Notify::new(),
        }
    }

    /// Announces a change (no-op when nobody listens).
    pub fn notify(&self, mailbox: MailboxId) {
        let _ = self.tx.send(mailbox);
    }

    /// A new receiver of announcements made from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<MailboxId> {
        self.tx.subscribe()
    }

    /// Announces that messages were queued or made due (the queue worker wakes up; a
    /// wake-up given while it is busy is kept for its next wait).
    pub fn notify_queue(&self) {
        self.queue.notify_one();
    }

    /// Waits for [`Notifier::notify_queue`].
    pub async fn queue_notified(&self) {
        self.queue.notified().await;
    }
}
