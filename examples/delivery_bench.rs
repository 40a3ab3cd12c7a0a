//! Notification-delivery benchmark (issue 5; see `bench/delivery.sh`).
//!
//! Each mode runs on a fresh database (a temp SQLite file, or a database with
//! a random name on the `--database-url` server, dropped afterwards):
//!
//! 1. migrate; create `--staff` agents with email addresses (`staff::create`),
//!    each subscribed to `critical_complaint` over in-app, email and webhook
//!    (`subscriptions::put`); disable the three other default rules (as
//!    `PUT /rules/{id}/disable` does; `--all-rules` keeps them), so every
//!    complaint raises exactly one alert with two outbox rows;
//! 2. start the peers in this process: an SMTP server (mailin-embedded, its
//!    own thread pool) and an axum webhook receiver; each records, per
//!    delivery, the receipt time (wall clock) and the outbox row id it
//!    carries (email `Message-ID: <alert-A.delivery-D@…>`, `webhook-id:
//!    msg_A_D`), duplicates included;
//! 3. configure the real channels (`Channels::new`, private targets allowed
//!    as the tests do) and run the real dispatcher (`dispatcher::run`) with
//!    the settings `serve` would use here: `ServeConfig` read from the
//!    `ALERTS_*` environment and its defaults gives the database pool
//!    (`db_options`), the dispatcher settings (`dispatcher_config`) and the
//!    delivery timeout (`--batch`, `--concurrency`, `--poll-ms` override the
//!    dispatcher's for experiments);
//! 4. create the alerts through the path of `POST /complaints`:
//!    `complaints::create` of a critical complaint assigned to an agent, which
//!    runs the engine for it and writes the alert and its outbox rows in one
//!    transaction, then wakes the dispatcher (`outbox_wakeup`).
//!
//! Modes:
//! - `backlog`: all `--alerts` alerts are written first, then the dispatcher
//!   starts; deliveries/s = deliveries / (last receipt − dispatcher start).
//! - `paced`: the dispatcher runs while alerts are created at `--rate` per
//!   second (`--creators` tasks, each alert i due at start + i / rate);
//!   lag = receipt time − the alert's `created_at` as stored in the database
//!   (the engine's clock reading for that check, taken before its transaction).
//!
//! The report checks against the database: every `email`/`webhook` outbox row
//! must be received exactly once (`lost`, `duplicates`) and be `sent`
//! (`not_sent`). One `RESULT` line per mode (key=value), then a readable
//! summary on stderr.
//!
//! ```sh
//! cargo run --release --example delivery_bench -- --mode both
//! cargo run --release --example delivery_bench -- --mode paced --rate 500 --alerts 10000
//! cargo run --release --example delivery_bench -- --database-url postgres://postgres@127.0.0.1:5432/test
//! ```
use std::collections::HashMap;
use std::net::TcpListener as StdTcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Result, anyhow, bail};
use axum::http::{HeaderMap, StatusCode};
use chrono::{DateTime, Utc};
use clap::Parser;
use sea_orm::EntityTrait;

use convergeai_alerts::config::{CommonConfig, Secret, ServeConfig};
use convergeai_alerts::delivery::channels::Channels;
use convergeai_alerts::delivery::dispatcher::{self, DispatcherConfig};
use convergeai_alerts::delivery::{Channel, DeliveryConfig, Notification, Recipient};
use convergeai_alerts::domain::{App, complaints, preferences, rules, staff, subscriptions};
use convergeai_alerts::storage::entities::{alert, notification_delivery};

/// `serve`'s settings as `serve` would read them here: `ALERTS_*` environment, then defaults.
#[derive(Parser, Debug)]
struct ServeSettings {
    #[command(flatten)]
    serve: ServeConfig,
}

#[derive(Parser, Debug)]
#[command(about = "Delivery throughput and lag: real dispatcher, local SMTP and webhook receivers")]
struct Args {
    /// sqlite:… (a fresh temp file per mode), or a MySQL/MariaDB or PostgreSQL server URL
    #[arg(long, default_value = "sqlite://")]
    database_url: String,
    /// backlog, paced or both; `digest`: every email goes into an hourly
    /// digest (see `personal_delivery`); `probe` times the channels alone (no
    /// database, no dispatcher)
    #[arg(long, default_value = "both", value_parser = ["backlog", "paced", "both", "digest", "probe"])]
    mode: String,
    /// Personal delivery of every agent in backlog and paced modes: `off`, or
    /// `checked`: quiet hours set (not now) and an hourly digest of another
    /// alert type, so every row pays the dispatcher's checks and is still sent
    #[arg(long, default_value = "off", value_parser = ["off", "checked"])]
    personal: String,
    /// Alerts per mode (each has one email and one webhook delivery)
    #[arg(long, default_value_t = 10_000)]
    alerts: usize,
    /// Paced mode: alerts created per second
    #[arg(long, default_value_t = 500.0)]
    rate: f64,
    /// Tasks creating complaints (paced mode; the backlog fill uses them too)
    #[arg(long, default_value_t = 4)]
    creators: usize,
    /// Agents the complaints are spread over
    #[arg(long, default_value_t = 20)]
    staff: usize,
    /// Keep the four default rules enabled (default: only critical_complaint_created)
    #[arg(long)]
    all_rules: bool,
    /// Override DispatcherConfig::batch (claimed rows outstanding at most)
    #[arg(long)]
    batch: Option<u64>,
    /// Override DispatcherConfig::concurrency (sends in flight)
    #[arg(long)]
    concurrency: Option<usize>,
    /// Override DispatcherConfig::poll (ms)
    #[arg(long)]
    poll_ms: Option<u64>,
    /// SMTP server threads (mailin-embedded serves one connection per thread)
    #[arg(long, default_value_t = 64)]
    smtp_threads: u32,
    /// Also print, per second of alert creation, how many alerts and their lag (p50/p99/max)
    #[arg(long)]
    timeline: bool,
    /// Give up waiting when nothing arrives for this many seconds
    #[arg(long, default_value_t = 30)]
    idle_timeout: u64,
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
        if args.mode == "probe" {
            return probe(&args).await;
        }
        let modes: &[Mode] = match args.mode.as_str() {
            "backlog" => &[Mode::Backlog],
            "paced" => &[Mode::Paced],
            "digest" => &[Mode::Digest],
            _ => &[Mode::Backlog, Mode::Paced],
        };
        let mut failed = false;
        for &mode in modes {
            let target = Target::create(&args.database_url, "delivery_bench").await.map_err(|e| anyhow!(e))?;
            let outcome = match mode {
                Mode::Digest => run_digest(&args, &target).await,
                Mode::Backlog | Mode::Paced => run(&args, &target, mode).await,
            };
            if let Err(e) = target.remove().await {
                eprintln!("warning: could not drop the bench database: {e:#}");
            }
            match outcome {
                Ok(ok) => failed |= !ok,
                Err(e) => {
                    println!("RESULT mode={} backend={} failed={:?}", mode.name(), target.backend_name, e.to_string());
                    return Err(e);
                }
            }
        }
        if failed { bail!("deliveries were lost, duplicated or not marked sent") } else { Ok(()) }
    })
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Mode {
    Backlog,
    Paced,
    Digest,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Backlog => "backlog",
            Mode::Paced => "paced",
            Mode::Digest => "digest",
        }
    }
}

// ---------------------------------------------------------------- database

#[path = "../tests/support/scratch_db.rs"]
mod scratch_db;

/// The fresh database of one run.
type Target = scratch_db::ScratchDb;

// ---------------------------------------------------------------- receivers

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Via {
    Email,
    Webhook,
}

impl Via {
    fn name(self) -> &'static str {
        match self {
            Via::Email => "email",
            Via::Webhook => "webhook",
        }
    }
}

/// One delivery as a receiver saw it.
#[derive(Clone, Copy, Debug)]
struct Receipt {
    via: Via,
    delivery_id: i64,
    at: DateTime<Utc>,
}

/// What both receivers record; `count` lets the driver wait without locking.
#[derive(Clone, Default)]
struct Log {
    receipts: Arc<Mutex<Vec<Receipt>>>,
    count: Arc<AtomicUsize>,
    /// Posts or mails whose id could not be read.
    unreadable: Arc<AtomicUsize>,
}

impl Log {
    fn record(&self, via: Via, delivery_id: Option<i64>) {
        let at = Utc::now();
        match delivery_id {
            Some(delivery_id) => {
                self.receipts.lock().unwrap().push(Receipt { via, delivery_id, at });
                self.count.fetch_add(1, Ordering::Release);
            }
            None => {
                self.unreadable.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// `msg_<alert>_<delivery>` → the delivery id.
fn webhook_delivery_id(id: &str) -> Option<i64> {
    id.strip_prefix("msg_")?.split_once('_')?.1.parse().ok()
}

/// The delivery id in `Message-ID: <alert-A.delivery-D@domain>`.
fn email_delivery_id(data: &[u8]) -> Option<i64> {
    let text = std::str::from_utf8(data).ok()?;
    let start = text.find("<alert-")?;
    let rest = &text[start..];
    let rest = &rest[rest.find(".delivery-")? + ".delivery-".len()..];
    rest[..rest.find('@')?].parse().ok()
}

/// The webhook receiver: answers 200 and records each post's receipt.
async fn start_webhook_receiver(log: Log) -> Result<String> {
    let router = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap| {
            let log = log.clone();
            async move {
                let id = headers.get("webhook-id").and_then(|v| v.to_str().ok()).and_then(webhook_delivery_id);
                log.record(Via::Webhook, id);
                StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/hook", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, router).await });
    Ok(url)
}

/// An SMTP server (mailin-embedded) on its own threads: records each mail at the end of DATA.
#[derive(Clone)]
struct SmtpHandler {
    log: Log,
    data: Vec<u8>,
}

impl mailin_embedded::Handler for SmtpHandler {
    fn data_start(&mut self, _domain: &str, _from: &str, _is8bit: bool, _to: &[String]) -> mailin_embedded::Response {
        self.data.clear();
        mailin_embedded::response::OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.data.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> mailin_embedded::Response {
        self.log.record(Via::Email, email_delivery_id(&self.data));
        mailin_embedded::response::OK
    }
}

fn start_smtp_server(log: Log, threads: u32) -> Result<String> {
    let listener = StdTcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let mut server = mailin_embedded::Server::new(SmtpHandler { log, data: Vec::new() });
    server.with_name("mx.bench").with_num_threads(threads).with_tcp_listener(listener);
    std::thread::spawn(move || {
        if let Err(e) = server.serve() {
            eprintln!("SMTP server stopped: {e}");
        }
    });
    Ok(format!("smtp://{addr}"))
}

// ---------------------------------------------------------------- CPU

/// CPU ticks of this process and of the whole machine (to see what else ran).
#[derive(Clone, Copy)]
struct Cpu {
    process: u64,
    machine: u64,
    at: Instant,
}

impl Cpu {
    fn now() -> Cpu {
        let process = std::fs::read_to_string("/proc/self/stat")
            .ok()
            .and_then(|s| {
                // Fields after the command name (which may hold spaces): utime is 14th, stime 15th overall.
                let fields: Vec<u64> =
                    s.rsplit_once(')')?.1.split_whitespace().skip(11).take(2).filter_map(|f| f.parse().ok()).collect();
                Some(fields.iter().sum())
            })
            .unwrap_or(0);
        let machine = std::fs::read_to_string("/proc/stat")
            .ok()
            .and_then(|s| {
                let line = s.lines().next()?;
                let f: Vec<u64> = line.split_whitespace().skip(1).filter_map(|f| f.parse().ok()).collect();
                // user nice system (idle iowait) irq softirq steal
                Some(f.first()? + f.get(1)? + f.get(2)? + f.get(5)? + f.get(6)? + f.get(7)?)
            })
            .unwrap_or(0);
        Cpu { process, machine, at: Instant::now() }
    }

    /// (cores used by this process, cores used by everything else) since `earlier`.
    fn since(&self, earlier: &Cpu) -> (f64, f64) {
        const TICKS: f64 = 100.0; // USER_HZ on Linux
        let wall = self.at.duration_since(earlier.at).as_secs_f64().max(1e-9);
        let mine = (self.process.saturating_sub(earlier.process)) as f64 / TICKS / wall;
        let all = (self.machine.saturating_sub(earlier.machine)) as f64 / TICKS / wall;
        (mine, (all - mine).max(0.0))
    }
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join("/"))
        .unwrap_or_else(|_| "?".into())
}

// ---------------------------------------------------------------- one mode

async fn setup(args: &Args, serve: &ServeConfig, url: &str, mode: Mode) -> Result<(App, Vec<i64>)> {
    let common = CommonConfig {
        database_url: url.to_owned(),
        jwt_secret: None,
        token_ttl_seconds: 3600,
        sla_hours: Default::default(),
        time_zone: chrono_tz::Tz::UTC,
    };
    let app = convergeai_alerts::cli::open_with(&common, &serve.db_options()).await.map_err(|e| anyhow!(e))?;
    if mode == Mode::Digest {
        // What an administrator would do first: critical complaints no longer urgent, so a person may digest them.
        for rule in rules::list(&app, None, false).await.map_err(|e| anyhow!("rules: {e}"))? {
            if rule.rule_name == "critical_complaint_created" {
                let mut config = rule.alert_config.clone();
                config["bypass_quiet_hours"] = serde_json::Value::Bool(false);
                let changes = rules::RuleChanges { alert_config: Some(config), ..Default::default() };
                rules::update(&app, rule.id, changes).await.map_err(|e| anyhow!("rule: {e}"))?;
            }
        }
    }
    let personal = mode == Mode::Digest || args.personal == "checked";
    let mut agents = Vec::with_capacity(args.staff);
    for i in 0..args.staff.max(1) {
        let created = staff::create(
            &app,
            staff::CreateStaff {
                email: format!("agent{i:03}@bench.example"),
                password: "bench-password".into(),
                role: "agent".into(),
                full_name: Some(format!("Agent {i:03}")),
                phone: None,
                supervisor_email: None,
            },
        )
        .await
        .map_err(|e| anyhow!("staff: {e}"))?;
        let channels = ["in_app", "email", "webhook"].map(String::from).to_vec();
        let change = subscriptions::SubscriptionChange {
            is_enabled: true,
            delivery_channels: channels.clone(),
            delivery_mode: (mode == Mode::Digest).then(|| "hourly".to_owned()),
            daily_at: None,
        };
        subscriptions::put(&app, created.id, "critical_complaint", change)
            .await
            .map_err(|e| anyhow!("subscription: {e}"))?;
        if personal {
            // Quiet hours all day three days from now (set, not in effect), and a digest of another type.
            let day = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"][(chrono::Datelike::weekday(
                &(app.clock.now() + chrono::TimeDelta::days(3)),
            )
            .num_days_from_monday()) as usize];
            let change = preferences::PreferencesChange {
                time_zone: Some(Some("Europe/Berlin".into())),
                quiet_hours: Some(Some(serde_json::json!({day: [["00:00", "24:00"]]}))),
                ..Default::default()
            };
            preferences::put(&app, created.id, change).await.map_err(|e| anyhow!("preferences: {e}"))?;
            let other = subscriptions::SubscriptionChange {
                is_enabled: true,
                delivery_channels: channels,
                delivery_mode: Some("hourly".into()),
                daily_at: None,
            };
            subscriptions::put(&app, created.id, "sla_at_risk", other)
                .await
                .map_err(|e| anyhow!("subscription: {e}"))?;
        }
        agents.push(created.id);
    }
    if !args.all_rules {
        for rule in rules::list(&app, None, false).await.map_err(|e| anyhow!("rules: {e}"))? {
            if rule.rule_name != "critical_complaint_created" && rule.is_enabled {
                let changes = rules::RuleChanges { is_enabled: Some(false), ..Default::default() };
                rules::update(&app, rule.id, changes).await.map_err(|e| anyhow!("rule {}: {e}", rule.rule_name))?;
            }
        }
    }
    Ok((app, agents))
}

/// Creates alert `i`: a critical complaint assigned to an agent (`POST /complaints`'s path).
async fn create_alert(app: &App, agents: &[i64], i: usize) -> Result<()> {
    let new = complaints::NewComplaint {
        title: format!("Bench complaint {i}"),
        description: "Delivery benchmark".into(),
        customer_name: format!("Customer {i}"),
        customer_email: None,
        priority: Some("critical".into()),
        assigned_to_staff_id: Some(agents[i % agents.len()]),
        sla_deadline: None,
    };
    complaints::create(app, new).await.map_err(|e| anyhow!("complaint {i}: {e}"))?;
    Ok(())
}

/// What the creators did.
struct Creation {
    started: Instant,
    finished: Instant,
    /// Largest delay of a creation behind its schedule (paced mode).
    max_behind: Duration,
    /// Mean time of one `complaints::create` call.
    mean_call: Duration,
}

/// `n` alerts from `creators` tasks; with `rate`, alert i is created no earlier than start + i / rate.
async fn create_alerts(app: &App, agents: &[i64], n: usize, creators: usize, rate: Option<f64>) -> Result<Creation> {
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..creators.max(1) {
        let (app, agents, next) = (app.clone(), agents.to_vec(), next.clone());
        tasks.spawn(async move {
            let (mut behind, mut calls, mut busy) = (Duration::ZERO, 0u32, Duration::ZERO);
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    break;
                }
                if let Some(rate) = rate {
                    let due = started + Duration::from_secs_f64(i as f64 / rate);
                    tokio::time::sleep_until(due.into()).await;
                    behind = behind.max(Instant::now().saturating_duration_since(due));
                }
                let t = Instant::now();
                create_alert(&app, &agents, i).await?;
                busy += t.elapsed();
                calls += 1;
            }
            Ok::<_, anyhow::Error>((behind, calls, busy))
        });
    }
    let (mut max_behind, mut calls, mut busy) = (Duration::ZERO, 0u32, Duration::ZERO);
    while let Some(joined) = tasks.join_next().await {
        let (b, c, t) = joined??;
        max_behind = max_behind.max(b);
        calls += c;
        busy += t;
    }
    Ok(Creation { started, finished: Instant::now(), max_behind, mean_call: busy / calls.max(1) })
}

/// Waits until `expected` receipts arrived, or nothing arrived for `idle`.
async fn wait_for(log: &Log, expected: usize, idle: Duration) -> bool {
    let (mut seen, mut since) = (log.count.load(Ordering::Acquire), Instant::now());
    loop {
        let now = log.count.load(Ordering::Acquire);
        if now >= expected {
            return true;
        }
        if now != seen {
            (seen, since) = (now, Instant::now());
        } else if since.elapsed() >= idle {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

struct ChannelFigures {
    expected: usize,
    received: usize,
    unique: usize,
    lost: usize,
    per_s: f64,
    lag_ms: [f64; 3],
}

async fn run(args: &Args, target: &Target, mode: Mode) -> Result<bool> {
    let n = args.alerts;
    let tag = format!("mode={} backend={}", mode.name(), target.backend_name);
    let serve = ServeSettings::parse_from(["delivery_bench"]).serve;
    let (app, agents) = setup(args, &serve, &target.url, mode).await?;
    let log = Log::default();
    let (channels, config) = channels_and_config(args, &serve, &log).await?;
    let expected = 2 * n;
    let (stop, stopped) = tokio::sync::watch::channel(false);

    let (start_utc, cpu0, creation, complete);
    match mode {
        Mode::Digest => bail!("the digest mode has its own run"),
        Mode::Backlog => {
            let fill = create_alerts(&app, &agents, n, args.creators, None).await?;
            eprintln!(
                "[{tag}] {n} alerts written in {:.2} s ({:.0}/s); starting the dispatcher",
                fill.finished.duration_since(fill.started).as_secs_f64(),
                n as f64 / fill.finished.duration_since(fill.started).as_secs_f64()
            );
            cpu0 = Cpu::now();
            start_utc = Utc::now();
            let task = tokio::spawn(dispatcher::run(app.clone(), channels, config.clone(), stopped));
            complete = wait_for(&log, expected, Duration::from_secs(args.idle_timeout)).await;
            stop.send(true)?;
            task.await?;
            creation = fill;
        }
        Mode::Paced => {
            let task = tokio::spawn(dispatcher::run(app.clone(), channels, config.clone(), stopped));
            cpu0 = Cpu::now();
            start_utc = Utc::now();
            creation = create_alerts(&app, &agents, n, args.creators, Some(args.rate)).await?;
            complete = wait_for(&log, expected, Duration::from_secs(args.idle_timeout)).await;
            stop.send(true)?;
            task.await?;
        }
    }
    let cpu1 = Cpu::now();
    let (cpu_mine, cpu_other) = cpu1.since(&cpu0);
    let load = load_average();

    // What the database says was to be delivered, and when each alert was created.
    let created_at: HashMap<i64, DateTime<Utc>> =
        alert::Entity::find().all(&app.db).await?.into_iter().map(|a| (a.id, a.created_at)).collect();
    let rows = notification_delivery::Entity::find().all(&app.db).await?;
    let not_sent = rows.iter().filter(|r| r.status != "sent").count();
    let mut statuses: HashMap<&str, usize> = HashMap::new();
    for r in &rows {
        *statuses.entry(r.status.as_str()).or_default() += 1;
    }
    let receipts = log.receipts.lock().unwrap().clone();
    let unreadable = log.unreadable.load(Ordering::Relaxed);

    let mut figures = HashMap::new();
    let mut all_lags = Vec::new();
    let mut last_receipt = start_utc;
    for via in [Via::Email, Via::Webhook] {
        let wanted: HashMap<i64, i64> =
            rows.iter().filter(|r| r.channel == via.name()).map(|r| (r.id, r.alert_id)).collect();
        let mut first_receipt: HashMap<i64, DateTime<Utc>> = HashMap::new();
        let mut received = 0;
        let mut last = start_utc;
        for r in receipts.iter().filter(|r| r.via == via) {
            received += 1;
            last = last.max(r.at);
            let e = first_receipt.entry(r.delivery_id).or_insert(r.at);
            *e = (*e).min(r.at);
        }
        last_receipt = last_receipt.max(last);
        let mut lags: Vec<f64> = first_receipt
            .iter()
            .filter_map(|(id, at)| {
                let alert = wanted.get(id)?;
                Some((*at - *created_at.get(alert)?).num_microseconds()? as f64 / 1000.0)
            })
            .collect();
        lags.sort_by(f64::total_cmp);
        all_lags.extend_from_slice(&lags);
        let lost = wanted.keys().filter(|id| !first_receipt.contains_key(id)).count();
        let secs = (last - start_utc).num_microseconds().unwrap_or(0) as f64 / 1e6;
        figures.insert(
            via,
            ChannelFigures {
                expected: wanted.len(),
                received,
                unique: first_receipt.len(),
                lost,
                per_s: first_receipt.len() as f64 / secs.max(1e-9),
                lag_ms: [percentile(&lags, 50.0), percentile(&lags, 99.0), lags.last().copied().unwrap_or(f64::NAN)],
            },
        );
    }
    if args.timeline {
        print_timeline(&tag, &receipts, &rows, &created_at, start_utc);
    }
    all_lags.sort_by(f64::total_cmp);
    let lag = [percentile(&all_lags, 50.0), percentile(&all_lags, 99.0), all_lags.last().copied().unwrap_or(f64::NAN)];
    let (email, webhook) = (&figures[&Via::Email], &figures[&Via::Webhook]);
    let deliveries = email.expected + webhook.expected;
    let received = email.received + webhook.received;
    let unique = email.unique + webhook.unique;
    let duplicates = received - unique;
    let lost = email.lost + webhook.lost;
    let seconds = (last_receipt - start_utc).num_microseconds().unwrap_or(0) as f64 / 1e6;
    let per_s = unique as f64 / seconds.max(1e-9);
    let alerts_in_db = created_at.len();
    let creation_s = creation.finished.duration_since(creation.started).as_secs_f64();
    let offered = match mode {
        Mode::Backlog | Mode::Digest => String::new(),
        Mode::Paced => format!(
            " rate_alerts_per_s={:.0} achieved_alerts_per_s={:.1} creation_max_behind_ms={:.1}",
            args.rate,
            n as f64 / creation_s.max(1e-9),
            creation.max_behind.as_secs_f64() * 1000.0
        ),
    };
    println!(
        "RESULT {tag} alerts={alerts_in_db} deliveries={deliveries} received={received} duplicates={duplicates} \
         lost={lost} not_sent={not_sent} unreadable={unreadable} complete={complete} seconds={seconds:.3} \
         deliveries_per_s={per_s:.0} email_per_s={:.0} webhook_per_s={:.0} \
         lag_p50_ms={:.1} lag_p99_ms={:.1} lag_max_ms={:.1} \
         email_lag_p50_ms={:.1} email_lag_p99_ms={:.1} email_lag_max_ms={:.1} \
         webhook_lag_p50_ms={:.1} webhook_lag_p99_ms={:.1} webhook_lag_max_ms={:.1}{offered} \
         create_call_mean_ms={:.2} batch={} concurrency={} poll_ms={} coalesce_ms={} creators={} staff={} \
         cpu_bench_cores={cpu_mine:.2} cpu_other_cores={cpu_other:.2} load={load}",
        email.per_s,
        webhook.per_s,
        lag[0],
        lag[1],
        lag[2],
        email.lag_ms[0],
        email.lag_ms[1],
        email.lag_ms[2],
        webhook.lag_ms[0],
        webhook.lag_ms[1],
        webhook.lag_ms[2],
        creation.mean_call.as_secs_f64() * 1000.0,
        config.batch,
        config.concurrency,
        config.poll.as_millis(),
        config.coalesce.as_millis(),
        args.creators,
        agents.len(),
    );

    let mut summary = format!(
        "\n[{tag}] {alerts_in_db} alerts, {deliveries} deliveries in the outbox; statuses {statuses:?}\n\
         dispatcher: batch {} concurrency {} poll {} ms coalesce {} ms; CPU: this process {cpu_mine:.2} cores, \
         everything else {cpu_other:.2}; load {load}\n",
        config.batch,
        config.concurrency,
        config.poll.as_millis(),
        config.coalesce.as_millis()
    );
    if mode == Mode::Paced {
        summary += &format!(
            "created {n} alerts in {creation_s:.2} s ({:.1}/s for {:.0}/s asked; at most {:.1} ms behind schedule; \
             complaints::create took {:.2} ms on average)\n",
            n as f64 / creation_s.max(1e-9),
            args.rate,
            creation.max_behind.as_secs_f64() * 1000.0,
            creation.mean_call.as_secs_f64() * 1000.0
        );
    }
    summary += &format!(
        "{:<8} {:>9} {:>9} {:>6} {:>5} {:>12} {:>10} {:>10} {:>10}\n",
        "channel", "expected", "received", "dups", "lost", "per second", "lag p50", "lag p99", "lag max"
    );
    for (name, f) in [("email", email), ("webhook", webhook)] {
        summary += &format!(
            "{name:<8} {:>9} {:>9} {:>6} {:>5} {:>12.0} {:>8.1}ms {:>8.1}ms {:>8.1}ms\n",
            f.expected,
            f.received,
            f.received - f.unique,
            f.lost,
            f.per_s,
            f.lag_ms[0],
            f.lag_ms[1],
            f.lag_ms[2]
        );
    }
    summary += &format!(
        "{:<8} {deliveries:>9} {received:>9} {duplicates:>6} {lost:>5} {per_s:>12.0} {:>8.1}ms {:>8.1}ms {:>8.1}ms\n",
        "all", lag[0], lag[1], lag[2]
    );
    summary += &format!(
        "{} s from {} to the last receipt",
        format_args!("{seconds:.3}"),
        if mode == Mode::Backlog { "dispatcher start" } else { "the first creation" }
    );
    eprintln!("{summary}");
    let ok = complete && duplicates == 0 && lost == 0 && not_sent == 0 && unreadable == 0 && deliveries == expected;
    if !ok {
        eprintln!("[{tag}] PROBLEM: expected {expected} deliveries, each received once and marked sent");
    }
    app.db.clone().close().await?;
    Ok(ok)
}

/// The receivers (recording into `log`), the real channels pointed at them,
/// and the dispatcher's settings as `serve` reads them (with the overrides).
async fn channels_and_config(args: &Args, serve: &ServeConfig, log: &Log) -> Result<(Arc<Channels>, DispatcherConfig)> {
    let webhook_url = start_webhook_receiver(log.clone()).await?;
    let smtp_url = start_smtp_server(log.clone(), args.smtp_threads)?;
    let delivery = DeliveryConfig {
        smtp_url: Some(Secret::new(smtp_url)),
        webhook_url: Some(webhook_url),
        webhook_secret: Some(Secret::new("bench-webhook-secret")),
        allow_private_targets: true,
        ..serve.delivery.delivery_config()
    };
    let channels = Arc::new(Channels::new(&delivery).map_err(|e| anyhow!(e))?);
    let defaults = serve.delivery.dispatcher_config().map_err(|e| anyhow!(e))?;
    let config = DispatcherConfig {
        batch: args.batch.unwrap_or(defaults.batch),
        concurrency: args.concurrency.unwrap_or(defaults.concurrency),
        poll: args.poll_ms.map(Duration::from_millis).unwrap_or(defaults.poll),
        ..defaults
    };
    Ok((channels, config))
}

// ---------------------------------------------------------------- digest mode

/// Outbox rows in `statuses` (with `digests`, the digest rows too).
async fn rows_in(app: &App, statuses: &[&str], digests: bool) -> Result<u64> {
    use sea_orm::{ColumnTrait, PaginatorTrait, QueryFilter};
    let mut query = notification_delivery::Entity::find()
        .filter(notification_delivery::Column::Status.is_in(statuses.iter().copied()));
    if !digests {
        query = query.filter(notification_delivery::Column::SummaryUntil.is_null());
    }
    Ok(query.count(&app.db).await?)
}

/// Polls until `want_receipts` arrived and no row (with `digests`: nor digest
/// row) is left in `open`; `false` when nothing changed for `idle`.
async fn poll_until(
    app: &App,
    log: &Log,
    idle: Duration,
    want_receipts: usize,
    open: &[&str],
    digests: bool,
) -> Result<bool> {
    let (mut seen, mut since) = ((0usize, u64::MAX), Instant::now());
    loop {
        let state = (log.count.load(Ordering::Acquire), rows_in(app, open, digests).await?);
        if state.0 >= want_receipts && state.1 == 0 {
            return Ok(true);
        }
        if state != seen {
            (seen, since) = (state, Instant::now());
        } else if since.elapsed() >= idle {
            return Ok(false);
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// `--mode digest`: every agent takes critical-complaint email in an hourly
/// digest (the rule's `bypass_quiet_hours` switched off first) and has quiet
/// hours set (not now); webhooks stay instant. All alerts are written first;
/// then the dispatcher runs: phase 1 sends the webhooks and puts every email
/// off to the window's end; the clock is then moved past it, and phase 2
/// sends one digest per agent carrying every email row. Rows settled per
/// second = 2 × alerts / (phase 1 + phase 2). Checked: every webhook received
/// once, one digest per agent received once, every email row `sent` and
/// carried by its agent's digest.
async fn run_digest(args: &Args, target: &Target) -> Result<bool> {
    use sea_orm::{ColumnTrait, QueryFilter};
    let n = args.alerts;
    let tag = format!("mode=digest backend={}", target.backend_name);
    let serve = ServeSettings::parse_from(["delivery_bench"]).serve;
    let (app, agents) = setup(args, &serve, &target.url, Mode::Digest).await?;
    let log = Log::default();
    let (channels, config) = channels_and_config(args, &serve, &log).await?;
    let fill = create_alerts(&app, &agents, n, args.creators, None).await?;
    let idle = Duration::from_secs(args.idle_timeout);
    let cpu0 = Cpu::now();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let started = Instant::now();
    let task = tokio::spawn(dispatcher::run(app.clone(), channels, config.clone(), stopped));
    // Phase 1: the digest rows wait (pending) for the window's end.
    let phase1_done = poll_until(&app, &log, idle, n, &["pending", "sending", "failed"], false).await?;
    let phase1 = started.elapsed();
    let deferred = rows_in(&app, &["deferred"], false).await?;
    let ends: Vec<DateTime<Utc>> = notification_delivery::Entity::find()
        .filter(notification_delivery::Column::SummaryUntil.is_not_null())
        .all(&app.db)
        .await?
        .into_iter()
        .filter_map(|r| r.summary_until)
        .collect();
    let end = ends.iter().max().copied().unwrap_or_else(|| app.clock.now());
    app.clock.advance(end - app.clock.now() + chrono::TimeDelta::seconds(1));
    app.outbox_wakeup.notify_one();
    let second = Instant::now();
    let phase2_done =
        poll_until(&app, &log, idle, n + agents.len(), &["pending", "sending", "failed", "deferred"], true).await?;
    let phase2 = second.elapsed();
    stop.send(true)?;
    task.await?;
    let (cpu_mine, cpu_other) = Cpu::now().since(&cpu0);

    let rows = notification_delivery::Entity::find().all(&app.db).await?;
    let digests: HashMap<i64, i64> =
        rows.iter().filter(|r| r.summary_until.is_some()).map(|r| (r.id, r.staff_id)).collect();
    let receipts = log.receipts.lock().unwrap().clone();
    let mut received: HashMap<(Via, i64), usize> = HashMap::new();
    for r in &receipts {
        *received.entry((r.via, r.delivery_id)).or_default() += 1;
    }
    let webhooks: Vec<i64> = rows.iter().filter(|r| r.channel == "webhook").map(|r| r.id).collect();
    let emails: Vec<_> = rows.iter().filter(|r| r.channel == "email" && r.summary_until.is_none()).collect();
    let webhooks_once = webhooks.iter().all(|id| received.get(&(Via::Webhook, *id)) == Some(&1));
    let digests_once = digests.keys().all(|id| received.get(&(Via::Email, *id)) == Some(&1));
    let emails_carried = emails.iter().all(|r| {
        r.status == "sent" && r.carried_by.and_then(|d| digests.get(&d)).is_some_and(|staff| *staff == r.staff_id)
    });
    let digests_sent = rows.iter().filter(|r| r.summary_until.is_some()).all(|r| r.status == "sent");
    let stray_emails = receipts.iter().filter(|r| r.via == Via::Email && !digests.contains_key(&r.delivery_id)).count();
    let ok = phase1_done
        && phase2_done
        && webhooks.len() == n
        && emails.len() == n
        && deferred as usize == n
        && digests.len() == agents.len()
        && webhooks_once
        && digests_once
        && emails_carried
        && digests_sent
        && stray_emails == 0;
    let total = (phase1 + phase2).as_secs_f64();
    println!(
        "RESULT {tag} alerts={n} staff={} rows={} digests={} deferred={deferred} phase1_s={:.3} phase2_s={:.3} \
         rows_per_s={:.0} deferred_per_s={:.0} carried_per_s={:.0} webhooks_once={webhooks_once} \
         digests_once={digests_once} emails_carried={emails_carried} stray_emails={stray_emails} ok={ok} \
         create_call_mean_ms={:.2} cpu_bench_cores={cpu_mine:.2} cpu_other_cores={cpu_other:.2} load={}",
        agents.len(),
        2 * n,
        digests.len(),
        phase1.as_secs_f64(),
        phase2.as_secs_f64(),
        (2 * n) as f64 / total.max(1e-9),
        n as f64 / phase1.as_secs_f64().max(1e-9),
        n as f64 / phase2.as_secs_f64().max(1e-9),
        fill.mean_call.as_secs_f64() * 1000.0,
        load_average(),
    );
    if !ok {
        eprintln!("[{tag}] PROBLEM: not every row was settled once (see the RESULT line)");
    }
    app.db.clone().close().await?;
    Ok(ok)
}

// ---------------------------------------------------------------- probe

/// Times `Channels::send` alone against the same receivers: each channel at
/// concurrency 1 and at the dispatcher's, so the dispatcher's figures can be
/// read against what the channels themselves cost.
async fn probe(args: &Args) -> Result<()> {
    let log = Log::default();
    let delivery = DeliveryConfig {
        smtp_url: Some(Secret::new(start_smtp_server(log.clone(), args.smtp_threads)?)),
        webhook_url: Some(start_webhook_receiver(log.clone()).await?),
        webhook_secret: Some(Secret::new("bench-webhook-secret")),
        allow_private_targets: true,
        ..Default::default()
    };
    let channels = Arc::new(Channels::new(&delivery).map_err(|e| anyhow!(e))?);
    let sends = args.alerts.min(2000);
    let concurrency = args.concurrency.unwrap_or(DispatcherConfig::default().concurrency);
    for channel in [Channel::Email, Channel::Webhook] {
        for width in [1, concurrency] {
            let cpu0 = Cpu::now();
            let started = Instant::now();
            let next = Arc::new(AtomicUsize::new(0));
            let mut tasks = tokio::task::JoinSet::new();
            for _ in 0..width {
                let (channels, next) = (channels.clone(), next.clone());
                tasks.spawn(async move {
                    let mut times = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= sends {
                            break;
                        }
                        let notification = sample_notification(i as i64 + 1);
                        let t = Instant::now();
                        channels.send(channel, &notification).await.map_err(|e| anyhow!("{e}"))?;
                        times.push(t.elapsed().as_secs_f64() * 1000.0);
                    }
                    Ok::<_, anyhow::Error>(times)
                });
            }
            let mut times = Vec::new();
            while let Some(joined) = tasks.join_next().await {
                times.extend(joined??);
            }
            let wall = started.elapsed().as_secs_f64();
            let (cpu, other) = Cpu::now().since(&cpu0);
            times.sort_by(f64::total_cmp);
            println!(
                "PROBE channel={} concurrency={width} sends={sends} per_s={:.0} send_p50_ms={:.2} send_p99_ms={:.2} \
                 send_max_ms={:.2} cpu_bench_cores={cpu:.2} cpu_other_cores={other:.2}",
                channel.as_str(),
                sends as f64 / wall,
                percentile(&times, 50.0),
                percentile(&times, 99.0),
                times.last().copied().unwrap_or(f64::NAN),
            );
        }
    }
    // The same SMTP exchange by hand (connect, EHLO, MAIL, RCPT, DATA, QUIT with
    // lettre's own connection type), on a socket with and without TCP_NODELAY:
    // shows what Nagle's algorithm costs when the DATA terminator is written
    // separately from the body and the server delays its ACK.
    let smtp_addr = delivery.smtp_url.as_ref().map(|u| u.expose().trim_start_matches("smtp://").to_owned());
    let smtp_addr: std::net::SocketAddr = smtp_addr.unwrap_or_default().parse()?;
    for nodelay in [false, true] {
        let mut times = Vec::new();
        let started = Instant::now();
        let n = sends.min(200);
        for i in 0..n {
            let t = Instant::now();
            raw_smtp_send(smtp_addr, nodelay, i as i64 + 1).await?;
            times.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        let wall = started.elapsed().as_secs_f64();
        times.sort_by(f64::total_cmp);
        println!(
            "PROBE channel=raw_smtp nodelay={nodelay} concurrency=1 sends={n} per_s={:.0} send_p50_ms={:.2} \
             send_p99_ms={:.2}",
            n as f64 / wall,
            percentile(&times, 50.0),
            percentile(&times, 99.0),
        );
    }
    Ok(())
}

async fn raw_smtp_send(addr: std::net::SocketAddr, nodelay: bool, id: i64) -> Result<()> {
    use lettre::transport::smtp::client::AsyncSmtpConnection;
    use lettre::transport::smtp::extension::ClientId;
    let stream = tokio::net::TcpStream::connect(addr).await?;
    stream.set_nodelay(nodelay)?;
    let mut connection = AsyncSmtpConnection::connect_with_transport(Box::new(stream), &ClientId::default()).await?;
    let message = lettre::Message::builder()
        .from("alerts@localhost".parse()?)
        .to("agent000@bench.example".parse()?)
        .subject(format!("Critical complaint #{id}"))
        .message_id(Some(format!("<alert-{id}.delivery-{id}@localhost>")))
        .body(format!("Complaint #{id} needs attention.\n"))?;
    connection.send(message.envelope(), &message.formatted()).await?;
    connection.quit().await?;
    Ok(())
}

fn sample_notification(id: i64) -> Notification {
    let now = Utc::now();
    Notification {
        delivery_id: id,
        ack_url: None,
        alert: convergeai_alerts::domain::views::Alert {
            id,
            alert_type: "critical_complaint".into(),
            severity: "critical".into(),
            title: format!("Critical complaint #{id}"),
            message: format!("Complaint #{id} \"Bench complaint\" (critical, assigned to Agent 000) needs attention."),
            resource_type: Some("complaint".into()),
            resource_id: Some(id),
            assigned_to_staff_id: 1,
            is_read: false,
            is_dismissed: false,
            alert_metadata: Some(serde_json::json!({"complaint_id": id, "priority": "critical", "rule_id": 3})),
            created_at: now,
            read_at: None,
            dismissed_at: None,
            expires_at: None,
            acknowledged_at: None,
            acknowledged_by: None,
            resolved_at: None,
            escalation_step: 0,
            snoozed_until: None,
        },
        recipient: Recipient {
            staff_id: 1,
            full_name: "Agent 000".into(),
            email: "agent000@bench.example".into(),
            phone: None,
            time_zone: "UTC".into(),
        },
        summary: None,
    }
}

/// Per second of creation (since `start`): alerts created, and the lag of their deliveries.
fn print_timeline(
    tag: &str,
    receipts: &[Receipt],
    rows: &[notification_delivery::Model],
    created_at: &HashMap<i64, DateTime<Utc>>,
    start: DateTime<Utc>,
) {
    let alert_of: HashMap<i64, i64> = rows.iter().map(|r| (r.id, r.alert_id)).collect();
    let mut seconds: std::collections::BTreeMap<i64, (usize, Vec<f64>)> = std::collections::BTreeMap::new();
    for at in created_at.values() {
        seconds.entry((*at - start).num_seconds()).or_default().0 += 1;
    }
    for r in receipts {
        let Some(created) = alert_of.get(&r.delivery_id).and_then(|a| created_at.get(a)) else { continue };
        let lag = (r.at - *created).num_microseconds().unwrap_or(0) as f64 / 1000.0;
        seconds.entry((*created - start).num_seconds()).or_default().1.push(lag);
    }
    eprintln!("[{tag}] timeline: second, alerts created, deliveries, lag p50 / p99 / max (ms)");
    for (second, (alerts, mut lags)) in seconds {
        lags.sort_by(f64::total_cmp);
        eprintln!(
            "  {second:>4} {alerts:>6} {:>6} {:>9.1} {:>9.1} {:>9.1}",
            lags.len(),
            percentile(&lags, 50.0),
            percentile(&lags, 99.0),
            lags.last().copied().unwrap_or(f64::NAN)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_from_receipts() {
        assert_eq!(webhook_delivery_id("msg_12_345"), Some(345));
        assert_eq!(webhook_delivery_id("evt_12_345"), None);
        let mail = b"From: a@b\r\nMessage-ID: <alert-7.delivery-99@localhost>\r\n\r\nbody";
        assert_eq!(email_delivery_id(mail), Some(99));
        assert_eq!(email_delivery_id(b"no id"), None);
        assert_eq!(percentile(&[1.0, 2.0, 3.0, 4.0], 50.0), 2.0);
        assert_eq!(percentile(&[1.0, 2.0, 3.0, 4.0], 99.0), 4.0);
    }
}
