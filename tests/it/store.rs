//! One story suite for the `Store` trait, run against SQLite and PostgreSQL alike.

use std::str::FromStr;
use std::sync::Arc;

use rust_decimal::Decimal;
use stock_ticker::domain::ledger::{TxAmounts, TxKind};
use stock_ticker::domain::{AssetKind, Symbol};
use stock_ticker::domain::{
    DEFAULT_OWNER, DomainError, HoldingFields, ImportTx, OwnerId, TxFields, WatchFields,
};
use stock_ticker::store::{Store, StoreError, batches_of};

use crate::helpers::TestDb;

fn fields(symbol: &str, kind: AssetKind, quantity: &str) -> HoldingFields {
    HoldingFields {
        symbol: Symbol::parse(symbol).unwrap(),
        kind,
        name: None,
        currency: None,
        quantity: Decimal::from_str(quantity).unwrap(),
        cost_basis: None,
        notes: None,
        opened: None,
    }
}

/// Runs each listed story once on SQLite and once on PostgreSQL.
macro_rules! on_both_backends {
    ($($story:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $story() {
                    let db = crate::helpers::TestDb::sqlite().await;
                    super::$story(db.store().await).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $story() {
                    let Some(db) = crate::helpers::TestDb::postgres(concat!("store::postgres::", stringify!($story))).await else { return };
                    super::$story(db.store().await).await;
                }
            )*
        }
    };
}

on_both_backends!(
    a_created_holding_reads_back_exactly,
    decimals_survive_a_round_trip_exactly,
    holding_the_same_asset_twice_is_a_conflict,
    the_same_symbol_may_be_held_as_different_kinds,
    update_replaces_fields_and_refuses_a_held_asset,
    delete_removes_only_the_named_holding,
    missing_ids_and_other_owners_see_nothing,
    migrating_twice_changes_nothing,
    quotes_and_daily_prices_round_trip,
    a_refresh_claim_is_taken_once,
    accounts_sessions_and_tokens_round_trip,
    transactions_derive_the_holding_and_refuse_overselling,
    an_import_is_all_or_nothing,
    the_base_currency_is_kept_per_owner,
    a_watchlist_is_ordered_private_and_free_of_duplicates,
    a_watchlist_stops_at_its_limit,
    items_cannot_be_watched,
    watched_assets_are_refreshed_like_held_ones,
    request_budgets_count_every_caller_per_minute_and_day,
    a_breaker_opens_after_failures_lets_one_trial_through_and_closes,
    an_upload_is_kept_between_steps_and_committed_once,
    an_uploads_rows_and_its_done_stage_are_written_together,
);

fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

fn tx(kind: TxKind, day: &str, quantity: Option<&str>, price: Option<&str>) -> TxFields {
    TxFields {
        amounts: TxAmounts {
            kind,
            day: time::Date::parse(
                day,
                time::macros::format_description!("[year]-[month]-[day]"),
            )
            .unwrap(),
            quantity: quantity.map(dec),
            price: price.map(dec),
            amount: None,
            ratio: None,
            fees: Decimal::ZERO,
            account: 0,
        },
        notes: None,
    }
}

async fn transactions_derive_the_holding_and_refuse_overselling(store: Arc<dyn Store>) {
    let mut f = fields("AAA", AssetKind::Stock, "10");
    f.cost_basis = Some(dec("100"));
    let h = store.create_holding(DEFAULT_OWNER, &f).await.unwrap();
    let opening = store.transactions(DEFAULT_OWNER, Some(h.id)).await.unwrap();
    assert_eq!(opening.len(), 1, "the simple form makes an opening buy");
    assert_eq!(opening[0].amounts.kind, TxKind::Buy);
    assert_eq!(opening[0].amounts.quantity, Some(dec("10")));
    assert_eq!(opening[0].amounts.price, Some(dec("100")));

    let mut second = tx(TxKind::Buy, "2024-03-02", Some("30"), Some("120"));
    second.amounts.fees = dec("2");
    let second = store
        .add_transaction(DEFAULT_OWNER, h.id, &second)
        .await
        .unwrap()
        .unwrap();
    let held = store
        .get_holding(DEFAULT_OWNER, h.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(held.quantity, dec("40"));
    // (10 × 100 + 30 × 120 + 2) / 40
    assert_eq!(held.cost_basis, Some(dec("115.05")));

    let oversell = tx(TxKind::Sell, "2030-01-01", Some("50"), Some("1"));
    let refused = store.add_transaction(DEFAULT_OWNER, h.id, &oversell).await;
    assert!(
        matches!(&refused, Err(StoreError::Rule(DomainError::Refused(why))) if why.contains("only 40 are held")),
        "{refused:?}"
    );
    assert_eq!(
        store
            .transactions(DEFAULT_OWNER, Some(h.id))
            .await
            .unwrap()
            .len(),
        2,
        "a refused transaction writes nothing"
    );
    let sell = store
        .add_transaction(
            DEFAULT_OWNER,
            h.id,
            &tx(TxKind::Sell, "2030-01-01", Some("15"), Some("140")),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        store
            .get_holding(DEFAULT_OWNER, h.id)
            .await
            .unwrap()
            .unwrap()
            .quantity,
        dec("25")
    );

    // Removing the second buy would leave the sell selling more than held.
    let refused = store.delete_transaction(DEFAULT_OWNER, second.id).await;
    assert!(
        matches!(refused, Err(StoreError::Rule(DomainError::Refused(_)))),
        "{refused:?}"
    );
    // Editing it smaller is fine as long as the sell stays covered.
    let smaller = tx(TxKind::Buy, "2024-03-02", Some("5"), Some("120"));
    let edited = store
        .update_transaction(DEFAULT_OWNER, second.id, &smaller)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(edited.amounts.quantity, Some(dec("5")));
    assert_eq!(
        store
            .get_holding(DEFAULT_OWNER, h.id)
            .await
            .unwrap()
            .unwrap()
            .quantity,
        dec("0"),
        "10 + 5 − 15"
    );

    // Another owner sees and changes nothing.
    let other = OwnerId(999);
    assert!(
        store
            .get_transaction(other, sell.id)
            .await
            .unwrap()
            .is_none()
    );
    assert!(store.transactions(other, None).await.unwrap().is_empty());
    assert!(
        store
            .update_transaction(other, sell.id, &smaller)
            .await
            .unwrap()
            .is_none()
    );
    assert!(!store.delete_transaction(other, sell.id).await.unwrap());
    assert!(
        store
            .add_transaction(other, h.id, &smaller)
            .await
            .unwrap()
            .is_none()
    );

    // The quantity now comes from three transactions: it cannot be set by hand.
    let by_hand = store
        .update_holding(DEFAULT_OWNER, h.id, &fields("AAA", AssetKind::Stock, "7"))
        .await;
    assert!(
        matches!(&by_hand, Err(StoreError::Rule(DomainError::Refused(why))) if why.contains("3 transactions")),
        "{by_hand:?}"
    );
    // Deleting the holding takes its transactions along.
    assert!(store.delete_holding(DEFAULT_OWNER, h.id).await.unwrap());
    assert!(
        store
            .transactions(DEFAULT_OWNER, None)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn an_import_is_all_or_nothing(store: Arc<dyn Store>) {
    let row = |symbol: &str, t: TxFields| ImportTx {
        symbol: Symbol::parse(symbol).unwrap(),
        kind: AssetKind::Stock,
        name: None,
        currency: None,
        fields: t,
    };
    let good = vec![
        row("AAA", tx(TxKind::Buy, "2024-01-02", Some("10"), Some("5"))),
        row("BBB", tx(TxKind::Buy, "2024-01-02", Some("5"), Some("2"))),
        row("AAA", tx(TxKind::Sell, "2024-02-01", Some("3"), Some("6"))),
    ];
    let seen = std::sync::Mutex::new(Vec::new());
    let written = store
        .import_transactions(DEFAULT_OWNER, &mut batches_of(good), &|n| {
            seen.lock().unwrap().push(n)
        })
        .await
        .unwrap();
    assert_eq!(written, 3);
    assert_eq!(seen.lock().unwrap().last(), Some(&3));
    let holdings = store.list_holdings(DEFAULT_OWNER).await.unwrap();
    let qty: Vec<(String, Decimal)> = holdings
        .iter()
        .map(|h| (h.asset.symbol.to_string(), h.quantity))
        .collect();
    assert_eq!(qty, [("AAA".into(), dec("7")), ("BBB".into(), dec("5"))]);
    assert_eq!(holdings[0].cost_basis, Some(dec("5")));

    // One bad row (selling what was never bought) and nothing of the file is written.
    let bad = vec![
        row("CCC", tx(TxKind::Buy, "2024-01-02", Some("1"), Some("1"))),
        row(
            "AAA",
            tx(TxKind::Sell, "2024-03-01", Some("100"), Some("6")),
        ),
    ];
    let refused = store
        .import_transactions(DEFAULT_OWNER, &mut batches_of(bad), &|_| {})
        .await;
    assert!(
        matches!(refused, Err(StoreError::Rule(DomainError::Refused(_)))),
        "{refused:?}"
    );
    assert_eq!(store.list_holdings(DEFAULT_OWNER).await.unwrap().len(), 2);
    assert_eq!(
        store.transactions(DEFAULT_OWNER, None).await.unwrap().len(),
        3
    );

    // Rows whose reader stopped before their end (no empty batch came) are not a whole file.
    let (send, mut cut) = tokio::sync::mpsc::channel(2);
    let first = row("DDD", tx(TxKind::Buy, "2024-01-02", Some("1"), Some("1")));
    send.send(Ok(vec![first.into()])).await.unwrap();
    drop(send);
    let stopped = store
        .import_transactions(DEFAULT_OWNER, &mut cut, &|_| {})
        .await;
    assert!(
        matches!(stopped, Err(StoreError::Corrupt(_))),
        "{stopped:?}"
    );
    assert_eq!(
        store.transactions(DEFAULT_OWNER, None).await.unwrap().len(),
        3,
        "nothing of it was written"
    );
}

async fn the_base_currency_is_kept_per_owner(store: Arc<dyn Store>) {
    assert_eq!(store.base_currency(DEFAULT_OWNER).await.unwrap(), "USD");
    store.set_base_currency(DEFAULT_OWNER, "EUR").await.unwrap();
    assert_eq!(store.base_currency(DEFAULT_OWNER).await.unwrap(), "EUR");
}

async fn a_created_holding_reads_back_exactly(store: Arc<dyn Store>) {
    let mut f = fields("AAPL", AssetKind::Stock, "10.5");
    f.name = Some("Apple Inc.".into());
    f.currency = Some("USD".into());
    f.cost_basis = Some(Decimal::from_str("150.25").unwrap());
    f.notes = Some("long term".into());

    let created = store.create_holding(DEFAULT_OWNER, &f).await.unwrap();

    assert_eq!(created.asset.symbol.as_str(), "AAPL");
    assert_eq!(created.asset.kind, AssetKind::Stock);
    assert_eq!(created.asset.name.as_deref(), Some("Apple Inc."));
    assert_eq!(created.asset.currency, "USD");
    assert_eq!(created.quantity.to_string(), "10.5");
    assert_eq!(created.cost_basis.unwrap().to_string(), "150.25");
    assert_eq!(created.notes.as_deref(), Some("long term"));
    let read = store
        .get_holding(DEFAULT_OWNER, created.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read.id, created.id);
    assert_eq!(read.quantity, created.quantity);
    let found = store
        .find_holding(DEFAULT_OWNER, &f.symbol, AssetKind::Stock)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.id, created.id);
    assert_eq!(store.list_holdings(DEFAULT_OWNER).await.unwrap().len(), 1);
}

async fn decimals_survive_a_round_trip_exactly(store: Arc<dyn Store>) {
    let values = ["0.00000001", "1000000000000", "123.45678901", "0.1", "7"];
    for (i, v) in values.iter().enumerate() {
        let mut f = fields(&format!("SYM{i}"), AssetKind::Stock, v);
        f.cost_basis = Some(Decimal::from_str(v).unwrap());
        store.create_holding(DEFAULT_OWNER, &f).await.unwrap();
    }
    let listed = store.list_holdings(DEFAULT_OWNER).await.unwrap();
    let quantities: Vec<String> = listed
        .iter()
        .map(|h| h.quantity.normalize().to_string())
        .collect();
    let costs: Vec<String> = listed
        .iter()
        .map(|h| h.cost_basis.unwrap().normalize().to_string())
        .collect();
    assert_eq!(quantities, values);
    assert_eq!(costs, values);
}

async fn holding_the_same_asset_twice_is_a_conflict(store: Arc<dyn Store>) {
    store
        .create_holding(DEFAULT_OWNER, &fields("MSFT", AssetKind::Stock, "1"))
        .await
        .unwrap();

    let again = store
        .create_holding(DEFAULT_OWNER, &fields("MSFT", AssetKind::Stock, "2"))
        .await;

    assert!(matches!(again, Err(StoreError::Conflict)), "{again:?}");
    let listed = store.list_holdings(DEFAULT_OWNER).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].quantity, Decimal::ONE);
}

async fn the_same_symbol_may_be_held_as_different_kinds(store: Arc<dyn Store>) {
    // GOLD is both a stock ticker and what people call the metal.
    store
        .create_holding(DEFAULT_OWNER, &fields("GOLD", AssetKind::Stock, "1"))
        .await
        .unwrap();
    store
        .create_holding(DEFAULT_OWNER, &fields("GOLD", AssetKind::Commodity, "2"))
        .await
        .unwrap();
    store
        .create_holding(DEFAULT_OWNER, &fields("GOLD", AssetKind::Item, "3"))
        .await
        .unwrap();

    let kinds: Vec<AssetKind> = store
        .list_holdings(DEFAULT_OWNER)
        .await
        .unwrap()
        .iter()
        .map(|h| h.asset.kind)
        .collect();
    assert_eq!(kinds.len(), 3);
    assert!(kinds.contains(&AssetKind::Item));
}

async fn update_replaces_fields_and_refuses_a_held_asset(store: Arc<dyn Store>) {
    let a = store
        .create_holding(DEFAULT_OWNER, &fields("AAA", AssetKind::Stock, "1"))
        .await
        .unwrap();
    store
        .create_holding(DEFAULT_OWNER, &fields("BBB", AssetKind::Stock, "2"))
        .await
        .unwrap();

    let mut change = fields("AAA", AssetKind::Stock, "42.125");
    change.notes = Some("topped up".into());
    let updated = store
        .update_holding(DEFAULT_OWNER, a.id, &change)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(updated.quantity.to_string(), "42.125");
    assert_eq!(updated.notes.as_deref(), Some("topped up"));
    assert!(updated.updated_at >= a.updated_at);

    let clash = store
        .update_holding(DEFAULT_OWNER, a.id, &fields("BBB", AssetKind::Stock, "9"))
        .await;
    assert!(matches!(clash, Err(StoreError::Conflict)), "{clash:?}");
    let after = store
        .get_holding(DEFAULT_OWNER, a.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(after.asset.symbol.as_str(), "AAA");
    assert_eq!(after.quantity.to_string(), "42.125");

    let moved = store
        .update_holding(DEFAULT_OWNER, a.id, &fields("CCC", AssetKind::Etf, "3"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(moved.asset.symbol.as_str(), "CCC");
    assert_eq!(moved.asset.kind, AssetKind::Etf);
}

async fn delete_removes_only_the_named_holding(store: Arc<dyn Store>) {
    let a = store
        .create_holding(DEFAULT_OWNER, &fields("AAA", AssetKind::Stock, "1"))
        .await
        .unwrap();
    let b = store
        .create_holding(DEFAULT_OWNER, &fields("BBB", AssetKind::Stock, "1"))
        .await
        .unwrap();

    assert!(store.delete_holding(DEFAULT_OWNER, a.id).await.unwrap());
    assert!(!store.delete_holding(DEFAULT_OWNER, a.id).await.unwrap());

    let left: Vec<i64> = store
        .list_holdings(DEFAULT_OWNER)
        .await
        .unwrap()
        .iter()
        .map(|h| h.id)
        .collect();
    assert_eq!(left, [b.id]);
    // A deleted id is never handed out again.
    let c = store
        .create_holding(DEFAULT_OWNER, &fields("AAA", AssetKind::Stock, "1"))
        .await
        .unwrap();
    assert!(c.id > b.id);
}

async fn missing_ids_and_other_owners_see_nothing(store: Arc<dyn Store>) {
    let a = store
        .create_holding(DEFAULT_OWNER, &fields("AAA", AssetKind::Stock, "1"))
        .await
        .unwrap();
    let stranger = OwnerId(999);

    assert!(
        store
            .get_holding(DEFAULT_OWNER, a.id + 1000)
            .await
            .unwrap()
            .is_none()
    );
    assert!(store.get_holding(stranger, a.id).await.unwrap().is_none());
    assert!(store.list_holdings(stranger).await.unwrap().is_empty());
    assert!(!store.delete_holding(stranger, a.id).await.unwrap());
    assert!(
        store
            .update_holding(stranger, a.id, &fields("AAA", AssetKind::Stock, "5"))
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        store
            .get_holding(DEFAULT_OWNER, a.id)
            .await
            .unwrap()
            .unwrap()
            .quantity,
        Decimal::ONE
    );
}

async fn migrating_twice_changes_nothing(store: Arc<dyn Store>) {
    store
        .create_holding(DEFAULT_OWNER, &fields("AAA", AssetKind::Stock, "1"))
        .await
        .unwrap();
    store.migrate().await.unwrap();
    store.ping().await.unwrap();
    assert_eq!(store.list_holdings(DEFAULT_OWNER).await.unwrap().len(), 1);
}

#[tokio::test]
async fn an_unknown_database_scheme_is_a_clear_error() {
    let err = stock_ticker::store::connect("mysql://localhost/x", 1)
        .await
        .err()
        .expect("refused");
    assert!(err.to_string().contains("sqlite: or postgres:"), "{err}");
}

#[tokio::test]
async fn postgres_migrations_can_run_from_several_tasks_at_once() {
    let Some(db) =
        TestDb::postgres("store::postgres_migrations_can_run_from_several_tasks_at_once").await
    else {
        return;
    };
    let stores =
        futures::future::join_all((0..4).map(|_| stock_ticker::store::connect(&db.url, 2))).await;
    let runs = stores
        .into_iter()
        .map(|s| async move { s.unwrap().migrate().await });
    for result in futures::future::join_all(runs).await {
        result.expect("every concurrent migration succeeds");
    }
}

fn sample_quote(symbol: &str, price: &str) -> stock_ticker::domain::Quote {
    let mut q = stock_ticker::domain::Quote::new(
        Symbol::parse(symbol).unwrap(),
        Decimal::from_str(price).unwrap(),
        "yahoo",
    );
    q.name = Some("Sample".into());
    q.currency = Some("EUR".into());
    q.as_of = Some(time::macros::datetime!(2024-06-03 15:30 UTC));
    q
}

async fn quotes_and_daily_prices_round_trip(store: Arc<dyn Store>) {
    use stock_ticker::domain::AssetKey;
    use stock_ticker::domain::PricePoint;
    let symbol = Symbol::parse("SAP").unwrap();
    assert!(
        store
            .latest_quote(&symbol, AssetKind::Stock)
            .await
            .unwrap()
            .is_none()
    );

    let fetched_at = time::macros::datetime!(2024-06-03 16:00 UTC);
    store
        .save_quote(
            AssetKind::Stock,
            &sample_quote("SAP", "180.12345678"),
            fetched_at,
        )
        .await
        .unwrap();
    store
        .save_quote(AssetKind::Stock, &sample_quote("SAP", "181.5"), fetched_at)
        .await
        .unwrap();

    let stored = store
        .latest_quote(&symbol, AssetKind::Stock)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.quote.price.to_string(), "181.5");
    assert_eq!(stored.quote.currency.as_deref(), Some("EUR"));
    assert_eq!(stored.fetched_at, fetched_at);
    assert!(
        store
            .latest_quote(&symbol, AssetKind::Etf)
            .await
            .unwrap()
            .is_none(),
        "kinds are apart"
    );

    let key = AssetKey {
        symbol: symbol.clone(),
        kind: AssetKind::Stock,
        owner: DEFAULT_OWNER,
    };
    let day = |d| time::Date::from_calendar_date(2024, time::Month::June, d).unwrap();
    let history = [
        PricePoint {
            date: day(1),
            close: Decimal::from(170),
        },
        PricePoint {
            date: day(2),
            close: Decimal::from(175),
        },
    ];
    store.save_prices(&key, &history, "yahoo").await.unwrap();
    let prices = store.prices(&key, day(1)).await.unwrap();
    let closes: Vec<String> = prices
        .iter()
        .map(|p| format!("{} {}", p.date, p.close.normalize()))
        .collect();
    assert_eq!(
        closes,
        ["2024-06-01 170", "2024-06-02 175", "2024-06-03 181.5"],
        "one per day, oldest first"
    );

    let item = AssetKey {
        symbol: Symbol::parse("WATCH").unwrap(),
        kind: AssetKind::Item,
        owner: DEFAULT_OWNER,
    };
    store
        .save_prices(
            &item,
            &[PricePoint {
                date: day(1),
                close: Decimal::from(9000),
            }],
            "manual",
        )
        .await
        .unwrap();
    let stranger = AssetKey {
        owner: OwnerId(999),
        ..item.clone()
    };
    assert_eq!(store.prices(&item, day(1)).await.unwrap().len(), 1);
    assert!(
        store.prices(&stranger, day(1)).await.unwrap().is_empty(),
        "items are their owner's"
    );
}

async fn a_refresh_claim_is_taken_once(store: Arc<dyn Store>) {
    store
        .create_holding(DEFAULT_OWNER, &fields("AAA", AssetKind::Stock, "1"))
        .await
        .unwrap();
    store
        .create_holding(DEFAULT_OWNER, &fields("WATCH", AssetKind::Item, "1"))
        .await
        .unwrap();
    let now = time::OffsetDateTime::now_utc();
    let until = now + time::Duration::seconds(60);

    let first = store.claim_for_refresh(now, until, 10).await.unwrap();
    let second = store.claim_for_refresh(now, until, 10).await.unwrap();

    let symbols: Vec<&str> = first.iter().map(|(s, _)| s.as_str()).collect();
    assert_eq!(symbols, ["AAA"], "held market assets only");
    assert!(second.is_empty(), "claimed already");
}

async fn accounts_sessions_and_tokens_round_trip(store: Arc<dyn Store>) {
    use stock_ticker::domain::NewSession;
    assert!(store.needs_setup().await.unwrap());
    let admin = store.setup_admin("alice", "hash-a").await.unwrap();
    assert_eq!(
        (admin.id, admin.is_admin, admin.username.as_str()),
        (1, true, "alice")
    );
    assert!(!store.needs_setup().await.unwrap());
    assert!(matches!(
        store.setup_admin("mallory", "hash-m").await,
        Err(StoreError::Conflict)
    ));
    let bob = store.create_user("bob", "hash-b", false).await.unwrap();
    assert!(matches!(
        store.create_user("bob", "hash-x", false).await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(store.users().await.unwrap().len(), 2);

    let now = time::OffsetDateTime::now_utc();
    let session = NewSession {
        id_hash: "h1".into(),
        user: bob.owner(),
        csrf_token: "c1".into(),
        created_at: now,
        expires_at: now + time::Duration::hours(1),
    };
    store.create_session(&session).await.unwrap();
    let found = store.session("h1", now).await.unwrap().unwrap();
    assert_eq!(
        (found.user.username.as_str(), found.csrf_token.as_str()),
        ("bob", "c1")
    );
    // The holdings table's columns are read with the session: none chosen, then the ones
    // chosen, then none again.
    assert_eq!(found.table_columns, None);
    store
        .set_table_columns(bob.owner(), Some("quantity,notes"))
        .await
        .unwrap();
    let found = store.session("h1", now).await.unwrap().unwrap();
    assert_eq!(found.table_columns.as_deref(), Some("quantity,notes"));
    store.set_table_columns(bob.owner(), None).await.unwrap();
    let found = store.session("h1", now).await.unwrap().unwrap();
    assert_eq!(found.table_columns, None);
    assert!(
        store
            .session("h1", now + time::Duration::hours(2))
            .await
            .unwrap()
            .is_none(),
        "expired"
    );
    store
        .touch_session("h1", now, now + time::Duration::hours(3))
        .await
        .unwrap();
    assert!(
        store
            .session("h1", now + time::Duration::hours(2))
            .await
            .unwrap()
            .is_some(),
        "extended"
    );

    let token = store
        .create_token(bob.owner(), "script", "st_abcdefgh", "th1")
        .await
        .unwrap();
    assert_eq!(
        store.user_by_token("th1", now).await.unwrap().unwrap().id,
        bob.id
    );
    assert!(
        store.tokens(bob.owner()).await.unwrap()[0]
            .last_used_at
            .is_some()
    );
    assert!(
        !store.revoke_token(admin.owner(), token.id).await.unwrap(),
        "not alice's"
    );
    assert!(store.revoke_token(bob.owner(), token.id).await.unwrap());
    assert!(store.user_by_token("th1", now).await.unwrap().is_none());

    assert!(store.set_password(bob.owner(), "hash-b2").await.unwrap());
    assert!(
        store.session("h1", now).await.unwrap().is_none(),
        "a new password ends sessions"
    );
    assert_eq!(
        store
            .user_by_name("bob")
            .await
            .unwrap()
            .unwrap()
            .password_hash
            .as_deref(),
        Some("hash-b2")
    );
}

fn watch(symbol: &str, kind: AssetKind) -> WatchFields {
    WatchFields {
        symbol: Symbol::parse(symbol).unwrap(),
        kind,
        name: None,
        currency: None,
    }
}

fn watched_symbols(list: &[stock_ticker::domain::WatchEntry]) -> Vec<String> {
    list.iter()
        .map(|w| format!("{} {}", w.asset.symbol, w.asset.kind))
        .collect()
}

async fn a_watchlist_is_ordered_private_and_free_of_duplicates(store: Arc<dyn Store>) {
    let mut msft = watch("MSFT", AssetKind::Stock);
    msft.name = Some("Microsoft Corporation".into());
    msft.currency = Some("USD".into());
    let first = store
        .add_to_watchlist(DEFAULT_OWNER, &msft, 50)
        .await
        .unwrap();
    assert_eq!(first.asset.symbol.as_str(), "MSFT");
    assert_eq!(first.asset.name.as_deref(), Some("Microsoft Corporation"));
    for (symbol, kind) in [
        ("AAPL", AssetKind::Stock),
        ("GOLD", AssetKind::Stock),
        ("GOLD", AssetKind::Commodity),
        ("BTC", AssetKind::Crypto),
    ] {
        store
            .add_to_watchlist(DEFAULT_OWNER, &watch(symbol, kind), 50)
            .await
            .unwrap();
    }

    let again = store
        .add_to_watchlist(DEFAULT_OWNER, &watch("MSFT", AssetKind::Stock), 50)
        .await;
    assert!(matches!(again, Err(StoreError::Conflict)), "{again:?}");
    let mine = store.watchlist(DEFAULT_OWNER).await.unwrap();
    assert_eq!(
        watched_symbols(&mine),
        [
            "AAPL stock",
            "BTC crypto",
            "GOLD commodity",
            "GOLD stock",
            "MSFT stock"
        ],
        "by symbol, then kind; the duplicate was not added"
    );
    assert_eq!(
        mine[4].asset.name.as_deref(),
        Some("Microsoft Corporation"),
        "the name recorded once stays"
    );
    assert!(
        store.list_holdings(DEFAULT_OWNER).await.unwrap().is_empty(),
        "watching is not holding"
    );

    // Another account sees none of it, cannot remove it, and watches the same asset row.
    let bob = store.create_user("bob", "hash-b", false).await.unwrap();
    assert!(store.watchlist(bob.owner()).await.unwrap().is_empty());
    assert!(
        !store
            .remove_from_watchlist(bob.owner(), first.id)
            .await
            .unwrap()
    );
    assert_eq!(store.watchlist(DEFAULT_OWNER).await.unwrap().len(), 5);
    let bobs = store
        .add_to_watchlist(bob.owner(), &watch("MSFT", AssetKind::Stock), 50)
        .await
        .unwrap();
    assert_eq!(bobs.asset.id, first.asset.id, "market assets are shared");
    assert_ne!(bobs.id, first.id);

    assert!(
        store
            .remove_from_watchlist(DEFAULT_OWNER, first.id)
            .await
            .unwrap()
    );
    assert!(
        !store
            .remove_from_watchlist(DEFAULT_OWNER, first.id)
            .await
            .unwrap(),
        "gone already"
    );
    assert_eq!(store.watchlist(DEFAULT_OWNER).await.unwrap().len(), 4);
    assert_eq!(
        watched_symbols(&store.watchlist(bob.owner()).await.unwrap()),
        ["MSFT stock"],
        "bob's entry stays"
    );
}

async fn a_watchlist_stops_at_its_limit(store: Arc<dyn Store>) {
    for symbol in ["AAA", "BBB", "CCC"] {
        store
            .add_to_watchlist(DEFAULT_OWNER, &watch(symbol, AssetKind::Stock), 3)
            .await
            .unwrap();
    }

    let full = store
        .add_to_watchlist(DEFAULT_OWNER, &watch("DDD", AssetKind::Stock), 3)
        .await;
    assert!(matches!(full, Err(StoreError::LimitReached)), "{full:?}");
    let duplicate = store
        .add_to_watchlist(DEFAULT_OWNER, &watch("AAA", AssetKind::Stock), 3)
        .await;
    assert!(
        matches!(duplicate, Err(StoreError::Conflict)),
        "a duplicate says so even when full: {duplicate:?}"
    );
    assert_eq!(store.watchlist(DEFAULT_OWNER).await.unwrap().len(), 3);

    let first = store.watchlist(DEFAULT_OWNER).await.unwrap()[0].id;
    store
        .remove_from_watchlist(DEFAULT_OWNER, first)
        .await
        .unwrap();
    store
        .add_to_watchlist(DEFAULT_OWNER, &watch("DDD", AssetKind::Stock), 3)
        .await
        .expect("room again after a removal");

    // Additions racing for the last places never pass the limit (every pooled connection is
    // opened first, so they really run at once).
    let store = &store;
    futures::future::join_all((0..5).map(|_| store.ping())).await;
    let racing = (0..12).map(|i| async move {
        store
            .add_to_watchlist(DEFAULT_OWNER, &watch(&format!("R{i}"), AssetKind::Etf), 5)
            .await
    });
    let results = futures::future::join_all(racing).await;
    let added = results.iter().filter(|r| r.is_ok()).count();
    assert!(
        results
            .iter()
            .all(|r| matches!(r, Ok(_) | Err(StoreError::LimitReached))),
        "{results:?}"
    );
    assert_eq!(added, 2);
    assert_eq!(store.watchlist(DEFAULT_OWNER).await.unwrap().len(), 5);
}

async fn items_cannot_be_watched(store: Arc<dyn Store>) {
    let item = store
        .add_to_watchlist(DEFAULT_OWNER, &watch("WATCH", AssetKind::Item), 50)
        .await;
    assert!(matches!(item, Err(StoreError::Unsupported(_))), "{item:?}");
    assert!(store.watchlist(DEFAULT_OWNER).await.unwrap().is_empty());
}

async fn watched_assets_are_refreshed_like_held_ones(store: Arc<dyn Store>) {
    store
        .add_to_watchlist(DEFAULT_OWNER, &watch("WWW", AssetKind::Etf), 50)
        .await
        .unwrap();
    let now = time::OffsetDateTime::now_utc();
    let until = now + time::Duration::seconds(60);

    let claimed = store.claim_for_refresh(now, until, 10).await.unwrap();

    assert_eq!(claimed, [(Symbol::parse("WWW").unwrap(), AssetKind::Etf)]);
}

/// 10:00:30 on a day, UTC.
fn at(day: u8, hour: u8, minute: u8, second: u8) -> time::OffsetDateTime {
    time::Date::from_calendar_date(2026, time::Month::November, day)
        .unwrap()
        .with_hms(hour, minute, second)
        .unwrap()
        .assume_utc()
}

async fn request_budgets_count_every_caller_per_minute_and_day(store: Arc<dyn Store>) {
    use stock_ticker::store::Budget;
    let (minute, day) = (Some(3), Some(5));
    // Two callers (as two instances would be) share one count.
    let other = store.clone();
    let t = at(20, 10, 0, 5);

    assert_eq!(
        store.take_budget("p", 2, minute, day, t).await.unwrap(),
        Budget::Taken
    );
    assert_eq!(
        other.take_budget("p", 1, minute, day, t).await.unwrap(),
        Budget::Taken
    );
    let over = store
        .take_budget("p", 1, minute, day, at(20, 10, 0, 59))
        .await
        .unwrap();

    assert_eq!(over, Budget::MinuteUsedUp, "three in the minute already");
    assert_eq!(
        store.requests_today("p", t).await.unwrap(),
        3,
        "the refusal counts nothing"
    );
    // Early in the next minute most of the last one still counts (a sliding window): at
    // 10:01:20, two thirds of its three.
    assert_eq!(
        store
            .take_budget("p", 2, minute, day, at(20, 10, 1, 20))
            .await
            .unwrap(),
        Budget::MinuteUsedUp
    );
    assert_eq!(
        store
            .take_budget("p", 1, minute, day, at(20, 10, 1, 20))
            .await
            .unwrap(),
        Budget::Taken
    );
    // A minute later the earlier one has passed: room again, until the day's five are used.
    let next = at(20, 10, 3, 0);
    assert_eq!(
        store.take_budget("p", 1, minute, day, next).await.unwrap(),
        Budget::Taken
    );
    let day_over = store.take_budget("p", 1, minute, day, next).await.unwrap();
    assert_eq!(day_over, Budget::DayUsedUp);
    assert_eq!(
        store.take_budget("p", 1, minute, day, next).await.unwrap(),
        Budget::DayUsedUp,
        "a refused day takes back the minute's count too"
    );
    assert_eq!(store.requests_today("p", next).await.unwrap(), 5);
    // A new UTC day, another provider, and no limits at all are counted apart.
    let tomorrow = at(21, 0, 0, 1);
    assert_eq!(
        store
            .take_budget("p", 1, minute, day, tomorrow)
            .await
            .unwrap(),
        Budget::Taken
    );
    assert_eq!(
        store.take_budget("q", 3, minute, day, next).await.unwrap(),
        Budget::Taken
    );
    for _ in 0..10 {
        assert_eq!(
            store.take_budget("r", 1, None, None, next).await.unwrap(),
            Budget::Taken
        );
    }
    assert_eq!(store.requests_today("r", next).await.unwrap(), 10);
    // A single request larger than the minute's budget never fits.
    assert_eq!(
        store.take_budget("s", 4, minute, day, next).await.unwrap(),
        Budget::MinuteUsedUp
    );
    assert_eq!(store.requests_today("s", next).await.unwrap(), 0);
}

async fn a_breaker_opens_after_failures_lets_one_trial_through_and_closes(store: Arc<dyn Store>) {
    let cool_down = time::Duration::seconds(60);
    let t = at(20, 10, 0, 0);
    assert_eq!(
        store.breaker("p").await.unwrap(),
        None,
        "no outcome recorded yet"
    );

    let unknown = store
        .breaker_failed("p", t, "unknown symbol", false, 2, cool_down)
        .await
        .unwrap();
    assert_eq!(
        (unknown.failures, unknown.open_until),
        (0, None),
        "an unknown symbol is no failure"
    );
    let first = store
        .breaker_failed("p", t, "HTTP 500", true, 2, cool_down)
        .await
        .unwrap();
    assert_eq!((first.failures, first.open_until), (1, None));
    let second = store
        .breaker_failed("p", t, "HTTP 500", true, 2, cool_down)
        .await
        .unwrap();

    assert_eq!(
        second.open_until,
        Some(t + cool_down),
        "opens at the threshold"
    );
    assert_eq!(second.last_error.as_deref(), Some("HTTP 500"));
    assert!(
        !store.claim_trial("p", t, cool_down).await.unwrap(),
        "paused"
    );
    let later = t + cool_down + time::Duration::milliseconds(1500);
    assert!(
        store.claim_trial("p", later, cool_down).await.unwrap(),
        "one trial after the pause"
    );
    assert!(
        !store.claim_trial("p", later, cool_down).await.unwrap(),
        "and only one"
    );
    // A trial that was never sent (no budget left) is given back for another request.
    store.release_trial("p", later).await.unwrap();
    assert!(
        store.claim_trial("p", later, cool_down).await.unwrap(),
        "given back"
    );
    let failed_trial = store
        .breaker_failed("p", later, "timed out", true, 2, cool_down)
        .await
        .unwrap();
    assert_eq!(
        failed_trial.open_until,
        Some(later + cool_down),
        "a failed trial pauses again"
    );
    assert_eq!(failed_trial.trial_started, None);

    let much_later = later + cool_down * 2;
    assert!(store.claim_trial("p", much_later, cool_down).await.unwrap());
    store.breaker_succeeded("p", much_later).await.unwrap();
    let closed = store.breaker("p").await.unwrap().unwrap();
    assert_eq!(
        (closed.failures, closed.open_until, closed.trial_started),
        (0, None, None)
    );
    assert_eq!(closed.last_success, Some(much_later));
}

fn new_upload(id: &str, owner: OwnerId) -> stock_ticker::domain::csv::NewUpload {
    stock_ticker::domain::csv::NewUpload {
        id: id.into(),
        owner,
        file_name: "trades.csv".into(),
        content: b"date,type,symbol\n2024-01-02,buy,AAPL\n".to_vec(),
        headers: vec!["date".into(), "type".into(), "symbol".into()],
    }
}

async fn an_upload_is_kept_between_steps_and_committed_once(store: Arc<dyn Store>) {
    use stock_ticker::domain::csv::Stage;
    let alice = DEFAULT_OWNER;
    let bob = store
        .create_user("bob", "hash", false)
        .await
        .unwrap()
        .owner();
    let now = time::OffsetDateTime::now_utc();
    let hour_ago = now - time::Duration::hours(1);
    store
        .create_upload(&new_upload("abc123", alice), now, 5)
        .await
        .unwrap();

    let upload = store
        .upload(alice, "abc123", hour_ago, now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(upload.file_name, "trades.csv");
    assert_eq!(upload.headers, ["date", "type", "symbol"]);
    assert_eq!(upload.stage, Stage::Uploaded);
    assert_eq!(
        store
            .upload_content(alice, "abc123")
            .await
            .unwrap()
            .as_deref(),
        Some(&b"date,type,symbol\n2024-01-02,buy,AAPL\n"[..])
    );
    assert_eq!(
        store.upload(bob, "abc123", hour_ago, now).await.unwrap(),
        None,
        "not bob's"
    );
    assert_eq!(store.upload_content(bob, "abc123").await.unwrap(), None);
    assert_eq!(
        store
            .upload(alice, "abc123", now + time::Duration::seconds(1), now)
            .await
            .unwrap(),
        None,
        "an upload not used since then is gone"
    );

    // One commit moves it on; a second (another instance, a double click) finds it moved.
    let (uploaded, checking, writing) = (Stage::Uploaded, Stage::Checking, Stage::Writing);
    assert!(
        store
            .move_upload(alice, "abc123", &uploaded, &checking, (0, 0), now)
            .await
            .unwrap()
    );
    assert!(
        !store
            .move_upload(alice, "abc123", &uploaded, &checking, (0, 0), now)
            .await
            .unwrap()
    );
    assert!(
        store
            .move_upload(alice, "abc123", &checking, &writing, (0, 10), now)
            .await
            .unwrap()
    );
    let beat = now + time::Duration::seconds(3);
    store
        .upload_beat(alice, "abc123", &writing, 4, beat)
        .await
        .unwrap();
    store
        .upload_beat(alice, "abc123", &checking, 9, beat)
        .await
        .unwrap();
    let at_writing = store
        .upload(alice, "abc123", hour_ago, now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (at_writing.stage, at_writing.written, at_writing.total),
        (Stage::Writing, 4, 10),
        "a beat for another stage changes nothing"
    );
    assert_eq!(at_writing.beat.unix_timestamp(), beat.unix_timestamp());
    // A write that has ended: late beats change nothing; it cannot fail after it is done.
    let done = Stage::Done(10);
    assert!(
        store
            .move_upload(alice, "abc123", &writing, &done, (10, 10), now)
            .await
            .unwrap()
    );
    store
        .upload_beat(alice, "abc123", &writing, 7, now)
        .await
        .unwrap();
    let why = Stage::Failed("Nothing was imported: no.".into());
    assert!(
        !store
            .move_upload(alice, "abc123", &writing, &why, (0, 10), now)
            .await
            .unwrap()
    );
    let ended = store
        .upload(alice, "abc123", hour_ago, now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((ended.stage, ended.written), (Stage::Done(10), 10));

    let later = now + time::Duration::seconds(1);
    assert_eq!(store.purge_uploads(later, hour_ago).await.unwrap(), 1);
    assert_eq!(store.upload_content(alice, "abc123").await.unwrap(), None);
}

async fn an_uploads_rows_and_its_done_stage_are_written_together(store: Arc<dyn Store>) {
    use stock_ticker::domain::csv::Stage;
    let owner = DEFAULT_OWNER;
    let now = time::OffsetDateTime::now_utc();
    let hour_ago = now - time::Duration::hours(1);
    // An account keeps its five newest uploads, and any being checked or written.
    store
        .create_upload(&new_upload("busy", owner), now, 5)
        .await
        .unwrap();
    let (uploaded, checking) = (Stage::Uploaded, Stage::Checking);
    let busy = store.move_upload(owner, "busy", &uploaded, &checking, (0, 0), now);
    assert!(busy.await.unwrap());
    for i in 0..7 {
        let t = now + time::Duration::milliseconds(i + 1);
        store
            .create_upload(&new_upload(&format!("u{i}"), owner), t, 5)
            .await
            .unwrap();
    }
    for (id, kept) in [
        ("busy", true),
        ("u0", false),
        ("u1", false),
        ("u2", true),
        ("u6", true),
    ] {
        assert_eq!(
            store.upload_content(owner, id).await.unwrap().is_some(),
            kept,
            "{id}"
        );
    }

    let row = |symbol: &str, kind: TxKind, quantity: &str| ImportTx {
        symbol: Symbol::parse(symbol).unwrap(),
        kind: AssetKind::Stock,
        name: None,
        currency: None,
        fields: tx(kind, "2024-01-02", Some(quantity), Some("10")),
    };
    let (uploaded, writing) = (Stage::Uploaded, Stage::Writing);
    let nothing = store
        .write_upload(
            owner,
            "u6",
            &mut batches_of(vec![row("AAPL", TxKind::Buy, "5")]),
            &|_| {},
        )
        .await
        .unwrap();
    assert_eq!(nothing, None, "an upload not being written takes no rows");
    assert!(store.list_holdings(owner).await.unwrap().is_empty());
    assert!(
        store
            .move_upload(owner, "u6", &uploaded, &writing, (0, 1), now)
            .await
            .unwrap()
    );
    let refused = store
        .write_upload(
            owner,
            "u6",
            &mut batches_of(vec![row("AAPL", TxKind::Sell, "5")]),
            &|_| {},
        )
        .await;
    assert!(
        matches!(&refused, Err(StoreError::Rule(DomainError::Refused(why))) if why.contains("AAPL")),
        "{refused:?}"
    );
    let untouched = store
        .upload(owner, "u6", hour_ago, now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        untouched.stage,
        Stage::Writing,
        "a refused write leaves the stage"
    );
    assert!(store.list_holdings(owner).await.unwrap().is_empty());

    let written = store
        .write_upload(
            owner,
            "u6",
            &mut batches_of(vec![
                row("AAPL", TxKind::Buy, "5"),
                row("MSFT", TxKind::Buy, "2"),
            ]),
            &|_| {},
        )
        .await
        .unwrap();
    assert_eq!(written, Some(2));
    let done = store
        .upload(owner, "u6", hour_ago, now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (done.stage, done.written, done.total),
        (Stage::Done(2), 2, 2)
    );
    assert_eq!(store.list_holdings(owner).await.unwrap().len(), 2);
    // A check alive lately is not forgotten with the idle uploads; one that stopped is.
    let later = now + time::Duration::hours(2);
    let alive_since = now - time::Duration::seconds(1);
    assert_eq!(
        store.purge_uploads(later, alive_since).await.unwrap(),
        5,
        "u2…u6 go"
    );
    assert!(store.upload_content(owner, "busy").await.unwrap().is_some());
    assert_eq!(store.purge_uploads(later, later).await.unwrap(), 1);
}

/// Quotes and closes stored as a service sent them before amounts were kept in the major
/// unit: London in pence under "GBP", a grain future in cents under "USX".
async fn seed_minor_unit_prices(store: &Arc<dyn Store>) {
    use stock_ticker::domain::{AssetKey, PricePoint, Quote};
    let now = time::OffsetDateTime::now_utc();
    let quote = |symbol: &str, currency: &str, price: &str| Quote {
        currency: Some(currency.into()),
        ..Quote::new(
            Symbol::parse(symbol).unwrap(),
            Decimal::from_str(price).unwrap(),
            "yahoo",
        )
    };
    for (symbol, currency, price) in [
        ("VOD.L", "GBP", "530.59"),
        ("ZC=F", "USX", "420.25"),
        ("AAPL", "USD", "189.84"),
    ] {
        store
            .save_quote(AssetKind::Stock, &quote(symbol, currency, price), now)
            .await
            .unwrap();
        let key = AssetKey {
            symbol: Symbol::parse(symbol).unwrap(),
            kind: AssetKind::Stock,
            owner: DEFAULT_OWNER,
        };
        let day = time::macros::date!(2026 - 11 - 02);
        let point = PricePoint {
            date: day,
            close: Decimal::from_str(price).unwrap(),
        };
        store.save_prices(&key, &[point], "yahoo").await.unwrap();
    }
    store
        .create_holding(DEFAULT_OWNER, &fields("ZC=F", AssetKind::Stock, "5000"))
        .await
        .unwrap();
    let holdings = store.list_holdings(DEFAULT_OWNER).await.unwrap();
    assert_eq!(holdings[0].asset.currency, "USX", "as stored before");
}

/// After the minor-unit migration: those quotes and closes are gone, to be fetched again in
/// pounds and dollars; the future's asset is in USD; a quote in dollars is untouched.
async fn check_minor_unit_prices_dropped(store: &Arc<dyn Store>) {
    use stock_ticker::domain::AssetKey;
    let sym = |s: &str| Symbol::parse(s).unwrap();
    for gone in ["VOD.L", "ZC=F"] {
        assert!(
            store
                .latest_quote(&sym(gone), AssetKind::Stock)
                .await
                .unwrap()
                .is_none(),
            "{gone}"
        );
        let key = AssetKey {
            symbol: sym(gone),
            kind: AssetKind::Stock,
            owner: DEFAULT_OWNER,
        };
        let since = time::macros::date!(2026 - 01 - 01);
        assert!(
            store.prices(&key, since).await.unwrap().is_empty(),
            "{gone}"
        );
    }
    let kept = store
        .latest_quote(&sym("AAPL"), AssetKind::Stock)
        .await
        .unwrap()
        .expect("a dollar quote stays");
    assert_eq!(kept.quote.price.to_string(), "189.84");
    let holdings = store.list_holdings(DEFAULT_OWNER).await.unwrap();
    assert_eq!(holdings[0].asset.currency, "USD", "cents became dollars");
}

#[tokio::test]
async fn prices_stored_in_a_minor_unit_are_dropped_on_sqlite() {
    let db = TestDb::sqlite().await;
    let store = db.store().await;
    seed_minor_unit_prices(&store).await;
    let pool = sqlx::SqlitePool::connect(&db.url).await.unwrap();
    sqlx::raw_sql(include_str!(
        "../../migrations/sqlite/20261129000002_minor_units.sql"
    ))
    .execute(&pool)
    .await
    .unwrap();
    check_minor_unit_prices_dropped(&store).await;
}

#[tokio::test]
async fn prices_stored_in_a_minor_unit_are_dropped_on_postgres() {
    let Some(db) =
        TestDb::postgres("store::prices_stored_in_a_minor_unit_are_dropped_on_postgres").await
    else {
        return;
    };
    let store = db.store().await;
    seed_minor_unit_prices(&store).await;
    let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
    sqlx::raw_sql(include_str!(
        "../../migrations/postgres/20261129000002_minor_units.sql"
    ))
    .execute(&pool)
    .await
    .unwrap();
    check_minor_unit_prices_dropped(&store).await;
}
