//! TLS for `tunggal serve-sql` (`--tls-cert`, `--tls-key`): Flight SQL has no reverse-proxy
//! convention in the DC, so the server terminates TLS itself and logins (user name and
//! password in the handshake) and bearer tokens never cross the network in the clear.
//!
//! The one idea to hold in mind: connections are accepted here (rustls, ring provider, TLS 1.2
//! and 1.3, ALPN `h2`) and handed to tonic as already-encrypted streams that still report the
//! client's TCP address, so the lockout and the audit see the real peer. A failed handshake
//! drops that connection only.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;
use tonic::transport::server::{Connected, TcpConnectInfo};

use crate::SqlError;

/// A server certificate chain and its private key, ready to accept TLS connections.
#[derive(Clone)]
pub struct Tls {
    acceptor: TlsAcceptor,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Tls { .. }")
    }
}

fn tls_error(what: &str, e: impl std::fmt::Display) -> SqlError {
    SqlError::Io(std::io::Error::other(format!("TLS {what}: {e}")))
}

impl Tls {
    /// From PEM text: the certificate chain (server certificate first) and the private key
    /// (PKCS#8, PKCS#1 or SEC1).
    pub fn from_pem(cert_chain: &[u8], key: &[u8]) -> Result<Tls, SqlError> {
        let certs = CertificateDer::pem_slice_iter(cert_chain)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| tls_error("certificate", e))?;
        if certs.is_empty() {
            return Err(tls_error("certificate", "no certificate in the PEM file"));
        }
        let key = PrivateKeyDer::from_pem_slice(key).map_err(|e| tls_error("key", e))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| tls_error("config", e))?
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .map_err(|e| tls_error("certificate and key", e))?;
        config.alpn_protocols = vec![b"h2".to_vec()];
        Ok(Tls {
            acceptor: TlsAcceptor::from(Arc::new(config)),
        })
    }

    /// From the PEM files at `cert_chain` and `key`.
    pub fn from_files(
        cert_chain: &std::path::Path,
        key: &std::path::Path,
    ) -> Result<Tls, SqlError> {
        Tls::from_pem(&std::fs::read(cert_chain)?, &std::fs::read(key)?)
    }

    /// The TLS connections arriving on `listener`, each handshake in its own task.
    pub(crate) fn incoming(
        self,
        listener: TcpListener,
    ) -> impl futures::Stream<Item = Result<TlsConnection, std::io::Error>> + Send + 'static {
        let (tx, mut rx) = tokio::sync::mpsc::channel(64);
        tokio::spawn(async move {
            loop {
                let (tcp, _) = match listener.accept().await {
                    Ok(accepted) => accepted,
                    Err(e) => {
                        tracing::warn!(error = %e, "serve-sql: accept failed");
                        continue;
                    }
                };
                let _ = tcp.set_nodelay(true);
                if tx.is_closed() {
                    break;
                }
                let acceptor = self.acceptor.clone();
                let tx = tx.clone();
                tokio::spawn(async move {
                    let handshake = tokio::time::timeout(
                        std::time::Duration::from_secs(10),
                        acceptor.accept(tcp),
                    )
                    .await;
                    match handshake {
                        Ok(Ok(stream)) => {
                            let _ = tx.send(Ok(TlsConnection(stream))).await;
                        }
                        Ok(Err(e)) => tracing::info!(error = %e, "serve-sql: TLS handshake failed"),
                        Err(_) => tracing::info!("serve-sql: TLS handshake timed out"),
                    }
                });
            }
        });
        futures::stream::poll_fn(move |cx| rx.poll_recv(cx))
    }
}

/// An accepted TLS connection that tells tonic its client's TCP address.
pub(crate) struct TlsConnection(TlsStream<TcpStream>);

impl Connected for TlsConnection {
    type ConnectInfo = TcpConnectInfo;

    fn connect_info(&self) -> TcpConnectInfo {
        self.0.get_ref().0.connect_info()
    }
}

impl AsyncRead for TlsConnection {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for TlsConnection {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

/// Binds `addr` for TLS connections; the address bound (port 0: any free port).
pub(crate) async fn bind(addr: SocketAddr) -> Result<(TcpListener, SocketAddr), SqlError> {
    let listener = TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    Ok((listener, local))
}
