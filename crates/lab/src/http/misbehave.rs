//! The scripted misbehaviours: responses dribbled a byte a second, huge headers and bodies, and
//! garbage or silence instead of a TLS handshake. Hand-written HTTP/1 responses live here too,
//! with the guards that count them for `Lab::slow_writers`.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::Bytes;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderValue};
use http::{Response, StatusCode};
use http_body_util::BodyExt;
use hyper::body::{Body, Frame, SizeHint};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::{Instant, MissedTickBehavior, Sleep};

use super::routing::html;
use super::{HTML, LabBody, Shared};

/// Pace of `Dribble`: one byte per tick.
const DRIBBLE_INTERVAL: Duration = Duration::from_secs(1);
/// How long a finished hand-written response keeps reading after its FIN: closing the socket
/// while the client is still sending makes the kernel reset the connection, which can discard
/// response bytes the client has not read yet.
const LINGER: Duration = Duration::from_secs(30);
/// `HugeHeader` writes its padding from this one static buffer, so a 10 MiB header costs no
/// more memory per connection than a 10-byte one.
static PADDING: [u8; 16 * 1024] = [b'x'; 16 * 1024];
/// What a `GarbageTls` site sends instead of a ServerHello: a plain-HTTP server answering on the
/// TLS port, the commonest way a real port 443 speaks something other than TLS.
const GARBAGE_TLS: &[u8] =
    b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";
/// How an HTML `HugeBody` starts, so it is recognisably a page before the filler.
const HUGE_BODY_PREFIX: &[u8] = b"<!doctype html>\n<title>Huge</title>\n<p>";

/// `GarbageTls`: the non-TLS bytes instead of a ServerHello, then FIN. Keeps reading until the
/// client leaves (or [`LINGER`]) so the close cannot turn into a reset that discards the bytes.
pub(super) async fn answer_with_garbage<S>(stream: S, shared: &Shared)
where
    S: AsyncRead + AsyncWrite + Send + Unpin,
{
    write_raw(stream, RawResponse::Garbage, shared).await
}

/// `StallTls`: the ClientHello has been read; nothing is ever sent back.
pub(super) async fn stall<S>(mut stream: S, shared: &Shared)
where
    S: AsyncRead + Unpin,
{
    tokio::select! {
        _ = drain(&mut stream) => {}
        _ = shared.lab_dropped() => {}
    }
}

/// Reads and discards until the peer closes or the connection fails.
async fn drain<R: AsyncRead + Unpin>(reader: &mut R) {
    let mut buf = [0u8; 4096];
    while let Ok(1..) = reader.read(&mut buf).await {}
}

/// A response written by hand on a connection taken back from hyper.
pub(super) enum RawResponse {
    /// The complete response, written one byte per tick.
    Dribble(Bytes),
    /// `head`, then `padding` bytes of header value, then `tail`.
    HugeHeader {
        head: Bytes,
        padding: usize,
        tail: Bytes,
    },
    /// [`GARBAGE_TLS`] on a TLS port: the wrong protocol at once, not a slow writer.
    Garbage,
}

/// Counts a `HugeBody` for [`crate::Lab::slow_writers`] while hyper holds it; the body is dropped
/// when its stream ends, fails or is reset.
struct StreamingGuard(Arc<Shared>);

impl StreamingGuard {
    fn new(shared: Arc<Shared>) -> Self {
        shared.slow_writers.fetch_add(1, Ordering::Relaxed);
        Self(shared)
    }
}

impl Drop for StreamingGuard {
    fn drop(&mut self) {
        self.0.slow_writers.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Counts a hand-written response for [`crate::Lab::slow_writers`] while it is alive, including
/// when its task is aborted.
struct SlowWriterGuard<'a>(&'a AtomicUsize);

impl<'a> SlowWriterGuard<'a> {
    fn new(counter: &'a AtomicUsize) -> Self {
        counter.fetch_add(1, Ordering::Relaxed);
        Self(counter)
    }
}

impl Drop for SlowWriterGuard<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Writes `raw` while reading (and discarding) whatever the client sends, so a client that
/// disconnects is noticed at once even while the writer sleeps between bytes. Ends when the
/// response is written and the client has gone (or after [`LINGER`]), when the client
/// disconnects, or when the lab is dropped.
pub(super) async fn write_raw<S>(stream: S, raw: RawResponse, shared: &Shared)
where
    S: AsyncRead + AsyncWrite + Send + Unpin,
{
    let slow = !matches!(raw, RawResponse::Garbage);
    let _guard = slow.then(|| SlowWriterGuard::new(&shared.slow_writers));
    let (mut reader, mut writer) = tokio::io::split(stream);
    let write = async {
        let written = match &raw {
            RawResponse::Dribble(bytes) => dribble(&mut writer, bytes).await,
            RawResponse::HugeHeader {
                head,
                padding,
                tail,
            } => huge_header(&mut writer, head, *padding, tail).await,
            RawResponse::Garbage => writer.write_all(GARBAGE_TLS).await,
        };
        if written.is_ok() {
            let _ = writer.shutdown().await;
            tokio::time::sleep(LINGER).await;
        }
    };
    tokio::select! {
        _ = write => {}
        _ = drain(&mut reader) => {}
        _ = shared.lab_dropped() => {}
    }
}

async fn dribble<W: AsyncWrite + Unpin>(writer: &mut W, bytes: &[u8]) -> std::io::Result<()> {
    let mut tick = tokio::time::interval(DRIBBLE_INTERVAL);
    // After a stall, keep the one-byte-per-interval pace instead of catching up in a burst.
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    for byte in bytes.chunks(1) {
        tick.tick().await;
        writer.write_all(byte).await?;
        // TLS buffers plaintext until flushed; each byte must leave on its own.
        writer.flush().await?;
    }
    Ok(())
}

async fn huge_header<W: AsyncWrite + Unpin>(
    writer: &mut W,
    head: &[u8],
    padding: usize,
    tail: &[u8],
) -> std::io::Result<()> {
    writer.write_all(head).await?;
    let mut left = padding;
    while left > 0 {
        let n = left.min(PADDING.len());
        writer.write_all(&PADDING[..n]).await?;
        left -= n;
    }
    writer.write_all(tail).await?;
    writer.flush().await
}

fn status_line(status: StatusCode) -> String {
    format!(
        "HTTP/1.1 {} {}\r\n",
        status.as_str(),
        status.canonical_reason().unwrap_or("")
    )
}

pub(super) fn raw_dribble(status: StatusCode, body: &Bytes) -> RawResponse {
    let head = format!(
        "{}content-type: {HTML}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        status_line(status),
        body.len()
    );
    let mut bytes = Vec::with_capacity(head.len() + body.len());
    bytes.extend_from_slice(head.as_bytes());
    bytes.extend_from_slice(body);
    RawResponse::Dribble(Bytes::from(bytes))
}

pub(super) fn raw_huge_header(status: StatusCode, header_bytes: usize) -> RawResponse {
    RawResponse::HugeHeader {
        head: Bytes::from(format!("{}x-padding: ", status_line(status))),
        padding: header_bytes,
        tail: Bytes::from(format!(
            "\r\ncontent-type: {HTML}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
        )),
    }
}

/// `Dribble` over HTTP/2: the headers go out at once (hyper writes them as one frame), the body
/// one byte per tick.
pub(super) fn dribble_h2(status: StatusCode, body: Bytes, shared: &Shared) -> Response<LabBody> {
    let len = body.len();
    let mut response = Response::new(
        DribbleBody {
            rest: body,
            tick: Box::pin(tokio::time::sleep(Duration::ZERO)),
            lab_dropped: Box::pin(shared.lab_dropped()),
        }
        .boxed_unsync(),
    );
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(HTML));
    headers.insert(CONTENT_LENGTH, HeaderValue::from(len));
    response
}

/// `HugeHeader` over HTTP/2, where hyper must hold the whole value to encode it.
pub(super) fn huge_header_h2(status: StatusCode, header_bytes: usize) -> Response<LabBody> {
    let mut response = html(status, String::new());
    let padding = HeaderValue::from_maybe_shared(Bytes::from(vec![b'x'; header_bytes]))
        .unwrap_or_else(|_| HeaderValue::from_static(""));
    response.headers_mut().insert("x-padding", padding);
    response
}

/// What the lab's streaming bodies yield when polled: the next frame, the end, or the error that ends a
/// stream whose lab was dropped.
type PolledFrame = Poll<Option<Result<Frame<Bytes>, std::io::Error>>>;

/// A body yielding one byte per [`DRIBBLE_INTERVAL`]; it fails once the lab is dropped so the
/// HTTP/2 stream task hyper spawned for it ends too.
struct DribbleBody {
    rest: Bytes,
    tick: Pin<Box<Sleep>>,
    lab_dropped: Pin<Box<dyn Future<Output = ()> + Send>>,
}

impl Body for DribbleBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> PolledFrame {
        if self.rest.is_empty() {
            return Poll::Ready(None);
        }
        if self.lab_dropped.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Some(Err(std::io::Error::other("the lab was dropped"))));
        }
        ready!(self.tick.as_mut().poll(cx));
        self.tick.as_mut().reset(Instant::now() + DRIBBLE_INTERVAL);
        let byte = self.rest.split_to(1);
        Poll::Ready(Some(Ok(Frame::data(byte))))
    }

    fn is_end_stream(&self) -> bool {
        self.rest.is_empty()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.rest.len() as u64)
    }
}

/// `HugeBody`: headers at once, then the body streamed from static buffers.
pub(super) fn huge_body(
    status: StatusCode,
    content_type: HeaderValue,
    bytes: usize,
    shared: &Arc<Shared>,
) -> Response<LabBody> {
    let html = content_type
        .to_str()
        .is_ok_and(|ct| ct.to_ascii_lowercase().contains("html"));
    let prefix = if html { HUGE_BODY_PREFIX } else { &[] };
    let mut response = Response::new(
        StreamedBody {
            left: bytes,
            prefix: &prefix[..prefix.len().min(bytes)],
            lab_dropped: Box::pin(shared.lab_dropped()),
            _guard: StreamingGuard::new(shared.clone()),
        }
        .boxed_unsync(),
    );
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, content_type);
    headers.insert(CONTENT_LENGTH, HeaderValue::from(bytes));
    response
}

/// `left` bytes: `prefix` first, then filler from [`PADDING`], one buffer-sized frame at a time,
/// so hyper only ever holds one chunk and back-pressure from a slow reader stops the stream.
struct StreamedBody {
    left: usize,
    prefix: &'static [u8],
    lab_dropped: Pin<Box<dyn Future<Output = ()> + Send>>,
    _guard: StreamingGuard,
}

impl Body for StreamedBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> PolledFrame {
        if self.left == 0 {
            return Poll::Ready(None);
        }
        // HTTP/2 streams run as tasks hyper spawned outside the lab's JoinSets; failing the
        // body is what ends them when the lab goes away.
        if self.lab_dropped.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Some(Err(std::io::Error::other("the lab was dropped"))));
        }
        let chunk: &'static [u8] = if self.prefix.is_empty() {
            &PADDING[..self.left.min(PADDING.len())]
        } else {
            std::mem::take(&mut self.prefix)
        };
        self.left -= chunk.len();
        Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(chunk)))))
    }

    fn is_end_stream(&self) -> bool {
        self.left == 0
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.left as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dribble_bytes_are_a_complete_http1_response() {
        let RawResponse::Dribble(bytes) = raw_dribble(StatusCode::OK, &Bytes::from("hi")) else {
            panic!("expected a dribble");
        };
        assert_eq!(
            &bytes[..],
            b"HTTP/1.1 200 OK\r\ncontent-type: text/html; charset=utf-8\r\ncontent-length: 2\r\nconnection: close\r\n\r\nhi"
        );
    }

    #[test]
    fn huge_header_parts_frame_one_padding_header() {
        let RawResponse::HugeHeader {
            head,
            padding,
            tail,
        } = raw_huge_header(StatusCode::BAD_GATEWAY, 7)
        else {
            panic!("expected a huge header");
        };
        assert_eq!(&head[..], b"HTTP/1.1 502 Bad Gateway\r\nx-padding: ");
        assert_eq!(padding, 7);
        assert!(tail.starts_with(b"\r\ncontent-type: "));
        assert!(tail.ends_with(b"content-length: 0\r\nconnection: close\r\n\r\n"));
    }
}
