//! Vendor connectors for Tributary.
//!
//! Policy: this crate knows vendors and nothing else. It holds the vendor-neutral
//! [`Sample`] model, the [`Connector`] trait every vendor implements, one module per
//! vendor ([`demo`], [`withings`], [`oura`], [`garmin`], [`dexcom`]), the [`registry`] of vendors and where they are reached,
//! and the [`sandbox`], which simulates vendor APIs for quick starts and tests. It
//! never touches a database, the network or a thread, and runs no web server: a
//! connector builds requests and parses responses, the sandbox turns a request into
//! a response in memory, and the hub does all I/O, storage and delivery.

pub mod connector;
pub mod demo;
pub mod dexcom;
pub mod garmin;
pub mod oura;
pub mod push;
mod raw;
pub mod registry;
pub mod sample;
pub mod sandbox;
pub mod withings;

#[cfg(test)]
mod testing;

pub use connector::{
    AppCall, ClientAuth, Connector, ConnectorError, DataTypeSpec, Delivery, HttpRequest, Manifest,
    Page, ParseError, PushAuth, RateLimits, RevokeStyle, Skipped, TimeWindow, TokenStyle,
};
pub use demo::Demo;
pub use dexcom::Dexcom;
pub use garmin::Garmin;
pub use oura::Oura;
pub use push::{PushError, PushEvent, PushNotice};
pub use registry::Endpoints;
pub use sample::{DataType, Device, Metric, Quantity, Sample, Value, Workout};
pub use withings::Withings;
