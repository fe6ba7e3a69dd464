//! Owners, assets and holdings, and the rules a holding's fields meet.

use rust_decimal::Decimal;
use serde::Deserialize;
use time::{Date, OffsetDateTime};

use super::amount::{self, AmountError};
use super::{AssetKind, DomainError, Problems, Symbol};

/// The owner of data. Until accounts exist every holding belongs to [`DEFAULT_OWNER`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OwnerId(pub i64);

/// The single owner created by the first migration.
pub const DEFAULT_OWNER: OwnerId = OwnerId(1);

/// Something that has a price: a listed security, a commodity, a coin or a personal item.
#[derive(Debug, Clone, PartialEq)]
pub struct Asset {
    pub id: i64,
    pub symbol: Symbol,
    pub kind: AssetKind,
    pub name: Option<String>,
    pub currency: String,
}

/// A position in a portfolio.
#[derive(Debug, Clone, PartialEq)]
pub struct Holding {
    pub id: i64,
    pub asset: Asset,
    pub quantity: Decimal,
    /// Average cost per unit, in the asset's currency.
    pub cost_basis: Option<Decimal>,
    pub notes: Option<String>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

/// Everything a holding is made of, as written by create and update.
#[derive(Debug, Clone, PartialEq)]
pub struct HoldingFields {
    pub symbol: Symbol,
    pub kind: AssetKind,
    /// Name to record on the asset; `None` keeps the recorded one.
    pub name: Option<String>,
    /// Currency to record on the asset; `None` keeps the recorded one (USD for a new asset).
    pub currency: Option<String>,
    pub quantity: Decimal,
    pub cost_basis: Option<Decimal>,
    pub notes: Option<String>,
    /// The day of a new holding's opening buy; `None`: the day it is added.
    pub opened: Option<Date>,
}

/// Names an asset: market assets by symbol and kind, items also by their owner.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AssetKey {
    pub symbol: Symbol,
    pub kind: AssetKind,
    pub owner: OwnerId,
}

impl AssetKey {
    /// The owner column's value: items belong to someone, market assets to no one.
    pub fn owner_id(&self) -> Option<i64> {
        (!self.kind.is_market_priced()).then_some(self.owner.0)
    }
}

/// A holding as typed into a form, before any checks.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct HoldingDraft {
    pub symbol: String,
    pub kind: String,
    pub quantity: String,
    pub cost_basis: String,
    pub notes: String,
    /// The day it was bought (`YYYY-MM-DD`); empty for the day it is added.
    pub date: String,
}

/// A holding whose every field passed its checks.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidHolding {
    pub symbol: Symbol,
    pub kind: AssetKind,
    pub quantity: Decimal,
    pub cost_basis: Option<Decimal>,
    pub notes: Option<String>,
    /// The day of a new holding's opening buy, when one was given.
    pub opened: Option<Date>,
}

/// A quantity held (read by the caller from text or JSON): more than zero, at most 10^12, at
/// most 8 places.
pub fn check_quantity(quantity: Result<Decimal, AmountError>) -> Result<Decimal, String> {
    quantity
        .and_then(amount::positive)
        .map_err(quantity_problem)
}

/// An average cost per unit (read by the caller): zero or more, at most 10^12, at most 8
/// places.
pub fn check_cost(cost: Result<Decimal, AmountError>) -> Result<Decimal, String> {
    cost.and_then(amount::not_negative).map_err(cost_problem)
}

fn quantity_problem(e: AmountError) -> String {
    e.describe("Quantity", "10 or 0.5")
}

fn cost_problem(e: AmountError) -> String {
    e.describe("Cost per unit", "150.25")
}

/// The kind typed into a form: stock when left empty.
pub fn kind_or_stock(text: &str) -> Result<AssetKind, super::UnknownKind> {
    if text.trim().is_empty() {
        Ok(AssetKind::Stock)
    } else {
        text.parse()
    }
}

impl HoldingDraft {
    /// Reads every field and reports every problem at once, in field order.
    pub fn validate(&self) -> Result<ValidHolding, DomainError> {
        self.validate_keeping(None, None)
    }

    /// As [`Self::validate`], for an edit of `existing`: a quantity or cost sent back as it is
    /// stands even beyond the limits new input keeps to (transactions can take a holding past
    /// them), so a notes-only edit of a large holding is never refused.
    pub fn validate_edit(&self, existing: &Holding) -> Result<ValidHolding, DomainError> {
        let same = |text: &str, now: Option<Decimal>| {
            now.filter(|now| amount::parse_decimal(text) == Some(*now))
        };
        self.validate_keeping(
            same(&self.quantity, Some(existing.quantity)),
            same(&self.cost_basis, existing.cost_basis),
        )
    }

    /// Reads every field; `quantity` and `cost_basis`, when given, are taken as they are.
    fn validate_keeping(
        &self,
        quantity: Option<Decimal>,
        cost_basis: Option<Decimal>,
    ) -> Result<ValidHolding, DomainError> {
        let mut p = Problems::default();
        let symbol = p.check("symbol", Symbol::parse(&self.symbol));
        let kind = p.check("kind", kind_or_stock(&self.kind));
        let kept_cost = cost_basis;
        let quantity = if let Some(kept) = quantity {
            Some(kept)
        } else if self.quantity.trim().is_empty() {
            p.push("quantity", "Quantity is required.");
            None
        } else {
            p.check(
                "quantity",
                amount::parse_positive(&self.quantity).map_err(quantity_problem),
            )
        };
        let cost_basis = if let Some(kept) = kept_cost {
            Some(Some(kept))
        } else if self.cost_basis.trim().is_empty() {
            Some(None)
        } else {
            p.check(
                "cost_basis",
                amount::parse_not_negative(&self.cost_basis)
                    .map_err(cost_problem)
                    .map(Some),
            )
        };
        let notes = p.check("notes", amount::parse_notes(&self.notes));
        // The form and the 1900 limit here; a day after today is refused by the use case.
        let opened = if self.date.trim().is_empty() {
            Some(None)
        } else {
            p.check("date", super::transaction::read_date(&self.date).map(Some))
        };
        let valid = match (symbol, kind, quantity, cost_basis, notes, opened) {
            (
                Some(symbol),
                Some(kind),
                Some(quantity),
                Some(cost_basis),
                Some(notes),
                Some(opened),
            ) => Some(ValidHolding {
                symbol,
                kind,
                quantity,
                cost_basis,
                notes,
                opened,
            }),
            _ => None,
        };
        p.finish(valid)
    }
}

/// What a person reads on adding an asset they already hold.
pub fn already_held(existing: &Holding) -> DomainError {
    DomainError::Conflict {
        message: format!(
            "You already hold {} ({}). Edit that holding instead.",
            existing.asset.symbol, existing.asset.kind
        ),
        existing_id: Some(existing.id),
    }
}

/// The 404 for a holding id that is not the owner's (whether or not it exists).
pub fn no_holding(id: i64) -> DomainError {
    DomainError::NotFound(format!("There is no holding {id}."))
}

/// What to do about a symbol no price service knows, when adding a holding.
pub const UNKNOWN_SYMBOL_ADVICE: &str =
    "Check the spelling, or choose the kind \"item\" to price it yourself.";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drafts_report_every_problem_at_once() {
        let draft = HoldingDraft {
            symbol: "".into(),
            kind: "bond".into(),
            quantity: "-1".into(),
            cost_basis: "abc".into(),
            notes: "x".repeat(1001),
            date: String::new(),
        };
        let Err(DomainError::Invalid(errors)) = draft.validate() else {
            panic!("accepted");
        };
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            ["symbol", "kind", "quantity", "cost_basis", "notes"]
        );
    }
}
