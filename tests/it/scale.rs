//! Two instances of the real binary on one PostgreSQL database, as ECS runs them behind a load
//! balancer without sticky sessions: either instance serves any request.

use std::process::Child;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use wiremock::matchers::{method, path_regex};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::cli::serve_with;
use crate::helpers::{PASSWORD, TestDb, Visitor, iex_quote, password_hash, sign_in, yahoo_chart};
use crate::import::guessed_mapping;

/// One running `stock-ticker serve`.
struct Instance {
    child: Child,
    base: String,
}

impl Instance {
    async fn start(db: &TestDb, upstream: &MockServer, env: &[(&str, &str)]) -> Instance {
        let mut all = vec![
            ("SECRET_TOKEN", "test-token"),
            ("LOG_FORMAT", "json"),
            ("RUST_LOG", "warn"),
        ];
        all.extend_from_slice(env);
        let (child, port) = serve_with(&db.url, &upstream.uri(), &all).await;
        Instance {
            child,
            base: format!("http://127.0.0.1:{port}"),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Two instances on one fresh PostgreSQL database, and a person signed in (through the
/// database, so on neither instance in particular).
async fn two_instances(
    test: &str,
    upstream: &MockServer,
    env: &[(&str, &str)],
) -> Option<(TestDb, Instance, Instance, Visitor)> {
    let db = TestDb::postgres(test).await?;
    let a = Instance::start(&db, upstream, env).await;
    let b = Instance::start(&db, upstream, env).await;
    let store = db.store().await;
    let user = store
        .setup_admin("alice", &password_hash(PASSWORD))
        .await
        .expect("first account");
    let visitor = sign_in(store.as_ref(), user).await;
    store.close().await;
    Some((db, a, b, visitor))
}

#[tokio::test]
async fn a_session_and_an_import_continue_on_the_other_instance() {
    let upstream = MockServer::start().await;
    let Some((_db, a, b, alice)) = two_instances(
        "scale::a_session_and_an_import_continue_on_the_other_instance",
        &upstream,
        &[],
    )
    .await
    else {
        return;
    };
    let web = &alice.client;
    for instance in [&a, &b] {
        let page = web
            .get(instance.url("/portfolio"))
            .send()
            .await
            .expect("GET");
        assert_eq!(page.status(), 200, "the session works on {}", instance.base);
    }

    // Uploaded through one instance …
    let csv = "date,type,symbol,kind,quantity,price\n\
               2024-01-02,buy,WATCH1,item,1,100\n\
               2024-02-03,buy,WATCH1,item,2,150\n\
               2024-03-04,buy,CARD7,item,5,20\n";
    let (content_type, body) = crate::import::upload_form(&alice.csrf, "items.csv", csv);
    let uploaded = web
        .post(a.url("/import"))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .expect("upload");
    assert_eq!(uploaded.status(), 303);
    let import = uploaded
        .headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .expect("location")
        .to_string();

    // … mapped, checked and committed through the other.
    let page = web.get(b.url(&import)).send().await.expect("GET");
    assert_eq!(page.status(), 200, "the other instance knows the upload");
    let mut form = guessed_mapping(&page.text().await.expect("mapping page"));
    form.push(("csrf".into(), alice.csrf.clone()));
    let checked = web
        .post(b.url(&format!("{import}/check")))
        .form(&form)
        .send()
        .await
        .expect("check");
    assert_eq!(checked.status(), 200);
    assert!(checked.text().await.expect("page").contains("3 rows"));
    let committed = web
        .post(b.url(&format!("{import}/commit")))
        .form(&form)
        .send()
        .await
        .expect("commit");
    assert_eq!(committed.status(), 303);

    // The first instance reports how it ended, and both see the holdings.
    let mut done = false;
    for _ in 0..50 {
        let page = web.get(a.url(&import)).send().await.expect("GET");
        if page
            .text()
            .await
            .expect("page")
            .contains("Imported 3 transactions.")
        {
            done = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(done, "the import finished and the first instance says so");
    let again = web
        .post(a.url(&format!("{import}/commit")))
        .form(&form)
        .send()
        .await
        .expect("commit again");
    assert_eq!(
        again.status(),
        303,
        "a second commit, on either instance, does nothing"
    );
    for instance in [&a, &b] {
        let list: serde_json::Value = web
            .get(instance.url("/api/v1/transactions"))
            .send()
            .await
            .expect("GET")
            .json()
            .await
            .expect("json");
        assert_eq!(list["total"], 3, "{}", instance.base);
    }
}

#[tokio::test]
async fn two_hundred_asks_for_one_symbol_over_both_instances_cost_at_most_two_calls() {
    let upstream = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path_regex("^/stable/stock/orcl/quote$"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(iex_quote("ORCL", "Oracle Corporation", 120.5))
                .set_delay(Duration::from_millis(500)),
        )
        .mount(&upstream)
        .await;
    let Some((_db, a, b, alice)) = two_instances(
        "scale::two_hundred_asks_for_one_symbol_over_both_instances_cost_at_most_two_calls",
        &upstream,
        // Every ask waits for the one fetch, however busy the machine (the deadline has its own
        // tests in freshness.rs).
        &[("QUOTE_PAGE_DEADLINE_MS", "10000")],
    )
    .await
    else {
        return;
    };

    let asks = (0..200).map(|i| {
        let url = if i % 2 == 0 { &a } else { &b }.url("/api/v1/quotes/ORCL");
        let client = alice.client.clone();
        async move { client.get(url).send().await.map(|r| r.status().as_u16()) }
    });
    let answers = futures::future::join_all(asks).await;

    assert!(
        answers.iter().all(|s| matches!(s, Ok(200))),
        "every ask was answered: {:?}",
        answers
            .iter()
            .filter(|s| !matches!(s, Ok(200)))
            .collect::<Vec<_>>()
    );
    let calls = upstream.received_requests().await.unwrap_or_default().len();
    assert!(
        (1..=2).contains(&calls),
        "{calls} upstream calls for 200 asks"
    );
}

/// Answers every Yahoo chart request with a price and notes when it came.
struct Recorded(Arc<Mutex<Vec<time::OffsetDateTime>>>);

impl Respond for Recorded {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(time::OffsetDateTime::now_utc());
        let code = request.url.path().rsplit('/').next().unwrap_or("X");
        ResponseTemplate::new(200).set_body_json(yahoo_chart(code, code, 10.0, 9.5))
    }
}

#[tokio::test]
async fn two_instances_together_keep_to_a_providers_per_minute_budget() {
    const PER_MINUTE: usize = 5;
    let upstream = MockServer::start().await;
    let times = Arc::new(Mutex::new(Vec::new()));
    Mock::given(method("GET"))
        .and(path_regex("^/v8/finance/chart/"))
        .respond_with(Recorded(times.clone()))
        .mount(&upstream)
        .await;
    let Some((_db, a, b, alice)) = two_instances(
        "scale::two_instances_together_keep_to_a_providers_per_minute_budget",
        &upstream,
        &[
            ("QUOTE_PROVIDERS_STOCK", "yahoo"),
            ("YAHOO_BASE_URL", &upstream.uri()),
            ("YAHOO_COOKIE_URL", &upstream.uri()),
            ("YAHOO_REQUESTS_PER_MINUTE", "5"),
        ],
    )
    .await
    else {
        return;
    };
    // Not in a minute's last seconds, so the asks below fall in one minute.
    let second = time::OffsetDateTime::now_utc().second();
    if second >= 50 {
        tokio::time::sleep(Duration::from_secs(u64::from(61 - second))).await;
    }

    // Each instance alone would allow five: ten distinct symbols each, all at once.
    let asks = (0..20).map(|i| {
        let instance = if i % 2 == 0 { &a } else { &b };
        let url = instance.url(&format!("/api/v1/quotes/S{i:02}"));
        let client = alice.client.clone();
        async move { client.get(url).send().await.map(|r| r.status().as_u16()) }
    });
    let answers = futures::future::join_all(asks).await;

    let priced = answers.iter().filter(|s| matches!(s, Ok(200))).count();
    let refused = answers.iter().filter(|s| matches!(s, Ok(503))).count();
    assert_eq!(priced + refused, 20, "{answers:?}");
    let times = times.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let mut per_minute = std::collections::BTreeMap::new();
    for t in &times {
        *per_minute.entry((t.hour(), t.minute())).or_insert(0_usize) += 1;
    }
    assert!(
        per_minute.values().all(|n| *n <= PER_MINUTE),
        "upstream calls per minute: {per_minute:?}"
    );
    assert_eq!(times.len(), PER_MINUTE, "the budget was used, once");
    assert_eq!(
        priced, PER_MINUTE,
        "the rest wait for the next minute (503)"
    );
}
