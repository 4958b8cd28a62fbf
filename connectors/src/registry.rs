//! The vendors Tributary has connectors for.

/// Vendor ids, as they appear in URLs, vendor apps and the database.
pub fn vendor_ids() -> &'static [&'static str] {
    // Only the sandbox's demo vendor so far; real connectors register here.
    &["demo"]
}

pub fn is_known(vendor: &str) -> bool {
    vendor_ids().contains(&vendor)
}
