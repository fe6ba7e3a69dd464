//! Connections that hold a slot without using it: a client that never sends its request, one
//! that trickles it a byte at a time, a kept-alive connection left idle, and more connections
//! than the server takes at once.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::{TestApp, TestDb, spawn_app_with};

async fn app(header_read: u64, keep_alive: u64, max_connections: u64) -> TestApp {
    spawn_app_with(TestDb::sqlite().await, |c| {
        c.header_read_timeout_secs = header_read;
        c.keep_alive_timeout_secs = keep_alive;
        c.max_connections = max_connections;
    })
    .await
}

async fn connect(app: &TestApp) -> TcpStream {
    let address = app.address.trim_start_matches("http://");
    TcpStream::connect(address).await.expect("connect")
}

/// Waits (at most `limit`) for the server to close the connection; how long that took.
async fn closed_within(stream: &mut TcpStream, limit: Duration) -> Duration {
    let started = Instant::now();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout_at((started + limit).into(), stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return started.elapsed(),
            Ok(Ok(_)) => continue,
            Err(_) => panic!("the connection was still open after {limit:?}"),
        }
    }
}

/// Sends a request's headers a byte every 100 ms (never finishing them within a few seconds);
/// how long until the server closed the connection.
async fn trickled_until_closed(stream: &mut TcpStream) -> Duration {
    let started = Instant::now();
    for byte in b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" {
        if stream.write_all(&[*byte]).await.is_err() {
            break;
        }
        let mut buf = [0u8; 64];
        let read = tokio::time::timeout(Duration::from_millis(100), stream.read(&mut buf)).await;
        if let Ok(Ok(0)) = read {
            break;
        }
    }
    started.elapsed() + closed_within(stream, Duration::from_secs(3)).await
}

const HEALTHZ: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n";

/// Sends a request and reads its whole answer (a small one, in one piece or a few).
async fn round_trip(stream: &mut TcpStream) -> String {
    stream.write_all(HEALTHZ).await.expect("send");
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf))
            .await
            .expect("an answer in time")
            .expect("read");
        assert!(n > 0, "the connection closed before answering");
        answer.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&answer);
        if let Some(end) = text.find("\r\n\r\n") {
            let length: usize = text
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse().unwrap_or(0))
                })
                .unwrap_or(0);
            if answer.len() >= end + 4 + length {
                return text.into_owned();
            }
        }
    }
}

#[tokio::test]
async fn a_connection_that_sends_nothing_is_closed_after_the_header_timeout() {
    let app = app(1, 30, 512).await;
    let mut silent = connect(&app).await;
    let took = closed_within(&mut silent, Duration::from_secs(5)).await;
    assert!(
        took >= Duration::from_millis(900),
        "closed after {took:?}, before its second"
    );
}

#[tokio::test]
async fn a_client_trickling_its_headers_is_closed_though_it_keeps_sending() {
    let app = app(1, 30, 512).await;
    let mut slow = connect(&app).await;
    // A byte every 100 ms never finishes the headers within a second.
    let took = trickled_until_closed(&mut slow).await;
    assert!(took < Duration::from_millis(2_500), "open for {took:?}");
}

#[tokio::test]
async fn a_kept_alive_connection_stays_for_its_idle_timeout_and_no_longer() {
    let app = app(1, 3, 512).await;
    let mut kept = connect(&app).await;
    assert!(round_trip(&mut kept).await.starts_with("HTTP/1.1 200"));
    // Longer than the header timeout: an idle kept-alive connection is not a slow client.
    tokio::time::sleep(Duration::from_millis(1_800)).await;
    assert!(round_trip(&mut kept).await.starts_with("HTTP/1.1 200"));
    let took = closed_within(&mut kept, Duration::from_secs(6)).await;
    assert!(
        took >= Duration::from_millis(2_800),
        "closed {took:?} after its last answer, before the idle timeout"
    );
}

#[tokio::test]
async fn connections_past_the_cap_wait_until_one_closes() {
    let app = app(5, 60, 2).await;
    let mut first = connect(&app).await;
    let mut second = connect(&app).await;
    assert!(round_trip(&mut first).await.starts_with("HTTP/1.1 200"));
    assert!(round_trip(&mut second).await.starts_with("HTTP/1.1 200"));

    // Both slots are held by kept-alive connections: a third client waits.
    let client = reqwest::Client::new();
    let url = app.url("/healthz");
    let waiting = tokio::spawn(async move { client.get(url).send().await.map(|r| r.status()) });
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(
        !waiting.is_finished(),
        "a third connection was served past the cap of two"
    );

    drop(first);
    let status = tokio::time::timeout(Duration::from_secs(5), waiting)
        .await
        .expect("served once a slot freed")
        .expect("task")
        .expect("request");
    assert_eq!(status, 200);
    // The connection still open was never disturbed.
    assert!(round_trip(&mut second).await.starts_with("HTTP/1.1 200"));
}

#[tokio::test]
async fn a_request_trickled_down_a_kept_alive_connection_is_held_to_the_header_timeout() {
    let app = app(1, 30, 512).await;
    let mut kept = connect(&app).await;
    assert!(round_trip(&mut kept).await.starts_with("HTTP/1.1 200"));
    // Idle for longer than the header timeout first: the connection now waits on its keep-alive.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let took = trickled_until_closed(&mut kept).await;
    assert!(
        took < Duration::from_millis(2_500),
        "a kept-alive connection trickling a request stayed {took:?}, not its keep-alive 30 s"
    );
}
