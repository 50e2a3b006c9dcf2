//! Id newtypes and the IMAP numbers of RFC 9051 §2.3.1.

use std::fmt;
use std::str::FromStr;

macro_rules! row_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

row_id!(
    /// A domain row.
    DomainId
);
row_id!(
    /// An account (a mailbox owner that can log in).
    AccountId
);
row_id!(
    /// An alias row (one address, several destinations).
    AliasId
);
row_id!(
    /// An app password (a per-device secret of one account).
    AppPasswordId
);
row_id!(
    /// A mailbox (folder) of one account.
    MailboxId
);
row_id!(
    /// A message row: one message in one mailbox (the same blob may back several rows).
    MessageId
);
row_id!(
    /// A delivery status notification still owed to a sender (RFC 3461), waiting for the
    /// outbound queue.
    DsnRequestId
);

row_id!(
    /// A message in the outbound queue (one envelope, several recipients).
    QueueId
);
row_id!(
    /// One recipient of a queued message, with its own delivery status.
    QueueRecipientId
);
row_id!(
    /// A DKIM signing key of a domain (one selector).
    DkimKeyId
);

/// IMAP unique identifier (RFC 9051 §2.3.1.1): non-zero, strictly ascending within a
/// mailbox and never reused while its [`UidValidity`] stands.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct Uid(pub u32);

/// IMAP UIDVALIDITY (RFC 9051 §2.3.1.1): changes only when UIDs of a mailbox name are
/// no longer valid (the mailbox was deleted and created again).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct UidValidity(pub u32);

/// CONDSTORE mod-sequence (RFC 7162 §3): a positive 63-bit number, strictly ascending per
/// mailbox with every change.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct ModSeq(pub u64);

impl fmt::Display for Uid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}
impl fmt::Display for UidValidity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}
impl fmt::Display for ModSeq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The SHA-256 digest that names an immutable blob (content addressing).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BlobId(pub [u8; 32]);

/// Why a string is not a [`BlobId`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("blob id must be 64 lower-case hex digits")]
pub struct BlobIdError;

impl BlobId {
    /// Lower-case hex, 64 characters.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl FromStr for BlobId {
    type Err = BlobIdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.len() != 64 || s.bytes().any(|b| b.is_ascii_uppercase()) {
            return Err(BlobIdError);
        }
        let mut out = [0u8; 32];
        hex::decode_to_slice(s, &mut out).map_err(|_| BlobIdError)?;
        Ok(BlobId(out))
    }
}

impl fmt::Display for BlobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for BlobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BlobId({})", self.to_hex())
    }
}

impl serde::Serialize for BlobId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> serde::Deserialize<'de> for BlobId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blob_id_hex_round_trips() {
        let id = BlobId([0xab; 32]);
        let hex = id.to_hex();
        assert_eq!(hex.len(), 64);
        assert_eq!(hex.parse::<BlobId>(), Ok(id));
    }

    #[test]
    fn blob_id_rejects_bad_text() {
        for bad in ["", "ab", &"g".repeat(64), &"AB".repeat(32), &"a".repeat(65)] {
            assert_eq!(bad.parse::<BlobId>(), Err(BlobIdError), "{bad:?}");
        }
    }
}
