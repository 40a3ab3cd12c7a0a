//! Alert-engine benchmark (see `bench/engine.sh` and `docs/PERFORMANCE.md`).
//!
//! Fills a fresh database with 200 staff and N complaints (80 % healthy,
//! 10 % at risk, 10 % breached, 5 % critical across all of them, ~3 %
//! unassigned), settles it (see `settle`), then times
//!
//! 1. the first `check_all` (creates every alert) and
//! 2. a second `check_all` (everything deduplicated: creates none), both
//!    `--runs` times (default 3, the alerts deleted in between), median
//!    reported;
//! 3. the ceiling: per rule the very alerts the first check writes, as one
//!    bare `INSERT … SELECT` (`storage::engine::bare_insert`: the engine's
//!    statement without the dedup, no engine around it) into
//!    `alerts_copy_idx`, a copy of `alerts` with its primary key, all its
//!    indexes, its foreign key and its statistics triggers (the target is
//!    judged against this one); three runs, emptied in between, median
//!    reported;
//! 4. for information: the same into `alerts_copy` (the columns of `alerts`
//!    but `id` and the dedup ones, no index at all; median of three), and
//!    once into the real `alerts` table (its indexes, the staff foreign key,
//!    the checks' alerts).
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
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow};
use chrono::{DateTime, TimeDelta, Utc};
use clap::Parser;
use rand::{Rng, SeedableRng, rngs::StdRng};
use sea_orm::ActiveValue::{NotSet, Set};
use sea_orm::{ConnectionTrait, DbBackend, EntityTrait, Statement, TransactionTrait};

use convergeai_alerts::config::CommonConfig;
use convergeai_alerts::domain::{App, engine, sla};
use convergeai_alerts::storage::Db;
use convergeai_alerts::storage::dialect::Dialect;
use convergeai_alerts::storage::engine::{RulePlan, bare_counts, bare_insert};
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
    /// Fill, check once, then time 500 creates on the 24x7 calendar only
    /// (with `RUST_LOG=sqlx::query=debug`: each statement of a create)
    #[arg(long)]
    creates_only: bool,
    /// Fill, then re-project every clock onto a business calendar only
    #[arg(long)]
    reproject_only: bool,
    /// Keep the database (print its URL) instead of dropping it
    #[arg(long)]
    keep: bool,
    /// Runs of the first and second check (median reported)
    #[arg(long, default_value_t = 3)]
    runs: usize,
}

const STAFF: i64 = 200;
const SUPERVISORS: std::ops::RangeInclusive<i64> = 2..=20;
const FIRST_AGENT: i64 = 21;
const AGENTS: i64 = 180;
const BATCH: usize = 1000;
/// The seeded `sla_at_risk` rule (threshold 80 %).
const AT_RISK_RULE: i64 = 2;
/// The columns a bare insert writes (all of `alerts` but the id and the dedup
/// ones, with the stamp: see `storage::engine::bare_counts`).
const COPY_COLUMNS: &str = "alert_type, severity, title, message, resource_type, resource_id, \
     assigned_to_staff_id, is_read, is_dismissed, alert_metadata, created_at, dismissed_at, expires_at, check_run";

fn secs(d: Duration) -> String {
    format!("{:.3}", d.as_secs_f64())
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
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
        let target = Target::create(&args.database_url, "engine_bench").await.map_err(|e| anyhow!(e))?;
        let outcome = run(&args, &target).await;
        if args.keep {
            eprintln!("kept database: {}", target.url);
        } else if let Err(e) = target.remove().await {
            eprintln!("warning: could not drop the bench database: {e:#}");
        }
        outcome
    })
}

#[path = "../tests/support/scratch_db.rs"]
mod scratch_db;

/// The fresh database of one run.
type Target = scratch_db::ScratchDb;

async fn run(args: &Args, target: &Target) -> Result<()> {
    let app = convergeai_alerts::cli::open(&CommonConfig {
        database_url: target.url.clone(),
        jwt_secret: None,
        token_ttl_seconds: 3600,
        sla_hours: Default::default(),
        time_zone: chrono_tz::Tz::UTC,
    })
    .await
    .map_err(|e| anyhow!(e))?;
    let backend = app.db.get_database_backend();
    let n = args.complaints;
    let tag = format!("backend={} complaints={n}", target.backend_name);

    let t = Instant::now();
    let mix = fill(&app, n, args.seed).await?;
    let fill_time = t.elapsed();
    settle(&app.db, backend).await?;
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
    if args.reproject_only {
        let (took, done) = reproject_onto_business(&app).await?;
        println!("{}", reprojection_result(&tag, took, &done));
        return Ok(());
    }
    if args.creates_only {
        engine::check_all(&app).await.map_err(|e| anyhow!("first check: {e}"))?;
        settle(&app.db, backend).await?;
        let took = time_creates(&app, 500).await?;
        println!("SLA_CREATE {tag} calendar=24x7 {}", create_stats(took));
        return Ok(());
    }

    // (a) first check, (b) second check (everything within its dedup
    // window): `--runs` times, the alerts deleted in between (untimed), the
    // median reported, as for the ceiling.
    let (mut firsts, mut seconds) = (Vec::new(), Vec::new());
    let (mut first, mut second) = (None, None);
    for run in 0..args.runs {
        if run > 0 {
            app.db.execute_unprepared("DELETE FROM alerts").await?;
            if backend == DbBackend::MySql {
                // Rebuilt empty, as the ceiling's TRUNCATE leaves its copies
                // (InnoDB inserts slower into a table just emptied by DELETE;
                // TRUNCATE is refused, `notification_deliveries` refers to it).
                app.db.execute_unprepared("OPTIMIZE TABLE alerts").await?;
            }
            settle(&app.db, backend).await?;
        }
        let t = Instant::now();
        let report = engine::check_all(&app).await.map_err(|e| anyhow!("first check: {e}"))?;
        firsts.push(t.elapsed());
        eprintln!("[{tag}] first check: {} alerts in {} s", report.total_created, secs(t.elapsed()));
        first = Some(report);
        let t = Instant::now();
        let report = engine::check_all(&app).await.map_err(|e| anyhow!("second check: {e}"))?;
        seconds.push(t.elapsed());
        eprintln!("[{tag}] second check: {} alerts in {} s", report.total_created, secs(t.elapsed()));
        second = Some(report);
    }
    let (Some(first), Some(second)) = (first, second) else { return Err(anyhow!("--runs must be at least 1")) };
    for r in &first.results {
        println!("CHECK {tag} check=first rule={} created={}", r.rule_name, r.alerts_created);
    }
    let listed = |runs: &[Duration]| runs.iter().map(|d| secs(*d)).collect::<Vec<_>>().join("/");
    let (first_runs, second_runs) = (listed(&firsts), listed(&seconds));
    let (first_time, second_time) = (median(&mut firsts), median(&mut seconds));
    let in_table = count(&app.db, "alerts").await?;
    if in_table != first.total_created + second.total_created {
        eprintln!("warning: alerts table holds {in_table}, the checks reported {}", first.total_created);
    }

    // (c) the ceiling: bare INSERT ... SELECT per rule into a copy of `alerts`
    // with the same indexes (what the real table must maintain; the target is
    // judged against it), and (c') into an index-free copy, for information.
    let now = app.clock.now();
    let plans = engine::rule_plans(&app).await.map_err(|e| anyhow!("rule plans: {e}"))?;
    create_indexed_copy(&app.db, backend).await?;
    let (bare_copy_idx_time, copy_idx_runs, bare_total) =
        bare_median(&app.db, &plans, "alerts_copy_idx", now, &tag).await?;
    app.db
        .execute_unprepared(&format!("CREATE TABLE alerts_copy AS SELECT {COPY_COLUMNS} FROM alerts WHERE 1 = 0"))
        .await?;
    let (bare_time, bare_runs, _) = bare_median(&app.db, &plans, "alerts_copy", now, &tag).await?;

    // (d) for information: the same statements into the real alerts table
    // (its indexes, the staff foreign key, and the alerts of the checks)
    let (bare_idx_time, _) = bare(&app.db, &plans, "alerts", now, &tag).await?;

    println!(
        "RESULT {tag} fill_s={} first_check_s={} first_runs={first_runs} second_check_s={} second_runs={second_runs} \
         bare_copy_idx_s={} bare_copy_idx_runs={copy_idx_runs} \
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
    // A service that has run for a while: the statistics know the alerts
    // the checks wrote (autovacuum's analyze would, within a minute or so).
    settle(&app.db, backend).await?;
    sla_measurements(&app, &tag).await
}

/// The SLA issue's figures (issue 17): the scheduled jobs with nothing newly
/// due and with 1 000 complaints newly due, re-projecting every open
/// complaint onto a business calendar, and complaint creation on the 24x7
/// and on a business calendar.
async fn sla_measurements(app: &App, tag: &str) -> Result<()> {
    use convergeai_alerts::domain::scheduler::{SchedulerConfig, run_job};
    let config = SchedulerConfig::default();
    let jobs = ["sla_check", "critical_check", "workload_check"];
    let e = |what: &'static str| move |e: convergeai_alerts::domain::DomainError| anyhow!("{what}: {e}");
    // Each job's first run checks everything and sets its watermark.
    for job in jobs {
        run_job(app, job, &config).await.map_err(e("first tick"))?;
    }
    // Nothing newly due: each job once more, five times (median).
    let mut idle = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        for job in jobs {
            run_job(app, job, &config).await.map_err(e("idle tick"))?;
        }
        idle.push(t.elapsed());
    }
    // 1 000 healthy complaints come due within the next tick; three times,
    // other complaints each time (median: one tick of ~200 ms varied by a
    // fifth from run to run).
    let dialect = Dialect::of(&app.db)?;
    let (mut due, mut due_alerts) = (Vec::new(), Vec::new());
    for round in 0..3 {
        let due_at = app.clock.now() + TimeDelta::seconds(30);
        let ids: Vec<String> = (0..1000).map(|k| (k * 10 + 6 + round).to_string()).collect();
        let mut sql = convergeai_alerts::storage::sql::Sql::new(dialect);
        let at = sql.bind("at", due_at);
        let update = format!("UPDATE complaints SET sla_deadline = {at} WHERE id IN ({})", ids.join(", "));
        app.db.execute_raw(sql.statement(&update)?).await?;
        app.clock.advance(TimeDelta::seconds(60));
        let before = count(&app.db, "alerts").await?;
        let t = Instant::now();
        run_job(app, "sla_check", &config).await.map_err(e("due tick"))?;
        due.push(t.elapsed());
        due_alerts.push((count(&app.db, "alerts").await? - before).to_string());
    }
    let idle_runs = idle.iter().map(|d| ms(*d)).collect::<Vec<_>>().join("/");
    let due_runs = due.iter().map(|d| ms(*d)).collect::<Vec<_>>().join("/");
    // Printed at once: the re-projection that follows can take long.
    println!(
        "SLA_TICKS {tag} idle_tick_ms={} idle_runs={idle_runs} due_tick_ms={} due_runs={due_runs} due_alerts={}",
        ms(median(&mut idle)),
        ms(median(&mut due)),
        due_alerts.join("/")
    );

    // Creation on 24x7, 500 in a row.
    let on_24x7 = time_creates(app, 500).await?;

    // Onto a business calendar (Berlin, split day, a holiday): every open
    // complaint's due times counted on it.
    let (reproject_time, done) = reproject_onto_business(app).await?;
    // A million rewritten clocks and points: what autovacuum does after that
    // (untimed), or the creates measure dead tuples, not the calendar.
    let backend = app.db.get_database_backend();
    settle(&app.db, backend).await?;

    let on_business = time_creates(app, 500).await?;
    println!("{}", reprojection_result(tag, reproject_time, &done));
    println!("SLA_CREATE {tag} calendar=24x7 {}", create_stats(on_24x7));
    println!("SLA_CREATE {tag} calendar=business {}", create_stats(on_business));
    Ok(())
}

/// The `SLA_RESULT` line of a re-projection that took `took`.
fn reprojection_result(tag: &str, took: Duration, done: &sla::Reprojection) -> String {
    format!(
        "SLA_RESULT {tag} reproject_s={} reprojected={} batches={} batch_p50_ms={} batch_p99_ms={} \
         longest_batch_ms={} longest_wait_ms={}",
        secs(took),
        done.complaints,
        done.batches,
        ms(done.median_batch),
        ms(done.p99_batch),
        ms(done.longest_batch),
        ms(done.longest_wait),
    )
}

/// Switches the default policy onto a business calendar (Berlin, split
/// day, a holiday; untimed) and re-projects every open clock onto it (timed).
async fn reproject_onto_business(app: &App) -> Result<(Duration, sla::Reprojection)> {
    let day = serde_json::json!([["09:00", "12:00"], ["13:00", "17:30"]]);
    let calendar = convergeai_alerts::storage::sla::insert_calendar(
        &app.db,
        convergeai_alerts::storage::sla::CalendarRow {
            name: "Berlin office".into(),
            time_zone: "Europe/Berlin".into(),
            weekly_hours: serde_json::json!({"mon": day, "tue": day, "wed": day, "thu": day, "fri": day}),
            holidays: serde_json::json!([{"date": "2026-12-25", "end_date": "2026-12-26", "name": "Christmas", "yearly": true}]),
        },
        app.clock.now(),
    )
    .await?;
    app.db.execute_unprepared("UPDATE complaints SET sla_deadline_explicit = FALSE").await?;
    app.db.execute_unprepared(&format!("UPDATE sla_policies SET calendar_id = {} WHERE id = 1", calendar.id)).await?;
    convergeai_alerts::storage::sla::bump_revision(&app.db).await?;
    let t = Instant::now();
    let done = sla::reproject(app).await.map_err(|e| anyhow!("reproject: {e}"))?;
    Ok((t.elapsed(), done))
}

/// `n` complaints created in a row through the domain (high priority, each
/// assigned to an agent in turn): the time of each.
async fn time_creates(app: &App, n: usize) -> Result<Vec<Duration>> {
    use convergeai_alerts::domain::complaints::{self, NewComplaint};
    let mut took = Vec::with_capacity(n);
    for i in 0..n {
        let new = NewComplaint {
            title: format!("Bench complaint {i}"),
            description: String::new(),
            customer_name: "Bench".into(),
            customer_email: None,
            priority: Some("high".into()),
            assigned_to_staff_id: Some(FIRST_AGENT + (i as i64 % AGENTS)),
            sla_deadline: None,
        };
        let t = Instant::now();
        complaints::create(app, new).await.map_err(|e| anyhow!("create: {e}"))?;
        took.push(t.elapsed());
    }
    Ok(took)
}

fn create_stats(mut took: Vec<Duration>) -> String {
    took.sort();
    let mean = took.iter().sum::<Duration>() / took.len().max(1) as u32;
    let at = |q: usize| took.get(took.len() * q / 100).copied().unwrap_or_default();
    format!("mean_ms={} p50_ms={} p99_ms={}", ms(mean), ms(at(50)), ms(at(99)))
}

/// After the fill, before anything is timed: the state a running database is
/// in, so that the fill's own after-effects land on neither the engine nor
/// the ceiling. SQLite: the fill's WAL written back (a checkpoint would
/// otherwise fall on the first big commit). PostgreSQL: what autovacuum
/// does (statistics, visibility map). MariaDB: fresh statistics.
async fn settle(db: &Db, backend: DbBackend) -> Result<()> {
    let statements: &[&str] = match backend {
        DbBackend::Sqlite => &["PRAGMA wal_checkpoint(TRUNCATE)"],
        DbBackend::Postgres => &["VACUUM ANALYZE"],
        _ => &["ANALYZE TABLE complaints, staff, roles, alerts"],
    };
    for sql in statements {
        db.execute_unprepared(sql).await?;
    }
    if backend == DbBackend::MySql {
        // InnoDB purges the rows a run deleted in the background: let it
        // finish rather than compete with the next run.
        let history = "SELECT count FROM information_schema.INNODB_METRICS WHERE name = 'trx_rseg_history_len'";
        let deadline = Instant::now() + Duration::from_secs(300);
        while Instant::now() < deadline {
            let row = db.query_one_raw(Statement::from_string(backend, history)).await?;
            let pending: i64 = row.map(|r| r.try_get_by_index(0)).transpose()?.unwrap_or(0);
            if pending < 1000 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
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
                // Quoted by the schema builder, unquoted in hand-written DDL
                // (the snooze indexes): SQLite's index names are per database.
                let sql = sql
                    .replace("\"alerts\"", "\"alerts_copy_idx\"")
                    .replace(" ON alerts (", " ON alerts_copy_idx (")
                    .replace("idx_alerts_", "idx_copy_");
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
    for sql in convergeai_alerts::storage::rollups::bench_triggers(Dialect::try_from(backend)?, "alerts_copy_idx") {
        db.execute_unprepared(&sql).await?;
    }
    Ok(())
}

/// Three runs of the bare statements into `table` (emptied in between,
/// untimed): the median time, the runs, and the rows.
async fn bare_median(
    db: &Db,
    plans: &[RulePlan],
    table: &str,
    now: DateTime<Utc>,
    tag: &str,
) -> Result<(Duration, String, u64)> {
    let backend = db.get_database_backend();
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
        let (took, rows) = bare(db, plans, table, now, tag).await?;
        let copied = count(db, table).await?;
        if copied != rows {
            eprintln!("warning: {table} holds {copied}, the statements reported {rows}");
        }
        runs.push(took);
        total = rows;
    }
    let listed = runs.iter().map(|d| secs(*d)).collect::<Vec<_>>().join("/");
    Ok((median(&mut runs), listed, total))
}

fn median(runs: &mut [Duration]) -> Duration {
    runs.sort();
    runs[runs.len() / 2]
}

async fn max_id(db: &Db, table: &str) -> Result<i64> {
    let sql = format!("SELECT COALESCE(MAX(id), 0) AS n FROM {table}");
    let row = db.query_one_raw(Statement::from_string(db.get_database_backend(), sql)).await?;
    Ok(row.map(|r| r.try_get::<i64>("", "n")).transpose()?.unwrap_or(0))
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
                sessions_valid_after: Set(None),
                kept_session: Set(None),
                time_zone: Set(None),
                quiet_hours: Set(None),
                dnd_until: Set(None),
                quiet_hours_delivery: Set(None),
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
        let mut points = Vec::with_capacity(end - start);
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
            // The clock as a write projects it (a deadline of its own), with
            // the seeded at-risk rule's point: ids follow i in the fresh table.
            let point = sla::wall_share_point(created, deadline, 0.8);
            points.push(((i + 1) as i64, vec![(AT_RISK_RULE, point, (deadline - point).num_seconds())]));
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
                external_id: Set(None),
                external_updated_at: Set(None),
                sla_policy_id: Set(Some(1)),
                sla_calendar_revision_id: Set(Some(1)),
                sla_revision: Set(1),
                sla_clock_at: Set(Some(created)),
                sla_deadline_explicit: Set(true),
                ..Default::default()
            });
        }
        let txn = db.begin().await?;
        complaint::Entity::insert_many(rows).exec_without_returning(&txn).await?;
        for chunk in points.chunks(5000) {
            convergeai_alerts::storage::sla::replace_points(&txn, chunk).await?;
        }
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

/// Runs the bare statements into `table`; returns the summed time and rows.
async fn bare(db: &Db, plans: &[RulePlan], table: &str, now: DateTime<Utc>, tag: &str) -> Result<(Duration, u64)> {
    let mut total = Duration::ZERO;
    let mut rows = 0;
    let dialect = Dialect::of(db)?;
    for plan in plans {
        let Some(stmt) = bare_insert(dialect, plan, now, table)? else { continue };
        let rule = &plan.rule_name;
        // A table with the statistics triggers gets the counts the engine
        // writes after its insert (MySQL), in the time.
        let counts = match table {
            "alerts_copy" => Vec::new(),
            _ => bare_counts(dialect, table, max_id(db, table).await?)?,
        };
        let t = Instant::now();
        let result = db.execute_raw(stmt).await.with_context(|| format!("bare SQL of {rule}"))?;
        for count in counts {
            db.execute_raw(count).await.with_context(|| format!("bare counts of {rule}"))?;
        }
        let took = t.elapsed();
        total += took;
        rows += result.rows_affected();
        println!("BARE {tag} into={table} rule={rule} rows={} s={}", result.rows_affected(), secs(took));
    }
    Ok((total, rows))
}
