//! The monthly SLA report read from the database, and its text and HTML forms.
//! The HTML form is one self-contained page with a server-rendered SVG bar chart
//! of each day's availability (no JavaScript, no external assets).

use super::sla::{self, Period, Report};
use super::store;
use crate::db::AnyConnection;
use crate::store::StoreError;
use std::fmt::Write as _;

/// The report of `month` (`YYYY-MM`) as of now.
pub fn load(conn: &mut AnyConnection, month: &str, target: f64) -> Result<Report, StoreError> {
    let (start, end) = sla::month_bounds(month)
        .ok_or_else(|| StoreError::Invalid("month must be YYYY-MM".into()))?;
    let now = crate::store::events::now();
    let samples = store::samples(conn, start, end)?;
    let windows = store::windows(conn, start, end)?;
    let period = Period {
        month: month.to_owned(),
        start,
        end,
        now,
        first_sample: store::first_sample(conn)?,
        target_percent: target,
    };
    Ok(sla::report(&period, &samples, &windows))
}

/// The table `tributary sla report` prints.
pub fn table(r: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "SLA report {}", r.month);
    let _ = writeln!(out, "  scheduled minutes   {:>12.2}", r.scheduled_minutes);
    let _ = writeln!(out, "  excluded minutes    {:>12.2}", r.excluded_minutes);
    let _ = writeln!(out, "  downtime minutes    {:>12.2}", r.downtime_minutes);
    let _ = writeln!(
        out,
        "  availability        {:>11.4} %",
        r.availability_percent
    );
    let _ = writeln!(
        out,
        "  target              {:>11.4} %  {}",
        r.target_percent,
        if r.target_met { "met" } else { "MISSED" }
    );
    let _ = writeln!(out, "\nDowntime");
    if r.downtime.is_empty() {
        let _ = writeln!(out, "  none");
    }
    for d in &r.downtime {
        let _ = writeln!(
            out,
            "  {}  {}  {:>9.2} min  {}",
            d.start, d.end, d.minutes, d.cause
        );
    }
    let _ = writeln!(out, "\nBy component");
    for (c, m) in &r.components {
        let _ = writeln!(out, "  {c:<22} {m:>9.2} min");
    }
    let _ = writeln!(out, "\nVendor outages (not downtime)");
    if r.vendor_outages.is_empty() {
        let _ = writeln!(out, "  none");
    }
    for o in &r.vendor_outages {
        let _ = writeln!(
            out,
            "  {}  {}  {:>9.2} min  {}",
            o.start, o.end, o.minutes, o.vendor
        );
    }
    let _ = writeln!(out, "\nBy vendor");
    for (v, m) in &r.vendors {
        let _ = writeln!(out, "  {v:<22} {m:>9.2} min");
    }
    let _ = writeln!(out, "\nMaintenance");
    for w in &r.maintenance {
        let _ = writeln!(
            out,
            "  {}  {}  {}  excluded {:.2} min  {}",
            w.start,
            w.end,
            if w.announced {
                "announced  "
            } else {
                "unannounced"
            },
            w.excluded_minutes,
            w.reason
        );
    }
    out
}

/// Text for HTML.
pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// A bar per day: height is availability between `floor` % and 100 %; days with
/// nothing scheduled are grey stubs; red bars missed `target`.
pub fn chart(days: &[(String, Option<f64>)], target: f64) -> String {
    let (w, h, bar) = (days.len().max(1) * 12 + 40, 160usize, 10usize);
    let floor = 99.0_f64.min(target - 0.5).min(
        days.iter()
            .filter_map(|d| d.1)
            .fold(100.0_f64, f64::min)
            .floor(),
    );
    let mut svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="Availability per day" id="availability-chart" width="{w}" height="{h}" style="max-width:100%;height:auto" viewBox="0 0 {w} {h}">"#
    );
    let _ = write!(
        svg,
        r##"<rect x="0" y="0" width="{w}" height="{h}" fill="#fafafa"/>"##
    );
    let plot = 130.0;
    let y_of = |p: f64| 10.0 + plot * (1.0 - ((p - floor) / (100.0 - floor)).clamp(0.0, 1.0));
    let ty = y_of(target);
    let _ = write!(
        svg,
        r##"<line x1="30" x2="{w}" y1="{ty:.1}" y2="{ty:.1}" stroke="#888" stroke-dasharray="4 3"/><text x="0" y="{:.1}" font-size="9">{target}%</text>"##,
        ty + 3.0
    );
    let _ = write!(
        svg,
        r#"<text x="0" y="14" font-size="9">100%</text><text x="0" y="143" font-size="9">{floor}%</text>"#
    );
    for (i, (date, p)) in days.iter().enumerate() {
        let x = 32 + i * 12;
        match p {
            Some(p) => {
                let y = y_of(*p);
                let color = if *p >= target { "#2e7d32" } else { "#c62828" };
                let _ = write!(
                    svg,
                    r#"<rect class="day" x="{x}" y="{y:.1}" width="{bar}" height="{:.1}" fill="{color}"><title>{} {p:.3}%</title></rect>"#,
                    140.0 - y,
                    escape(date)
                );
            }
            None => {
                let _ = write!(
                    svg,
                    r##"<rect class="day none" x="{x}" y="137" width="{bar}" height="3" fill="#bbb"><title>{} not measured</title></rect>"##,
                    escape(date)
                );
            }
        }
    }
    svg.push_str("</svg>");
    svg
}

/// `tributary sla report --format html`.
pub fn html(r: &Report) -> String {
    let days: Vec<(String, Option<f64>)> = r
        .days
        .iter()
        .map(|d| (d.date.clone(), d.availability_percent))
        .collect();
    let mut rows = String::new();
    for d in &r.downtime {
        let _ = write!(
            rows,
            "<tr><td>{}</td><td>{}</td><td>{:.2}</td><td>{}</td></tr>",
            escape(&d.start),
            escape(&d.end),
            d.minutes,
            escape(&d.cause)
        );
    }
    let mut vendor_rows = String::new();
    for o in &r.vendor_outages {
        let _ = write!(
            vendor_rows,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{:.2}</td></tr>",
            escape(&o.vendor),
            escape(&o.start),
            escape(&o.end),
            o.minutes
        );
    }
    let mut by_vendor = String::new();
    for (v, m) in &r.vendors {
        let _ = write!(by_vendor, "<tr><td>{}</td><td>{m:.2}</td></tr>", escape(v));
    }
    format!(
        r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>SLA report {month}</title>
<style>body{{font-family:sans-serif;margin:2em}}td,th{{padding:2px 8px;text-align:left}}</style></head>
<body><h1>Availability {month}</h1>
<p id="summary">Availability <strong>{avail:.4} %</strong> (target {target} %: {met}). Scheduled {sched:.2} min, downtime {down:.2} min, excluded maintenance {excl:.2} min.</p>
{chart}
<h2>Downtime</h2><table><tr><th>start</th><th>end</th><th>minutes</th><th>cause</th></tr>{rows}</table>
<h2>Vendor outages</h2><p>Outages at a vendor delay syncs from it; they are not the hub's downtime and do not change its availability.</p>
<table id="vendor-outages"><tr><th>vendor</th><th>start</th><th>end</th><th>minutes</th></tr>{vendor_rows}</table>
<table id="vendors"><tr><th>vendor</th><th>outage minutes</th></tr>{by_vendor}</table>
</body></html>"#,
        month = escape(&r.month),
        avail = r.availability_percent,
        target = r.target_percent,
        met = if r.target_met { "met" } else { "missed" },
        sched = r.scheduled_minutes,
        down = r.downtime_minutes,
        excl = r.excluded_minutes,
        chart = chart(&days, r.target_percent),
    )
}
