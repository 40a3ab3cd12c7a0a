//! Migrations, seeded rows, constraints and connection settings.
use convergeai_alerts::storage::{self, DbOptions, entities::*};
use sea_orm::{ConnectionTrait, EntityTrait, PaginatorTrait, Statement};

use crate::harness::{Backend, TestDb, common_config};
use crate::on_all_backends;

async fn fresh(backend: Backend) -> Option<(TestDb, storage::Db)> {
    let db = TestDb::create(backend).await?;
    let conn = storage::connect(&db.url, &DbOptions::default()).await.expect("connect");
    Some((db, conn))
}

async fn migrations_apply_to_empty_and_migrated_databases(backend: Backend) {
    let Some((_db, conn)) = fresh(backend).await else { return };
    storage::migrate(&conn).await.expect("first migration");
    storage::migrate(&conn).await.expect("second migration is a no-op");
    // Seeded once, not twice.
    assert_eq!(role::Entity::find().count(&conn).await.unwrap(), 3);
    assert_eq!(alert_rule::Entity::find().count(&conn).await.unwrap(), 6);
    for table in ["alerts", "alert_subscriptions", "complaints", "staff", "settings"] {
        let row = conn
            .query_one_raw(Statement::from_string(
                conn.get_database_backend(),
                format!("SELECT COUNT(*) AS n FROM {table}"),
            ))
            .await
            .unwrap_or_else(|e| panic!("{table}: {e}"))
            .expect("a row");
        assert_eq!(row.try_get::<i64>("", "n").unwrap(), 0, "{table} starts empty");
    }
}

async fn seeds_roles_permissions_and_default_rules(backend: Backend) {
    let Some((_db, conn)) = fresh(backend).await else { return };
    storage::migrate(&conn).await.unwrap();

    let mut roles: Vec<String> = role::Entity::find().all(&conn).await.unwrap().into_iter().map(|r| r.name).collect();
    roles.sort();
    assert_eq!(roles, ["admin", "agent", "supervisor"]);

    let mut perms: Vec<String> =
        permission::Entity::find().all(&conn).await.unwrap().into_iter().map(|p| p.name).collect();
    perms.sort();
    // Admins hold every permission.
    let every = [
        "alerts.manage",
        "alerts.read",
        "alerts.team",
        "complaints.read",
        "complaints.write",
        "sla.manage",
        "staff.manage",
    ];
    assert_eq!(perms, every);

    for (role, expected) in [
        ("admin", every.to_vec()),
        ("supervisor", vec!["alerts.read", "alerts.team", "complaints.read", "complaints.write"]),
        ("agent", vec!["alerts.read", "complaints.read"]),
    ] {
        let role = storage::staff::role_by_name(&conn, role).await.unwrap().unwrap();
        let mut got = storage::staff::permissions_of_role(&conn, role.id).await.unwrap();
        got.sort();
        assert_eq!(got, expected, "permissions of {}", role.name);
    }

    let rules = alert_rule::Entity::find().all(&conn).await.unwrap();
    let by_name = |n: &str| rules.iter().find(|r| r.rule_name == n).unwrap_or_else(|| panic!("rule {n}"));
    let breach = by_name("sla_breach_critical");
    assert_eq!((breach.rule_type.as_str(), breach.is_enabled), ("sla", true));
    assert_eq!(breach.alert_config["alert_type"], "sla_breach");
    assert_eq!(breach.alert_config["severity"], "critical");
    assert_eq!(breach.alert_config["dedup_window_hours"], 24);
    let at_risk = by_name("sla_at_risk");
    assert_eq!(at_risk.conditions["threshold_percent"], 80);
    assert_eq!(at_risk.alert_config["recipients"], serde_json::json!(["assignee"]));
    let critical = by_name("critical_complaint_created");
    assert_eq!(critical.rule_type, "event");
    assert_eq!(critical.conditions["priority"], "critical");
    let workload = by_name("high_workload_warning");
    assert_eq!(workload.rule_type, "threshold");
    assert_eq!(workload.conditions["threshold"], 10);
    assert_eq!(workload.alert_config["alert_type"], "high_workload");
    let first_response = by_name("first_response_breached");
    assert_eq!((first_response.rule_type.as_str(), first_response.is_enabled), ("first_response", false));
    assert_eq!(first_response.alert_config["alert_type"], "first_response_breach");
    assert_eq!(by_name("first_response_at_risk").conditions["threshold_percent"], 80);
    assert!(rules.iter().all(|r| r.is_enabled == (r.rule_type != "first_response") && r.created_by_staff_id.is_none()));
}

async fn foreign_keys_and_unique_keys_are_enforced(backend: Backend) {
    let Some((_db, conn)) = fresh(backend).await else { return };
    storage::migrate(&conn).await.unwrap();
    let b = conn.get_database_backend();
    let now = "'2026-01-01 00:00:00'";
    let bad_role = format!(
        "INSERT INTO staff (email, full_name, password_hash, role_id, is_active, created_at, updated_at) \
         VALUES ('x@y.z', 'X', 'h', 999, true, {now}, {now})"
    );
    assert!(conn.execute_raw(Statement::from_string(b, bad_role)).await.is_err(), "unknown role_id is refused");
    let ok = format!(
        "INSERT INTO staff (email, full_name, password_hash, role_id, is_active, created_at, updated_at) \
         VALUES ('x@y.z', 'X', 'h', 3, true, {now}, {now})"
    );
    conn.execute_raw(Statement::from_string(b, ok.clone())).await.expect("valid staff row");
    let err = conn.execute_raw(Statement::from_string(b, ok)).await.expect_err("duplicate email is refused");
    assert!(matches!(err.sql_err(), Some(sea_orm::SqlErr::UniqueConstraintViolation(_))), "{err}");
}

async fn generated_jwt_secret_is_kept_in_the_database(backend: Backend) {
    let Some(db) = TestDb::create(backend).await else { return };
    let mut config = common_config(&db.url);
    config.jwt_secret = None;
    let first = convergeai_alerts::cli::open(&config).await.unwrap();
    let token = first.auth.issue(42, first.clock.now()).unwrap().access_token;
    let second = convergeai_alerts::cli::open(&config).await.unwrap();
    assert_eq!(second.auth.verify(&token, second.clock.now()).unwrap().0, 42, "a second process agrees on the secret");
    let stored = setting::Entity::find_by_id("jwt_secret".to_owned()).one(&first.db).await.unwrap().unwrap();
    assert_eq!(stored.value.len(), 64, "256 random bits, hex");
}

on_all_backends!(
    migrations_apply_to_empty_and_migrated_databases,
    seeds_roles_permissions_and_default_rules,
    foreign_keys_and_unique_keys_are_enforced,
    generated_jwt_secret_is_kept_in_the_database,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_runs_in_wal_mode_with_foreign_keys_and_a_bounded_busy_wait() {
    let db = TestDb::create(Backend::Sqlite).await.unwrap();
    let conn = storage::connect(&db.url, &DbOptions::default()).await.unwrap();
    let pragma = |name: &'static str| {
        let conn = conn.clone();
        async move {
            let row = conn
                .query_one_raw(Statement::from_string(sea_orm::DbBackend::Sqlite, format!("PRAGMA {name}")))
                .await
                .unwrap()
                .unwrap();
            row.try_get_by_index::<String>(0)
                .or_else(|_| row.try_get_by_index::<i64>(0).map(|n| n.to_string()))
                .unwrap()
        }
    };
    assert_eq!(pragma("journal_mode").await, "wal");
    assert_eq!(pragma("foreign_keys").await, "1");
    // Another pool (another process, say) holds the write lock: a write
    // waits for it rather than failing, and gets it once released...
    let other = storage::connect(&db.url, &DbOptions::default()).await.unwrap();
    let holder = storage::begin_write(&other).await.unwrap();
    let waiting = tokio::spawn({
        let conn = conn.clone();
        async move { conn.execute_unprepared("CREATE TABLE waited (x INTEGER)").await }
    });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(!waiting.is_finished(), "the write waits for the lock");
    holder.commit().await.unwrap();
    waiting.await.unwrap().expect("the write went through once the lock was free");
    // ... but not forever: about 5 s, then the database is busy.
    let holder = storage::begin_write(&other).await.unwrap();
    let started = std::time::Instant::now();
    let refused = conn.execute_unprepared("INSERT INTO waited (x) VALUES (1)").await;
    let waited = started.elapsed();
    assert!(refused.is_err_and(|e| e.to_string().contains("locked")), "gave up with SQLITE_BUSY");
    assert!(waited >= std::time::Duration::from_millis(4900), "gave up after {waited:?}, not about 5 s");
    holder.rollback().await.unwrap();
    // The WAL is checkpointed into the database file (off the committing
    // connection, SQLite's automatic checkpoint being replaced).
    let file_len =
        || std::fs::metadata(db.url.trim_start_matches("sqlite://").split('?').next().unwrap()).unwrap().len();
    conn.execute_unprepared("CREATE TABLE filler (b BLOB)").await.unwrap();
    for _ in 0..8 {
        conn.execute_unprepared("INSERT INTO filler (b) VALUES (zeroblob(1048576))").await.unwrap();
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while file_len() < 4 << 20 && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(file_len() >= 4 << 20, "the WAL's pages reached the database file ({} bytes)", file_len());
}

/// Under a steady stream of commits the WAL is restarted, not grown: a
/// writer starts it over only once a checkpoint copied every frame, which
/// back-to-back commits never let a passive checkpoint do (the file grew to
/// over 17 GB while 1 M SLA clocks were re-projected).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_wal_stays_bounded_under_back_to_back_commits() {
    let db = TestDb::create(Backend::Sqlite).await.unwrap();
    let conn = storage::connect(&db.url, &DbOptions::default()).await.unwrap();
    let wal = format!("{}-wal", db.url.trim_start_matches("sqlite://").split('?').next().unwrap());
    let wal_len = || std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
    conn.execute_unprepared("CREATE TABLE filler (id INTEGER PRIMARY KEY, b BLOB)").await.unwrap();
    conn.execute_unprepared(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 64) \
         INSERT INTO filler (id, b) SELECT i, zeroblob(16384) FROM n",
    )
    .await
    .unwrap();
    // 16 KiB rewritten per commit, back to back for 3 s: the same few pages,
    // so the database file stays small and only the WAL could grow. It is
    // restarted about every half second (the checkpoints' spacing).
    let per_commit = 16u64 << 10;
    let (mut commits, mut largest) = (0u64, 0);
    let until = std::time::Instant::now() + std::time::Duration::from_secs(3);
    while std::time::Instant::now() < until {
        conn.execute_unprepared(&format!("UPDATE filler SET b = randomblob(16384) WHERE id = {}", commits % 64 + 1))
            .await
            .unwrap();
        commits += 1;
        largest = largest.max(wal_len());
    }
    let written = per_commit * commits;
    assert!(
        largest < written / 2,
        "the WAL grew to {largest} bytes for {written} bytes committed: it is not being restarted"
    );
}

/// PostgreSQL's JIT is off for the service's connections: the engine's
/// first-check statements are estimated costly enough to be compiled, which
/// cost more than it saved (docs/PERFORMANCE.md, "JIT").
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_connections_run_without_jit() {
    let Some(db) = TestDb::create(Backend::Postgres).await else {
        eprintln!("skipped: TEST_POSTGRES_URL is not set");
        return;
    };
    let conn = storage::connect(&db.url, &DbOptions::default()).await.unwrap();
    for _ in 0..3 {
        let row = conn
            .query_one_raw(Statement::from_string(sea_orm::DbBackend::Postgres, "SHOW jit"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(row.try_get_by_index::<String>(0).unwrap(), "off");
    }
}

/// Several instances starting at once on one empty database all end up on
/// the same, complete schema, with the defaults seeded once.
async fn concurrent_migrations_converge(backend: Backend) {
    let Some(db) = TestDb::create(backend).await else { return };
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..4 {
        let url = db.url.clone();
        tasks.spawn(async move {
            let conn = storage::connect(&url, &DbOptions::default()).await.expect("connect");
            storage::migrate(&conn).await
        });
    }
    for result in tasks.join_all().await {
        result.expect("every instance migrates");
    }
    let conn = storage::connect(&db.url, &DbOptions::default()).await.unwrap();
    assert_eq!(role::Entity::find().count(&conn).await.unwrap(), 3);
    assert_eq!(alert_rule::Entity::find().count(&conn).await.unwrap(), 6);
    let applied = conn
        .query_one_raw(Statement::from_string(
            conn.get_database_backend(),
            "SELECT COUNT(*) AS n FROM seaql_migrations".to_owned(),
        ))
        .await
        .unwrap()
        .unwrap();
    let all = <storage::migrations::Migrator as sea_orm_migration::MigratorTrait>::migrations().len();
    assert_eq!(applied.try_get::<i64>("", "n").unwrap(), all as i64, "each applied once");
}

mod concurrent_migrations {
    use super::*;
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn sqlite() {
        concurrent_migrations_converge(Backend::Sqlite).await
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn mysql() {
        concurrent_migrations_converge(Backend::MySql).await
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn postgres() {
        concurrent_migrations_converge(Backend::Postgres).await
    }
}
