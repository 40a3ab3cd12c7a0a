-- The engine's statements for one workload rule, scope changed.

-- close
-- values: String(Some("high_workload")), String(Some("staff")), ChronoDateTimeUtc(Some(2026-11-30T09:25:00Z)), ChronoDateTimeUtc(Some(2026-11-30T09:30:00Z)), String(Some("high_workload")), String(Some("staff")), ChronoDateTimeUtc(Some(2026-11-30T09:30:00Z))
UPDATE alerts AS w SET dedup_open = NULL
  WHERE w.dedup_open = 1 AND w.alert_type = $1 AND w.resource_type = $2 AND w.resource_id IN (SELECT ch.id
  FROM (SELECT assigned_to_staff_id AS id
  FROM complaints
  WHERE sla_unchecked_since IS NOT NULL
  UNION SELECT e.resource_id
  FROM alerts e
  WHERE e.created_at >= $3 AND e.created_at < $4 AND e.alert_type = $5 AND e.dedup_open = 1 AND e.resource_type = $6) ch) AND (w.created_at < $7 OR COALESCE(w.dedup_version, '') <> 'workload');

-- event_resources
-- values: String(Some("open")), String(Some("in_progress")), ChronoDateTimeUtc(Some(2026-11-30T09:25:00Z)), ChronoDateTimeUtc(Some(2026-11-30T09:30:00Z)), String(Some("high_workload")), String(Some("staff")), String(Some("admin")), BigInt(Some(10)), String(Some("high_workload")), String(Some("staff"))
SELECT DISTINCT a.id AS rid
  FROM (SELECT o.assigned_to_staff_id AS sid, COUNT(*) AS n
  FROM complaints o
  WHERE o.status IN ($1, $2) AND o.assigned_to_staff_id IS NOT NULL AND o.assigned_to_staff_id IN (SELECT ch.id
  FROM (SELECT assigned_to_staff_id AS id
  FROM complaints
  WHERE sla_unchecked_since IS NOT NULL
  UNION SELECT e.resource_id
  FROM alerts e
  WHERE e.created_at >= $3 AND e.created_at < $4 AND e.alert_type = $5 AND e.dedup_open = 1 AND e.resource_type = $6) ch)
  GROUP BY o.assigned_to_staff_id) w
  JOIN staff a ON a.id = w.sid AND a.is_active = TRUE
  JOIN (SELECT a.id AS owner, a.id AS rcp
  FROM staff a
  WHERE a.is_active = TRUE
  UNION SELECT a.id, s.id
  FROM staff a
  JOIN staff s ON s.id = a.supervisor_id AND s.is_active = TRUE
  WHERE a.is_active = TRUE
  UNION SELECT a.id, r.id
  FROM staff a
  JOIN staff r ON r.is_active = TRUE
  JOIN roles ro ON ro.id = r.role_id AND ro.name IN ($7)
  WHERE a.is_active = TRUE) m ON m.owner = a.id
  WHERE w.n > $8 AND NOT EXISTS (SELECT 1
  FROM alerts o
  WHERE o.dedup_open = 1 AND o.alert_type = $9 AND o.resource_type = $10 AND o.resource_id = a.id AND o.assigned_to_staff_id = m.rcp OFFSET 0);

-- open_events
-- values: String(Some("high_workload"))
SELECT 1
  FROM alert_events e
  WHERE e.event_open = 1 AND e.alert_type = $1 LIMIT 1;

-- end_events
-- values: String(Some("high_workload")), String(Some("staff"))
UPDATE alert_events AS ev SET event_open = NULL, next_step = NULL, next_step_at = NULL
  WHERE ev.event_open = 1 AND ev.alert_type = $1 AND ev.resource_type = $2 AND ev.resource_id IN (101, 102) AND NOT EXISTS (SELECT 1
  FROM alerts o
  WHERE o.event_id = ev.id AND o.resource_id = ev.resource_id AND COALESCE(o.dedup_open, 0) = 1 OFFSET 0);

-- begin_events
-- values: BigInt(Some(1)), String(Some("high_workload")), String(Some("staff")), ChronoDateTimeUtc(Some(2026-12-01T09:30:00Z)), Json(Some(Object {"id": Number(1), "name": String("breach-default")})), ChronoDateTimeUtc(Some(2026-12-01T10:00:00Z))
INSERT INTO alert_events (rule_id, alert_type, resource_type, resource_id, event_open, started_at, policy, next_step, next_step_at, cycle) SELECT $1, $2, $3, r.id, 1, $4, CAST($5 AS json), 1, $6, 0
  FROM staff r
  WHERE r.id IN (101, 102)
  ORDER BY r.id
  ON CONFLICT (event_open, alert_type, resource_type, resource_id) DO NOTHING;

-- insert
-- values: String(Some("high_workload")), String(Some("staff")), String(Some("open")), String(Some("in_progress")), ChronoDateTimeUtc(Some(2026-11-30T09:25:00Z)), ChronoDateTimeUtc(Some(2026-11-30T09:30:00Z)), String(Some("high_workload")), String(Some("staff")), String(Some("admin")), BigInt(Some(10)), String(Some("high_workload")), String(Some("warning")), BigInt(Some(10)), String(Some("staff")), BigInt(Some(1)), String(Some("High workload")), BigInt(Some(10)), ChronoDateTimeUtc(Some(2026-12-01T09:30:00Z)), ChronoDateTimeUtc(Some(2026-12-01T09:30:00Z)), ChronoDateTimeUtc(Some(2026-12-08T09:30:00Z)), String(Some("bulk:run-1")), String(Some("high_workload")), String(Some("staff"))
WITH x AS MATERIALIZED (SELECT m.rcp, a.id AS rid, 'workload' AS ver, a.full_name AS name, w.n, NOT EXISTS (SELECT 1
  FROM alerts o
  WHERE o.dedup_open = 1 AND o.alert_type = $1 AND o.resource_type = $2 AND o.resource_id = a.id AND o.assigned_to_staff_id = m.rcp OFFSET 0) AS fresh
  FROM (SELECT o.assigned_to_staff_id AS sid, COUNT(*) AS n
  FROM complaints o
  WHERE o.status IN ($3, $4) AND o.assigned_to_staff_id IS NOT NULL AND o.assigned_to_staff_id IN (SELECT ch.id
  FROM (SELECT assigned_to_staff_id AS id
  FROM complaints
  WHERE sla_unchecked_since IS NOT NULL
  UNION SELECT e.resource_id
  FROM alerts e
  WHERE e.created_at >= $5 AND e.created_at < $6 AND e.alert_type = $7 AND e.dedup_open = 1 AND e.resource_type = $8) ch)
  GROUP BY o.assigned_to_staff_id) w
  JOIN staff a ON a.id = w.sid AND a.is_active = TRUE
  JOIN (SELECT a.id AS owner, a.id AS rcp
  FROM staff a
  WHERE a.is_active = TRUE
  UNION SELECT a.id, s.id
  FROM staff a
  JOIN staff s ON s.id = a.supervisor_id AND s.is_active = TRUE
  WHERE a.is_active = TRUE
  UNION SELECT a.id, r.id
  FROM staff a
  JOIN staff r ON r.is_active = TRUE
  JOIN roles ro ON ro.id = r.role_id AND ro.name IN ($9)
  WHERE a.is_active = TRUE) m ON m.owner = a.id
  WHERE w.n > $10), ins AS (INSERT INTO alerts (alert_type, severity, title, message, resource_type, resource_id, assigned_to_staff_id, is_read, is_dismissed, alert_metadata, created_at, dismissed_at, expires_at, dedup_open, dedup_version, check_run, event_id, acknowledged_at, acknowledged_by, acknowledged_by_name) SELECT $11, $12, substr(('High workload: ' || x.name), 1, 255), (x.name || ' has ' || CAST(x.n AS TEXT) || ' open complaints assigned (threshold ' || CAST($13 AS TEXT) || ').'), $14, x.rid, x.rcp, FALSE, CASE WHEN x.rcp IN (3) THEN TRUE ELSE FALSE END, json_build_object('rule_id', $15, 'rule_name', $16, 'staff_id', x.rid, 'open_complaints', CAST(x.n AS BIGINT), 'threshold', $17), $18, CASE WHEN x.rcp IN (3) THEN $19 END, $20, 1, x.ver, $21, xe.id, xe.acknowledged_at, xe.acknowledged_by, xa.full_name
  FROM x LEFT
  JOIN alert_events xe ON xe.event_open = 1 AND xe.alert_type = $22 AND xe.resource_type = $23 AND xe.resource_id = x.rid LEFT
  JOIN staff xa ON xa.id = xe.acknowledged_by
  WHERE x.fresh
  ORDER BY x.rid, x.rcp
  ON CONFLICT (dedup_open, alert_type, resource_type, resource_id, assigned_to_staff_id) DO NOTHING RETURNING 1) SELECT (SELECT COUNT(*)
  FROM x), (SELECT COUNT(*)
  FROM ins);

-- outbox0
-- values: String(Some("email")), ChronoDateTimeUtc(Some(2026-12-01T09:30:00Z)), ChronoDateTimeUtc(Some(2026-12-01T09:30:00Z)), ChronoDateTimeUtc(Some(2026-12-01T09:30:00Z)), BigInt(Some(0)), String(Some("bulk:run-1"))
INSERT INTO notification_deliveries (alert_id, staff_id, channel, status, attempts, next_attempt_at, created_at, updated_at) SELECT al.id, al.assigned_to_staff_id, $1, 'pending', 0, $2, $3, $4
  FROM alerts al
  WHERE al.assigned_to_staff_id IN (1) AND al.id > $5 AND al.check_run = $6;

-- outbox1
-- values: String(Some("sms")), ChronoDateTimeUtc(Some(2026-12-01T09:30:00Z)), ChronoDateTimeUtc(Some(2026-12-01T09:30:00Z)), ChronoDateTimeUtc(Some(2026-12-01T09:30:00Z)), BigInt(Some(0)), String(Some("bulk:run-1"))
INSERT INTO notification_deliveries (alert_id, staff_id, channel, status, attempts, next_attempt_at, created_at, updated_at) SELECT al.id, al.assigned_to_staff_id, $1, 'pending', 0, $2, $3, $4
  FROM alerts al
  WHERE al.assigned_to_staff_id IN (1) AND al.id > $5 AND al.check_run = $6;

-- outbox2
-- values: String(Some("webhook")), ChronoDateTimeUtc(Some(2026-12-01T09:30:00Z)), ChronoDateTimeUtc(Some(2026-12-01T09:30:00Z)), ChronoDateTimeUtc(Some(2026-12-01T09:30:00Z)), BigInt(Some(0)), String(Some("bulk:run-1"))
INSERT INTO notification_deliveries (alert_id, staff_id, channel, status, attempts, next_attempt_at, created_at, updated_at) SELECT al.id, al.assigned_to_staff_id, $1, 'pending', 0, $2, $3, $4
  FROM alerts al
  WHERE al.assigned_to_staff_id IN (2) AND al.id > $5 AND al.check_run = $6;

-- new_alerts
-- values: BigInt(Some(0)), String(Some("bulk:run-1"))
SELECT al.*
  FROM alerts al
  WHERE al.id > $1 AND al.check_run = $2 AND al.is_dismissed = FALSE
  ORDER BY al.id;

-- new_recipients
-- values: BigInt(Some(0)), String(Some("bulk:run-1"))
SELECT DISTINCT al.assigned_to_staff_id
  FROM alerts al
  WHERE al.id > $1 AND al.check_run = $2 AND al.is_dismissed = FALSE;

