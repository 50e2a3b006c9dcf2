//! Filesystem blob store: `<root>/ab/cd/<sha256 hex>`.
//!
//! Durability (design invariant 1): content is written to `<root>/tmp/<random>`, fsynced,
//! renamed into place, and the destination directory is fsynced (and, when it had to be
//! created, its parents too), so a blob whose `put` returned survives a crash. A crash
//! before the rename leaves only a temp file, removed at the next open.

use std::io::Write;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use mailstead_types::BlobId;
use sha2::{Digest, Sha256};

use crate::{BlobStore, Result, StoreError};

/// Blob store on a local directory.
#[derive(Debug, Clone)]
pub struct FsBlobStore {
    root: PathBuf,
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Opens a directory for fsync (Linux allows fsync on a read-only directory handle).
fn sync_dir(dir: &Path) -> Result<()> {
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err(dir))
}

/// The SHA-256 of `data` as a [`BlobId`].
pub fn blob_id_of(data: &[u8]) -> BlobId {
    BlobId(Sha256::digest(data).into())
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| StoreError::Task(e.to_string()))?
}

impl FsBlobStore {
    /// Opens (creating) the blob directory and removes temp files left by a crash.
    pub async fn open(root: &Path) -> Result<Self> {
        let root = root.to_path_buf();
        blocking(move || {
            let tmp = root.join("tmp");
            std::fs::create_dir_all(&tmp).map_err(io_err(&tmp))?;
            for entry in std::fs::read_dir(&tmp).map_err(io_err(&tmp))? {
                let entry = entry.map_err(io_err(&tmp))?;
                // Leftovers of an interrupted put: never acknowledged, safe to drop.
                let _ = std::fs::remove_file(entry.path());
            }
            Ok(FsBlobStore { root })
        })
        .await
    }

    /// Where the blob with this id lives.
    pub fn path_of(&self, id: &BlobId) -> PathBuf {
        let hex = id.to_hex();
        self.root.join(&hex[0..2]).join(&hex[2..4]).join(hex)
    }

    fn put_blocking(&self, data: &[u8]) -> Result<BlobId> {
        let id = blob_id_of(data);
        let dest = self.path_of(&id);
        if dest.exists() {
            return Ok(id);
        }
        let tmp_dir = self.root.join("tmp");
        let tmp = tmp_dir.join(format!("{}.{}", id.to_hex(), rand::random::<u64>()));
        {
            let mut f = std::fs::File::create(&tmp).map_err(io_err(&tmp))?;
            f.write_all(data).map_err(io_err(&tmp))?;
            f.sync_all().map_err(io_err(&tmp))?;
        }
        let dir = dest.parent().unwrap_or(&self.root).to_path_buf();
        if !dir.exists() {
            std::fs::create_dir_all(&dir).map_err(io_err(&dir))?;
            // New directory entries must be durable too: ab/ in root, cd/ in ab/.
            if let Some(parent) = dir.parent() {
                sync_dir(parent)?;
            }
            sync_dir(&self.root)?;
        }
        std::fs::rename(&tmp, &dest).map_err(io_err(&dest))?;
        sync_dir(&dir)?;
        Ok(id)
    }
}

#[async_trait]
impl BlobStore for FsBlobStore {
    async fn put(&self, data: &[u8]) -> Result<BlobId> {
        let this = self.clone();
        let data = data.to_vec();
        blocking(move || this.put_blocking(&data)).await
    }

    async fn get(&self, id: &BlobId) -> Result<Option<Vec<u8>>> {
        let path = self.path_of(id);
        let id = *id;
        blocking(move || match std::fs::read(&path) {
            Ok(data) => {
                if blob_id_of(&data) != id {
                    return Err(StoreError::Corrupt(format!(
                        "blob {} does not match its hash",
                        path.display()
                    )));
                }
                Ok(Some(data))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_err(&path)(e)),
        })
        .await
    }

    async fn exists(&self, id: &BlobId) -> Result<bool> {
        let path = self.path_of(id);
        blocking(move || Ok(path.exists())).await
    }

    async fn delete(&self, id: &BlobId) -> Result<()> {
        let path = self.path_of(id);
        blocking(move || match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io_err(&path)(e)),
        })
        .await
    }

    async fn list(&self) -> Result<Vec<BlobId>> {
        let root = self.root.clone();
        blocking(move || {
            let mut out = Vec::new();
            for l1 in std::fs::read_dir(&root).map_err(io_err(&root))? {
                let l1 = l1.map_err(io_err(&root))?.path();
                let is_fan = l1
                    .file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.len() == 2 && n.bytes().all(|b| b.is_ascii_hexdigit()));
                if !is_fan || !l1.is_dir() {
                    continue;
                }
                for l2 in std::fs::read_dir(&l1).map_err(io_err(&l1))? {
                    let l2 = l2.map_err(io_err(&l1))?.path();
                    if !l2.is_dir() {
                        continue;
                    }
                    for f in std::fs::read_dir(&l2).map_err(io_err(&l2))? {
                        let f = f.map_err(io_err(&l2))?;
                        if let Some(id) = f.file_name().to_str().and_then(|n| n.parse().ok()) {
                            out.push(id);
                        }
                    }
                }
            }
            out.sort();
            Ok(out)
        })
        .await
    }
}
