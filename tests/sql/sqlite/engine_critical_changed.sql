-- The engine's statements for one critical rule, scope changed.

-- close
-- values: String(Some("critical_complaint")), String(Some("complaint")), ChronoDateTimeUtc(Some(2026-11-30T09:25:00Z)), ChronoDateTimeUtc(Some(2026-11-30T09:30:00Z)), String(Some("critical_complaint")), String(Some("complaint")), ChronoDateTimeUtc(Some(2026-11-30T09:30:00Z))
UPDATE alerts AS w SET dedup_open = NULL
  WHERE w.dedup_open = 1 AND w.alert_type = ? AND w.resource_type = ? AND w.resource_id IN (SELECT ch.id
  FROM (SELECT id
  FROM complaints
  WHERE sla_unchecked_since IS NOT NULL
  UNION SELECT e.resource_id
  FROM alerts e INDEXED BY idx_alerts_created
  WHERE e.created_at >= ? AND e.created_at < ? AND e.alert_type = ? AND e.dedup_open = 1 AND e.resource_type = ?) ch) AND (w.created_at < ? OR COALESCE(w.dedup_version, '') <> COALESCE((SELECT (COALESCE(c.sla_deadline, '0') || '|' || c.priority)
  FROM complaints c
  WHERE c.id = w.resource_id), ''));

-- open_events
-- values: String(Some("critical_complaint"))
SELECT 1
  FROM alert_events e
  WHERE e.event_open = 1 AND e.alert_type = ? LIMIT 1;

-- end_events
-- values: String(Some("critical_complaint")), String(Some("complaint")), String(Some("admin")), String(Some("supervisor")), String(Some("critical")), String(Some("open")), String(Some("in_progress")), ChronoDateTimeUtc(Some(2026-11-30T09:25:00Z)), ChronoDateTimeUtc(Some(2026-11-30T09:30:00Z)), String(Some("critical_complaint")), String(Some("complaint")), String(Some("critical_complaint")), String(Some("complaint"))
UPDATE alert_events AS ev SET event_open = NULL, next_step = NULL, next_step_at = NULL
  WHERE ev.event_open = 1 AND ev.alert_type = ? AND ev.resource_type = ? AND ev.resource_id IN (SELECT c.id AS rid
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
  JOIN roles ro ON ro.id = r.role_id AND ro.name IN (?)
  WHERE a.is_active = TRUE
  UNION SELECT 0, r.id
  FROM staff r
  JOIN roles ro ON ro.id = r.role_id AND ro.name IN (?)
  WHERE r.is_active = TRUE) m ON m.owner = COALESCE(a.id, 0)
  WHERE c.priority = ? AND c.status IN (?, ?) AND c.id IN (SELECT ch.id
  FROM (SELECT id
  FROM complaints
  WHERE sla_unchecked_since IS NOT NULL
  UNION SELECT e.resource_id
  FROM alerts e INDEXED BY idx_alerts_created
  WHERE e.created_at >= ? AND e.created_at < ? AND e.alert_type = ? AND e.dedup_open = 1 AND e.resource_type = ?) ch) AND NOT EXISTS (SELECT 1
  FROM alerts o
  WHERE o.dedup_open = 1 AND o.alert_type = ? AND o.resource_type = ? AND o.resource_id = c.id AND o.assigned_to_staff_id = m.rcp)) AND NOT EXISTS (SELECT 1
  FROM alerts o
  WHERE o.event_id = ev.id AND o.resource_id = ev.resource_id AND COALESCE(o.dedup_open, 0) = 1);

-- begin_events
-- values: BigInt(Some(1)), String(Some("critical_complaint")), String(Some("complaint")), ChronoDateTimeUtc(Some(2026-12-01T09:30:00Z)), Json(Some(Object {"id": Number(1), "name": String("breach-default")})), ChronoDateTimeUtc(Some(2026-12-01T10:00:00Z)), String(Some("admin")), String(Some("supervisor")), String(Some("critical")), String(Some("open")), String(Some("in_progress")), ChronoDateTimeUtc(Some(2026-11-30T09:25:00Z)), ChronoDateTimeUtc(Some(2026-11-30T09:30:00Z)), String(Some("critical_complaint")), String(Some("complaint")), String(Some("critical_complaint")), String(Some("complaint"))
INSERT INTO alert_events (rule_id, alert_type, resource_type, resource_id, event_open, started_at, policy, next_step, next_step_at, cycle) SELECT ?, ?, ?, r.id, 1, ?, ?, 1, ?, 0
  FROM complaints r
  WHERE r.id IN (SELECT c.id AS rid
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
  JOIN roles ro ON ro.id = r.role_id AND ro.name IN (?)
  WHERE a.is_active = TRUE
  UNION SELECT 0, r.id
  FROM staff r
  JOIN roles ro ON ro.id = r.role_id AND ro.name IN (?)
  WHERE r.is_active = TRUE) m ON m.owner = COALESCE(a.id, 0)
  WHERE c.priority = ? AND c.status IN (?, ?) AND c.id IN (SELECT ch.id
  FROM (SELECT id
  FROM complaints
  WHERE sla_unchecked_since IS NOT NULL
  UNION SELECT e.resource_id
  FROM alerts e INDEXED BY idx_alerts_created
  WHERE e.created_at >= ? AND e.created_at < ? AND e.alert_type = ? AND e.dedup_open = 1 AND e.resource_type = ?) ch) AND NOT EXISTS (SELECT 1
  FROM alerts o
  WHERE o.dedup_open = 1 AND o.alert_type = ? AND o.resource_type = ? AND o.resource_id = c.id AND o.assigned_to_staff_id = m.rcp))
  ON CONFLICT (event_open, alert_type, resource_type, resource_id) DO NOTHING;

-- insert
-- values: String(Some("critical_complaint")), String(Some("warning")), String(Some("complaint")), BigInt(Some(1)), String(Some("Critical complaint")), ChronoDateTimeUtc(Some(2026-12-01T09:30:00Z)), ChronoDateTimeUtc(Some(2026-12-01T09:30:00Z)), ChronoDateTimeUtc(Some(2026-12-08T09:30:00Z)), String(Some("bulk:run-1")), String(Some("admin")), String(Some("supervisor")), String(Some("critical")), String(Some("open")), String(Some("in_progress")), ChronoDateTimeUtc(Some(2026-11-30T09:25:00Z)), ChronoDateTimeUtc(Some(2026-11-30T09:30:00Z)), String(Some("critical_complaint")), String(Some("complaint")), String(Some("critical_complaint")), String(Some("complaint")), String(Some("critical_complaint")), String(Some("complaint"))
INSERT INTO alerts (alert_type, severity, title, message, resource_type, resource_id, assigned_to_staff_id, is_read, is_dismissed, alert_metadata, created_at, dismissed_at, expires_at, dedup_open, dedup_version, check_run, event_id, acknowledged_at, acknowledged_by, acknowledged_by_name) SELECT ?, ?, substr(((upper(substr(x.priority, 1, 1)) || substr(x.priority, 2)) || ' complaint: ' || (substr(x.title, 1, 200) || ' (#' || CAST(x.rid AS TEXT) || ')')), 1, 255), ('Complaint #' || CAST(x.rid AS TEXT) || ' "' || x.title || '" from ' || x.customer_name || ' has ' || x.priority || ' priority (' || CASE WHEN x.owner IS NULL THEN 'unassigned' ELSE ('assigned to ' || x.owner_name) END || '); SLA deadline ' || COALESCE((x.deadline_text || ' UTC'), 'none') || '.'), ?, x.rid, x.rcp, FALSE, CASE WHEN x.rcp IN (3) THEN TRUE ELSE FALSE END, json_object('rule_id', ?, 'rule_name', ?, 'complaint_id', x.rid, 'priority', x.priority, 'status', x.status, 'assigned_to_staff_id', x.owner, 'sla_deadline', x.deadline_json), ?, CASE WHEN x.rcp IN (3) THEN ? END, ?, 1, x.ver, ?, xe.id, xe.acknowledged_at, xe.acknowledged_by, xa.full_name
  FROM (SELECT m.rcp, c.id AS rid, (COALESCE(c.sla_deadline, '0') || '|' || c.priority) AS ver, c.title, c.customer_name, c.priority, c.status, (substr(c.sla_deadline, 1, 10) || ' ' || substr(c.sla_deadline, 12, 5)) AS deadline_text, replace(c.sla_deadline, '+00:00', 'Z') AS deadline_json, a.id AS owner, a.full_name AS owner_name
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
  JOIN roles ro ON ro.id = r.role_id AND ro.name IN (?)
  WHERE a.is_active = TRUE
  UNION SELECT 0, r.id
  FROM staff r
  JOIN roles ro ON ro.id = r.role_id AND ro.name IN (?)
  WHERE r.is_active = TRUE) m ON m.owner = COALESCE(a.id, 0)
  WHERE c.priority = ? AND c.status IN (?, ?) AND c.id IN (SELECT ch.id
  FROM (SELECT id
  FROM complaints
  WHERE sla_unchecked_since IS NOT NULL
  UNION SELECT e.resource_id
  FROM alerts e INDEXED BY idx_alerts_created
  WHERE e.created_at >= ? AND e.created_at < ? AND e.alert_type = ? AND e.dedup_open = 1 AND e.resource_type = ?) ch) AND NOT EXISTS (SELECT 1
  FROM alerts o
  WHERE o.dedup_open = 1 AND o.alert_type = ? AND o.resource_type = ? AND o.resource_id = c.id AND o.assigned_to_staff_id = m.rcp) LIMIT -1 OFFSET 0) x LEFT
  JOIN alert_events xe ON xe.event_open = 1 AND xe.alert_type = ? AND xe.resource_type = ? AND xe.resource_id = x.rid LEFT
  JOIN staff xa ON xa.id = xe.acknowledged_by
  WHERE TRUE
  ON CONFLICT (dedup_open, alert_type, resource_type, resource_id, assigned_to_staff_id) DO NOTHING;

-- count
-- values: String(Some("admin")), String(Some("supervisor")), String(Some("critical")), String(Some("open")), String(Some("in_progress")), ChronoDateTimeUtc(Some(2026-11-30T09:25:00Z)), ChronoDateTimeUtc(Some(2026-11-30T09:30:00Z)), String(Some("critical_complaint")), String(Some("complaint"))
SELECT COUNT(*)
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
  JOIN roles ro ON ro.id = r.role_id AND ro.name IN (?)
  WHERE a.is_active = TRUE
  UNION SELECT 0, r.id
  FROM staff r
  JOIN roles ro ON ro.id = r.role_id AND ro.name IN (?)
  WHERE r.is_active = TRUE) m ON m.owner = COALESCE(a.id, 0)
  WHERE c.priority = ? AND c.status IN (?, ?) AND c.id IN (SELECT ch.id
  FROM (SELECT id
  FROM complaints
  WHERE sla_unchecked_since IS NOT NULL
  UNION SELECT e.resource_id
  FROM alerts e INDEXED BY idx_alerts_created
  WHERE e.created_at >= ? AND e.created_at < ? AND e.alert_type = ? AND e.dedup_open = 1 AND e.resource_type = ?) ch);

-- created
-- values: BigInt(Some(0)), String(Some("bulk:run-1"))
SELECT COUNT(*)
  FROM alerts al
  WHERE al.id > ? AND al.check_run = ?;

-- outbox0
-- values: String(Some("email")), ChronoDateTimeUtc(Some(2026-12-01T09:30:00Z)), ChronoDateTimeUtc(Some(2026-12-01T09:30:00Z)), ChronoDateTimeUtc(Some(2026-12-01T09:30:00Z)), BigInt(Some(0)), String(Some("bulk:run-1"))
INSERT INTO notification_deliveries (alert_id, staff_id, channel, status, attempts, next_attempt_at, created_at, updated_at) SELECT al.id, al.assigned_to_staff_id, ?, 'pending', 0, ?, ?, ?
  FROM alerts al
  WHERE al.assigned_to_staff_id IN (1) AND al.id > ? AND al.check_run = ?;

-- outbox1
-- values: String(Some("sms")), ChronoDateTimeUtc(Some(2026-12-01T09:30:00Z)), ChronoDateTimeUtc(Some(2026-12-01T09:30:00Z)), ChronoDateTimeUtc(Some(2026-12-01T09:30:00Z)), BigInt(Some(0)), String(Some("bulk:run-1"))
INSERT INTO notification_deliveries (alert_id, staff_id, channel, status, attempts, next_attempt_at, created_at, updated_at) SELECT al.id, al.assigned_to_staff_id, ?, 'pending', 0, ?, ?, ?
  FROM alerts al
  WHERE al.assigned_to_staff_id IN (1) AND al.id > ? AND al.check_run = ?;

-- outbox2
-- values: String(Some("webhook")), ChronoDateTimeUtc(Some(2026-12-01T09:30:00Z)), ChronoDateTimeUtc(Some(2026-12-01T09:30:00Z)), ChronoDateTimeUtc(Some(2026-12-01T09:30:00Z)), BigInt(Some(0)), String(Some("bulk:run-1"))
INSERT INTO notification_deliveries (alert_id, staff_id, channel, status, attempts, next_attempt_at, created_at, updated_at) SELECT al.id, al.assigned_to_staff_id, ?, 'pending', 0, ?, ?, ?
  FROM alerts al
  WHERE al.assigned_to_staff_id IN (2) AND al.id > ? AND al.check_run = ?;

-- outbox3
-- values: String(Some("slack")), ChronoDateTimeUtc(Some(2026-12-01T09:30:00Z)), ChronoDateTimeUtc(Some(2026-12-01T09:30:00Z)), ChronoDateTimeUtc(Some(2026-12-01T09:30:00Z)), BigInt(Some(0)), String(Some("bulk:run-1"))
INSERT INTO notification_deliveries (alert_id, staff_id, channel, status, attempts, next_attempt_at, created_at, updated_at) SELECT al.id, al.assigned_to_staff_id, ?, 'pending', 0, ?, ?, ?
  FROM alerts al
  WHERE al.id > ? AND al.check_run = ? AND NOT EXISTS (SELECT 1
  FROM alerts o
  WHERE o.dedup_open = 1 AND o.alert_type = al.alert_type AND o.resource_type = al.resource_type AND o.resource_id = al.resource_id AND o.id < al.id);

-- outbox4
-- values: String(Some("teams")), ChronoDateTimeUtc(Some(2026-12-01T09:30:00Z)), ChronoDateTimeUtc(Some(2026-12-01T09:30:00Z)), ChronoDateTimeUtc(Some(2026-12-01T09:30:00Z)), BigInt(Some(0)), String(Some("bulk:run-1"))
INSERT INTO notification_deliveries (alert_id, staff_id, channel, status, attempts, next_attempt_at, created_at, updated_at) SELECT al.id, al.assigned_to_staff_id, ?, 'pending', 0, ?, ?, ?
  FROM alerts al
  WHERE al.id > ? AND al.check_run = ? AND NOT EXISTS (SELECT 1
  FROM alerts o
  WHERE o.dedup_open = 1 AND o.alert_type = al.alert_type AND o.resource_type = al.resource_type AND o.resource_id = al.resource_id AND o.id < al.id);

-- new_alerts
-- values: BigInt(Some(0)), String(Some("bulk:run-1"))
SELECT al.*
  FROM alerts al
  WHERE al.id > ? AND al.check_run = ? AND al.is_dismissed = FALSE
  ORDER BY al.id;

-- new_recipients
-- values: ChronoDateTimeUtc(Some(2026-12-01T09:30:00Z)), String(Some("bulk:run-1"))
SELECT s.id
  FROM staff s
  WHERE EXISTS (SELECT 1
  FROM alerts al
  WHERE al.assigned_to_staff_id = s.id AND al.is_dismissed = FALSE AND al.created_at = ? AND al.check_run = ?);

