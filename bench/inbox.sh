#!/usr/bin/env bash
# Inbox read benchmark (issue 3): see docs/PERFORMANCE.md.
#
#   bash bench/inbox.sh
#
# Builds the release server and examples/bare_axum, fills a fresh SQLite file
# with BENCH_STAFF staff x BENCH_ALERTS alerts each, starts both servers and
# drives them with wrk (BENCH_THREADS threads, BENCH_CONNECTIONS connections,
# BENCH_DURATION each) against
#   GET /bare                                (examples/bare_axum: the ceiling)
#   GET /api/v1/alerts/unread/count
#   GET /api/v1/alerts?page=1&page_size=20
#   GET /health, GET /api/v1/auth/me         (references: the service without SQL)
# then prints requests/s, p50, p99, % of bare, CPU and RSS, and the EXPLAIN
# QUERY PLAN and single-thread time of the inbox queries, with the very SQLite
# the service links (bench/eqp.c built against libsqlite3-sys' amalgamation).
#
# Knobs (environment): CARGO_TARGET_DIR (default /work/target-bench),
# BENCH_STAFF (100), BENCH_ALERTS (10000 per staff member), BENCH_DURATION (10s),
# BENCH_CONNECTIONS (64), BENCH_THREADS (2), BENCH_WARMUP (2s), BENCH_PORT (18900),
# BENCH_BARE_PORT (18901), BENCH_SEED (42), BENCH_KEEP=1 keeps the temp dir,
# BENCH_BUILD=0 skips `cargo build` (uses the binaries already built),
# BENCH_QUIET_WAIT (60 s, see wait_quiet), BENCH_NICE (-20 as root, else 0:
# the niceness of both servers and wrk, set on a scheduling session of their
# own, so that other work on a shared machine, a compiler say, gets the CPU
# only when the benchmark leaves it idle; BENCH_NICE=0 turns that off).
set -euo pipefail

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
STAFF=${BENCH_STAFF:-100}
PER_STAFF=${BENCH_ALERTS:-10000}
DURATION=${BENCH_DURATION:-10s}
CONNS=${BENCH_CONNECTIONS:-64}
THREADS=${BENCH_THREADS:-2}
WARMUP=${BENCH_WARMUP:-2s}
PORT=${BENCH_PORT:-18900}
BARE_PORT=${BENCH_BARE_PORT:-18901}
SEED=${BENCH_SEED:-42}
own_session "$@"

# --- tools -------------------------------------------------------------------
need_wrk
need wrk curl python3 cc cargo
build_release "release binaries" --quiet --bin convergeai-alerts --example bare_axum
BIN=$CARGO_TARGET_DIR/release/convergeai-alerts
BARE=$CARGO_TARGET_DIR/release/examples/bare_axum
[ -x "$BIN" ] && [ -x "$BARE" ] || die "release binaries missing in $CARGO_TARGET_DIR/release"

# The SQLite amalgamation the service links (libsqlite3-sys, bundled), for
# ANALYZE and EXPLAIN QUERY PLAN with the same version and STAT4 setting.
SQLITE_SYS_VERSION=$(awk '/^name = "libsqlite3-sys"$/ { getline; gsub(/"/, "", $3); print $3 }' "$ROOT/Cargo.lock")
[ -n "$SQLITE_SYS_VERSION" ] || die "libsqlite3-sys not found in Cargo.lock"
AMALGAMATION=$(cd "$ROOT" && cargo metadata --format-version 1 2>/dev/null | python3 -c '
import json, os, sys
for p in json.load(sys.stdin)["packages"]:
    if p["name"] == "libsqlite3-sys" and p["version"] == sys.argv[1]:
        print(os.path.join(os.path.dirname(p["manifest_path"]), "sqlite3")); break
' "$SQLITE_SYS_VERSION")
[ -f "$AMALGAMATION/sqlite3.c" ] || die "bundled sqlite3.c not found for libsqlite3-sys $SQLITE_SYS_VERSION"
EQP=$CARGO_TARGET_DIR/bench/eqp-$SQLITE_SYS_VERSION
if [ ! -x "$EQP" ] || [ "$ROOT/bench/eqp.c" -nt "$EQP" ]; then
    say "compiling bench/eqp.c against libsqlite3-sys $SQLITE_SYS_VERSION's sqlite3.c"
    mkdir -p "$(dirname "$EQP")"
    cc -O2 -DSQLITE_ENABLE_STAT4 -DSQLITE_THREADSAFE=0 -DSQLITE_OMIT_LOAD_EXTENSION \
        -I"$AMALGAMATION" "$ROOT/bench/eqp.c" "$AMALGAMATION/sqlite3.c" -o "$EQP" -lm
fi

# --- servers are ours to stop --------------------------------------------------
WORK=$(mktemp -d "${TMPDIR:-/tmp}/inbox-bench.XXXXXX")
PIDS=()
cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    if [ "${BENCH_KEEP:-0}" = 1 ]; then echo "kept $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
port_free "$PORT" || die "port $PORT is in use (set BENCH_PORT)"
port_free "$BARE_PORT" || die "port $BARE_PORT is in use (set BENCH_BARE_PORT)"

# --- data ----------------------------------------------------------------------
DB=$WORK/bench.db
URL=sqlite://$DB
export RUST_LOG=warn ALERTS_SCHEDULER=off
say "database $DB: migrate, staff create, seed $STAFF x $PER_STAFF alerts"
"$BIN" --database-url "$URL" migrate >/dev/null
"$BIN" --database-url "$URL" staff create --email bench0@example.com --password benchpass123 --role agent >/dev/null
nice -n "$NICE" python3 "$ROOT/bench/seed.py" "$DB" "$STAFF" "$PER_STAFF" "$SEED"
"$EQP" "$DB" analyze
STAFF_ID=$(python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT id FROM staff WHERE email = ?", ("bench0@example.com",)).fetchone()[0])' "$DB")
TOKEN=$("$BIN" --database-url "$URL" token --email bench0@example.com)
DB_MB=$(du -m "$DB" | cut -f1)

# --- servers -------------------------------------------------------------------
say "starting servers"
give_priority
nice -n "$NICE" "$BIN" --database-url "$URL" serve --bind "127.0.0.1:$PORT" 2>"$WORK/server.log" &
SERVER_PID=$!
PIDS+=("$SERVER_PID")
nice -n "$NICE" "$BARE" "127.0.0.1:$BARE_PORT" 2>"$WORK/bare.log" &
BARE_PID=$!
PIDS+=("$BARE_PID")
for url in "http://127.0.0.1:$PORT/health" "http://127.0.0.1:$BARE_PORT/bare"; do
    for _ in $(seq 100); do
        curl -fsS -o /dev/null "$url" 2>/dev/null && break
        sleep 0.1
    done
    curl -fsS -o /dev/null "$url" || { cat "$WORK/server.log" >&2; die "$url does not answer"; }
done

BASE=http://127.0.0.1:$PORT/api/v1
AUTH="Authorization: Bearer $TOKEN"
# label | url | extra header | target (fraction of bare; "-" = none)
# The first three are the issue's; the last two are references that show where
# the service's own time goes: its HTTP stack without auth or database
# (/health), and with bearer auth but no query (/auth/me: the principal is cached).
SPECS=(
    "/bare (bare axum)|http://127.0.0.1:$BARE_PORT/bare|X-Bench: bare|ceiling"
    "/api/v1/alerts/unread/count|$BASE/alerts/unread/count|$AUTH|0.50"
    "/api/v1/alerts?page=1&page_size=20|$BASE/alerts?page=1&page_size=20|$AUTH|0.25"
    "/health (reference: service, no auth, no SQL)|http://127.0.0.1:$PORT/health|X-Bench: health|-"
    "/api/v1/auth/me (reference: service + auth, no SQL)|$BASE/auth/me|$AUTH|-"
)
field() { local IFS='|'; local parts; read -r -a parts <<<"$1"; printf '%s' "${parts[$2]}"; }

UNREAD_JSON=$(curl -fsS -H "$AUTH" "$BASE/alerts/unread/count")
PAGE_SUMMARY=$(curl -fsS -H "$AUTH" "$BASE/alerts?page=1&page_size=20" | python3 -c '
import json, sys
p = json.load(sys.stdin); a = p["alerts"]
print("%d alerts, total %d, unread_count %d, newest %s" % (len(a), p["total"], p["unread_count"], a[0]["created_at"]))')
echo "bench0 (staff id $STAFF_ID): unread/count -> $UNREAD_JSON; first page -> $PAGE_SUMMARY" >&2

rss_kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }       # a process: utime + stime
child_ticks() { awk '{ print $16 + $17 }' "/proc/$$/stat"; }     # this shell's waited children (wrk)
busy_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat; }   # whole machine
CLK_TCK=$(getconf CLK_TCK)
# Other work on the machine (a compiler, say) skews every figure, so each run
# waits (up to BENCH_QUIET_WAIT seconds, default 60) for 3 seconds in which
# less than 0.15 of a core is busy, and the table reports what else ran.
wait_quiet() {
    local deadline=$((SECONDS + ${BENCH_QUIET_WAIT:-60})) b0 told=0
    while :; do
        b0=$(busy_ticks); sleep 3
        [ $(($(busy_ticks) - b0)) -lt $((CLK_TCK * 45 / 100)) ] && return 0
        if [ "$SECONDS" -ge "$deadline" ]; then echo "machine still busy; measuring anyway" >&2; return 0; fi
        [ "$told" = 1 ] || { echo "waiting for the machine to be quiet (other processes are using CPU)" >&2; told=1; }
    done
}

say "warm-up ($WARMUP each)"
for spec in "${SPECS[@]}"; do
    nice -n "$NICE" wrk -t"$THREADS" -c"$CONNS" -d"$WARMUP" -H "$(field "$spec" 2)" "$(field "$spec" 1)" >/dev/null
done

# --- runs ----------------------------------------------------------------------
RSS_BEFORE=$(rss_kb "$SERVER_PID" VmRSS)
for i in "${!SPECS[@]}"; do
    spec=${SPECS[$i]}
    url=$(field "$spec" 1)
    say "wrk -t$THREADS -c$CONNS -d$DURATION --latency $url"
    pid=$SERVER_PID
    [ "$i" = 0 ] && pid=$BARE_PID
    ( peak=0; while kill -0 "$pid" 2>/dev/null; do
          r=$(rss_kb "$pid" VmRSS); [ "${r:-0}" -gt "$peak" ] && peak=$r && echo "$peak" >"$WORK/rss.$i"
          sleep 0.5
      done ) &
    sampler=$!
    wait_quiet
    cpu0=$(cpu_ticks "$pid"); wrk0=$(child_ticks); all0=$(busy_ticks); t0=$(date +%s.%N)
    nice -n "$NICE" wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency -H "$(field "$spec" 2)" "$url" | tee "$WORK/wrk.$i" >&2
    cpu1=$(cpu_ticks "$pid"); wrk1=$(child_ticks); all1=$(busy_ticks); t1=$(date +%s.%N)
    echo "$cpu0 $cpu1 $wrk0 $wrk1 $all0 $all1 $t0 $t1 $CLK_TCK" >"$WORK/cpu.$i"
    kill "$sampler" 2>/dev/null || true
    wait "$sampler" 2>/dev/null || true
done
HWM=$(rss_kb "$SERVER_PID" VmHWM)

# --- report --------------------------------------------------------------------
say "results"
export WORK THREADS CONNS DURATION RSS_BEFORE HWM DB_MB STAFF PER_STAFF NICE
python3 - "${SPECS[@]}" <<'PY'
import os, re, sys
specs = [s.split("|") for s in sys.argv[1:]]
work = os.environ["WORK"]
unit = {"us": 0.001, "ms": 1.0, "s": 1000.0}

def ms(text):
    m = re.fullmatch(r"([\d.]+)(us|ms|s)", text)
    return float(m.group(1)) * unit[m.group(2)]

rows, problems = [], []
for i, (label, _url, _header, target) in enumerate(specs):
    out = open(f"{work}/wrk.{i}").read()
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))
    p99 = ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errs = re.search(r"Socket errors: (.*)", out)
    if bad: problems.append(f"{label}: {bad.group(1)} non-2xx responses")
    if errs: problems.append(f"{label}: socket errors {errs.group(1)}")
    try: rss = int(open(f"{work}/rss.{i}").read()) / 1024
    except OSError: rss = float("nan")
    c0, c1, w0, w1, a0, a1, t0, t1, tck = map(float, open(f"{work}/cpu.{i}").read().split())
    wall = t1 - t0
    cores, wrk_cores = (c1 - c0) / tck / wall, (w1 - w0) / tck / wall
    other = max(0.0, (a1 - a0) / tck / wall - cores - wrk_cores)
    if other > 0.15:
        problems.append(f"{label}: other processes used {other:.2f} cores during the run; not a clean figure")
    rows.append((label, rps, p50, p99, rss, cores, wrk_cores, other, target))

bare = rows[0][1]
print(f"wrk -t{os.environ['THREADS']} -c{os.environ['CONNS']} -d{os.environ['DURATION']} --latency (niceness {os.environ['NICE']}); "
      f"{os.environ['STAFF']} staff x {os.environ['PER_STAFF']} alerts, database {os.environ['DB_MB']} MB\n")
print("| GET | requests/s | p50 | p99 | % of bare | CPU: server / wrk / other | server peak RSS | target | met |")
print("|---|---:|---:|---:|---:|---:|---:|---|---|")
for label, rps, p50, p99, rss, cores, wrk_cores, other, target in rows:
    if target in ("ceiling", "-"):
        goal, met = target, "-"
    else:
        t = float(target)
        ok = rps / bare >= t and p99 < 10
        goal, met = f">= {t:.0%} of bare, p99 < 10 ms", "yes" if ok else "**no**"
    print(f"| `{label.split(' (')[0]}`{' (' + label.split(' (', 1)[1] if ' (' in label else ''} | {rps:,.0f} | "
          f"{p50:.2f} ms | {p99:.2f} ms | {rps / bare:.1%} | {cores:.2f} / {wrk_cores:.2f} / {other:.2f} | "
          f"{rss:.0f} MiB | {goal} | {met} |")
print(f"\nservice RSS: {int(os.environ['RSS_BEFORE']) / 1024:.0f} MiB after warm-up, peak (VmHWM) "
      f"{int(os.environ['HWM']) / 1024:.0f} MiB over the whole run; the /bare row's CPU and RSS are examples/bare_axum's")
for p in problems:
    print(f"PROBLEM: {p}")
PY

# --- query plans -----------------------------------------------------------------
# What src/storage/alerts.rs makes sea-orm send on SQLite (sea-query's SQL;
# `count()` wraps the select in a sub-query). ?1 = staff id, ?2 = now (RFC 3339
# text, as sqlx binds a DateTime<Utc>), ?3 = false (bound as integer 0).
COLS='"alerts"."id", "alerts"."alert_type", "alerts"."severity", "alerts"."title", "alerts"."message", "alerts"."resource_type", "alerts"."resource_id", "alerts"."assigned_to_staff_id", "alerts"."is_read", "alerts"."is_dismissed", "alerts"."alert_metadata", "alerts"."created_at", "alerts"."read_at", "alerts"."dismissed_at", "alerts"."expires_at"'
LIVE='"alerts"."assigned_to_staff_id" = ?1 AND "alerts"."is_dismissed" = ?3 AND ("alerts"."expires_at" IS NULL OR "alerts"."expires_at" > ?2)'
Q_UNREAD="SELECT COUNT(*) AS num_items FROM (SELECT $COLS FROM \"alerts\" WHERE $LIVE AND \"alerts\".\"is_read\" = ?3) AS \"sub_query\""
Q_PAGE="SELECT $COLS FROM \"alerts\" WHERE $LIVE ORDER BY \"alerts\".\"created_at\" DESC, \"alerts\".\"id\" DESC LIMIT 20 OFFSET 0"
Q_TOTAL="SELECT COUNT(*) AS num_items FROM (SELECT $COLS FROM \"alerts\" WHERE $LIVE) AS \"sub_query\""
NOW=$(python3 -c 'import datetime; print(datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="microseconds"))')
printf '\nQuery plans: SQLite %s (the service'"'"'s bundled build), after ANALYZE; staff id %s, now %s.\n' \
    "$("$EQP" "$DB" version)" "$STAFF_ID" "$NOW"
printf 'Plans and times are of the exact SQL sea-orm sends (Q_* above in bench/inbox.sh), shown here\n'
printf 'in short form; time = mean of repeated runs of the prepared statement in one thread, no HTTP.\n\n'
plan() {
    printf '%s: %s us per execution\n  %s\n' "$1" "$("$EQP" "$DB" time "$STAFF_ID" "$NOW" "$3")" "$2"
    "$EQP" "$DB" plan "$STAFF_ID" "$NOW" "$3"
    echo
}
plan "unread count (GET /alerts/unread/count; GET /alerts runs it too)" \
    'SELECT COUNT(*) FROM alerts WHERE assigned_to_staff_id = ? AND is_dismissed = 0 AND (expires_at IS NULL OR expires_at > ?) AND is_read = 0' \
    "$Q_UNREAD"
plan "first page rows (GET /alerts?page=1&page_size=20)" \
    'SELECT * FROM alerts WHERE assigned_to_staff_id = ? AND is_dismissed = 0 AND (expires_at IS NULL OR expires_at > ?) ORDER BY created_at DESC, id DESC LIMIT 20 OFFSET 0' \
    "$Q_PAGE"
plan "first page total (GET /alerts)" \
    'SELECT COUNT(*) FROM alerts WHERE assigned_to_staff_id = ? AND is_dismissed = 0 AND (expires_at IS NULL OR expires_at > ?)' \
    "$Q_TOTAL"

echo "machine: $(nproc) cores, $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo), $(uname -sr); $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2)"
