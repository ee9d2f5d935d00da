//! The SIAK part of a reference load, streamed: an extract of any size (a national first
//! extract is ~270 million rows, ~30 GB of CSV) is read as a byte stream (hashed on the way)
//! and parsed on a blocking thread that hands over a chunk of rows at a time
//! ([`super::LoadOptions::chunk_rows`]), so memory follows the chunk size, never the file.
//!
//! Per chunk: the last row of each NIK in the chunk, in NIK order, is compared with the NIK's
//! current row in `resident_history` as committed before the load ([`committed`]: a join with
//! the chunk's NIKs, a narrow NIK range at a time) and kept when it differs. Kept rows are
//! buffered and written as Parquet data files of about a chunk each, sorted by NIK, through a
//! [`delta::Appender`]. Nothing is committed until every file of the load is read: the load
//! then commits `resident_history` once, with the load's files in the commit's metadata, and
//! [`super::load`] commits `reference_loads` last.
//!
//! Later wins: each chunk of the load gets its own `loaded` time, the load's start plus the
//! chunk's number in microseconds (files in path order, chunks in file order), so of two rows
//! of one NIK written by one load the one given later is the later row, as the views pick it.
//! The chunks compare with the committed table only, so a NIK changed by an earlier chunk of
//! this load and given again with its committed row (a correction undone by a later file) is
//! remembered ([`Stream::corrected`], only NIKs that had a committed row and changed) and
//! written again.
//!
//! Resuming: a load killed after its `resident_history` commit but before `reference_loads`
//! left rows that are in the table but files that are not recorded. The next load finds the
//! commit's metadata ([`interrupted`]) and, when those files are still listed unchanged and
//! come first among the files to load, records them as loaded from the metadata instead of
//! reading them again, so it ends as the uninterrupted load would have.

use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::time::Instant;

use bytes::{Buf, Bytes};
use chrono::{DateTime, Duration, Utc};
use datafusion::prelude::SessionContext;
use futures::stream::BoxStream;
use futures::StreamExt;
use object_store::ObjectStoreExt;
use reference::{Nik, Resident};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::Listed;
use crate::delta;
use crate::error::{LakeError, Result};
use crate::store::Store;
use crate::tables::resident_history::{self, ResidentHistoryRecord};
use crate::tables::Table;

/// Key of the load's record in the `commitInfo` of its `resident_history` commit.
const COMMIT_KEY: &str = "tunggalReferenceLoad";

/// Commits of `resident_history` looked at for an interrupted load (a `tunggal maintain` may
/// have committed after it).
const COMMITS_LOOKED_AT: usize = 10;

/// Seconds between two progress lines of a long load.
const PROGRESS_EVERY_S: u64 = 10;

/// What the load recorded of one SIAK file in its `resident_history` commit, and what
/// `reference_loads` then records of it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct FileDone {
    /// Object path.
    pub path: String,
    /// SHA-256 of the bytes read, hex.
    pub sha256: String,
    /// Size as listed.
    pub size: i64,
    /// Last-modified time as listed, microseconds since the epoch.
    pub modified_us: i64,
    /// Rows in the file.
    pub rows: u64,
    /// Rows it appended to `resident_history`.
    pub appended: u64,
}

impl FileDone {
    /// The listed last-modified time.
    pub fn modified(&self) -> DateTime<Utc> {
        DateTime::from_timestamp_micros(self.modified_us).unwrap_or_default()
    }
}

/// What the `resident_history` commit of a load records (`commitInfo`).
#[derive(Debug, Serialize, Deserialize)]
struct CommitRecord {
    load_id: String,
    files: Vec<FileDone>,
}

/// The SIAK files of the latest load whose `resident_history` commit is in the table but
/// whose files are not in `reference_loads` (`loaded` holds the (path, SHA-256) pairs that
/// are): a load killed between its two commits. Empty when there is none.
pub(super) async fn interrupted(
    store: &Store,
    loaded: &HashSet<(String, String)>,
) -> Result<Vec<FileDone>> {
    let infos =
        delta::recent_commit_infos(store, Table::ResidentHistory, COMMITS_LOOKED_AT).await?;
    for info in infos {
        let Some(value) = info.info.get(COMMIT_KEY) else {
            continue;
        };
        let record: CommitRecord =
            serde_json::from_value(value.clone()).map_err(|e| LakeError::Reference {
                path: Table::ResidentHistory.folder(),
                reason: format!("unreadable load record in the table's log: {e}"),
            })?;
        let recorded = record
            .files
            .iter()
            .any(|f| loaded.contains(&(f.path.clone(), f.sha256.clone())));
        return Ok(if recorded { Vec::new() } else { record.files });
    }
    Ok(Vec::new())
}

/// The streamed SIAK part of one load.
pub(super) struct Stream<'a> {
    store: &'a Store,
    ctx: &'a SessionContext,
    load_id: String,
    started: DateTime<Utc>,
    chunk_rows: usize,
    /// Chunks taken so far (their `loaded` offsets).
    chunks: i64,
    /// Rows kept and not written yet.
    buffer: Vec<ResidentHistoryRecord>,
    appender: Option<delta::Appender>,
    /// NIKs with a committed row that an earlier chunk of this load changed: given again with
    /// their committed row, they are written again (later wins).
    corrected: HashSet<Nik>,
    /// The files taken, in order.
    pub files: Vec<FileDone>,
}

impl<'a> Stream<'a> {
    /// A load starting at `started` (the load's `loaded` time), reading the committed rows
    /// through `ctx`.
    pub fn new(
        store: &'a Store,
        ctx: &'a SessionContext,
        load_id: &str,
        started: DateTime<Utc>,
        chunk_rows: usize,
    ) -> Stream<'a> {
        Stream {
            store,
            ctx,
            load_id: load_id.to_string(),
            started,
            chunk_rows: chunk_rows.max(1),
            chunks: 0,
            buffer: Vec::new(),
            appender: None,
            corrected: HashSet::new(),
            files: Vec::new(),
        }
    }

    /// Takes one extract file: streams it, appends its new and changed rows (not committed
    /// yet), and records it in [`Stream::files`].
    pub async fn file(&mut self, listed: &Listed) -> Result<()> {
        let path = listed.path.clone();
        let reference_error = |reason: String| LakeError::Reference {
            path: path.clone(),
            reason,
        };
        let object = self
            .store
            .objects()
            .get(&object_store::path::Path::from(path.as_str()))
            .await?;
        let stream = object.into_stream();
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<Resident>>(1);
        let chunk_rows = self.chunk_rows;
        let handle = tokio::runtime::Handle::current();
        let parse_path = path.clone();
        // The csv reader wants a blocking `Read`: parse on a blocking thread that pulls the
        // object's bytes (hashing them) and hands over one chunk of rows at a time.
        let parser = tokio::task::spawn_blocking(move || -> Result<(String, u64)> {
            let error = |reason: String| LakeError::Reference {
                path: parse_path.clone(),
                reason,
            };
            let mut reader = ObjectReader::new(handle, stream);
            let mut rows = 0u64;
            {
                let residents = reference::siak::read_csv_rows(&mut reader)
                    .map_err(|e| error(e.to_string()))?;
                let mut chunk = Vec::with_capacity(chunk_rows);
                for resident in residents {
                    chunk.push(resident.map_err(|e| error(e.to_string()))?);
                    rows += 1;
                    if chunk.len() >= chunk_rows {
                        let full = std::mem::replace(&mut chunk, Vec::with_capacity(chunk_rows));
                        if tx.blocking_send(full).is_err() {
                            // The load gave up on this file (its error is reported there).
                            return Ok((String::new(), rows));
                        }
                    }
                }
                if !chunk.is_empty() && tx.blocking_send(chunk).is_err() {
                    return Ok((String::new(), rows));
                }
            }
            // Whatever follows the last row still counts in the file's hash.
            std::io::copy(&mut reader, &mut std::io::sink())
                .map_err(|e| error(format!("reading failed: {e}")))?;
            Ok((reader.sha256(), rows))
        });

        let first_chunk = self.chunks;
        let mut appended = 0u64;
        let mut read = 0u64;
        let mut last_line = Instant::now();
        tracing::info!(file = %path, size = listed.size, "reading SIAK extract");
        while let Some(rows) = rx.recv().await {
            read += rows.len() as u64;
            appended += self.chunk(&path, rows).await?;
            if last_line.elapsed().as_secs() >= PROGRESS_EVERY_S {
                last_line = Instant::now();
                tracing::info!(
                    file = %path,
                    rows_read = read,
                    rows_appended = appended,
                    files_written = self.appender.as_ref().map_or(0, |a| a.files()),
                    "reading SIAK extract"
                );
            }
        }
        let (sha256, rows) = parser
            .await
            .map_err(|e| reference_error(format!("reading stopped: {e}")))??;
        debug_assert_eq!(rows, read);
        tracing::info!(
            file = %path,
            rows_read = rows,
            rows_appended = appended,
            chunks = self.chunks - first_chunk,
            "SIAK extract read"
        );
        self.files.push(FileDone {
            path,
            sha256,
            size: listed.size,
            modified_us: listed.modified.timestamp_micros(),
            rows,
            appended,
        });
        Ok(())
    }

    /// One chunk of a file: keeps the last row of each NIK when it differs from the NIK's
    /// current row (or undoes an earlier change of this load); returns how many it kept.
    async fn chunk(&mut self, path: &str, rows: Vec<Resident>) -> Result<u64> {
        let loaded = self.started + Duration::microseconds(self.chunks);
        self.chunks += 1;
        let mut last: HashMap<Nik, usize> = HashMap::with_capacity(rows.len());
        for (i, r) in rows.iter().enumerate() {
            last.insert(r.nik, i);
        }
        let mut given: Vec<Resident> = rows
            .into_iter()
            .enumerate()
            .filter(|(i, r)| last.get(&r.nik) == Some(i))
            .map(|(_, r)| r)
            .collect();
        drop(last);
        given.sort_by_key(|r| r.nik);
        let niks: Vec<String> = given.iter().map(|r| r.nik.as_str().to_string()).collect();
        let current = super::current_residents(self.ctx, &niks).await?;
        let mut kept = 0u64;
        for resident in given {
            match current.get(resident.nik.as_str()) {
                // Unchanged, unless an earlier chunk of this load changed it: undone.
                Some(now) if *now == resident && !self.corrected.contains(&resident.nik) => {
                    continue;
                }
                Some(now) if *now == resident => {}
                Some(_) => {
                    self.corrected.insert(resident.nik);
                }
                None => {}
            }
            kept += 1;
            self.buffer.push(ResidentHistoryRecord {
                resident,
                extract: path.to_string(),
                loaded,
            });
        }
        if self.buffer.len() >= self.chunk_rows {
            self.write().await?;
        }
        Ok(kept)
    }

    /// Writes the buffered rows as one data file (not committed), sorted by NIK: each file
    /// then covers a narrow NIK range where the extract is ordered by region, and the
    /// look-ups by NIK skip most files by their statistics.
    async fn write(&mut self) -> Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        self.buffer.sort_by_key(|r| (r.resident.nik, r.loaded));
        let batch = resident_history::to_batch(&self.buffer)?;
        self.buffer.clear();
        if self.appender.is_none() {
            self.appender = Some(delta::Appender::open(self.store, Table::ResidentHistory).await?);
        }
        if let Some(appender) = self.appender.as_mut() {
            appender.write(batch).await?;
        }
        Ok(())
    }

    /// Writes what is left and commits every file written, in one `resident_history` commit
    /// that records the load's files (`adopted`, those of an interrupted load this one
    /// records, first); nothing written, no commit. Returns the files this stream took.
    pub async fn commit(mut self, adopted: &[FileDone]) -> Result<Vec<FileDone>> {
        self.write().await?;
        if let Some(appender) = self.appender.take() {
            let record = CommitRecord {
                load_id: self.load_id.clone(),
                files: adopted.iter().chain(&self.files).cloned().collect(),
            };
            let value = serde_json::to_value(&record).map_err(|e| LakeError::Reference {
                path: Table::ResidentHistory.folder(),
                reason: format!("cannot record the load: {e}"),
            })?;
            let (files, rows) = (appender.files(), appender.rows());
            appender.commit([(COMMIT_KEY.to_string(), value)]).await?;
            tracing::info!(files, rows, "resident_history committed");
        }
        Ok(self.files)
    }
}

/// The SHA-256 of a whole object, read as a stream (for a file listed with the size of a
/// loaded one: the same bytes again are skipped without parsing).
pub(super) async fn sha256_of(store: &Store, path: &str) -> Result<String> {
    let mut stream = store
        .objects()
        .get(&object_store::path::Path::from(path))
        .await?
        .into_stream();
    let mut hasher = Sha256::new();
    while let Some(bytes) = stream.next().await {
        hasher.update(&bytes?);
    }
    Ok(hex::encode(hasher.finalize()))
}

/// A blocking `Read` over an object's byte stream (on a blocking thread), hashing what it
/// reads.
struct ObjectReader {
    handle: tokio::runtime::Handle,
    stream: BoxStream<'static, object_store::Result<Bytes>>,
    current: Bytes,
    hasher: Sha256,
}

impl ObjectReader {
    fn new(
        handle: tokio::runtime::Handle,
        stream: BoxStream<'static, object_store::Result<Bytes>>,
    ) -> ObjectReader {
        ObjectReader {
            handle,
            stream,
            current: Bytes::new(),
            hasher: Sha256::new(),
        }
    }

    /// The SHA-256 of the bytes read so far, hex.
    fn sha256(&self) -> String {
        hex::encode(self.hasher.clone().finalize())
    }
}

impl Read for ObjectReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            match self.handle.block_on(self.stream.next()) {
                None => return Ok(0),
                Some(Ok(bytes)) => {
                    self.hasher.update(&bytes);
                    self.current = bytes;
                }
                Some(Err(e)) => return Err(std::io::Error::other(e)),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        self.current.advance(n);
        Ok(n)
    }
}
