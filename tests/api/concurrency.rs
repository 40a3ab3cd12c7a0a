//! Races: many checkers at once, and schedulers on several instances.
use std::sync::atomic::Ordering;
use std::time::Duration;

use chrono::TimeDelta;
use convergeai_alerts::domain::{App, engine, scheduler, sla};
use convergeai_alerts::storage;
use sea_orm::{ConnectionTrait, Statement};

use crate::harness::{Backend, TestApp};
use crate::{on_all_backends, spawn_app};

/// Another "instance": its own connection pool on the same database, sharing the clock.
async fn instance(app: &TestApp) -> App {
    let mut other = convergeai_alerts::cli::open(&crate::harness::common_config(&app.db_url())).await.expect("open");
    other.clock = app.app.clock.clone();
    other
}

async fn count(db: &storage::Db, sql: &str) -> i64 {
    let row =
        db.query_one_raw(Statement::from_string(db.get_database_backend(), sql.to_owned())).await.unwrap().unwrap();
    row.try_get_by_index::<i64>(0).unwrap()
}

/// Disables every default rule but the SLA breach one (rule 1).
async fn breach_rule_only(app: &TestApp) {
    for rule in [2, 3, 4] {
        app.put(&format!("/api/v1/alerts/rules/{rule}/disable"), &app.admin_token().await).await;
    }
}

/// One full check on each of `checkers` at once: the alerts they created in all.
async fn checks_at_once(checkers: &[App]) -> u64 {
    let mut tasks = tokio::task::JoinSet::new();
    for checker in checkers {
        let checker = checker.clone();
        tasks.spawn(async move { engine::check_all(&checker).await.expect("check").total_created });
    }
    tasks.join_all().await.into_iter().sum()
}

/// 8 checkers on separate connections at once, over 200 breached complaints,
/// 20 rounds (each a new window): exactly one alert per (type, complaint,
/// recipient) per round.
async fn racing_checkers_never_duplicate(backend: Backend) {
    let app = spawn_app!(backend);
    app.staff("sup@example.com", "supervisor").await;
    let mut agents = Vec::new();
    for i in 0..4 {
        agents.push(app.staff_with(&format!("agent{i}@example.com"), "agent", Some("sup@example.com")).await.0);
    }
    app.breached_complaints(200, "high", &agents).await;
    // Only the SLA breach rule, so every round raises exactly 200 × 2 alerts.
    breach_rule_only(&app).await;
    let mut checkers = Vec::new();
    for _ in 0..8 {
        checkers.push(instance(&app).await);
    }
    for round in 1..=20i64 {
        let created = checks_at_once(&checkers).await;
        assert_eq!(created, 400, "round {round}: one alert per complaint and recipient, whoever won");
        let total = count(&app.app.db, "SELECT COUNT(*) FROM alerts").await;
        assert_eq!(total, 400 * round, "round {round}");
        let dupes = count(
            &app.app.db,
            "SELECT COUNT(*) FROM (SELECT alert_type, resource_id, assigned_to_staff_id, created_at FROM alerts \
             GROUP BY alert_type, resource_id, assigned_to_staff_id, created_at HAVING COUNT(*) > 1) d",
        )
        .await;
        assert_eq!(dupes, 0);
        app.app.clock.advance(TimeDelta::hours(25));
    }
}

/// The lease: one holder at a time, taken over once it expires.
async fn job_lease_is_exclusive_and_expires(backend: Backend) {
    let app = spawn_app!(backend);
    let db = &app.app.db;
    let now = app.app.clock.now();
    let ttl = TimeDelta::seconds(60);
    assert!(storage::leases::take_lease(db, "sla_check", "A", now, ttl).await.unwrap());
    assert!(!storage::leases::take_lease(db, "sla_check", "B", now, ttl).await.unwrap(), "held by A");
    assert!(
        !storage::leases::take_lease(db, "sla_check", "A", now + TimeDelta::seconds(59), ttl).await.unwrap(),
        "once per interval, even for A"
    );
    assert!(storage::leases::take_lease(db, "critical_check", "B", now, ttl).await.unwrap(), "leases are per job");
    // A died: after expiry, B takes over.
    assert!(storage::leases::take_lease(db, "sla_check", "B", now + TimeDelta::seconds(60), ttl).await.unwrap());
    // Released early on shutdown: free at once.
    storage::leases::release_lease(db, "sla_check", "B", now + TimeDelta::seconds(61)).await.unwrap();
    assert!(storage::leases::take_lease(db, "sla_check", "A", now + TimeDelta::seconds(61), ttl).await.unwrap());
    // Many racing takers: exactly one wins.
    let later = now + TimeDelta::hours(1);
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..8 {
        let checker = instance(&app).await;
        tasks.spawn(async move {
            storage::leases::take_lease(&checker.db, "cleanup", &format!("h{i}"), later, ttl).await.unwrap()
        });
    }
    let winners = tasks.join_all().await.into_iter().filter(|won| *won).count();
    assert_eq!(winners, 1);
}

/// Two schedulers on one database: each job runs once per interval in all, not once per instance.
async fn two_schedulers_share_each_job(backend: Backend) {
    let app = spawn_app!(backend);
    let config = scheduler::SchedulerConfig {
        sla_check: Duration::from_millis(400),
        critical_check: Duration::from_secs(3600),
        workload_check: Duration::from_secs(3600),
        escalation: Duration::from_secs(3600),
        snooze_wake: Duration::from_secs(3600),
        cleanup: Duration::from_secs(3600),
        retention: TimeDelta::days(90),
    };
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let (mut jobs_a, runs_a) = scheduler::spawn(instance(&app).await, config.clone(), stopped.clone());
    let (mut jobs_b, runs_b) = scheduler::spawn(instance(&app).await, config, stopped);
    tokio::time::sleep(Duration::from_millis(1900)).await;
    stop.send(true).unwrap();
    while jobs_a.join_next().await.is_some() {}
    while jobs_b.join_next().await.is_some() {}
    let sla = runs_a.sla_check.load(Ordering::Relaxed) + runs_b.sla_check.load(Ordering::Relaxed);
    // Ticks at 0, 0.4, …, 1.6 s: 5 intervals. Alone each would run 5 times (10 together).
    assert!((4..=6).contains(&sla), "sla_check ran {sla} times across both instances");
    let hourly = |r: &scheduler::JobRuns| r.cleanup.load(Ordering::Relaxed) + r.critical_check.load(Ordering::Relaxed);
    assert_eq!(hourly(&runs_a) + hourly(&runs_b), 2, "the hourly jobs ran once each, on one instance");
}

/// More windows end at once than one closing statement takes on MySQL
/// (5 000): 2 600 breached complaints × (assignee, supervisor), two
/// checkers racing, a day apart: every window ends and starts afresh once.
async fn thousands_of_windows_end_together(backend: Backend) {
    let app = spawn_app!(backend);
    app.staff("sup@example.com", "supervisor").await;
    let (agent, _) = app.staff_with("agent@example.com", "agent", Some("sup@example.com")).await;
    app.breached_complaints(2600, "high", &[agent]).await;
    breach_rule_only(&app).await;
    let checkers = [instance(&app).await, instance(&app).await];
    for day in 1..=2i64 {
        let created = checks_at_once(&checkers).await;
        assert_eq!(created, 5200, "day {day}: one alert per complaint and recipient");
        let open = count(&app.app.db, "SELECT COUNT(*) FROM alerts WHERE dedup_open = 1").await;
        assert_eq!(open, 5200, "day {day}: one open window per key");
        app.app.clock.advance(TimeDelta::hours(25));
    }
    assert_eq!(count(&app.app.db, "SELECT COUNT(*) FROM alerts").await, 10400);
}

/// Two transactions that lock two rows (job leases) in opposite orders: the database
/// aborts one to break the deadlock, and [`storage::retrying`] runs it again,
/// so both commit. (SQLite has one writer: the second waits, no deadlock.)
async fn a_deadlocked_transaction_runs_again(backend: Backend) {
    let app = spawn_app!(backend);
    let db = &app.app.db;
    let both_hold_one = std::sync::Arc::new(tokio::sync::Barrier::new(2));
    let attempts = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    for (first, second) in [("cleanup", "escalation"), ("escalation", "cleanup")] {
        let (db, barrier, attempts) = (db.clone(), both_hold_one.clone(), attempts.clone());
        tasks.spawn(async move {
            storage::retrying(|| async {
                let attempt = attempts.fetch_add(1, Ordering::SeqCst);
                let txn = storage::begin_write(&db).await?;
                let bump = |key: &str| {
                    Statement::from_string(
                        db.get_database_backend(),
                        format!("UPDATE job_leases SET holder = 'deadlock' WHERE name = '{key}'"),
                    )
                };
                txn.execute_raw(bump(first)).await?;
                if attempt < 2 && db.get_database_backend() != sea_orm::DatabaseBackend::Sqlite {
                    // The first attempts meet holding one row each.
                    barrier.wait().await;
                }
                txn.execute_raw(bump(second)).await?;
                txn.commit().await
            })
            .await
        });
    }
    for outcome in tasks.join_all().await {
        outcome.expect("both transactions commit in the end");
    }
    if backend != Backend::Sqlite {
        assert_eq!(attempts.load(Ordering::SeqCst), 3, "the deadlock's victim ran again, once");
    }
}

/// Two instances re-project the same clocks at once (after an SLA change,
/// each instance's check starts one): both finish without an error, and
/// each open complaint is re-projected once, by one of them. Each batch's
/// rows are locked in id order; unlocked, the two updates of one batch
/// could take its rows crosswise and deadlock (PostgreSQL).
async fn racing_reprojections_each_clock_once(backend: Backend) {
    const COMPLAINTS: u64 = 3000;
    let app = spawn_app!(backend);
    let (agent, _) = app.staff("agent@example.com", "agent").await;
    app.breached_complaints(COMPLAINTS as usize, "high", &[agent]).await;
    let instances = [instance(&app).await, instance(&app).await];
    for round in 1..=3 {
        storage::sla::bump_revision(&app.app.db).await.unwrap();
        let mut tasks = tokio::task::JoinSet::new();
        for instance in &instances {
            let instance = instance.clone();
            tasks.spawn(async move { sla::reproject(&instance).await });
        }
        let mut reprojected = 0;
        while let Some(done) = tasks.join_next().await {
            reprojected += done.unwrap().unwrap_or_else(|e| panic!("round {round}: {e}")).complaints;
        }
        assert_eq!(reprojected, COMPLAINTS, "round {round}: each clock once");
        let stale = count(
            &app.app.db,
            "SELECT COUNT(*) FROM complaints WHERE sla_revision < (SELECT revision FROM sla_revision)",
        )
        .await;
        assert_eq!(stale, 0, "round {round}: none left behind");
    }
}

on_all_backends!(
    a_deadlocked_transaction_runs_again,
    racing_reprojections_each_clock_once,
    racing_checkers_never_duplicate,
    thousands_of_windows_end_together,
    job_lease_is_exclusive_and_expires,
    two_schedulers_share_each_job
);

/// Separate processes on one SQLite file: `check` from 8 processes at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_check_processes_on_one_sqlite_file() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    app.staff("sup@example.com", "supervisor").await;
    let (agent, _) = app.staff_with("agent@example.com", "agent", Some("sup@example.com")).await;
    app.breached_complaints(200, "medium", &[agent]).await;
    let url = app.db_url();
    let outputs = tokio::task::spawn_blocking(move || {
        let children: Vec<_> = (0..8)
            .map(|_| {
                std::process::Command::new(env!("CARGO_BIN_EXE_convergeai-alerts"))
                    .arg("check")
                    .env("DATABASE_URL", &url)
                    .env("ALERTS_JWT_SECRET", crate::harness::TEST_SECRET)
                    .env("RUST_LOG", "warn")
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        children.into_iter().map(|c| c.wait_with_output().unwrap()).collect::<Vec<_>>()
    })
    .await
    .unwrap();
    let mut total = 0;
    for out in &outputs {
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let stdout = String::from_utf8_lossy(&out.stdout);
        let line = stdout.lines().find(|l| l.starts_with("total: ")).expect("total line");
        total += line.trim_start_matches("total: ").split(' ').next().unwrap().parse::<i64>().unwrap();
    }
    // 200 breaches × (agent + supervisor), plus one workload alert × 2.
    assert_eq!(total, 402, "{outputs:?}");
    assert_eq!(count(&app.app.db, "SELECT COUNT(*) FROM alerts").await, 402);
}
