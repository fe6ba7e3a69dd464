//! Items (a watch, a trading card): their owner enters their prices.

use rust_decimal::Decimal;

use crate::domain::quote::manual_price;
use crate::domain::{
    AmountError, AssetKey, AssetKind, DomainError, EARLIEST_PRICE_DATE, OwnerId, PricePoint, Symbol,
};
use crate::market::QuoteService;
use crate::store::Store;

use super::today;

/// The owner's item with this symbol; anything else is a 404 (prices are entered only for
/// items one holds).
pub async fn held(store: &dyn Store, owner: OwnerId, symbol: &Symbol) -> super::Result<AssetKey> {
    match store.find_holding(owner, symbol, AssetKind::Item).await? {
        Some(_) => Ok(AssetKey {
            symbol: symbol.clone(),
            kind: AssetKind::Item,
            owner,
        }),
        None => Err(DomainError::NotFound(format!(
            "You hold no item {symbol}. Add it to the portfolio first."
        ))
        .into()),
    }
}

/// Records a price for an item [`held`] by its owner: `date` as `YYYY-MM-DD` from 1900 to
/// today, `price` (read from text or JSON by the caller) zero or more.
pub async fn add_price(
    quotes: &QuoteService,
    item: &AssetKey,
    date: &str,
    price: Result<Decimal, AmountError>,
) -> super::Result<PricePoint> {
    let point = manual_price(date, price, today())?;
    quotes.add_manual_price(item, point.clone()).await?;
    Ok(point)
}

/// Every price entered for an item, oldest first.
pub async fn prices(store: &dyn Store, key: &AssetKey) -> super::Result<Vec<PricePoint>> {
    Ok(store.prices(key, EARLIEST_PRICE_DATE).await?)
}
