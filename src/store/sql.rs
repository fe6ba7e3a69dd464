//! SQL both backends run as is (sqlx binds `$N` on SQLite too), and the row both read back.

use rust_decimal::Decimal;
use time::OffsetDateTime;

use super::{Asset, Holding, StoreError, StoreResult};
use crate::domain::Symbol;

macro_rules! select_holding {
    () => {
        "SELECT h.id, h.quantity, h.cost_basis, h.notes, h.created_at, h.updated_at, \
         a.id AS asset_id, a.symbol, a.kind, a.name, a.currency \
         FROM holdings h JOIN assets a ON a.id = h.asset_id "
    };
}

pub const LIST_HOLDINGS: &str = concat!(
    select_holding!(),
    "WHERE h.owner_id = $1 ORDER BY a.symbol, a.kind, h.id"
);
pub const GET_HOLDING: &str = concat!(select_holding!(), "WHERE h.owner_id = $1 AND h.id = $2");
pub const FIND_HOLDING: &str = concat!(
    select_holding!(),
    "WHERE h.owner_id = $1 AND a.symbol = $2 AND a.kind = $3"
);

/// Market assets are shared: one row per (kind, symbol). `$5` (the owner) is bound but unused.
/// A name or currency that is not known (NULL) keeps the recorded one; a new asset without a
/// known currency is taken to be in US dollars.
pub const UPSERT_MARKET_ASSET: &str = "INSERT INTO assets (owner_id, symbol, kind, name, currency) \
     VALUES (NULL, $1, $2, $3, COALESCE($4, 'USD')) \
     ON CONFLICT (kind, symbol) WHERE owner_id IS NULL \
     DO UPDATE SET name = COALESCE($3, assets.name), currency = COALESCE($4, assets.currency) \
     RETURNING id";

/// Items belong to their owner: one row per (owner, kind, symbol).
pub const UPSERT_OWNED_ASSET: &str = "INSERT INTO assets (owner_id, symbol, kind, name, currency) \
     VALUES ($5, $1, $2, $3, COALESCE($4, 'USD')) \
     ON CONFLICT (owner_id, kind, symbol) WHERE owner_id IS NOT NULL \
     DO UPDATE SET name = COALESCE($3, assets.name), currency = COALESCE($4, assets.currency) \
     RETURNING id";

pub const INSERT_HOLDING: &str = "INSERT INTO holdings \
     (owner_id, asset_id, quantity, cost_basis, notes, created_at, updated_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id";

pub const UPDATE_HOLDING: &str = "UPDATE holdings \
     SET asset_id = $1, quantity = $2, cost_basis = $3, notes = $4, updated_at = $5 \
     WHERE id = $6 AND owner_id = $7";

pub const DELETE_HOLDING: &str = "DELETE FROM holdings WHERE id = $1 AND owner_id = $2";

/// How a backend keeps a decimal: PostgreSQL as NUMERIC, SQLite as exact text.
pub trait StoredDecimal {
    fn into_decimal(self) -> StoreResult<Decimal>;
}

impl StoredDecimal for Decimal {
    fn into_decimal(self) -> StoreResult<Decimal> {
        Ok(self)
    }
}

impl StoredDecimal for String {
    fn into_decimal(self) -> StoreResult<Decimal> {
        self.parse()
            .map_err(|_| StoreError::Corrupt(format!("decimal {self:?}")))
    }
}

/// One holding joined with its asset, as either backend returns it.
#[derive(sqlx::FromRow)]
pub struct HoldingRow<D> {
    id: i64,
    quantity: D,
    cost_basis: Option<D>,
    notes: Option<String>,
    created_at: OffsetDateTime,
    updated_at: OffsetDateTime,
    asset_id: i64,
    symbol: String,
    kind: String,
    name: Option<String>,
    currency: String,
}

impl<D: StoredDecimal> HoldingRow<D> {
    pub fn into_holding(self) -> StoreResult<Holding> {
        Ok(Holding {
            id: self.id,
            asset: Asset {
                id: self.asset_id,
                symbol: Symbol::parse(&self.symbol)
                    .map_err(|_| StoreError::Corrupt(format!("symbol {:?}", self.symbol)))?,
                kind: self
                    .kind
                    .parse()
                    .map_err(|_| StoreError::Corrupt(format!("kind {:?}", self.kind)))?,
                name: self.name,
                currency: self.currency,
            },
            quantity: self.quantity.into_decimal()?,
            cost_basis: self
                .cost_basis
                .map(StoredDecimal::into_decimal)
                .transpose()?,
            notes: self.notes,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}
