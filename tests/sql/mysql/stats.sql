-- The statistics' statements (GET /alerts/stats).

-- groups (everyone)
-- values: ChronoDateTime(Some(2026-11-01T09:30:00)), ChronoDateTime(Some(2026-12-01T09:30:00))
SELECT TIMESTAMPDIFF(HOUR, '1970-01-01 00:00:00', a.created_at) AS h, a.alert_type AS t, a.severity AS s, COUNT(*) AS n, CAST(SUM(CASE WHEN a.read_at IS NOT NULL THEN 1 ELSE 0 END) AS SIGNED) AS r, CAST(SUM(CASE WHEN a.dismissed_at IS NOT NULL THEN 1 ELSE 0 END) AS SIGNED) AS x
  FROM alerts a
  WHERE a.created_at >= ? AND a.created_at < ?
  GROUP BY TIMESTAMPDIFF(HOUR, '1970-01-01 00:00:00', a.created_at), a.alert_type, a.severity;

-- groups (one staff member)
-- values: ChronoDateTime(Some(2026-11-01T09:30:00)), ChronoDateTime(Some(2026-12-01T09:30:00)), BigInt(Some(5))
SELECT TIMESTAMPDIFF(HOUR, '1970-01-01 00:00:00', a.created_at) AS h, a.alert_type AS t, a.severity AS s, COUNT(*) AS n, CAST(SUM(CASE WHEN a.read_at IS NOT NULL THEN 1 ELSE 0 END) AS SIGNED) AS r, CAST(SUM(CASE WHEN a.dismissed_at IS NOT NULL THEN 1 ELSE 0 END) AS SIGNED) AS x
  FROM alerts a
  WHERE a.created_at >= ? AND a.created_at < ? AND a.assigned_to_staff_id = ?
  GROUP BY TIMESTAMPDIFF(HOUR, '1970-01-01 00:00:00', a.created_at), a.alert_type, a.severity;

-- hourly groups
-- values: BigInt(Some(490000)), BigInt(Some(490720))
SELECT hour, alert_type AS t, severity AS s, alerts_total AS n, alerts_read AS r, alerts_dismissed AS x
  FROM alert_stats_hourly
  WHERE hour >= ? AND hour < ? AND alerts_total > 0;

-- latency histogram (read, everyone)
-- values: ChronoDateTime(Some(2026-11-01T09:30:00)), ChronoDateTime(Some(2026-12-01T09:30:00))
SELECT l.bucket AS bucket, COUNT(*) AS n
  FROM alert_latencies l FORCE INDEX (idx_alert_latencies_bucket)
  WHERE l.kind = 'read' AND l.created_at >= ? AND l.created_at < ?
  GROUP BY l.bucket
  ORDER BY l.bucket;

-- latency histogram (dismiss, one staff member)
-- values: ChronoDateTime(Some(2026-11-01T09:30:00)), ChronoDateTime(Some(2026-12-01T09:30:00)), BigInt(Some(5))
SELECT l.bucket AS bucket, COUNT(*) AS n
  FROM alert_latencies l FORCE INDEX (idx_alert_latencies_staff)
  WHERE l.kind = 'dismiss' AND l.created_at >= ? AND l.created_at < ? AND l.staff_id = ?
  GROUP BY l.bucket
  ORDER BY l.bucket;

-- read counts by staff
-- values: ChronoDateTime(Some(2026-11-01T09:30:00)), ChronoDateTime(Some(2026-12-01T09:30:00))
SELECT l.staff_id AS st, COUNT(*) AS n
  FROM alert_latencies l FORCE INDEX (idx_alert_latencies_staff)
  WHERE l.kind = 'read' AND l.created_at >= ? AND l.created_at < ?
  GROUP BY l.staff_id;

-- medians
-- values: BigInt(Some(5)), BigInt(Some(5)), ChronoDateTime(Some(2026-11-01T09:30:00)), ChronoDateTime(Some(2026-12-01T09:30:00)), BigInt(Some(4)), BigInt(Some(6)), BigInt(Some(6)), ChronoDateTime(Some(2026-11-01T09:30:00)), ChronoDateTime(Some(2026-12-01T09:30:00)), BigInt(Some(0))
SELECT ? AS st, (SELECT l.bucket
  FROM alert_latencies l FORCE INDEX (idx_alert_latencies_staff)
  WHERE l.kind = 'read' AND l.staff_id = ? AND l.created_at >= ? AND l.created_at < ?
  ORDER BY l.bucket LIMIT 1 OFFSET ?) AS median
 
  UNION ALL SELECT ? AS st, (SELECT l.bucket
  FROM alert_latencies l FORCE INDEX (idx_alert_latencies_staff)
  WHERE l.kind = 'read' AND l.staff_id = ? AND l.created_at >= ? AND l.created_at < ?
  ORDER BY l.bucket LIMIT 1 OFFSET ?) AS median;

-- staff counts
-- values: ChronoDateTime(Some(2026-11-01T09:30:00)), ChronoDateTime(Some(2026-12-01T09:30:00))
SELECT a.assigned_to_staff_id AS st, COUNT(*) AS n
  FROM alerts a
  WHERE a.created_at >= ? AND a.created_at < ?
  GROUP BY a.assigned_to_staff_id;

-- hourly staff counts
-- values: BigInt(Some(490000)), BigInt(Some(490720))
SELECT staff_id AS st, CAST(SUM(alerts_total) AS SIGNED) AS n
  FROM alert_stats_staff_hourly
  WHERE hour >= ? AND hour < ?
  GROUP BY staff_id;

-- unread by staff
-- values: ChronoDateTime(Some(2026-11-01T09:30:00)), ChronoDateTime(Some(2026-12-01T09:30:00)), ChronoDateTime(Some(2026-12-01T09:30:00))
SELECT a.assigned_to_staff_id AS st, COUNT(*) AS n
  FROM alerts a FORCE INDEX (idx_alerts_unread_window)
  WHERE a.created_at >= ? AND a.created_at < ? AND a.is_read = false AND a.is_dismissed = false AND (a.expires_at IS NULL OR a.expires_at > ?)
  GROUP BY a.assigned_to_staff_id;

