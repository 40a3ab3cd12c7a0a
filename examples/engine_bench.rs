//! Alert-engine benchmark (see `bench/engine.sh` and `docs/perf-engine.md`).
//!
//! Fills a fresh database with 200 staff and N complaints (80 % healthy,
//! 10 % at risk, 10 % breached, 5 % critical across all of them, ~3 %
//! unassigned), then times
//!
//! 1. the first `check_all` (creates every alert),
//! 2. a second `check_all` (everything deduplicated: creates none),
//! 3. the ceiling: one bare `INSERT … SELECT` per rule writing the same
//!    alerts into `alerts_copy` (the columns of `alerts` but `id`, no index,
//!    no dedup, no engine); three runs, emptied in between, median reported,
//! 4. for information: the same bare statements into the real `alerts`
//!    table (its four indexes and the staff foreign key, no dedup).
//!
//! With `--profile` the checks run through a copy of the engine in this file
//! (same statements as `src/storage/engine.rs`, same candidates as
//! `src/domain/engine.rs`) with a timer around every statement, and
//! `--claim-token per-batch` tries the proposed fix (one claim token per
//! batch instead of per rule).
//!
//! ```sh
//! cargo run --release --example engine_bench -- --database-url sqlite:// --complaints 100000
//! cargo run --release --example engine_bench -- --database-url postgres://postgres@127.0.0.1:5432/test --complaints 100000
//! cargo run --release --example engine_bench -- --database-url mysql://root@127.0.0.1:3306/test --complaints 100000
//! ```
//! For MySQL/MariaDB and PostgreSQL the URL names the server: a database
//! with a random name is created on it and dropped at the end. For SQLite a
//! fresh file in a temporary directory is used (any `sqlite:` URL).
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow};
use chrono::{DateTime, TimeDelta, Utc};
use clap::Parser;
use rand::{Rng, SeedableRng, rngs::StdRng};
use sea_orm::ActiveValue::{NotSet, Set};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Query, SimpleExpr};
use sea_orm::{ConnectionTrait, Database, DbBackend, EntityTrait, QueryFilter, Statement, TransactionTrait, Value};
use serde_json::json;

use convergeai_alerts::config::CommonConfig;
use convergeai_alerts::domain::rules::{self, AlertConfig, Conditions, RuleSpec};
use convergeai_alerts::domain::{App, engine};
use convergeai_alerts::storage::Db;
use convergeai_alerts::storage::engine::{self as store, Candidate, ComplaintRow, DedupKey, Scope, StaffRow};
use convergeai_alerts::storage::entities::{alert, complaint, notification_delivery, staff};

#[derive(Parser, Debug)]
#[command(about = "Times the alert engine against a bare INSERT ... SELECT per rule")]
struct Args {
    /// sqlite:… (a fresh temp file is used), or a MySQL/MariaDB or PostgreSQL server URL
    #[arg(long)]
    database_url: String,
    /// Complaints to fill
    #[arg(long, default_value_t = 100_000)]
    complaints: usize,
    /// Seed of the random jitter of deadlines
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Run the checks through this file's instrumented copy of the engine and print per-statement timings
    #[arg(long)]
    profile: bool,
    /// With --profile: `per-rule` (what src/ does) or `per-batch` (proposed fix)
    #[arg(long, default_value = "per-rule", value_parser = ["per-rule", "per-batch"])]
    claim_token: String,
    /// With --profile: `src` (read the new alerts back by resource ids, as src/ does) or `direct`
    /// (PostgreSQL/SQLite: INSERT … RETURNING; MariaDB: the id range from LAST_INSERT_ID())
    #[arg(long, default_value = "src", value_parser = ["src", "direct"])]
    readback: String,
    /// Fill, then stop (with --keep: a database to try statements on by hand)
    #[arg(long)]
    fill_only: bool,
    /// Keep the database (print its URL) instead of dropping it
    #[arg(long)]
    keep: bool,
}

const STAFF: i64 = 200;
const SUPERVISORS: std::ops::RangeInclusive<i64> = 2..=20;
const FIRST_AGENT: i64 = 21;
const AGENTS: i64 = 180;
const BATCH: usize = 1000;
const OPEN: &str = "('open', 'in_progress')";
const COPY_COLUMNS: &str = "alert_type, severity, title, message, resource_type, resource_id, \
     assigned_to_staff_id, is_read, is_dismissed, created_at, expires_at";

fn secs(d: Duration) -> String {
    format!("{:.3}", d.as_secs_f64())
}

fn main() -> Result<()> {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async {
        let target = Target::create(&args.database_url).await?;
        let outcome = run(&args, &target).await;
        if args.keep {
            eprintln!("kept database: {}", target.url);
        } else if let Err(e) = target.drop().await {
            eprintln!("warning: could not drop the bench database: {e:#}");
        }
        outcome
    })
}

/// The fresh database of one run.
struct Target {
    url: String,
    backend_name: &'static str,
    cleanup: Cleanup,
}

enum Cleanup {
    Dir(PathBuf),
    Server { server_url: String, name: String, postgres: bool },
}

fn suffix() -> String {
    let mut rng = rand::rng();
    (0..10).map(|_| char::from(b"abcdefghijklmnopqrstuvwxyz0123456789"[rng.random_range(0..36)])).collect()
}

impl Target {
    async fn create(url: &str) -> Result<Self> {
        let url = url.replacen("mariadb://", "mysql://", 1);
        if url.starts_with("sqlite:") {
            let dir = std::env::temp_dir().join(format!("engine_bench_{}", suffix()));
            std::fs::create_dir_all(&dir)?;
            let url = format!("sqlite://{}", dir.join("bench.db").display());
            return Ok(Self { url, backend_name: "sqlite", cleanup: Cleanup::Dir(dir) });
        }
        let postgres = url.starts_with("postgres");
        let name = format!("engine_bench_{}", suffix());
        let server = Database::connect(url.as_str()).await.context("connecting to the database server")?;
        server.execute_unprepared(&format!("CREATE DATABASE {name}")).await?;
        server.close().await?;
        let mut parsed = url::Url::parse(&url)?;
        parsed.set_path(&format!("/{name}"));
        Ok(Self {
            url: parsed.to_string(),
            backend_name: if postgres { "postgres" } else { "mariadb" },
            cleanup: Cleanup::Server { server_url: url, name, postgres },
        })
    }

    async fn drop(&self) -> Result<()> {
        match &self.cleanup {
            Cleanup::Dir(dir) => std::fs::remove_dir_all(dir)?,
            Cleanup::Server { server_url, name, postgres } => {
                let server = Database::connect(server_url.as_str()).await?;
                let force = if *postgres { " WITH (FORCE)" } else { "" };
                server.execute_unprepared(&format!("DROP DATABASE IF EXISTS {name}{force}")).await?;
                server.close().await?;
            }
        }
        Ok(())
    }
}

async fn run(args: &Args, target: &Target) -> Result<()> {
    let app = convergeai_alerts::cli::open(&CommonConfig {
        database_url: target.url.clone(),
        jwt_secret: None,
        token_ttl_seconds: 3600,
        sla_hours: Default::default(),
    })
    .await
    .map_err(|e| anyhow!(e))?;
    let backend = app.db.get_database_backend();
    let n = args.complaints;
    let tag = format!("backend={} complaints={n}", target.backend_name);

    let t = Instant::now();
    let mix = fill(&app, n, args.seed).await?;
    let fill_time = t.elapsed();
    eprintln!(
        "[{tag}] filled in {} s: {} healthy, {} at risk, {} breached, {} critical, {} unassigned",
        secs(fill_time),
        mix.healthy,
        mix.at_risk,
        mix.breached,
        mix.critical,
        mix.unassigned
    );

    if args.fill_only {
        return Ok(());
    }
    if args.profile {
        let variant =
            Variant { per_batch: args.claim_token == "per-batch", direct_readback: args.readback == "direct" };
        return profile(&app, &tag, variant).await;
    }

    // (a) first check
    let t = Instant::now();
    let first = engine::check_all(&app).await.map_err(|e| anyhow!("first check: {e}"))?;
    let first_time = t.elapsed();
    for r in &first.results {
        println!("CHECK {tag} check=first rule={} created={}", r.rule_name, r.alerts_created);
    }
    eprintln!("[{tag}] first check: {} alerts in {} s", first.total_created, secs(first_time));

    // (b) second check: everything is within its dedup window
    let t = Instant::now();
    let second = engine::check_all(&app).await.map_err(|e| anyhow!("second check: {e}"))?;
    let second_time = t.elapsed();
    eprintln!("[{tag}] second check: {} alerts in {} s", second.total_created, secs(second_time));
    let in_table = count(&app.db, "alerts").await?;
    if in_table != first.total_created + second.total_created {
        eprintln!("warning: alerts table holds {in_table}, the checks reported {}", first.total_created);
    }

    // (c) the ceiling: bare INSERT ... SELECT per rule into an index-free copy
    app.db
        .execute_unprepared(&format!(
            "CREATE TABLE alerts_copy AS SELECT {COPY_COLUMNS}, alert_metadata FROM alerts WHERE 1 = 0"
        ))
        .await?;
    // Three runs (emptied in between, untimed); the median is the ceiling.
    let now = app.clock.now();
    let mut runs = Vec::new();
    let mut bare_total = 0;
    for run in 0..3 {
        if run > 0 {
            let empty = match backend {
                DbBackend::Sqlite => "DELETE FROM alerts_copy",
                _ => "TRUNCATE TABLE alerts_copy",
            };
            app.db.execute_unprepared(empty).await?;
        }
        let (took, rows) = bare(&app.db, backend, "alerts_copy", now, &tag, "copy").await?;
        let copied = count(&app.db, "alerts_copy").await?;
        if copied != rows {
            eprintln!("warning: alerts_copy holds {copied}, the statements reported {rows}");
        }
        runs.push(took);
        bare_total = rows;
    }
    let bare_runs = runs.iter().map(|d| secs(*d)).collect::<Vec<_>>().join("/");
    runs.sort();
    let bare_time = runs[1];

    // (d) for information: the same statements into the real, indexed alerts table
    let (bare_idx_time, _) = bare(&app.db, backend, "alerts", now, &tag, "alerts").await?;

    println!(
        "RESULT {tag} fill_s={} first_check_s={} second_check_s={} bare_sql_s={} bare_runs={bare_runs} bare_idx_s={} \
         alerts_first={} alerts_second={} alerts_bare={}",
        secs(fill_time),
        secs(first_time),
        secs(second_time),
        secs(bare_time),
        secs(bare_idx_time),
        first.total_created,
        second.total_created,
        bare_total
    );
    Ok(())
}

async fn count(db: &Db, table: &str) -> Result<u64> {
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), format!("SELECT COUNT(*) AS n FROM {table}")))
        .await?
        .ok_or_else(|| anyhow!("no count"))?;
    Ok(row.try_get::<i64>("", "n")? as u64)
}

// ---------------------------------------------------------------- fill

#[derive(Default)]
struct Mix {
    healthy: usize,
    at_risk: usize,
    breached: usize,
    critical: usize,
    unassigned: usize,
}

async fn fill(app: &App, n: usize, seed: u64) -> Result<Mix> {
    let db = &app.db;
    let backend = db.get_database_backend();
    let now = app.clock.now();
    let hash = "$argon2id$v=19$m=19456,t=2,p=1$YmVuY2hiZW5jaGJlbmNo$bench-dummy-hash-not-a-real-password";
    let staff_rows: Vec<staff::ActiveModel> = (1..=STAFF)
        .map(|id| {
            let (role, supervisor) = match id {
                1 => (1, None),
                id if SUPERVISORS.contains(&id) => (2, Some(1)),
                id => (3, Some(SUPERVISORS.start() + (id - FIRST_AGENT) % SUPERVISORS.clone().count() as i64)),
            };
            staff::ActiveModel {
                id: Set(id),
                email: Set(format!("staff{id:03}@bench.example")),
                full_name: Set(format!("Staff Member {id:03}")),
                phone: Set(None),
                password_hash: Set(hash.to_owned()),
                role_id: Set(role),
                supervisor_id: Set(supervisor),
                is_active: Set(true),
                created_at: Set(now),
                updated_at: Set(now),
            }
        })
        .collect();
    staff::Entity::insert_many(staff_rows).exec_without_returning(db).await?;
    if backend == DbBackend::Postgres {
        db.execute_unprepared(&format!("SELECT setval(pg_get_serial_sequence('staff', 'id'), {STAFF})")).await?;
    }

    // Categories are exact (i mod 10, blocks of i), the position inside a category is random.
    let mut rng = StdRng::seed_from_u64(seed);
    let mut mix = Mix::default();
    let mut next_agent = 0i64;
    let priorities = ["low", "medium", "high"];
    let mut start = 0;
    while start < n {
        let end = (start + BATCH).min(n);
        let mut rows = Vec::with_capacity(end - start);
        for i in start..end {
            let (created, deadline) = match i % 10 {
                0 => {
                    // at risk: 85–95 % of a 24 h window used
                    mix.at_risk += 1;
                    let window = TimeDelta::hours(24);
                    let used = window.num_seconds() as f64 * rng.random_range(0.85..0.95);
                    let created = now - TimeDelta::seconds(used as i64);
                    (created, created + window)
                }
                1 => {
                    // breached 1–48 h ago
                    mix.breached += 1;
                    let deadline = now - TimeDelta::seconds(rng.random_range(3600..48 * 3600));
                    (deadline - TimeDelta::hours(24), deadline)
                }
                _ => {
                    // healthy: created in the last 2 h, 72 h window
                    mix.healthy += 1;
                    let created = now - TimeDelta::seconds(rng.random_range(0..7200));
                    (created, created + TimeDelta::hours(72))
                }
            };
            let critical = (i / 10) % 20 == 0;
            let unassigned = (i / 200) % 33 == 0;
            mix.critical += critical as usize;
            mix.unassigned += unassigned as usize;
            let assignee = (!unassigned).then(|| {
                next_agent += 1;
                FIRST_AGENT + next_agent % AGENTS
            });
            let customer = i % 10_007;
            rows.push(complaint::ActiveModel {
                id: NotSet,
                title: Set(format!("Order {i} arrived damaged")),
                description: Set(format!("Complaint {i} of the engine benchmark: the parcel was damaged in transit.")),
                customer_name: Set(format!("Customer {customer}")),
                customer_email: Set(Some(format!("customer{customer}@example.com"))),
                priority: Set(if critical { "critical" } else { priorities[i % 3] }.to_owned()),
                status: Set(if (i / 2) % 2 == 0 { "open" } else { "in_progress" }.to_owned()),
                assigned_to_staff_id: Set(assignee),
                sla_deadline: Set(Some(deadline)),
                created_at: Set(created),
                updated_at: Set(created),
                resolved_at: Set(None),
            });
        }
        let txn = db.begin().await?;
        complaint::Entity::insert_many(rows).exec_without_returning(&txn).await?;
        txn.commit().await?;
        start = end;
    }
    let analyze = match backend {
        DbBackend::MySql => "ANALYZE TABLE complaints, staff, roles",
        _ => "ANALYZE",
    };
    db.execute_unprepared(analyze).await?;
    Ok(mix)
}

// ---------------------------------------------------------------- the ceiling

/// Binds `{now}` and `{exp}` in `sql` for the backend.
fn bind(backend: DbBackend, sql: &str, now: DateTime<Utc>, exp: DateTime<Utc>) -> Statement {
    let mut out = String::with_capacity(sql.len());
    let mut values: Vec<Value> = Vec::new();
    let mut rest = sql;
    while let Some(pos) = rest.find('{') {
        out.push_str(&rest[..pos]);
        let token = if rest[pos..].starts_with("{now}") {
            (1, now)
        } else if rest[pos..].starts_with("{exp}") {
            (2, exp)
        } else {
            out.push('{');
            rest = &rest[pos + 1..];
            continue;
        };
        match backend {
            DbBackend::Postgres => out.push_str(&format!("${}", token.0)),
            _ => {
                out.push('?');
                values.push(token.1.into());
            }
        }
        rest = &rest[pos + 5..];
    }
    out.push_str(rest);
    if backend == DbBackend::Postgres {
        values = vec![now.into(), exp.into()];
    }
    Statement::from_sql_and_values(backend, out, values)
}

fn cat(backend: DbBackend, parts: &[&str]) -> String {
    match backend {
        DbBackend::MySql => format!("CONCAT({})", parts.join(", ")),
        _ => parts.join(" || "),
    }
}

/// `b - a` in seconds (as `seconds_between` in src/storage/engine.rs).
fn seconds_between(backend: DbBackend, a: &str, b: &str) -> String {
    match backend {
        DbBackend::Sqlite => format!("((julianday({b}) - julianday({a})) * 86400.0)"),
        DbBackend::Postgres => format!("EXTRACT(EPOCH FROM ({b} - {a}))::float8"),
        _ => format!("(TIMESTAMPDIFF(MICROSECOND, {a}, {b}) / 1000000.0)"),
    }
}

/// One INSERT … SELECT for a complaint rule: the assignee, the assignee's
/// supervisor (if `supervisor`), and for unassigned complaints every active
/// supervisor and admin, as the seeded rules' recipients.
fn complaint_rule_sql(
    table: &str,
    alert_type: &str,
    severity: &str,
    title: &str,
    message: &str,
    condition: &str,
    supervisor: bool,
) -> String {
    let select = |recipient: &str, from: &str, extra: &str| {
        format!(
            "SELECT '{alert_type}', '{severity}', {title}, {message}, 'complaint', c.id, {recipient}, \
             FALSE, FALSE, {{now}}, {{exp}} FROM {from} WHERE {extra}{condition}"
        )
    };
    let assigned = "complaints c JOIN staff a ON a.id = c.assigned_to_staff_id AND a.is_active = TRUE";
    let mut branches = vec![select("a.id", assigned, "")];
    if supervisor {
        branches.push(select(
            "s.id",
            &format!("{assigned} JOIN staff s ON s.id = a.supervisor_id AND s.is_active = TRUE"),
            "",
        ));
    }
    branches.push(select(
        "r.id",
        "complaints c JOIN staff r ON r.is_active = TRUE \
         JOIN roles ro ON ro.id = r.role_id AND ro.name IN ('supervisor', 'admin')",
        "c.assigned_to_staff_id IS NULL AND ",
    ));
    format!("INSERT INTO {table} ({COPY_COLUMNS}) {}", branches.join(" UNION ALL "))
}

fn bare_statements(backend: DbBackend, table: &str) -> Vec<(&'static str, String)> {
    let c = |parts: &[&str]| cat(backend, parts);
    let complaint_message =
        |what: &str| c(&["'Complaint #'", "c.id", "' \"'", "c.title", "'\" ('", "c.priority", &format!("') {what}.'")]);
    let elapsed = seconds_between(backend, "c.created_at", "{now}");
    let window = seconds_between(backend, "c.created_at", "c.sla_deadline");
    vec![
        (
            "sla_breach_critical",
            complaint_rule_sql(
                table,
                "sla_breach",
                "critical",
                &c(&["'SLA breached: complaint #'", "c.id"]),
                &complaint_message("missed its SLA deadline"),
                &format!("c.status IN {OPEN} AND c.sla_deadline <= {{now}}"),
                true,
            ),
        ),
        (
            "sla_at_risk",
            complaint_rule_sql(
                table,
                "sla_at_risk",
                "warning",
                &c(&["'SLA at risk: complaint #'", "c.id"]),
                &complaint_message("has used most of its SLA window"),
                &format!("c.status IN {OPEN} AND c.sla_deadline > {{now}} AND {elapsed} >= 0.8 * {window}"),
                false,
            ),
        ),
        (
            "critical_complaint_created",
            complaint_rule_sql(
                table,
                "critical_complaint",
                "critical",
                &c(&["'Critical complaint #'", "c.id"]),
                &complaint_message("has critical priority"),
                &format!("c.priority = 'critical' AND c.status IN {OPEN}"),
                true,
            ),
        ),
        (
            "high_workload_warning",
            format!(
                "INSERT INTO {table} ({COPY_COLUMNS}) \
                 SELECT 'high_workload', 'warning', {}, {}, 'staff', a.id, r.id, FALSE, FALSE, {{now}}, {{exp}} \
                 FROM (SELECT assigned_to_staff_id AS sid, COUNT(*) AS n FROM complaints \
                       WHERE status IN {OPEN} AND assigned_to_staff_id IS NOT NULL \
                       GROUP BY assigned_to_staff_id HAVING COUNT(*) > 10) w \
                 JOIN staff a ON a.id = w.sid AND a.is_active = TRUE \
                 JOIN staff r ON (r.id = a.id OR r.id = a.supervisor_id) AND r.is_active = TRUE",
                c(&["'High workload: '", "a.full_name"]),
                c(&["a.full_name", "' has '", "w.n", "' open complaints assigned (threshold 10).'"]),
            ),
        ),
    ]
}

/// Runs the bare statements into `table`; returns the summed time and rows.
async fn bare(
    db: &Db,
    backend: DbBackend,
    table: &str,
    now: DateTime<Utc>,
    tag: &str,
    label: &str,
) -> Result<(Duration, u64)> {
    let exp = now + TimeDelta::hours(168);
    let mut total = Duration::ZERO;
    let mut rows = 0;
    for (rule, sql) in bare_statements(backend, table) {
        let stmt = bind(backend, &sql, now, exp);
        let t = Instant::now();
        let result = db.execute_raw(stmt).await.with_context(|| format!("bare SQL of {rule}: {sql}"))?;
        let took = t.elapsed();
        total += took;
        rows += result.rows_affected();
        println!("BARE {tag} into={label} rule={rule} rows={} s={}", result.rows_affected(), secs(took));
    }
    Ok((total, rows))
}

// ---------------------------------------------------------------- profile
//
// A copy of `domain::engine::run` + `storage::engine::claim_and_insert` with a
// timer around each step. Keep in step with src/ when the engine changes.

#[derive(Default)]
struct Phases {
    select: Duration,
    build: Duration,
    begin: Duration,
    upsert: Duration,
    won: Duration,
    won_rows: u64,
    insert: Duration,
    readback: Duration,
    outbox: Duration,
    commit: Duration,
    batches: u64,
    candidates: usize,
    created: u64,
}

impl Phases {
    fn total(&self) -> Duration {
        self.select
            + self.build
            + self.begin
            + self.upsert
            + self.won
            + self.insert
            + self.readback
            + self.outbox
            + self.commit
    }
}

/// Which fixes the profiled copy of the engine applies.
#[derive(Clone, Copy)]
struct Variant {
    /// Claim each batch under its own token, so the "won" SELECT sees only that batch.
    per_batch: bool,
    /// Get the inserted rows from the INSERT itself (or their id range) instead of a query by resource ids.
    direct_readback: bool,
}

async fn profile(app: &App, tag: &str, variant: Variant) -> Result<()> {
    let token = format!(
        "{} readback={}",
        if variant.per_batch { "per-batch" } else { "per-rule" },
        if variant.direct_readback { "direct" } else { "src" }
    );
    let mut totals = Vec::new();
    for check in ["first", "second"] {
        let t = Instant::now();
        let specs = rules::enabled_specs(app).await.map_err(|e| anyhow!("{e}"))?;
        let staff = StaffIndex::new(store::active_staff(&app.db).await?);
        let mut created = 0;
        for spec in &specs {
            let mut p = Phases::default();
            let now = app.clock.now();
            // Routes::load (subscriptions of the alert type); the bench has none, so no candidate changes.
            let t = Instant::now();
            let subs = convergeai_alerts::storage::subscriptions::of_type(&app.db, &spec.config.alert_type).await?;
            p.select += t.elapsed();
            if !subs.is_empty() {
                eprintln!(
                    "warning: the profile ignores the {} subscriptions of {}",
                    subs.len(),
                    spec.config.alert_type
                );
            }
            let candidates = profiled_candidates(app, spec, &staff, now, &mut p).await?;
            p.candidates = candidates.len();
            let window = TimeDelta::hours(spec.config.dedup_window_hours);
            claim_and_insert(&app.db, &run_id(), window, now, candidates, variant, &mut p).await?;
            created += p.created;
            println!(
                "PHASE {tag} token={token} check={check} rule={} candidates={} created={} batches={} \
                 select_s={} build_s={} begin_s={} upsert_s={} won_select_s={} won_rows={} insert_s={} readback_s={} \
                 outbox_s={} commit_s={} total_s={}",
                spec.rule_name,
                p.candidates,
                p.created,
                p.batches,
                secs(p.select),
                secs(p.build),
                secs(p.begin),
                secs(p.upsert),
                secs(p.won),
                p.won_rows,
                secs(p.insert),
                secs(p.readback),
                secs(p.outbox),
                secs(p.commit),
                secs(p.total())
            );
        }
        let took = t.elapsed();
        eprintln!("[{tag}] profiled {check} check ({token}): {created} alerts in {} s", secs(took));
        totals.push((took, created));
    }
    println!(
        "PROFILE {tag} token={token} first_check_s={} second_check_s={} alerts_first={} alerts_second={}",
        secs(totals[0].0),
        secs(totals[1].0),
        totals[0].1,
        totals[1].1
    );
    Ok(())
}

fn run_id() -> String {
    let mut rng = rand::rng();
    (0..24).map(|_| char::from(b"0123456789abcdef"[rng.random_range(0..16)])).collect()
}

struct StaffIndex {
    by_id: HashMap<i64, StaffRow>,
    by_role: HashMap<String, Vec<i64>>,
}

impl StaffIndex {
    fn new(rows: Vec<StaffRow>) -> Self {
        let mut by_role: HashMap<String, Vec<i64>> = HashMap::new();
        for s in &rows {
            by_role.entry(s.role.clone()).or_default().push(s.id);
        }
        Self { by_id: rows.into_iter().map(|s| (s.id, s)).collect(), by_role }
    }

    fn name(&self, id: i64) -> Option<&str> {
        self.by_id.get(&id).map(|s| s.full_name.as_str())
    }

    fn recipients(&self, config: &AlertConfig, owner: Option<i64>) -> Vec<i64> {
        let owner = owner.filter(|id| self.by_id.contains_key(id));
        let specs = if owner.is_some() { &config.recipients } else { &config.unassigned_recipients };
        let mut ids = Vec::new();
        for spec in specs {
            match (spec.as_str(), owner) {
                ("assignee", Some(o)) => ids.push(o),
                ("assignee_supervisor", Some(o)) => ids.extend(
                    self.by_id.get(&o).and_then(|s| s.supervisor_id).filter(|sup| self.by_id.contains_key(sup)),
                ),
                (role, _) => {
                    if let Some(members) = role.strip_prefix("role:").and_then(|r| self.by_role.get(r)) {
                        ids.extend(members);
                    }
                }
            }
        }
        ids.sort_unstable();
        ids.dedup();
        ids
    }
}

async fn profiled_candidates(
    app: &App,
    spec: &RuleSpec,
    staff: &StaffIndex,
    now: DateTime<Utc>,
    p: &mut Phases,
) -> Result<Vec<Candidate>> {
    let mut out = Vec::new();
    let open: Vec<String> = ["open", "in_progress"].iter().map(|s| (*s).to_owned()).collect();
    match &spec.conditions {
        Conditions::Sla(c) if c.sla_state == "breached" => {
            let t = Instant::now();
            let rows = store::sla_breached(&app.db, &c.statuses, now, Scope::All).await?;
            p.select += t.elapsed();
            let t = Instant::now();
            for complaint in rows {
                let deadline = complaint.sla_deadline.unwrap_or(now);
                let late = engine::format_duration(now - deadline);
                let text = |who: &str| {
                    (
                        format!("SLA breached: complaint #{}", complaint.id),
                        format!(
                            "Complaint #{} \"{}\" ({}, {who}) missed its SLA deadline of {} by {late}.",
                            complaint.id,
                            complaint.title,
                            complaint.priority,
                            deadline.format("%Y-%m-%d %H:%M UTC")
                        ),
                    )
                };
                let extra = json!({"overdue_seconds": (now - deadline).num_seconds()});
                complaint_candidates(spec, staff, &complaint, now, text, extra, &mut out);
            }
            p.build += t.elapsed();
        }
        Conditions::Sla(c) => {
            let share = c.threshold_percent.unwrap_or(80.0) / 100.0;
            let t = Instant::now();
            let rows = store::sla_at_risk(&app.db, &c.statuses, share, now, Scope::All).await?;
            p.select += t.elapsed();
            let t = Instant::now();
            for complaint in rows {
                let deadline = complaint.sla_deadline.unwrap_or(now);
                let total = std::cmp::max((deadline - complaint.created_at).num_seconds(), 1);
                let used = ((now - complaint.created_at).num_seconds() * 100 / total).clamp(0, 100);
                let left = engine::format_duration(deadline - now);
                let text = |who: &str| {
                    (
                        format!("SLA at risk: complaint #{}", complaint.id),
                        format!(
                            "Complaint #{} \"{}\" ({}, {who}) has used {used}% of its SLA window: {left} left until {}.",
                            complaint.id,
                            complaint.title,
                            complaint.priority,
                            deadline.format("%Y-%m-%d %H:%M UTC")
                        ),
                    )
                };
                let extra = json!({"elapsed_percent": used, "seconds_left": (deadline - now).num_seconds()});
                complaint_candidates(spec, staff, &complaint, now, text, extra, &mut out);
            }
            p.build += t.elapsed();
        }
        Conditions::Event(c) => {
            let statuses: Vec<&str> = open.iter().map(String::as_str).collect();
            let t = Instant::now();
            let rows = store::with_priority(&app.db, &c.priority, &statuses, Scope::All).await?;
            p.select += t.elapsed();
            let t = Instant::now();
            for complaint in rows {
                let deadline =
                    complaint.sla_deadline.map(|d| d.format("%Y-%m-%d %H:%M UTC").to_string()).unwrap_or("none".into());
                let text = |who: &str| {
                    (
                        format!("{} complaint #{}", capitalise(&complaint.priority), complaint.id),
                        format!(
                            "Complaint #{} \"{}\" from {} has {} priority ({who}); SLA deadline {deadline}.",
                            complaint.id, complaint.title, complaint.customer_name, complaint.priority
                        ),
                    )
                };
                complaint_candidates(spec, staff, &complaint, now, text, json!({}), &mut out);
            }
            p.build += t.elapsed();
        }
        Conditions::Threshold(c) => {
            let statuses: Vec<&str> = open.iter().map(String::as_str).collect();
            let t = Instant::now();
            let rows = store::overloaded_staff(&app.db, &statuses, c.threshold, Scope::All).await?;
            p.select += t.elapsed();
            let t = Instant::now();
            for (staff_id, open) in rows {
                let Some(name) = staff.name(staff_id) else { continue };
                let title = format!("High workload: {name}");
                let message = format!("{name} has {open} open complaints assigned (threshold {}).", c.threshold);
                let metadata = json!({
                    "rule_id": spec.id, "rule_name": spec.rule_name, "staff_id": staff_id,
                    "open_complaints": open, "threshold": c.threshold,
                });
                for recipient in staff.recipients(&spec.config, Some(staff_id)) {
                    out.push(candidate(
                        spec,
                        "staff",
                        staff_id,
                        recipient,
                        "workload".into(),
                        &title,
                        &message,
                        &metadata,
                        now,
                    ));
                }
            }
            p.build += t.elapsed();
        }
    }
    Ok(out)
}

fn complaint_candidates(
    spec: &RuleSpec,
    staff: &StaffIndex,
    complaint: &ComplaintRow,
    now: DateTime<Utc>,
    text: impl Fn(&str) -> (String, String),
    extra: serde_json::Value,
    out: &mut Vec<Candidate>,
) {
    let assignee = complaint.assigned_to_staff_id.filter(|id| staff.by_id.contains_key(id));
    let who = match assignee.and_then(|id| staff.name(id)) {
        Some(name) => format!("assigned to {name}"),
        None => "unassigned".to_owned(),
    };
    let (title, message) = text(&who);
    let version =
        format!("{}|{}", complaint.sla_deadline.map(|d| d.timestamp_micros()).unwrap_or_default(), complaint.priority);
    let mut metadata = json!({
        "rule_id": spec.id, "rule_name": spec.rule_name, "complaint_id": complaint.id,
        "priority": complaint.priority, "status": complaint.status,
        "assigned_to_staff_id": assignee, "sla_deadline": complaint.sla_deadline,
    });
    if let (Some(m), Some(e)) = (metadata.as_object_mut(), extra.as_object()) {
        m.extend(e.clone());
    }
    for recipient in staff.recipients(&spec.config, assignee) {
        out.push(candidate(
            spec,
            "complaint",
            complaint.id,
            recipient,
            version.clone(),
            &title,
            &message,
            &metadata,
            now,
        ));
    }
}

#[allow(clippy::too_many_arguments)]
fn candidate(
    spec: &RuleSpec,
    resource_type: &str,
    resource_id: i64,
    recipient: i64,
    version: String,
    title: &str,
    message: &str,
    metadata: &serde_json::Value,
    now: DateTime<Utc>,
) -> Candidate {
    let config = &spec.config;
    Candidate {
        key: DedupKey {
            alert_type: config.alert_type.clone(),
            resource_type: resource_type.to_owned(),
            resource_id,
            recipient_staff_id: recipient,
        },
        version,
        alert: alert::ActiveModel {
            id: NotSet,
            alert_type: Set(config.alert_type.clone()),
            severity: Set(config.severity.clone()),
            title: Set(title.chars().take(255).collect()),
            message: Set(message.to_owned()),
            resource_type: Set(Some(resource_type.to_owned())),
            resource_id: Set(Some(resource_id)),
            assigned_to_staff_id: Set(recipient),
            is_read: Set(false),
            is_dismissed: Set(false),
            alert_metadata: Set(Some(metadata.clone())),
            created_at: Set(now),
            read_at: Set(None),
            dismissed_at: Set(None),
            expires_at: Set(Some(now + TimeDelta::hours(config.expires_after_hours))),
        },
        outbox_channels: Vec::new(),
    }
}

fn capitalise(s: &str) -> String {
    let mut chars = s.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

fn placeholder(backend: DbBackend, n: usize) -> String {
    match backend {
        DbBackend::Postgres => format!("${n}"),
        _ => "?".to_owned(),
    }
}

fn claim_on_conflict(backend: DbBackend, cutoff: DateTime<Utc>) -> OnConflict {
    let key = ["alert_type", "resource_type", "resource_id", "recipient_staff_id"];
    match backend {
        DbBackend::MySql => {
            let cond = "alert_dedup.window_start < ? OR alert_dedup.version <> VALUES(version)";
            let assign = |col: &str| -> SimpleExpr {
                Expr::cust_with_values(format!("IF({cond}, VALUES({col}), alert_dedup.{col})"), [cutoff])
            };
            OnConflict::columns(key)
                .value("claimed_by", assign("claimed_by"))
                .value("window_start", assign("window_start"))
                .value("version", assign("version"))
                .to_owned()
        }
        _ => OnConflict::columns(key)
            .update_columns(["claimed_by", "window_start", "version"])
            .action_and_where(Expr::cust_with_values(
                format!(
                    "alert_dedup.window_start < {} OR alert_dedup.version <> excluded.version",
                    placeholder(backend, 1)
                ),
                [cutoff],
            ))
            .to_owned(),
    }
}

/// `storage::engine::claim_and_insert` with timers; `per_batch` claims each
/// batch under its own token (`run_id:n`) so the "won" SELECT only sees it.
#[allow(clippy::too_many_arguments)]
async fn claim_and_insert(
    db: &Db,
    run_id: &str,
    window: TimeDelta,
    now: DateTime<Utc>,
    candidates: Vec<Candidate>,
    variant: Variant,
    p: &mut Phases,
) -> Result<()> {
    let backend = db.get_database_backend();
    let mut remaining = candidates;
    while !remaining.is_empty() {
        let rest = remaining.split_off(remaining.len().min(BATCH));
        let batch = std::mem::replace(&mut remaining, rest);
        let token = if variant.per_batch { format!("{run_id}:{}", p.batches) } else { run_id.to_owned() };
        p.batches += 1;

        let t = Instant::now();
        let txn = store::begin_write(db).await?;
        p.begin += t.elapsed();

        let t = Instant::now();
        let mut upsert = Query::insert();
        upsert.into_table("alert_dedup").columns([
            "alert_type",
            "resource_type",
            "resource_id",
            "recipient_staff_id",
            "window_start",
            "version",
            "claimed_by",
        ]);
        for c in &batch {
            upsert.values_panic([
                c.key.alert_type.clone().into(),
                c.key.resource_type.clone().into(),
                c.key.resource_id.into(),
                c.key.recipient_staff_id.into(),
                now.into(),
                c.version.clone().into(),
                token.as_str().into(),
            ]);
        }
        upsert.on_conflict(claim_on_conflict(backend, now - window));
        txn.execute(&upsert).await?;
        p.upsert += t.elapsed();

        let t = Instant::now();
        let won = Query::select()
            .columns(["alert_type", "resource_type", "resource_id", "recipient_staff_id"])
            .from("alert_dedup")
            .and_where(Expr::col("claimed_by").eq(token.as_str()))
            .take();
        let rows = txn.query_all(&won).await?;
        p.won_rows += rows.len() as u64;
        let won: HashSet<DedupKey> = rows
            .iter()
            .map(|r| {
                Ok(DedupKey {
                    alert_type: r.try_get("", "alert_type")?,
                    resource_type: r.try_get("", "resource_type")?,
                    resource_id: r.try_get("", "resource_id")?,
                    recipient_staff_id: r.try_get("", "recipient_staff_id")?,
                })
            })
            .collect::<Result<_, sea_orm::DbErr>>()?;
        p.won += t.elapsed();

        let t = Instant::now();
        let won: Vec<Candidate> = batch.into_iter().filter(|c| won.contains(&c.key)).collect();
        if won.is_empty() {
            p.insert += t.elapsed();
        } else {
            let (alert_type, resource_type) = (won[0].key.alert_type.clone(), won[0].key.resource_type.clone());
            let inserted: Vec<alert::Model> = if variant.direct_readback && backend != DbBackend::MySql {
                // INSERT … RETURNING: the rows come back with the insert (so read-back time is inside insert_s)
                let models =
                    alert::Entity::insert_many(won.iter().map(|c| c.alert.clone())).exec_with_returning(&txn).await?;
                p.insert += t.elapsed();
                models
            } else {
                alert::Entity::insert_many(won.iter().map(|c| c.alert.clone())).exec_without_returning(&txn).await?;
                p.insert += t.elapsed();
                let t = Instant::now();
                let models = if variant.direct_readback {
                    // MariaDB: one multi-row INSERT gets consecutive ids (innodb_autoinc_lock_mode 0 or 1)
                    let first = txn
                        .query_one_raw(Statement::from_string(backend, "SELECT LAST_INSERT_ID() AS id"))
                        .await?
                        .ok_or_else(|| anyhow!("no LAST_INSERT_ID"))?
                        .try_get::<u64>("", "id")? as i64;
                    alert::Entity::find()
                        .filter(Expr::col(alert::Column::Id).gte(first))
                        .filter(Expr::col(alert::Column::Id).lt(first + won.len() as i64))
                        .all(&txn)
                        .await?
                } else {
                    // as src/storage/engine.rs: by type, time and resource ids
                    let resource_ids: Vec<i64> = won.iter().map(|c| c.key.resource_id).collect();
                    alert::Entity::find()
                        .filter(Expr::col(alert::Column::AlertType).eq(alert_type))
                        .filter(Expr::col(alert::Column::ResourceType).eq(resource_type))
                        .filter(Expr::col(alert::Column::CreatedAt).eq(now))
                        .filter(Expr::col(alert::Column::ResourceId).is_in(resource_ids))
                        .all(&txn)
                        .await?
                };
                p.readback += t.elapsed();
                models
            };
            if inserted.len() != won.len() {
                eprintln!("warning: {} alerts inserted, {} read back", won.len(), inserted.len());
            }
            let t = Instant::now();
            let channels: HashMap<(i64, i64), &Vec<&'static str>> =
                won.iter().map(|c| ((c.key.resource_id, c.key.recipient_staff_id), &c.outbox_channels)).collect();
            let mut outbox = Vec::new();
            for alert in &inserted {
                let key = (alert.resource_id.unwrap_or_default(), alert.assigned_to_staff_id);
                let Some(channels) = channels.get(&key) else { continue };
                for channel in channels.iter() {
                    outbox.push(notification_delivery::ActiveModel {
                        id: NotSet,
                        alert_id: Set(alert.id),
                        staff_id: Set(alert.assigned_to_staff_id),
                        channel: Set((*channel).to_owned()),
                        status: Set("pending".to_owned()),
                        attempts: Set(0),
                        next_attempt_at: Set(now),
                        claimed_until: Set(None),
                        last_error: Set(None),
                        created_at: Set(now),
                        updated_at: Set(now),
                        sent_at: Set(None),
                    });
                }
                p.created += 1;
            }
            for chunk in outbox.chunks(BATCH) {
                notification_delivery::Entity::insert_many(chunk.to_vec()).exec_without_returning(&txn).await?;
            }
            p.outbox += t.elapsed();
        }

        let t = Instant::now();
        txn.commit().await?;
        p.commit += t.elapsed();
    }
    Ok(())
}
