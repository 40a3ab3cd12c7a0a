//! The command line of SPEC section 2. Every failure is one line on stderr
//! and a non-zero exit status.
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use tokio::net::TcpListener;

use crate::config::{CommonConfig, ServeConfig};
use crate::domain::vocab::Role;
use crate::domain::{App, Clock, auth::Auth, demo, staff};
use crate::storage;

#[derive(Parser, Debug)]
#[command(
    name = "convergeai-alerts",
    version,
    about = "ConvergeAI Alerts: SLA and workload alerts for complaint handling"
)]
pub struct Cli {
    #[command(flatten)]
    pub common: CommonConfig,
    #[command(subcommand)]
    pub command: Command,
}

// Parsed once per process: the size of the `serve` variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Apply migrations, then serve the HTTP API until SIGINT/SIGTERM
    Serve {
        #[command(flatten)]
        serve: ServeConfig,
    },
    /// Apply pending migrations and seed the default roles, permissions and rules (idempotent)
    Migrate,
    /// Run every enabled rule once and print how many alerts each created
    Check,
    /// Manage staff accounts
    Staff {
        #[command(subcommand)]
        command: StaffCommand,
    },
    /// Load the host backend's complaints (first import)
    Import {
        #[command(subcommand)]
        what: ImportCommand,
    },
    /// Manage API keys for services
    ApiKey {
        #[command(subcommand)]
        command: ApiKeyCommand,
    },
    /// Print a valid access token for a staff member on stdout (for curl)
    Token {
        /// Email of an existing, active staff member
        #[arg(long)]
        email: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum ImportCommand {
    /// Upsert complaints by their `external_id` from a JSON-lines file, or a
    /// CSV file (name ending in .csv) with a header row: the fields of
    /// `PUT /complaints/by-external-id`. Bad lines are reported and skipped;
    /// alerts come from the next check
    Complaints {
        file: std::path::PathBuf,
        /// Validate and count only; write nothing
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum ApiKeyCommand {
    /// Create a key and print it on stdout (it cannot be shown again)
    Create {
        /// What the key is for (e.g. "helpdesk backend")
        #[arg(long)]
        name: String,
        /// A permission the key grants (repeat for several), e.g. complaints.write
        #[arg(long = "permission", required = true)]
        permissions: Vec<String>,
        /// When the key stops working (RFC 3339); default: never
        #[arg(long)]
        expires_at: Option<chrono::DateTime<chrono::Utc>>,
    },
}

#[derive(Subcommand, Debug)]
pub enum StaffCommand {
    /// Create a staff member
    Create {
        #[arg(long)]
        email: String,
        /// At least 8 characters besides surrounding spaces, not a common
        /// password nor the email; stored as an Argon2id hash
        #[arg(long, env = "ALERTS_STAFF_PASSWORD", hide_env_values = true)]
        password: String,
        #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(Role::NAMES.iter().copied()))]
        role: String,
        /// Full name (default: the part of the email before @)
        #[arg(long)]
        name: Option<String>,
        /// Phone number for SMS delivery
        #[arg(long)]
        phone: Option<String>,
        /// Email of this staff member's supervisor
        #[arg(long)]
        supervisor: Option<String>,
    },
    /// Deactivate an account: it can no longer sign in, its tokens stop
    /// working and its live connections close (within a minute on a running
    /// server)
    Deactivate {
        #[arg(long)]
        email: String,
    },
    /// Reactivate a deactivated account
    Activate {
        #[arg(long)]
        email: String,
    },
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => return fail(format!("cannot start the async runtime: {e}")),
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => fail(message),
    }
}

fn fail(message: String) -> ExitCode {
    eprintln!("error: {}", message.replace('\n', " "));
    ExitCode::FAILURE
}

/// Logs on stderr (stdout is for command output such as `token`): human
/// readable, or one JSON object per line with `ALERTS_LOG_FORMAT=json`.
fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sea_orm_migration=warn,sqlx=warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if std::env::var("ALERTS_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json")) {
        builder.json().with_current_span(true).init();
    } else {
        builder.init();
    }
}

async fn run(cli: Cli) -> Result<(), String> {
    let db_options = match &cli.command {
        Command::Serve { serve } => serve.db_options(),
        _ => storage::DbOptions::default(),
    };
    let mut app = open_with(&cli.common, &db_options).await?;
    match cli.command {
        Command::Migrate => {
            println!("migrations applied; database is up to date");
            Ok(())
        }
        Command::Serve { serve } => {
            if serve.demo {
                let accounts = demo::load(&app).await.map_err(|e| format!("loading demo data: {e}"))?;
                eprintln!("demo accounts (password {:?}):", demo::DEMO_PASSWORD);
                for (email, role) in &accounts {
                    eprintln!("  {role:<10} {email}");
                }
                app.demo_accounts = Arc::new(demo::described(&accounts));
            }
            let listener =
                TcpListener::bind(serve.bind).await.map_err(|e| format!("cannot listen on {}: {e}", serve.bind))?;
            tracing::info!(database = %storage::redact_url(&cli.common.database_url), "serving");
            crate::launch::launch(app, &serve, listener, shutdown_signal()).await
        }
        Command::Check => {
            let report = crate::domain::engine::check_all(&app).await.map_err(|e| e.to_string())?;
            for r in &report.results {
                println!("{} ({}): {} alerts created", r.rule_name, r.rule_type, r.alerts_created);
            }
            println!("total: {} alerts created", report.total_created);
            Ok(())
        }
        Command::Staff { command: StaffCommand::Create { email, password, role, name, phone, supervisor } } => {
            let input =
                staff::CreateStaff { email, password, role, full_name: name, phone, supervisor_email: supervisor };
            let created = staff::create(&app, input).await.map_err(|e| e.to_string())?;
            println!("created staff member {} (id {})", created.email, created.id);
            Ok(())
        }
        Command::Staff { command: StaffCommand::Deactivate { email } } => {
            let staff = staff::set_active(&app, &email, false).await.map_err(|e| e.to_string())?;
            println!("deactivated staff member {} (id {})", staff.email, staff.id);
            Ok(())
        }
        Command::Staff { command: StaffCommand::Activate { email } } => {
            let staff = staff::set_active(&app, &email, true).await.map_err(|e| e.to_string())?;
            println!("activated staff member {} (id {})", staff.email, staff.id);
            Ok(())
        }
        Command::Import { what: ImportCommand::Complaints { file, dry_run } } => {
            let lines = crate::import_file::read(&file)?;
            let total = lines.len();
            let started = std::time::Instant::now();
            let report = crate::domain::complaints::import(&app, lines, dry_run, |r| {
                eprint!("\rimporting: {}/{total} lines", r.lines);
            })
            .await
            .map_err(|e| e.to_string())?;
            eprintln!();
            for (line, why) in &report.rejected {
                eprintln!("line {line}: {}", why.replace('\n', " "));
            }
            let verb = if dry_run { "would be" } else { "were" };
            println!(
                "{} lines in {:.1} s: {} {verb} created, {} updated, {} unchanged, {} stale (older than stored), {} rejected",
                report.lines,
                started.elapsed().as_secs_f64(),
                report.created,
                report.updated,
                report.unchanged,
                report.stale,
                report.rejected.len()
            );
            if report.rejected.is_empty() {
                Ok(())
            } else {
                Err(format!("{} of {} lines rejected (the others were taken)", report.rejected.len(), report.lines))
            }
        }
        Command::ApiKey { command: ApiKeyCommand::Create { name, permissions, expires_at } } => {
            let new = crate::domain::api_keys::NewApiKey { name, permissions, expires_at };
            let created = crate::domain::api_keys::create(&app, None, new).await.map_err(|e| e.to_string())?;
            eprintln!("created API key {:?} (id {}); it is shown once:", created.name, created.id);
            println!("{}", created.key);
            Ok(())
        }
        Command::Token { email } => {
            let token = staff::token_for(&app, &email).await.map_err(|e| e.to_string())?;
            println!("{}", token.access_token);
            Ok(())
        }
    }
}

/// Connects, migrates and loads the signing secret: what every command needs first.
pub async fn open(common: &CommonConfig) -> Result<App, String> {
    open_with(common, &storage::DbOptions::default()).await
}

/// [`open`] with the pool settings given (`serve` has its own acquire timeout).
pub async fn open_with(common: &CommonConfig, db_options: &storage::DbOptions) -> Result<App, String> {
    let url = &common.database_url;
    storage::validate_url(url)?;
    let db = storage::connect(url, db_options)
        .await
        .map_err(|e| format!("cannot connect to {} (is it running and reachable?): {e}", storage::redact_url(url)))?;
    storage::migrate(&db).await.map_err(|e| format!("migration failed: {e}"))?;
    let clock = Clock::default();
    let secret = Auth::resolve_secret(&db, common.jwt_secret.clone(), clock.now()).await.map_err(|e| e.to_string())?;
    Ok(App {
        db,
        clock,
        auth: Arc::new(Auth::new(&secret, common.token_ttl_seconds)),
        sla: common.sla_hours,
        time_zone: common.time_zone,
        events: Default::default(),
        outbox_wakeup: Default::default(),
        metrics: Default::default(),
        login_throttle: Default::default(),
        sla_settings: Default::default(),
        channels: Default::default(),
        demo_accounts: Default::default(),
    })
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = terminate => {} }
    tracing::info!("shutting down");
}
