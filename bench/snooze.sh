#!/usr/bin/env bash
# Snooze-wake benchmark (issue 19): see docs/PERFORMANCE.md, "Waking snoozed alerts (issue 19)".
#
#   bash bench/snooze.sh
#
# Builds examples/snooze_bench (release) and runs it on each backend: 200
# agents, 100 000 alerts snoozed until the same minute, one live WebSocket per
# agent; the clock moves past the minute, one `snooze::tick` is timed, and the
# time until every socket has its final unread count; next to them the bare
# UPDATE that wakes the same rows and the bare read-back of them. Prints the
# RESULT line of each run.
#
# Knobs (environment): CARGO_TARGET_DIR (default /work/target-bench),
# BENCH_BACKENDS ("sqlite mariadb postgres"), BENCH_ALERTS (100000),
# BENCH_STAFF (200), BENCH_REDIS_URL (unset: one instance; set: a second
# instance through Redis serving every other socket), BENCH_RACE=1 (with
# Redis: the second instance wakes at the same time),
# BENCH_MYSQL_URL (mysql://root@127.0.0.1:3306/test),
# BENCH_POSTGRES_URL (postgres://postgres@127.0.0.1:5432/test),
# BENCH_PROFILE=1 logs each wake batch's statement timings to stderr,
# BENCH_BUILD=0 (use the binary already built).
set -euo pipefail

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
BACKENDS=${BENCH_BACKENDS:-sqlite mariadb postgres}
MYSQL_URL=${BENCH_MYSQL_URL:-mysql://root@127.0.0.1:3306/test}
POSTGRES_URL=${BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}

build_release examples/snooze_bench --example snooze_bench
# A private copy: another build into the same CARGO_TARGET_DIR must not swap it mid-run.
BIN=$(mktemp "${TMPDIR:-/tmp}/snooze_bench.XXXXXX")
trap 'rm -f "$BIN"' EXIT
cp "$CARGO_TARGET_DIR/release/examples/snooze_bench" "$BIN" && chmod 755 "$BIN"
say "source: HEAD $(cd "$ROOT" && GIT_OPTIONAL_LOCKS=0 git rev-parse --short HEAD 2>/dev/null || echo '?'), \
$(cd "$ROOT" && GIT_OPTIONAL_LOCKS=0 git status --porcelain -- src 2>/dev/null | wc -l) changed file(s) under src/"
say "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'); uptime:$(uptime | sed 's/.*up/ up/')"

args=(--alerts "${BENCH_ALERTS:-100000}" --staff "${BENCH_STAFF:-200}")
[[ -n ${BENCH_REDIS_URL:-} ]] && args+=(--redis-url "$BENCH_REDIS_URL")
[[ ${BENCH_RACE:-0} == 1 ]] && args+=(--race)
log=${RUST_LOG:-warn}
[[ ${BENCH_PROFILE:-0} == 1 ]] && log=warn,convergeai_alerts::storage::alerts=debug
for backend in $BACKENDS; do
    case $backend in
        sqlite) url=sqlite: ;;
        mariadb | mysql) url=$MYSQL_URL ;;
        postgres) url=$POSTGRES_URL ;;
        *) die "unknown backend $backend" ;;
    esac
    say "$backend"
    RUST_LOG=$log "$BIN" --database-url "$url" "${args[@]}" || echo "RESULT backend=$backend failed"
done
say "done; uptime:$(uptime | sed 's/.*up/ up/')"
