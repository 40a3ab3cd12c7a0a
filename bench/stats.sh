#!/usr/bin/env bash
# Alert statistics benchmark (issue 7): see docs/PERFORMANCE.md.
#
#   bash bench/stats.sh
#
# Builds the release server, fills a fresh SQLite file with BENCH_STAFF staff x
# BENCH_ALERTS alerts each (bench/seed.py, the data of bench/inbox.sh: 1 000 000
# alerts over the last 30 days, with read and dismiss times), adds an admin,
# runs ANALYZE, starts `serve`, and times GET /api/v1/alerts/stats with its
# default window (the last 30 days: every alert), BENCH_RUNS times in a row:
#   - as the admin (alerts.manage: everyone's figures, the per-staff table of 100);
#   - as bench0, an agent (their own 10 000 alerts).
# Prints min / median / max of the wall time curl measured per request, and the
# totals the endpoint reported (to show it counted the whole million).
#
# Knobs (environment): CARGO_TARGET_DIR (default /work/target-bench),
# BENCH_STAFF (100), BENCH_ALERTS (10000 per staff member), BENCH_RUNS (10),
# BENCH_PORT (18910), BENCH_SEED (42), BENCH_BUILD=0 skips `cargo build`,
# BENCH_KEEP=1 keeps the temp dir.
set -euo pipefail

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
STAFF=${BENCH_STAFF:-100}
PER_STAFF=${BENCH_ALERTS:-10000}
RUNS=${BENCH_RUNS:-10}
PORT=${BENCH_PORT:-18910}
SEED=${BENCH_SEED:-42}

need curl python3 cargo
build_release "the release binary" --quiet --bin convergeai-alerts
BIN=$CARGO_TARGET_DIR/release/convergeai-alerts
[ -x "$BIN" ] || die "$BIN missing"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/stats-bench.XXXXXX")
SERVER_PID=
cleanup() {
    if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
    if [ "${BENCH_KEEP:-0}" = 1 ]; then echo "kept $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
(exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && die "port $PORT is in use (set BENCH_PORT)"

DB=$WORK/bench.db
URL=sqlite://$DB
export RUST_LOG=warn ALERTS_SCHEDULER=off ALERTS_DISPATCHER=off
say "database $DB: migrate, staff, seed $STAFF x $PER_STAFF alerts"
"$BIN" --database-url "$URL" migrate >/dev/null
"$BIN" --database-url "$URL" staff create --email bench0@example.com --password benchpass123 --role agent >/dev/null
"$BIN" --database-url "$URL" staff create --email admin@example.com --password benchpass123 --role admin >/dev/null
python3 "$ROOT/bench/seed.py" "$DB" "$STAFF" "$PER_STAFF" "$SEED"
python3 -c 'import sqlite3, sys; sqlite3.connect(sys.argv[1]).execute("ANALYZE")' "$DB"
ADMIN_TOKEN=$("$BIN" --database-url "$URL" token --email admin@example.com)
AGENT_TOKEN=$("$BIN" --database-url "$URL" token --email bench0@example.com)

say "starting the server"
"$BIN" --database-url "$URL" serve --bind "127.0.0.1:$PORT" 2>"$WORK/server.log" &
SERVER_PID=$!
for _ in $(seq 100); do curl -fsS -o /dev/null "http://127.0.0.1:$PORT/health" 2>/dev/null && break; sleep 0.1; done
curl -fsS -o /dev/null "http://127.0.0.1:$PORT/health" || { cat "$WORK/server.log" >&2; die "the server does not answer"; }

STATS=http://127.0.0.1:$PORT/api/v1/alerts/stats
# label | token
for spec in "admin (everyone, alerts.manage)|$ADMIN_TOKEN" "agent bench0 (own alerts)|$AGENT_TOKEN"; do
    label=${spec%%|*}
    token=${spec#*|}
    say "GET /api/v1/alerts/stats as $label, $RUNS runs"
    curl -fsS -H "Authorization: Bearer $token" "$STATS" >"$WORK/stats.json" || { tail -20 "$WORK/server.log" >&2; die "GET stats failed"; }
    python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))
print("reported:", {k: v for k, v in s.items() if not isinstance(v, (list, dict))},
      "| days:", len(s.get("per_day", [])), "| staff rows:", len(s.get("per_staff", [])))' "$WORK/stats.json"
    times=()
    for _ in $(seq "$RUNS"); do
        t=$(curl -fsS -o /dev/null -w '%{time_total}' -H "Authorization: Bearer $token" "$STATS") \
            || { tail -20 "$WORK/server.log" >&2; die "GET stats failed"; }
        times+=("$t")
    done
    python3 -c '
import statistics, sys
label, ts = sys.argv[1], sorted(float(t) * 1000 for t in sys.argv[2:])
print(f"RESULT stats caller=\"{label}\" runs={len(ts)} min_ms={ts[0]:.1f} median_ms={statistics.median(ts):.1f} max_ms={ts[-1]:.1f}")
' "$label" "${times[@]}"
done
say "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), load $(cut -d' ' -f1-3 /proc/loadavg)"
