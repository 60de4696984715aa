//! What the lab's in-process servers share beyond their protocols: a listener on a free loopback port, a
//! scratch directory holding the root a client is to trust them with, and the loop accepting connections.

use std::future::Future;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

use crate::{CA_FILE_NAME, LabError};

/// A listener on a free loopback port, and its address. `context` names it in the error.
pub(crate) async fn bind_loopback(
    context: &'static str,
) -> Result<(TcpListener, SocketAddr), LabError> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .await
        .map_err(|e| LabError::io(context, e))?;
    let addr = listener
        .local_addr()
        .map_err(|e| LabError::io("reading listener address", e))?;
    Ok((listener, addr))
}

/// A scratch directory (removed on drop) named `prefix…` holding `root_pem` as [`CA_FILE_NAME`], the file
/// clients are given as `--ca-file`; the file's path with it.
pub(crate) fn ca_dir(
    prefix: &str,
    root_pem: &str,
) -> Result<(tempfile::TempDir, PathBuf), LabError> {
    let dir = tempfile::Builder::new()
        .prefix(prefix)
        .tempdir()
        .map_err(|e| LabError::io("creating a scratch directory", e))?;
    let ca_file = dir.path().join(CA_FILE_NAME);
    std::fs::write(&ca_file, root_pem).map_err(|e| LabError::io("writing the CA file", e))?;
    Ok((dir, ca_file))
}

/// Serves every connection `listener` accepts with `serve`, each in a task that ends with this one: aborting
/// the server's task closes its connections too. A failed accept (typically fd exhaustion) backs off instead
/// of spinning, and serving goes on.
pub(crate) async fn accept_each<F, Fut>(listener: TcpListener, mut serve: F)
where
    F: FnMut(TcpStream) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let mut connections = JoinSet::new();
    loop {
        let accepted = listener.accept().await;
        while connections.try_join_next().is_some() {}
        let Ok((stream, _peer)) = accepted else {
            tokio::time::sleep(Duration::from_millis(20)).await;
            continue;
        };
        connections.spawn(serve(stream));
    }
}
