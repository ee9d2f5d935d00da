//! The data center's Ed25519 signing key: where it lives, how it is created on first use,
//! and how its public half is published next to the exports.
//!
//! The one idea to hold in mind: the private key never enters the object store, a log line or
//! a job file. Its location is, in order: `--signing-key FILE`, the `TUNGGAL_SIGNING_KEY`
//! environment variable (a path), or — for a store in a local folder only — the embedded
//! default `<store>/keys/dc-signing.key`, beside (not inside) `exports/`. The default is
//! created on first use with mode 0600; a named key file must already exist (a production DC
//! provisions it; an export that silently minted a new key would break every office's trust).
//! A store on S3 has no default: a private key is never written to a bucket.
//!
//! Key file: one line, the 32-byte Ed25519 secret seed as 64 lowercase hex digits. Public
//! key file: one line, the 32-byte public key as hex. The key id is the first 16 hex digits
//! of the SHA-256 of the public key; the public key is published at
//! `exports/personalization/keys/<key_id>.pub`, where `export check` and `verify` find it.

use std::path::{Path, PathBuf};

use ed25519_dalek::{SigningKey, VerifyingKey};
use rand::rngs::OsRng;
use sha2::{Digest, Sha256};

use crate::error::{ExportError, Result};

/// Environment variable naming the signing-key file.
pub const SIGNING_KEY_ENV: &str = "TUNGGAL_SIGNING_KEY";

/// Folder of the published public keys, relative to the store root.
pub const PUBLIC_KEYS_PREFIX: &str = "exports/personalization/keys";

/// The DC signing key with its id; `Debug` never prints the secret.
pub struct DcKey {
    signing: SigningKey,
    key_id: String,
    /// The file the key was read from.
    pub path: PathBuf,
    /// Whether this call created the key file (first use of the embedded default).
    pub created: bool,
}

impl std::fmt::Debug for DcKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DcKey")
            .field("key_id", &self.key_id)
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl DcKey {
    /// The key's id (first 16 hex digits of the SHA-256 of the public key).
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// The public half.
    pub fn verifying_key(&self) -> VerifyingKey {
        self.signing.verifying_key()
    }

    /// Signs `message`.
    pub fn sign(&self, message: &[u8]) -> ed25519_dalek::Signature {
        use ed25519_dalek::Signer;
        self.signing.sign(message)
    }
}

/// The key id of a public key: the first 16 hex digits of its SHA-256.
pub fn key_id(key: &VerifyingKey) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))[..16].to_string()
}

/// Store path of the published public key with id `key_id`.
pub fn public_key_path(key_id: &str) -> String {
    format!("{PUBLIC_KEYS_PREFIX}/{key_id}.pub")
}

/// The embedded default key file of a store: `<store folder>/keys/dc-signing.key`; `None`
/// for a store that is not a local folder.
pub fn default_key_path(store: &lake::Store) -> Option<PathBuf> {
    if store.url().scheme() != "file" {
        return None;
    }
    let root = store.url().to_file_path().ok()?;
    Some(root.join("keys").join("dc-signing.key"))
}

/// Resolves and loads the signing key: `explicit` (flag), else [`SIGNING_KEY_ENV`], else the
/// store's default (created when missing).
pub fn resolve(explicit: Option<&Path>, store: &lake::Store) -> Result<DcKey> {
    if let Some(path) = explicit {
        return load(path);
    }
    if let Some(path) = std::env::var_os(SIGNING_KEY_ENV).filter(|v| !v.is_empty()) {
        return load(Path::new(&path));
    }
    match default_key_path(store) {
        Some(path) => load_or_create(&path),
        None => Err(ExportError::Key {
            path: "(none)".into(),
            reason: format!(
                "a store on {} has no default key: give --signing-key FILE or {SIGNING_KEY_ENV} \
                 (a private key is never written to object storage)",
                store.url().scheme()
            ),
        }),
    }
}

/// Reads a key file (64 hex digits of the secret seed).
pub fn load(path: &Path) -> Result<DcKey> {
    let bad = |reason: String| ExportError::Key {
        path: path.display().to_string(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
    let bytes = hex::decode(text.trim())
        .map_err(|_| bad("not 64 hex digits of an Ed25519 secret key".into()))?;
    let seed: [u8; 32] = bytes
        .try_into()
        .map_err(|_| bad("not 64 hex digits of an Ed25519 secret key".into()))?;
    let signing = SigningKey::from_bytes(&seed);
    Ok(DcKey {
        key_id: key_id(&signing.verifying_key()),
        signing,
        path: path.to_path_buf(),
        created: false,
    })
}

/// Reads the key file at `path`, creating it (and `<path>.pub`) with a fresh key when absent.
pub fn load_or_create(path: &Path) -> Result<DcKey> {
    if path.exists() {
        return load(path);
    }
    let signing = SigningKey::generate(&mut OsRng);
    let io = |error| ExportError::Io {
        path: path.display().to_string(),
        error,
    };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(io)?;
    }
    write_secret(path, &format!("{}\n", hex::encode(signing.to_bytes()))).map_err(io)?;
    let public = format!("{}\n", hex::encode(signing.verifying_key().as_bytes()));
    let mut pub_path = path.as_os_str().to_owned();
    pub_path.push(".pub");
    std::fs::write(&pub_path, public).map_err(io)?;
    let mut key = load(path)?;
    key.created = true;
    Ok(key)
}

/// Writes a new secret file readable by its owner only.
fn write_secret(path: &Path, content: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(content.as_bytes())?;
    file.sync_all()
}

/// Parses a public key file (64 hex digits).
pub fn parse_public_key(text: &str) -> Option<VerifyingKey> {
    let bytes: [u8; 32] = hex::decode(text.trim()).ok()?.try_into().ok()?;
    VerifyingKey::from_bytes(&bytes).ok()
}

/// Reads a public key file from the local file system.
pub fn read_public_key(path: &Path) -> Result<VerifyingKey> {
    let text = std::fs::read_to_string(path).map_err(|error| ExportError::Io {
        path: path.display().to_string(),
        error,
    })?;
    parse_public_key(&text).ok_or_else(|| ExportError::Key {
        path: path.display().to_string(),
        reason: "not 64 hex digits of an Ed25519 public key".into(),
    })
}

/// Publishes the public key at [`public_key_path`] in the store (idempotent).
pub async fn publish(store: &lake::Store, key: &DcKey) -> Result<String> {
    let path = public_key_path(key.key_id());
    let text = format!("{}\n", hex::encode(key.verifying_key().as_bytes()));
    store.put(&path, text.into()).await?;
    Ok(path)
}

/// The published public key with id `key_id` from the store, if there is one.
pub async fn published(store: &lake::Store, key_id: &str) -> Result<Option<VerifyingKey>> {
    if !key_id.bytes().all(|b| b.is_ascii_hexdigit()) || key_id.len() != 16 {
        return Ok(None);
    }
    match store.get(&public_key_path(key_id)).await {
        Ok(bytes) => Ok(parse_public_key(&String::from_utf8_lossy(&bytes))),
        Err(lake::LakeError::ObjectStore(object_store::Error::NotFound { .. })) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_key_is_created_once_private_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys/dc.key");
        let first = load_or_create(&path).unwrap();
        assert!(first.created);
        let again = load_or_create(&path).unwrap();
        assert!(!again.created);
        assert_eq!(first.key_id(), again.key_id());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "secret readable by others: {mode:o}");
        }
        let public = read_public_key(&dir.path().join("keys/dc.key.pub")).unwrap();
        assert_eq!(public, first.verifying_key());
        assert!(!format!("{first:?}").contains(&hex::encode(first.signing.to_bytes())));
    }

    #[test]
    fn a_named_key_file_must_exist() {
        let dir = tempfile::tempdir().unwrap();
        let err = load(&dir.path().join("absent.key")).unwrap_err();
        assert!(err.to_string().contains("absent.key"), "{err}");
    }
}
