-- The engine's statements for one workload rule, scope changed.

-- close
-- values: String(Some("high_workload")), String(Some("staff")), ChronoDateTimeUtc(Some(2026-11-30T09:25:00Z)), ChronoDateTimeUtc(Some(2026-11-30T09:30:00Z)), String(Some("high_workload")), String(Some("staff")), ChronoDateTimeUtc(Some(2026-11-30T09:30:00Z))
UPDATE alerts AS w SET dedup_open = NULL
  WHERE w.dedup_open = 1 AND w.alert_type = ? AND w.resource_type = ? AND w.resource_id IN (SELECT ch.id
  FROM (SELECT assigned_to_staff_id AS id
  FROM complaints
  WHERE sla_unchecked_since IS NOT NULL
  UNION SELECT e.resource_id
  FROM alerts e INDEXED BY idx_alerts_created
  WHERE e.created_at >= ? AND e.created_at < ? AND e.alert_type = ? AND e.dedup_open = 1 AND e.resource_type = ?) ch) AND (w.created_at < ? OR COALESCE(w.dedup_version, '') <> 'workload');

-- open_events
-- values: String(Some("high_workload"))
SELECT 1
  FROM alert_events e
  WHERE e.event_open = 1 AND e.alert_type = ? LIMIT 1;

-- end_events
-- values: String(Some("high_workload")), String(Some("staff")), String(Some("open")), String(Some("in_progress")), ChronoDateTimeUtc(Some(2026-11-30T09:25:00Z)), ChronoDateTimeUtc(Some(2026-11-30T09:30:00Z)), String(Some("high_workload")), String(Some("staff")), String(Some("admin")), BigInt(Some(10)), String(Some("high_workload")), String(Some("staff"))
UPDATE alert_events AS ev SET event_open = NULL, next_step = NULL, next_step_at = NULL
  WHERE ev.event_open = 1 AND ev.alert_type = ? AND ev.resource_type = ? AND ev.resource_id IN (SELECT a.id AS rid
  FROM (SELECT o.assigned_to_staff_id AS sid, COUNT(*) AS n
  FROM complaints o
  WHERE o.status IN (?, ?) AND o.assigned_to_staff_id IS NOT NULL AND o.assigned_to_staff_id IN (SELECT ch.id
  FROM (SELECT assigned_to_staff_id AS id
  FROM complaints
  WHERE sla_unchecked_since IS NOT NULL
  UNION SELECT e.resource_id
  FROM alerts e INDEXED BY idx_alerts_created
  WHERE e.created_at >= ? AND e.created_at < ? AND e.alert_type = ? AND e.dedup_open = 1 AND e.resource_type = ?) ch)
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
  JOIN roles ro ON ro.id = r.role_id AND ro.name IN (?)
  WHERE a.is_active = TRUE) m ON m.owner = a.id
  WHERE w.n > ? AND NOT EXISTS (SELECT 1
  FROM alerts o
  WHERE o.dedup_open = 1 AND o.alert_type = ? AND o.resource_type = ? AND o.resource_id = a.id AND o.assigned_to_staff_id = m.rcp)) AND NOT EXISTS (SELECT 1
  FROM alerts o
  WHERE o.event_id = ev.id AND o.resource_id = ev.resource_id AND COALESCE(o.dedup_open, 0) = 1);

-- begin_events
-- values: BigInt(Some(1)), String(Some("high_workload")), String(Some("staff")), ChronoDateTimeUtc(Some(2026-12-01T09:30:00Z)), Json(Some(Object {"id": Number(1), "name": String("breach-default")})), ChronoDateTimeUtc(Some(2026-12-01T10:00:00Z)), String(Some("open")), String(Some("in_progress")), ChronoDateTimeUtc(Some(2026-11-30T09:25:00Z)), ChronoDateTimeUtc(Some(2026-11-30T09:30:00Z)), String(Some("high_workload")), String(Some("staff")), String(Some("admin")), BigInt(Some(10)), String(Some("high_workload")), String(Some("staff"))
INSERT INTO alert_events (rule_id, alert_type, resource_type, resource_id, event_open, started_at, policy, next_step, next_step_at, cycle) SELECT ?, ?, ?, r.id, 1, ?, ?, 1, ?, 0
  FROM staff r
  WHERE r.id IN (SELECT a.id AS rid
  FROM (SELECT o.assigned_to_staff_id AS sid, COUNT(*) AS n
  FROM complaints o
  WHERE o.status IN (?, ?) AND o.assigned_to_staff_id IS NOT NULL AND o.assigned_to_staff_id IN (SELECT ch.id
  FROM (SELECT assigned_to_staff_id AS id
  FROM complaints
  WHERE sla_unchecked_since IS NOT NULL
  UNION SELECT e.resource_id
  FROM alerts e INDEXED BY idx_alerts_created
  WHERE e.created_at >= ? AND e.created_at < ? AND e.alert_type = ? AND e.dedup_open = 1 AND e.resource_type = ?) ch)
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
  JOIN roles ro ON ro.id = r.role_id AND ro.name IN (?)
  WHERE a.is_active = TRUE) m ON m.owner = a.id
  WHERE w.n > ? AND NOT EXISTS (SELECT 1
  FROM alerts o
  WHERE o.dedup_open = 1 AND o.alert_type = ? AND o.resource_type = ? AND o.resource_id = a.id AND o.assigned_to_staff_id = m.rcp))
  ON CONFLICT (event_open, alert_type, resource_type, resource_id) DO NOTHING;

-- insert
-- values: String(Some("high_workload")), String(Some("warning")), BigInt(Some(10)), String(Some("staff")), BigInt(Some(1)), String(Some("High workload")), BigInt(Some(10)), ChronoDateTimeUtc(Some(2026-12-01T09:30:00Z)), ChronoDateTimeUtc(Some(2026-12-01T09:30:00Z)), ChronoDateTimeUtc(Some(2026-12-08T09:30:00Z)), String(Some("bulk:run-1")), String(Some("open")), String(Some("in_progress")), ChronoDateTimeUtc(Some(2026-11-30T09:25:00Z)), ChronoDateTimeUtc(Some(2026-11-30T09:30:00Z)), String(Some("high_workload")), String(Some("staff")), String(Some("admin")), BigInt(Some(10)), String(Some("high_workload")), String(Some("staff")), String(Some("high_workload")), String(Some("staff"))
INSERT INTO alerts (alert_type, severity, title, message, resource_type, resource_id, assigned_to_staff_id, is_read, is_dismissed, alert_metadata, created_at, dismissed_at, expires_at, dedup_open, dedup_version, check_run, event_id, acknowledged_at, acknowledged_by, acknowledged_by_name) SELECT ?, ?, substr(('High workload: ' || x.name), 1, 255), (x.name || ' has ' || CAST(x.n AS TEXT) || ' open complaints assigned (threshold ' || CAST(? AS TEXT) || ').'), ?, x.rid, x.rcp, FALSE, CASE WHEN x.rcp IN (3) THEN TRUE ELSE FALSE END, json_object('rule_id', ?, 'rule_name', ?, 'staff_id', x.rid, 'open_complaints', CAST(x.n AS INTEGER), 'threshold', ?), ?, CASE WHEN x.rcp IN (3) THEN ? END, ?, 1, x.ver, ?, xe.id, xe.acknowledged_at, xe.acknowledged_by, xa.full_name
  FROM (SELECT m.rcp, a.id AS rid, 'workload' AS ver, a.full_name AS name, w.n
  FROM (SELECT o.assigned_to_staff_id AS sid, COUNT(*) AS n
  FROM complaints o
  WHERE o.status IN (?, ?) AND o.assigned_to_staff_id IS NOT NULL AND o.assigned_to_staff_id IN (SELECT ch.id
  FROM (SELECT assigned_to_staff_id AS id
  FROM complaints
  WHERE sla_unchecked_since IS NOT NULL
  UNION SELECT e.resource_id
  FROM alerts e INDEXED BY idx_alerts_created
  WHERE e.created_at >= ? AND e.created_at < ? AND e.alert_type = ? AND e.dedup_open = 1 AND e.resource_type = ?) ch)
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
  JOIN roles ro ON ro.id = r.role_id AND ro.name IN (?)
  WHERE a.is_active = TRUE) m ON m.owner = a.id
  WHERE w.n > ? AND NOT EXISTS (SELECT 1
  FROM alerts o
  WHERE o.dedup_open = 1 AND o.alert_type = ? AND o.resource_type = ? AND o.resource_id = a.id AND o.assigned_to_staff_id = m.rcp) LIMIT -1 OFFSET 0) x LEFT
  JOIN alert_events xe ON xe.event_open = 1 AND xe.alert_type = ? AND xe.resource_type = ? AND xe.resource_id = x.rid LEFT
  JOIN staff xa ON xa.id = xe.acknowledged_by
  WHERE TRUE
  ON CONFLICT (dedup_open, alert_type, resource_type, resource_id, assigned_to_staff_id) DO NOTHING;

-- count
-- values: String(Some("open")), String(Some("in_progress")), ChronoDateTimeUtc(Some(2026-11-30T09:25:00Z)), ChronoDateTimeUtc(Some(2026-11-30T09:30:00Z)), String(Some("high_workload")), String(Some("staff")), String(Some("admin")), BigInt(Some(10))
SELECT COUNT(*)
  FROM (SELECT o.assigned_to_staff_id AS sid, COUNT(*) AS n
  FROM complaints o
  WHERE o.status IN (?, ?) AND o.assigned_to_staff_id IS NOT NULL AND o.assigned_to_staff_id IN (SELECT ch.id
  FROM (SELECT assigned_to_staff_id AS id
  FROM complaints
  WHERE sla_unchecked_since IS NOT NULL
  UNION SELECT e.resource_id
  FROM alerts e INDEXED BY idx_alerts_created
  WHERE e.created_at >= ? AND e.created_at < ? AND e.alert_type = ? AND e.dedup_open = 1 AND e.resource_type = ?) ch)
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
  JOIN roles ro ON ro.id = r.role_id AND ro.name IN (?)
  WHERE a.is_active = TRUE) m ON m.owner = a.id
  WHERE w.n > ?;

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

