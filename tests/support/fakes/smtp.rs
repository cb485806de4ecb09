//! An SMTP server on loopback that keeps what it receives.
//!
//! Enough of RFC 5321 for lettre (and any ordinary client): greeting, `EHLO` (advertising
//! `8BITMIME`, `SMTPUTF8`, `PIPELINING` and `SIZE`, not `STARTTLS` nor `AUTH`), `HELO`,
//! `MAIL FROM`, `RCPT TO`, `DATA` with dot-unstuffing, `RSET`, `NOOP`, `QUIT`; anything else
//! is answered `502`. Connections stay open as long as the client likes (lettre pools them).
//!
//! The server runs on its own thread with its own Tokio runtime, so it serves whichever runtime
//! (or none) the test uses, even while the test's thread blocks. It stops when the `SmtpSink`
//! is dropped.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{oneshot, watch, Notify};

/// The `MAIL_FROM` that [`SmtpSink::env`] hands the worker.
pub const SINK_MAIL_FROM: &str = "Salon CRM <noreply@salon-crm.test>";

const HOSTNAME: &str = "sink.localhost";
const MAX_COMMAND_LINE: u64 = 4096;
const MAX_DATA_LINE: u64 = 64 * 1024;
const MAX_MESSAGE_BYTES: usize = 10 * 1024 * 1024;
const MAX_RECIPIENTS: usize = 100;

/// A running SMTP server on `127.0.0.1`.
pub struct SmtpSink {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
}

/// One message the sink accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedMail {
    /// The `MAIL FROM` address (empty for the null sender `<>`).
    pub mail_from: String,
    /// The `RCPT TO` addresses, in order.
    pub rcpt_to: Vec<String>,
    /// The message as received after dot-unstuffing, CRLF line ends kept (lossy UTF-8).
    pub raw: String,
}

struct Shared {
    state: Mutex<State>,
    /// Woken whenever a message is stored.
    stored: Notify,
    down: watch::Sender<bool>,
    /// Sessions (not refusals) currently open.
    sessions: AtomicUsize,
}

#[derive(Default)]
struct State {
    received: Vec<ReceivedMail>,
    rejections: VecDeque<(u16, String)>,
    next_queue_id: u64,
}

impl Shared {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl SmtpSink {
    /// Start a server on a free port of `127.0.0.1`.
    pub fn start() -> SmtpSink {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind the SMTP sink");
        listener.set_nonblocking(true).expect("non-blocking SMTP sink listener");
        let addr = listener.local_addr().expect("SMTP sink address");
        let (down, _) = watch::channel(false);
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            stored: Notify::new(),
            down,
            sessions: AtomicUsize::new(0),
        });
        let (stop, stopped) = oneshot::channel::<()>();
        let server = Arc::clone(&shared);
        std::thread::Builder::new()
            .name(format!("smtp-sink-{}", addr.port()))
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("SMTP sink runtime");
                runtime.block_on(async move {
                    let listener = TcpListener::from_std(listener).expect("SMTP sink listener");
                    tokio::select! {
                        _ = stopped => {}
                        _ = accept_loop(listener, server) => {}
                    }
                });
                // Dropping the runtime cancels every session, closing their sockets.
            })
            .expect("spawn the SMTP sink thread");
        SmtpSink {
            addr,
            shared,
            stop: Some(stop),
        }
    }

    /// `smtp://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("smtp://{}", self.addr)
    }

    /// The environment that points the worker at this sink: `SMTP_URL` and `MAIL_FROM`.
    pub fn env(&self) -> Vec<(String, String)> {
        vec![
            ("SMTP_URL".to_owned(), self.url()),
            ("MAIL_FROM".to_owned(), SINK_MAIL_FROM.to_owned()),
        ]
    }

    /// Everything accepted so far, in order of acceptance.
    pub fn received(&self) -> Vec<ReceivedMail> {
        self.shared.state().received.clone()
    }

    /// Answer the next `times` completed `DATA` transfers with `code text` instead of
    /// accepting them (nothing is stored). Calls queue up: `reject_next(1, 451, …)` then
    /// `reject_next(1, 550, …)` rejects one message with each.
    pub fn reject_next(&self, times: usize, code: u16, text: &str) {
        assert!(
            (400..600).contains(&code),
            "reject_next takes a 4xx or 5xx code, not {code}"
        );
        let text = text.replace(['\r', '\n'], " ");
        let mut state = self.shared.state();
        state.rejections.extend(std::iter::repeat_n((code, text), times));
    }

    /// While down, every new connection is answered `421` and closed (lettre reports a
    /// transient error), and open connections are closed at once. Returns when the open
    /// sessions are gone (or after two seconds).
    pub fn set_down(&self, down: bool) {
        self.shared.down.send_replace(down);
        if down {
            let deadline = Instant::now() + Duration::from_secs(2);
            while self.shared.sessions.load(Ordering::SeqCst) > 0 && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(5));
            }
        }
    }

    /// Wait until at least `count` messages were accepted, or `timeout` passed; returns what
    /// was received either way.
    pub async fn wait_for(&self, count: usize, timeout: Duration) -> Vec<ReceivedMail> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            // Created before looking, so a message stored in between still wakes us.
            let stored = self.shared.stored.notified();
            let received = self.received();
            if received.len() >= count {
                return received;
            }
            if tokio::time::timeout_at(deadline, stored).await.is_err() {
                return self.received();
            }
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

impl ReceivedMail {
    fn parsed(&self) -> Option<mail_parser::Message<'_>> {
        mail_parser::MessageParser::default().parse(self.raw.as_bytes())
    }

    /// The decoded `Subject` (RFC 2047 encoded words undone).
    pub fn subject(&self) -> Option<String> {
        self.parsed()?.subject().map(str::to_owned)
    }

    /// The first top-level header called `name` (any case), unfolded and trimmed, not decoded:
    /// e.g. `<https://…>` for `List-Unsubscribe`, `<id@domain>` for `Message-ID`.
    pub fn header(&self, name: &str) -> Option<String> {
        let mut headers: Vec<String> = Vec::new();
        for line in self.raw.split('\n').map(|line| line.strip_suffix('\r').unwrap_or(line)) {
            if line.is_empty() {
                break;
            }
            match headers.last_mut() {
                Some(last) if line.starts_with([' ', '\t']) => last.push_str(line),
                _ => headers.push(line.to_owned()),
            }
        }
        headers.iter().find_map(|header| {
            let (header_name, value) = header.split_once(':')?;
            header_name
                .trim()
                .eq_ignore_ascii_case(name)
                .then(|| value.trim().to_owned())
        })
    }

    /// The decoded `text/plain` body.
    pub fn text(&self) -> Option<String> {
        let message = self.parsed()?;
        let part = message
            .parts
            .iter()
            .find(|part| part.is_text() && !part.is_text_html())?;
        part.text_contents().map(str::to_owned)
    }

    /// The decoded `text/html` body.
    pub fn html(&self) -> Option<String> {
        let message = self.parsed()?;
        let part = message.parts.iter().find(|part| part.is_text_html())?;
        part.text_contents().map(str::to_owned)
    }
}

// ---- the server ----------------------------------------------------------------------------

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                let shared = Arc::clone(&shared);
                tokio::spawn(async move {
                    if *shared.down.borrow() {
                        refuse(stream).await;
                    } else {
                        let _session = SessionGuard::enter(&shared);
                        let _ = session(stream, &shared).await;
                    }
                });
            }
            // Out of file descriptors and the like: try again shortly.
            Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
        }
    }
}

/// Counts open sessions for `set_down`.
struct SessionGuard<'a>(&'a Shared);

impl<'a> SessionGuard<'a> {
    fn enter(shared: &'a Shared) -> Self {
        shared.sessions.fetch_add(1, Ordering::SeqCst);
        SessionGuard(shared)
    }
}

impl Drop for SessionGuard<'_> {
    fn drop(&mut self) {
        self.0.sessions.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Answer `421` instead of the greeting and close once the client has gone.
async fn refuse(mut stream: TcpStream) {
    let _ = stream
        .write_all(b"421 4.3.2 sink.localhost Service not available\r\n")
        .await;
    let _ = stream.shutdown().await;
    let mut rest = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(2), stream.read_to_end(&mut rest)).await;
}

#[derive(Default)]
struct Transaction {
    mail_from: Option<String>,
    rcpt_to: Vec<String>,
}

enum Line {
    /// A whole line, its line end included.
    Complete,
    /// `limit` bytes without a line end.
    TooLong,
    /// The client closed the connection (or it broke), or the sink went down.
    Closed,
}

/// Read one line (at most `limit` bytes) into `buf`, unless the sink goes down first.
async fn read_line<R: AsyncBufRead + Unpin>(
    reader: &mut R,
    buf: &mut Vec<u8>,
    limit: u64,
    down: &mut watch::Receiver<bool>,
) -> Line {
    buf.clear();
    let mut limited = (&mut *reader).take(limit);
    let read = tokio::select! {
        read = limited.read_until(b'\n', buf) => read,
        _ = down.wait_for(|down| *down) => return Line::Closed,
    };
    match read {
        Ok(0) | Err(_) => Line::Closed,
        Ok(_) if buf.ends_with(b"\n") => Line::Complete,
        Ok(_) => Line::TooLong,
    }
}

async fn reply(writer: &mut OwnedWriteHalf, text: &str) -> std::io::Result<()> {
    writer.write_all(format!("{text}\r\n").as_bytes()).await?;
    writer.flush().await
}

/// The address inside `<…>` after `FROM:` / `TO:` (any case, spaces allowed after the colon).
fn path_argument<'a>(argument: &'a str, keyword: &str) -> Option<&'a str> {
    let head = argument.get(..keyword.len())?;
    if !head.eq_ignore_ascii_case(keyword) {
        return None;
    }
    let rest = argument[keyword.len()..].trim_start();
    let rest = rest.strip_prefix('<')?;
    let end = rest.find('>')?;
    Some(&rest[..end])
}

async fn session(stream: TcpStream, shared: &Shared) -> std::io::Result<()> {
    let mut down = shared.down.subscribe();
    let (reader, mut writer) = stream.into_split();
    let mut reader = BufReader::new(reader);
    reply(&mut writer, &format!("220 {HOSTNAME} ESMTP salon-crm test sink")).await?;

    let mut greeted = false;
    let mut transaction = Transaction::default();
    let mut line = Vec::new();
    loop {
        match read_line(&mut reader, &mut line, MAX_COMMAND_LINE, &mut down).await {
            Line::Complete => {}
            Line::TooLong => {
                reply(&mut writer, "500 5.5.6 Line too long").await?;
                return Ok(());
            }
            Line::Closed => return Ok(()),
        }
        let command = String::from_utf8_lossy(&line);
        let command = command.trim_end_matches(['\r', '\n']);
        let (verb, argument) = match command.split_once(' ') {
            Some((verb, argument)) => (verb.to_ascii_uppercase(), argument.trim()),
            None => (command.to_ascii_uppercase(), ""),
        };
        match verb.as_str() {
            "EHLO" | "HELO" if argument.is_empty() => {
                reply(&mut writer, &format!("501 5.5.4 Syntax: {verb} hostname")).await?;
            }
            "EHLO" => {
                greeted = true;
                transaction = Transaction::default();
                let greeting = format!(
                    "250-{HOSTNAME} greets {argument}\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250-PIPELINING\r\n\
                     250 SIZE {MAX_MESSAGE_BYTES}"
                );
                reply(&mut writer, &greeting).await?;
            }
            "HELO" => {
                greeted = true;
                transaction = Transaction::default();
                reply(&mut writer, &format!("250 {HOSTNAME}")).await?;
            }
            "MAIL" => {
                if !greeted {
                    reply(&mut writer, "503 5.5.1 Send EHLO or HELO first").await?;
                } else if transaction.mail_from.is_some() {
                    reply(&mut writer, "503 5.5.1 Nested MAIL command").await?;
                } else if let Some(address) = path_argument(argument, "FROM:") {
                    transaction.mail_from = Some(address.to_owned());
                    reply(&mut writer, "250 2.1.0 Ok").await?;
                } else {
                    reply(&mut writer, "501 5.5.4 Syntax: MAIL FROM:<address>").await?;
                }
            }
            "RCPT" => {
                if transaction.mail_from.is_none() {
                    reply(&mut writer, "503 5.5.1 Need MAIL before RCPT").await?;
                } else if transaction.rcpt_to.len() >= MAX_RECIPIENTS {
                    reply(&mut writer, "452 4.5.3 Too many recipients").await?;
                } else {
                    match path_argument(argument, "TO:") {
                        Some(address) if !address.is_empty() => {
                            transaction.rcpt_to.push(address.to_owned());
                            reply(&mut writer, "250 2.1.5 Ok").await?;
                        }
                        _ => reply(&mut writer, "501 5.5.4 Syntax: RCPT TO:<address>").await?,
                    }
                }
            }
            "DATA" => {
                if transaction.mail_from.is_none() {
                    reply(&mut writer, "503 5.5.1 Need MAIL command").await?;
                    continue;
                }
                if transaction.rcpt_to.is_empty() {
                    reply(&mut writer, "554 5.5.1 No valid recipients").await?;
                    continue;
                }
                reply(&mut writer, "354 End data with <CR><LF>.<CR><LF>").await?;
                let Some(data) = read_data(&mut reader, &mut line, &mut down).await else {
                    return Ok(());
                };
                let transaction = std::mem::take(&mut transaction);
                let answer = match data {
                    None => "552 5.3.4 Message too big".to_owned(),
                    Some(data) => store(shared, transaction, data),
                };
                reply(&mut writer, &answer).await?;
            }
            "RSET" => {
                transaction = Transaction::default();
                reply(&mut writer, "250 2.0.0 Ok").await?;
            }
            "NOOP" => reply(&mut writer, "250 2.0.0 Ok").await?,
            "QUIT" => {
                reply(&mut writer, "221 2.0.0 Bye").await?;
                return Ok(());
            }
            "" => reply(&mut writer, "500 5.5.2 Error: bad syntax").await?,
            _ => reply(&mut writer, "502 5.5.2 Error: command not recognized").await?,
        }
    }
}

/// Read the message up to the lone `.`, undoing dot-stuffing. `None`: the connection closed
/// (or the sink went down) first; `Some(None)`: the message was too big.
async fn read_data<R: AsyncBufRead + Unpin>(
    reader: &mut R,
    line: &mut Vec<u8>,
    down: &mut watch::Receiver<bool>,
) -> Option<Option<Vec<u8>>> {
    let mut data = Vec::new();
    let mut too_big = false;
    let mut at_line_start = true;
    loop {
        let complete = match read_line(reader, line, MAX_DATA_LINE, down).await {
            Line::Complete => true,
            Line::TooLong => false,
            Line::Closed => return None,
        };
        let mut content: &[u8] = line;
        if at_line_start {
            if content == b".\r\n" || content == b".\n" {
                return Some((!too_big).then_some(data));
            }
            if content.starts_with(b".") {
                content = &content[1..];
            }
        }
        at_line_start = complete;
        if data.len() + content.len() > MAX_MESSAGE_BYTES {
            too_big = true;
        }
        if !too_big {
            data.extend_from_slice(content);
        }
    }
}

/// Keep the message, unless a rejection is queued; the reply to send.
fn store(shared: &Shared, transaction: Transaction, data: Vec<u8>) -> String {
    let mut state = shared.state();
    if let Some((code, text)) = state.rejections.pop_front() {
        return format!("{code} {text}");
    }
    state.next_queue_id += 1;
    let queue_id = format!("SINK{:08X}", state.next_queue_id);
    state.received.push(ReceivedMail {
        mail_from: transaction.mail_from.unwrap_or_default(),
        rcpt_to: transaction.rcpt_to,
        raw: String::from_utf8_lossy(&data).into_owned(),
    });
    drop(state);
    shared.stored.notify_waiters();
    format!("250 2.0.0 Ok: queued as {queue_id}")
}
