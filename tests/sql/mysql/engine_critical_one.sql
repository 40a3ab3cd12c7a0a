-- The engine's statements for one critical rule, scope one.

-- close
-- values: String(Some("critical_complaint")), String(Some("complaint")), BigInt(Some(7)), ChronoDateTime(Some(2026-11-30T09:30:00))
SELECT w.id
  FROM alerts w FORCE INDEX (idx_alerts_window)
  WHERE w.dedup_open = 1 AND w.alert_type = ? AND w.resource_type = ? AND w.resource_id = ? AND (w.created_at < ? OR COALESCE(w.dedup_version, '') <> COALESCE((SELECT CONCAT(COALESCE(CAST(TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', c.sla_deadline) AS CHAR), '0'), '|', c.priority)
  FROM complaints c FORCE INDEX (idx_complaints_version)
  WHERE c.id = w.resource_id), ''))
  ORDER BY w.id;

-- event_resources
-- values: String(Some("admin")), String(Some("supervisor")), String(Some("critical")), String(Some("open")), String(Some("in_progress")), BigInt(Some(7)), String(Some("critical_complaint")), String(Some("complaint"))
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
  JOIN roles ro ON ro.id = r.role_id AND ro.name IN (?)
  WHERE a.is_active = TRUE
  UNION SELECT 0, r.id
  FROM staff r
  JOIN roles ro ON ro.id = r.role_id AND ro.name IN (?)
  WHERE r.is_active = TRUE) m ON m.owner = COALESCE(a.id, 0)
  WHERE c.priority = ? AND c.status IN (?, ?) AND c.id = ? AND NOT EXISTS (SELECT 1
  FROM alerts o
  WHERE o.dedup_open = 1 AND o.alert_type = ? AND o.resource_type = ? AND o.resource_id = c.id AND o.assigned_to_staff_id = m.rcp);

-- open_events
-- values: String(Some("critical_complaint"))
SELECT 1
  FROM alert_events e
  WHERE e.event_open = 1 AND e.alert_type = ? LIMIT 1;

-- end_events
-- values: String(Some("critical_complaint")), String(Some("complaint"))
UPDATE alert_events AS ev SET event_open = NULL, next_step = NULL, next_step_at = NULL
  WHERE ev.event_open = 1 AND ev.alert_type = ? AND ev.resource_type = ? AND ev.resource_id IN (101, 102) AND NOT EXISTS (SELECT 1
  FROM alerts o
  WHERE o.event_id = ev.id AND o.resource_id = ev.resource_id AND COALESCE(o.dedup_open, 0) = 1);

-- begin_events
-- values: BigInt(Some(1)), String(Some("critical_complaint")), String(Some("complaint")), ChronoDateTime(Some(2026-12-01T09:30:00)), Json(Some(Object {"id": Number(1), "name": String("breach-default")})), ChronoDateTime(Some(2026-12-01T10:00:00))
INSERT INTO alert_events (rule_id, alert_type, resource_type, resource_id, event_open, started_at, policy, next_step, next_step_at, cycle) SELECT ?, ?, ?, r.id, 1, ?, ?, 1, ?, 0
  FROM complaints r
  WHERE r.id IN (101, 102)
  ORDER BY r.id
  ON DUPLICATE KEY UPDATE event_open = alert_events.event_open;

-- insert
-- values: String(Some("critical_complaint")), String(Some("warning")), String(Some("complaint")), BigInt(Some(1)), String(Some("Critical complaint")), ChronoDateTime(Some(2026-12-01T09:30:00)), ChronoDateTime(Some(2026-12-01T09:30:00)), ChronoDateTime(Some(2026-12-08T09:30:00)), String(Some("run-1")), String(Some("admin")), String(Some("supervisor")), String(Some("critical")), String(Some("open")), String(Some("in_progress")), BigInt(Some(7)), String(Some("critical_complaint")), String(Some("complaint")), String(Some("critical_complaint")), String(Some("complaint"))
INSERT INTO alerts (alert_type, severity, title, message, resource_type, resource_id, assigned_to_staff_id, is_read, is_dismissed, alert_metadata, created_at, dismissed_at, expires_at, dedup_open, dedup_version, check_run, event_id, acknowledged_at, acknowledged_by, acknowledged_by_name) SELECT ?, ?, substr(CONCAT(CONCAT(upper(substr(x.priority, 1, 1)), substr(x.priority, 2)), ' complaint: ', CONCAT(substr(x.title, 1, 200), ' (#', CAST(x.rid AS CHAR), ')')), 1, 255), CONCAT('Complaint #', CAST(x.rid AS CHAR), ' "', x.title, '" from ', x.customer_name, ' has ', x.priority, ' priority (', CASE WHEN x.owner IS NULL THEN 'unassigned' ELSE CONCAT('assigned to ', x.owner_name) END, '); SLA deadline ', COALESCE(CONCAT(x.deadline_text, ' UTC'), 'none'), '.'), ?, x.rid, x.rcp, FALSE, CASE WHEN x.rcp IN (3) THEN TRUE ELSE FALSE END, JSON_OBJECT('rule_id', ?, 'rule_name', ?, 'complaint_id', x.rid, 'priority', x.priority, 'status', x.status, 'assigned_to_staff_id', x.owner, 'sla_deadline', x.deadline_json), ?, CASE WHEN x.rcp IN (3) THEN ? END, ?, 1, x.ver, ?, xe.id, xe.acknowledged_at, xe.acknowledged_by, xa.full_name
  FROM (SELECT m.rcp, c.id AS rid, CONCAT(COALESCE(CAST(TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', c.sla_deadline) AS CHAR), '0'), '|', c.priority) AS ver, c.title, c.customer_name, c.priority, c.status, DATE_FORMAT(c.sla_deadline, '%Y-%m-%d %H:%i') AS deadline_text, DATE_FORMAT(c.sla_deadline, '%Y-%m-%dT%H:%i:%s.%fZ') AS deadline_json, a.id AS owner, a.full_name AS owner_name
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
  WHERE c.priority = ? AND c.status IN (?, ?) AND c.id = ? AND NOT EXISTS (SELECT 1
  FROM alerts o
  WHERE o.dedup_open = 1 AND o.alert_type = ? AND o.resource_type = ? AND o.resource_id = c.id AND o.assigned_to_staff_id = m.rcp) LIMIT 18446744073709551615) x LEFT
  JOIN alert_events xe ON xe.event_open = 1 AND xe.alert_type = ? AND xe.resource_type = ? AND xe.resource_id = x.rid LEFT
  JOIN staff xa ON xa.id = xe.acknowledged_by
  WHERE TRUE
  ORDER BY x.rid, x.rcp
  ON DUPLICATE KEY UPDATE dedup_open = alerts.dedup_open;

-- count
-- values: String(Some("admin")), String(Some("supervisor")), String(Some("critical")), String(Some("open")), String(Some("in_progress")), BigInt(Some(7))
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
  WHERE c.priority = ? AND c.status IN (?, ?) AND c.id = ?;

-- created
-- values: BigInt(Some(0)), String(Some("run-1"))
SELECT COUNT(*)
  FROM alerts al
  WHERE al.id > ? AND al.check_run = ?;

-- outbox0
-- values: String(Some("email")), ChronoDateTime(Some(2026-12-01T09:30:00)), ChronoDateTime(Some(2026-12-01T09:30:00)), ChronoDateTime(Some(2026-12-01T09:30:00)), BigInt(Some(0)), String(Some("run-1"))
INSERT INTO notification_deliveries (alert_id, staff_id, channel, status, attempts, next_attempt_at, created_at, updated_at) SELECT al.id, al.assigned_to_staff_id, ?, 'pending', 0, ?, ?, ?
  FROM alerts al
  WHERE al.assigned_to_staff_id IN (1) AND al.id > ? AND al.check_run = ?;

-- outbox1
-- values: String(Some("sms")), ChronoDateTime(Some(2026-12-01T09:30:00)), ChronoDateTime(Some(2026-12-01T09:30:00)), ChronoDateTime(Some(2026-12-01T09:30:00)), BigInt(Some(0)), String(Some("run-1"))
INSERT INTO notification_deliveries (alert_id, staff_id, channel, status, attempts, next_attempt_at, created_at, updated_at) SELECT al.id, al.assigned_to_staff_id, ?, 'pending', 0, ?, ?, ?
  FROM alerts al
  WHERE al.assigned_to_staff_id IN (1) AND al.id > ? AND al.check_run = ?;

-- outbox2
-- values: String(Some("webhook")), ChronoDateTime(Some(2026-12-01T09:30:00)), ChronoDateTime(Some(2026-12-01T09:30:00)), ChronoDateTime(Some(2026-12-01T09:30:00)), BigInt(Some(0)), String(Some("run-1"))
INSERT INTO notification_deliveries (alert_id, staff_id, channel, status, attempts, next_attempt_at, created_at, updated_at) SELECT al.id, al.assigned_to_staff_id, ?, 'pending', 0, ?, ?, ?
  FROM alerts al
  WHERE al.assigned_to_staff_id IN (2) AND al.id > ? AND al.check_run = ?;

-- outbox3
-- values: String(Some("slack")), ChronoDateTime(Some(2026-12-01T09:30:00)), ChronoDateTime(Some(2026-12-01T09:30:00)), ChronoDateTime(Some(2026-12-01T09:30:00)), BigInt(Some(0)), String(Some("run-1"))
INSERT INTO notification_deliveries (alert_id, staff_id, channel, status, attempts, next_attempt_at, created_at, updated_at) SELECT al.id, al.assigned_to_staff_id, ?, 'pending', 0, ?, ?, ?
  FROM alerts al
  WHERE al.id > ? AND al.check_run = ? AND NOT EXISTS (SELECT 1
  FROM alerts o
  WHERE o.dedup_open = 1 AND o.alert_type = al.alert_type AND o.resource_type = al.resource_type AND o.resource_id = al.resource_id AND o.id < al.id);

-- outbox4
-- values: String(Some("teams")), ChronoDateTime(Some(2026-12-01T09:30:00)), ChronoDateTime(Some(2026-12-01T09:30:00)), ChronoDateTime(Some(2026-12-01T09:30:00)), BigInt(Some(0)), String(Some("run-1"))
INSERT INTO notification_deliveries (alert_id, staff_id, channel, status, attempts, next_attempt_at, created_at, updated_at) SELECT al.id, al.assigned_to_staff_id, ?, 'pending', 0, ?, ?, ?
  FROM alerts al
  WHERE al.id > ? AND al.check_run = ? AND NOT EXISTS (SELECT 1
  FROM alerts o
  WHERE o.dedup_open = 1 AND o.alert_type = al.alert_type AND o.resource_type = al.resource_type AND o.resource_id = al.resource_id AND o.id < al.id);

-- new_alerts
-- values: BigInt(Some(0)), String(Some("run-1"))
SELECT al.*
  FROM alerts al
  WHERE al.id > ? AND al.check_run = ? AND al.is_dismissed = FALSE
  ORDER BY al.id;

-- new_recipients
-- values: BigInt(Some(0)), String(Some("run-1"))
SELECT DISTINCT al.assigned_to_staff_id
  FROM alerts al
  WHERE al.id > ? AND al.check_run = ? AND al.is_dismissed = FALSE;

