//! Values read from AWS Secrets Manager while the server runs, so a rotated secret is picked up
//! without a restart.
//!
//! A [`Secret`] holds the value last read. It is read again once it is older than
//! `SECRET_TTL_SECS`, and at once (at most every [`REREAD_GAP`]) when a service refuses it. A
//! failed re-read keeps the value it has and is tried again after [`RETRY_AFTER_FAILURE`]; only
//! the first read, at start, is fatal, with an error that names the setting and the secret.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use anyhow::Context;
use aws_sdk_secretsmanager::error::{DisplayErrorContext, SdkError};
use aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueError;
use tokio::time::Instant;

/// The shortest time between two re-reads forced by a refused value (a key that is simply wrong
/// must not turn every quote into a Secrets Manager call).
pub const REREAD_GAP: Duration = Duration::from_secs(30);

/// How soon a failed scheduled re-read is tried again.
pub const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(30);

/// Longest wait for one Secrets Manager call, retries included.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// A Secrets Manager client configured the SDK's usual way: `AWS_REGION`, the credential chain
/// (the ECS task role on Fargate), and `AWS_ENDPOINT_URL` / `AWS_ENDPOINT_URL_SECRETS_MANAGER`.
#[derive(Clone)]
pub struct SecretsClient {
    client: aws_sdk_secretsmanager::Client,
}

impl SecretsClient {
    pub async fn from_env() -> anyhow::Result<Self> {
        use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
        // The same TLS stack (rustls with ring) as the rest of the binary.
        let http = aws_smithy_http_client::Builder::new()
            .tls_provider(Provider::Rustls(CryptoMode::Ring))
            .build_https();
        let shared = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .http_client(http)
            .timeout_config(
                aws_config::timeout::TimeoutConfig::builder()
                    .operation_timeout(CALL_TIMEOUT)
                    .build(),
            )
            .load()
            .await;
        anyhow::ensure!(
            shared.region().is_some(),
            "reading secrets from AWS Secrets Manager needs a region: set AWS_REGION"
        );
        Ok(Self {
            client: aws_sdk_secretsmanager::Client::new(&shared),
        })
    }

    /// The text of the secret's current version.
    async fn read(&self, id: &str) -> anyhow::Result<String> {
        let answer = self
            .client
            .get_secret_value()
            .secret_id(id)
            .send()
            .await
            .map_err(|e| explain(id, e))?;
        answer
            .secret_string()
            .map(str::to_string)
            .with_context(|| format!("secret {id:?} holds binary data, not text"))
    }
}

/// An SDK failure in words an operator can act on.
fn explain(id: &str, error: SdkError<GetSecretValueError>) -> anyhow::Error {
    let why = match &error {
        SdkError::ServiceError(e) => match e.err() {
            GetSecretValueError::ResourceNotFoundException(_) => {
                "it does not exist (check the name or ARN and the region)".to_string()
            }
            GetSecretValueError::DecryptionFailure(_) => {
                "its KMS key cannot decrypt it for this role".to_string()
            }
            other if other.meta().code() == Some("AccessDeniedException") => {
                "access denied: the task role needs secretsmanager:GetSecretValue on it".to_string()
            }
            other => DisplayErrorContext(other).to_string(),
        },
        SdkError::TimeoutError(_) => "Secrets Manager did not answer in time".to_string(),
        SdkError::DispatchFailure(_) => "Secrets Manager could not be reached".to_string(),
        other => DisplayErrorContext(other).to_string(),
    };
    anyhow::anyhow!("cannot read secret {id:?} from AWS Secrets Manager: {why}")
}

/// Turns a secret's text into the value used.
pub type Decoder = Box<dyn Fn(&str) -> anyhow::Result<String> + Send + Sync>;

/// Where a value lives: a secret, and how to turn its text into the value.
pub struct SecretRef {
    /// The setting that named the secret, for messages.
    pub setting: &'static str,
    /// Name or ARN.
    pub id: String,
    pub decode: Decoder,
}

struct State {
    value: Arc<str>,
    /// When the value should be read again.
    due: Instant,
    /// When a refused value last forced a read.
    forced: Option<Instant>,
}

/// A value that may come from Secrets Manager (and then follows its rotations) or be fixed.
pub struct Secret {
    source: Option<(SecretsClient, SecretRef)>,
    ttl: Duration,
    state: RwLock<State>,
    reading: tokio::sync::Mutex<()>,
}

impl Secret {
    /// A value given in the settings; it never changes.
    pub fn fixed(value: &str) -> Self {
        Self {
            source: None,
            ttl: Duration::MAX,
            state: RwLock::new(State {
                value: value.into(),
                due: far_future(),
                forced: None,
            }),
            reading: tokio::sync::Mutex::new(()),
        }
    }

    /// Reads the secret now; an error here should stop the server from starting.
    pub async fn load(
        client: SecretsClient,
        reference: SecretRef,
        ttl: Duration,
    ) -> anyhow::Result<Self> {
        let value = Self::fetch(&client, &reference).await?;
        Ok(Self {
            source: Some((client, reference)),
            ttl,
            state: RwLock::new(State {
                value: value.into(),
                due: Instant::now() + ttl,
                forced: None,
            }),
            reading: tokio::sync::Mutex::new(()),
        })
    }

    async fn fetch(client: &SecretsClient, reference: &SecretRef) -> anyhow::Result<String> {
        let text = client
            .read(&reference.id)
            .await
            .with_context(|| reference.setting)?;
        (reference.decode)(&text).with_context(|| {
            format!(
                "{}: secret {:?} has no usable value",
                reference.setting, reference.id
            )
        })
    }

    fn snapshot(&self) -> (Arc<str>, Instant, Option<Instant>) {
        let state = self.state.read().unwrap_or_else(|e| e.into_inner());
        (state.value.clone(), state.due, state.forced)
    }

    fn store(&self, value: Option<String>, due: Instant, forced: Option<Instant>) -> Arc<str> {
        let mut state = self.state.write().unwrap_or_else(|e| e.into_inner());
        if let Some(value) = value {
            state.value = value.into();
        }
        state.due = due;
        if forced.is_some() {
            state.forced = forced;
        }
        state.value.clone()
    }

    /// How long a value read is used before it is read again.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// The value, read again first if it is older than the TTL (one reader at a time; a failed
    /// read keeps the value it has).
    pub async fn current(&self) -> Arc<str> {
        let (value, due, _) = self.snapshot();
        let Some((client, reference)) = &self.source else {
            return value;
        };
        if Instant::now() < due {
            return value;
        }
        let _reading = self.reading.lock().await;
        let (value, due, _) = self.snapshot();
        if Instant::now() < due {
            return value;
        }
        match Self::fetch(client, reference).await {
            Ok(fresh) => {
                if *fresh != *value {
                    tracing::info!(
                        setting = reference.setting,
                        "secret changed in Secrets Manager; using the new value"
                    );
                }
                self.store(Some(fresh), Instant::now() + self.ttl, None)
            }
            Err(e) => {
                tracing::warn!(error = format!("{e:#}"), "keeping the secret read before");
                self.store(None, Instant::now() + RETRY_AFTER_FAILURE, None)
            }
        }
    }

    /// A service refused `used`. Reads the secret again (unless another caller already did, or
    /// a refusal forced a read less than [`REREAD_GAP`] ago) and returns the value to retry
    /// with, or `None` when there is nothing new to try.
    pub async fn refused(&self, used: &str) -> Option<Arc<str>> {
        let (client, reference) = self.source.as_ref()?;
        let _reading = self.reading.lock().await;
        let (value, _, forced) = self.snapshot();
        if *value != *used {
            return Some(value);
        }
        let now = Instant::now();
        if forced.is_some_and(|at| now < at + REREAD_GAP) {
            return None;
        }
        match Self::fetch(client, reference).await {
            Ok(fresh) if *fresh != *used => {
                tracing::info!(
                    setting = reference.setting,
                    "refused secret replaced by its new version from Secrets Manager"
                );
                Some(self.store(Some(fresh), now + self.ttl, Some(now)))
            }
            Ok(_) => {
                tracing::warn!(
                    setting = reference.setting,
                    "the service refused the secret, and Secrets Manager still holds the same value"
                );
                self.store(None, now + self.ttl, Some(now));
                None
            }
            Err(e) => {
                tracing::warn!(error = format!("{e:#}"), "cannot re-read a refused secret");
                self.store(None, now + RETRY_AFTER_FAILURE, Some(now));
                None
            }
        }
    }
}

fn far_future() -> Instant {
    // Instant has no MAX; a century is never.
    Instant::now() + Duration::from_secs(100 * 365 * 24 * 3600)
}

/// Decodes a token secret: the whole text, or one key of a JSON object when `key` is not empty.
pub fn token_decoder(id: &str, key: &str) -> Decoder {
    let id = id.to_string();
    let key = key.trim().to_string();
    Box::new(move |text| {
        let object = serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(text).ok();
        let value = match (key.is_empty(), object) {
            (true, None) => text.trim().to_string(),
            (true, Some(object)) => {
                let keys: Vec<&str> = object.keys().map(String::as_str).collect();
                anyhow::bail!(
                    "secret {id:?} holds a JSON object: set SECRET_TOKEN_SECRET_KEY to the key of the token (its keys: {})",
                    keys.join(", ")
                )
            }
            (false, None) => anyhow::bail!(
                "SECRET_TOKEN_SECRET_KEY is {key:?}, but secret {id:?} is not a JSON object"
            ),
            (false, Some(object)) => match object.get(&key) {
                Some(serde_json::Value::String(s)) => s.trim().to_string(),
                Some(_) => anyhow::bail!("key {key:?} of secret {id:?} is not a string"),
                None => anyhow::bail!("secret {id:?} has no key {key:?}"),
            },
        };
        anyhow::ensure!(!value.is_empty(), "secret {id:?} is empty");
        Ok(value)
    })
}

/// Decodes a database secret into a PostgreSQL URL. Host, port and database name missing from
/// the secret come from `template` (the `DATABASE_URL` setting), as do its query parameters
/// (`sslmode=require`, say).
pub fn database_decoder(id: &str, template: &str) -> Decoder {
    let id = id.to_string();
    let template = template.to_string();
    Box::new(move |text| database_url(&id, &template, text))
}

/// Reads an RDS database secret (the JSON Secrets Manager's RDS rotation writes: `username`,
/// `password`, `host`, `port`, `dbname`, `engine`; an RDS-managed master secret has only the
/// first two). Errors name fields, never their values.
fn database_url(id: &str, template: &str, text: &str) -> anyhow::Result<String> {
    let object: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(text).map_err(|_| {
            anyhow::anyhow!("secret {id:?} is not an RDS database secret (a JSON object)")
        })?;
    let field = |name: &str| -> anyhow::Result<Option<String>> {
        match object.get(name) {
            None | Some(serde_json::Value::Null) => Ok(None),
            Some(serde_json::Value::String(s)) => Ok(Some(s.clone())),
            Some(serde_json::Value::Number(n)) if name == "port" => Ok(Some(n.to_string())),
            Some(_) => anyhow::bail!("field {name:?} of secret {id:?} is not a string"),
        }
    };
    let (Some(username), Some(password)) = (field("username")?, field("password")?) else {
        anyhow::bail!(
            "secret {id:?} is not an RDS database secret: it needs username and password"
        );
    };
    if let Some(engine) = field("engine")? {
        anyhow::ensure!(
            engine.starts_with("postgres"),
            "secret {id:?} is for engine {engine:?}; stock-ticker needs PostgreSQL"
        );
    }
    let port = match field("port")? {
        None => None,
        Some(p) => Some(p.trim().parse::<u16>().map_err(|_| {
            anyhow::anyhow!("secret {id:?} has a port that is not a number from 0 to 65535")
        })?),
    };
    let host = field("host")?;
    let dbname = field("dbname")?;
    let mut url = match reqwest::Url::parse(template) {
        Ok(url) if matches!(url.scheme(), "postgres" | "postgresql") => url,
        _ => reqwest::Url::parse("postgres://")?,
    };
    if let Some(host) = host.as_deref().filter(|h| !h.trim().is_empty()) {
        url.set_host(Some(host.trim()))
            .map_err(|_| anyhow::anyhow!("secret {id:?} has a host that is not a host name"))?;
    }
    anyhow::ensure!(
        url.host_str().is_some_and(|h| !h.is_empty()),
        "secret {id:?} has no host, and DATABASE_URL is not a postgres:// URL to take it from"
    );
    if port.is_some() {
        url.set_port(port)
            .map_err(|()| anyhow::anyhow!("secret {id:?}: cannot use its port"))?;
    }
    if let Some(dbname) = dbname.as_deref().filter(|d| !d.trim().is_empty()) {
        url.set_path(&format!("/{}", encode(dbname.trim())));
    }
    anyhow::ensure!(!username.is_empty(), "secret {id:?} has an empty username");
    url.set_username(&encode(&username))
        .and_then(|()| url.set_password(Some(&encode(&password))))
        .map_err(|()| anyhow::anyhow!("secret {id:?}: cannot put its credentials in a URL"))?;
    Ok(url.to_string())
}

/// Percent-encodes everything but unreserved characters (passwords hold `@`, `/`, `:` ...).
fn encode(part: &str) -> String {
    form_urlencoded::byte_serialize(part.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_secret_is_the_text_or_one_json_key() {
        let plain = token_decoder("t", "");
        assert_eq!(plain(" abc123\n").unwrap(), "abc123");
        let err = plain(r#"{"token":"abc","other":"x"}"#)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("SECRET_TOKEN_SECRET_KEY") && err.contains("token"),
            "{err}"
        );
        assert!(plain("  ").is_err());

        let keyed = token_decoder("t", "iex");
        assert_eq!(keyed(r#"{"iex":"pk_1","finnhub":"f"}"#).unwrap(), "pk_1");
        assert!(
            keyed(r#"{"other":"x"}"#)
                .unwrap_err()
                .to_string()
                .contains("no key \"iex\"")
        );
        assert!(
            keyed(r#"{"iex":5}"#)
                .unwrap_err()
                .to_string()
                .contains("not a string")
        );
        assert!(
            keyed("plain")
                .unwrap_err()
                .to_string()
                .contains("not a JSON object")
        );
    }

    #[test]
    fn full_rds_secret_makes_a_url_with_encoded_credentials() {
        let url = database_url(
            "db",
            "sqlite://stock-ticker.db?mode=rwc",
            r#"{"engine":"postgres","host":"db.example.internal","port":5432,
                "username":"app","password":"p@ss/w:rd?#%","dbname":"stock ticker"}"#,
        )
        .unwrap();
        assert_eq!(
            url,
            "postgres://app:p%40ss%2Fw%3Ard%3F%23%25@db.example.internal:5432/stock%20ticker"
        );
        let parsed = reqwest::Url::parse(&url).unwrap();
        assert_eq!(parsed.password(), Some("p%40ss%2Fw%3Ard%3F%23%25"));
    }

    #[test]
    fn managed_secret_takes_host_and_options_from_database_url() {
        let url = database_url(
            "db",
            "postgres://ignored:old@rds.example.internal:6543/st?sslmode=require",
            r#"{"username":"postgres","password":"new"}"#,
        )
        .unwrap();
        assert_eq!(
            url,
            "postgres://postgres:new@rds.example.internal:6543/st?sslmode=require"
        );
        // A template with only options: everything else from the secret.
        let url = database_url(
            "db",
            "postgres://?sslmode=require",
            r#"{"username":"u","password":"p","host":"db.internal","port":5432,"dbname":"st"}"#,
        )
        .unwrap();
        assert_eq!(url, "postgres://u:p@db.internal:5432/st?sslmode=require");
        // Port as a string, as some secrets store it.
        let url = database_url(
            "db",
            "",
            r#"{"username":"u","password":"p","host":"h","port":"5433","dbname":"d"}"#,
        )
        .unwrap();
        assert_eq!(url, "postgres://u:p@h:5433/d");
    }

    #[test]
    fn unusable_database_secrets_are_explained() {
        let cases = [
            ("not json", "not an RDS database secret"),
            (
                r#"{"password":"p","host":"h"}"#,
                "needs username and password",
            ),
            (
                r#"{"username":"u","password":12345678}"#,
                "\"password\" of secret",
            ),
            (r#"{"username":"u","password":"p"}"#, "has no host"),
            (
                r#"{"username":"u","password":"p","host":"h","port":70000}"#,
                "port",
            ),
            (
                r#"{"username":"u","password":"p","host":"h","engine":"mysql"}"#,
                "PostgreSQL",
            ),
        ];
        for (text, expected) in cases {
            let err = database_url("db", "sqlite://x.db", text)
                .unwrap_err()
                .to_string();
            assert!(err.contains(expected), "{text}: {err}");
            assert!(
                !err.contains("\"p\"") && !err.contains("12345678"),
                "a password leaked: {err}"
            );
        }
    }
}
