//! No panic on any input: every prefix of every real and fixture body, and a
//! deterministic mutation loop over them, with what any page must satisfy.

use super::*;
use crate::sample::Metric;
use serde_json::{json, Value as Json};

/// The UCUM unit a metric must carry.
fn unit_of(metric: Metric) -> &'static str {
    match metric {
        Metric::StepsDaily => "/d",
        Metric::Distance => "m",
        Metric::ActiveEnergy => "kcal",
        Metric::RestingHeartRateDaily | Metric::MaxHeartRate24h | Metric::HeartRate => "/min",
        Metric::RespiratoryRate => "/min",
        Metric::SleepDuration | Metric::SleepDeep | Metric::SleepLight | Metric::SleepRem => "min",
        Metric::BodyWeight => "kg",
        Metric::Bmi => "kg/m2",
        Metric::BodyFat | Metric::Spo2 => "%",
        Metric::HrvRmssd => "ms",
        Metric::BloodPressure => "mm[Hg]",
        Metric::Workout => "min",
        other => panic!("garmin yields no {other:?}"),
    }
}

fn plain_non_negative(text: &str) -> bool {
    let (int, frac) = text.split_once('.').unwrap_or((text, "0"));
    !int.is_empty()
        && !frac.is_empty()
        && int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit())
}

/// What any page must satisfy, however odd its input.
fn check(page: &Page) {
    for s in &page.samples {
        let (value, unit) = match &s.value {
            Value::Quantity(q) => (q.value.clone(), q.unit.as_str()),
            Value::BloodPressure {
                systolic,
                diastolic,
            } => {
                assert_eq!(systolic.unit, diastolic.unit);
                assert!(plain_non_negative(&diastolic.value), "{s:?}");
                (systolic.value.clone(), systolic.unit.as_str())
            }
            Value::Workout(w) => (w.duration.value.clone(), w.duration.unit.as_str()),
        };
        assert_eq!(unit, unit_of(s.metric), "{s:?}");
        assert!(plain_non_negative(&value), "{s:?}");
        assert!(s.end.is_none_or(|e| e >= s.start), "{s:?}");
    }
}

fn all_bodies() -> Vec<Vec<u8>> {
    let mut bodies = Vec::new();
    for dir in [FIXTURES, SAMPLES] {
        let mut names: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        names.sort();
        bodies.extend(names.iter().map(|p| std::fs::read(p).unwrap()));
    }
    assert!(bodies.len() >= 24, "{}", bodies.len());
    bodies
}

fn try_everything(body: &[u8]) -> bool {
    let g = garmin();
    let mut any = false;
    for d in &g.manifest().data_types {
        match g.parse(&d.id, body) {
            Ok(page) => {
                check(&page);
                any = true;
            }
            Err(e) => {
                assert!(!e.path.is_empty() && !e.problem.contains(|c: char| c.is_ascii_digit()))
            }
        }
    }
    match g.parse_push(body) {
        Ok(notices) => {
            for n in notices {
                if let crate::push::PushEvent::Samples { page, .. } = n.event {
                    check(&page);
                }
            }
            true
        }
        Err(e) => {
            assert!(!e.path.is_empty());
            any
        }
    }
}

#[test]
fn every_prefix_of_every_body_fails_cleanly() {
    let g = garmin();
    let types: Vec<DataType> = g
        .manifest()
        .data_types
        .iter()
        .map(|d| d.id.clone())
        .collect();
    for body in all_bodies() {
        assert!(try_everything(&body));
        // A cut JSON document is no JSON: every parser refuses it alike, so each
        // prefix goes to one data type's parser (in turn) and to the push parser.
        for cut in 0..body.trim_ascii_end().len() {
            let prefix = &body[..cut];
            let e = g.parse(&types[cut % types.len()], prefix).unwrap_err();
            assert_eq!(e.path, "$");
            assert_eq!(g.parse_push(prefix).unwrap_err().path, "$");
        }
    }
}

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Every JSON pointer in `v`.
fn pointers(v: &Json, at: String, out: &mut Vec<String>) {
    match v {
        Json::Object(map) => {
            for (k, child) in map {
                pointers(
                    child,
                    format!("{at}/{}", k.replace('~', "~0").replace('/', "~1")),
                    out,
                );
            }
        }
        Json::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                pointers(child, format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
    out.push(at);
}

const ODD: [&str; 24] = [
    "null",
    "-1",
    "0",
    "-0",
    "1.5",
    "1e999",
    "1E2",
    "-1e-7",
    "99999999999999999999",
    "9223372036854775807",
    "-9223372036854775808",
    "86400",
    "82800",
    "90000",
    "\"x\"",
    "\"\"",
    "\"2026-13-01\"",
    "[]",
    "{}",
    "true",
    "[1,2]",
    "{\"0\":1,\"00\":2}",
    "{\"60\":null}",
    "0.0000000000000000000000000000000000000001",
];

#[test]
fn mutated_bodies_never_panic() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for body in all_bodies() {
        let tree: Json = serde_json::from_slice(&body).unwrap();
        let mut at = Vec::new();
        pointers(&tree, String::new(), &mut at);
        for _ in 0..120 {
            // Structured: one node replaced by an odd value, or removed.
            let mut t = tree.clone();
            let target = &at[rng.below(at.len())];
            if let Some(node) = t.pointer_mut(target) {
                *node = json!("@@ODD@@");
            }
            let text = t.to_string();
            let odd = ODD[rng.below(ODD.len())];
            try_everything(text.replacen("\"@@ODD@@\"", odd, 1).as_bytes());
            // Bytes: a few flipped, dropped or doubled.
            let mut bytes = body.clone();
            for _ in 0..1 + rng.below(4) {
                let i = rng.below(bytes.len());
                match rng.below(3) {
                    0 => bytes[i] ^= 1 << rng.below(8),
                    1 => {
                        bytes.remove(i);
                    }
                    _ => bytes.insert(i, bytes[i]),
                }
                if bytes.is_empty() {
                    break;
                }
            }
            try_everything(&bytes);
        }
    }
    // Deep nesting and non-UTF-8 are refused, not overflowed.
    for body in [
        vec![b'['; 100_000],
        vec![0xff, 0xfe],
        b"{\"dailies\":[{\"userId\":\"\\ud800\"}]}".to_vec(),
    ] {
        assert!(!try_everything(&body));
    }
}
