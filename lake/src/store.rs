//! The object store that holds everything: landing packets, lake tables, reference data.
//!
//! One root URL names the store: a local folder (the default, `./tunggal-data`), `file://…`,
//! or `s3://bucket/prefix` for any S3-compatible server. Every verb goes through [`Store`], so
//! the same code runs on a laptop folder and on a bucket. The one idea to hold in mind: paths
//! given to [`Store`] methods are *relative to the store root* (`landing/…`, `lake/packets/`),
//! never absolute, whatever the backend.

use std::sync::Arc;

use bytes::Bytes;
use futures::TryStreamExt;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::prefix::PrefixStore;
use object_store::{ObjectMeta, ObjectStore, ObjectStoreExt, PutPayload};
use url::Url;

use crate::error::{LakeError, Result};
use crate::store_io::Counted;

/// The region used when neither `AWS_REGION` nor `AWS_DEFAULT_REGION` is set; S3-compatible
/// test servers accept any region but object_store needs one to sign requests.
pub const DEFAULT_REGION: &str = "us-east-1";

/// Handle on the store root: the backend object store, the prefix of our root inside it, and
/// the root URL (always ending in `/`). All traffic is counted ([`crate::store_io`]).
///
/// Cloning is cheap (reference counted); pass `&Store` to every verb.
#[derive(Clone, Debug)]
pub struct Store {
    /// The backend with `/` at the backend's own root (the filesystem root, the bucket):
    /// Delta Lake wants this form and applies the table prefix itself.
    backend: Arc<dyn ObjectStore>,
    /// The same backend seen from the store root, so `landing/x.zip` means our landing folder.
    objects: Arc<dyn ObjectStore>,
    /// The root URL, e.g. `file:///srv/tunggal/` or `s3://ektp/dc/`.
    url: Url,
}

impl Store {
    /// Opens the store at `location`: a plain path (created if missing), a `file://` URL, or
    /// `s3://bucket/prefix`.
    ///
    /// For S3 the endpoint, credentials and region come from the usual AWS variables
    /// (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`, `AWS_ENDPOINT_URL`, …);
    /// the region defaults to [`DEFAULT_REGION`] and plain `http://` is allowed when the
    /// endpoint is a loopback address (a test server) or `AWS_ALLOW_HTTP=true`.
    pub fn open(location: &str) -> Result<Store> {
        let invalid = |reason: &str| LakeError::InvalidLocation {
            location: location.to_string(),
            reason: reason.to_string(),
        };
        if location.trim().is_empty() {
            return Err(invalid("empty location"));
        }
        match Url::parse(location) {
            Ok(url) if url.scheme() == "s3" => Self::open_s3(location, &url),
            Ok(url) if url.scheme() == "file" => {
                let path = url
                    .to_file_path()
                    .map_err(|()| invalid("not a local file URL"))?;
                Self::open_folder(&path)
            }
            // A single letter scheme is a Windows drive, anything else a real scheme.
            Ok(url) if url.scheme().len() > 1 => Err(invalid(
                "unsupported scheme: use a folder, file:// or s3://bucket/prefix",
            )),
            _ => Self::open_folder(std::path::Path::new(location)),
        }
    }

    /// Opens (creating if needed) a store rooted at a local folder.
    pub fn open_folder(folder: &std::path::Path) -> Result<Store> {
        let folder_error = |error| LakeError::Folder {
            path: folder.display().to_string(),
            error,
        };
        std::fs::create_dir_all(folder).map_err(folder_error)?;
        let root = std::fs::canonicalize(folder).map_err(folder_error)?;
        let url = Url::from_directory_path(&root).map_err(|()| LakeError::InvalidLocation {
            location: root.display().to_string(),
            reason: "not an absolute path".into(),
        })?;
        let objects: Arc<dyn ObjectStore> = Arc::new(Counted::new(Arc::new(
            LocalFileSystem::new_with_prefix(&root)?,
        )));
        Ok(Store {
            backend: Arc::new(Counted::new(Arc::new(LocalFileSystem::new()))),
            objects,
            url,
        })
    }

    fn open_s3(location: &str, url: &Url) -> Result<Store> {
        let bucket = url
            .host_str()
            .filter(|b| !b.is_empty())
            .ok_or_else(|| LakeError::InvalidLocation {
                location: location.to_string(),
                reason: "s3 URL without a bucket".into(),
            })?
            .to_string();
        let mut builder = AmazonS3Builder::from_env().with_bucket_name(&bucket);
        if std::env::var("AWS_REGION").is_err() && std::env::var("AWS_DEFAULT_REGION").is_err() {
            builder = builder.with_region(DEFAULT_REGION);
        }
        if let Ok(endpoint) = std::env::var("AWS_ENDPOINT_URL") {
            if is_loopback_http(&endpoint) {
                builder = builder.with_allow_http(true);
            }
            builder = builder.with_endpoint(endpoint);
        }
        let backend: Arc<dyn ObjectStore> = Arc::new(Counted::new(Arc::new(builder.build()?)));
        let prefix = url.path().trim_matches('/').to_string();
        let objects: Arc<dyn ObjectStore> = if prefix.is_empty() {
            backend.clone()
        } else {
            Arc::new(PrefixStore::new(
                backend.clone(),
                Path::from(prefix.as_str()),
            ))
        };
        let mut root = format!("s3://{bucket}/");
        if !prefix.is_empty() {
            root.push_str(&prefix);
            root.push('/');
        }
        let url = Url::parse(&root).map_err(|e| LakeError::InvalidLocation {
            location: location.to_string(),
            reason: e.to_string(),
        })?;
        crate::delta::register_s3_log_store();
        Ok(Store {
            backend,
            objects,
            url,
        })
    }

    /// Opens the store at `location` only if a store is there (see [`Store::exists`]), so
    /// that a read verb run in the wrong folder says so instead of answering from empty
    /// tables, and a stage never creates a store by accident. A local folder that does not
    /// exist is not created. The error names the location and how to make a store.
    pub async fn open_existing(location: &str) -> Result<Store> {
        let missing = || LakeError::NoStore {
            location: location.to_string(),
        };
        if let Some(folder) = local_folder(location) {
            if !folder.is_dir() {
                return Err(missing());
            }
        }
        let store = Self::open(location)?;
        if store.exists().await? {
            Ok(store)
        } else {
            Err(missing())
        }
    }

    /// Creates the store layout at `location` (`tunggal init`): the root folder (local
    /// stores), `landing/` and `reference/` for local stores, and the marker object that
    /// makes [`Store::exists`] true before anything has landed. Safe to run on an existing
    /// store: returns whether the store was new.
    pub async fn init(location: &str) -> Result<(Store, bool)> {
        let store = Self::open(location)?;
        let new = !store.exists().await?;
        if let Some(folder) = local_folder(location) {
            for sub in ["landing", "reference"] {
                let path = folder.join(sub);
                std::fs::create_dir_all(&path).map_err(|error| LakeError::Folder {
                    path: path.display().to_string(),
                    error,
                })?;
            }
        }
        if store.objects.head(&Path::from(MARKER)).await.is_err() {
            store.put(MARKER, Bytes::from_static(MARKER_TEXT)).await?;
        }
        Ok((store, new))
    }

    /// True when a tunggal store is at this root: the marker `tunggal-store.txt` written by
    /// `tunggal init`, or any object under `landing/`, `lake/` or `reference/` (a store made
    /// by `synth` or by a station upload before any `init`). On S3 this is one short listing
    /// per prefix.
    pub async fn exists(&self) -> Result<bool> {
        if self.objects.head(&Path::from(MARKER)).await.is_ok() {
            return Ok(true);
        }
        for prefix in ["landing", "lake", "reference"] {
            let mut listing = self.objects.list(Some(&Path::from(prefix)));
            if listing.try_next().await?.is_some() {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// The root URL of the store, ending in `/`.
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The object store seen from the store root: `landing/…` addresses our landing folder.
    pub fn objects(&self) -> &Arc<dyn ObjectStore> {
        &self.objects
    }

    /// The backend object store with `/` at its own root (filesystem root or bucket), the form
    /// Delta Lake and DataFusion expect next to [`Store::url_of`].
    pub fn backend(&self) -> &Arc<dyn ObjectStore> {
        &self.backend
    }

    /// The absolute URL of a folder below the root (`relative` like `lake/packets`), ending
    /// in `/`.
    pub fn url_of(&self, relative: &str) -> Result<Url> {
        let mut rel = relative.trim_matches('/').to_string();
        rel.push('/');
        self.url.join(&rel).map_err(|e| LakeError::InvalidLocation {
            location: relative.to_string(),
            reason: e.to_string(),
        })
    }

    /// Lists every object below `prefix` (relative to the root), with paths relative to the
    /// root, sorted by path so that runs process objects in a stable order.
    pub async fn list(&self, prefix: &str) -> Result<Vec<ObjectMeta>> {
        let prefix = Path::from(prefix.trim_matches('/'));
        let mut all: Vec<ObjectMeta> = self.objects.list(Some(&prefix)).try_collect().await?;
        all.sort_by(|a, b| a.location.cmp(&b.location));
        Ok(all)
    }

    /// Reads a whole object (path relative to the root).
    pub async fn get(&self, path: &str) -> Result<Bytes> {
        let bytes = self.objects.get(&Path::from(path)).await?.bytes().await?;
        Ok(bytes)
    }

    /// Writes a whole object (path relative to the root), replacing any previous content.
    pub async fn put(&self, path: &str, bytes: Bytes) -> Result<()> {
        self.objects
            .put(&Path::from(path), PutPayload::from_bytes(bytes))
            .await?;
        Ok(())
    }
}

/// The object `tunggal init` writes at the store root, so that an initialized store with
/// nothing landed yet is still recognised as a store ([`Store::exists`]).
pub const MARKER: &str = "tunggal-store.txt";

/// What the [`MARKER`] object says to someone who finds it.
const MARKER_TEXT: &[u8] =
    b"This folder is a tunggal store (landing/, lake/, reference/). Made by `tunggal init`.\n";

/// The local folder a store location names (a plain path or a `file://` URL); `None` for
/// `s3://` and anything else.
fn local_folder(location: &str) -> Option<std::path::PathBuf> {
    match Url::parse(location) {
        Ok(url) if url.scheme() == "file" => url.to_file_path().ok(),
        Ok(url) if url.scheme().len() > 1 => None,
        _ => Some(std::path::PathBuf::from(location)),
    }
}

/// True when `endpoint` is plain HTTP to a loopback host, the shape of a local test server.
fn is_loopback_http(endpoint: &str) -> bool {
    let Ok(url) = Url::parse(endpoint) else {
        return false;
    };
    url.scheme() == "http"
        && match url.host() {
            Some(url::Host::Domain(d)) => d == "localhost",
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            None => false,
        }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_detection_accepts_only_local_http() {
        assert!(is_loopback_http("http://127.0.0.1:9000"));
        assert!(is_loopback_http("http://localhost:4568/"));
        assert!(is_loopback_http("http://[::1]:80"));
        assert!(!is_loopback_http("https://127.0.0.1:9000"));
        assert!(!is_loopback_http("http://s3.example.com"));
    }

    #[test]
    fn unknown_scheme_is_refused() {
        let err = Store::open("ftp://host/x").unwrap_err();
        assert!(err.to_string().contains("unsupported scheme"), "{err}");
    }

    #[test]
    fn s3_url_needs_a_bucket() {
        assert!(Store::open("s3:///prefix").is_err());
    }

    #[tokio::test]
    async fn folder_store_round_trips_objects_under_relative_paths() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("data").to_str().unwrap()).unwrap();
        assert!(store.url().as_str().starts_with("file:///"));
        assert!(store.url().as_str().ends_with("/data/"));
        store
            .put("landing/s1/2024-01-01/a.zip", Bytes::from_static(b"abc"))
            .await
            .unwrap();
        store
            .put("landing/s1/2024-01-01/0.zip", Bytes::from_static(b"z"))
            .await
            .unwrap();
        let listed = store.list("landing").await.unwrap();
        let names: Vec<String> = listed.iter().map(|m| m.location.to_string()).collect();
        assert_eq!(
            names,
            ["landing/s1/2024-01-01/0.zip", "landing/s1/2024-01-01/a.zip"]
        );
        assert_eq!(
            &store.get("landing/s1/2024-01-01/a.zip").await.unwrap()[..],
            b"abc"
        );
        assert!(dir.path().join("data/landing/s1/2024-01-01/a.zip").exists());
        assert_eq!(
            store.url_of("lake/packets").unwrap().as_str(),
            format!("{}lake/packets/", store.url())
        );
    }

    #[tokio::test]
    async fn only_an_initialized_or_filled_folder_is_an_existing_store() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nothing");
        let err = Store::open_existing(missing.to_str().unwrap())
            .await
            .unwrap_err();
        assert!(err.to_string().contains("no tunggal store at"), "{err}");
        assert!(!missing.exists(), "open_existing created the folder");

        let empty = dir.path().join("empty");
        std::fs::create_dir(&empty).unwrap();
        assert!(Store::open_existing(empty.to_str().unwrap()).await.is_err());
        let (_, new) = Store::init(empty.to_str().unwrap()).await.unwrap();
        assert!(new);
        assert!(empty.join("landing").is_dir() && empty.join(MARKER).is_file());
        assert!(Store::open_existing(empty.to_str().unwrap()).await.is_ok());
        let (_, again) = Store::init(empty.to_str().unwrap()).await.unwrap();
        assert!(!again, "a second init found no store");

        let landed = dir.path().join("landed");
        let store = Store::open(landed.to_str().unwrap()).unwrap();
        assert!(!store.exists().await.unwrap());
        store
            .put("landing/s1/2024-01-01/a.zip", Bytes::from_static(b"abc"))
            .await
            .unwrap();
        assert!(store.exists().await.unwrap());
    }

    #[tokio::test]
    async fn file_url_and_plain_path_name_the_same_root() {
        let dir = tempfile::tempdir().unwrap();
        let by_path = Store::open(dir.path().to_str().unwrap()).unwrap();
        let by_url = Store::open(by_path.url().as_str()).unwrap();
        assert_eq!(by_path.url(), by_url.url());
    }
}
