//! The vendors Tributary has connectors for, and where each is reached.
//!
//! Policy: a vendor id is listed here once it has a connector. Sandbox-only vendors
//! (`demo`, which has no real API behind it) get a connector only for
//! [`Endpoints::Sandbox`]; asking for them in production yields `None`, so a hub
//! with the sandbox off cannot offer them.

use crate::connector::Connector;
use crate::demo::{self, Demo};
use crate::{dexcom, garmin, oura, withings};
use std::sync::Arc;

/// Where vendors are reached.
#[derive(Debug, Clone)]
pub enum Endpoints {
    /// The vendors' real APIs.
    Production,
    /// The simulated vendors under `base` (the sandbox root without a trailing
    /// slash, e.g. `http://127.0.0.1:8080/sandbox`).
    Sandbox { base: String },
}

/// Vendor ids, as they appear in URLs, vendor apps and the database.
pub fn vendor_ids() -> &'static [&'static str] {
    &[
        demo::VENDOR,
        withings::VENDOR,
        oura::VENDOR,
        garmin::VENDOR,
        dexcom::VENDOR,
    ]
}

pub fn is_known(vendor: &str) -> bool {
    vendor_ids().contains(&vendor)
}

/// Whether `vendor` exists only in the sandbox.
pub fn is_sandbox_only(vendor: &str) -> bool {
    vendor == demo::VENDOR
}

/// The connector for `vendor` at `endpoints`, if there is one.
pub fn connector(vendor: &str, endpoints: &Endpoints) -> Option<Arc<dyn Connector>> {
    match (vendor, endpoints) {
        (demo::VENDOR, Endpoints::Sandbox { base }) => Some(Arc::new(Demo::new(base))),
        (demo::VENDOR, Endpoints::Production) => None,
        (withings::VENDOR, e) => Some(Arc::new(withings::Withings::new(e))),
        (oura::VENDOR, e) => Some(Arc::new(oura::Oura::new(e))),
        (garmin::VENDOR, e) => Some(Arc::new(garmin::Garmin::new(e))),
        (dexcom::VENDOR, e) => Some(Arc::new(dexcom::Dexcom::new(e))),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn real_vendors_are_reached_in_production_or_in_the_sandbox() {
        let sandbox = Endpoints::Sandbox {
            base: "http://127.0.0.1:8080/sandbox".to_owned(),
        };
        for vendor in ["withings", "oura", "garmin", "dexcom"] {
            assert!(!is_sandbox_only(vendor));
            let real =
                connector(vendor, &Endpoints::Production).map(|c| c.manifest().token_url.clone());
            assert!(real.is_some_and(|u| u.starts_with("https://")), "{vendor}");
            let simulated = connector(vendor, &sandbox).map(|c| c.manifest().token_url.clone());
            assert_eq!(
                simulated,
                Some(format!(
                    "http://127.0.0.1:8080/sandbox/{vendor}/oauth/token"
                ))
            );
        }
    }

    use super::*;

    #[test]
    fn demo_is_offered_only_in_the_sandbox() {
        assert_eq!(
            vendor_ids(),
            ["demo", "withings", "oura", "garmin", "dexcom"]
        );
        assert!(is_known("demo") && is_known("withings") && !is_known("fitbit"));
        assert!(is_sandbox_only("demo"));
        assert!(connector("demo", &Endpoints::Production).is_none());
        assert!(connector("nope", &Endpoints::Production).is_none());
        let sandbox = Endpoints::Sandbox {
            base: "http://127.0.0.1:8080/sandbox".to_owned(),
        };
        let demo = connector("demo", &sandbox).map(|c| c.manifest().token_url.clone());
        assert_eq!(
            demo.as_deref(),
            Some("http://127.0.0.1:8080/sandbox/demo/oauth/token")
        );
    }
}
