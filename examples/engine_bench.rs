//! Alert-engine benchmark (see `bench/engine.sh` and `docs/PERFORMANCE.md`).
//!
//! Fills a fresh database with 200 staff and N complaints (80 % healthy,
//! 10 % at risk, 10 % breached, 5 % critical across all of them, ~3 %
//! unassigned), then times
//!
//! 1. the first `check_all` (creates every alert),
//! 2. a second `check_all` (everything deduplicated: creates none),
//! 3. the ceiling: one bare `INSERT … SELECT` per rule writing the same
//!    alerts into `alerts_copy_idx`, a copy of `alerts` with its primary key
//!    and all its indexes but no foreign key, no dedup, no engine (the
//!    target is judged against this one); three runs, emptied in between,
//!    median reported,
//! 4. for information: the same into `alerts_copy` (the columns of `alerts`
//!    but `id`, no index at all; median of three), and once into the real
//!    `alerts` table (its indexes, the staff foreign key, the checks' alerts).
//!
//! Per-statement timings of the engine: `RUST_LOG=convergeai_alerts::storage::engine=debug`.
//!
//! ```sh
//! cargo run --release --example engine_bench -- --database-url sqlite:// --complaints 100000
//! cargo run --release --example engine_bench -- --database-url postgres://postgres@127.0.0.1:5432/test --complaints 100000
//! cargo run --release --example engine_bench -- --database-url mysql://root@127.0.0.1:3306/test --complaints 100000
//! ```
//! For MySQL/MariaDB and PostgreSQL the URL names the server: a database
//! with a random name is created on it and dropped at the end. For SQLite a
//! fresh file in a temporary directory is used (any `sqlite:` URL).
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow};
use chrono::{DateTime, TimeDelta, Utc};
use clap::Parser;
use rand::{Rng, SeedableRng, rngs::StdRng};
use sea_orm::ActiveValue::{NotSet, Set};
use sea_orm::{ConnectionTrait, Database, DbBackend, EntityTrait, Statement, TransactionTrait, Value};

use convergeai_alerts::config::CommonConfig;
use convergeai_alerts::domain::{App, engine};
use convergeai_alerts::storage::Db;
use convergeai_alerts::storage::entities::{complaint, staff};

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

    // (c) the ceiling: bare INSERT ... SELECT per rule into a copy of `alerts`
    // with the same indexes (what the real table must maintain; the target is
    // judged against it), and (c') into an index-free copy, for information.
    let now = app.clock.now();
    create_indexed_copy(&app.db, backend).await?;
    let (bare_copy_idx_time, copy_idx_runs, bare_total) =
        bare_median(&app.db, backend, "alerts_copy_idx", now, &tag).await?;
    app.db
        .execute_unprepared(&format!(
            "CREATE TABLE alerts_copy AS SELECT {COPY_COLUMNS}, alert_metadata FROM alerts WHERE 1 = 0"
        ))
        .await?;
    let (bare_time, bare_runs, _) = bare_median(&app.db, backend, "alerts_copy", now, &tag).await?;

    // (d) for information: the same statements into the real alerts table
    // (its indexes, the staff foreign key, and the alerts of the checks)
    let (bare_idx_time, _) = bare(&app.db, backend, "alerts", now, &tag, "alerts").await?;

    println!(
        "RESULT {tag} fill_s={} first_check_s={} second_check_s={} bare_copy_idx_s={} bare_copy_idx_runs={copy_idx_runs} \
         bare_sql_s={} bare_runs={bare_runs} bare_idx_s={} alerts_first={} alerts_second={} alerts_bare={}",
        secs(fill_time),
        secs(first_time),
        secs(second_time),
        secs(bare_copy_idx_time),
        secs(bare_time),
        secs(bare_idx_time),
        first.total_created,
        second.total_created,
        bare_total
    );
    Ok(())
}

/// `alerts_copy_idx`: `alerts` with its primary key, every index, its
/// foreign key to `staff` and the statistics triggers (which write the same
/// rollups): everything the real table maintains on an insert
/// (`CREATE TABLE … LIKE` on MySQL and PostgreSQL, the key and triggers added).
async fn create_indexed_copy(db: &Db, backend: DbBackend) -> Result<()> {
    match backend {
        DbBackend::MySql => db.execute_unprepared("CREATE TABLE alerts_copy_idx LIKE alerts").await.map(|_| ())?,
        DbBackend::Postgres => {
            db.execute_unprepared("CREATE TABLE alerts_copy_idx (LIKE alerts INCLUDING ALL)").await.map(|_| ())?
        }
        _ => {
            let rows = db
                .query_all_raw(Statement::from_string(
                    backend,
                    "SELECT sql FROM sqlite_master WHERE tbl_name = 'alerts' AND sql IS NOT NULL \
                     AND type IN ('table', 'index') ORDER BY type DESC",
                ))
                .await?;
            for row in rows {
                let sql: String = row.try_get("", "sql")?;
                let sql = sql.replace("\"alerts\"", "\"alerts_copy_idx\"").replace("\"idx_alerts_", "\"idx_copy_");
                db.execute_unprepared(&sql).await?;
            }
        }
    }
    if backend != DbBackend::Sqlite {
        // (SQLite's copy keeps the key from the table's DDL.)
        db.execute_unprepared(
            "ALTER TABLE alerts_copy_idx ADD CONSTRAINT fk_copy_staff FOREIGN KEY (assigned_to_staff_id) \
             REFERENCES staff (id) ON DELETE CASCADE",
        )
        .await?;
    }
    for sql in convergeai_alerts::storage::rollups::triggers(backend, "alerts_copy_idx") {
        db.execute_unprepared(&sql).await?;
    }
    Ok(())
}

/// Three runs of the bare statements into `table` (emptied in between,
/// untimed): the median time, the runs, and the rows.
async fn bare_median(
    db: &Db,
    backend: DbBackend,
    table: &str,
    now: DateTime<Utc>,
    tag: &str,
) -> Result<(Duration, String, u64)> {
    let mut runs = Vec::new();
    let mut total = 0;
    for run in 0..3 {
        if run > 0 {
            let empty = match backend {
                DbBackend::Sqlite => format!("DELETE FROM {table}"),
                _ => format!("TRUNCATE TABLE {table}"),
            };
            db.execute_unprepared(&empty).await?;
        }
        let (took, rows) = bare(db, backend, table, now, tag, table).await?;
        let copied = count(db, table).await?;
        if copied != rows {
            eprintln!("warning: {table} holds {copied}, the statements reported {rows}");
        }
        runs.push(took);
        total = rows;
    }
    let listed = runs.iter().map(|d| secs(*d)).collect::<Vec<_>>().join("/");
    runs.sort();
    Ok((runs[1], listed, total))
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
