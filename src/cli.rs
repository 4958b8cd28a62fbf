//! The command line. Parses arguments and settings, then calls into the library.
//!
//! Exit codes: 0 success, 1 a runtime failure, 2 bad usage or configuration.

use crate::config::{Overrides, Settings};
use crate::{admin, app};
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(
    name = "tributary",
    version,
    about = "Health-data integration hub: vendor APIs in, FHIR R4 out"
)]
struct Cli {
    /// Config file (default: config/tributary.toml when it exists).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Database URL: postgres://USER@HOST/DB or sqlite://PATH. Overrides
    /// TRIBUTARY_DATABASE_URL and the config file. Prefer the environment variable
    /// for URLs with a password: arguments are visible to other local users.
    #[arg(long, global = true, value_name = "URL")]
    database_url: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the hub: API, pages, scheduler and workers.
    Serve {
        /// What this process runs: `api` (API, FHIR API, pages, vendor hooks),
        /// `worker` (sync workers and scheduler; HTTP serves only /healthz, /readyz
        /// and /metrics) or `all`. Several processes may share one PostgreSQL.
        #[arg(long, value_enum, default_value = "all")]
        role: RoleArg,
    },
    /// Apply pending database migrations and exit.
    Migrate,
    /// Serve only the simulated vendor APIs (under /sandbox/{vendor}/…).
    Sandbox {
        /// Address and port to listen on.
        #[arg(long, default_value = "127.0.0.1:9090")]
        listen: std::net::SocketAddr,
    },
    /// Parse a vendor payload and print the FHIR R4 Bundle (type collection) it
    /// becomes. Needs no database or configuration; exit 2 on bad input.
    Normalize {
        /// Vendor id, e.g. demo.
        #[arg(long)]
        vendor: String,
        /// One of the vendor's data types, e.g. heart_rate.
        #[arg(long)]
        data_type: String,
        /// Member id used as the subject (Patient/<id>).
        #[arg(long, default_value = "example")]
        patient: String,
        /// The payload file, or - for stdin.
        #[arg(value_name = "FILE|-")]
        input: PathBuf,
    },
    /// Manage the key ring.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Manage portals (tenants) and their API keys.
    Portal {
        #[command(subcommand)]
        command: PortalCommand,
    },
    /// Check the audit log.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Write a consistent, sealed backup of the database while the hub serves.
    Backup {
        /// The backup file to write (it must not exist).
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Restore a backup into the configured, empty database, then re-apply the
    /// erasures of the erasure journal (erasure.journal_path and each --journal).
    Restore {
        /// The backup file.
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// A further erasure journal to re-apply (repeatable).
        #[arg(long, value_name = "FILE")]
        journal: Vec<PathBuf>,
        /// Restore although the configured erasure journal does not exist and
        /// none is given (no member was ever erased).
        #[arg(long)]
        no_journal: bool,
    },
    /// Monthly availability (SLA) reports.
    Sla {
        #[command(subcommand)]
        command: crate::ops::cli::SlaCommand,
    },
    /// Maintenance windows.
    Maintenance {
        #[command(subcommand)]
        command: crate::ops::cli::MaintenanceCommand,
    },
    /// Open, update and resolve incidents; portals are notified.
    Incident {
        #[command(subcommand)]
        command: crate::ops::cli::IncidentCommand,
    },
    /// Check a running hub from outside (API, database, consent page, status page);
    /// exit 1 when any check fails. Needs no configuration or database.
    Probe {
        /// The hub's base URL, e.g. https://hub.example.org
        #[arg(long)]
        url: String,
        /// Seconds each check may take.
        #[arg(long, default_value = "5")]
        timeout: u64,
    },
    /// Deletion receipts.
    Receipt {
        #[command(subcommand)]
        command: ReceiptCommand,
    },
}

#[derive(Debug, Subcommand)]
enum ReceiptCommand {
    /// Check a deletion receipt's signature, and that this hub signed it: exit 0
    /// when valid, 1 when not (the reason on stderr).
    Verify {
        /// The receipt (JSON, as `DELETE /v1/members/{user_key}` returned it).
        file: PathBuf,
        /// The hub's public key (`GET /v1/receipts/public-key`); without it the
        /// key is derived from this hub's configured master key.
        #[arg(long)]
        public_key: Option<String>,
    },
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum RoleArg {
    Api,
    Worker,
    All,
}

#[derive(Debug, Subcommand)]
enum PortalCommand {
    /// Create a portal and print its id and a new API key with every scope (shown once).
    Create {
        #[arg(long)]
        name: String,
    },
    /// Manage a portal's API keys.
    Key {
        #[command(subcommand)]
        command: PortalKeyCommand,
    },
}

#[derive(Debug, Subcommand)]
enum PortalKeyCommand {
    /// Create an API key (shown once).
    Create {
        #[arg(long)]
        portal: String,
        /// Comma-separated: members:write, data:read, apps:write, webhooks:write; or `all`.
        #[arg(long, default_value = "all")]
        scopes: String,
    },
    /// List a portal's keys (never the secrets).
    List {
        #[arg(long)]
        portal: String,
    },
    /// Revoke a key; it stops working at once.
    Revoke {
        #[arg(long)]
        portal: String,
        key_id: String,
    },
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Check the hash chain; exits 1 naming the first broken entry.
    Verify,
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// Add a new key-encryption key version and re-wrap every member key under it.
    Rotate,
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    // Pure: parse and normalise, before (and without) settings or a database.
    if let Command::Normalize {
        vendor,
        data_type,
        patient,
        input,
    } = &cli.command
    {
        return crate::fhir::normalize_cmd::main(&crate::fhir::normalize_cmd::Request {
            vendor,
            data_type,
            patient,
            input,
        });
    }
    if let Command::Probe { url, timeout } = &cli.command {
        return match crate::ops::probe::run(url, std::time::Duration::from_secs(*timeout)) {
            Ok(p) => {
                println!("{}", serde_json::json!(p));
                if p.up {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::from(1)
                }
            }
            Err(e) => {
                eprintln!("tributary: {e:#}");
                ExitCode::from(1)
            }
        };
    }
    let overrides = Overrides {
        config_file: cli.config.clone(),
        database_url: cli.database_url.clone(),
    };
    let settings = match Settings::load(&overrides) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("tributary: {e}");
            return ExitCode::from(2);
        }
    };
    crate::telemetry::init(&settings.log);
    match run(cli.command, settings) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "failed");
            eprintln!("tributary: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn run(command: Command, settings: Settings) -> anyhow::Result<()> {
    match command {
        // handled in `main`, before settings
        Command::Normalize { .. } | Command::Probe { .. } => Ok(()),
        Command::Sla { command } => crate::ops::cli::sla(&settings, command),
        Command::Maintenance { command } => {
            print_json(&crate::ops::cli::maintenance(&settings, command)?)
        }
        Command::Incident { command } => {
            print_json(&crate::ops::cli::incident(&settings, command)?)
        }
        Command::Serve { role } => {
            let role = match role {
                RoleArg::Api => app::Role::Api,
                RoleArg::Worker => app::Role::Worker,
                RoleArg::All => app::Role::All,
            };
            actix_web::rt::System::new().block_on(app::serve(settings, role))
        }
        Command::Sandbox { listen } => {
            let sandbox = std::sync::Arc::new(app::new_sandbox(&settings.sandbox));
            actix_web::rt::System::new().block_on(crate::sandbox::serve_alone(listen, sandbox))
        }
        Command::Migrate => {
            let (db, applied) = crate::db::open(&settings.database)?;
            print_json(&serde_json::json!({
                "backend": db.backend_name(),
                "applied": applied,
            }))
        }
        Command::Keys {
            command: KeysCommand::Rotate,
        } => {
            let (db, ring) = app::open_storage(&settings)?;
            let mut conn = db.conn()?;
            let rotation = ring.rotate(&mut conn)?;
            tracing::info!(
                new_version = rotation.new_version,
                rewrapped = rotation.rewrapped_member_keys,
                "key ring rotated"
            );
            print_json(&rotation)
        }
        Command::Portal { command } => {
            let (db, _ring) = app::open_storage(&settings)?;
            print_json(&match command {
                PortalCommand::Create { name } => admin::create_portal(&db, &name)?,
                PortalCommand::Key { command } => match command {
                    PortalKeyCommand::Create { portal, scopes } => {
                        admin::create_key(&db, &portal, &scopes)?
                    }
                    PortalKeyCommand::List { portal } => admin::list_keys(&db, &portal)?,
                    PortalKeyCommand::Revoke { portal, key_id } => {
                        admin::revoke_key(&db, &portal, &key_id)?
                    }
                },
            })
        }
        Command::Receipt {
            command: ReceiptCommand::Verify { file, public_key },
        } => print_json(&admin::verify_receipt(
            &settings,
            &file,
            public_key.as_deref(),
        )?),
        Command::Backup { out } => print_json(&crate::backup::backup_command(&settings, &out)?),
        Command::Restore {
            file,
            journal,
            no_journal,
        } => print_json(&crate::backup::restore_command(
            &settings, &file, &journal, no_journal,
        )?),
        Command::Audit {
            command: AuditCommand::Verify,
        } => {
            let (db, _) = crate::db::open(&settings.database)?;
            print_json(&admin::verify_audit(&db)?)
        }
    }
}

fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}
