//! The frame every page shares (navbar, who is signed in, the form token), form problems,
//! the quote card, and the error page.

use askama::Template;
use askama_web::WebTemplate;
use rust_decimal::Decimal;

use crate::domain::{AssetKind, FieldError, HoldingDraft, Quote, SortDir};
use crate::web::format;
use crate::web::session::Authed;

/// What the frame of every page needs: the active tab, who is signed in, and the form token.
#[derive(Clone)]
pub struct Layout {
    pub nav: &'static str,
    pub user: Option<String>,
    pub csrf: String,
}

impl Layout {
    pub fn new(nav: &'static str, auth: &Authed) -> Self {
        Layout {
            nav,
            user: Some(auth.user.username.clone()),
            csrf: auth.csrf.clone(),
        }
    }

    /// For pages anyone may see.
    pub fn public(nav: &'static str, auth: Option<&Authed>) -> Self {
        match auth {
            Some(auth) => Layout::new(nav, auth),
            None => Layout {
                nav,
                user: None,
                csrf: String::new(),
            },
        }
    }
}

/// A sortable header's arrow and `aria-sort`, when it is the active sort (`active`) in `dir`.
pub fn sort_marks(active: bool, dir: SortDir) -> (&'static str, &'static str) {
    match (active, dir) {
        (false, _) => ("", "none"),
        (true, SortDir::Asc) => ("↑", "ascending"),
        (true, SortDir::Desc) => ("↓", "descending"),
    }
}

/// An option of the kind selector.
pub struct KindOption {
    pub value: &'static str,
    pub label: &'static str,
    pub selected: bool,
}

pub fn kind_options(selected: &str, include_items: bool) -> Vec<KindOption> {
    AssetKind::ALL
        .into_iter()
        .filter(|k| include_items || k.is_market_priced())
        .map(|k| KindOption {
            value: k.as_str(),
            label: k.label(),
            selected: k.as_str() == selected,
        })
        .collect()
}

/// Problems with a form's fields, for its template.
#[derive(Default)]
pub struct FormErrors(pub Vec<FieldError>);

impl FormErrors {
    /// The problem with one field, if any.
    pub fn error(&self, field: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|e| e.field == field)
            .map(|e| e.message.as_str())
    }

    /// Bootstrap's class for a field with a problem.
    pub fn invalid(&self, field: &str) -> &'static str {
        if self.error(field).is_some() {
            " is-invalid"
        } else {
            ""
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// What was typed into a form (a holding by default), with the problems found in it.
#[derive(Default)]
pub struct FormView<D = HoldingDraft> {
    pub draft: D,
    pub errors: FormErrors,
}

impl<D> FormView<D> {
    /// A form shown again with its problems.
    pub fn refused(draft: D, errors: Vec<FieldError>) -> Self {
        FormView {
            draft,
            errors: FormErrors(errors),
        }
    }

    pub fn error(&self, field: &str) -> Option<&str> {
        self.errors.error(field)
    }

    pub fn invalid(&self, field: &str) -> &'static str {
        self.errors.invalid(field)
    }
}

/// A quote, formatted for the card.
pub struct QuoteView {
    pub symbol: String,
    pub name: Option<String>,
    pub price: String,
    /// The price as a plain number (`1234.5`), the quick add's cost per unit to start with.
    pub plain_price: String,
    pub currency: String,
    pub change: Option<String>,
    pub change_percent: Option<String>,
    pub trend: &'static str,
    pub details: Vec<(&'static str, String)>,
    pub as_of: Option<String>,
    pub source: String,
    pub stale: bool,
    /// How long ago this server fetched it ("5 min ago").
    pub fetched: Option<String>,
}

impl QuoteView {
    pub fn new(q: &Quote) -> Self {
        let mut details = Vec::new();
        let mut add = |label, value: Option<String>| {
            if let Some(v) = value {
                details.push((label, v));
            }
        };
        add("Previous close", q.previous_close.map(format::price));
        add("Market cap", q.market_cap.map(format::compact));
        add("P/E ratio", q.pe_ratio.map(|p| format::fixed(p, 2)));
        add("YTD change", q.ytd_change.map(format::percent));
        add("52-week high", q.week52_high.map(format::price));
        add("52-week low", q.week52_low.map(format::price));
        let side = |price: Option<Decimal>, size: Option<Decimal>| {
            price.map(|p| match size {
                Some(s) => format!("{} × {}", format::price(p), format::quantity(s)),
                None => format::price(p),
            })
        };
        add("Bid", side(q.bid, q.bid_size));
        add("Ask", side(q.ask, q.ask_size));
        // London is quoted in pence: the service's own figure, beside the pounds everything
        // here counts in.
        add(
            "As quoted",
            q.as_quoted()
                .map(|(price, unit)| format!("{} {unit}", format::price(price))),
        );
        QuoteView {
            symbol: q.symbol.to_string(),
            name: q.name.clone(),
            price: format::price(q.price),
            plain_price: q.price.normalize().to_string(),
            currency: q.currency.clone().unwrap_or_default(),
            change: q.change.map(format::signed),
            change_percent: q.change_percent.map(format::percent),
            trend: format::trend_class(q.change.or(q.change_percent)),
            details,
            as_of: q.as_of.map(format::timestamp),
            source: q.source.clone(),
            stale: q.stale,
            fetched: q.fetched_at.map(format::age),
        }
    }
}

#[derive(Clone, Template, WebTemplate)]
#[template(path = "error.html")]
pub struct ErrorPage {
    pub layout: Layout,
    pub status: u16,
    pub title: String,
    pub message: String,
}
