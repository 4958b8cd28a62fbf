//! Throughput of the normaliser on one thread: `cargo bench --bench normalize`.
//!
//! For large demo payloads (100,000 records each of heart rate, steps and body
//! weight) it times (a) a bare `serde_json::from_slice::<Value>` of the bytes,
//! (b) the connector's parse into Samples, (c) parse + normalise to every
//! Observation's FHIR JSON (what the store seals), (d) (c) + appending each
//! Observation to one NDJSON buffer, and prints
//! samples/s and (c)/(a), (d)/(a). Targets: ≥ 200,000 samples/s, (c) ≤ 3 × (a).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{Duration, TimeZone};
use std::hint::black_box;
use std::time::Instant;
use tributary::fhir::{self, Context};
use tributary_connectors::registry::{self, Endpoints};
use tributary_connectors::DataType;

/// The binary's allocator (see `mimalloc` in Cargo.toml), so the figures are the
/// binary's; the system allocator makes (c) markedly slower.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const RECORDS: usize = 100_000;
const RUNS: usize = 5;

/// A demo payload of `n` records of `data_type`.
fn payload(data_type: &str, n: usize) -> Vec<u8> {
    let tz = chrono::FixedOffset::east_opt(3600).unwrap();
    let base = tz.with_ymd_and_hms(2000, 1, 1, 0, 0, 0).unwrap();
    let device = r#""device":{"manufacturer":"Demo","model":"Demo Band 2","id":"band-1f2e3d4c"}"#;
    let mut body = String::from("{\"data\":[");
    for i in 0..n {
        if i > 0 {
            body.push(',');
        }
        let record = match data_type {
            "steps" => {
                let start = base + Duration::days(i as i64);
                let end = start + Duration::days(1);
                format!(
                    r#"{{"id":"st_{i:016x}","type":"steps","start":"{}","end":"{}","value":{},"unit":"count",{device}}}"#,
                    start.to_rfc3339(),
                    end.to_rfc3339(),
                    3000 + i % 9000
                )
            }
            "heart_rate" => format!(
                r#"{{"id":"hr_{i:016x}","type":"heart_rate","start":"{}","end":null,"value":{},"unit":"/min",{device}}}"#,
                (base + Duration::minutes(i as i64)).to_rfc3339(),
                50 + i % 100
            ),
            _ => format!(
                r#"{{"id":"bw_{i:016x}","type":"body_weight","start":"{}","value":{}.{:02},"unit":"kg",{device}}}"#,
                (base + Duration::hours(i as i64)).to_rfc3339(),
                60 + i % 30,
                i % 100
            ),
        };
        body.push_str(&record);
    }
    body.push_str("],\"next_cursor\":null}");
    body.into_bytes()
}

/// The best of `RUNS` timings of `f`, in seconds.
fn best(mut f: impl FnMut() -> usize) -> f64 {
    (0..RUNS)
        .map(|_| {
            let t = Instant::now();
            black_box(f());
            t.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min)
}

fn main() {
    let demo = registry::connector(
        "demo",
        &Endpoints::Sandbox {
            base: "http://sandbox.invalid".into(),
        },
    )
    .unwrap();
    let mut totals = [0.0f64; 4];
    let mut samples_total = 0usize;
    println!("{RECORDS} records per data type, best of {RUNS} runs, one thread");
    println!(
        "{:<12} {:>10} {:>10} {:>12} {:>12} {:>8} {:>8}",
        "data type", "MB", "(a) s", "(b) s", "(c) s", "(d) s", ""
    );
    for dt in ["heart_rate", "steps", "body_weight"] {
        let body = payload(dt, RECORDS);
        let data_type = DataType::parse(dt).unwrap();
        let ctx = Context::new("demo", dt, "member-1").unwrap();
        let a = best(|| {
            serde_json::from_slice::<serde_json::Value>(&body).unwrap()["data"]
                .as_array()
                .unwrap()
                .len()
        });
        let b = best(|| demo.parse(&data_type, &body).unwrap().samples.len());
        let c = best(|| {
            let page = demo.parse(&data_type, &body).unwrap();
            fhir::normalize_all(&ctx, &page.samples).unwrap().len()
        });
        let d = best(|| {
            let page = demo.parse(&data_type, &body).unwrap();
            let mut out = Vec::with_capacity(body.len() * 8);
            for n in fhir::normalize_all(&ctx, &page.samples).unwrap() {
                out.extend_from_slice(n.resource.as_bytes());
                out.push(b'\n');
            }
            out.len()
        });
        println!(
            "{dt:<12} {:>10.1} {a:>10.3} {b:>12.3} {c:>12.3} {d:>8.3}   {:>9.0} samples/s (c), {:>9.0} (d); (c)/(a) {:.2}, (d)/(a) {:.2}",
            body.len() as f64 / 1e6,
            RECORDS as f64 / c,
            RECORDS as f64 / d,
            c / a,
            d / a
        );
        for (t, x) in totals.iter_mut().zip([a, b, c, d]) {
            *t += x;
        }
        samples_total += RECORDS;
    }
    let [a, b, c, d] = totals;
    let n = samples_total as f64;
    println!(
        "all: (a) {:.0}/s  (b) {:.0}/s  (c) {:.0}/s  (d) {:.0}/s",
        n / a,
        n / b,
        n / c,
        n / d
    );
    println!(
        "ratios: (b)/(a) {:.2}  (c)/(a) {:.2}  (d)/(a) {:.2}",
        b / a,
        c / a,
        d / a
    );
    println!(
        "targets: (c) >= 200000 samples/s: {}; (c)/(a) <= 3: {}",
        n / c >= 200_000.0,
        c / a <= 3.0
    );
}
