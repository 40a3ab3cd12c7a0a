//! Escalation benchmark (issue 18; see `docs/PERFORMANCE.md`).
//!
//! Fills a fresh database with 8 staff (4 admins) and N open alert events
//! (default 100 000), each with its assignee's alert and a one-step policy
//! (`+10 min: role:admin`) whose step is due in an hour, settles it, then times
//!
//! 1. **idle tick**: `escalation::tick` with nothing due, five times, median;
//!    next to it the bare probe it starts with (`SELECT … WHERE next_step_at
//!    <= now … LIMIT 1000` through `idx_alert_events_next`), median of five;
//! 2. **due tick**: 1 000 events made due, one `tick` (3 000 alerts: the
//!    three other admins of each event, their outbox rows none: no
//!    subscriptions), next to the bare `INSERT … SELECT` of the same 3 000
//!    rows into `alerts` (no claim, no dedup, no event bookkeeping) on a
//!    second set of 1 000 events.
//!
//! ```sh
//! cargo run --release --features bench --example escalation_bench -- --database-url sqlite:// --events 100000
//! ```
use std::time::{Duration, Instant};

use anyhow::{Result, anyhow};
use chrono::TimeDelta;
use clap::Parser;
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::{ExprTrait, Query};
use sea_orm::{ConnectionTrait, DbBackend, EntityTrait, Statement};

use convergeai_alerts::config::CommonConfig;
use convergeai_alerts::domain::{App, escalation};
use convergeai_alerts::storage::entities::staff;

#[derive(Parser, Debug)]
#[command(about = "Times the escalation job's tick with none and with 1 000 events due")]
struct Args {
    /// sqlite:… (a fresh temp file), or a MySQL/MariaDB or PostgreSQL server URL
    #[arg(long)]
    database_url: String,
    /// Open events to fill
    #[arg(long, default_value_t = 100_000)]
    events: i64,
}

const STAFF: i64 = 8;
const ADMINS: i64 = 4;
const BATCH: i64 = 1000;
const DUE: i64 = 1000;

#[path = "../tests/support/scratch_db.rs"]
mod scratch_db;

fn main() -> Result<()> {
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async {
        let target =
            scratch_db::ScratchDb::create(&args.database_url, "escalation_bench").await.map_err(|e| anyhow!(e))?;
        let outcome = run(&args, &target).await;
        if let Err(e) = target.remove().await {
            eprintln!("warning: could not drop the bench database: {e:#}");
        }
        outcome
    })
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

async fn run(args: &Args, target: &scratch_db::ScratchDb) -> Result<()> {
    let app = convergeai_alerts::cli::open(&CommonConfig {
        database_url: target.url.clone(),
        jwt_secret: None,
        token_ttl_seconds: 3600,
        sla_hours: Default::default(),
        time_zone: chrono_tz::Tz::UTC,
    })
    .await
    .map_err(|e| anyhow!(e))?;
    let tag = format!("backend={} events={}", target.backend_name, args.events);
    let t = Instant::now();
    fill(&app, args.events).await?;
    settle(&app).await?;
    eprintln!("[{tag}] filled in {:.1} s", t.elapsed().as_secs_f64());
    let backend = app.db.get_database_backend();

    // Nothing due.
    let mut idle = Vec::new();
    let mut bare_idle = Vec::new();
    let probe = Query::select()
        .column("id")
        .from("alert_events")
        .and_where(sea_orm::sea_query::Expr::col("next_step_at").lte(app.clock.now()))
        .limit(1000)
        .to_owned();
    for _ in 0..5 {
        let t = Instant::now();
        let created = escalation::tick(&app).await.map_err(|e| anyhow!("{e}"))?;
        idle.push(t.elapsed());
        assert_eq!(created, 0);
        let t = Instant::now();
        app.db.query_all(&probe).await?;
        bare_idle.push(t.elapsed());
    }

    // 1 000 due: the tick.
    let stamp = |t: chrono::DateTime<chrono::Utc>| match backend {
        DbBackend::Sqlite => format!("'{}'", t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)),
        _ => format!("'{}'", t.format("%Y-%m-%d %H:%M:%S%.6f")),
    };
    let past = stamp(app.clock.now() - TimeDelta::seconds(1));
    app.db.execute_unprepared(&format!("UPDATE alert_events SET next_step_at = {past} WHERE id <= {DUE}")).await?;
    let before = count(&app, "alerts").await?;
    let t = Instant::now();
    let created = escalation::tick(&app).await.map_err(|e| anyhow!("{e}"))?;
    let due_tick = t.elapsed();
    let after = count(&app, "alerts").await?;

    // The bare insert of the same rows for the next 1 000 events.
    let now = stamp(app.clock.now());
    let bare = format!(
        "INSERT INTO alerts (alert_type, severity, title, message, resource_type, resource_id, assigned_to_staff_id, \
         is_read, is_dismissed, alert_metadata, created_at, expires_at, escalation_step, event_id) \
         SELECT t.alert_type, t.severity, t.title, t.message, t.resource_type, t.resource_id, s.id, FALSE, FALSE, \
         t.alert_metadata, {now}, t.expires_at, 1, t.event_id FROM alerts t JOIN staff s ON s.role_id = 1 \
         AND s.id <> t.assigned_to_staff_id WHERE t.event_id > {DUE} AND t.event_id <= {}",
        2 * DUE
    );
    let t = Instant::now();
    let bare_rows = app.db.execute_raw(Statement::from_string(backend, bare)).await?.rows_affected();
    let bare_due = t.elapsed();

    println!(
        "ESCALATION {tag} idle_tick_ms={} idle_runs={} bare_probe_ms={} due_tick_ms={} due_alerts={} created={created} \
         bare_insert_ms={} bare_rows={bare_rows}",
        ms(median(idle.clone())),
        idle.iter().map(|d| ms(*d)).collect::<Vec<_>>().join("/"),
        ms(median(bare_idle)),
        ms(due_tick),
        after - before,
        ms(bare_due),
    );
    Ok(())
}

async fn count(app: &App, table: &str) -> Result<i64> {
    let row = app
        .db
        .query_one_raw(Statement::from_string(app.db.get_database_backend(), format!("SELECT COUNT(*) FROM {table}")))
        .await?;
    Ok(row.map(|r| r.try_get_by_index::<i64>(0)).transpose()?.unwrap_or(0))
}

async fn settle(app: &App) -> Result<()> {
    let sql = match app.db.get_database_backend() {
        DbBackend::Sqlite => "PRAGMA wal_checkpoint(TRUNCATE)",
        DbBackend::Postgres => "VACUUM ANALYZE",
        _ => "ANALYZE TABLE alerts, alert_events, staff",
    };
    app.db.execute_unprepared(sql).await?;
    Ok(())
}

async fn fill(app: &App, events: i64) -> Result<()> {
    let db = &app.db;
    let now = app.clock.now();
    let hash = "$argon2id$v=19$m=19456,t=2,p=1$YmVuY2hiZW5jaGJlbmNo$bench-dummy-hash-not-a-real-password";
    let staff_rows: Vec<staff::ActiveModel> = (1..=STAFF)
        .map(|id| staff::ActiveModel {
            id: Set(id),
            email: Set(format!("staff{id}@bench.example")),
            full_name: Set(format!("Staff {id}")),
            phone: Set(None),
            password_hash: Set(hash.to_owned()),
            role_id: Set(if id <= ADMINS { 1 } else { 3 }),
            supervisor_id: Set(None),
            is_active: Set(true),
            created_at: Set(now),
            updated_at: Set(now),
            sessions_valid_after: Set(None),
            kept_session: Set(None),
            time_zone: Set(None),
            quiet_hours: Set(None),
            dnd_until: Set(None),
            quiet_hours_delivery: Set(None),
        })
        .collect();
    staff::Entity::insert_many(staff_rows).exec_without_returning(db).await?;
    let policy = serde_json::json!({"id": 1, "name": "bench", "steps": [
        {"after_minutes": 10, "targets": ["role:admin"], "working_hours_only": false}], "repeat": null, "ack_timeout_minutes": null});
    let due = now + TimeDelta::hours(1);
    let expires = now + TimeDelta::days(7);
    let mut id = 1;
    while id <= events {
        let last = Ord::min(id + BATCH - 1, events);
        let mut ev = Query::insert();
        ev.into_table("alert_events").columns([
            "id",
            "rule_id",
            "alert_type",
            "resource_type",
            "resource_id",
            "event_open",
            "started_at",
            "policy",
            "next_step",
            "next_step_at",
            "cycle",
        ]);
        let mut al = Query::insert();
        al.into_table("alerts").columns([
            "alert_type",
            "severity",
            "title",
            "message",
            "resource_type",
            "resource_id",
            "assigned_to_staff_id",
            "is_read",
            "is_dismissed",
            "created_at",
            "expires_at",
            "dedup_open",
            "dedup_version",
            "check_run",
            "event_id",
            "escalation_step",
        ]);
        for e in id..=last {
            ev.values_panic([
                e.into(),
                1i64.into(),
                "sla_breach".into(),
                "complaint".into(),
                e.into(),
                1i16.into(),
                now.into(),
                policy.clone().into(),
                1i32.into(),
                due.into(),
                0i32.into(),
            ]);
            al.values_panic([
                "sla_breach".into(),
                "critical".into(),
                format!("SLA breached: complaint #{e}").into(),
                format!("Complaint #{e} missed its SLA deadline.").into(),
                "complaint".into(),
                e.into(),
                1i64.into(),
                false.into(),
                false.into(),
                now.into(),
                expires.into(),
                1i16.into(),
                "v".into(),
                "fill".into(),
                e.into(),
                0i32.into(),
            ]);
        }
        db.execute(&ev).await?;
        db.execute(&al).await?;
        id = last + 1;
    }
    if db.get_database_backend() == DbBackend::Postgres {
        db.execute_unprepared(
            "SELECT setval(pg_get_serial_sequence('alert_events', 'id'), (SELECT MAX(id) FROM alert_events))",
        )
        .await?;
    }
    Ok(())
}
