//! A real S3-compatible server for tests: moto's server (installed in the repo's `.venv` by
//! `scripts/install-test-deps.sh`), started on a free loopback port and killed on drop.
//!
//! Shared by the library tests of `ingest` and the end-to-end tests of the binary (included
//! with `#[path]`, so there is one copy).
//!
//! moto is chosen because it honours `If-None-Match: *` on PUT (put-if-absent), which the
//! Delta log relies on for atomic commits.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Serializes S3 tests of one test binary: the endpoint is passed through process-wide
/// environment variables, so two servers must not be in use at once.
pub async fn exclusive() -> tokio::sync::MutexGuard<'static, ()> {
    static LOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    LOCK.lock().await
}

/// A running moto server; dropping it kills the process.
pub struct S3Server {
    child: Child,
    /// The endpoint URL, `http://127.0.0.1:<port>`.
    pub endpoint: String,
}

/// `.venv/bin/moto_server` of the repository (every crate is one level below the root).
fn moto_binary() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/moto_server")
}

impl S3Server {
    /// Starts the server and waits until it answers. Panics, naming the install script, when
    /// moto is not installed.
    pub fn start() -> S3Server {
        let binary = moto_binary();
        assert!(
            binary.exists(),
            "S3 test server not installed: {} is missing; run scripts/install-test-deps.sh",
            binary.display()
        );
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(&binary)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
        let server = S3Server {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "moto did not start within 30 s");
            std::thread::sleep(Duration::from_millis(100));
        }
        server
    }

    /// Creates a bucket (moto accepts unsigned requests).
    pub fn create_bucket(&self, bucket: &str) {
        let addr = self.endpoint.trim_start_matches("http://");
        let mut stream = TcpStream::connect(addr).unwrap();
        write!(
            stream,
            "PUT /{bucket} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        assert!(
            response.starts_with("HTTP/1.1 200"),
            "create bucket failed: {}",
            response.lines().next().unwrap_or("")
        );
    }

    /// The AWS variables that `lake::Store::open("s3://…")` reads, set for this server.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.endpoint.clone()),
            ("AWS_ACCESS_KEY_ID", "test".into()),
            ("AWS_SECRET_ACCESS_KEY", "test".into()),
            ("AWS_REGION", "us-east-1".into()),
        ]
    }

    /// Sets [`S3Server::env`] in this process (hold [`exclusive`] while it is in use).
    pub fn export_env(&self) {
        for (key, value) in self.env() {
            std::env::set_var(key, value);
        }
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
