//! Reading request input strictly, with errors that say what was wrong.
//!
//! [`JsonBody`] replaces actix's `Json` so that each failure has its own status:
//! not JSON content type 415, over the limit 413 (checked while reading, so a 10 MB
//! body is never buffered), malformed JSON or invalid UTF-8 400, and JSON of the
//! wrong shape 422 with the path of the field at fault.

use super::error::ApiError;
use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use futures_util::StreamExt;
use serde::de::DeserializeOwned;
use std::future::Future;
use std::pin::Pin;

/// Largest JSON body the API reads.
pub const BODY_LIMIT: usize = 64 * 1024;

pub struct JsonBody<T>(pub T);

fn is_json(req: &HttpRequest) -> bool {
    match req.mime_type() {
        Ok(Some(m)) => {
            m.type_() == mime::APPLICATION
                && (m.subtype() == mime::JSON || m.suffix() == Some(mime::JSON))
        }
        _ => false,
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for JsonBody<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let json = is_json(req);
        let declared = req
            .headers()
            .get(actix_web::http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        let mut payload = payload.take();
        Box::pin(async move {
            if !json {
                return Err(ApiError::UnsupportedMediaType);
            }
            if declared.is_some_and(|n| n > BODY_LIMIT) {
                return Err(ApiError::PayloadTooLarge { limit: BODY_LIMIT });
            }
            let mut body = web::BytesMut::new();
            while let Some(chunk) = payload.next().await {
                let chunk =
                    chunk.map_err(|_| ApiError::BadRequest("cannot read the body".into()))?;
                if body.len() + chunk.len() > BODY_LIMIT {
                    return Err(ApiError::PayloadTooLarge { limit: BODY_LIMIT });
                }
                body.extend_from_slice(&chunk);
            }
            parse(&body).map(JsonBody)
        })
    }
}

/// A JSON body that may be left out entirely (no body, no content type): then
/// `T::default()`. A body that is sent is read exactly as [`JsonBody`] reads it,
/// except that a JSON `null` also means "nothing given" (the document allows it).
pub struct OptionalJsonBody<T>(pub T);

impl<T: DeserializeOwned + Default + 'static> FromRequest for OptionalJsonBody<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let headers = req.headers();
        let no_type = !headers.contains_key(actix_web::http::header::CONTENT_TYPE);
        let empty = headers
            .get(actix_web::http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .is_none_or(|v| v.trim() == "0")
            && !headers.contains_key(actix_web::http::header::TRANSFER_ENCODING);
        if no_type && empty {
            return Box::pin(async { Ok(OptionalJsonBody(T::default())) });
        }
        let body = JsonBody::<Option<T>>::from_request(req, payload);
        Box::pin(async move {
            body.await
                .map(|b| OptionalJsonBody(b.0.unwrap_or_default()))
        })
    }
}

/// Parse a JSON document into `T`, classifying the error.
pub fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        match inner.classify() {
            serde_json::error::Category::Data => {
                let at = if path == "." { "body".to_owned() } else { path };
                ApiError::Validation(format!("{at}: {inner}"))
            }
            _ => ApiError::BadRequest(format!("the body is not valid JSON: {inner}")),
        }
    })?;
    de.end()
        .map_err(|e| ApiError::BadRequest(format!("the body is not valid JSON: {e}")))?;
    Ok(value)
}

/// Path segments that do not decode (invalid UTF-8 after percent-decoding) are 422.
pub fn path_config() -> web::PathConfig {
    web::PathConfig::default()
        .error_handler(|e, _| ApiError::Validation(format!("path parameter: {e}")).into())
}

/// Query strings that do not parse are 422 naming the parameter.
pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default()
        .error_handler(|e, _| ApiError::Validation(format!("query: {e}")).into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct T {
        user_key: String,
        n: Option<u32>,
    }

    fn status(body: &[u8]) -> u16 {
        use actix_web::ResponseError;
        parse::<T>(body).unwrap_err().status_code().as_u16()
    }

    #[test]
    fn classifies_errors() {
        assert!(parse::<T>(br#"{"user_key":"a"}"#).is_ok());
        assert_eq!(status(b"{"), 400);
        assert_eq!(status(b"{\"user_key\":\"\xff\"}"), 400);
        assert_eq!(status(br#"{"user_key":"a"} x"#), 400);
        assert_eq!(status(&[b'['; 10_000]), 422);
        assert_eq!(status(br#"{"user_key":5}"#), 422);
        assert_eq!(status(br#"{}"#), 422);
        assert_eq!(status(br#"{"user_key":"a","extra":1}"#), 422);
        let e = parse::<T>(br#"{"user_key":"a","n":-1}"#)
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("n:"), "{e}");
    }
}
