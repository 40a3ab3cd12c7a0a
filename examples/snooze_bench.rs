//! Snooze-wake benchmark (issue 19; see `bench/snooze.sh` and docs/PERFORMANCE.md).
//!
//! On a fresh database: `--staff` agents (default 200) and `--alerts` alerts
//! (default 100 000, round-robin over the agents, each about a complaint of
//! its own, created two days ago, read, snoozed an hour ago) all snoozed
//! until the same minute (spread over its 60 seconds, every second holding
//! alerts of every agent), inserted 1 000 rows a statement. The real `serve` wiring (`launch::launch`: the router, the
//! WebSocket feed) runs in this process on 127.0.0.1:0, and every agent has
//! `--connections-per-agent` live WebSockets on it. With `--redis-url`, a
//! second instance (its own pool and event bus, the same clock) serves every
//! other connection, and both fan out through Redis on a channel of their
//! own, as two `serve` processes would.
//!
//! Measured, after a warm-up:
//! 1. **bare push**: one `Resync` per agent published on the bus, until
//!    every connection has its fresh `unread_count` (the push machinery
//!    alone: no wake);
//! 2. **idle tick**: `snooze::tick` (the `snooze_wake` job) with nothing due;
//! 3. **wake**: the clock moved past the minute, one `snooze::tick` timed
//!    (its statements; its pushes are handed to the bus as it goes), and the
//!    time from its start until every connection has read its final
//!    `unread_count` (every agent's alerts unread again). With `--race` the
//!    second instance runs `snooze::wake_due` at the same time;
//! 4. checks: no alert left snoozed, every one unread, the woken count equals
//!    the alerts, no alert pushed twice (`alert.created` with `woken`, when
//!    the service pushes alerts one by one), every connection at its count,
//!    and a second tick wakes nothing;
//! 5. the physical limits on the same rows, snoozed again: the bare `UPDATE`
//!    that wakes them all (one statement, no batches, no locks taken ahead,
//!    no read-back), and the bare read-back of the woken rows (`SELECT *`).
//!
//! ```sh
//! cargo build --release --features bench --example snooze_bench
//! target/release/examples/snooze_bench --database-url sqlite:
//! target/release/examples/snooze_bench --database-url postgres://postgres@127.0.0.1:5432/test --redis-url redis://127.0.0.1:6379
//! ```
use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::{Result, anyhow, bail};
use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use clap::Parser;
use futures_util::StreamExt;
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{ConnectionTrait, DbBackend, EntityTrait, Statement};
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite::Message;

use convergeai_alerts::config::{CommonConfig, ServeConfig};
use convergeai_alerts::domain::events::{Change, StaffEvent};
use convergeai_alerts::domain::{App, snooze};
use convergeai_alerts::storage::entities::{alert, staff};

#[derive(Parser, Debug)]
#[command(about = "Times waking N alerts snoozed until the same minute, live pushes included")]
struct Args {
    /// sqlite:… (a fresh temp file), or a MySQL/MariaDB or PostgreSQL server URL
    /// (a database of a random name is created on it and dropped afterwards)
    #[arg(long)]
    database_url: String,
    /// Snoozed alerts
    #[arg(long, default_value_t = 100_000)]
    alerts: i64,
    /// Agents they belong to (round-robin)
    #[arg(long, default_value_t = 200)]
    staff: i64,
    /// Live WebSocket connections per agent
    #[arg(long, default_value_t = 1)]
    connections_per_agent: usize,
    /// A second instance sharing this Redis (every other connection on it)
    #[arg(long)]
    redis_url: Option<String>,
    /// With --redis-url: the second instance runs the wake at the same time
    #[arg(long)]
    race: bool,
    /// Seconds to wait for the pushes before giving up
    #[arg(long, default_value_t = 60)]
    timeout_secs: u64,
}

#[path = "../tests/support/scratch_db.rs"]
mod scratch_db;

const INSERT_ROWS: i64 = 1000;

fn main() -> Result<()> {
    let args = Args::parse();
    // Per-statement timings of a wake batch: RUST_LOG=convergeai_alerts::storage::alerts=debug.
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    if args.race && args.redis_url.is_none() {
        bail!("--race needs --redis-url (the second instance)");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async {
        let target = scratch_db::ScratchDb::create(&args.database_url, "snooze_bench").await.map_err(|e| anyhow!(e))?;
        let outcome = run(&args, &target).await;
        if let Err(e) = target.remove().await {
            eprintln!("warning: could not drop the bench database: {e:#}");
        }
        outcome
    })
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn common(url: &str) -> CommonConfig {
    CommonConfig {
        database_url: url.to_owned(),
        jwt_secret: None,
        token_ttl_seconds: 3600,
        sla_hours: Default::default(),
        time_zone: chrono_tz::Tz::UTC,
    }
}

/// Serves `app` as `serve` does (no scheduler, dispatcher or Redis of its own); returns the ws base.
async fn serve(app: App) -> Result<String> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("ws://{}", listener.local_addr()?);
    let mut config = ServeConfig::from_env().map_err(|e| anyhow!(e))?;
    config.scheduler = false;
    config.delivery.dispatcher = false;
    config.redis_url = None;
    tokio::spawn(async move {
        if let Err(e) = convergeai_alerts::launch::launch(app, &config, listener, std::future::pending()).await {
            eprintln!("server stopped: {e}");
        }
    });
    Ok(base)
}

/// What a connection read, as it read it.
enum Seen {
    Count(i64),
    Woken(i64),
}

struct Frame {
    conn: usize,
    seen: Seen,
    at: Instant,
}

async fn run(args: &Args, target: &scratch_db::ScratchDb) -> Result<()> {
    let app = convergeai_alerts::cli::open(&common(&target.url)).await.map_err(|e| anyhow!(e))?;
    let tag = format!(
        "backend={} alerts={} staff={} connections={} instances={}{}",
        target.backend_name,
        args.alerts,
        args.staff,
        args.staff as usize * args.connections_per_agent,
        if args.redis_url.is_some() { 2 } else { 1 },
        if args.race { " race" } else { "" }
    );
    println!("machine: {} cores, load average {}", std::thread::available_parallelism()?.get(), loadavg());

    // The minute they are all due: the next whole minute but one.
    let start = app.clock.now();
    let due = start.duration_trunc(TimeDelta::minutes(1))? + TimeDelta::minutes(2);
    let t = Instant::now();
    fill(&app, args, start, due).await?;
    let fill_time = t.elapsed();
    settle(&app).await?;
    println!("[{tag}] filled in {:.1} s", fill_time.as_secs_f64());

    // Instances: A (runs the job) and, with Redis, B; connections alternate between them.
    let mut instances = vec![app.clone()];
    let (_stop, stopped) = watch::channel(false);
    if let Some(redis) = &args.redis_url {
        let mut b = convergeai_alerts::cli::open(&common(&target.url)).await.map_err(|e| anyhow!(e))?;
        b.clock = app.clock.clone();
        let channel = format!("snooze-bench-{}", rand::random::<u32>());
        for instance in [&app, &b] {
            convergeai_alerts::realtime::connect(&instance.events, redis, &channel, stopped.clone())
                .map_err(|e| anyhow!(e))?;
        }
        instances.push(b);
    }
    let mut bases = Vec::new();
    for instance in &instances {
        bases.push(serve(instance.clone()).await?);
    }
    tokio::time::sleep(Duration::from_millis(300)).await; // Redis subscriptions in place

    // Connections: conn c is agent (c % staff) + 1, on instance c % instances.
    let conns = args.staff as usize * args.connections_per_agent;
    let (frames_tx, mut frames) = mpsc::unbounded_channel::<Frame>();
    let mut expected = Vec::with_capacity(conns);
    let mut readers = Vec::with_capacity(conns);
    for conn in 0..conns {
        let staff_id = (conn as i64 % args.staff) + 1;
        expected.push(per_agent(args, staff_id));
        let token = app.auth.issue(staff_id, app.clock.now()).map_err(|e| anyhow!("{e}"))?.access_token;
        let url = format!("{}/api/v1/alerts/ws?token={token}", bases[conn % bases.len()]);
        let (ws, _) = tokio_tungstenite::connect_async(url).await?;
        let tx = frames_tx.clone();
        readers.push(tokio::spawn(read_frames(conn, ws, tx)));
    }
    drop(frames_tx);
    let mut last_count = vec![None::<i64>; conns];
    let mut ready = 0;
    while ready < conns {
        let f = tokio::time::timeout(Duration::from_secs(30), frames.recv())
            .await?
            .ok_or_else(|| anyhow!("connections closed"))?;
        if let Seen::Count(n) = f.seen
            && last_count[f.conn].replace(n).is_none()
        {
            ready += 1;
        }
    }
    if let Some((conn, n)) = last_count.iter().enumerate().find(|(_, n)| **n != Some(0)) {
        bail!("connection {conn} started at unread count {n:?}, not 0");
    }
    println!("{conns} connections open, each with its snapshot (unread 0)");

    // 1. Bare push: a resync per agent, until every connection has a fresh count.
    let mut bare_push = Vec::new();
    for _ in 0..3 {
        let t0 = Instant::now();
        for staff_id in 1..=args.staff {
            app.events.publish(StaffEvent { staff_id, change: Change::Resync });
        }
        let mut fresh = vec![false; conns];
        let mut left = conns;
        let mut last = t0;
        while left > 0 {
            let f = tokio::time::timeout(Duration::from_secs(30), frames.recv())
                .await?
                .ok_or_else(|| anyhow!("connections closed"))?;
            if matches!(f.seen, Seen::Count(_)) && !std::mem::replace(&mut fresh[f.conn], true) {
                left -= 1;
                last = last.max(f.at);
            }
        }
        bare_push.push(last - t0);
    }
    bare_push.sort();

    // 2. Idle tick (nothing due yet; it also sets the job's watermark).
    let t = Instant::now();
    let idle_woken = snooze::tick(&app).await.map_err(|e| anyhow!("{e}"))?;
    let idle_tick = t.elapsed();
    if idle_woken != 0 {
        bail!("the idle tick woke {idle_woken}");
    }

    // 3. The wake.
    app.clock.advance(due + TimeDelta::minutes(2) - app.clock.now());
    let bus = observe_bus(&app);
    let t0 = Instant::now();
    let racer = match (args.race, instances.get(1)) {
        (true, Some(b)) => {
            let b = b.clone();
            Some(tokio::spawn(async move {
                let t = Instant::now();
                snooze::wake_due(&b).await.map(|n| (n, t.elapsed()))
            }))
        }
        _ => None,
    };
    let woken_a = snooze::tick(&app).await.map_err(|e| anyhow!("{e}"))?;
    let wake_time = t0.elapsed();
    let (woken_b, race_time) = match racer {
        Some(r) => {
            let (n, d) = r.await?.map_err(|e| anyhow!("{e}"))?;
            (n, Some(d))
        }
        None => (0, None),
    };
    let mut done: Vec<Option<Instant>> = vec![None; conns];
    let mut left = conns;
    let mut pushed: HashMap<i64, u32> = HashMap::new();
    let mut counts_read = 0usize;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(args.timeout_secs);
    let mut grace = None;
    loop {
        let until = grace.unwrap_or(deadline);
        let f = match tokio::time::timeout_at(until, frames.recv()).await {
            Ok(Some(f)) => f,
            Ok(None) => bail!("connections closed"),
            Err(_) => break,
        };
        match f.seen {
            Seen::Count(n) => {
                counts_read += 1;
                last_count[f.conn] = Some(n);
                if n == expected[f.conn] && done[f.conn].is_none() {
                    done[f.conn] = Some(f.at);
                    left -= 1;
                    if left == 0 {
                        // Keep reading a little: anything pushed twice would come now.
                        grace = Some(tokio::time::Instant::now() + Duration::from_millis(1000));
                    }
                }
            }
            Seen::Woken(id) => *pushed.entry(id).or_default() += 1,
        }
    }
    let all_pushed = done.iter().flatten().max().map(|at| *at - t0);
    let observed = bus.finish().await;

    // 4. Checks.
    let second = snooze::tick(&app).await.map_err(|e| anyhow!("{e}"))?;
    let still_snoozed = scalar(&app, "SELECT COUNT(*) FROM alerts WHERE snoozed_until IS NOT NULL").await?;
    let unread = scalar(&app, "SELECT COUNT(*) FROM alerts WHERE is_read = FALSE").await?;
    let twice = pushed.values().filter(|n| **n > 1).count();
    let mut problems = Vec::new();
    if woken_a + woken_b != args.alerts as u64 {
        problems.push(format!("woke {} + {} of {}", woken_a, woken_b, args.alerts));
    }
    if still_snoozed != 0 || unread != args.alerts {
        problems.push(format!("{still_snoozed} still snoozed, {unread} unread of {}", args.alerts));
    }
    if twice > 0 {
        problems.push(format!("{twice} alerts pushed more than once"));
    }
    if !pushed.is_empty() && pushed.len() as i64 != args.alerts {
        problems.push(format!("{} distinct alerts pushed of {}", pushed.len(), args.alerts));
    }
    if left > 0 {
        problems.push(format!("{left} connections never reached their count"));
    }
    if let Some((conn, n)) = last_count.iter().enumerate().find(|(c, n)| **n != Some(expected[*c])) {
        problems.push(format!("connection {conn} ended at unread {n:?}, not {}", expected[conn]));
    }
    if second != 0 {
        problems.push(format!("a second tick woke {second}"));
    }

    // 5. The physical limits, on the same rows snoozed again.
    let now = app.clock.now();
    resnooze(&app, due, start).await?;
    settle(&app).await?;
    let bare_update = Query::update()
        .table(alert::Entity)
        .value(alert::Column::SnoozedUntil, Option::<DateTime<Utc>>::None)
        .value(alert::Column::SnoozedAt, Option::<DateTime<Utc>>::None)
        .value(alert::Column::IsRead, false)
        .and_where(Expr::col(alert::Column::SnoozedUntil).lte(now))
        .to_owned();
    let t = Instant::now();
    let bare_rows = app.db.execute(&bare_update).await?.rows_affected();
    let bare_update_time = t.elapsed();
    let t = Instant::now();
    let read_back = alert::Entity::find().all(&app.db).await?.len();
    let read_back_time = t.elapsed();

    for reader in readers {
        reader.abort();
    }
    let ok = if problems.is_empty() { "ok".to_owned() } else { problems.join("; ") };
    println!(
        "pushes seen on A's bus: {} woken, {} resync (to {} agents), last handed to the bus {} ms after the start; \
         {counts_read} unread_count frames read",
        observed.woken,
        observed.resync,
        observed.resync_staff,
        observed.last.map_or("-".into(), |at| ms(at - t0)),
    );
    println!(
        "RESULT {tag} fill_s={:.1} bare_push_ms={} idle_tick_ms={} wake_ms={} woken={woken_a}{} all_pushed_ms={} \
         pushed_alerts={} pushed_twice={twice} second_tick={second} bare_update_ms={} bare_rows={bare_rows} \
         bare_read_back_ms={} read_back_rows={read_back} checks={ok} load={}",
        fill_time.as_secs_f64(),
        ms(bare_push[1]),
        ms(idle_tick),
        ms(wake_time),
        race_time.map_or(String::new(), |d| format!(" racer_woken={woken_b} racer_ms={}", ms(d))),
        all_pushed.map_or("-".into(), ms),
        pushed.len(),
        ms(bare_update_time),
        ms(read_back_time),
        loadavg(),
    );
    if !problems.is_empty() {
        bail!("checks failed: {ok}");
    }
    Ok(())
}

/// How many of the alerts agent `staff_id` has (round-robin from agent 1).
fn per_agent(args: &Args, staff_id: i64) -> i64 {
    args.alerts / args.staff + i64::from(staff_id <= args.alerts % args.staff)
}

async fn read_frames(
    conn: usize,
    mut ws: tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
    tx: mpsc::UnboundedSender<Frame>,
) {
    while let Some(Ok(message)) = ws.next().await {
        let at = Instant::now();
        let Message::Text(text) = message else { continue };
        let Ok(v) = serde_json::from_str::<Value>(&text) else { continue };
        let seen = match v["type"].as_str() {
            Some("unread_count") => Seen::Count(v["unread_count"].as_i64().unwrap_or(-1)),
            Some("alert.created") if v["woken"] == true => Seen::Woken(v["alert"]["id"].as_i64().unwrap_or(-1)),
            _ => continue,
        };
        if tx.send(Frame { conn, seen, at }).is_err() {
            return;
        }
    }
}

struct BusCounts {
    woken: usize,
    resync: usize,
    resync_staff: usize,
    last: Option<Instant>,
}

struct BusObserver {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<BusCounts>,
}

impl BusObserver {
    async fn finish(self) -> BusCounts {
        let _ = self.stop.send(true);
        self.task.await.unwrap_or(BusCounts { woken: 0, resync: 0, resync_staff: 0, last: None })
    }
}

/// Counts what reaches instance A's bus (after Redis, when there is Redis).
fn observe_bus(app: &App) -> BusObserver {
    let mut events = app.events.subscribe();
    let (stop, mut stopped) = watch::channel(false);
    let task = tokio::spawn(async move {
        let mut counts = BusCounts { woken: 0, resync: 0, resync_staff: 0, last: None };
        let mut staff = std::collections::HashSet::new();
        loop {
            tokio::select! {
                event = events.recv() => match event {
                    Ok(event) => {
                        match event.change {
                            Change::Woken { .. } => counts.woken += 1,
                            Change::Resync => {
                                counts.resync += 1;
                                staff.insert(event.staff_id);
                            }
                            _ => continue,
                        }
                        counts.last = Some(Instant::now());
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => eprintln!("bus observer lagged by {n}"),
                    Err(_) => break,
                },
                _ = stopped.changed() => break,
            }
        }
        counts.resync_staff = staff.len();
        counts
    });
    BusObserver { stop, task }
}

async fn scalar(app: &App, sql: &str) -> Result<i64> {
    let row = app.db.query_one_raw(Statement::from_string(app.db.get_database_backend(), sql.to_owned())).await?;
    Ok(row.map(|r| r.try_get_by_index::<i64>(0)).transpose()?.unwrap_or(0))
}

async fn settle(app: &App) -> Result<()> {
    let sql = match app.db.get_database_backend() {
        DbBackend::Sqlite => "ANALYZE",
        DbBackend::Postgres => "VACUUM ANALYZE alerts",
        _ => "ANALYZE TABLE alerts, staff",
    };
    app.db.execute_unprepared(sql).await?;
    Ok(())
}

/// Every alert snoozed until the minute again, read (for the bare statements).
async fn resnooze(app: &App, due: DateTime<Utc>, start: DateTime<Utc>) -> Result<()> {
    let update = Query::update()
        .table(alert::Entity)
        .value(alert::Column::SnoozedUntil, due + TimeDelta::seconds(30))
        .value(alert::Column::SnoozedAt, start - TimeDelta::hours(1))
        .value(alert::Column::IsRead, true)
        .to_owned();
    app.db.execute(&update).await?;
    Ok(())
}

async fn fill(app: &App, args: &Args, now: DateTime<Utc>, due: DateTime<Utc>) -> Result<()> {
    let db = &app.db;
    let hash = "$argon2id$v=19$m=19456,t=2,p=1$YmVuY2hiZW5jaGJlbmNo$bench-dummy-hash-not-a-real-password";
    let staff_rows: Vec<staff::ActiveModel> = (1..=args.staff)
        .map(|id| staff::ActiveModel {
            id: Set(id),
            email: Set(format!("agent{id}@bench.example")),
            full_name: Set(format!("Agent {id}")),
            phone: Set(None),
            password_hash: Set(hash.to_owned()),
            role_id: Set(3),
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
    for chunk in staff_rows.chunks(500) {
        staff::Entity::insert_many(chunk.to_vec()).exec_without_returning(db).await?;
    }
    let (created, snoozed_at, expires) =
        (now - TimeDelta::days(2), now - TimeDelta::hours(1), now + TimeDelta::days(7));
    let mut first = 1;
    while first <= args.alerts {
        let last = Ord::min(first + INSERT_ROWS - 1, args.alerts);
        let mut insert = Query::insert();
        insert.into_table(alert::Entity).columns([
            alert::Column::AlertType,
            alert::Column::Severity,
            alert::Column::Title,
            alert::Column::Message,
            alert::Column::ResourceType,
            alert::Column::ResourceId,
            alert::Column::AssignedToStaffId,
            alert::Column::IsRead,
            alert::Column::IsDismissed,
            alert::Column::CreatedAt,
            alert::Column::ReadAt,
            alert::Column::ExpiresAt,
            alert::Column::EscalationStep,
            alert::Column::SnoozedUntil,
            alert::Column::SnoozedAt,
        ]);
        for i in first..=last {
            insert.values_panic([
                "sla_at_risk".into(),
                "warning".into(),
                format!("SLA at risk: complaint #{i}").into(),
                format!("Complaint #{i} has used 80% of its SLA time (warning, assigned to Agent).").into(),
                "complaint".into(),
                i.into(),
                ((i - 1) % args.staff + 1).into(),
                true.into(),
                false.into(),
                created.into(),
                snoozed_at.into(),
                expires.into(),
                0i32.into(),
                // Every second of the minute holds every agent's alerts (the worst case for batches).
                (due + TimeDelta::seconds((i - 1) / args.staff % 60)).into(),
                snoozed_at.into(),
            ]);
        }
        db.execute(&insert).await?;
        first = last + 1;
    }
    Ok(())
}
