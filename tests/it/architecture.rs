//! The layers' rules, checked on the source: imports point inward only.
//!
//! - `domain` (types and pure rules) imports nothing of the rest of the crate, and no I/O
//!   library: no database, HTTP, runtime, logging or caches.
//! - `store` (persistence) never imports `web`, `market` or the use cases.
//! - `market` (price services) never imports `web` or the use cases.
//! - `portfolio` (the use cases) never imports `web` or `app`.
//! - `web` (pages and API) never imports `app`.

use std::path::{Path, PathBuf};

/// A layer, the crate modules it may not name, and the libraries it may not use.
struct Rule {
    layer: &'static str,
    modules: &'static [&'static str],
    libraries: &'static [&'static str],
}

const RULES: [Rule; 5] = [
    Rule {
        layer: "domain",
        modules: &[
            "app",
            "config",
            "market",
            "portfolio",
            "secrets",
            "store",
            "telemetry",
            "web",
        ],
        libraries: &[
            "sqlx",
            "axum",
            "reqwest",
            "tokio",
            "tower",
            "tower_http",
            "hyper",
            "askama",
            "askama_web",
            "tracing",
            "metrics",
            "moka",
            "governor",
            "aws_config",
            "aws_sdk_secretsmanager",
            "argon2",
            "getrandom",
        ],
    },
    Rule {
        layer: "store",
        modules: &["app", "market", "portfolio", "web"],
        libraries: &["axum", "reqwest", "askama"],
    },
    Rule {
        layer: "market",
        modules: &["app", "portfolio", "web"],
        libraries: &["axum", "askama", "sqlx"],
    },
    Rule {
        layer: "portfolio",
        modules: &["app", "web"],
        libraries: &["axum", "askama", "sqlx"],
    },
    Rule {
        layer: "web",
        modules: &["app"],
        libraries: &["sqlx"],
    },
];

/// Every `.rs` file under `dir`.
fn sources(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            files.extend(sources(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files
}

/// The code of a file without its line comments (doc links name modules without importing
/// them); a `//` inside a string literal ("https://…") is not a comment.
fn code(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let (mut in_string, mut escaped, mut end) = (false, false, line.len());
        let bytes = line.as_bytes();
        for i in 0..bytes.len() {
            match bytes[i] {
                _ if escaped => escaped = false,
                b'\\' if in_string => escaped = true,
                b'"' => in_string = !in_string,
                b'/' if !in_string && bytes.get(i + 1) == Some(&b'/') => {
                    end = i;
                    break;
                }
                _ => {}
            }
        }
        out.push_str(&line[..end]);
        out.push('\n');
    }
    out
}

/// The crate modules a piece of code names (`crate::store::…`, `use crate::{store, web}`).
fn crate_modules(code: &str) -> Vec<String> {
    let mut found = Vec::new();
    for part in code.split("crate::").skip(1) {
        let names: Vec<&str> = if let Some(group) = part.strip_prefix('{') {
            group
                .split('}')
                .next()
                .unwrap_or("")
                .split(',')
                .map(|n| n.trim().split("::").next().unwrap_or(""))
                .collect()
        } else {
            vec![part]
        };
        for name in names {
            let name: String = name
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                found.push(name);
            }
        }
    }
    found
}

/// Whether the code uses a library (`sqlx::…`, `use tokio::…`, `#[tracing::instrument]`).
fn uses_library(code: &str, library: &str) -> bool {
    let needle = format!("{library}::");
    code.match_indices(&needle).any(|(i, _)| {
        let before = code[..i].chars().next_back();
        // `my_sqlx::` or `crate::sqlx::` would be something else.
        !before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
    })
}

/// What `text`, a file of `layer`, does against the rules.
fn violations(layer: &str, file: &str, text: &str) -> Vec<String> {
    let Some(rule) = RULES.iter().find(|r| r.layer == layer) else {
        return Vec::new();
    };
    let code = code(text);
    let mut found = Vec::new();
    for module in crate_modules(&code) {
        if rule.modules.contains(&module.as_str()) {
            found.push(format!("{file}: the {layer} layer imports crate::{module}"));
        }
    }
    for library in rule.libraries {
        if uses_library(&code, library) {
            found.push(format!("{file}: the {layer} layer uses {library}"));
        }
    }
    found.sort();
    found.dedup();
    found
}

#[test]
fn imports_point_inward_only() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut all = Vec::new();
    let mut checked = std::collections::BTreeMap::<&str, usize>::new();
    for path in sources(&src) {
        let relative = path.strip_prefix(&src).expect("under src");
        let layer = relative
            .components()
            .next()
            .and_then(|c| c.as_os_str().to_str())
            .unwrap_or("")
            .trim_end_matches(".rs");
        if let Some(rule) = RULES.iter().find(|r| r.layer == layer) {
            *checked.entry(rule.layer).or_default() += 1;
        }
        let text = std::fs::read_to_string(&path).expect("read source");
        all.extend(violations(layer, &relative.display().to_string(), &text));
    }
    assert!(
        all.is_empty(),
        "imports that cross a layer's line:\n{}",
        all.join("\n")
    );
    for rule in RULES {
        assert!(
            checked.get(rule.layer).copied().unwrap_or(0) > 0,
            "no file of the {} layer was found",
            rule.layer
        );
    }
}

#[test]
fn the_check_sees_every_way_of_crossing_a_line() {
    let crossing = [
        ("domain", "use crate::store::Store;"),
        ("domain", "use crate::{domain, web};"),
        ("domain", "fn f() { crate::market::registry::build(); }"),
        ("domain", "use sqlx::Row;"),
        ("domain", "#[tracing::instrument]\nfn f() {}"),
        ("store", "use crate::market::QuoteService;"),
        ("market", "use crate::web::AppState;"),
        ("portfolio", "use crate::web::error::AppError;"),
        ("web", "use crate::app::Application;"),
    ];
    for (layer, text) in crossing {
        assert!(
            !violations(layer, "f.rs", text).is_empty(),
            "{layer}: {text:?} was not seen"
        );
    }
    let allowed = [
        (
            "domain",
            "use super::ledger::Ledger;\n/// See [`crate::store`].\nuse crate::domain::Symbol;",
        ),
        ("domain", "let url = \"https://example.com\"; // crate::web"),
        ("store", "use crate::domain::Holding;"),
        ("market", "use crate::store::PriceStore;"),
        ("portfolio", "use crate::market::QuoteService;"),
        ("web", "use crate::portfolio::holdings;"),
    ];
    for (layer, text) in allowed {
        assert_eq!(
            violations(layer, "f.rs", text),
            Vec::<String>::new(),
            "{text:?}"
        );
    }
}
