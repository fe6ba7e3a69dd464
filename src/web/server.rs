//! The HTTP/1.1 server loop: accepts connections up to a cap and closes the ones that hold a
//! slot without using it — a client slow to send its request's headers, or a kept-alive
//! connection idle for too long. A graceful stop finishes the requests in flight.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio::time::Instant;
use tower::ServiceExt;

/// How long connections may hold a slot without using it, and how many may be open at once.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// From a connection's opening, or the first byte of its next request, to the end of that
    /// request's headers.
    pub header_read: Duration,
    /// From a kept-alive connection's last answer to the first byte of its next request.
    pub keep_alive: Duration,
    pub max_connections: usize,
}

/// Serves `router` on `listener` until `stop` turns true; then stops accepting, lets each
/// connection finish the request it is serving and returns once every connection closed.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    mut stop: watch::Receiver<bool>,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let mut full = false;
    loop {
        let slot = match slots.clone().try_acquire_owned() {
            Ok(slot) => {
                full = false;
                slot
            }
            Err(_) => {
                if !full {
                    full = true;
                    tracing::warn!(
                        max_connections = limits.max_connections,
                        "connection limit reached: MAX_CONNECTIONS connections are open; new \
                         connections wait until one closes"
                    );
                }
                tokio::select! {
                    slot = slots.clone().acquire_owned() => match slot {
                        Ok(slot) => slot,
                        Err(_) => break,
                    },
                    _ = stop.wait_for(|stopping| *stopping) => break,
                }
            }
        };
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stop.wait_for(|stopping| *stopping) => break,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors, most often: wait for some to close.
                tracing::error!(error = %e, "accept error; trying again in a second");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        let router = router.clone();
        let stop = stop.clone();
        tokio::spawn(async move {
            connection(stream, peer, router, limits, stop).await;
            drop(slot);
        });
    }
    drop(listener);
    // Every connection holds a slot until it closes.
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    let _ = slots.acquire_many(all).await;
}

/// What a connection did last, as milliseconds since it opened (0: never).
#[derive(Default)]
struct Activity {
    /// Requests whose answer is being worked out.
    in_flight: AtomicUsize,
    /// When the current request's first byte came (0: no request being read).
    head_from: AtomicU64,
    /// When the last answer was handed over, or its last byte written.
    answered: AtomicU64,
    served: AtomicBool,
}

impl Activity {
    /// When the connection is to be closed, as milliseconds since it opened; `None` while a
    /// request is being served.
    fn deadline(&self, limits: &Limits) -> Option<u64> {
        if self.in_flight.load(Ordering::Acquire) > 0 {
            return None;
        }
        let head_from = self.head_from.load(Ordering::Acquire);
        if head_from > 0 {
            return Some(head_from.saturating_add(millis(limits.header_read)));
        }
        let wait = if self.served.load(Ordering::Acquire) {
            limits.keep_alive
        } else {
            limits.header_read
        };
        Some(
            self.answered
                .load(Ordering::Acquire)
                .saturating_add(millis(wait)),
        )
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    router: Router,
    limits: Limits,
    mut stop: watch::Receiver<bool>,
) {
    let opened = Instant::now();
    let since = move || millis(opened.elapsed()).max(1);
    let activity = Arc::new(Activity::default());
    let io = Watched {
        stream,
        activity: activity.clone(),
        since,
    };
    let service = {
        let activity = activity.clone();
        hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
            let (router, activity) = (router.clone(), activity.clone());
            request.extensions_mut().insert(ConnectInfo(peer));
            activity.head_from.store(0, Ordering::Release);
            activity.in_flight.fetch_add(1, Ordering::AcqRel);
            async move {
                let response = router.oneshot(request.map(axum::body::Body::new)).await;
                activity.answered.store(since(), Ordering::Release);
                activity.served.store(true, Ordering::Release);
                activity.in_flight.fetch_sub(1, Ordering::AcqRel);
                response
            }
        })
    };
    let mut conn = std::pin::pin!(
        hyper::server::conn::http1::Builder::new()
            .header_read_timeout(None)
            .serve_connection(TokioIo::new(io), service)
    );
    let mut stopping = false;
    loop {
        // Looked at again at the deadline, and often enough meanwhile that a request starting
        // on an idle kept-alive connection is held to the (shorter) header timeout.
        let soon = Instant::now() + (limits.header_read / 4).max(Duration::from_millis(250));
        let check = match activity.deadline(&limits) {
            Some(at) => (opened + Duration::from_millis(at)).min(soon),
            None => soon,
        };
        tokio::select! {
            served = conn.as_mut() => {
                if let Err(e) = served {
                    tracing::debug!(error = %e, %peer, "connection ended with an error");
                }
                return;
            }
            () = tokio::time::sleep_until(check) => {
                let late = activity.deadline(&limits).is_some_and(|at| since() >= at);
                if late {
                    tracing::debug!(%peer, "connection closed: no complete request in time");
                    return;
                }
            }
            _ = stop.wait_for(|stopping| *stopping), if !stopping => {
                stopping = true;
                conn.as_mut().graceful_shutdown();
            }
        }
    }
}

/// A connection's socket that notes when requests start arriving and answers go out.
struct Watched<F> {
    stream: TcpStream,
    activity: Arc<Activity>,
    since: F,
}

impl<F: Fn() -> u64> Watched<F> {
    /// Notes bytes written: a long answer to a slow reader keeps its connection.
    fn wrote(&self, polled: Poll<io::Result<usize>>) -> Poll<io::Result<usize>> {
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity
                .answered
                .store((self.since)(), Ordering::Release);
        }
        polled
    }
}

impl<F: Fn() -> u64 + Unpin> AsyncRead for Watched<F> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.stream).poll_read(cx, buf);
        if buf.filled().len() > before {
            let a = &this.activity;
            if a.in_flight.load(Ordering::Acquire) == 0 && a.head_from.load(Ordering::Acquire) == 0
            {
                a.head_from.store((this.since)(), Ordering::Release);
            }
        }
        polled
    }
}

impl<F: Fn() -> u64 + Unpin> AsyncWrite for Watched<F> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.stream).poll_write(cx, data);
        this.wrote(polled)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.stream).poll_write_vectored(cx, bufs);
        this.wrote(polled)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}
