//! `GET /fhir/r4/Observation?patient=…&code=…&category=…&date=…&_lastUpdated=…
//! &_count=…&_sort=…`: a searchset Bundle, paged by `next` links that carry a keyset
//! cursor (the last entry's effective start and id), so pages stay right while new
//! data arrives. `patient` is required: observations are sealed per member.
//! Unknown parameters are refused (400) unless the client sends
//! `Prefer: handling=lenient`; then they are ignored.
//! Another portal's patient simply matches nothing.

use super::outcome::FhirError;
use super::params::{self, DEFAULT_COUNT};
use super::{fhir_text, with_conn, BASE};
use crate::db::Database;
use crate::domain::MemberId;
use crate::http::auth::Credentials;
use crate::http::error::ApiError;
use crate::keys::KeyRing;
use crate::store::api_keys::Scope;
use crate::store::observations::{self, Page, Search, Sort};
use crate::vendors::Vendors;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use fhir_sdk::r4b::codes::BundleType;
use fhir_sdk::r4b::resources::{Bundle, BundleLink};
use std::fmt::Write as _;

const KNOWN: &[&str] = &[
    "patient",
    "code",
    "category",
    "date",
    "_lastUpdated",
    "_count",
    "_sort",
    "_cursor",
    "_format",
];

/// The parsed request: the search, the patient, and what the `next` link repeats.
struct Parsed {
    search: Search,
    patient: MemberId,
    kept: Vec<(String, String)>,
}

pub(super) fn lenient(req: &HttpRequest) -> bool {
    req.headers()
        .get_all("prefer")
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.split([',', ';']).any(|p| p.trim() == "handling=lenient"))
}

fn parse(query: &str, lenient: bool) -> Result<Parsed, FhirError> {
    let mut search = Search {
        count: DEFAULT_COUNT,
        ..Search::default()
    };
    let mut patient = None;
    let mut kept = Vec::new();
    for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
        let (name, value) = (name.into_owned(), value.into_owned());
        match name.as_str() {
            "patient" if patient.is_none() => patient = Some(params::patient(&name, &value)?),
            "patient" => {
                return Err(FhirError::invalid(
                    "search parameter `patient`: give it once",
                ))
            }
            "code" => search.codes.extend(params::tokens(&name, &value)?),
            "category" => search
                .categories
                .extend(params::tokens(&name, &value)?.into_iter().map(|t| t.code)),
            "date" => search.dates.push(params::date(&name, &value)?),
            "_lastUpdated" => search.last_updated.push(params::date(&name, &value)?),
            "_count" => search.count = params::count(&value)?,
            "_sort" => {
                search.sort = match value.as_str() {
                    "date" => Sort::DateAsc,
                    "-date" => Sort::DateDesc,
                    _ => {
                        return Err(FhirError::invalid(
                            "search parameter `_sort`: date or -date",
                        ))
                    }
                }
            }
            "_cursor" => search.after = Some(params::cursor(&value)?),
            "_format" => {}
            _ if lenient => continue,
            _ => {
                return Err(FhirError::invalid(format!(
                    "unknown search parameter `{}`; supported: {}",
                    name.chars().take(64).collect::<String>(),
                    KNOWN.join(", ")
                )))
            }
        }
        if name != "_cursor" {
            kept.push((name, value));
        }
    }
    let patient =
        patient.ok_or_else(|| FhirError::invalid("search parameter `patient` is required"))?;
    Ok(Parsed {
        search,
        patient,
        kept,
    })
}

fn link(relation: &str, url: String) -> Result<Option<BundleLink>, FhirError> {
    BundleLink::builder()
        .relation(relation.to_owned())
        .url(url)
        .build()
        .map(Some)
        .map_err(|e| FhirError::from(ApiError::internal(&e)))
}

/// The searchset Bundle of one page, as JSON text: the typed shell (type and
/// links), then the entries spliced in as the store serves them, so the resources
/// are not parsed again.
fn bundle(base: &str, query: &str, parsed: &Parsed, page: Page) -> Result<String, FhirError> {
    let url = |q: &str| format!("{base}/Observation?{q}");
    let mut links = vec![link("self", url(query))?];
    if let Some(next) = &page.next {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        q.extend_pairs(&parsed.kept);
        q.append_pair("_cursor", &params::cursor_text(next));
        links.push(link("next", url(&q.finish()))?);
    }
    let shell = Bundle::builder()
        .r#type(BundleType::Searchset)
        .link(links)
        .build()
        .map_err(|e| FhirError::from(ApiError::internal(&e)))?;
    let mut out =
        serde_json::to_string(&shell).map_err(|e| FhirError::from(ApiError::internal(&e)))?;
    if page.resources.is_empty() {
        return Ok(out);
    }
    // The shell is an object: reopen it before its closing brace.
    if out.pop() != Some('}') {
        return Err(ApiError::internal(&"the Bundle shell is not a JSON object").into());
    }
    let size: usize = page.resources.iter().map(|r| r.json.len() + 96).sum();
    out.reserve(size + base.len() * page.resources.len());
    out.push_str(",\"entry\":[");
    for (i, r) in page.resources.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let full = serde_json::to_string(&format!("{base}/Observation/{}", r.id))
            .map_err(|e| FhirError::from(ApiError::internal(&e)))?;
        let _ = write!(
            out,
            "{{\"fullUrl\":{full},\"resource\":{},\"search\":{{\"mode\":\"match\"}}}}",
            r.json
        );
    }
    out.push_str("]}");
    Ok(out)
}

/// Authentication, the member's access (one round trip for both), the scope check
/// and the search share one pooled connection and one blocking-thread hop: this is
/// the API's hottest path.
pub async fn search(
    credentials: Credentials,
    req: HttpRequest,
    db: web::Data<Database>,
    ring: web::Data<KeyRing>,
    vendors: web::Data<Vendors>,
) -> Result<HttpResponse, FhirError> {
    let query = req.query_string().to_owned();
    let parsed = parse(&query, lenient(&req));
    let (parsed, page) = with_conn(db, move |conn| {
        let parsed = match parsed {
            Ok(parsed) => parsed,
            Err(invalid) => {
                // Who is asking comes first: a stranger learns nothing, not even
                // that the query is wrong.
                let caller = credentials.authenticate(conn)?;
                caller.require_in(conn, Scope::DataRead)?;
                return Err(invalid);
            }
        };
        let (caller, access) =
            credentials.authenticate_with_member(conn, &ring, &parsed.patient)?;
        caller.require_in(conn, Scope::DataRead)?;
        let page = match access {
            Some(access) => observations::search(conn, &access, &parsed.search)?,
            // Another portal's member, or none: nothing matches.
            None => Page {
                resources: Vec::new(),
                next: None,
            },
        };
        Ok((parsed, page))
    })
    .await?;
    let base = vendors.public(BASE);
    Ok(fhir_text(
        StatusCode::OK,
        bundle(&base, &query, &parsed, page)?,
    ))
}
