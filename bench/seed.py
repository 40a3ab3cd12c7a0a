#!/usr/bin/env python3
"""Fill a migrated SQLite database for bench/inbox.sh.

Usage: seed.py DB STAFF ALERTS_PER_STAFF SEED

The staff member bench0@example.com must already exist (created by the
service's `staff create`); STAFF-1 more are copied from it (same password hash
and role). Then STAFF x ALERTS_PER_STAFF alerts are written in creation order,
interleaved across staff like a live system's, with this mix:

  ~10 % dismissed, ~5 % expired (expires_at in the past), the rest expiring
  1 to 30 days in the future; ~30 % unread overall; created_at spread over the
  last 30 days; types sla_at_risk / sla_breach / critical_complaint /
  high_workload; severities info / warning / critical; resource 'complaint'.

Timestamps are written in the format the service itself writes on SQLite
(sqlx: RFC 3339 UTC, chrono SecondsFormat::AutoSi), detected from bench0's
`created_at`, so the service's text comparisons on them are right.
"""
import json
import random
import re
import sqlite3
import sys
import time

db_path, n_staff, per_staff, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
rng = random.Random(seed)
t0 = time.monotonic()

con = sqlite3.connect(db_path, isolation_level=None)
con.execute("PRAGMA synchronous = OFF")
con.execute("PRAGMA cache_size = -262144")  # 256 MiB while loading

row = con.execute(
    "SELECT id, full_name, password_hash, role_id, created_at FROM staff WHERE email = 'bench0@example.com'"
).fetchone()
if row is None:
    sys.exit("seed.py: bench0@example.com not found (run `staff create` first)")
bench0_id, _, password_hash, role_id, sample = row

# What the service wrote, e.g. 2026-11-27T08:05:18.189635213+00:00
m = re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3}|\.\d{6}|\.\d{9})?(\+00:00|Z)", str(sample))
if not m:
    sys.exit(f"seed.py: unexpected timestamp format in staff.created_at: {sample!r}")
SUFFIX = m.group(2)


def ts(us: int) -> str:
    """Microseconds since the epoch -> the service's text (AutoSi fraction)."""
    secs, frac = divmod(us, 1_000_000)
    base = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs))
    if frac == 0:
        return base + SUFFIX
    if frac % 1000 == 0:
        return f"{base}.{frac // 1000:03d}{SUFFIX}"
    return f"{base}.{frac:06d}{SUFFIX}"


now_us = int(time.time() * 1_000_000)
DAY = 86_400_000_000

con.execute("BEGIN")
staff_rows = [
    (f"bench{i}@example.com", f"Bench Agent {i}", password_hash, role_id, 1, ts(now_us), ts(now_us))
    for i in range(1, n_staff)
]
con.executemany(
    "INSERT INTO staff (email, full_name, password_hash, role_id, is_active, created_at, updated_at)"
    " VALUES (?, ?, ?, ?, ?, ?, ?)",
    staff_rows,
)
staff_ids = [r[0] for r in con.execute(
    "SELECT id FROM staff WHERE email LIKE 'bench%@example.com' ORDER BY id")]
assert len(staff_ids) == n_staff and bench0_id in staff_ids, staff_ids[:5]

TYPES = [
    ("sla_at_risk", "SLA at risk", 0.40),
    ("sla_breach", "SLA breached", 0.25),
    ("critical_complaint", "Critical complaint", 0.20),
    ("high_workload", "High workload", 0.15),
]
SEVERITY_OF = {"sla_at_risk": ("warning", "info"), "sla_breach": ("critical", "warning"),
               "critical_complaint": ("critical", "critical"), "high_workload": ("warning", "info")}
PRIORITIES = ["critical", "high", "medium", "low"]

total = n_staff * per_staff
span = 30 * DAY
start = now_us - span
step = span // total


def alerts():
    type_weights = [t[2] for t in TYPES]
    for i in range(total):
        created = start + i * step + rng.randrange(step)
        staff = staff_ids[i % n_staff]
        kind, label, _ = rng.choices(TYPES, type_weights)[0]
        severity = SEVERITY_OF[kind][0] if rng.random() < 0.7 else SEVERITY_OF[kind][1]
        complaint = rng.randrange(1, 200_000)
        priority = rng.choice(PRIORITIES)
        u = rng.random()
        dismissed = u < 0.10
        if 0.10 <= u < 0.15:  # expired: between creation and now
            expires = created + int((now_us - created) * rng.random())
        else:  # live (or dismissed): 1 to 30 days ahead
            expires = now_us + DAY + rng.randrange(29 * DAY)
        is_read = rng.random() >= 0.30
        read_at = ts(min(now_us, created + rng.randrange(DAY))) if is_read else None
        dismissed_at = ts(min(now_us, created + rng.randrange(DAY))) if dismissed else None
        yield (
            kind,
            severity,
            f"{label}: complaint #{complaint}",
            f"Complaint #{complaint} ({priority} priority) needs attention: {label.lower()}.",
            "complaint",
            complaint,
            staff,
            int(is_read),
            int(dismissed),
            json.dumps({"complaint_id": complaint, "priority": priority}, separators=(",", ":")),
            ts(created),
            read_at,
            dismissed_at,
            ts(expires),
        )


con.executemany(
    "INSERT INTO alerts (alert_type, severity, title, message, resource_type, resource_id,"
    " assigned_to_staff_id, is_read, is_dismissed, alert_metadata, created_at, read_at, dismissed_at, expires_at)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    alerts(),
)
con.execute("COMMIT")
con.execute("PRAGMA wal_checkpoint(TRUNCATE)")

now = ts(int(time.time() * 1_000_000))
mix = con.execute(
    "SELECT COUNT(*), SUM(is_read = 0), SUM(is_dismissed = 1), SUM(expires_at <= ?),"
    " SUM(is_dismissed = 0 AND expires_at > ? AND is_read = 0) FROM alerts", (now, now)
).fetchone()
n, unread, dismissed, expired, live_unread = mix
print(f"seeded {len(staff_ids)} staff, {n} alerts in {time.monotonic() - t0:.1f} s: "
      f"{unread / n:.1%} unread, {dismissed / n:.1%} dismissed, {expired / n:.1%} expired, "
      f"{live_unread / n:.1%} live and unread; timestamps like {ts(now_us)!r}")
