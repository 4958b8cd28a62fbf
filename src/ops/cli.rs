//! The operators' commands: `sla report`, `maintenance schedule`, `incident …`,
//! `probe`. `cli.rs` parses; these run.

use crate::config::Settings;
use chrono::NaiveDateTime;
use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum SlaCommand {
    /// The month's availability report: scheduled and downtime minutes, availability
    /// against the target, each downtime interval with its cause.
    Report {
        /// YYYY-MM (UTC).
        #[arg(long)]
        month: String,
        /// table, json, or html (with a per-day SVG chart).
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Format {
    Table,
    Json,
    Html,
}

#[derive(Debug, Subcommand)]
pub enum MaintenanceCommand {
    /// Record a maintenance window and announce it to portals
    /// (`maintenance.scheduled`). Only a window announced before it starts is
    /// excluded from the SLA.
    Schedule {
        /// RFC 3339, e.g. 2026-11-29T22:00:00Z.
        #[arg(long)]
        start: String,
        #[arg(long)]
        end: String,
        #[arg(long)]
        reason: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum IncidentCommand {
    /// Open an incident and notify portals (`incident.opened`).
    Open {
        /// 1 (core functions down) to 4 (minor).
        #[arg(long)]
        severity: i32,
        #[arg(long)]
        title: String,
        #[arg(long, default_value = "")]
        cause: String,
        #[arg(long, default_value = "")]
        message: String,
    },
    /// Post an update (`incident.updated`).
    Update {
        id: String,
        #[arg(long)]
        message: String,
        #[arg(long)]
        severity: Option<i32>,
    },
    /// Resolve (`incident.resolved`).
    Resolve {
        id: String,
        #[arg(long, default_value = "Resolved.")]
        message: String,
    },
}

fn time(what: &str, text: &str) -> anyhow::Result<NaiveDateTime> {
    chrono::DateTime::parse_from_rfc3339(text)
        .map(|t| t.naive_utc())
        .map_err(|e| anyhow::anyhow!("--{what} `{text}` is not an RFC 3339 time: {e}"))
}

pub fn sla(settings: &Settings, command: SlaCommand) -> anyhow::Result<()> {
    let SlaCommand::Report { month, format } = command;
    let (db, _) = crate::db::open(&settings.database)?;
    let mut conn = db.conn()?;
    let report = super::report::load(&mut conn, &month, settings.monitor.sla_target_percent)?;
    match format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        Format::Html => println!("{}", super::report::html(&report)),
        Format::Table => print!("{}", super::report::table(&report)),
    }
    Ok(())
}

pub fn maintenance(
    settings: &Settings,
    command: MaintenanceCommand,
) -> anyhow::Result<serde_json::Value> {
    let MaintenanceCommand::Schedule { start, end, reason } = command;
    let (start, end) = (time("start", &start)?, time("end", &end)?);
    let (db, _) = crate::db::open(&settings.database)?;
    let mut conn = db.conn()?;
    let scheduled = super::maintenance::schedule(&mut conn, start, end, &reason, "operator")?;
    if !scheduled.announced {
        tracing::warn!(
            "the window has already started: it is recorded as unannounced and counts as downtime"
        );
    }
    Ok(serde_json::to_value(scheduled)?)
}

pub fn incident(
    settings: &Settings,
    command: IncidentCommand,
) -> anyhow::Result<serde_json::Value> {
    let (db, _) = crate::db::open(&settings.database)?;
    let mut conn = db.conn()?;
    let incident = match command {
        IncidentCommand::Open {
            severity,
            title,
            cause,
            message,
        } => super::incidents::open(&mut conn, severity, &title, &cause, &message)?,
        IncidentCommand::Update {
            id,
            message,
            severity,
        } => super::incidents::update(&mut conn, &id, &message, severity, false)?,
        IncidentCommand::Resolve { id, message } => {
            super::incidents::update(&mut conn, &id, &message, None, true)?
        }
    };
    Ok(incident.notice_data())
}
