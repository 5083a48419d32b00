//! Serving: the accept loop, one HTTP/1.1 connection at a time with header
//! and idle timeouts, a cap on connections, signals (stop, reopen) and a
//! graceful shutdown.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use tower::ServiceExt;

use crate::search::SearchService;

use super::api::routes;
use super::app::{App, Shared};
use super::errors::ErrorBody;
use super::gate::Gate;
use super::host::HostCheck;
use super::{ServeOptions, CLOSE_IDLE, MAX_HEAD_BYTES, MAX_REFUSING, RETRY_AFTER_SECS};

/// The signals `serve` acts on.
enum Signal {
    /// Ctrl-C or SIGTERM: stop.
    Stop,
    /// SIGHUP: reopen the index.
    Reopen,
}

struct Signals {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
    #[cfg(unix)]
    hangup: tokio::signal::unix::Signal,
}

impl Signals {
    #[cfg(unix)]
    fn new() -> io::Result<Signals> {
        use tokio::signal::unix::{signal, SignalKind};
        Ok(Signals {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
            hangup: signal(SignalKind::hangup())?,
        })
    }

    #[cfg(not(unix))]
    fn new() -> io::Result<Signals> {
        Ok(Signals {})
    }

    #[cfg(unix)]
    async fn next(&mut self) -> Signal {
        tokio::select! {
            _ = self.interrupt.recv() => Signal::Stop,
            _ = self.terminate.recv() => Signal::Stop,
            _ = self.hangup.recv() => Signal::Reopen,
        }
    }

    #[cfg(not(unix))]
    async fn next(&mut self) -> Signal {
        let _ = tokio::signal::ctrl_c().await;
        Signal::Stop
    }

    /// The next stop signal (a second Ctrl-C while stopping).
    async fn next_stop(&mut self) {
        while let Signal::Reopen = self.next().await {}
    }
}

/// Serves on `listener` until Ctrl-C or SIGTERM, then stops accepting,
/// lets requests in flight finish for up to `shutdown_timeout` (a second
/// Ctrl-C stops at once) and returns. SIGHUP reopens the index. `notify`
/// is told what happens, one line at a time, starting with the address
/// served once the signals are in hand.
pub async fn serve(
    listener: TcpListener,
    service: Box<dyn SearchService>,
    options: ServeOptions,
    notify: impl Fn(&str),
) -> io::Result<()> {
    let bound = listener.local_addr()?;
    // Before the line that says the server is up: a SIGHUP sent on reading
    // it must find the handler installed, not the default that ends the
    // process.
    let mut signals = Signals::new()?;
    // Tests and scripts read this line for the address.
    notify(&format!(
        "serving {} on http://{bound}/ (Ctrl-C stops)",
        service.place()
    ));
    let app = Arc::new(App {
        service: RwLock::new(Arc::from(service)),
        gate: Gate::new(options.max_searches),
    });
    let router = routes(
        app.clone(),
        HostCheck {
            policy: options.hosts.clone(),
            bound,
        },
    );
    let options = Arc::new(options);
    let max_connections = options.max_connections.clamp(1, Semaphore::MAX_PERMITS);
    let connections = Arc::new(Semaphore::new(max_connections));
    let refusing = Arc::new(Semaphore::new(MAX_REFUSING));
    let (stop, stopped) = watch::channel(false);
    let mut last_accept_error: Option<tokio::time::Instant> = None;
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => match connections.clone().try_acquire_owned() {
                    Ok(permit) => {
                        tokio::spawn(connection(
                            stream,
                            router.clone(),
                            options.clone(),
                            stopped.clone(),
                            permit,
                        ));
                    }
                    Err(_) => {
                        if let Ok(permit) = refusing.clone().try_acquire_owned() {
                            tokio::spawn(refuse(stream, max_connections, permit));
                        }
                    }
                },
                Err(e) => {
                    // Out of file descriptors and the like: say so (at most
                    // once a minute) and pause rather than spin.
                    let now = tokio::time::Instant::now();
                    if last_accept_error.is_none_or(|t| now - t > Duration::from_secs(60)) {
                        notify(&format!("cannot accept a connection: {e}"));
                        last_accept_error = Some(now);
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            signal = signals.next() => match signal {
                Signal::Stop => break,
                Signal::Reopen => reopen(&app, &notify).await,
            },
        }
    }
    drop(listener);
    let _ = stop.send(true);
    let open = max_connections - connections.available_permits();
    notify(&format!(
        "stopping: {open} connection(s) open; waiting up to {} s for requests in flight (Ctrl-C again stops at once)",
        options.shutdown_timeout.as_secs()
    ));
    tokio::select! {
        _ = connections.acquire_many(max_connections as u32) => notify("stopped"),
        _ = tokio::time::sleep(options.shutdown_timeout) => notify(&format!(
            "stopped after {} s with {} connection(s) still open",
            options.shutdown_timeout.as_secs(),
            max_connections - connections.available_permits()
        )),
        _ = signals.next_stop() => notify("stopped at once"),
    }
    Ok(())
}

/// SIGHUP: opens the index afresh (after a rebuild that replaced its
/// folder, say) and swaps it in; on failure keeps serving the open one.
async fn reopen(app: &Shared, notify: &impl Fn(&str)) {
    let open = app.service();
    let opened = tokio::task::spawn_blocking(move || open.reopen()).await;
    match opened {
        Ok(Ok(service)) => {
            let (units, place) = (service.units(), service.place());
            *app.service.write().unwrap_or_else(|p| p.into_inner()) = Arc::from(service);
            notify(&format!("SIGHUP: reopened {place} ({units} units)"));
        }
        Ok(Err(e)) => notify(&format!(
            "SIGHUP: cannot reopen the index, still serving the one open: {e}"
        )),
        Err(e) => notify(&format!(
            "SIGHUP: cannot reopen the index, still serving the one open: {e}"
        )),
    }
}

/// One HTTP/1.1 connection, with the header and idle timeouts; on stop,
/// a request in flight may finish, anything else is closed.
async fn connection(
    stream: TcpStream,
    router: Router,
    options: Arc<ServeOptions>,
    mut stopped: watch::Receiver<bool>,
    _permit: OwnedSemaphorePermit,
) {
    let _ = stream.set_nodelay(true);
    let in_flight = Arc::new(AtomicUsize::new(0));
    let service = {
        let in_flight = in_flight.clone();
        hyper::service::service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
            let router = router.clone();
            let busy = InFlight::enter(&in_flight);
            async move {
                let response = router.oneshot(request.map(Body::new)).await;
                drop(busy);
                response
            }
        })
    };
    let io = TokioIo::new(Stalling::new(stream, options.idle_timeout));
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(options.header_timeout)
        .max_buf_size(MAX_HEAD_BYTES);
    let conn = http.serve_connection(io, service);
    tokio::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => return,
        _ = stopped.wait_for(|&s| s) => {}
    }
    conn.as_mut().graceful_shutdown();
    let allowed = if in_flight.load(Ordering::SeqCst) > 0 {
        options.shutdown_timeout
    } else {
        CLOSE_IDLE
    };
    let _ = tokio::time::timeout(allowed, conn).await;
}

/// Counts a request in flight on its connection while it lives.
struct InFlight(Arc<AtomicUsize>);

impl InFlight {
    fn enter(counter: &Arc<AtomicUsize>) -> InFlight {
        counter.fetch_add(1, Ordering::SeqCst);
        InFlight(counter.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Answers a connection over the cap with 503 and closes it.
async fn refuse(mut stream: TcpStream, cap: usize, _permit: OwnedSemaphorePermit) {
    let body = serde_json::to_string(&ErrorBody {
        error: &format!("the server has {cap} connections open, its limit; try again in a second"),
    })
    .unwrap_or_default();
    let answer = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\nretry-after: {RETRY_AFTER_SECS}\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        write_all(&mut stream, answer.as_bytes()).await?;
        std::future::poll_fn(|cx| Pin::new(&mut stream).poll_shutdown(cx)).await?;
        // Read what the client sent, so that closing does not reset the
        // connection before it has read the answer.
        let mut sink = [0u8; 4096];
        loop {
            let mut buf = ReadBuf::new(&mut sink);
            std::future::poll_fn(|cx| Pin::new(&mut stream).poll_read(cx, &mut buf)).await?;
            if buf.filled().is_empty() {
                return io::Result::Ok(());
            }
        }
    })
    .await;
}

async fn write_all<T: AsyncWrite + Unpin>(io: &mut T, mut bytes: &[u8]) -> io::Result<()> {
    while !bytes.is_empty() {
        let n = std::future::poll_fn(|cx| Pin::new(&mut *io).poll_write(cx, bytes)).await?;
        if n == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        bytes = &bytes[n..];
    }
    Ok(())
}

/// A socket that fails with `TimedOut` when it has moved no byte for
/// `limit` while the server waits on it: a client that stops reading an
/// answer, or stops sending, cannot hold its connection forever.
struct Stalling<T> {
    inner: T,
    limit: Duration,
    timer: Pin<Box<tokio::time::Sleep>>,
    armed: bool,
}

impl<T> Stalling<T> {
    fn new(inner: T, limit: Duration) -> Stalling<T> {
        Stalling {
            inner,
            limit,
            timer: Box::pin(tokio::time::sleep(limit)),
            armed: false,
        }
    }

    fn watch<R>(
        &mut self,
        cx: &mut Context<'_>,
        polled: Poll<io::Result<R>>,
    ) -> Poll<io::Result<R>> {
        match polled {
            Poll::Ready(r) => {
                self.armed = false;
                Poll::Ready(r)
            }
            Poll::Pending => {
                if !self.armed {
                    let at = tokio::time::Instant::now() + self.limit;
                    self.timer.as_mut().reset(at);
                    self.armed = true;
                }
                match self.timer.as_mut().poll(cx) {
                    Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "the connection moved no data for too long",
                    ))),
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Stalling<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_read(cx, buf);
        this.watch(cx, polled)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Stalling<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_write(cx, buf);
        this.watch(cx, polled)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        this.watch(cx, polled)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_flush(cx);
        this.watch(cx, polled)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_shutdown(cx);
        this.watch(cx, polled)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stalled_connection_fails_instead_of_waiting_forever() {
        super::super::test_runtime().block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let client = TcpStream::connect(listener.local_addr().unwrap())
                .await
                .unwrap();
            // The client never reads: writing stalls once the socket
            // buffers are full.
            let (ours, _) = listener.accept().await.unwrap();
            let mut s = Stalling::new(ours, Duration::from_millis(100));
            let flood = vec![0u8; 64 << 20];
            let outcome =
                tokio::time::timeout(Duration::from_secs(20), write_all(&mut s, &flood)).await;
            let e = outcome.expect("the stalled write ended").unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::TimedOut);
            drop(client);
        });
    }
}
