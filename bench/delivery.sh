#!/usr/bin/env bash
# Notification-delivery benchmark (issue 5): see docs/PERFORMANCE.md.
#
#   bash bench/delivery.sh
#
# Builds examples/delivery_bench (release) and runs it on each backend. Per
# mode, on a fresh database: staff with email addresses subscribed to
# critical_complaint over email + webhook, an in-process SMTP server and
# webhook receiver, the real channels and the real dispatcher
# (DispatcherConfig::default(), what `serve` runs), and BENCH_ALERTS alerts
# created through complaints::create (the path of POST /complaints: alert and
# outbox rows in one transaction). Modes:
#   backlog  all alerts written first, then the dispatcher starts:
#            deliveries/s = deliveries / (last receipt - dispatcher start);
#   paced    alerts created at BENCH_RATE per second while the dispatcher runs:
#            lag = receipt - the alert's created_at (p50/p99/max).
# Prints one RESULT line per mode and backend, a summary table, the load
# average before and after, and PROBLEM lines when a delivery was lost,
# duplicated or not marked sent.
#
# Knobs (environment): CARGO_TARGET_DIR (default /work/target-bench),
# BENCH_BACKENDS ("sqlite"; also "mariadb" and "postgres"),
# BENCH_MYSQL_URL (mysql://root@127.0.0.1:3306/test),
# BENCH_POSTGRES_URL (postgres://postgres@127.0.0.1:5432/test),
# BENCH_MODES ("backlog paced"), BENCH_ALERTS (10000), BENCH_RATE (500 alerts/s
# = 1 000 deliveries/s), BENCH_CREATORS (4), BENCH_STAFF (20), BENCH_RUNS (1:
# repetitions of each mode), BENCH_ARGS (extra arguments for the example, e.g.
# "--batch 500 --concurrency 64" to try dispatcher settings), BENCH_BUILD=0
# (use the already-built example), BENCH_TIMEOUT (seconds per run, 600),
# BENCH_OUT (file collecting the raw lines; default a fresh mktemp file).
set -euo pipefail

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
BACKENDS=${BENCH_BACKENDS:-sqlite}
MYSQL_URL=${BENCH_MYSQL_URL:-mysql://root@127.0.0.1:3306/test}
POSTGRES_URL=${BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}
MODES=${BENCH_MODES:-backlog paced}
ALERTS=${BENCH_ALERTS:-10000}
RATE=${BENCH_RATE:-500}
CREATORS=${BENCH_CREATORS:-4}
STAFF=${BENCH_STAFF:-20}
RUNS=${BENCH_RUNS:-1}
TIMEOUT=${BENCH_TIMEOUT:-600}
OUT=${BENCH_OUT:-$(mktemp "${TMPDIR:-/tmp}/delivery-bench.XXXXXX")}
read -r -a EXTRA <<<"${BENCH_ARGS:-}"

build_release examples/delivery_bench --example delivery_bench
BIN=$CARGO_TARGET_DIR/release/examples/delivery_bench
say "source: HEAD $(cd "$ROOT" && GIT_OPTIONAL_LOCKS=0 git rev-parse --short HEAD 2>/dev/null || echo '?'), \
$(cd "$ROOT" && GIT_OPTIONAL_LOCKS=0 git status --porcelain -- src 2>/dev/null | wc -l) changed file(s) under src/; \
dispatcher sha256: $(cd "$ROOT" && sha256sum src/delivery/dispatcher.rs | cut -c1-12)"
say "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(uname -sr); load before: $(cut -d' ' -f1-3 /proc/loadavg)"

: >"$OUT"
for backend in $BACKENDS; do
    case $backend in
        sqlite) url=sqlite:// ;;
        mariadb | mysql) url=$MYSQL_URL ;;
        postgres) url=$POSTGRES_URL ;;
        *) echo "unknown backend $backend" >&2; exit 1 ;;
    esac
    for mode in $MODES; do
        for run in $(seq "$RUNS"); do
            say "$backend, $mode, $ALERTS alerts (run $run of $RUNS; load $(cut -d' ' -f1-3 /proc/loadavg))"
            start=$(date +%s)
            if ! timeout "$TIMEOUT" "$BIN" --database-url "$url" --mode "$mode" --alerts "$ALERTS" --rate "$RATE" \
                --creators "$CREATORS" --staff "$STAFF" "${EXTRA[@]}" | tee -a "$OUT"; then
                grep -q "^RESULT mode=$mode backend=$backend" "$OUT" \
                    || echo "RESULT mode=$mode backend=$backend failed_or_timed_out_after_s=$(($(date +%s) - start))" | tee -a "$OUT"
                echo "PROBLEM: $backend $mode run $run did not end cleanly (see above)" | tee -a "$OUT"
            fi
        done
    done
done

say "summary (targets: >= 1000 deliveries/s; paced at 1000 deliveries/s: lag p99 < 1000 ms; 0 lost, 0 duplicates)"
awk '
/^RESULT/ {
    delete f
    for (i = 2; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
    if (!("deliveries_per_s" in f)) { printf "%-9s %-8s (failed or timed out)\n", f["backend"], f["mode"]; next }
    printf "%-9s %-8s %8s %8s %5s %5s %8s %11s %9s %9s %9s %10s %10s\n", f["backend"], f["mode"], f["deliveries"],
        f["received"], f["duplicates"], f["lost"], f["not_sent"], f["deliveries_per_s"], f["lag_p50_ms"], f["lag_p99_ms"],
        f["lag_max_ms"], f["cpu_bench_cores"], f["cpu_other_cores"]
}' "$OUT" | { printf "%-9s %-8s %8s %8s %5s %5s %8s %11s %9s %9s %9s %10s %10s\n" backend mode deliveries received dups \
    lost not_sent deliv/s p50_ms p99_ms max_ms cpu_bench cpu_other; cat; }
say "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "(raw lines in $OUT)" >&2
