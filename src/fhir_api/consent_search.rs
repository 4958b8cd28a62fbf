//! `GET /fhir/r4/Consent?patient=…[&status=…]`: a member's consent history as a
//! searchset Bundle, oldest first, one Consent per recorded change (see
//! [`crate::fhir::consent`]). The history of one member is short (a few changes
//! per vendor), so it is one page. `patient` is required; another portal's patient
//! matches nothing. Unknown parameters are refused (400) unless the client sends
//! `Prefer: handling=lenient`.

use super::outcome::FhirError;
use super::{fhir_json, params, reader, with_conn, BASE};
use crate::db::AnyConnection;
use crate::db::Database;
use crate::domain::{MemberId, PortalId};
use crate::fhir::consent::{self, ConsentRecord};
use crate::http::auth::Caller;
use crate::http::error::ApiError;
use crate::store::consent_events::{self, ConsentEvent};
use crate::vendors::Vendors;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use fhir_sdk::r4b::codes::{BundleType, SearchEntryMode};
use fhir_sdk::r4b::resources::{
    Bundle, BundleEntry, BundleEntrySearch, BundleLink, Consent, Resource,
};

const KNOWN: &[&str] = &["patient", "status", "_format"];

fn internal(e: &dyn std::fmt::Display) -> FhirError {
    FhirError::from(ApiError::internal(e))
}

fn record(e: &ConsentEvent) -> ConsentRecord<'_> {
    ConsentRecord {
        id: &e.id,
        portal_id: &e.portal_id,
        member_id: &e.member_id,
        vendor: &e.vendor,
        action: &e.action,
        data_types: &e.data_types,
        channel: &e.channel,
        at: e.at.and_utc(),
    }
}

/// The member's Consents, oldest first (none for another portal's member).
pub fn member_consents(
    conn: &mut AnyConnection,
    portal: &PortalId,
    member: &MemberId,
) -> Result<Vec<Consent>, ApiError> {
    let events = consent_events::history(conn, portal, member)?;
    let records: Vec<ConsentRecord<'_>> = events.iter().map(record).collect();
    consent::superseded_at(&records)
        .into_iter()
        .map(|(r, end)| consent::consent(r, end).map_err(|e| ApiError::internal(&e)))
        .collect()
}

struct Parsed {
    patient: MemberId,
    statuses: Vec<String>,
}

fn parse(query: &str, lenient: bool) -> Result<Parsed, FhirError> {
    let mut patient = None;
    let mut statuses = Vec::new();
    for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
        match name.as_ref() {
            "patient" if patient.is_none() => patient = Some(params::patient(&name, &value)?),
            "patient" => {
                return Err(FhirError::invalid(
                    "search parameter `patient`: give it once",
                ))
            }
            "status" => statuses.extend(params::tokens(&name, &value)?.into_iter().map(|t| t.code)),
            "_format" => {}
            _ if lenient => {}
            _ => {
                return Err(FhirError::invalid(format!(
                    "unknown search parameter `{}`; supported: {}",
                    name.chars().take(64).collect::<String>(),
                    KNOWN.join(", ")
                )))
            }
        }
    }
    let patient =
        patient.ok_or_else(|| FhirError::invalid("search parameter `patient` is required"))?;
    Ok(Parsed { patient, statuses })
}

fn bundle(base: &str, query: &str, consents: Vec<Consent>) -> Result<Bundle, FhirError> {
    let mut entries = Vec::with_capacity(consents.len());
    for c in consents {
        let full = format!("{base}/Consent/{}", c.id.clone().unwrap_or_default());
        let search = BundleEntrySearch::builder()
            .mode(SearchEntryMode::Match)
            .build()
            .map_err(|e| internal(&e))?;
        let entry = BundleEntry::builder()
            .full_url(full)
            .resource(Resource::Consent(c))
            .search(search)
            .build()
            .map_err(|e| internal(&e))?;
        entries.push(Some(entry));
    }
    let link = BundleLink::builder()
        .relation("self".to_owned())
        .url(format!("{base}/Consent?{query}"))
        .build()
        .map_err(|e| internal(&e))?;
    Bundle::builder()
        .r#type(BundleType::Searchset)
        .total(u32::try_from(entries.len()).unwrap_or(u32::MAX))
        .link(vec![Some(link)])
        .entry(entries)
        .build()
        .map_err(|e| internal(&e))
}

pub async fn search(
    caller: Result<Caller, ApiError>,
    req: HttpRequest,
    db: web::Data<Database>,
    vendors: web::Data<Vendors>,
) -> Result<HttpResponse, FhirError> {
    let caller = reader(caller).await?;
    let query = req.query_string().to_owned();
    let parsed = parse(&query, super::observation_search::lenient(&req))?;
    let Parsed { patient, statuses } = parsed;
    let consents = with_conn(db, move |conn| {
        Ok(member_consents(conn, &caller.portal, &patient)?)
    })
    .await?;
    let kept = consents
        .into_iter()
        .filter(|c| statuses.is_empty() || statuses.iter().any(|s| *s == c.status.to_string()))
        .collect();
    let body = bundle(&vendors.public(BASE), &query, kept)?;
    let json = serde_json::to_value(&body).map_err(|e| internal(&e))?;
    Ok(fhir_json(StatusCode::OK, &json))
}
