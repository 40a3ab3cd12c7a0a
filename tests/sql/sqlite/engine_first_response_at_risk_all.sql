-- The engine's statements for one first_response_at_risk rule, scope all.

-- close
-- values: String(Some("first_response_at_risk")), String(Some("complaint")), ChronoDateTimeUtc(Some(2026-11-30T09:30:00Z))
UPDATE alerts AS w SET dedup_open = NULL
  WHERE w.dedup_open = 1 AND w.alert_type = ? AND w.resource_type = ? AND (w.created_at < ? OR COALESCE(w.dedup_version, '') <> COALESCE((SELECT (COALESCE(c.first_response_due_at, '0') || '|' || c.priority)
  FROM complaints c
  WHERE c.id = w.resource_id), ''));

-- open_events
-- values: String(Some("first_response_at_risk"))
SELECT 1
  FROM alert_events e
  WHERE e.event_open = 1 AND e.alert_type = ? LIMIT 1;

-- end_events
-- values: String(Some("first_response_at_risk")), String(Some("complaint")), String(Some("admin")), String(Some("supervisor")), String(Some("open")), String(Some("in_progress")), ChronoDateTimeUtc(Some(2026-12-01T09:30:00Z)), BigInt(Some(1)), ChronoDateTimeUtc(Some(2026-12-01T09:30:00Z)), String(Some("first_response_at_risk")), String(Some("complaint"))
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
  WHERE c.status IN (?, ?) AND c.sla_paused_since IS NULL AND c.first_response_due_at > ? AND c.first_responded_at IS NULL AND c.id IN (SELECT p.complaint_id
  FROM sla_points p
  WHERE p.rule_id = ? AND p.due_at <= ?) AND NOT EXISTS (SELECT 1
  FROM alerts o
  WHERE o.dedup_open = 1 AND o.alert_type = ? AND o.resource_type = ? AND o.resource_id = c.id AND o.assigned_to_staff_id = m.rcp)) AND NOT EXISTS (SELECT 1
  FROM alerts o
  WHERE o.event_id = ev.id AND o.resource_id = ev.resource_id AND COALESCE(o.dedup_open, 0) = 1);

-- begin_events
-- values: BigInt(Some(1)), String(Some("first_response_at_risk")), String(Some("complaint")), ChronoDateTimeUtc(Some(2026-12-01T09:30:00Z)), Json(Some(Object {"id": Number(1), "name": String("breach-default")})), ChronoDateTimeUtc(Some(2026-12-01T10:00:00Z)), String(Some("admin")), String(Some("supervisor")), String(Some("open")), String(Some("in_progress")), ChronoDateTimeUtc(Some(2026-12-01T09:30:00Z)), BigInt(Some(1)), ChronoDateTimeUtc(Some(2026-12-01T09:30:00Z)), String(Some("first_response_at_risk")), String(Some("complaint"))
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
  WHERE c.status IN (?, ?) AND c.sla_paused_since IS NULL AND c.first_response_due_at > ? AND c.first_responded_at IS NULL AND c.id IN (SELECT p.complaint_id
  FROM sla_points p
  WHERE p.rule_id = ? AND p.due_at <= ?) AND NOT EXISTS (SELECT 1
  FROM alerts o
  WHERE o.dedup_open = 1 AND o.alert_type = ? AND o.resource_type = ? AND o.resource_id = c.id AND o.assigned_to_staff_id = m.rcp))
  ON CONFLICT (event_open, alert_type, resource_type, resource_id) DO NOTHING;

-- insert
-- values: String(Some("first_response_at_risk")), String(Some("warning")), String(Some("complaint")), BigInt(Some(1)), String(Some("First response at risk")), ChronoDateTimeUtc(Some(2026-12-01T09:30:00Z)), ChronoDateTimeUtc(Some(2026-12-01T09:30:00Z)), ChronoDateTimeUtc(Some(2026-12-08T09:30:00Z)), String(Some("bulk:run-1")), ChronoDateTimeUtc(Some(2026-12-01T09:30:00Z)), BigInt(Some(1)), String(Some("admin")), String(Some("supervisor")), String(Some("open")), String(Some("in_progress")), ChronoDateTimeUtc(Some(2026-12-01T09:30:00Z)), BigInt(Some(1)), ChronoDateTimeUtc(Some(2026-12-01T09:30:00Z)), String(Some("first_response_at_risk")), String(Some("complaint")), String(Some("first_response_at_risk")), String(Some("complaint"))
INSERT INTO alerts (alert_type, severity, title, message, resource_type, resource_id, assigned_to_staff_id, is_read, is_dismissed, alert_metadata, created_at, dismissed_at, expires_at, dedup_open, dedup_version, check_run, event_id, acknowledged_at, acknowledged_by, acknowledged_by_name) SELECT ?, ?, substr(('First response at risk: ' || (substr(x.title, 1, 200) || ' (#' || CAST(x.rid AS TEXT) || ')')), 1, 255), ('Complaint #' || CAST(x.rid AS TEXT) || ' "' || x.title || '" (' || x.priority || ', ' || CASE WHEN x.owner IS NULL THEN 'unassigned' ELSE ('assigned to ' || x.owner_name) END || ') has had no first response; it is due in ' || CASE WHEN x.due_local IS NULL THEN (CASE WHEN ((CASE WHEN x.secs > 0 THEN x.secs ELSE 0 END) / 60) < 1 THEN 'less than a minute' WHEN ((CASE WHEN x.secs > 0 THEN x.secs ELSE 0 END) / 60) < 60 THEN (CAST(((CASE WHEN x.secs > 0 THEN x.secs ELSE 0 END) / 60) AS TEXT) || ' min') WHEN ((CASE WHEN x.secs > 0 THEN x.secs ELSE 0 END) / 60) < 1440 AND ((CASE WHEN x.secs > 0 THEN x.secs ELSE 0 END) / 60) % 60 = 0 THEN (CAST((((CASE WHEN x.secs > 0 THEN x.secs ELSE 0 END) / 60) / 60) AS TEXT) || ' h') WHEN ((CASE WHEN x.secs > 0 THEN x.secs ELSE 0 END) / 60) < 1440 THEN (CAST((((CASE WHEN x.secs > 0 THEN x.secs ELSE 0 END) / 60) / 60) AS TEXT) || ' h ' || CAST((((CASE WHEN x.secs > 0 THEN x.secs ELSE 0 END) / 60) % 60) AS TEXT) || ' min') WHEN ((((CASE WHEN x.secs > 0 THEN x.secs ELSE 0 END) / 60) / 60) % 24) = 0 THEN (CAST((((CASE WHEN x.secs > 0 THEN x.secs ELSE 0 END) / 60) / 1440) AS TEXT) || ' d') ELSE (CAST((((CASE WHEN x.secs > 0 THEN x.secs ELSE 0 END) / 60) / 1440) AS TEXT) || ' d ' || CAST(((((CASE WHEN x.secs > 0 THEN x.secs ELSE 0 END) / 60) / 60) % 24) AS TEXT) || ' h') END || ' (at ' || x.deadline_text || ' UTC).') ELSE (CASE WHEN ((CASE WHEN COALESCE(x.working_left, 0) > 0 THEN COALESCE(x.working_left, 0) ELSE 0 END) / 60) < 1 THEN 'less than a minute' WHEN ((CASE WHEN COALESCE(x.working_left, 0) > 0 THEN COALESCE(x.working_left, 0) ELSE 0 END) / 60) < 60 THEN (CAST(((CASE WHEN COALESCE(x.working_left, 0) > 0 THEN COALESCE(x.working_left, 0) ELSE 0 END) / 60) AS TEXT) || ' min') WHEN ((CASE WHEN COALESCE(x.working_left, 0) > 0 THEN COALESCE(x.working_left, 0) ELSE 0 END) / 60) < 1440 AND ((CASE WHEN COALESCE(x.working_left, 0) > 0 THEN COALESCE(x.working_left, 0) ELSE 0 END) / 60) % 60 = 0 THEN (CAST((((CASE WHEN COALESCE(x.working_left, 0) > 0 THEN COALESCE(x.working_left, 0) ELSE 0 END) / 60) / 60) AS TEXT) || ' h') WHEN ((CASE WHEN COALESCE(x.working_left, 0) > 0 THEN COALESCE(x.working_left, 0) ELSE 0 END) / 60) < 1440 THEN (CAST((((CASE WHEN COALESCE(x.working_left, 0) > 0 THEN COALESCE(x.working_left, 0) ELSE 0 END) / 60) / 60) AS TEXT) || ' h ' || CAST((((CASE WHEN COALESCE(x.working_left, 0) > 0 THEN COALESCE(x.working_left, 0) ELSE 0 END) / 60) % 60) AS TEXT) || ' min') WHEN ((((CASE WHEN COALESCE(x.working_left, 0) > 0 THEN COALESCE(x.working_left, 0) ELSE 0 END) / 60) / 60) % 24) = 0 THEN (CAST((((CASE WHEN COALESCE(x.working_left, 0) > 0 THEN COALESCE(x.working_left, 0) ELSE 0 END) / 60) / 1440) AS TEXT) || ' d') ELSE (CAST((((CASE WHEN COALESCE(x.working_left, 0) > 0 THEN COALESCE(x.working_left, 0) ELSE 0 END) / 60) / 1440) AS TEXT) || ' d ' || CAST(((((CASE WHEN COALESCE(x.working_left, 0) > 0 THEN COALESCE(x.working_left, 0) ELSE 0 END) / 60) / 60) % 24) AS TEXT) || ' h') END || ' of working time, ' || x.due_local || '.') END), ?, x.rid, x.rcp, FALSE, CASE WHEN x.rcp IN (3) THEN TRUE ELSE FALSE END, json_object('rule_id', ?, 'rule_name', ?, 'complaint_id', x.rid, 'priority', x.priority, 'status', x.status, 'assigned_to_staff_id', x.owner, 'sla_deadline', x.deadline_json, 'first_response_due_at', x.deadline_json, 'seconds_left', x.secs), ?, CASE WHEN x.rcp IN (3) THEN ? END, ?, 1, x.ver, ?, xe.id, xe.acknowledged_at, xe.acknowledged_by, xa.full_name
  FROM (SELECT m.rcp, c.id AS rid, (COALESCE(c.first_response_due_at, '0') || '|' || c.priority) AS ver, c.title, c.customer_name, c.priority, c.status, (substr(c.first_response_due_at, 1, 10) || ' ' || substr(c.first_response_due_at, 12, 5)) AS deadline_text, replace(c.first_response_due_at, '+00:00', 'Z') AS deadline_json, a.id AS owner, a.full_name AS owner_name, CAST(CAST(round((julianday(c.first_response_due_at) - julianday(?)) * 86400.0, 3) AS INTEGER) AS INTEGER) AS secs, c.first_response_due_text AS due_local, (SELECT p.working_left
  FROM sla_points p
  WHERE p.complaint_id = c.id AND p.rule_id = ?) AS working_left
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
  WHERE c.status IN (?, ?) AND c.sla_paused_since IS NULL AND c.first_response_due_at > ? AND c.first_responded_at IS NULL AND c.id IN (SELECT p.complaint_id
  FROM sla_points p
  WHERE p.rule_id = ? AND p.due_at <= ?) AND NOT EXISTS (SELECT 1
  FROM alerts o
  WHERE o.dedup_open = 1 AND o.alert_type = ? AND o.resource_type = ? AND o.resource_id = c.id AND o.assigned_to_staff_id = m.rcp) LIMIT -1 OFFSET 0) x LEFT
  JOIN alert_events xe ON xe.event_open = 1 AND xe.alert_type = ? AND xe.resource_type = ? AND xe.resource_id = x.rid LEFT
  JOIN staff xa ON xa.id = xe.acknowledged_by
  WHERE TRUE
  ON CONFLICT (dedup_open, alert_type, resource_type, resource_id, assigned_to_staff_id) DO NOTHING;

-- count
-- values: String(Some("admin")), String(Some("supervisor")), String(Some("open")), String(Some("in_progress")), ChronoDateTimeUtc(Some(2026-12-01T09:30:00Z)), BigInt(Some(1)), ChronoDateTimeUtc(Some(2026-12-01T09:30:00Z))
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
  WHERE c.status IN (?, ?) AND c.sla_paused_since IS NULL AND c.first_response_due_at > ? AND c.first_responded_at IS NULL AND c.id IN (SELECT p.complaint_id
  FROM sla_points p
  WHERE p.rule_id = ? AND p.due_at <= ?);

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

