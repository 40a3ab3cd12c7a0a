//! WebSocket push benchmark (issue 6; see `bench/ws.sh` and docs/PERFORMANCE.md).
//!
//! Drives real `convergeai-alerts serve` processes (the release binary given
//! with `--server-bin`), each on `127.0.0.1:0`, scheduler off, `RUST_LOG=warn`.
//!
//! Latency modes: one agent is connected to `GET /api/v1/alerts/ws` of
//! instance B; then, one request at a time, an admin POSTs a critical
//! complaint assigned to that agent to instance A (the `event` rule raises a
//! `critical_complaint` alert inside the request). Measured: from the POST's
//! response (status and body fully read) to the `alert.created` frame for
//! that complaint arriving on the socket. The service publishes the event
//! before it answers, so the frame can arrive first: the client then waits 0;
//! the signed difference and the time from the request's start are printed too.
//!
//! - `latency-sqlite`: one instance (A = B) on a fresh SQLite file;
//! - `latency-postgres`: one instance (A = B) on a fresh PostgreSQL database;
//! - `latency-redis`: two instances on one fresh PostgreSQL database sharing
//!   Redis (a channel of their own), POST to A, WebSocket on B.
//!
//! Idle mode (`idle`): one instance on a fresh SQLite file; opens
//! `--connections` WebSockets (one agent's token, `--open-concurrency`
//! handshakes in flight), waits until each has its `unread_count` snapshot,
//! keeps them open `--hold-secs` while reading (so the server's pings are
//! answered), closes them, and samples the server's `VmRSS`/`VmHWM` from
//! `/proc/PID/status` before, with all open, and after closing. The file
//! descriptor limit is not raised here: `bench/ws.sh` raises it with
//! `ulimit -n` for this process and the servers it starts.
//!
//! ```sh
//! cargo build --release --bin convergeai-alerts --example ws_bench
//! target/release/examples/ws_bench --server-bin target/release/convergeai-alerts --modes latency-sqlite,idle
//! ```
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use chrono::{DateTime, Utc};
use clap::Parser;
use futures_util::StreamExt;
use rand::Rng;
use serde_json::{Value, json};
use tokio::sync::{Semaphore, mpsc, watch};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

#[derive(Parser, Debug)]
#[command(about = "WebSocket push latency and idle-connection memory of convergeai-alerts")]
struct Args {
    /// The release server binary
    #[arg(long)]
    server_bin: PathBuf,
    /// Comma-separated: latency-sqlite, latency-postgres, latency-redis, idle
    #[arg(long, default_value = "latency-sqlite,latency-postgres,latency-redis,idle", value_delimiter = ',')]
    modes: Vec<String>,
    /// Measured alerts per latency mode
    #[arg(long, default_value_t = 1000)]
    alerts: usize,
    /// Unmeasured alerts before them
    #[arg(long, default_value_t = 20)]
    warmup: usize,
    /// Idle connections to open
    #[arg(long, default_value_t = 10_000)]
    connections: usize,
    /// WebSocket handshakes in flight at once while opening them
    #[arg(long, default_value_t = 256)]
    open_concurrency: usize,
    /// Seconds to keep the idle connections open once all have their snapshot
    /// (over 20 s: one round of the server's heartbeat pings is answered)
    #[arg(long, default_value_t = 30)]
    hold_secs: u64,
    /// PostgreSQL server (a fresh database is created on it and dropped afterwards)
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
    postgres_url: String,
    /// Redis shared by the two instances of latency-redis
    #[arg(long, default_value = "redis://127.0.0.1:6379")]
    redis_url: String,
    /// ALERTS_DISPATCHER of the servers
    #[arg(long, default_value = "on", value_parser = ["on", "off"])]
    dispatcher: String,
    /// Keep the temp dir with the server logs
    #[arg(long)]
    keep: bool,
}

fn main() -> Result<()> {
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let work = std::env::temp_dir().join(format!("ws_bench_{}", suffix()));
    std::fs::create_dir_all(&work)?;
    let outcome = runtime.block_on(run(&args, &work));
    if args.keep || outcome.is_err() {
        eprintln!("server logs kept in {}", work.display());
    } else {
        let _ = std::fs::remove_dir_all(&work);
    }
    outcome
}

async fn run(args: &Args, work: &Path) -> Result<()> {
    println!("machine: {} cores, load average {}", cores(), loadavg());
    println!("bench process: open-files limit {}", open_files_limit("self").unwrap_or_default());
    let mut summary = Vec::new();
    for mode in &args.modes {
        println!("\n== {mode}");
        let line = match mode.as_str() {
            "latency-sqlite" | "latency-postgres" | "latency-redis" => latency_mode(args, work, mode).await,
            "idle" => idle_mode(args, work).await,
            other => Err(anyhow!("unknown mode {other}")),
        };
        match line {
            Ok(line) => summary.push(line),
            Err(e) => {
                println!("RESULT mode={mode} failed={:?}", format!("{e:#}"));
                summary.push(format!("{mode}: failed: {e:#}"));
            }
        }
    }
    println!("\n== summary (load average now {})", loadavg());
    for line in summary {
        println!("{line}");
    }
    Ok(())
}

// --- databases and servers -------------------------------------------------------

fn suffix() -> String {
    let mut rng = rand::rng();
    (0..10).map(|_| char::from(b"abcdefghijklmnopqrstuvwxyz0123456789"[rng.random_range(0..36)])).collect()
}

#[path = "../tests/support/scratch_db.rs"]
mod scratch_db;

/// A fresh database of its own: a SQLite file, or a PostgreSQL database.
type Db = scratch_db::ScratchDb;

async fn fresh_db(args: &Args, postgres: bool) -> Result<Db> {
    let server = if postgres { args.postgres_url.as_str() } else { "sqlite:" };
    Db::create(server, "ws_bench").await.map_err(|e| anyhow!(e))
}

async fn drop_db(db: &Db) {
    if let Err(e) = db.remove().await {
        eprintln!("warning: could not drop database {}: {e}", db.url);
    }
}

/// Runs a one-shot command of the binary (migrate, staff create, token) and returns its stdout.
fn cli(bin: &Path, db: &Db, args: &[&str]) -> Result<String> {
    let out = Command::new(bin)
        .args(args)
        .env("DATABASE_URL", &db.url)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("running {}", bin.display()))?;
    if !out.status.success() {
        bail!("{} {}: {}", bin.display(), args.join(" "), String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(String::from_utf8(out.stdout)?.trim().to_owned())
}

struct Staff {
    id: i64,
    token: String,
}

fn staff(bin: &Path, db: &Db, email: &str, role: &str) -> Result<Staff> {
    let created = cli(bin, db, &["staff", "create", "--email", email, "--password", "benchpass123", "--role", role])?;
    // "created staff member E (id N)"
    let id = created
        .rsplit_once("(id ")
        .and_then(|(_, rest)| rest.trim_end_matches(')').parse().ok())
        .ok_or_else(|| anyhow!("unexpected output of staff create: {created}"))?;
    let token = cli(bin, db, &["token", "--email", email])?;
    Ok(Staff { id, token })
}

struct Server {
    child: Child,
    base: String,
    pid: u32,
}

impl Server {
    /// Starts `serve` on 127.0.0.1:0 and reads the bound port from its log.
    async fn start(args: &Args, db: &Db, name: &str, work: &Path, redis_channel: Option<&str>) -> Result<Server> {
        let log = work.join(format!("{name}.log"));
        let mut cmd = Command::new(&args.server_bin);
        cmd.args(["serve", "--bind", "127.0.0.1:0"])
            .env("DATABASE_URL", &db.url)
            .env("ALERTS_SCHEDULER", "off")
            .env("ALERTS_DISPATCHER", &args.dispatcher)
            .env("RUST_LOG", "warn,convergeai_alerts::cli=info")
            .env("NO_COLOR", "1")
            .env_remove("ALERTS_REDIS_URL")
            .env_remove("ALERTS_REDIS_CHANNEL")
            .env_remove("ALERTS_BIND")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log)?);
        if let Some(channel) = redis_channel {
            cmd.env("ALERTS_REDIS_URL", &args.redis_url).env("ALERTS_REDIS_CHANNEL", channel);
        }
        let mut child = cmd.spawn().with_context(|| format!("starting {}", args.server_bin.display()))?;
        let pid = child.id();
        let deadline = Instant::now() + Duration::from_secs(30);
        let base = loop {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            if let Some(at) = text.find("listening on http://") {
                let rest = &text[at + "listening on ".len()..];
                let end = rest.find(|c: char| c.is_whitespace() || c == '\u{1b}').unwrap_or(rest.len());
                break rest[..end].to_owned();
            }
            if let Some(status) = child.try_wait()? {
                bail!("server {name} exited ({status}): {}", text.trim());
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                bail!("server {name} did not start within 30 s: {}", text.trim());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        let server = Server { child, base, pid };
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(10);
        while !client.get(format!("{}/health", server.base)).send().await.is_ok_and(|r| r.status().is_success()) {
            if Instant::now() > deadline {
                bail!("server {name} does not answer /health");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(server)
    }

    fn ws_url(&self, token: &str) -> String {
        format!("{}/api/v1/alerts/ws?token={token}", self.base.replacen("http://", "ws://", 1))
    }

    fn stop(mut self) {
        // SIGTERM for a graceful stop; the child is not ours to signal by name.
        let _ = Command::new("kill").args(["-TERM", &self.pid.to_string()]).status();
        let deadline = Instant::now() + Duration::from_secs(25);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// --- /proc -----------------------------------------------------------------------

fn cores() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn open_files_limit(pid: &str) -> Option<String> {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    let mut fields = line["Max open files".len()..].split_whitespace();
    Some(format!("{} (hard {})", fields.next()?, fields.next()?))
}

fn open_files_soft(pid: &str) -> Option<usize> {
    open_files_limit(pid)?.split_whitespace().next()?.parse().ok()
}

/// A `kB` field of /proc/PID/status (VmRSS, VmHWM), or Threads.
fn status_field(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(&format!("{field}:")))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// utime + stime of a process, in clock ticks.
fn process_ticks(pid: &str) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may contain spaces): state is field 3, utime 14, stime 15.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let fields: Vec<&str> = rest.split_whitespace().collect();
    fields.get(11).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0)
        + fields.get(12).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0)
}

/// Busy ticks of the whole machine (all but idle and iowait).
fn machine_busy_ticks() -> u64 {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let line = stat.lines().next().unwrap_or("");
    let v: Vec<u64> = line.split_whitespace().skip(1).filter_map(|x| x.parse().ok()).collect();
    v.iter().take(8).sum::<u64>() - v.get(3).copied().unwrap_or(0) - v.get(4).copied().unwrap_or(0)
}

fn clock_ticks() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

/// CPU used during a phase: by the servers, by this process, by everything else (in cores;
/// the database server and Redis count as "else"). Approximate: the per-process
/// and the machine-wide counters are not sampled alike.
struct CpuMeter {
    pids: Vec<String>,
    servers: u64,
    me: u64,
    all: u64,
    at: Instant,
}

impl CpuMeter {
    fn start(servers: &[&Server]) -> Self {
        let pids: Vec<String> = servers.iter().map(|s| s.pid.to_string()).collect();
        let servers = pids.iter().map(|p| process_ticks(p)).sum();
        Self { pids, servers, me: process_ticks("self"), all: machine_busy_ticks(), at: Instant::now() }
    }

    fn stop(&self) -> (f64, f64, f64) {
        let wall = self.at.elapsed().as_secs_f64() * clock_ticks();
        let servers = self.pids.iter().map(|p| process_ticks(p)).sum::<u64>().saturating_sub(self.servers) as f64;
        let me = process_ticks("self").saturating_sub(self.me) as f64;
        let all = machine_busy_ticks().saturating_sub(self.all) as f64;
        (servers / wall, me / wall, ((all - servers - me) / wall).max(0.0))
    }
}

// --- latency -----------------------------------------------------------------------

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn sorted(mut v: Vec<f64>) -> Vec<f64> {
    v.sort_by(f64::total_cmp);
    v
}

async fn latency_mode(args: &Args, work: &Path, mode: &str) -> Result<String> {
    let postgres = mode != "latency-sqlite";
    let db = fresh_db(args, postgres).await?;
    let outcome = latency_on(args, work, mode, &db).await;
    drop_db(&db).await;
    outcome
}

async fn latency_on(args: &Args, work: &Path, mode: &str, db: &Db) -> Result<String> {
    cli(&args.server_bin, db, &["migrate"])?;
    let admin = staff(&args.server_bin, db, "admin@bench.local", "admin")?;
    let agent = staff(&args.server_bin, db, "agent@bench.local", "agent")?;
    let channel = format!("ws-bench:{}", suffix());
    let (a, b) = if mode == "latency-redis" {
        let a = Server::start(args, db, "a", work, Some(&channel)).await?;
        let b = Server::start(args, db, "b", work, Some(&channel)).await?;
        wait_subscribers(&args.redis_url, &channel, 2).await?;
        (a, Some(b))
    } else {
        (Server::start(args, db, "a", work, None).await?, None)
    };
    let ws_server = b.as_ref().unwrap_or(&a);
    println!(
        "backend {}, POST to {} (pid {}), WebSocket on {} (pid {}){}",
        if postgres_url(db) { "PostgreSQL" } else { "SQLite" },
        a.base,
        a.pid,
        ws_server.base,
        ws_server.pid,
        if b.is_some() { format!(", Redis channel {channel}") } else { String::new() }
    );
    let result = measure_latency(args, mode, &a, ws_server, &admin, &agent).await;
    a.stop();
    if let Some(b) = b {
        b.stop();
    }
    result
}

fn postgres_url(db: &Db) -> bool {
    db.backend_name == "postgres"
}

async fn wait_subscribers(redis_url: &str, channel: &str, want: i64) -> Result<()> {
    let client = redis::Client::open(redis_url)?;
    let mut conn = client.get_multiplexed_async_connection().await.context("connecting to Redis")?;
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (_, n): (String, i64) = redis::cmd("PUBSUB").arg("NUMSUB").arg(channel).query_async(&mut conn).await?;
        if n >= want {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("only {n} of {want} instances subscribed to {channel} after 15 s");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn measure_latency(
    args: &Args,
    mode: &str,
    post_to: &Server,
    ws_server: &Server,
    admin: &Staff,
    agent: &Staff,
) -> Result<String> {
    let (mut ws, _) = tokio_tungstenite::connect_async(ws_server.ws_url(&agent.token)).await?;
    // The snapshot comes first.
    let first = tokio::time::timeout(Duration::from_secs(10), ws.next()).await?.ok_or_else(|| anyhow!("closed"))??;
    let first: Value = serde_json::from_str(first.to_text()?)?;
    if first["type"] != "unread_count" {
        bail!("expected the unread_count snapshot first, got {first}");
    }
    // A reader task stamps each alert.created for a critical_complaint the moment its frame is read.
    // With the alert's `created_at` (the server's clock, the same machine): the
    // time from the engine stamping the alert to the frame being read.
    let (arrived_tx, mut arrived) = mpsc::unbounded_channel::<(i64, Instant, f64)>();
    let reader = tokio::spawn(async move {
        while let Some(Ok(message)) = ws.next().await {
            let (at, wall) = (Instant::now(), Utc::now());
            let Message::Text(text) = message else { continue };
            let Ok(v) = serde_json::from_str::<Value>(&text) else { continue };
            if v["type"] == "alert.created" && v["alert"]["alert_type"] == "critical_complaint" {
                let stamped = v["alert"]["created_at"].as_str().and_then(|t| DateTime::parse_from_rfc3339(t).ok());
                let since = stamped.map_or(f64::NAN, |t| (wall - t.with_timezone(&Utc)).as_seconds_f64() * 1e3);
                let _ = arrived_tx.send((v["alert"]["resource_id"].as_i64().unwrap_or(-1), at, since));
            }
        }
    });

    let client = reqwest::Client::builder().timeout(Duration::from_secs(30)).build()?;
    let url = format!("{}/api/v1/complaints", post_to.base);
    let mut waits = Vec::with_capacity(args.alerts); // max(0, frame - response)
    let mut signed = Vec::with_capacity(args.alerts); // frame - response
    let mut from_start = Vec::with_capacity(args.alerts); // frame - request start
    let mut round_trips = Vec::with_capacity(args.alerts);
    let mut since_stamp = Vec::with_capacity(args.alerts); // frame - alert.created_at
    let (mut missing, mut early) = (0usize, 0usize);
    let mut cpu = None;
    for i in 0..args.warmup + args.alerts {
        if i == args.warmup {
            cpu = Some(CpuMeter::start(&[post_to, ws_server]));
        }
        let body = json!({"title": format!("Bench {i}"), "customer_name": "bench", "priority": "critical",
                          "assigned_to_staff_id": agent.id});
        let start = Instant::now();
        let response = client.post(&url).bearer_auth(&admin.token).json(&body).send().await?;
        let status = response.status();
        let bytes = response.bytes().await?;
        let answered = Instant::now();
        if status != 201 && status != 200 {
            bail!("POST /complaints answered {status}: {}", String::from_utf8_lossy(&bytes));
        }
        let id = serde_json::from_slice::<Value>(&bytes)?["id"].as_i64().ok_or_else(|| anyhow!("no complaint id"))?;
        let frame = loop {
            match tokio::time::timeout(Duration::from_secs(5), arrived.recv()).await {
                Ok(Some((got, at, since))) if got == id => break Some((at, since)),
                Ok(Some(_)) => continue, // a late one of an earlier complaint
                Ok(None) => bail!("the WebSocket closed"),
                Err(_) => break None,
            }
        };
        if i < args.warmup {
            continue;
        }
        round_trips.push((answered - start).as_secs_f64() * 1e3);
        match frame {
            Some((at, since)) => {
                since_stamp.push(since);
                let d = if at >= answered {
                    (at - answered).as_secs_f64() * 1e3
                } else {
                    early += 1;
                    -(answered - at).as_secs_f64() * 1e3
                };
                signed.push(d);
                waits.push(d.max(0.0));
                from_start.push((at - start).as_secs_f64() * 1e3);
            }
            None => missing += 1,
        }
    }
    let (server_cores, bench_cores, other_cores) = cpu.map(|c| c.stop()).unwrap_or_default();
    reader.abort();
    let (waits, signed, from_start, round_trips) =
        (sorted(waits), sorted(signed), sorted(from_start), sorted(round_trips));
    let since_stamp = sorted(since_stamp);
    let n = waits.len();
    println!(
        "{n} of {} alert.created frames arrived ({missing} missing after 5 s); {early} arrived before the POST response",
        args.alerts
    );
    println!(
        "wait after the POST response, max(0, frame - response): p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
        percentile(&waits, 50.0),
        percentile(&waits, 99.0),
        waits.last().copied().unwrap_or(f64::NAN)
    );
    println!(
        "frame - response (signed): min {:.3} ms, p50 {:.3} ms, p99 {:.3} ms",
        signed.first().copied().unwrap_or(f64::NAN),
        percentile(&signed, 50.0),
        percentile(&signed, 99.0)
    );
    println!(
        "frame - request start: p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms; POST round trip: p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
        percentile(&from_start, 50.0),
        percentile(&from_start, 99.0),
        from_start.last().copied().unwrap_or(f64::NAN),
        percentile(&round_trips, 50.0),
        percentile(&round_trips, 99.0),
        round_trips.last().copied().unwrap_or(f64::NAN)
    );
    println!(
        "frame - alert created_at (the engine's timestamp, before its INSERT): p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
        percentile(&since_stamp, 50.0),
        percentile(&since_stamp, 99.0),
        since_stamp.last().copied().unwrap_or(f64::NAN)
    );
    println!(
        "CPU during the measured part (cores, approximate): servers {server_cores:.2}, bench {bench_cores:.2}, \
         everything else (PostgreSQL and Redis included) {other_cores:.2}"
    );
    println!(
        "RESULT mode={mode} alerts={} arrived={n} missing={missing} early={early} wait_p50_ms={:.3} wait_p99_ms={:.3} \
         wait_max_ms={:.3} signed_p50_ms={:.3} from_start_p50_ms={:.3} from_start_p99_ms={:.3} post_p50_ms={:.3} \
         post_p99_ms={:.3} stamp_p50_ms={:.3} stamp_p99_ms={:.3} cpu_servers={server_cores:.2} cpu_bench={bench_cores:.2} cpu_other={other_cores:.2}",
        args.alerts,
        percentile(&waits, 50.0),
        percentile(&waits, 99.0),
        waits.last().copied().unwrap_or(f64::NAN),
        percentile(&signed, 50.0),
        percentile(&from_start, 50.0),
        percentile(&from_start, 99.0),
        percentile(&round_trips, 50.0),
        percentile(&round_trips, 99.0),
        percentile(&since_stamp, 50.0),
        percentile(&since_stamp, 99.0),
    );
    Ok(format!(
        "{mode}: {n}/{} arrived, wait after response p50 {:.2} ms p99 {:.2} ms max {:.2} ms ({early} before the response); \
         from request start p50 {:.2} p99 {:.2} ms; from alert created_at p50 {:.2} p99 {:.2} ms; POST p50 {:.2} p99 {:.2} ms; CPU servers/bench/other {server_cores:.2}/{bench_cores:.2}/{other_cores:.2}",
        args.alerts,
        percentile(&waits, 50.0),
        percentile(&waits, 99.0),
        waits.last().copied().unwrap_or(f64::NAN),
        percentile(&from_start, 50.0),
        percentile(&from_start, 99.0),
        percentile(&since_stamp, 50.0),
        percentile(&since_stamp, 99.0),
        percentile(&round_trips, 50.0),
        percentile(&round_trips, 99.0),
    ))
}

// --- idle connections ------------------------------------------------------------------

struct Rss {
    rss_kb: u64,
    hwm_kb: u64,
    threads: u64,
}

fn rss(pid: u32) -> Rss {
    Rss {
        rss_kb: status_field(pid, "VmRSS"),
        hwm_kb: status_field(pid, "VmHWM"),
        threads: status_field(pid, "Threads"),
    }
}

fn mib(kb: u64) -> f64 {
    kb as f64 / 1024.0
}

async fn ws_gauge(client: &reqwest::Client, server: &Server) -> String {
    let text = match client.get(format!("{}/metrics", server.base)).send().await {
        Ok(r) => r.text().await.unwrap_or_default(),
        Err(e) => return format!("? ({e})"),
    };
    text.lines()
        .find(|l| l.starts_with("convergeai_alerts_websocket_connections "))
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap_or("?")
        .to_owned()
}

async fn idle_mode(args: &Args, work: &Path) -> Result<String> {
    let n = args.connections;
    let limit = open_files_soft("self").unwrap_or(0);
    if limit < n + 64 {
        bail!("the open-files limit is {limit}, {n} connections need more: raise it (ulimit -n) before starting");
    }
    let db = fresh_db(args, false).await?;
    let result = async {
        cli(&args.server_bin, &db, &["migrate"])?;
        let agent = staff(&args.server_bin, &db, "agent@bench.local", "agent")?;
        let server = Server::start(args, &db, "idle", work, None).await?;
        let result = idle_on(args, &server, &agent).await;
        server.stop();
        result
    }
    .await;
    drop_db(&db).await;
    result
}

async fn idle_on(args: &Args, server: &Server, agent: &Staff) -> Result<String> {
    let n = args.connections;
    let client = reqwest::Client::new();
    println!(
        "server pid {}, open-files limit {}",
        server.pid,
        open_files_limit(&server.pid.to_string()).unwrap_or_default()
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    let before = rss(server.pid);
    println!(
        "before: VmRSS {:.1} MiB, VmHWM {:.1} MiB, {} threads, websocket_connections {}",
        mib(before.rss_kb),
        mib(before.hwm_kb),
        before.threads,
        ws_gauge(&client, server).await
    );

    let url = server.ws_url(&agent.token);
    let gate = Arc::new(Semaphore::new(args.open_concurrency.max(1)));
    let (close_tx, close_rx) = watch::channel(false);
    let (ready_tx, mut ready) = mpsc::unbounded_channel::<Result<(), String>>();
    let dropped = Arc::new(AtomicUsize::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    let opening = Instant::now();
    let cpu = CpuMeter::start(&[server]);
    for _ in 0..n {
        let (url, gate, ready_tx, mut close_rx, dropped) =
            (url.clone(), gate.clone(), ready_tx.clone(), close_rx.clone(), dropped.clone());
        tasks.spawn(async move {
            let permit = gate.acquire_owned().await.expect("semaphore open");
            let opened = tokio::time::timeout(Duration::from_secs(60), async {
                // A small read buffer on this side (the default touches 128 KiB per connection).
                let config = WebSocketConfig::default().read_buffer_size(4096);
                let (mut ws, _) = tokio_tungstenite::connect_async_with_config(url.as_str(), Some(config), false)
                    .await
                    .map_err(|e| e.to_string())?;
                loop {
                    match ws.next().await {
                        Some(Ok(Message::Text(text))) if text.contains("\"unread_count\"") => return Ok(ws),
                        Some(Ok(_)) => continue,
                        Some(Err(e)) => return Err(e.to_string()),
                        None => return Err("closed before the snapshot".to_owned()),
                    }
                }
            })
            .await
            .unwrap_or_else(|_| Err("no snapshot within 60 s".to_owned()));
            drop(permit);
            let mut ws = match opened {
                Ok(ws) => {
                    let _ = ready_tx.send(Ok(()));
                    ws
                }
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                    return;
                }
            };
            // Keep reading (tungstenite answers the server's pings) until told to close.
            loop {
                tokio::select! {
                    message = ws.next() => match message {
                        Some(Ok(_)) => {}
                        _ => {
                            dropped.fetch_add(1, Ordering::Relaxed);
                            return;
                        }
                    },
                    _ = close_rx.changed() => break,
                }
            }
            let _ = ws.close(None).await;
            let _ = tokio::time::timeout(Duration::from_secs(10), async { while ws.next().await.is_some() {} }).await;
        });
    }
    drop(ready_tx);
    let (mut ok, mut errors) = (0usize, Vec::new());
    while let Some(r) = ready.recv().await {
        match r {
            Ok(()) => ok += 1,
            Err(e) => errors.push(e),
        }
        if ok + errors.len() == n {
            break;
        }
    }
    let open_secs = opening.elapsed().as_secs_f64();
    let (open_cpu, _, open_other) = cpu.stop();
    let open = rss(server.pid);
    println!(
        "opened {ok} of {n} connections with their snapshot in {open_secs:.1} s ({} failed{}); server CPU {open_cpu:.2} cores, other processes {open_other:.2}",
        errors.len(),
        errors.first().map(|e| format!(", first error: {e}")).unwrap_or_default()
    );
    println!(
        "all open: VmRSS {:.1} MiB, VmHWM {:.1} MiB, {} threads, websocket_connections {}, bench process VmRSS {:.1} MiB",
        mib(open.rss_kb),
        mib(open.hwm_kb),
        open.threads,
        ws_gauge(&client, server).await,
        mib(status_field(std::process::id(), "VmRSS"))
    );
    let hold = Instant::now();
    let mut peak = open.rss_kb;
    let hold_cpu = CpuMeter::start(&[server]);
    while hold.elapsed() < Duration::from_secs(args.hold_secs) {
        tokio::time::sleep(Duration::from_millis(500)).await;
        peak = peak.max(status_field(server.pid, "VmRSS"));
    }
    let (held_cpu, _, _) = hold_cpu.stop();
    let held = rss(server.pid);
    println!(
        "after holding {} s: VmRSS {:.1} MiB (peak sampled {:.1} MiB), server CPU {held_cpu:.3} cores, {} connections dropped by the server, websocket_connections {}",
        args.hold_secs,
        mib(held.rss_kb),
        mib(peak),
        dropped.load(Ordering::Relaxed),
        ws_gauge(&client, server).await
    );

    let closing = Instant::now();
    let _ = close_tx.send(true);
    while tasks.join_next().await.is_some() {}
    let close_secs = closing.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = rss(server.pid);
    println!(
        "closed all in {close_secs:.1} s; 2 s later: VmRSS {:.1} MiB, VmHWM {:.1} MiB, {} threads, websocket_connections {}",
        mib(after.rss_kb),
        mib(after.hwm_kb),
        after.threads,
        ws_gauge(&client, server).await
    );
    let per_conn = (peak.max(held.rss_kb) as f64 - before.rss_kb as f64) * 1024.0 / ok.max(1) as f64;
    println!(
        "RESULT mode=idle connections={n} opened={ok} failed={} open_s={open_secs:.1} rss_before_mib={:.1} rss_open_mib={:.1} \
         rss_peak_mib={:.1} hwm_mib={:.1} rss_after_close_mib={:.1} bytes_per_connection={per_conn:.0} dropped={}",
        errors.len(),
        mib(before.rss_kb),
        mib(open.rss_kb),
        mib(peak.max(held.rss_kb)),
        mib(after.hwm_kb),
        mib(after.rss_kb),
        dropped.load(Ordering::Relaxed),
    );
    Ok(format!(
        "idle: {ok}/{n} open in {open_secs:.1} s; server VmRSS {:.1} MiB before, {:.1} MiB all open (peak {:.1}, VmHWM {:.1}), {:.1} MiB after closing; {:.1} KiB per connection",
        mib(before.rss_kb),
        mib(open.rss_kb),
        mib(peak.max(held.rss_kb)),
        mib(after.hwm_kb),
        mib(after.rss_kb),
        per_conn / 1024.0
    ))
}
