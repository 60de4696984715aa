//! The SMTP sink (`[mailbox] smtp_listen`): accepts every message for every recipient and keeps it in memory,
//! parsed. mailin is the SMTP state machine; this file is only the tokio socket loop around it.

use crate::message::Mail;
use mailin::{Action, Handler, Response, SessionBuilder, response};
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// How long a client may stay silent before the sink hangs up.
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// The longest command or data line accepted (RFC 5321 allows 1000 octets; be lenient).
const MAX_LINE: u64 = 64 * 1024;
/// The largest message kept; larger ones are refused with 552.
const MAX_MESSAGE: usize = 16 * 1024 * 1024;
/// The most messages kept; past it the oldest go, so a sink left running on staging stays bounded.
pub const MAX_KEPT: usize = 10_000;

/// Messages received so far, in arrival order.
#[derive(Debug, Default)]
pub struct Store {
    mails: Mutex<Vec<Mail>>,
    next_seq: AtomicU64,
}

impl Store {
    /// The sequence number the next message will get: "since now" is every message at or above it.
    pub fn mark(&self) -> u64 {
        self.next_seq.load(Ordering::SeqCst) + 1
    }

    /// Every message with a sequence number at or above `since`.
    pub fn since(&self, since: u64) -> Vec<Mail> {
        self.lock()
            .iter()
            .filter(|m| m.seq >= since)
            .cloned()
            .collect()
    }

    /// Every message received.
    pub fn all(&self) -> Vec<Mail> {
        self.lock().clone()
    }

    fn push(&self, raw: &[u8], envelope_to: Vec<String>) -> bool {
        let seq = self.next_seq.fetch_add(1, Ordering::SeqCst) + 1;
        match Mail::parse(seq, raw, envelope_to) {
            Ok(mail) => {
                let mut mails = self.lock();
                if mails.len() >= MAX_KEPT {
                    let excess = mails.len() + 1 - MAX_KEPT;
                    mails.drain(..excess);
                }
                mails.push(mail);
                true
            }
            Err(_) => false,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Mail>> {
        // A panic while holding the lock cannot leave the Vec half-updated (push is the only writer).
        self.mails.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A running SMTP sink. It stops when dropped.
#[derive(Debug)]
pub struct SmtpSink {
    addr: SocketAddr,
    store: Arc<Store>,
    task: JoinHandle<()>,
}

impl SmtpSink {
    /// Binds `listen` (port 0 picks a free port) and starts accepting. Must run inside a tokio runtime.
    pub async fn start(listen: SocketAddr) -> io::Result<SmtpSink> {
        let listener = TcpListener::bind(listen).await?;
        let addr = listener.local_addr()?;
        let store = Arc::new(Store::default());
        let task = tokio::spawn(accept_loop(listener, store.clone()));
        Ok(SmtpSink { addr, store, task })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn store(&self) -> Arc<Store> {
        self.store.clone()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn accept_loop(listener: TcpListener, store: Arc<Store>) {
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let Ok((stream, peer)) = listener.accept().await else {
            // Out of file descriptors or similar: back off rather than spin.
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        connections.spawn(serve(stream, peer.ip(), store.clone()));
        while connections.try_join_next().is_some() {}
    }
}

struct SinkHandler {
    store: Arc<Store>,
    to: Vec<String>,
    data: Vec<u8>,
    too_big: bool,
}

impl Handler for SinkHandler {
    fn data_start(&mut self, _domain: &str, _from: &str, _is8bit: bool, to: &[String]) -> Response {
        self.to = to.to_vec();
        self.data.clear();
        self.too_big = false;
        response::OK
    }

    fn data(&mut self, buf: &[u8]) -> io::Result<()> {
        if self.data.len() + buf.len() > MAX_MESSAGE {
            self.too_big = true;
        } else {
            self.data.extend_from_slice(buf);
        }
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        let data = std::mem::take(&mut self.data);
        if self.too_big {
            return response::NO_STORAGE;
        }
        if self.store.push(&data, std::mem::take(&mut self.to)) {
            response::OK
        } else {
            response::TRANSACTION_FAILED
        }
    }
}

async fn serve(stream: TcpStream, peer: IpAddr, store: Arc<Store>) {
    let handler = SinkHandler {
        store,
        to: Vec::new(),
        data: Vec::new(),
        too_big: false,
    };
    let mut session = SessionBuilder::new("launchready-mailbox").build(peer, handler);
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    if send(&mut write, &session.greeting()).await.is_err() {
        return;
    }
    let mut line = Vec::new();
    loop {
        line.clear();
        let read = tokio::time::timeout(
            IDLE_TIMEOUT,
            (&mut reader).take(MAX_LINE).read_until(b'\n', &mut line),
        )
        .await;
        match read {
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => return,
            Ok(Ok(_)) => {}
        }
        let response = session.process(&line);
        match response.action {
            Action::NoReply => {}
            Action::Reply => {
                if send(&mut write, &response).await.is_err() {
                    return;
                }
            }
            Action::Close | Action::UpgradeTls => {
                let _ = send(&mut write, &response).await;
                return;
            }
        }
    }
}

async fn send(write: &mut tokio::net::tcp::OwnedWriteHalf, response: &Response) -> io::Result<()> {
    let bytes = response.buffer()?;
    tokio::time::timeout(IDLE_TIMEOUT, write.write_all(&bytes))
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "client not reading"))?
}

#[cfg(test)]
pub(crate) mod tests_support {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    use tokio::net::TcpStream;

    /// Reads one (possibly multi-line) SMTP reply and returns its code.
    async fn reply(reader: &mut BufReader<&mut TcpStream>) -> u16 {
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).await.expect("read reply");
            if line.as_bytes().get(3) != Some(&b'-') {
                return line
                    .get(..3)
                    .and_then(|c| c.parse().ok())
                    .expect("reply code");
            }
        }
    }

    /// One whole SMTP conversation by hand, checking every reply code on the way.
    pub(crate) async fn send_raw(stream: &mut TcpStream, to: &str, message: &[u8]) {
        let mut reader = BufReader::new(stream);
        assert_eq!(reply(&mut reader).await, 220);
        for (command, code) in [
            ("EHLO client.test\r\n".to_string(), 250),
            ("MAIL FROM:<app@x.test>\r\n".to_string(), 250),
            (format!("RCPT TO:<{to}>\r\n"), 250),
            ("DATA\r\n".to_string(), 354),
        ] {
            reader
                .get_mut()
                .write_all(command.as_bytes())
                .await
                .expect("write");
            assert_eq!(reply(&mut reader).await, code, "{command}");
        }
        reader.get_mut().write_all(message).await.expect("write");
        reader.get_mut().write_all(b".\r\n").await.expect("write");
        assert_eq!(reply(&mut reader).await, 250);
        reader
            .get_mut()
            .write_all(b"QUIT\r\n")
            .await
            .expect("write");
        assert_eq!(reply(&mut reader).await, 221);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn keeps_each_message_with_its_envelope_and_undoes_dot_stuffing() {
        let sink = SmtpSink::start("127.0.0.1:0".parse().expect("address"))
            .await
            .expect("sink");
        let mut stream = TcpStream::connect(sink.addr()).await.expect("connect");
        tests_support::send_raw(
            &mut stream,
            "bcc@x.test",
            b"From: app@x.test\r\nTo: m@x.test\r\nSubject: One\r\n\r\n..leading dot\r\nend\r\n",
        )
        .await;
        let store = sink.store();
        let mails = store.all();
        assert_eq!(mails.len(), 1);
        assert_eq!(mails[0].envelope_to, ["bcc@x.test"]);
        assert!(mails[0].is_for("bcc@x.test") && mails[0].is_for("m@x.test"));
        assert_eq!(mails[0].text, ".leading dot\r\nend\r\n");
        let mark = store.mark();
        assert!(store.since(mark).is_empty());
        assert_eq!(store.since(mark - 1).len(), 1);
    }

    #[test]
    fn keeps_only_the_newest_messages() {
        let store = Store::default();
        for _ in 0..MAX_KEPT + 5 {
            assert!(store.push(b"To: m@x.test\r\nSubject: s\r\n\r\nb\r\n", Vec::new()));
        }
        let all = store.all();
        assert_eq!(all.len(), MAX_KEPT);
        assert_eq!(all.first().map(|m| m.seq), Some(6));
        assert!(!store.push(b"", Vec::new()), "an empty message is refused");
    }
}
