//! Storage: sea-orm entities, embedded migrations and the queries the
//! services need. One code path for SQLite, MySQL/MariaDB and PostgreSQL;
//! the dialect differences that cannot be avoided are named where they occur
//! (column types in `migrations`, connection pragmas here).
pub mod alert_events;
pub mod alerts;
pub mod api_keys;
pub mod complaints;
pub mod deliveries;
pub mod dialect;
pub mod engine;
pub mod entities;
pub mod leases;
pub mod migrations;
pub mod rollups;
pub mod rules;
pub mod sessions;
pub mod settings;
pub mod sla;
pub mod sql;
pub mod staff;
pub mod stats;
pub mod subscriptions;

use std::time::Duration;

use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    AccessMode, ConnectOptions, ConnectionTrait, Database, DatabaseTransaction, DbErr, IsolationLevel,
    SqliteTransactionMode, TransactionOptions, TransactionTrait,
};
use sea_orm_migration::MigratorTrait;

pub use sea_orm::DatabaseConnection as Db;

/// How a SQLite connection waits for the write lock another holds.
/// SQLite's own busy timeout sleeps 1, 2, 5 … up to 100 ms between tries,
/// so under a steady stream of short writes a waiting writer oversleeps the
/// lock's release by tens of milliseconds: most of the tail of a mixed load
/// (issue 22). Here a waiting writer of this process is woken as soon as
/// another of its connections commits (SQLite's WAL hook runs once the
/// write lock is released), and tries again at least every 2 ms (a writer
/// in another process, a rollback); it still gives up after 5 s.
///
/// The WAL hook also replaces SQLite's automatic checkpoint, which ran in
/// the committing request every 1 000 pages and made it wait for the copy
/// and its fsync (the p99 of a lone client's complaint writes, issue 22):
/// the checkpoint runs on a thread of its own, on a connection of its own.
mod sqlite_busy {
    use std::cell::Cell;
    use std::ffi::{CStr, CString, c_char, c_int, c_void};
    use std::ptr::NonNull;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Condvar, Mutex};
    use std::time::{Duration, Instant};

    use libsqlite3_sys::{
        SQLITE_CHECKPOINT_PASSIVE, SQLITE_CHECKPOINT_RESTART, SQLITE_OK, SQLITE_OPEN_READWRITE, sqlite3,
        sqlite3_busy_handler, sqlite3_close, sqlite3_db_filename, sqlite3_exec, sqlite3_open_v2,
        sqlite3_wal_checkpoint_v2, sqlite3_wal_hook,
    };

    const GIVE_UP_AFTER: Duration = Duration::from_secs(5);
    const RETRY_AT_LEAST_EVERY: Duration = Duration::from_millis(2);
    /// WAL pages after which a commit checkpoints: SQLite's default, which
    /// a WAL hook of our own replaces.
    const CHECKPOINT_PAGES: c_int = 1000;
    /// The least time from one checkpoint's end to the next one's start.
    /// Under a steady stream of commits the WAL is seldom restarted (a
    /// writer restarts it only when a checkpoint has copied all of it), so
    /// past 1 000 pages every commit asked for one: back to back, 19 a
    /// second with 110 fsyncs while SLA clocks were re-projected at 1 M,
    /// the writer's own writes waiting on the shared disk (batches of up to
    /// 0.6 s). One every half second keeps the WAL to what that time writes.
    const CHECKPOINT_PAUSE: Duration = Duration::from_millis(500);

    /// Commits so far, and the waiters to wake at each.
    static COMMITS: (Mutex<u64>, Condvar) = (Mutex::new(0), Condvar::new());
    /// A checkpoint thread is running (one at a time; a later commit starts the next).
    static CHECKPOINTING: AtomicBool = AtomicBool::new(false);

    thread_local! {
        /// When the current statement of this connection's thread began waiting.
        static WAITING_SINCE: Cell<Option<Instant>> = const { Cell::new(None) };
    }

    /// How long a checkpoint that restarts the WAL waits for the write lock
    /// and for readers (it holds the write lock while it waits for readers).
    const RESTART_WAIT: Duration = Duration::from_millis(100);
    /// WAL frames a pass may find new for the restart to follow it.
    const RESTART_AT_MOST: c_int = 1000;
    const PASSES_BEFORE_RESTART: usize = 4;

    extern "C" fn wait(_: *mut c_void, tries: c_int) -> c_int {
        wait_up_to(tries, GIVE_UP_AFTER)
    }

    extern "C" fn wait_to_restart(_: *mut c_void, tries: c_int) -> c_int {
        wait_up_to(tries, RESTART_WAIT)
    }

    /// A busy handler's answer: wait for the next commit (or at least
    /// [`RETRY_AT_LEAST_EVERY`]) and try again, until `limit` has passed.
    fn wait_up_to(tries: c_int, limit: Duration) -> c_int {
        let now = Instant::now();
        let since = match WAITING_SINCE.get() {
            Some(since) if tries > 0 => since,
            _ => {
                WAITING_SINCE.set(Some(now));
                now
            }
        };
        if now.duration_since(since) >= limit {
            return 0;
        }
        let (commits, committed) = &COMMITS;
        if let Ok(seen) = commits.lock() {
            let before = *seen;
            let _ = committed.wait_timeout_while(seen, RETRY_AT_LEAST_EVERY, |n| *n == before);
        }
        1
    }

    extern "C" fn committed(_: *mut c_void, db: *mut sqlite3, name: *const c_char, pages: c_int) -> c_int {
        if pages >= CHECKPOINT_PAGES && !CHECKPOINTING.swap(true, Ordering::AcqRel) {
            // SAFETY: the connection and schema name SQLite handed this hook;
            // the file name it returns lives as long as the connection, and
            // is copied here.
            let file = unsafe { sqlite3_db_filename(db, name) };
            let file = (!file.is_null()).then(|| unsafe { CStr::from_ptr(file) }.to_owned());
            match file.filter(|f| !f.is_empty()) {
                Some(file) => {
                    let spawned = std::thread::Builder::new().name("sqlite-checkpoint".into()).spawn(move || {
                        checkpoint(&file);
                        std::thread::sleep(CHECKPOINT_PAUSE);
                        CHECKPOINTING.store(false, Ordering::Release);
                    });
                    if spawned.is_err() {
                        CHECKPOINTING.store(false, Ordering::Release);
                    }
                }
                None => CHECKPOINTING.store(false, Ordering::Release),
            }
        }
        let (commits, committed) = &COMMITS;
        if let Ok(mut n) = commits.lock() {
            *n = n.wrapping_add(1);
        }
        committed.notify_all();
        0
    }

    /// A passive checkpoint of `file` on a connection of its own: it copies
    /// what no reader still needs, waiting for no one.
    fn checkpoint(file: &CString) {
        let mut conn = std::ptr::null_mut();
        // SAFETY: a connection opened, used and closed on this thread only;
        // `sqlite3_close` is called whether or not the open succeeded, as
        // SQLite asks.
        unsafe {
            if sqlite3_open_v2(file.as_ptr(), &mut conn, SQLITE_OPEN_READWRITE, std::ptr::null()) == SQLITE_OK {
                sqlite3_busy_handler(conn, Some(wait), std::ptr::null_mut());
                // A new connection learns that the file is in WAL mode on its first read.
                let read = c"PRAGMA schema_version";
                if sqlite3_exec(conn, read.as_ptr(), None, std::ptr::null_mut(), std::ptr::null_mut()) == SQLITE_OK {
                    // A writer starts the WAL over only when every frame is
                    // copied, which a steady stream of commits never lets
                    // happen: they come while the checkpoint copies. The file
                    // then grew by every page written (past 17 GB while 1 M
                    // clocks were re-projected), each commit extending it.
                    // So passes copy what came during the one before, until
                    // that is little; then the last of it is copied with
                    // writers held out (briefly: little is left) and the WAL
                    // restarted. If that is busy, the next checkpoint tries.
                    let (mut log, mut copied, mut before) = (0, 0, 0);
                    for _ in 0..PASSES_BEFORE_RESTART {
                        let passive = SQLITE_CHECKPOINT_PASSIVE;
                        sqlite3_wal_checkpoint_v2(conn, std::ptr::null(), passive, &mut log, &mut copied);
                        if log - before <= RESTART_AT_MOST {
                            break;
                        }
                        before = log;
                    }
                    sqlite3_busy_handler(conn, Some(wait_to_restart), std::ptr::null_mut());
                    let restart = SQLITE_CHECKPOINT_RESTART;
                    let none = std::ptr::null_mut();
                    let started = Instant::now();
                    let rc = sqlite3_wal_checkpoint_v2(conn, std::ptr::null(), restart, none, none);
                    let restart_ms = started.elapsed().as_millis() as u64;
                    tracing::debug!(log, copied, restarted = rc == SQLITE_OK, restart_ms, "sqlite checkpoint");
                }
            }
            sqlite3_close(conn);
        }
    }

    pub fn install(handle: NonNull<sqlite3>) {
        // SAFETY: `handle` is the open connection sqlx lent us, locked for
        // this call; the callbacks are plain functions needing no argument,
        // called by SQLite on that connection's thread.
        unsafe {
            sqlite3_busy_handler(handle.as_ptr(), Some(wait), std::ptr::null_mut());
            sqlite3_wal_hook(handle.as_ptr(), Some(committed), std::ptr::null_mut());
        }
    }
}

/// How the service reaches its database.
#[derive(Clone, Debug)]
pub struct DbOptions {
    pub max_connections: u32,
    /// How long a request waits for a connection before it is answered 503.
    pub acquire_timeout: Duration,
}

impl Default for DbOptions {
    fn default() -> Self {
        Self { max_connections: 16, acquire_timeout: Duration::from_secs(2) }
    }
}

/// Checks the URL names a backend this binary speaks, with a message fit for a CLI user.
pub fn validate_url(url: &str) -> Result<(), String> {
    let scheme = url.split_once(':').map(|(s, _)| s).unwrap_or("");
    match scheme {
        "sqlite" | "mysql" | "mariadb" | "postgres" | "postgresql" => Ok(()),
        _ => Err(format!(
            "unsupported database URL {:?}: expected sqlite://PATH, mysql://… or postgres://…",
            redact_url(url)
        )),
    }
}

/// The URL with any password replaced, for logs and error messages.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_string(),
    }
}

/// Opens a pool. SQLite gets WAL, a busy timeout, foreign keys and is created when missing.
pub async fn connect(url: &str, options: &DbOptions) -> Result<Db, DbErr> {
    validate_url(url).map_err(DbErr::Custom)?;
    let url = url.replacen("mariadb://", "mysql://", 1);
    let mut opts = ConnectOptions::new(url.clone());
    opts.max_connections(options.max_connections)
        .min_connections(0)
        .connect_timeout(options.acquire_timeout)
        .acquire_timeout(options.acquire_timeout)
        .sqlx_logging(false);
    let sqlite = url.starts_with("sqlite:");
    if sqlite {
        // Each SQLite connection is a thread with its own page cache, and
        // reopening one is cheap: close those idle for a while.
        opts.idle_timeout(Duration::from_secs(30));
        opts.map_sqlx_sqlite_opts(|o| {
            o.create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(5))
                .foreign_keys(true)
        });
        opts.map_sqlx_sqlite_pool_opts(|pool| {
            pool.after_connect(|conn, _| {
                Box::pin(async move {
                    let mut handle = conn.lock_handle().await?;
                    sqlite_busy::install(handle.as_raw_handle());
                    Ok(())
                })
            })
        });
    }
    if url.starts_with("postgres") {
        // No JIT: PostgreSQL compiles a statement whose estimated cost passes
        // `jit_above_cost`, and the engine's correlated probes are estimated
        // high: a first check's insert at 100 000 complaints spent 0.7 s of
        // its 1.3 s compiling (docs/PERFORMANCE.md, "JIT").
        opts.map_sqlx_postgres_opts(|o| o.options([("jit", "off")]));
    }
    // Processes opening a fresh SQLite file at once race to switch it to WAL,
    // and the loser gets SQLITE_BUSY at once (the busy timeout does not cover
    // that switch): it tries again for a while.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        match Database::connect(opts.clone()).await {
            Err(e)
                if sqlite && std::time::Instant::now() < deadline && e.to_string().contains("database is locked") =>
            {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            result => return result,
        }
    }
}

/// Applies pending migrations (schema and seeded defaults); idempotent.
///
/// Several instances may start at once on one database. Migration DDL is not
/// transactional everywhere (MySQL), so there is no lock to share across the
/// three dialects; instead an instance that loses the race (its CREATE
/// collides with the winner's) waits and tries again: by then the winner has
/// recorded the migration and there is nothing left to do.
pub async fn migrate(db: &Db) -> Result<(), DbErr> {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let mut delay = Duration::from_millis(100);
    loop {
        match migrations::Migrator::up(db, None).await {
            Ok(()) => return Ok(()),
            Err(e)
                if std::time::Instant::now() < deadline
                    && !matches!(e, DbErr::ConnectionAcquire(_) | DbErr::Conn(_)) =>
            {
                tracing::info!(error = %e, "migration collided with another instance; retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(2));
            }
            Err(e) => return Err(e),
        }
    }
}

/// A cheap round trip, for `/ready`.
pub async fn ping(db: &Db) -> Result<(), DbErr> {
    db.execute_unprepared("SELECT 1").await.map(|_| ())
}

/// Rows per statement where rows go through Rust (cleanup, name lookups).
pub const BATCH_ROWS: usize = 1000;

/// A write transaction. SQLite takes the write lock up front so racing
/// writers queue on the busy timeout instead of failing on lock upgrade.
pub async fn begin_write(db: &Db) -> Result<DatabaseTransaction, DbErr> {
    let options = match dialect::Dialect::of(db)? {
        dialect::Dialect::Sqlite => {
            TransactionOptions { sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate), ..Default::default() }
        }
        dialect::Dialect::MySql | dialect::Dialect::Postgres => TransactionOptions {
            isolation_level: Some(IsolationLevel::ReadCommitted),
            access_mode: Some(AccessMode::ReadWrite),
            ..Default::default()
        },
    };
    db.begin_with_options(options).await
}

/// Whether the database takes one writer at a time (SQLite): a longer write
/// transaction there makes no one wait who would not have waited anyway.
pub fn one_writer(db: &Db) -> bool {
    matches!(dialect::Dialect::of(db), Ok(dialect::Dialect::Sqlite))
}

/// What a database error means for the caller, decided here so that no
/// layer above reads a driver's codes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// A unique constraint refused the write.
    Conflict(String),
    /// The database is down, unreachable or saturated: the database's fault.
    Unavailable,
    /// Anything else (a bad statement, a decoding error): ours.
    Other,
}

pub fn classify(err: &DbErr) -> Failure {
    if let Some(sea_orm::SqlErr::UniqueConstraintViolation(message)) = err.sql_err() {
        return Failure::Conflict(message);
    }
    if is_unavailable(err) { Failure::Unavailable } else { Failure::Other }
}

/// A transaction the database aborted so that another could go on (a
/// deadlock, a serialization failure): nothing of it was written, and run
/// again from the start it succeeds. SQLSTATE on every backend: MySQL's
/// deadlock (1213) is 40001 too.
pub fn is_retryable(err: &DbErr) -> bool {
    database_code(err).is_some_and(|code| matches!(code.as_str(), "40001" | "40P01"))
}

fn database_code(err: &DbErr) -> Option<String> {
    use sea_orm::RuntimeErr;
    use sea_orm::sqlx::Error as Sqlx;
    match err {
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => match e.as_ref() {
            Sqlx::Database(db) => db.code().map(|code| code.into_owned()),
            _ => None,
        },
        _ => None,
    }
}

/// Attempts of a transaction the database aborts for another's sake.
const ATTEMPTS: u32 = 5;

/// Runs `transaction` (one whole transaction, begun and committed inside)
/// again when the database aborted it for a racing one's sake
/// ([`is_retryable`]), after a short random pause so that the two do not
/// meet again; any other outcome is returned as it is.
pub async fn retrying<T, F, Fut>(mut transaction: F) -> Result<T, DbErr>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, DbErr>>,
{
    let mut attempt = 1;
    loop {
        match transaction().await {
            Err(e) if attempt < ATTEMPTS && is_retryable(&e) => {
                tracing::debug!(attempt, error = %e, "transaction aborted for another, run again");
                let pause = rand::random_range(5..=20 * u64::from(attempt));
                tokio::time::sleep(Duration::from_millis(pause)).await;
                attempt += 1;
            }
            outcome => return outcome,
        }
    }
}

/// Errors that are the database's fault (down, unreachable, saturated), as
/// opposed to a bad statement.
fn is_unavailable(err: &DbErr) -> bool {
    use sea_orm::RuntimeErr;
    use sea_orm::sqlx::Error as Sqlx;
    match err {
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => true,
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => match e.as_ref() {
            Sqlx::Io(_) | Sqlx::PoolTimedOut | Sqlx::PoolClosed | Sqlx::Tls(_) | Sqlx::WorkerCrashed => true,
            Sqlx::Database(db) => {
                // SQLITE_BUSY / SQLITE_LOCKED after the busy timeout; server shutting down (MySQL 1053
                // is SQLSTATE 08S01, PG 57P01..03); a deadlock still there after the retries.
                matches!(
                    db.code().as_deref(),
                    Some("5" | "6" | "517" | "08S01" | "57P01" | "57P02" | "57P03" | "40001" | "40P01")
                )
            }
            _ => false,
        },
        _ => false,
    }
}
