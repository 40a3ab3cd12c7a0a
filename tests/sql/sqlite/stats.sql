-- The statistics' statements (GET /alerts/stats).

-- groups (everyone)
-- values: ChronoDateTimeUtc(Some(2026-11-01T09:30:00Z)), ChronoDateTimeUtc(Some(2026-12-01T09:30:00Z))
SELECT (CAST(strftime('%s', a.created_at) AS INTEGER) / 3600) AS h, a.alert_type AS t, a.severity AS s, COUNT(*) AS n, CAST(SUM(CASE WHEN a.read_at IS NOT NULL THEN 1 ELSE 0 END) AS INTEGER) AS r, CAST(SUM(CASE WHEN a.dismissed_at IS NOT NULL THEN 1 ELSE 0 END) AS INTEGER) AS x
  FROM alerts a
  WHERE a.created_at >= ? AND a.created_at < ?
  GROUP BY (CAST(strftime('%s', a.created_at) AS INTEGER) / 3600), a.alert_type, a.severity;

-- groups (one staff member)
-- values: ChronoDateTimeUtc(Some(2026-11-01T09:30:00Z)), ChronoDateTimeUtc(Some(2026-12-01T09:30:00Z)), BigInt(Some(5))
SELECT (CAST(strftime('%s', a.created_at) AS INTEGER) / 3600) AS h, a.alert_type AS t, a.severity AS s, COUNT(*) AS n, CAST(SUM(CASE WHEN a.read_at IS NOT NULL THEN 1 ELSE 0 END) AS INTEGER) AS r, CAST(SUM(CASE WHEN a.dismissed_at IS NOT NULL THEN 1 ELSE 0 END) AS INTEGER) AS x
  FROM alerts a
  WHERE a.created_at >= ? AND a.created_at < ? AND a.assigned_to_staff_id = ?
  GROUP BY (CAST(strftime('%s', a.created_at) AS INTEGER) / 3600), a.alert_type, a.severity;

-- hourly groups
-- values: BigInt(Some(490000)), BigInt(Some(490720))
SELECT hour, alert_type AS t, severity AS s, alerts_total AS n, alerts_read AS r, alerts_dismissed AS x
  FROM alert_stats_hourly
  WHERE hour >= ? AND hour < ? AND alerts_total > 0;

-- latency histogram (read, everyone)
-- values: ChronoDateTimeUtc(Some(2026-11-01T09:30:00Z)), ChronoDateTimeUtc(Some(2026-12-01T09:30:00Z))
SELECT l.bucket AS bucket, COUNT(*) AS n
  FROM alert_latencies l INDEXED BY idx_alert_latencies_bucket
  WHERE l.kind = 'read' AND +l.created_at >= ? AND +l.created_at < ?
  GROUP BY l.bucket
  ORDER BY l.bucket;

-- latency histogram (dismiss, one staff member)
-- values: ChronoDateTimeUtc(Some(2026-11-01T09:30:00Z)), ChronoDateTimeUtc(Some(2026-12-01T09:30:00Z)), BigInt(Some(5))
SELECT l.bucket AS bucket, COUNT(*) AS n
  FROM alert_latencies l INDEXED BY idx_alert_latencies_staff
  WHERE l.kind = 'dismiss' AND +l.created_at >= ? AND +l.created_at < ? AND l.staff_id = ?
  GROUP BY l.bucket
  ORDER BY l.bucket;

-- read counts by staff
-- values: ChronoDateTimeUtc(Some(2026-11-01T09:30:00Z)), ChronoDateTimeUtc(Some(2026-12-01T09:30:00Z))
SELECT l.staff_id AS st, COUNT(*) AS n
  FROM alert_latencies l INDEXED BY idx_alert_latencies_staff
  WHERE l.kind = 'read' AND +l.created_at >= ? AND +l.created_at < ?
  GROUP BY l.staff_id;

-- medians
-- values: BigInt(Some(5)), BigInt(Some(5)), ChronoDateTimeUtc(Some(2026-11-01T09:30:00Z)), ChronoDateTimeUtc(Some(2026-12-01T09:30:00Z)), BigInt(Some(4)), BigInt(Some(6)), BigInt(Some(6)), ChronoDateTimeUtc(Some(2026-11-01T09:30:00Z)), ChronoDateTimeUtc(Some(2026-12-01T09:30:00Z)), BigInt(Some(0))
SELECT ? AS st, (SELECT l.bucket
  FROM alert_latencies l INDEXED BY idx_alert_latencies_staff
  WHERE l.kind = 'read' AND l.staff_id = ? AND +l.created_at >= ? AND +l.created_at < ?
  ORDER BY l.bucket LIMIT 1 OFFSET ?) AS median
 
  UNION ALL SELECT ? AS st, (SELECT l.bucket
  FROM alert_latencies l INDEXED BY idx_alert_latencies_staff
  WHERE l.kind = 'read' AND l.staff_id = ? AND +l.created_at >= ? AND +l.created_at < ?
  ORDER BY l.bucket LIMIT 1 OFFSET ?) AS median;

-- staff counts
-- values: ChronoDateTimeUtc(Some(2026-11-01T09:30:00Z)), ChronoDateTimeUtc(Some(2026-12-01T09:30:00Z))
SELECT a.assigned_to_staff_id AS st, COUNT(*) AS n
  FROM alerts a
  WHERE a.created_at >= ? AND a.created_at < ?
  GROUP BY a.assigned_to_staff_id;

-- hourly staff counts
-- values: BigInt(Some(490000)), BigInt(Some(490720))
SELECT staff_id AS st, CAST(SUM(alerts_total) AS INTEGER) AS n
  FROM alert_stats_staff_hourly
  WHERE hour >= ? AND hour < ?
  GROUP BY staff_id;

-- unread by staff
-- values: ChronoDateTimeUtc(Some(2026-11-01T09:30:00Z)), ChronoDateTimeUtc(Some(2026-12-01T09:30:00Z)), ChronoDateTimeUtc(Some(2026-12-01T09:30:00Z))
SELECT a.assigned_to_staff_id AS st, COUNT(*) AS n
  FROM alerts a INDEXED BY idx_alerts_unread_window
  WHERE a.created_at >= ? AND a.created_at < ? AND a.is_read = false AND a.is_dismissed = false AND (a.expires_at IS NULL OR a.expires_at > ?)
  GROUP BY a.assigned_to_staff_id;

