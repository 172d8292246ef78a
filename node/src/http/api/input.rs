//! Reading requests, strictly: every way a request can be malformed is a
//! 400 problem naming the field (or 413, 415), never a 5xx.
//!
//! - [`JsonBody`]: `Content-Type: application/json` (or `+json`), at most
//!   the node's body limit, UTF-8 JSON of the documented shape with no
//!   unknown fields; a type error names its path (`indicators[3].kind`).
//! - [`Query`]: the query string, only documented parameters, each once.
//! - [`PathParam`]: one path segment, percent-decoded UTF-8.

use std::str::FromStr;
use std::sync::Arc;

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::Api;
use super::problem::Problem;

/// A JSON body of type `T`.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

fn is_json(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Parses JSON of type `T`, naming the path of the first error.
///
/// # Errors
///
/// [`Problem::invalid`] naming the field (`body` for the whole).
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Problem> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let field = if path == "." || path.is_empty() { "body".to_string() } else { path };
        Problem::invalid(field, e.into_inner().to_string())
    })?;
    de.end().map_err(|e| Problem::invalid("body", format!("trailing characters after the JSON value ({e})")))?;
    Ok(value)
}

impl<T: DeserializeOwned> FromRequest<Arc<Api>> for JsonBody<T> {
    type Rejection = Problem;

    async fn from_request(req: Request, api: &Arc<Api>) -> Result<Self, Problem> {
        let limit = api.body_limit;
        let content_type = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
        if !is_json(content_type) {
            return Err(Problem::unsupported_media_type());
        }
        let declared =
            req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > limit as u64) {
            return Err(Problem::too_large(limit));
        }
        let bytes = axum::body::to_bytes(req.into_body(), limit).await.map_err(|e| {
            let too_large = std::error::Error::source(&e).is_some_and(|s| s.is::<http_body_util::LengthLimitError>());
            if too_large { Problem::too_large(limit) } else { Problem::invalid("body", format!("cannot be read: {e}")) }
        })?;
        if bytes.is_empty() {
            return Err(Problem::invalid("body", "is empty; send a JSON object"));
        }
        parse_json(&bytes).map(JsonBody)
    }
}

/// The parameters of a query string.
#[derive(Debug, Default)]
pub struct Query(Vec<(String, String)>);

impl Query {
    /// Parses `raw`, taking only the parameters in `allowed`, each once.
    ///
    /// # Errors
    ///
    /// [`Problem::invalid`] naming an unknown or repeated parameter.
    pub fn parse(raw: Option<&str>, allowed: &[&str]) -> Result<Query, Problem> {
        let mut out: Vec<(String, String)> = Vec::new();
        for (k, v) in url::form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
            if !allowed.contains(&k.as_ref()) {
                let known = if allowed.is_empty() { "none".to_string() } else { allowed.join(", ") };
                return Err(Problem::invalid(k.to_string(), format!("is not a parameter here (known: {known})")));
            }
            if out.iter().any(|(n, _)| *n == k) {
                return Err(Problem::invalid(k.to_string(), "is given more than once"));
            }
            out.push((k.into_owned(), v.into_owned()));
        }
        Ok(Query(out))
    }

    /// A parameter as given.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// A parameter parsed as `T`.
    ///
    /// # Errors
    ///
    /// [`Problem::invalid`] naming it.
    pub fn parsed<T: FromStr>(&self, name: &str) -> Result<Option<T>, Problem>
    where
        T::Err: std::fmt::Display,
    {
        self.get(name).map(|v| v.parse::<T>().map_err(|e| Problem::invalid(name, e.to_string()))).transpose()
    }

    /// A `true`/`false` parameter (absent: false).
    ///
    /// # Errors
    ///
    /// [`Problem::invalid`] for anything else.
    pub fn flag(&self, name: &str) -> Result<bool, Problem> {
        match self.get(name) {
            None | Some("false") => Ok(false),
            Some("true") => Ok(true),
            Some(v) => Err(Problem::invalid(name, format!("{v:?} is not true or false"))),
        }
    }

    /// An integer parameter within `min..=max`.
    ///
    /// # Errors
    ///
    /// [`Problem::invalid`] naming it.
    pub fn int(&self, name: &str, min: u64, max: u64) -> Result<Option<u64>, Problem> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => match v.parse::<u64>() {
                Ok(n) if (min..=max).contains(&n) => Ok(Some(n)),
                _ => Err(Problem::invalid(name, format!("{v:?} is not an integer from {min} to {max}"))),
            },
        }
    }
}

/// One path parameter.
#[derive(Debug)]
pub struct PathParam(pub String);

impl<S: Send + Sync> FromRequestParts<S> for PathParam {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Problem> {
        match axum::extract::Path::<String>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(v)) => Ok(PathParam(v)),
            Err(e) => Err(Problem::invalid("path", e.body_text())),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        kind: u8,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Outer {
        items: Vec<Inner>,
    }

    #[test]
    fn json_errors_name_the_path() {
        let e = parse_json::<Outer>(br#"{"items":[{"kind":1},{"kind":"x"}]}"#).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("items[1].kind"), "{e:?}");
        let e = parse_json::<Outer>(br#"{"items":[],"extra":1}"#).unwrap_err();
        assert!(e.detail.contains("unknown field"), "{e:?}");
        let e = parse_json::<Outer>(b"{\"items\":[]} x").unwrap_err();
        assert_eq!(e.field.as_deref(), Some("body"));
        let e = parse_json::<Outer>(b"\xff\xfe").unwrap_err();
        assert_eq!(e.status, 400);
        assert!(is_json("application/json; charset=utf-8") && is_json("application/merge-patch+json"));
        assert!(!is_json("text/plain") && !is_json(""));
    }

    #[test]
    fn queries_take_only_known_parameters_once() {
        let q = Query::parse(Some("value=a%20b&kind=domain"), &["value", "kind"]).unwrap();
        assert_eq!(q.get("value"), Some("a b"));
        assert_eq!(Query::parse(Some("x=1"), &["value"]).unwrap_err().field.as_deref(), Some("x"));
        assert_eq!(Query::parse(Some("value=1&value=2"), &["value"]).unwrap_err().field.as_deref(), Some("value"));
        let q = Query::parse(Some("limit=0&summary=yes"), &["limit", "summary"]).unwrap();
        assert!(q.int("limit", 1, 10).is_err());
        assert!(q.flag("summary").is_err());
    }
}
