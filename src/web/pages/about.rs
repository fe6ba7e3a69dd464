//! `/about`, and the API's docs page (served at `/api/v1/docs`), built from the OpenAPI
//! document the API serves.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::State;
use axum::routing::get;
use utoipa::OpenApi;

use super::layout::Layout;
use crate::web::AppState;
use crate::web::api::ApiDoc;
use crate::web::session::MaybeAuthed;

pub fn router() -> Router<AppState> {
    Router::new().route("/about", get(about))
}

#[derive(Template, WebTemplate)]
#[template(path = "about.html")]
pub struct AboutPage {
    layout: Layout,
    version: &'static str,
    providers: String,
}

async fn about(State(state): State<AppState>, MaybeAuthed(auth): MaybeAuthed) -> AboutPage {
    AboutPage {
        layout: Layout::public("about", auth.as_ref()),
        version: env!("CARGO_PKG_VERSION"),
        providers: state.quotes.provider_names().join(", "),
    }
}

/// One API operation on the docs page.
pub struct OperationView {
    pub method: &'static str,
    pub path: String,
    pub summary: String,
    pub responses: Vec<(String, String)>,
}

#[derive(Template, WebTemplate)]
#[template(path = "api_docs.html")]
pub struct ApiDocsPage {
    layout: Layout,
    operations: Vec<OperationView>,
}

/// A human-readable page built from the same OpenAPI document the API serves.
pub async fn api_docs(MaybeAuthed(auth): MaybeAuthed) -> ApiDocsPage {
    use utoipa::openapi::RefOr;
    let doc = ApiDoc::openapi();
    let mut operations = Vec::new();
    for (path, item) in &doc.paths.paths {
        let methods = [
            ("GET", &item.get),
            ("POST", &item.post),
            ("PUT", &item.put),
            ("PATCH", &item.patch),
            ("DELETE", &item.delete),
        ];
        for (method, op) in methods {
            let Some(op) = op else { continue };
            let responses = op
                .responses
                .responses
                .iter()
                .map(|(code, r)| {
                    let text = match r {
                        RefOr::T(r) => r.description.clone(),
                        RefOr::Ref(r) => r.ref_location.clone(),
                    };
                    (code.clone(), text)
                })
                .collect();
            operations.push(OperationView {
                method,
                path: path.clone(),
                summary: op
                    .summary
                    .clone()
                    .or_else(|| op.description.clone())
                    .unwrap_or_default(),
                responses,
            });
        }
    }
    ApiDocsPage {
        layout: Layout::public("api", auth.as_ref()),
        operations,
    }
}
