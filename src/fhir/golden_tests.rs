//! Byte-for-byte output of the normaliser, pinned by a golden file written by the
//! builder-per-sample implementation before the template cache replaced it
//! (`tests/fixtures/every-metric.observations.ndjson`). Bless after an intended
//! change with `TRIBUTARY_BLESS=1 cargo test --lib fhir::golden`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use tributary_connectors::Device;

const FIXTURE: &str = include_str!("../../tests/fixtures/every-metric.samples.json");
const GOLDEN: &str = "tests/fixtures/every-metric.observations.ndjson";

/// The fixture, then variants that take the other paths: identity from content,
/// no device, a device without id or manufacturer, an empty device, and devices
/// that change from one sample to the next (the cache must not reuse a template).
fn batch() -> Vec<Sample> {
    let base: Vec<Sample> = serde_json::from_str(FIXTURE).unwrap();
    let mut all = base.clone();
    let variant = |f: &dyn Fn(usize, &mut Sample)| {
        base.iter()
            .cloned()
            .enumerate()
            .map(|(i, mut s)| {
                f(i, &mut s);
                s
            })
            .collect::<Vec<_>>()
    };
    all.extend(variant(&|_, s| s.vendor_record_id = None));
    all.extend(variant(&|_, s| s.device = None));
    all.extend(variant(&|_, s| {
        s.device = Some(Device {
            model: Some("Band".into()),
            ..Device::default()
        })
    }));
    all.extend(variant(&|_, s| s.device = Some(Device::default())));
    all.extend(variant(&|i, s| {
        s.vendor_record_id = None;
        s.device = Some(Device {
            manufacturer: Some(format!("Maker {}", i % 2)),
            model: (i % 3 != 0).then(|| format!("Model {}", i % 3)),
            vendor_device_id: (i % 4 != 0).then(|| format!("d-{}", i % 4)),
        });
    }));
    all
}

/// One line per Observation: the index columns, then the resource's compact JSON.
fn line(n: &Normalized) -> String {
    let index = serde_json::json!({
        "id": n.id,
        "identifier": n.identifier,
        "codes": n.codes,
        "categories": n.categories,
        "start": n.effective_start.to_rfc3339(),
        "end": n.effective_end.to_rfc3339(),
        "vendor": n.vendor,
        "data_type": n.data_type,
    });
    let resource = &n.resource;
    format!("{index}\t{resource}\n")
}

fn render(out: &[Normalized]) -> String {
    out.iter().map(line).collect()
}

#[test]
fn golden_output_is_unchanged_for_the_batch_and_for_single_samples() {
    let ctx = Context::new("acme", "everything", "member-1").unwrap();
    let samples = batch();
    let batch_text = render(&normalize_all(&ctx, &samples).unwrap());
    let single_text: String = samples
        .iter()
        .map(|s| render(&normalize(&ctx, s).unwrap()))
        .collect();
    assert_eq!(batch_text, single_text, "batch and single sample differ");
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(GOLDEN);
    if std::env::var_os("TRIBUTARY_BLESS").is_some() {
        std::fs::write(&path, &batch_text).unwrap();
    }
    let golden = std::fs::read_to_string(&path).unwrap();
    for (i, (got, want)) in batch_text.lines().zip(golden.lines()).enumerate() {
        assert_eq!(got, want, "line {}", i + 1);
    }
    assert_eq!(batch_text.lines().count(), golden.lines().count());
}

/// A vendor string equal to a template sentinel makes the template's needles
/// ambiguous: the normaliser must notice, take the typed path, and still write the
/// same Observation (with the vendor's string where it belongs).
#[test]
fn a_vendor_string_equal_to_a_sentinel_takes_the_typed_path_with_the_same_output() {
    let ctx = Context::new("acme", "everything", "member-1").unwrap();
    let samples: Vec<Sample> = serde_json::from_str(FIXTURE).unwrap();
    let sentinel = "\u{1}tributary-identifier\u{1}";
    for sample in samples {
        let plain = normalize(&ctx, &sample).unwrap();
        let mut odd = sample.clone();
        let device = odd.device.get_or_insert_with(Device::default);
        let ordinary = device.vendor_device_id.replace(sentinel.to_owned());
        let odd_out = normalize(&ctx, &odd).unwrap();
        for (a, b) in plain.iter().zip(&odd_out) {
            let escaped = "\\u0001tributary-identifier\\u0001";
            assert!(b.resource.contains(escaped), "the device id is kept");
            assert!(b
                .resource
                .contains(&format!("\"value\":\"{}\"", b.identifier)));
            // Without a record id the device id is part of the identity.
            if let (Some(ordinary), Some(_)) = (&ordinary, &sample.vendor_record_id) {
                let back = b.resource.replace(escaped, ordinary);
                assert_eq!(a.resource, back, "{:?}", sample.metric);
            }
        }
    }
}
