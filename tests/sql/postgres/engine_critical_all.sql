-- The engine's statements for one critical rule, scope all.

-- close
-- values: String(Some("critical_complaint")), String(Some("complaint")), ChronoDateTimeUtc(Some(2026-11-30T09:30:00Z))
UPDATE alerts AS w SET dedup_open = NULL
  WHERE w.dedup_open = 1 AND w.alert_type = $1 AND w.resource_type = $2 AND (w.created_at < $3 OR COALESCE(w.dedup_version, '') <> COALESCE((SELECT (COALESCE(CAST(CAST(EXTRACT(EPOCH
  FROM c.sla_deadline) * 1000000 AS BIGINT) AS TEXT), '0') || '|' || c.priority)
  FROM complaints c
  WHERE c.id = w.resource_id), ''));

-- event_resources
-- values: String(Some("admin")), String(Some("supervisor")), String(Some("critical")), String(Some("open")), String(Some("in_progress")), String(Some("critical_complaint")), String(Some("complaint"))
SELECT DISTINCT c.id AS rid
  FROM complaints c LEFT
  JOIN staff a ON a.id = c.assigned_to_staff_id AND a.is_active = TRUE
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
  JOIN roles ro ON ro.id = r.role_id AND ro.name IN ($1)
  WHERE a.is_active = TRUE
  UNION SELECT 0, r.id
  FROM staff r
  JOIN roles ro ON ro.id = r.role_id AND ro.name IN ($2)
  WHERE r.is_active = TRUE) m ON m.owner = COALESCE(a.id, 0)
  WHERE c.priority = $3 AND c.status IN ($4, $5) AND NOT EXISTS (SELECT 1
  FROM alerts o
  WHERE o.dedup_open = 1 AND o.alert_type = $6 AND o.resource_type = $7 AND o.resource_id = c.id AND o.assigned_to_staff_id = m.rcp OFFSET 0);

-- open_events
-- values: String(Some("critical_complaint"))
SELECT 1
  FROM alert_events e
  WHERE e.event_open = 1 AND e.alert_type = $1 LIMIT 1;

-- end_events
-- values: String(Some("critical_complaint")), String(Some("complaint"))
UPDATE alert_events AS ev SET event_open = NULL, next_step = NULL, next_step_at = NULL
  WHERE ev.event_open = 1 AND ev.alert_type = $1 AND ev.resource_type = $2 AND ev.resource_id IN (101, 102) AND NOT EXISTS (SELECT 1
  FROM alerts o
  WHERE o.event_id = ev.id AND o.resource_id = ev.resource_id AND COALESCE(o.dedup_open, 0) = 1 OFFSET 0);

-- begin_events
-- values: BigInt(Some(1)), String(Some("critical_complaint")), String(Some("complaint")), ChronoDateTimeUtc(Some(2026-12-01T09:30:00Z)), Json(Some(Object {"id": Number(1), "name": String("breach-default")})), ChronoDateTimeUtc(Some(2026-12-01T10:00:00Z))
INSERT INTO alert_events (rule_id, alert_type, resource_type, resource_id, event_open, started_at, policy, next_step, next_step_at, cycle) SELECT $1, $2, $3, r.id, 1, $4, CAST($5 AS json), 1, $6, 0
  FROM complaints r
  WHERE r.id IN (101, 102)
  ORDER BY r.id
  ON CONFLICT (event_open, alert_type, resource_type, resource_id) DO NOTHING;

-- insert
-- values: String(Some("critical_complaint")), String(Some("complaint")), String(Some("admin")), String(Some("supervisor")), String(Some("critical")), String(Some("open")), String(Some("in_progress")), String(Some("critical_complaint")), String(Some("warning")), String(Some("complaint")), BigInt(Some(1)), String(Some("Critical complaint")), ChronoDateTimeUtc(Some(2026-12-01T09:30:00Z)), ChronoDateTimeUtc(Some(2026-12-01T09:30:00Z)), ChronoDateTimeUtc(Some(2026-12-08T09:30:00Z)), String(Some("bulk:run-1")), String(Some("critical_complaint")), String(Some("complaint"))
WITH x AS MATERIALIZED (SELECT m.rcp, c.id AS rid, (COALESCE(CAST(CAST(EXTRACT(EPOCH
  FROM c.sla_deadline) * 1000000 AS BIGINT) AS TEXT), '0') || '|' || c.priority) AS ver, c.title, c.customer_name, c.priority, c.status, to_char(c.sla_deadline AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') AS deadline_text, to_char(c.sla_deadline AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS deadline_json, a.id AS owner, a.full_name AS owner_name, NOT EXISTS (SELECT 1
  FROM alerts o
  WHERE o.dedup_open = 1 AND o.alert_type = $1 AND o.resource_type = $2 AND o.resource_id = c.id AND o.assigned_to_staff_id = m.rcp OFFSET 0) AS fresh
  FROM complaints c LEFT
  JOIN staff a ON a.id = c.assigned_to_staff_id AND a.is_active = TRUE
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
  JOIN roles ro ON ro.id = r.role_id AND ro.name IN ($3)
  WHERE a.is_active = TRUE
  UNION SELECT 0, r.id
  FROM staff r
  JOIN roles ro ON ro.id = r.role_id AND ro.name IN ($4)
  WHERE r.is_active = TRUE) m ON m.owner = COALESCE(a.id, 0)
  WHERE c.priority = $5 AND c.status IN ($6, $7)), ins AS (INSERT INTO alerts (alert_type, severity, title, message, resource_type, resource_id, assigned_to_staff_id, is_read, is_dismissed, alert_metadata, created_at, dismissed_at, expires_at, dedup_open, dedup_version, check_run, event_id, acknowledged_at, acknowledged_by, acknowledged_by_name) SELECT $8, $9, substr(((upper(substr(x.priority, 1, 1)) || substr(x.priority, 2)) || ' complaint: ' || (substr(x.title, 1, 200) || ' (#' || CAST(x.rid AS TEXT) || ')')), 1, 255), ('Complaint #' || CAST(x.rid AS TEXT) || ' "' || x.title || '" from ' || x.customer_name || ' has ' || x.priority || ' priority (' || CASE WHEN x.owner IS NULL THEN 'unassigned' ELSE ('assigned to ' || x.owner_name) END || '); SLA deadline ' || COALESCE((x.deadline_text || ' UTC'), 'none') || '.'), $10, x.rid, x.rcp, FALSE, CASE WHEN x.rcp IN (3) THEN TRUE ELSE FALSE END, json_build_object('rule_id', $11, 'rule_name', $12, 'complaint_id', x.rid, 'priority', x.priority, 'status', x.status, 'assigned_to_staff_id', x.owner, 'sla_deadline', x.deadline_json), $13, CASE WHEN x.rcp IN (3) THEN $14 END, $15, 1, x.ver, $16, xe.id, xe.acknowledged_at, xe.acknowledged_by, xa.full_name
  FROM x LEFT
  JOIN alert_events xe ON xe.event_open = 1 AND xe.alert_type = $17 AND xe.resource_type = $18 AND xe.resource_id = x.rid LEFT
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

-- outbox3
-- values: String(Some("slack")), ChronoDateTimeUtc(Some(2026-12-01T09:30:00Z)), ChronoDateTimeUtc(Some(2026-12-01T09:30:00Z)), ChronoDateTimeUtc(Some(2026-12-01T09:30:00Z)), BigInt(Some(0)), String(Some("bulk:run-1"))
INSERT INTO notification_deliveries (alert_id, staff_id, channel, status, attempts, next_attempt_at, created_at, updated_at) SELECT al.id, al.assigned_to_staff_id, $1, 'pending', 0, $2, $3, $4
  FROM alerts al
  WHERE al.id > $5 AND al.check_run = $6 AND NOT EXISTS (SELECT 1
  FROM alerts o
  WHERE o.dedup_open = 1 AND o.alert_type = al.alert_type AND o.resource_type = al.resource_type AND o.resource_id = al.resource_id AND o.id < al.id OFFSET 0);

-- outbox4
-- values: String(Some("teams")), ChronoDateTimeUtc(Some(2026-12-01T09:30:00Z)), ChronoDateTimeUtc(Some(2026-12-01T09:30:00Z)), ChronoDateTimeUtc(Some(2026-12-01T09:30:00Z)), BigInt(Some(0)), String(Some("bulk:run-1"))
INSERT INTO notification_deliveries (alert_id, staff_id, channel, status, attempts, next_attempt_at, created_at, updated_at) SELECT al.id, al.assigned_to_staff_id, $1, 'pending', 0, $2, $3, $4
  FROM alerts al
  WHERE al.id > $5 AND al.check_run = $6 AND NOT EXISTS (SELECT 1
  FROM alerts o
  WHERE o.dedup_open = 1 AND o.alert_type = al.alert_type AND o.resource_type = al.resource_type AND o.resource_id = al.resource_id AND o.id < al.id OFFSET 0);

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

