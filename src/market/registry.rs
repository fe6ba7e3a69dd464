//! Every price service by id, and the one place that builds them and the chains that ask them:
//! a chain per asset kind (`QUOTE_PROVIDERS_<KIND>`) and one for exchange rates
//! (`QUOTE_PROVIDERS_FX`).

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;

use super::{
    AlphaVantageProvider, CoinGeckoProvider, FinnhubProvider, IexProvider, QuoteProvider,
    StooqProvider, TwelveDataProvider, YahooProvider,
};
use crate::config::Config;
use crate::domain::AssetKind;
use crate::secrets::Secret;

/// A price service stock-ticker can ask.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ProviderId {
    Yahoo,
    Iex,
    AlphaVantage,
    Finnhub,
    TwelveData,
    CoinGecko,
    Stooq,
}

impl ProviderId {
    pub const ALL: [ProviderId; 7] = [
        ProviderId::Yahoo,
        ProviderId::Iex,
        ProviderId::AlphaVantage,
        ProviderId::Finnhub,
        ProviderId::TwelveData,
        ProviderId::CoinGecko,
        ProviderId::Stooq,
    ];

    /// The name settings use and quotes carry in `source`.
    pub fn name(self) -> &'static str {
        match self {
            ProviderId::Yahoo => "yahoo",
            ProviderId::Iex => "iex",
            ProviderId::AlphaVantage => "alphavantage",
            ProviderId::Finnhub => "finnhub",
            ProviderId::TwelveData => "twelvedata",
            ProviderId::CoinGecko => "coingecko",
            ProviderId::Stooq => "stooq",
        }
    }
}

impl fmt::Display for ProviderId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ProviderId {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        ProviderId::ALL
            .into_iter()
            .find(|id| id.name() == s)
            .ok_or_else(|| {
                let known: Vec<_> = ProviderId::ALL.iter().map(|id| id.name()).collect();
                format!("unknown provider {s:?} (known: {})", known.join(", "))
            })
    }
}

/// An ordered list of price services, written as a comma list (`yahoo,iex`); empty entries
/// are skipped, so an empty setting is an empty chain.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProviderList(pub Vec<ProviderId>);

impl FromStr for ProviderList {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        s.split(',')
            .map(str::trim)
            .filter(|name| !name.is_empty())
            .map(ProviderId::from_str)
            .collect::<Result<_, _>>()
            .map(ProviderList)
    }
}

impl fmt::Display for ProviderList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<_> = self.0.iter().map(|id| id.name()).collect();
        f.write_str(&names.join(","))
    }
}

/// Who is asked, in order: per asset kind, and for exchange rates.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Chains {
    pub kinds: HashMap<AssetKind, Vec<ProviderId>>,
    pub fx: Vec<ProviderId>,
}

/// The providers the chains name whose settings allow them (keys present, IEX's base URL
/// set), and the chains with the others left out (and logged).
pub fn build(
    config: &Config,
    iex_token: Arc<Secret>,
) -> anyhow::Result<(Vec<Arc<dyn QuoteProvider>>, Chains)> {
    let mut wanted: Vec<ProviderId> = config
        .chains()
        .iter()
        .flat_map(|(_, list)| list.0.iter().copied())
        .chain(config.quote_providers_fx.0.iter().copied())
        .collect();
    wanted.sort();
    wanted.dedup();
    iex_base_url(config)?;
    let mut providers: Vec<Arc<dyn QuoteProvider>> = Vec::new();
    for id in wanted {
        if let Some(provider) = provider(id, config, iex_token.clone())? {
            providers.push(provider);
        }
    }
    let available = |list: &ProviderList| -> Vec<ProviderId> {
        list.0
            .iter()
            .copied()
            .filter(|id| providers.iter().any(|p| p.id() == *id))
            .collect()
    };
    let mut chains = Chains::default();
    for (kind, list) in config.chains() {
        let chain = available(list);
        tracing::info!(kind = kind.as_str(), chain = %ProviderList(chain.clone()), "price providers");
        chains.kinds.insert(kind, chain);
    }
    chains.fx = available(&config.quote_providers_fx);
    tracing::info!(chain = %ProviderList(chains.fx.clone()), "exchange-rate providers");
    Ok((providers, chains))
}

/// One provider as configured; `None` (and a log line) when its settings leave it out.
fn provider(
    id: ProviderId,
    config: &Config,
    iex_token: Arc<Secret>,
) -> anyhow::Result<Option<Arc<dyn QuoteProvider>>> {
    let timeout = config.quote_timeout();
    let keyed = |key: &str| {
        if key.trim().is_empty() {
            tracing::info!(
                provider = id.name(),
                "no API key configured: provider skipped"
            );
            false
        } else {
            true
        }
    };
    let provider: Arc<dyn QuoteProvider> =
        match id {
            ProviderId::Yahoo => Arc::new(yahoo(config, timeout)?),
            ProviderId::CoinGecko => Arc::new(CoinGeckoProvider::new(
                &config.coingecko_base_url,
                &config.coingecko_api_key,
                timeout,
            )?),
            ProviderId::Iex => {
                let base = config.iex_base_url.trim();
                if base.is_empty() {
                    tracing::info!(
                        provider = id.name(),
                        "IEX_BASE_URL is empty: provider skipped"
                    );
                    return Ok(None);
                }
                let url = reqwest::Url::parse(base)
                    .with_context(|| format!("IEX_BASE_URL {base:?} is not a URL"))?;
                anyhow::ensure!(
                    matches!(url.scheme(), "http" | "https"),
                    "IEX_BASE_URL must start with http:// or https:// (got {base:?})"
                );
                Arc::new(IexProvider::new(base, iex_token, timeout)?)
            }
            ProviderId::AlphaVantage if keyed(&config.alphavantage_api_key) => {
                Arc::new(AlphaVantageProvider::new(
                    &config.alphavantage_base_url,
                    &config.alphavantage_api_key,
                    timeout,
                )?)
            }
            ProviderId::Finnhub if keyed(&config.finnhub_api_key) => Arc::new(
                FinnhubProvider::new(&config.finnhub_base_url, &config.finnhub_api_key, timeout)?,
            ),
            ProviderId::TwelveData if keyed(&config.twelvedata_api_key) => {
                Arc::new(TwelveDataProvider::new(
                    &config.twelvedata_base_url,
                    &config.twelvedata_api_key,
                    timeout,
                )?)
            }
            ProviderId::Stooq if keyed(&config.stooq_api_key) => Arc::new(StooqProvider::new(
                &config.stooq_base_url,
                &config.stooq_api_key,
                timeout,
            )?),
            ProviderId::AlphaVantage
            | ProviderId::Finnhub
            | ProviderId::TwelveData
            | ProviderId::Stooq => return Ok(None),
        };
    Ok(Some(provider))
}

/// `IEX_BASE_URL` when set (checked whether a chain asks IEX or not); `None` when empty.
fn iex_base_url(config: &Config) -> anyhow::Result<Option<&str>> {
    let base = config.iex_base_url.trim();
    if base.is_empty() {
        return Ok(None);
    }
    let url =
        reqwest::Url::parse(base).with_context(|| format!("IEX_BASE_URL {base:?} is not a URL"))?;
    anyhow::ensure!(
        matches!(url.scheme(), "http" | "https"),
        "IEX_BASE_URL must start with http:// or https:// (got {base:?})"
    );
    Ok(Some(base))
}

/// Yahoo, with the configured `User-Agent` and pace.
fn yahoo(config: &Config, timeout: Duration) -> reqwest::Result<YahooProvider> {
    let yahoo = YahooProvider::new(&config.yahoo_base_url, &config.yahoo_cookie_url, timeout)?
        .with_requests_per_minute(config.yahoo_requests_per_minute);
    if config.yahoo_user_agent.trim().is_empty() {
        Ok(yahoo)
    } else {
        yahoo.with_user_agent(&config.yahoo_user_agent, timeout)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_read_names_in_order_and_refuse_unknown_ones() {
        let list: ProviderList = " yahoo, iex,,twelvedata ".parse().unwrap();
        assert_eq!(
            list.0,
            [ProviderId::Yahoo, ProviderId::Iex, ProviderId::TwelveData]
        );
        assert_eq!(list.to_string(), "yahoo,iex,twelvedata");
        assert_eq!("".parse::<ProviderList>().unwrap().0, []);
        assert!(
            "Yahoo".parse::<ProviderList>().is_err(),
            "names are lower-case"
        );
        let err = "yahoo,bloomberg".parse::<ProviderList>().unwrap_err();
        assert!(err.contains("\"bloomberg\""), "{err}");
        assert!(err.contains("known: yahoo, iex"), "{err}");
        for id in ProviderId::ALL {
            assert_eq!(id.name().parse::<ProviderId>(), Ok(id));
        }
    }
}
