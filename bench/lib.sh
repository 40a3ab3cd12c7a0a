# What every bench/*.sh shares; each sources it first:
#   . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# ROOT, CARGO_TARGET_DIR (default /work/target-bench: release builds apart
# from the tests'), messages, tool checks, the release build (skipped with
# BENCH_BUILD=0) and, for the load benchmarks, a session of their own whose
# niceness the servers and wrk get.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/work/target-bench}
BENCH_NAME=$(basename "$0")

say() { printf '\n== %s\n' "$*" >&2; }
die() { printf 'bench/%s: %s\n' "$BENCH_NAME" "$*" >&2; exit 1; }

# need TOOL...: each must be on PATH.
need() {
    local tool
    for tool in "$@"; do
        command -v "$tool" >/dev/null || die "$tool is required"
    done
}

# need_wrk: installs wrk from Debian's packages when it is missing.
need_wrk() {
    if ! command -v wrk >/dev/null; then
        say "installing wrk (Debian package)"
        apt-get install -y -qq wrk >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
    fi
}

# build_release WHAT CARGO_ARGS...: `cargo build --release CARGO_ARGS`, unless BENCH_BUILD=0.
build_release() {
    local what=$1
    shift
    if [ "${BENCH_BUILD:-1}" != 0 ]; then
        say "building $what (release, CARGO_TARGET_DIR=$CARGO_TARGET_DIR)"
        (cd "$ROOT" && cargo build --release --features bench "$@")
    else
        say "BENCH_BUILD=0: using the binaries already in $CARGO_TARGET_DIR/release"
    fi
}

# With autogroup scheduling (kernel.sched_autogroup_enabled=1) niceness only
# counts inside one session, so a load benchmark runs in a session of its own
# whose autogroup gets the niceness (BENCH_NICE; -20 as root, else none).
if [ "$(id -u)" = 0 ]; then NICE=${BENCH_NICE:--20}; else NICE=${BENCH_NICE:-0}; fi

# own_session "$@": reruns the calling script in a session of its own (once).
own_session() {
    if [ "$NICE" != 0 ] && [ -z "${BENCH_SESSION:-}" ] \
        && [ "$(cat /proc/sys/kernel/sched_autogroup_enabled 2>/dev/null)" = 1 ] && command -v setsid >/dev/null; then
        BENCH_SESSION=1 exec setsid --wait bash "$0" "$@"
    fi
}

# give_priority: this session's processes only (the servers, wrk and the script).
give_priority() {
    if [ "$NICE" != 0 ] && [ -n "${BENCH_SESSION:-}" ] && echo "$NICE" >"/proc/$$/autogroup" 2>/dev/null; then
        echo "scheduling: $(cat "/proc/$$/autogroup") for this session (servers, wrk), niceness $NICE inside it" >&2
    fi
}
