//! A member's consent history as FHIR R4 `Consent` resources (FHIR-MAPPING.md,
//! "Consent").
//!
//! Policy:
//! - One Consent per recorded consent event (`consent_events`), id = the event id,
//!   so the history is never rewritten: a later change adds a Consent and closes
//!   the one before it (`inactive`, `provision.period.end` = when the change took
//!   effect). The newest event of a (member, vendor) is `active`, unless it
//!   withdrew everything.
//! - A grant is `provision.type` permit with policy rule `OPTIN` and, as
//!   `provision.code`, the codes of every metric its data types may carry (a data
//!   type maps to several: the connector manifest's `metrics`, then [`codes`]).
//!   A revocation, or a change that leaves no data type, shares nothing: permit
//!   with no code would mean "everything", so it is a deny with rule `OPTOUT`
//!   (and, being withdrawn, `inactive`).
//! - Who changed what, through which channel: `performer` (the member for the
//!   consent page, the portal for the API, the vendor or the hub otherwise) and
//!   `meta.tag` codes in local systems: channel, vendor, action, each data type.
//! - No display texts are invented; references the hub cannot resolve (the portal,
//!   the vendor, the hub) are logical: identifier and type.

use super::codes::{self, Code, LOINC};
use super::element::{coding, concept, identifier};
use super::NormalizeError;
use chrono::{DateTime, Utc};
use fhir_sdk::r4b::codes::{ConsentProvisionType, ConsentState};
use fhir_sdk::r4b::resources::{Consent, ConsentProvision, ConsentProvisionActor};
use fhir_sdk::r4b::types::{CodeableConcept, Coding, Meta, Period, Reference};
use fhir_sdk::Instant;
use tributary_connectors::registry::{self, Endpoints};
use tributary_connectors::{Connector, Metric};

pub const CONSENT_SCOPE: &str = "http://terminology.hl7.org/CodeSystem/consentscope";
pub const ACT_CODE: &str = "http://terminology.hl7.org/CodeSystem/v3-ActCode";
pub const PARTICIPATION_TYPE: &str = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType";
/// LOINC "Patient consent".
pub const CONSENT_CATEGORY: &str = "59284-0";
/// `meta.tag` systems: through which channel, for which vendor, what happened,
/// which data types.
pub const CHANNEL_SYSTEM: &str = "urn:tributary:consent-channel";
pub const VENDOR_SYSTEM: &str = "urn:tributary:consent-vendor";
pub const ACTION_SYSTEM: &str = "urn:tributary:consent-action";
pub const DATA_TYPE_SYSTEM: &str = "urn:tributary:consent-data-type";
/// Identifier systems of the parties that are not FHIR resources here.
pub const PORTAL_SYSTEM: &str = "urn:tributary:portal";
pub const VENDOR_ID_SYSTEM: &str = "urn:tributary:vendor";
pub const HUB_SYSTEM: &str = "urn:tributary:hub";

/// One recorded change of a member's grant to one vendor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentRecord<'a> {
    pub id: &'a str,
    pub portal_id: &'a str,
    pub member_id: &'a str,
    pub vendor: &'a str,
    /// `granted`, `reconnected`, `changed`, `revoked` or `reauth_required`.
    pub action: &'a str,
    /// The data types shared from then on.
    pub data_types: &'a [String],
    /// `consent_page`, `api`, `vendor` or `hub`.
    pub channel: &'a str,
    pub at: DateTime<Utc>,
}

impl ConsentRecord<'_> {
    /// Whether anything is shared from this change on.
    fn shares(&self) -> bool {
        self.action != "revoked" && !self.data_types.is_empty()
    }
}

/// Each record with the time the next record of its vendor took effect (`None`:
/// it is the newest). `records` in any order.
pub fn superseded_at<'r>(
    records: &'r [ConsentRecord<'r>],
) -> Vec<(&'r ConsentRecord<'r>, Option<DateTime<Utc>>)> {
    let key = |i: usize| (records[i].vendor, records[i].at, records[i].id);
    let mut order: Vec<usize> = (0..records.len()).collect();
    order.sort_by(|&a, &b| key(a).cmp(&key(b)));
    let mut ends = vec![None; records.len()];
    for w in order.windows(2) {
        if records[w[0]].vendor == records[w[1]].vendor {
            ends[w[0]] = Some(records[w[1]].at);
        }
    }
    records.iter().zip(ends).collect()
}

/// The status a record's Consent has.
pub fn status(record: &ConsentRecord<'_>, superseded: Option<DateTime<Utc>>) -> ConsentState {
    if superseded.is_some() || !record.shares() {
        ConsentState::Inactive
    } else {
        ConsentState::Active
    }
}

fn instant(t: DateTime<Utc>) -> Result<Instant, NormalizeError> {
    super::element::instant(t.fixed_offset())
}

fn date_time(t: DateTime<Utc>) -> Result<fhir_sdk::DateTime, NormalizeError> {
    super::element::date_time(t.fixed_offset())
}

/// The connector of `vendor`, wherever it is reached (only its manifest is read).
fn connector(vendor: &str) -> Option<std::sync::Arc<dyn Connector>> {
    registry::connector(vendor, &Endpoints::Production).or_else(|| {
        registry::connector(
            vendor,
            &Endpoints::Sandbox {
                base: String::new(),
            },
        )
    })
}

/// `provision.code`: per metric the data types may carry, its codings (standard
/// and local) with the metric's text, each once; a data type the vendor's manifest
/// does not know is named by a local code, so nothing granted goes unsaid.
fn provision_codes(
    vendor: &str,
    data_types: &[String],
) -> Result<Vec<Option<CodeableConcept>>, NormalizeError> {
    let manifest = connector(vendor);
    let mut seen: Vec<&'static [Code]> = Vec::new();
    let mut out = Vec::new();
    for data_type in data_types {
        let metrics: &[Metric] = manifest
            .as_ref()
            .and_then(|c| c.manifest().data_type(data_type).map(|d| d.metrics))
            .unwrap_or_default();
        if metrics.is_empty() {
            let local = coding(DATA_TYPE_SYSTEM, &format!("{vendor}/{data_type}"))?;
            out.push(Some(
                CodeableConcept::builder()
                    .coding(vec![Some(local)])
                    .build()?,
            ));
        }
        for spec in metrics.iter().flat_map(|m| codes::specs_covering(*m)) {
            if !seen.contains(&spec.codes) {
                seen.push(spec.codes);
                out.push(Some(concept(spec.codes, Some(spec.text))?));
            }
        }
    }
    Ok(out)
}

fn tag(system: &str, code: &str) -> Result<Option<Coding>, NormalizeError> {
    Ok(Some(coding(system, code)?))
}

fn organization(system: &str, value: &str) -> Result<Reference, NormalizeError> {
    Ok(Reference::builder()
        .r#type("Organization".to_owned())
        .identifier(identifier(system, value)?)
        .build()?)
}

/// Who made the change: the member on the consent page, the portal through its
/// API, the vendor (notifications), or the hub itself.
fn performer(record: &ConsentRecord<'_>) -> Result<Reference, NormalizeError> {
    match record.channel {
        "consent_page" => Ok(super::element::reference(format!(
            "Patient/{}",
            record.member_id
        ))?),
        "api" => organization(PORTAL_SYSTEM, record.portal_id),
        "vendor" => {
            let mut r = organization(VENDOR_ID_SYSTEM, record.vendor)?;
            r.display = connector(record.vendor).map(|c| c.manifest().display_name.to_owned());
            Ok(r)
        }
        _ => organization(HUB_SYSTEM, "tributary-hub"),
    }
}

/// The Consent of one record; `superseded` is when the next record of its vendor
/// took effect, if there is one (see [`superseded_at`]).
pub fn consent(
    record: &ConsentRecord<'_>,
    superseded: Option<DateTime<Utc>>,
) -> Result<Consent, NormalizeError> {
    if !super::is_fhir_id(record.id) || !super::is_fhir_id(record.member_id) {
        return Err(NormalizeError::MemberId(record.member_id.to_owned()));
    }
    let shares = record.shares();
    let mut tags = vec![
        tag(CHANNEL_SYSTEM, record.channel)?,
        tag(VENDOR_SYSTEM, record.vendor)?,
        tag(ACTION_SYSTEM, record.action)?,
    ];
    for t in record.data_types {
        tags.push(tag(DATA_TYPE_SYSTEM, t)?);
    }
    let meta = Meta::builder()
        .last_updated(instant(record.at)?)
        .tag(tags)
        .build()?;
    let mut period = Period::builder().start(date_time(record.at)?);
    if let Some(end) = superseded {
        period = period.end(date_time(end)?);
    }
    let actor = ConsentProvisionActor::builder()
        .role(concept(
            &[Code {
                system: PARTICIPATION_TYPE,
                code: "IRCP",
            }],
            None,
        )?)
        .reference(organization(PORTAL_SYSTEM, record.portal_id)?)
        .build()?;
    let provision = ConsentProvision::builder()
        .r#type(if shares {
            ConsentProvisionType::Permit
        } else {
            ConsentProvisionType::Deny
        })
        .period(period.build()?)
        .actor(vec![Some(actor)])
        .code(if shares {
            provision_codes(record.vendor, record.data_types)?
        } else {
            Vec::new()
        })
        .build()?;
    let code = |system: &'static str, code: &'static str| concept(&[Code { system, code }], None);
    Ok(Consent::builder()
        .id(record.id.to_owned())
        .meta(meta)
        .status(status(record, superseded))
        .scope(code(CONSENT_SCOPE, "patient-privacy")?)
        .category(vec![Some(code(LOINC, CONSENT_CATEGORY)?)])
        .patient(super::element::reference(format!(
            "Patient/{}",
            record.member_id
        ))?)
        .date_time(date_time(record.at)?)
        .performer(vec![Some(performer(record)?)])
        .policy_rule(code(ACT_CODE, if shares { "OPTIN" } else { "OPTOUT" })?)
        .provision(provision)
        .build()?)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::Value;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    fn record<'a>(
        id: &'a str,
        vendor: &'a str,
        action: &'a str,
        types: &'a [String],
        channel: &'a str,
        when: &str,
    ) -> ConsentRecord<'a> {
        ConsentRecord {
            id,
            portal_id: "p1",
            member_id: "m1",
            vendor,
            action,
            data_types: types,
            channel,
            at: at(when),
        }
    }

    fn json(r: &ConsentRecord<'_>, end: Option<DateTime<Utc>>) -> Value {
        serde_json::to_value(consent(r, end).unwrap()).unwrap()
    }

    #[test]
    fn a_history_closes_each_consent_when_the_next_change_of_its_vendor_came() {
        let both = vec!["steps".to_owned(), "heart_rate".to_owned()];
        let steps = vec!["steps".to_owned()];
        let records = [
            record(
                "e1",
                "demo",
                "granted",
                &both,
                "consent_page",
                "2026-11-01T10:00:00Z",
            ),
            record(
                "e2",
                "oura",
                "granted",
                &steps,
                "consent_page",
                "2026-11-01T11:00:00Z",
            ),
            record(
                "e3",
                "demo",
                "changed",
                &steps,
                "api",
                "2026-11-02T10:00:00Z",
            ),
            record(
                "e4",
                "demo",
                "revoked",
                &[],
                "vendor",
                "2026-11-03T10:00:00Z",
            ),
        ];
        let ends: Vec<_> = superseded_at(&records)
            .into_iter()
            .map(|(r, end)| (r.id, end))
            .collect();
        assert_eq!(
            ends,
            vec![
                ("e1", Some(at("2026-11-02T10:00:00Z"))),
                ("e2", None),
                ("e3", Some(at("2026-11-03T10:00:00Z"))),
                ("e4", None),
            ]
        );
        let first = json(&records[0], ends[0].1);
        assert_eq!(first["status"], "inactive");
        assert_eq!(first["provision"]["type"], "permit");
        assert_eq!(first["provision"]["period"]["end"], "2026-11-02T10:00:00Z");
        assert_eq!(first["policyRule"]["coding"][0]["code"], "OPTIN");
        assert_eq!(first["performer"][0]["reference"], "Patient/m1");
        let codes: Vec<&str> = first["provision"]["code"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["coding"][0]["code"].as_str().unwrap())
            .collect();
        assert_eq!(codes, ["41950-7", "8867-4"]);
        assert_eq!(json(&records[1], None)["status"], "active");
        let narrowed = json(&records[2], ends[2].1);
        assert_eq!(narrowed["performer"][0]["identifier"]["value"], "p1");
        let revoked = json(&records[3], None);
        assert_eq!(revoked["status"], "inactive");
        assert_eq!(revoked["provision"]["type"], "deny");
        assert_eq!(revoked["policyRule"]["coding"][0]["code"], "OPTOUT");
        assert!(revoked["provision"].get("code").is_none());
        assert_eq!(revoked["performer"][0]["display"], "Demo Health (sandbox)");
        let tags = revoked["meta"]["tag"].as_array().unwrap();
        assert!(tags.contains(&serde_json::json!({"system": CHANNEL_SYSTEM, "code": "vendor"})));
    }

    #[test]
    fn a_data_type_covers_every_code_its_metrics_may_carry() {
        let egvs = vec!["egvs".to_owned()];
        let r = record(
            "e1",
            "dexcom",
            "granted",
            &egvs,
            "hub",
            "2026-11-01T10:00:00Z",
        );
        let c = json(&r, None);
        let codes: Vec<&str> = c["provision"]["code"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["coding"][0]["code"].as_str().unwrap())
            .collect();
        assert_eq!(codes, ["99504-3", "105272-9"]);
        let unknown = vec!["mystery".to_owned()];
        let r = record(
            "e2",
            "demo",
            "granted",
            &unknown,
            "hub",
            "2026-11-01T10:00:00Z",
        );
        assert_eq!(
            json(&r, None)["provision"]["code"][0]["coding"][0]["code"],
            "demo/mystery"
        );
    }
}
