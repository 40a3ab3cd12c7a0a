#!/usr/bin/env bash
# WebSocket push benchmark (issue 6): see docs/PERFORMANCE.md.
#
#   bash bench/ws.sh
#
# Builds the release server and examples/ws_bench (in CARGO_TARGET_DIR,
# default /work/target-bench), raises the open-files limit of this shell
# (inherited by the bench and the servers it starts; the service itself does
# not touch it), and runs the modes in BENCH_MODES against real
# `convergeai-alerts serve` processes (127.0.0.1:0, scheduler off):
#   latency-sqlite    one instance on a fresh SQLite file: BENCH_ALERTS critical
#                     complaints POSTed one at a time for an agent connected to
#                     /api/v1/alerts/ws; time from the POST response to the
#                     `alert.created` frame (p50/p99/max), plus the frame's time
#                     from the request start and from the alert's created_at;
#   latency-postgres  the same on a fresh PostgreSQL database (for comparison);
#   latency-redis     two instances on one fresh PostgreSQL database sharing
#                     Redis on a channel of their own: POST to A, WebSocket on B;
#   idle              BENCH_CONNECTIONS WebSockets to one instance (SQLite), each
#                     waiting for its snapshot, held BENCH_HOLD seconds, closed;
#                     the server's VmRSS/VmHWM before, all open, after closing.
# Fresh PostgreSQL databases are dropped at the end of their mode.
#
# Knobs (environment): CARGO_TARGET_DIR, BENCH_MODES
# ("latency-sqlite,latency-postgres,latency-redis,idle"), BENCH_ALERTS (1000),
# BENCH_WARMUP (20), BENCH_CONNECTIONS (10000), BENCH_HOLD (30 s: one round of the
# server's 20 s heartbeat pings is answered),
# BENCH_OPEN_CONCURRENCY (256 handshakes in flight), BENCH_NOFILE (open-files
# limit to set; default connections + 1024),
# BENCH_POSTGRES_URL (postgres://postgres@127.0.0.1:5432/postgres: the server
# the fresh databases are created on), BENCH_REDIS_URL (redis://127.0.0.1:6379),
# BENCH_DISPATCHER (on), BENCH_BUILD=0 (use already-built binaries),
# BENCH_KEEP=1 (keep the temp dir with the server logs).
set -euo pipefail

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
MODES=${BENCH_MODES:-latency-sqlite,latency-postgres,latency-redis,idle}
CONNECTIONS=${BENCH_CONNECTIONS:-10000}
NOFILE=${BENCH_NOFILE:-$((CONNECTIONS + 1024))}

build_release "the server and examples/ws_bench" --bin convergeai-alerts --example ws_bench
# Private copies: another build into the same CARGO_TARGET_DIR must not swap
# the binaries in the middle of the run.
BIN_DIR=$(mktemp -d "${TMPDIR:-/tmp}/ws-bench-bin.XXXXXX")
trap 'rm -rf "$BIN_DIR"' EXIT
cp "$CARGO_TARGET_DIR/release/convergeai-alerts" "$CARGO_TARGET_DIR/release/examples/ws_bench" "$BIN_DIR/"
SERVER=$BIN_DIR/convergeai-alerts
BENCH=$BIN_DIR/ws_bench

# Each idle connection is a descriptor in the bench and one in the server.
hard=$(ulimit -Hn)
if [[ $hard != unlimited && $hard -lt $NOFILE ]]; then
    ulimit -Hn "$NOFILE" 2>/dev/null || {
        echo "the open-files hard limit is $hard and cannot be raised to $NOFILE here (not root?)" >&2
        exit 1
    }
fi
[[ $(ulimit -Sn) != unlimited && $(ulimit -Sn) -lt $NOFILE ]] && ulimit -Sn "$NOFILE"

# What was measured (read-only git; no optional index refresh).
say "source: HEAD $(cd "$ROOT" && GIT_OPTIONAL_LOCKS=0 git rev-parse --short HEAD 2>/dev/null || echo '?'), \
$(cd "$ROOT" && GIT_OPTIONAL_LOCKS=0 git status --porcelain -- src 2>/dev/null | wc -l) changed file(s) under src/; \
WebSocket path sha256: $(cd "$ROOT" && sha256sum src/http/routes/ws.rs src/domain/events.rs src/realtime.rs | cut -c1-12 | tr '\n' ' ')\
server binary sha256: $(sha256sum "$SERVER" | cut -c1-12)"
say "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(uname -sr); \
open files: soft $(ulimit -Sn), hard $(ulimit -Hn); uptime:$(uptime | sed 's/.*up/ up/')"

args=(--server-bin "$SERVER" --modes "$MODES" --alerts "${BENCH_ALERTS:-1000}" --warmup "${BENCH_WARMUP:-20}"
    --connections "$CONNECTIONS" --hold-secs "${BENCH_HOLD:-30}" --open-concurrency "${BENCH_OPEN_CONCURRENCY:-256}"
    --postgres-url "${BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
    --redis-url "${BENCH_REDIS_URL:-redis://127.0.0.1:6379}" --dispatcher "${BENCH_DISPATCHER:-on}")
[[ ${BENCH_KEEP:-0} == 1 ]] && args+=(--keep)
"$BENCH" "${args[@]}"
say "done; uptime:$(uptime | sed 's/.*up/ up/')"
