//! The HTTP client every provider shares: timeouts, a body size cap, 429 handling, and error
//! texts that never carry the request URL (it may hold an API key).

use std::time::Duration;

use reqwest::{RequestBuilder, StatusCode};

use super::QuoteError;
use super::registry::ProviderId;

/// Largest response body read from a provider.
const MAX_BODY_BYTES: usize = 4 << 20;

/// One provider's view of the shared HTTP client.
#[derive(Clone)]
pub struct Http {
    client: reqwest::Client,
    provider: &'static str,
}

/// A provider's answer: status and body.
pub struct Answer {
    pub status: StatusCode,
    pub body: Vec<u8>,
}

impl Answer {
    /// The body as text (lossy), for content sniffing.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// True when the body looks like an HTML page rather than data.
    pub fn is_html(&self) -> bool {
        let head: String = self
            .text()
            .chars()
            .take(512)
            .collect::<String>()
            .to_ascii_lowercase();
        let head = head.trim_start();
        head.starts_with("<!doctype html") || head.starts_with("<html") || head.contains("<body")
    }
}

impl Http {
    pub fn new(provider: ProviderId, timeout: Duration) -> reqwest::Result<Self> {
        Self::with_user_agent(
            provider,
            timeout,
            concat!("stock-ticker/", env!("CARGO_PKG_VERSION")),
        )
    }

    /// The same with another `User-Agent` (some services refuse clients that are not browsers).
    pub fn with_user_agent(
        provider: ProviderId,
        timeout: Duration,
        user_agent: &str,
    ) -> reqwest::Result<Self> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .user_agent(user_agent)
            .cookie_store(true)
            .build()?;
        Ok(Self {
            client,
            provider: provider.name(),
        })
    }

    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// A failure of this provider, with a reason safe to show.
    pub fn unavailable(&self, reason: impl Into<String>) -> QuoteError {
        QuoteError::Unavailable {
            provider: self.provider.to_string(),
            reason: reason.into(),
        }
    }

    /// Throttling, optionally with how long to wait.
    pub fn throttled(&self, retry_after: Option<Duration>) -> QuoteError {
        QuoteError::Throttled {
            provider: self.provider.to_string(),
            retry_after,
        }
    }

    /// Sends the request and reads the body. 429 becomes [`QuoteError::Throttled`] (with
    /// `Retry-After` when given); other statuses are left to the provider to judge.
    pub async fn send(&self, request: RequestBuilder) -> Result<Answer, QuoteError> {
        let mut response = request.send().await.map_err(|e| {
            // reqwest's own text includes the URL, and with it any key: keep only the kind.
            let kind = if e.is_timeout() {
                "timed out"
            } else if e.is_connect() {
                "connection failed"
            } else {
                "request failed"
            };
            self.unavailable(kind)
        })?;
        let status = response.status();
        if status == StatusCode::TOO_MANY_REQUESTS {
            let retry_after = response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            return Err(self.throttled(retry_after));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|_| self.unavailable("response body was cut off"))?
        {
            if body.len() + chunk.len() > MAX_BODY_BYTES {
                return Err(self.unavailable("response body is too large"));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Answer { status, body })
    }

    /// Parses a 2xx JSON answer, refusing HTML pages and other statuses.
    pub fn expect_json<T: serde::de::DeserializeOwned>(
        &self,
        answer: &Answer,
    ) -> Result<T, QuoteError> {
        if !answer.status.is_success() {
            return Err(self.unavailable(format!("HTTP {}", answer.status.as_u16())));
        }
        if answer.is_html() {
            return Err(self.unavailable("answered an HTML page instead of data"));
        }
        serde_json::from_slice(&answer.body)
            .map_err(|_| self.unavailable("response is not the expected JSON"))
    }
}
