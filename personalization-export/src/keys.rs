//! The data center's Ed25519 signing key: where it lives, how it is created on first use,
//! how its public half is published next to the exports — and the *keyring* that
//! `export check` and `verify` trust instead of anything found in the store.
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
//! `exports/personalization/keys/<key_id>.pub` for people to read — never as a trust anchor:
//! whoever can write a job into the store can write a key beside it.
//!
//! Trust is pinned out of band with a [`Keyring`]: a file of DC public keys (one per line, 64
//! hex digits; blank lines and `#` comments allowed) that a regional office or pickup desk
//! receives from the DC through a channel other than the store, given with `--keyring FILE`
//! or `TUNGGAL_KEYRING`. A job or card is trusted only when the key it names is in the
//! keyring. The DC's `<key file>.pub`, written beside the key on first use, is a one-key
//! keyring. Key files — private keys and keyrings — whose permissions are wider than 0600
//! are refused ([`check_permissions`]): a keyring anyone can write is no anchor.

use std::path::{Path, PathBuf};

use ed25519_dalek::{SigningKey, VerifyingKey};
use rand::rngs::OsRng;
use sha2::{Digest, Sha256};

use crate::error::{ExportError, Result};

/// Environment variable naming the signing-key file.
pub const SIGNING_KEY_ENV: &str = "TUNGGAL_SIGNING_KEY";

/// Environment variable naming the keyring file of trusted DC public keys.
pub const KEYRING_ENV: &str = "TUNGGAL_KEYRING";

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

/// Refuses a key file (private key or keyring) whose permissions are wider than 0600: one
/// that group or others may read or write, or that is executable.
pub fn check_permissions(path: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = std::fs::metadata(path).map_err(|e| ExportError::Key {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        let mode = meta.permissions().mode() & 0o7777;
        if mode & !0o600 != 0 {
            return Err(ExportError::Key {
                path: path.display().to_string(),
                reason: format!(
                    "permissions {mode:04o} are wider than 0600; a key file must be private to \
                     its owner (chmod 600 {})",
                    path.display()
                ),
            });
        }
    }
    Ok(())
}

/// Reads a key file (64 hex digits of the secret seed); refuses one readable by others.
pub fn load(path: &Path) -> Result<DcKey> {
    let bad = |reason: String| ExportError::Key {
        path: path.display().to_string(),
        reason,
    };
    check_permissions(path)?;
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
    write_secret(Path::new(&pub_path), &public).map_err(io)?;
    let mut key = load(path)?;
    key.created = true;
    Ok(key)
}

/// Writes a new key file readable by its owner only (mode 0600).
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

/// The DC public keys trusted for `export check` and `verify`, by key id, as pinned out of
/// band in a keyring file (see the module documentation).
#[derive(Debug, Clone)]
pub struct Keyring {
    keys: std::collections::BTreeMap<String, VerifyingKey>,
    /// The file it was read from.
    pub path: PathBuf,
}

impl Keyring {
    /// Reads a keyring file: one public key (64 hex digits) per line, blank lines and `#`
    /// comments ignored; refuses a file with permissions wider than 0600, a malformed line,
    /// or a keyring without keys.
    pub fn load(path: &Path) -> Result<Keyring> {
        let bad = |reason: String| ExportError::Key {
            path: path.display().to_string(),
            reason,
        };
        check_permissions(path)?;
        let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
        let mut keys = std::collections::BTreeMap::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let key = parse_public_key(line).ok_or_else(|| {
                bad(format!(
                    "line {} is not 64 hex digits of an Ed25519 public key",
                    n + 1
                ))
            })?;
            keys.insert(key_id(&key), key);
        }
        if keys.is_empty() {
            return Err(bad("the keyring holds no public key".into()));
        }
        Ok(Keyring {
            keys,
            path: path.to_path_buf(),
        })
    }

    /// Resolves the keyring: `explicit` (flag), else [`KEYRING_ENV`]; there is no default,
    /// because a default inside the store would be no anchor.
    pub fn resolve(explicit: Option<&Path>) -> Result<Keyring> {
        if let Some(path) = explicit {
            return Keyring::load(path);
        }
        match std::env::var_os(KEYRING_ENV).filter(|v| !v.is_empty()) {
            Some(path) => Keyring::load(Path::new(&path)),
            None => Err(ExportError::Key {
                path: "(none)".into(),
                reason: format!(
                    "no keyring: give --keyring FILE or {KEYRING_ENV} with the DC public keys \
                     received out of band (a key found in the store is never trusted by itself)"
                ),
            }),
        }
    }

    /// The trusted key with this id.
    pub fn get(&self, key_id: &str) -> Option<&VerifyingKey> {
        self.keys.get(key_id)
    }

    /// Ids of the trusted keys.
    pub fn key_ids(&self) -> impl Iterator<Item = &str> {
        self.keys.keys().map(String::as_str)
    }
}

/// Publishes the public key at [`public_key_path`] in the store (idempotent), for people to
/// read; nothing trusts it (see [`Keyring`]).
pub async fn publish(store: &lake::Store, key: &DcKey) -> Result<String> {
    let path = public_key_path(key.key_id());
    let text = format!("{}\n", hex::encode(key.verifying_key().as_bytes()));
    store.put(&path, text.into()).await?;
    Ok(path)
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
        let ring = Keyring::load(&dir.path().join("keys/dc.key.pub")).unwrap();
        assert_eq!(ring.get(first.key_id()), Some(&first.verifying_key()));
        assert!(!format!("{first:?}").contains(&hex::encode(first.signing.to_bytes())));
    }

    #[cfg(unix)]
    fn chmod(path: &Path, mode: u32) {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    /// A private key or keyring that others may read or write is refused, naming the fix.
    #[cfg(unix)]
    #[test]
    fn key_files_wider_than_0600_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dc.key");
        let key = load_or_create(&path).unwrap();
        let ring = dir.path().join("dc.key.pub");
        assert_eq!(
            Keyring::load(&ring).unwrap().get(key.key_id()),
            Some(&key.verifying_key())
        );
        for mode in [0o644, 0o640, 0o604, 0o700, 0o666] {
            chmod(&path, mode);
            let err = load(&path).unwrap_err().to_string();
            assert!(err.contains("wider than 0600"), "{mode:o}: {err}");
            chmod(&ring, mode);
            let err = Keyring::load(&ring).unwrap_err().to_string();
            assert!(err.contains("wider than 0600"), "{mode:o}: {err}");
        }
        chmod(&path, 0o400);
        assert!(load(&path).is_ok());
    }

    #[cfg(unix)]
    #[test]
    fn a_keyring_holds_keys_and_comments_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let a = SigningKey::from_bytes(&[1; 32]).verifying_key();
        let b = SigningKey::from_bytes(&[2; 32]).verifying_key();
        let ring = dir.path().join("ring");
        let text = format!(
            "# DC keys, received 2026-12-01\n{}\n\n{}  # rotated in\n",
            hex::encode(a.as_bytes()),
            hex::encode(b.as_bytes())
        );
        write_secret(&ring, &text).unwrap();
        let keyring = Keyring::load(&ring).unwrap();
        assert_eq!(keyring.key_ids().count(), 2);
        assert_eq!(keyring.get(&key_id(&b)), Some(&b));
        let bad = dir.path().join("bad");
        write_secret(&bad, "not a key\n").unwrap();
        assert!(Keyring::load(&bad)
            .unwrap_err()
            .to_string()
            .contains("line 1"));
        let empty = dir.path().join("empty");
        write_secret(&empty, "# nothing\n").unwrap();
        assert!(Keyring::load(&empty).is_err());
    }

    #[test]
    fn a_named_key_file_must_exist() {
        let dir = tempfile::tempdir().unwrap();
        let err = load(&dir.path().join("absent.key")).unwrap_err();
        assert!(err.to_string().contains("absent.key"), "{err}");
    }
}
