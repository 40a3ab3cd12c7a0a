-- The statistics' statements (GET /alerts/stats).

-- groups (everyone)
-- values: ChronoDateTimeUtc(Some(2026-11-01T09:30:00Z)), ChronoDateTimeUtc(Some(2026-12-01T09:30:00Z))
SELECT CAST(FLOOR(EXTRACT(EPOCH
  FROM a.created_at) / 3600) AS BIGINT) AS h, a.alert_type AS t, a.severity AS s, COUNT(*) AS n, CAST(SUM(CASE WHEN a.read_at IS NOT NULL THEN 1 ELSE 0 END) AS BIGINT) AS r, CAST(SUM(CASE WHEN a.dismissed_at IS NOT NULL THEN 1 ELSE 0 END) AS BIGINT) AS x
  FROM alerts a
  WHERE a.created_at >= $1 AND a.created_at < $2
  GROUP BY CAST(FLOOR(EXTRACT(EPOCH
  FROM a.created_at) / 3600) AS BIGINT), a.alert_type, a.severity;

-- groups (one staff member)
-- values: ChronoDateTimeUtc(Some(2026-11-01T09:30:00Z)), ChronoDateTimeUtc(Some(2026-12-01T09:30:00Z)), BigInt(Some(5))
SELECT CAST(FLOOR(EXTRACT(EPOCH
  FROM a.created_at) / 3600) AS BIGINT) AS h, a.alert_type AS t, a.severity AS s, COUNT(*) AS n, CAST(SUM(CASE WHEN a.read_at IS NOT NULL THEN 1 ELSE 0 END) AS BIGINT) AS r, CAST(SUM(CASE WHEN a.dismissed_at IS NOT NULL THEN 1 ELSE 0 END) AS BIGINT) AS x
  FROM alerts a
  WHERE a.created_at >= $1 AND a.created_at < $2 AND a.assigned_to_staff_id = $3
  GROUP BY CAST(FLOOR(EXTRACT(EPOCH
  FROM a.created_at) / 3600) AS BIGINT), a.alert_type, a.severity;

-- hourly groups
-- values: BigInt(Some(490000)), BigInt(Some(490720))
SELECT hour, alert_type AS t, severity AS s, alerts_total AS n, alerts_read AS r, alerts_dismissed AS x
  FROM alert_stats_hourly
  WHERE hour >= $1 AND hour < $2 AND alerts_total > 0;

-- latency histogram (read, everyone)
-- values: ChronoDateTimeUtc(Some(2026-11-01T09:30:00Z)), ChronoDateTimeUtc(Some(2026-12-01T09:30:00Z))
SELECT l.bucket AS bucket, COUNT(*) AS n
  FROM alert_latencies l
  WHERE l.kind = 'read' AND l.created_at >= $1 AND l.created_at < $2
  GROUP BY l.bucket
  ORDER BY l.bucket;

-- latency histogram (dismiss, one staff member)
-- values: ChronoDateTimeUtc(Some(2026-11-01T09:30:00Z)), ChronoDateTimeUtc(Some(2026-12-01T09:30:00Z)), BigInt(Some(5))
SELECT l.bucket AS bucket, COUNT(*) AS n
  FROM alert_latencies l
  WHERE l.kind = 'dismiss' AND l.created_at >= $1 AND l.created_at < $2 AND l.staff_id = $3
  GROUP BY l.bucket
  ORDER BY l.bucket;

-- read counts by staff
-- values: ChronoDateTimeUtc(Some(2026-11-01T09:30:00Z)), ChronoDateTimeUtc(Some(2026-12-01T09:30:00Z))
SELECT l.staff_id AS st, COUNT(*) AS n
  FROM alert_latencies l
  WHERE l.kind = 'read' AND l.created_at >= $1 AND l.created_at < $2
  GROUP BY l.staff_id;

-- medians
-- values: BigInt(Some(5)), BigInt(Some(5)), ChronoDateTimeUtc(Some(2026-11-01T09:30:00Z)), ChronoDateTimeUtc(Some(2026-12-01T09:30:00Z)), BigInt(Some(4)), BigInt(Some(6)), BigInt(Some(6)), ChronoDateTimeUtc(Some(2026-11-01T09:30:00Z)), ChronoDateTimeUtc(Some(2026-12-01T09:30:00Z)), BigInt(Some(0))
SELECT $1 AS st, (SELECT l.bucket
  FROM alert_latencies l
  WHERE l.kind = 'read' AND l.staff_id = $2 AND l.created_at >= $3 AND l.created_at < $4
  ORDER BY l.bucket LIMIT 1 OFFSET $5) AS median
 
  UNION ALL SELECT $6 AS st, (SELECT l.bucket
  FROM alert_latencies l
  WHERE l.kind = 'read' AND l.staff_id = $7 AND l.created_at >= $8 AND l.created_at < $9
  ORDER BY l.bucket LIMIT 1 OFFSET $10) AS median;

-- staff counts
-- values: ChronoDateTimeUtc(Some(2026-11-01T09:30:00Z)), ChronoDateTimeUtc(Some(2026-12-01T09:30:00Z))
SELECT a.assigned_to_staff_id AS st, COUNT(*) AS n
  FROM alerts a
  WHERE a.created_at >= $1 AND a.created_at < $2
  GROUP BY a.assigned_to_staff_id;

-- hourly staff counts
-- values: BigInt(Some(490000)), BigInt(Some(490720))
SELECT staff_id AS st, CAST(SUM(alerts_total) AS BIGINT) AS n
  FROM alert_stats_staff_hourly
  WHERE hour >= $1 AND hour < $2
  GROUP BY staff_id;

-- unread by staff
-- values: ChronoDateTimeUtc(Some(2026-11-01T09:30:00Z)), ChronoDateTimeUtc(Some(2026-12-01T09:30:00Z)), ChronoDateTimeUtc(Some(2026-12-01T09:30:00Z))
SELECT a.assigned_to_staff_id AS st, COUNT(*) AS n
  FROM alerts a
  WHERE a.created_at >= $1 AND a.created_at < $2 AND a.is_read = false AND a.is_dismissed = false AND (a.expires_at IS NULL OR a.expires_at > $3)
  GROUP BY a.assigned_to_staff_id;

