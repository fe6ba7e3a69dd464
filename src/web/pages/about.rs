//! `/about`, and the API's docs page (served at `/api/v1/docs`), built from the OpenAPI
//! document the API serves.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde_json::Value;

use super::layout::Layout;
use crate::web::AppState;
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

/// Text from the document with its `code` spans marked: `(is code, text)` parts.
pub type Marked = Vec<(bool, String)>;

/// Splits text at its backticks, as Markdown writes code.
fn marked(text: &str) -> Marked {
    text.split('`')
        .enumerate()
        .filter(|(_, part)| !part.is_empty())
        .map(|(i, part)| (i % 2 == 1, part.to_string()))
        .collect()
}

/// A field of a request (a query or path parameter, or a member of the JSON body).
pub struct FieldView {
    pub name: String,
    /// `string`, `integer`, `string | integer | null`, an enum's values, a schema's name.
    pub kind: String,
    pub required: bool,
    pub description: Marked,
}

/// One API operation on the docs page.
pub struct OperationView {
    pub method: &'static str,
    pub path: String,
    pub summary: Marked,
    pub parameters: Vec<FieldView>,
    /// The JSON body's schema: its name, what it says of itself and its fields.
    pub body: Option<(String, Marked, Vec<FieldView>)>,
    pub responses: Vec<(String, Marked)>,
}

#[derive(Template, WebTemplate)]
#[template(path = "api_docs.html")]
pub struct ApiDocsPage {
    layout: Layout,
    operations: Vec<OperationView>,
}

/// What a schema takes, in a few words.
fn kind_of(schema: &Value, doc: &Value) -> String {
    if let Some(name) = schema["$ref"].as_str() {
        let name = name.rsplit('/').next().unwrap_or(name);
        let target = &doc["components"]["schemas"][name];
        if let Some(values) = target["enum"].as_array() {
            return one_of_values(values);
        }
        return name.to_string();
    }
    if let Some(values) = schema["enum"].as_array() {
        return one_of_values(values);
    }
    if let Some(options) = schema["oneOf"].as_array().or(schema["anyOf"].as_array()) {
        return options
            .iter()
            .map(|o| kind_of(o, doc))
            .collect::<Vec<_>>()
            .join(" | ");
    }
    let format = schema["format"]
        .as_str()
        .filter(|f| *f == "date")
        .map(|f| format!(" ({f})"))
        .unwrap_or_default();
    match &schema["type"] {
        Value::String(t) => format!("{t}{format}"),
        Value::Array(types) => types
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(" | "),
        _ => "any".into(),
    }
}

fn one_of_values(values: &[Value]) -> String {
    values
        .iter()
        .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
        .collect::<Vec<_>>()
        .join(" | ")
}

/// The fields of a body schema, required ones first as the document lists them.
fn body_fields(schema: &Value, doc: &Value) -> Vec<FieldView> {
    let required: Vec<&str> = schema["required"]
        .as_array()
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let mut fields: Vec<FieldView> = schema["properties"]
        .as_object()
        .map(|props| {
            props
                .iter()
                .map(|(name, p)| {
                    let description = p["description"]
                        .as_str()
                        .or_else(|| p["oneOf"][1]["description"].as_str())
                        .unwrap_or_default();
                    FieldView {
                        name: name.clone(),
                        kind: kind_of(p, doc),
                        required: required.contains(&name.as_str()),
                        description: marked(description),
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    fields.sort_by_key(|f| !f.required);
    fields
}

/// A human-readable page built from the same OpenAPI document the API serves (with its
/// rules): each operation's parameters, body fields and answers.
pub async fn api_docs(MaybeAuthed(auth): MaybeAuthed) -> ApiDocsPage {
    let doc = crate::web::api::document();
    let mut operations = Vec::new();
    for (path, item) in doc["paths"].as_object().into_iter().flatten() {
        for (key, method) in [
            ("get", "GET"),
            ("post", "POST"),
            ("put", "PUT"),
            ("patch", "PATCH"),
            ("delete", "DELETE"),
        ] {
            let op = &item[key];
            if !op.is_object() {
                continue;
            }
            let text = op["summary"]
                .as_str()
                .or_else(|| op["description"].as_str())
                .unwrap_or_default();
            let parameters = op["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|p| FieldView {
                    name: format!(
                        "{} ({})",
                        p["name"].as_str().unwrap_or_default(),
                        p["in"].as_str().unwrap_or_default()
                    ),
                    kind: kind_of(&p["schema"], &doc),
                    required: p["required"].as_bool().unwrap_or(false),
                    description: marked(p["description"].as_str().unwrap_or_default()),
                })
                .collect();
            let body = op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
                .as_str()
                .map(|r| {
                    let name = r.rsplit('/').next().unwrap_or(r).to_string();
                    let schema = &doc["components"]["schemas"][&name];
                    let about = marked(schema["description"].as_str().unwrap_or_default());
                    (name, about, body_fields(schema, &doc))
                });
            let responses = op["responses"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(code, r)| {
                    (
                        code.clone(),
                        marked(r["description"].as_str().unwrap_or_default()),
                    )
                })
                .collect();
            operations.push(OperationView {
                method,
                path: path.clone(),
                summary: marked(text),
                parameters,
                body,
                responses,
            });
        }
    }
    ApiDocsPage {
        layout: Layout::public("api", auth.as_ref()),
        operations,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backticks_mark_code_and_nothing_else() {
        assert_eq!(
            marked("send `Authorization: Bearer <token>` and a `detail`."),
            vec![
                (false, "send ".to_string()),
                (true, "Authorization: Bearer <token>".to_string()),
                (false, " and a ".to_string()),
                (true, "detail".to_string()),
                (false, ".".to_string()),
            ]
        );
        assert_eq!(marked("plain"), vec![(false, "plain".to_string())]);
    }
}
