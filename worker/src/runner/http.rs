//! The worker's `/metrics` endpoint: a deliberately tiny HTTP/1.1 responder on the worker's own
//! tokio runtime (actix-web would need its own actix System). `GET /metrics` answers the
//! Prometheus text exposition, `GET /healthz` answers 200, anything else 404 (400 when the
//! request line is unreadable). One request per connection (`Connection: close`): that is all
//! Prometheus and health probes need.

use crate::metrics::WorkerMetrics;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::{JoinHandle, JoinSet};

/// The Prometheus text format, version 0.0.4.
pub const METRICS_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The most a request head may take; a scrape's is a few hundred bytes.
const MAX_HEAD: usize = 8 * 1024;
/// How long one connection may take from accept to the last byte written.
const CONNECTION_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a stop waits for answers already being written.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(2);

/// A bound listener, not yet serving.
pub struct MetricsServer {
    listener: TcpListener,
    local_addr: SocketAddr,
    metrics: WorkerMetrics,
}

impl MetricsServer {
    /// Binds `bind` (`host:port`; port 0 picks a free one).
    pub async fn bind(bind: &str, metrics: WorkerMetrics) -> io::Result<Self> {
        let listener = TcpListener::bind(bind).await?;
        let local_addr = listener.local_addr()?;
        Ok(MetricsServer {
            listener,
            local_addr,
            metrics,
        })
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Serves on a task of its own until [`RunningServer::stop`].
    pub fn spawn(self) -> RunningServer {
        let (stop, stopped) = oneshot::channel();
        let local_addr = self.local_addr;
        let task = tokio::spawn(serve(self.listener, self.metrics, stopped));
        RunningServer { stop, task, local_addr }
    }
}

/// A server being served; stop it to release the port.
pub struct RunningServer {
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
    local_addr: SocketAddr,
}

impl RunningServer {
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops accepting, lets answers in progress finish (briefly), and releases the port.
    pub async fn stop(self) {
        let _ = self.stop.send(());
        if let Err(error) = self.task.await {
            tracing::warn!(%error, "the metrics server ended badly");
        }
    }
}

async fn serve(listener: TcpListener, metrics: WorkerMetrics, mut stopped: oneshot::Receiver<()>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            _ = &mut stopped => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    connections.spawn(respond(stream, metrics.clone()));
                }
                Err(error) => {
                    // Out of file descriptors and the like: pause instead of spinning.
                    tracing::warn!(%error, "metrics server: accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            // Reap finished connections so the set does not grow.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    drop(listener);
    let drained = tokio::time::timeout(DRAIN_TIMEOUT, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        connections.abort_all();
    }
}

async fn respond(mut stream: TcpStream, metrics: WorkerMetrics) {
    let answered = tokio::time::timeout(CONNECTION_TIMEOUT, async {
        let head = read_head(&mut stream).await?;
        let response = answer(head.as_deref(), &metrics);
        stream.write_all(&response).await?;
        stream.shutdown().await
    })
    .await;
    match answered {
        Ok(Ok(())) => {}
        Ok(Err(error)) => tracing::debug!(%error, "metrics server: connection failed"),
        Err(_) => tracing::debug!("metrics server: connection timed out"),
    }
}

/// Reads the request head (up to the blank line), so that closing the connection after the
/// answer does not discard unread headers (which would reset the connection under the
/// client's feet). `None` when it is too long; what came before EOF otherwise.
async fn read_head(stream: &mut TcpStream) -> io::Result<Option<String>> {
    let mut head = Vec::with_capacity(512);
    let mut chunk = [0u8; 1024];
    loop {
        if let Some(end) = end_of_head(&head) {
            head.truncate(end);
            break;
        }
        if head.len() > MAX_HEAD {
            return Ok(None);
        }
        let read = stream.read(&mut chunk).await?;
        if read == 0 {
            break;
        }
        head.extend_from_slice(&chunk[..read]);
    }
    Ok(Some(String::from_utf8_lossy(&head).into_owned()))
}

fn end_of_head(bytes: &[u8]) -> Option<usize> {
    let crlf = bytes.windows(4).position(|w| w == b"\r\n\r\n");
    let lf = bytes.windows(2).position(|w| w == b"\n\n");
    match (crlf, lf) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// The whole response to a request head.
fn answer(head: Option<&str>, metrics: &WorkerMetrics) -> Vec<u8> {
    let request_line = head.and_then(|head| head.lines().next()).unwrap_or("");
    let mut parts = request_line.split_whitespace();
    let (method, target, version) = (parts.next(), parts.next(), parts.next());
    let (Some(method), Some(target), Some(version)) = (method, target, version) else {
        return response(
            "400 Bad Request",
            "text/plain; charset=utf-8",
            "bad request\n".into(),
            true,
        );
    };
    if !version.starts_with("HTTP/1.") {
        return response(
            "400 Bad Request",
            "text/plain; charset=utf-8",
            "bad request\n".into(),
            true,
        );
    }
    let path = target.split(['?', '#']).next().unwrap_or(target);
    let with_body = method != "HEAD";
    match (method, path) {
        ("GET" | "HEAD", "/metrics") => response("200 OK", METRICS_CONTENT_TYPE, metrics.render(), with_body),
        ("GET" | "HEAD", "/healthz") => response("200 OK", "text/plain; charset=utf-8", "ok\n".into(), with_body),
        _ => response(
            "404 Not Found",
            "text/plain; charset=utf-8",
            "not found\n".into(),
            with_body,
        ),
    }
}

fn response(status: &str, content_type: &str, body: String, with_body: bool) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\
         Cache-Control: no-store\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    if with_body {
        out.extend_from_slice(body.as_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn exchange(addr: SocketAddr, request: &[u8]) -> String {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream.write_all(request).await.unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).await.unwrap();
        answer
    }

    #[tokio::test]
    async fn serves_metrics_health_and_404_then_stops() {
        let metrics = WorkerMetrics::new();
        metrics.last_sweep.set(1_767_225_600.5);
        let server = MetricsServer::bind("127.0.0.1:0", metrics).await.unwrap();
        let addr = server.local_addr();
        assert_ne!(addr.port(), 0);
        let running = server.spawn();

        let got = exchange(addr, b"GET /metrics HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n").await;
        assert!(got.starts_with("HTTP/1.1 200 OK\r\n"), "{got}");
        assert!(
            got.contains("Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"),
            "{got}"
        );
        assert!(
            got.contains("\nsalon_worker_last_sweep_timestamp_seconds 1767225600.5\n"),
            "{got}"
        );
        let (headers, body) = got.split_once("\r\n\r\n").unwrap();
        assert!(headers.contains(&format!("Content-Length: {}", body.len())), "{got}");

        let got = exchange(addr, b"GET /metrics?x=1 HTTP/1.0\r\n\r\n").await;
        assert!(got.starts_with("HTTP/1.1 200 OK\r\n"), "{got}");
        let got = exchange(addr, b"HEAD /metrics HTTP/1.1\r\n\r\n").await;
        assert!(
            got.starts_with("HTTP/1.1 200 OK\r\n") && got.ends_with("\r\n\r\n"),
            "{got}"
        );
        let got = exchange(addr, b"GET /healthz HTTP/1.1\r\n\r\n").await;
        assert!(got.starts_with("HTTP/1.1 200 OK\r\n"), "{got}");
        let got = exchange(addr, b"GET /nope HTTP/1.1\r\n\r\n").await;
        assert!(got.starts_with("HTTP/1.1 404 Not Found\r\n"), "{got}");
        let got = exchange(addr, b"POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n").await;
        assert!(got.starts_with("HTTP/1.1 404 Not Found\r\n"), "{got}");
        let got = exchange(addr, b"nonsense\r\n\r\n").await;
        assert!(got.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{got}");

        running.stop().await;
        assert!(TcpStream::connect(addr).await.is_err(), "the port is released");
    }

    #[tokio::test]
    async fn a_bad_address_or_a_taken_port_fails_to_bind() {
        assert!(MetricsServer::bind("nonsense", WorkerMetrics::new()).await.is_err());
        let taken = MetricsServer::bind("127.0.0.1:0", WorkerMetrics::new()).await.unwrap();
        let again = MetricsServer::bind(&taken.local_addr().to_string(), WorkerMetrics::new()).await;
        assert!(again.is_err());
    }
}
