//! What the process asked of the object store: requests, objects listed, bytes read and
//! written — the figures that decide whether a night costs what the night brings (a LIST of
//! every landed object, a read of every table file) and what an S3 bill or an overloaded
//! bucket comes from.
//!
//! Every [`crate::Store`] wraps its backend in [`Counted`], which adds to one set of
//! process-wide counters; the stage runner takes the difference around each stage
//! ([`IoTotals::since`]) and records it in the stage's `runs` row and its metrics. Bytes read
//! are the byte ranges the store returned (a range read counts its range, not the object).

use std::fmt;
use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::BoxStream;
use futures::StreamExt;
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    PutMultipartOptions, PutOptions, PutPayload, PutResult, RenameOptions, Result, UploadPart,
};

/// The process's counters (see the module docs).
static LIST_REQUESTS: AtomicU64 = AtomicU64::new(0);
static OBJECTS_LISTED: AtomicU64 = AtomicU64::new(0);
static GET_REQUESTS: AtomicU64 = AtomicU64::new(0);
static BYTES_READ: AtomicU64 = AtomicU64::new(0);
static PUT_REQUESTS: AtomicU64 = AtomicU64::new(0);
static BYTES_WRITTEN: AtomicU64 = AtomicU64::new(0);
static OTHER_REQUESTS: AtomicU64 = AtomicU64::new(0);

/// Totals of the process's object-store traffic so far, or between two moments.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct IoTotals {
    /// LIST requests (a listing streamed in pages counts once).
    pub list_requests: u64,
    /// Objects and common prefixes those listings returned.
    pub objects_listed: u64,
    /// GET requests (whole objects, ranges, HEAD).
    pub get_requests: u64,
    /// Bytes the GETs returned.
    pub bytes_read: u64,
    /// PUT requests and multipart parts.
    pub put_requests: u64,
    /// Bytes written.
    pub bytes_written: u64,
    /// Deletes, copies and renames.
    pub other_requests: u64,
}

impl IoTotals {
    /// The totals now.
    pub fn now() -> IoTotals {
        IoTotals {
            list_requests: LIST_REQUESTS.load(Ordering::Relaxed),
            objects_listed: OBJECTS_LISTED.load(Ordering::Relaxed),
            get_requests: GET_REQUESTS.load(Ordering::Relaxed),
            bytes_read: BYTES_READ.load(Ordering::Relaxed),
            put_requests: PUT_REQUESTS.load(Ordering::Relaxed),
            bytes_written: BYTES_WRITTEN.load(Ordering::Relaxed),
            other_requests: OTHER_REQUESTS.load(Ordering::Relaxed),
        }
    }

    /// The traffic since `earlier` (taken with [`IoTotals::now`]).
    pub fn since(earlier: IoTotals) -> IoTotals {
        let now = IoTotals::now();
        IoTotals {
            list_requests: now.list_requests.saturating_sub(earlier.list_requests),
            objects_listed: now.objects_listed.saturating_sub(earlier.objects_listed),
            get_requests: now.get_requests.saturating_sub(earlier.get_requests),
            bytes_read: now.bytes_read.saturating_sub(earlier.bytes_read),
            put_requests: now.put_requests.saturating_sub(earlier.put_requests),
            bytes_written: now.bytes_written.saturating_sub(earlier.bytes_written),
            other_requests: now.other_requests.saturating_sub(earlier.other_requests),
        }
    }
}

fn add(counter: &AtomicU64, n: u64) {
    counter.fetch_add(n, Ordering::Relaxed);
}

/// An object store that counts what is asked of `inner` (see the module docs).
#[derive(Debug)]
pub struct Counted {
    inner: Arc<dyn ObjectStore>,
}

impl Counted {
    /// Wraps `inner`.
    pub fn new(inner: Arc<dyn ObjectStore>) -> Counted {
        Counted { inner }
    }
}

impl fmt::Display for Counted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Counted({})", self.inner)
    }
}

fn counting(
    stream: BoxStream<'static, Result<ObjectMeta>>,
) -> BoxStream<'static, Result<ObjectMeta>> {
    add(&LIST_REQUESTS, 1);
    stream
        .inspect(|item| {
            if item.is_ok() {
                add(&OBJECTS_LISTED, 1);
            }
        })
        .boxed()
}

#[async_trait]
impl ObjectStore for Counted {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> Result<PutResult> {
        let size = payload.content_length() as u64;
        let done = self.inner.put_opts(location, payload, opts).await?;
        add(&PUT_REQUESTS, 1);
        add(&BYTES_WRITTEN, size);
        Ok(done)
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> Result<Box<dyn MultipartUpload>> {
        let upload = self.inner.put_multipart_opts(location, opts).await?;
        Ok(Box::new(CountedUpload { upload }))
    }

    async fn get_opts(&self, location: &Path, options: GetOptions) -> Result<GetResult> {
        let head = options.head;
        let got = self.inner.get_opts(location, options).await?;
        add(&GET_REQUESTS, 1);
        if !head {
            add(&BYTES_READ, got.range.end.saturating_sub(got.range.start));
        }
        Ok(got)
    }

    async fn get_ranges(&self, location: &Path, ranges: &[Range<u64>]) -> Result<Vec<Bytes>> {
        let got = self.inner.get_ranges(location, ranges).await?;
        add(&GET_REQUESTS, 1);
        add(&BYTES_READ, got.iter().map(|b| b.len() as u64).sum());
        Ok(got)
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, Result<Path>>,
    ) -> BoxStream<'static, Result<Path>> {
        self.inner
            .delete_stream(locations)
            .inspect(|_| add(&OTHER_REQUESTS, 1))
            .boxed()
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, Result<ObjectMeta>> {
        counting(self.inner.list(prefix))
    }

    fn list_with_offset(
        &self,
        prefix: Option<&Path>,
        offset: &Path,
    ) -> BoxStream<'static, Result<ObjectMeta>> {
        counting(self.inner.list_with_offset(prefix, offset))
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> Result<ListResult> {
        let listed = self.inner.list_with_delimiter(prefix).await?;
        add(&LIST_REQUESTS, 1);
        add(
            &OBJECTS_LISTED,
            (listed.objects.len() + listed.common_prefixes.len()) as u64,
        );
        Ok(listed)
    }

    async fn copy_opts(&self, from: &Path, to: &Path, options: CopyOptions) -> Result<()> {
        add(&OTHER_REQUESTS, 1);
        self.inner.copy_opts(from, to, options).await
    }

    async fn rename_opts(&self, from: &Path, to: &Path, options: RenameOptions) -> Result<()> {
        add(&OTHER_REQUESTS, 1);
        self.inner.rename_opts(from, to, options).await
    }
}

/// A multipart upload whose parts count as writes.
#[derive(Debug)]
struct CountedUpload {
    upload: Box<dyn MultipartUpload>,
}

#[async_trait]
impl MultipartUpload for CountedUpload {
    fn put_part(&mut self, data: PutPayload) -> UploadPart {
        add(&PUT_REQUESTS, 1);
        add(&BYTES_WRITTEN, data.content_length() as u64);
        self.upload.put_part(data)
    }

    async fn complete(&mut self) -> Result<PutResult> {
        self.upload.complete().await
    }

    async fn abort(&mut self) -> Result<()> {
        self.upload.abort().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use object_store::memory::InMemory;
    use object_store::ObjectStoreExt;

    #[tokio::test]
    async fn reads_writes_and_listings_are_counted() {
        let store = Counted::new(Arc::new(InMemory::new()));
        let before = IoTotals::now();
        store
            .put(&Path::from("a/1"), PutPayload::from(vec![0u8; 100]))
            .await
            .unwrap();
        store
            .put(&Path::from("a/2"), PutPayload::from(vec![0u8; 50]))
            .await
            .unwrap();
        let bytes = store
            .get(&Path::from("a/1"))
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        assert_eq!(bytes.len(), 100);
        store.get_range(&Path::from("a/2"), 10..30).await.unwrap();
        let listed: Vec<_> = store.list(Some(&Path::from("a"))).collect::<Vec<_>>().await;
        assert_eq!(listed.len(), 2);
        let d = IoTotals::since(before);
        // Other tests of this process may add; ours are at least these.
        assert!(d.put_requests >= 2 && d.bytes_written >= 150, "{d:?}");
        assert!(d.get_requests >= 2 && d.bytes_read >= 120, "{d:?}");
        assert!(d.list_requests >= 1 && d.objects_listed >= 2, "{d:?}");
    }
}
