//! `tributary normalize`: a vendor payload in, the FHIR R4 collection Bundle it
//! becomes out.
//!
//! Policy: no database, no configuration, no network: the connector's parser and
//! the normaliser are pure. Bad input of any kind (unknown vendor or data type, an
//! unreadable, empty or malformed payload, a sample that does not fit the mapping)
//! is exit code 2 with one line on stderr that names the vendor, the data type and
//! where the fault is; failing to write the output is exit code 1.
//!
//! The Bundle is written entry by entry, so a large payload never holds every
//! Observation in memory at once; each entry is the normaliser's compact JSON,
//! re-indented.

use super::{json, Context, NormalizeError, Normalizer};
use std::io::{self, Read, Write};
use std::path::Path;
use std::process::ExitCode;
use tributary_connectors::registry::{self, Endpoints};
use tributary_connectors::{Connector, DataType};

/// What the command was asked to do.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    pub vendor: &'a str,
    pub data_type: &'a str,
    /// The member id used as the subject (`Patient/<id>`).
    pub patient: &'a str,
    /// A file path, or `-` for stdin.
    pub input: &'a Path,
}

/// Why the command failed, as the one line the user reads.
#[derive(Debug)]
enum Failure {
    Input(String),
    Output(io::Error),
}

/// Run the command; print the Bundle or one error line.
pub fn main(req: &Request<'_>) -> ExitCode {
    let stdout = io::stdout();
    let mut out = io::BufWriter::with_capacity(1 << 16, stdout.lock());
    match run(req, &mut out).and_then(|()| out.flush().map_err(Failure::Output)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Input(line)) => {
            eprintln!("tributary normalize: {line}");
            ExitCode::from(2)
        }
        Err(Failure::Output(e)) => {
            eprintln!("tributary normalize: writing the output: {e}");
            ExitCode::from(1)
        }
    }
}

fn run(req: &Request<'_>, out: &mut impl Write) -> Result<(), Failure> {
    let connector = connector(req.vendor)?;
    let data_type = data_type(connector.as_ref(), req.data_type)?;
    let ctx = Context::new(req.vendor, req.data_type, req.patient)
        .map_err(|e| Failure::Input(format!("--patient: {e}")))?;
    let body = read(req.input)?;
    let what = format!("{} {}", req.vendor, req.data_type);
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(Failure::Input(format!("{what}: $: the payload is empty")));
    }
    let page = connector
        .parse(&data_type, &body)
        .map_err(|e| Failure::Input(e.to_string()))?;
    drop(body);
    // Records left out on purpose are said, counted by reason, on stderr.
    let mut reasons: Vec<(&str, usize)> = Vec::new();
    for skipped in &page.skipped {
        match reasons.iter_mut().find(|(r, _)| *r == skipped.reason) {
            Some((_, n)) => *n += 1,
            None => reasons.push((skipped.reason, 1)),
        }
    }
    for (reason, n) in reasons {
        eprintln!("tributary normalize: {what}: skipped {n} record(s): {reason}");
    }
    let mut writer = EntryWriter::start(out)?;
    let mut normalizer = Normalizer::new(&ctx);
    for (i, sample) in page.samples.iter().enumerate() {
        let observations = normalizer
            .normalize(sample)
            .map_err(|e| at_sample(&what, i, sample, e))?;
        for n in observations {
            writer.entry(&n.resource)?;
        }
    }
    writer.finish()
}

fn at_sample(
    what: &str,
    i: usize,
    sample: &tributary_connectors::Sample,
    e: NormalizeError,
) -> Failure {
    let id = sample
        .vendor_record_id
        .as_deref()
        .map(|id| format!(" (id {id:?})"))
        .unwrap_or_default();
    Failure::Input(format!("{what}: record {i}{id}: {e}"))
}

fn connector(vendor: &str) -> Result<std::sync::Arc<dyn Connector>, Failure> {
    // Parsing needs no endpoint; sandbox-only vendors exist only with sandbox ones.
    let endpoints = if registry::is_sandbox_only(vendor) {
        Endpoints::Sandbox {
            base: "http://sandbox.invalid".to_owned(),
        }
    } else {
        Endpoints::Production
    };
    registry::connector(vendor, &endpoints).ok_or_else(|| {
        Failure::Input(format!(
            "unknown vendor {vendor:?}; valid vendors: {}",
            registry::vendor_ids().join(", ")
        ))
    })
}

/// The data type named `id`; `body-measures` is accepted for `body_measures`.
fn data_type(connector: &dyn Connector, id: &str) -> Result<DataType, Failure> {
    let manifest = connector.manifest();
    let id_ = id.replace('-', "_");
    if let Some(file_only) = connector
        .file_only_types()
        .into_iter()
        .find(|d| d.as_str() == id_)
    {
        return Ok(file_only);
    }
    match manifest.data_type(&id_) {
        Some(spec) => Ok(spec.id.clone()),
        None => {
            let ids: Vec<&str> = manifest.data_types.iter().map(|d| d.id.as_str()).collect();
            Err(Failure::Input(format!(
                "{} has no data type {id:?}; its data types: {}",
                manifest.vendor,
                ids.join(", ")
            )))
        }
    }
}

fn read(input: &Path) -> Result<Vec<u8>, Failure> {
    let mut body = Vec::new();
    let result = if input == Path::new("-") {
        io::stdin().lock().read_to_end(&mut body).map(|_| ())
    } else {
        std::fs::File::open(input).and_then(|mut f| f.read_to_end(&mut body).map(|_| ()))
    };
    result
        .map(|()| body)
        .map_err(|e| Failure::Input(format!("cannot read {}: {e}", input.display())))
}

/// A pretty collection Bundle written one typed entry at a time.
struct EntryWriter<'w, W: Write> {
    out: &'w mut W,
    first: bool,
    buf: Vec<u8>,
    pretty: Vec<u8>,
}

impl<'w, W: Write> EntryWriter<'w, W> {
    fn start(out: &'w mut W) -> Result<Self, Failure> {
        out.write_all(b"{\n  \"resourceType\": \"Bundle\",\n  \"type\": \"collection\"")
            .map_err(Failure::Output)?;
        Ok(Self {
            out,
            first: true,
            buf: Vec::with_capacity(4096),
            pretty: Vec::with_capacity(8192),
        })
    }

    /// One entry holding `resource` (compact JSON), pretty-printed in place.
    fn entry(&mut self, resource: &str) -> Result<(), Failure> {
        self.buf.clear();
        self.buf.extend_from_slice(b"{\"resource\":");
        self.buf.extend_from_slice(resource.as_bytes());
        self.buf.push(b'}');
        self.pretty.clear();
        let mut de = serde_json::Deserializer::from_slice(&self.buf);
        json::transcode_pretty(&mut de, &mut self.pretty)
            .map_err(|e| Failure::Output(io::Error::other(e)))?;
        // FHIR JSON has no empty arrays: `entry` opens with its first element.
        let sep: &[u8] = if self.first {
            b",\n  \"entry\": [\n    "
        } else {
            b",\n    "
        };
        self.first = false;
        self.out.write_all(sep).map_err(Failure::Output)?;
        // Indent the entry's lines to sit inside `entry`.
        for (i, line) in self.pretty.split(|&b| b == b'\n').enumerate() {
            if i > 0 {
                self.out.write_all(b"\n    ").map_err(Failure::Output)?;
            }
            self.out.write_all(line).map_err(Failure::Output)?;
        }
        Ok(())
    }

    fn finish(self) -> Result<(), Failure> {
        let end: &[u8] = if self.first { b"\n}\n" } else { b"\n  ]\n}\n" };
        self.out.write_all(end).map_err(Failure::Output)
    }
}
