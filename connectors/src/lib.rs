//! Vendor connectors for Tributary.
//!
//! Policy: this crate knows vendors and nothing else. It holds the vendor-neutral
//! [`Sample`] model, the [`Connector`] trait every vendor implements, and (in later
//! modules) one module per vendor plus the sandbox. It never touches a database or
//! runs a web server: a connector builds requests and parses responses, and the hub
//! does all I/O, storage and delivery.

pub mod connector;
pub mod registry;
pub mod sample;

pub use connector::{
    Connector, ConnectorError, HttpRequest, Manifest, Page, ParseError, TimeWindow,
};
pub use sample::{DataType, Device, Metric, Quantity, Sample};
