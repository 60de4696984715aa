//! Connections: the accept loops, hyper serving each connection, and taking the stream back from
//! hyper when a response has to be written by hand.

use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

use super::misbehave::{RawResponse, write_raw};
use super::routing::respond;
use super::tls::{self, TlsConfigs};
use super::{Scheme, Shared};

/// Accepts connections until aborted. Connection tasks live in a JoinSet owned by this future,
/// so aborting the accept task also tears down every open connection (including hand-written
/// responses, which run inside the connection task).
pub(crate) async fn serve_http(listener: TcpListener, shared: Arc<Shared>) {
    accept_loop(listener, shared, None).await
}

pub(crate) async fn serve_https(listener: TcpListener, shared: Arc<Shared>, tls: TlsConfigs) {
    accept_loop(listener, shared, Some(Arc::new(tls))).await
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>, tls: Option<Arc<TlsConfigs>>) {
    crate::serve::accept_each(listener, move |stream| {
        let shared = shared.clone();
        let tls = tls.clone();
        async move {
            match tls {
                None => serve_connection(stream, shared, Scheme::Http, None).await,
                Some(configs) => tls::serve_tls(stream, shared, &configs).await,
            }
        }
    })
    .await
}

/// What a request handler asks of its connection, outside of hyper's request/response model.
pub(super) enum Command {
    /// Drop the connection without answering.
    Close,
    /// Take the stream back from hyper and write this response by hand.
    Raw(RawResponse),
}

pub(super) async fn serve_connection<S>(
    stream: S,
    shared: Arc<Shared>,
    scheme: Scheme,
    sni: Option<String>,
) where
    S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let (commands_tx, mut commands) = mpsc::unbounded_channel();
    let ctx = Arc::new(ConnCtx {
        shared: shared.clone(),
        scheme,
        sni,
        commands: commands_tx,
    });
    let service = service_fn(move |req| respond(req, ctx.clone()));
    let stream = Arc::new(Mutex::new(stream));
    // The auto builder sniffs the HTTP/2 preface, so h2 (negotiated by ALPN or prior knowledge)
    // and HTTP/1.1 share one code path.
    let builder = auto::Builder::new(TokioExecutor::new());
    let connection = builder.serve_connection(TokioIo::new(SharedIo(stream.clone())), service);
    // The service (and so a command sender) lives inside `connection`, so `recv` cannot report
    // a closed channel while this select is running.
    let command = tokio::select! {
        _ = connection => None,
        Some(command) = commands.recv() => Some(command),
    };
    // Leaving `select!` dropped hyper's connection and with it hyper's handle on the stream.
    match command {
        None | Some(Command::Close) => {}
        Some(Command::Raw(raw)) => {
            if let Ok(stream) = Arc::try_unwrap(stream) {
                let stream = stream.into_inner().unwrap_or_else(PoisonError::into_inner);
                write_raw(stream, raw, &shared).await;
            }
        }
    }
}

/// The connection's stream, shared between hyper and [`serve_connection`] so the latter can take
/// it back after dropping hyper's connection. Only one side uses it at a time, so the lock is
/// never contended.
struct SharedIo<S>(Arc<Mutex<S>>);

impl<S> SharedIo<S> {
    fn with<R>(&self, f: impl FnOnce(Pin<&mut S>) -> R) -> R
    where
        S: Unpin,
    {
        let mut guard = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        f(Pin::new(&mut *guard))
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for SharedIo<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        self.with(|s| s.poll_read(cx, buf))
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for SharedIo<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.with(|s| s.poll_write(cx, buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        self.with(|s| s.poll_write_vectored(cx, bufs))
    }

    fn is_write_vectored(&self) -> bool {
        self.with(|s| s.is_write_vectored())
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        self.with(|s| s.poll_flush(cx))
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        self.with(|s| s.poll_shutdown(cx))
    }
}

/// What the request handler of one connection knows about it.
pub(super) struct ConnCtx {
    pub(super) shared: Arc<Shared>,
    pub(super) scheme: Scheme,
    pub(super) sni: Option<String>,
    pub(super) commands: mpsc::UnboundedSender<Command>,
}
