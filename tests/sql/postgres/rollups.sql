-- The statistics rollups: triggers on alerts, and the backfill of an upgraded database.

-- trigger 1
CREATE OR REPLACE FUNCTION alerts_stats_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
INSERT INTO alert_stats_hourly (hour, alert_type, severity, alerts_total, alerts_read, alerts_dismissed) SELECT CAST(FLOOR(EXTRACT(EPOCH
  FROM t.created_at) / 3600) AS BIGINT), t.alert_type, t.severity, SUM(t.s), SUM(t.s * CAST(t.read_at IS NOT NULL AS INTEGER)), SUM(t.s * CAST(t.dismissed_at IS NOT NULL AS INTEGER))
  FROM (SELECT n.*, 1 AS s
  FROM new_rows n) t
  GROUP BY 1, 2, 3
  ORDER BY 1, 2, 3
  ON CONFLICT (hour, alert_type, severity) DO UPDATE SET alerts_total = alert_stats_hourly.alerts_total + excluded.alerts_total, alerts_read = alert_stats_hourly.alerts_read + excluded.alerts_read, alerts_dismissed = alert_stats_hourly.alerts_dismissed + excluded.alerts_dismissed;
INSERT INTO alert_stats_staff_hourly (staff_id, hour, alerts_total) SELECT t.assigned_to_staff_id, CAST(FLOOR(EXTRACT(EPOCH
  FROM t.created_at) / 3600) AS BIGINT), SUM(t.s)
  FROM (SELECT n.*, 1 AS s
  FROM new_rows n) t
  GROUP BY 1, 2
  ORDER BY 1, 2
  ON CONFLICT (staff_id, hour) DO UPDATE SET alerts_total = alert_stats_staff_hourly.alerts_total + excluded.alerts_total;
INSERT INTO alert_latencies (alert_id, kind, staff_id, created_at, bucket) SELECT t.id, 'read', t.assigned_to_staff_id, t.created_at, CAST(CASE WHEN EXTRACT(EPOCH
  FROM (t.read_at - t.created_at))::float8 < 600 THEN FLOOR((EXTRACT(EPOCH
  FROM (t.read_at - t.created_at))::float8)) WHEN EXTRACT(EPOCH
  FROM (t.read_at - t.created_at))::float8 < 36000 THEN FLOOR((EXTRACT(EPOCH
  FROM (t.read_at - t.created_at))::float8) / 10) * 10 WHEN EXTRACT(EPOCH
  FROM (t.read_at - t.created_at))::float8 < 864000 THEN FLOOR((EXTRACT(EPOCH
  FROM (t.read_at - t.created_at))::float8) / 300) * 300 ELSE FLOOR((EXTRACT(EPOCH
  FROM (t.read_at - t.created_at))::float8) / 3600) * 3600 END AS BIGINT)
  FROM (SELECT n.*, 1 AS s
  FROM new_rows n) t
  WHERE t.read_at IS NOT NULL AND t.read_at >= t.created_at;
INSERT INTO alert_latencies (alert_id, kind, staff_id, created_at, bucket) SELECT t.id, 'dismiss', t.assigned_to_staff_id, t.created_at, CAST(CASE WHEN EXTRACT(EPOCH
  FROM (t.dismissed_at - t.created_at))::float8 < 600 THEN FLOOR((EXTRACT(EPOCH
  FROM (t.dismissed_at - t.created_at))::float8)) WHEN EXTRACT(EPOCH
  FROM (t.dismissed_at - t.created_at))::float8 < 36000 THEN FLOOR((EXTRACT(EPOCH
  FROM (t.dismissed_at - t.created_at))::float8) / 10) * 10 WHEN EXTRACT(EPOCH
  FROM (t.dismissed_at - t.created_at))::float8 < 864000 THEN FLOOR((EXTRACT(EPOCH
  FROM (t.dismissed_at - t.created_at))::float8) / 300) * 300 ELSE FLOOR((EXTRACT(EPOCH
  FROM (t.dismissed_at - t.created_at))::float8) / 3600) * 3600 END AS BIGINT)
  FROM (SELECT n.*, 1 AS s
  FROM new_rows n) t
  WHERE t.dismissed_at IS NOT NULL AND t.dismissed_at >= t.created_at;
RETURN NULL;
END $$;

-- trigger 2
CREATE OR REPLACE TRIGGER trg_alerts_stats_insert AFTER INSERT ON alerts REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION alerts_stats_insert();

-- trigger 3
CREATE OR REPLACE FUNCTION alerts_stats_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
INSERT INTO alert_stats_hourly (hour, alert_type, severity, alerts_total, alerts_read, alerts_dismissed) SELECT CAST(FLOOR(EXTRACT(EPOCH
  FROM t.created_at) / 3600) AS BIGINT), t.alert_type, t.severity, SUM(t.s), SUM(t.s * CAST(t.read_at IS NOT NULL AS INTEGER)), SUM(t.s * CAST(t.dismissed_at IS NOT NULL AS INTEGER))
  FROM (SELECT o.*, -1 AS s
  FROM old_rows o) t
  GROUP BY 1, 2, 3
  ORDER BY 1, 2, 3
  ON CONFLICT (hour, alert_type, severity) DO UPDATE SET alerts_total = alert_stats_hourly.alerts_total + excluded.alerts_total, alerts_read = alert_stats_hourly.alerts_read + excluded.alerts_read, alerts_dismissed = alert_stats_hourly.alerts_dismissed + excluded.alerts_dismissed;
INSERT INTO alert_stats_staff_hourly (staff_id, hour, alerts_total) SELECT t.assigned_to_staff_id, CAST(FLOOR(EXTRACT(EPOCH
  FROM t.created_at) / 3600) AS BIGINT), SUM(t.s)
  FROM (SELECT o.*, -1 AS s
  FROM old_rows o) t
  GROUP BY 1, 2
  ORDER BY 1, 2
  ON CONFLICT (staff_id, hour) DO UPDATE SET alerts_total = alert_stats_staff_hourly.alerts_total + excluded.alerts_total;
DELETE
  FROM alert_latencies
  WHERE alert_id IN (SELECT t.id
  FROM (SELECT o.*, -1 AS s
  FROM old_rows o) t);
RETURN NULL;
END $$;

-- trigger 4
CREATE OR REPLACE TRIGGER trg_alerts_stats_delete AFTER DELETE ON alerts REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION alerts_stats_delete();

-- trigger 5
CREATE OR REPLACE FUNCTION alerts_stats_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
IF NOT EXISTS (SELECT id, created_at, alert_type, severity, assigned_to_staff_id, read_at, dismissed_at
  FROM old_rows EXCEPT ALL SELECT id, created_at, alert_type, severity, assigned_to_staff_id, read_at, dismissed_at
  FROM new_rows) THEN RETURN NULL; END IF;
INSERT INTO alert_stats_hourly (hour, alert_type, severity, alerts_total, alerts_read, alerts_dismissed) SELECT CAST(FLOOR(EXTRACT(EPOCH
  FROM t.created_at) / 3600) AS BIGINT), t.alert_type, t.severity, SUM(t.s), SUM(t.s * CAST(t.read_at IS NOT NULL AS INTEGER)), SUM(t.s * CAST(t.dismissed_at IS NOT NULL AS INTEGER))
  FROM (SELECT o.*, -1 AS s
  FROM old_rows o
  JOIN new_rows n ON n.id = o.id
  WHERE (o.created_at, o.alert_type, o.severity, o.assigned_to_staff_id, o.read_at, o.dismissed_at) IS DISTINCT
  FROM (n.created_at, n.alert_type, n.severity, n.assigned_to_staff_id, n.read_at, n.dismissed_at)
 
  UNION ALL SELECT n.*, 1 AS s
  FROM old_rows o
  JOIN new_rows n ON n.id = o.id
  WHERE (o.created_at, o.alert_type, o.severity, o.assigned_to_staff_id, o.read_at, o.dismissed_at) IS DISTINCT
  FROM (n.created_at, n.alert_type, n.severity, n.assigned_to_staff_id, n.read_at, n.dismissed_at)) t
  GROUP BY 1, 2, 3
  ORDER BY 1, 2, 3
  ON CONFLICT (hour, alert_type, severity) DO UPDATE SET alerts_total = alert_stats_hourly.alerts_total + excluded.alerts_total, alerts_read = alert_stats_hourly.alerts_read + excluded.alerts_read, alerts_dismissed = alert_stats_hourly.alerts_dismissed + excluded.alerts_dismissed;
INSERT INTO alert_stats_staff_hourly (staff_id, hour, alerts_total) SELECT t.assigned_to_staff_id, CAST(FLOOR(EXTRACT(EPOCH
  FROM t.created_at) / 3600) AS BIGINT), SUM(t.s)
  FROM (SELECT o.*, -1 AS s
  FROM old_rows o
  JOIN new_rows n ON n.id = o.id
  WHERE (o.created_at, o.alert_type, o.severity, o.assigned_to_staff_id, o.read_at, o.dismissed_at) IS DISTINCT
  FROM (n.created_at, n.alert_type, n.severity, n.assigned_to_staff_id, n.read_at, n.dismissed_at)
 
  UNION ALL SELECT n.*, 1 AS s
  FROM old_rows o
  JOIN new_rows n ON n.id = o.id
  WHERE (o.created_at, o.alert_type, o.severity, o.assigned_to_staff_id, o.read_at, o.dismissed_at) IS DISTINCT
  FROM (n.created_at, n.alert_type, n.severity, n.assigned_to_staff_id, n.read_at, n.dismissed_at)) t
  GROUP BY 1, 2
  ORDER BY 1, 2
  ON CONFLICT (staff_id, hour) DO UPDATE SET alerts_total = alert_stats_staff_hourly.alerts_total + excluded.alerts_total;
DELETE
  FROM alert_latencies
  WHERE alert_id IN (SELECT t.id
  FROM (SELECT o.*, -1 AS s
  FROM old_rows o
  JOIN new_rows n ON n.id = o.id
  WHERE (o.created_at, o.alert_type, o.severity, o.assigned_to_staff_id, o.read_at, o.dismissed_at) IS DISTINCT
  FROM (n.created_at, n.alert_type, n.severity, n.assigned_to_staff_id, n.read_at, n.dismissed_at)) t);
INSERT INTO alert_latencies (alert_id, kind, staff_id, created_at, bucket) SELECT t.id, 'read', t.assigned_to_staff_id, t.created_at, CAST(CASE WHEN EXTRACT(EPOCH
  FROM (t.read_at - t.created_at))::float8 < 600 THEN FLOOR((EXTRACT(EPOCH
  FROM (t.read_at - t.created_at))::float8)) WHEN EXTRACT(EPOCH
  FROM (t.read_at - t.created_at))::float8 < 36000 THEN FLOOR((EXTRACT(EPOCH
  FROM (t.read_at - t.created_at))::float8) / 10) * 10 WHEN EXTRACT(EPOCH
  FROM (t.read_at - t.created_at))::float8 < 864000 THEN FLOOR((EXTRACT(EPOCH
  FROM (t.read_at - t.created_at))::float8) / 300) * 300 ELSE FLOOR((EXTRACT(EPOCH
  FROM (t.read_at - t.created_at))::float8) / 3600) * 3600 END AS BIGINT)
  FROM (SELECT n.*, 1 AS s
  FROM old_rows o
  JOIN new_rows n ON n.id = o.id
  WHERE (o.created_at, o.alert_type, o.severity, o.assigned_to_staff_id, o.read_at, o.dismissed_at) IS DISTINCT
  FROM (n.created_at, n.alert_type, n.severity, n.assigned_to_staff_id, n.read_at, n.dismissed_at)) t
  WHERE t.read_at IS NOT NULL AND t.read_at >= t.created_at;
INSERT INTO alert_latencies (alert_id, kind, staff_id, created_at, bucket) SELECT t.id, 'dismiss', t.assigned_to_staff_id, t.created_at, CAST(CASE WHEN EXTRACT(EPOCH
  FROM (t.dismissed_at - t.created_at))::float8 < 600 THEN FLOOR((EXTRACT(EPOCH
  FROM (t.dismissed_at - t.created_at))::float8)) WHEN EXTRACT(EPOCH
  FROM (t.dismissed_at - t.created_at))::float8 < 36000 THEN FLOOR((EXTRACT(EPOCH
  FROM (t.dismissed_at - t.created_at))::float8) / 10) * 10 WHEN EXTRACT(EPOCH
  FROM (t.dismissed_at - t.created_at))::float8 < 864000 THEN FLOOR((EXTRACT(EPOCH
  FROM (t.dismissed_at - t.created_at))::float8) / 300) * 300 ELSE FLOOR((EXTRACT(EPOCH
  FROM (t.dismissed_at - t.created_at))::float8) / 3600) * 3600 END AS BIGINT)
  FROM (SELECT n.*, 1 AS s
  FROM old_rows o
  JOIN new_rows n ON n.id = o.id
  WHERE (o.created_at, o.alert_type, o.severity, o.assigned_to_staff_id, o.read_at, o.dismissed_at) IS DISTINCT
  FROM (n.created_at, n.alert_type, n.severity, n.assigned_to_staff_id, n.read_at, n.dismissed_at)) t
  WHERE t.dismissed_at IS NOT NULL AND t.dismissed_at >= t.created_at;
RETURN NULL;
END $$;

-- trigger 6
CREATE OR REPLACE TRIGGER trg_alerts_stats_update AFTER UPDATE ON alerts REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION alerts_stats_update();

-- backfill 1
DELETE
  FROM alert_stats_hourly;

-- backfill 2
DELETE
  FROM alert_stats_staff_hourly;

-- backfill 3
DELETE
  FROM alert_latencies;

-- backfill 4
INSERT INTO alert_stats_hourly (hour, alert_type, severity, alerts_total, alerts_read, alerts_dismissed) SELECT CAST(FLOOR(EXTRACT(EPOCH
  FROM created_at) / 3600) AS BIGINT), alert_type, severity, COUNT(*), CAST(SUM(CAST(read_at IS NOT NULL AS INTEGER)) AS BIGINT), CAST(SUM(CAST(dismissed_at IS NOT NULL AS INTEGER)) AS BIGINT)
  FROM alerts
  GROUP BY CAST(FLOOR(EXTRACT(EPOCH
  FROM created_at) / 3600) AS BIGINT), alert_type, severity;

-- backfill 5
INSERT INTO alert_stats_staff_hourly (staff_id, hour, alerts_total) SELECT assigned_to_staff_id, CAST(FLOOR(EXTRACT(EPOCH
  FROM created_at) / 3600) AS BIGINT), COUNT(*)
  FROM alerts
  GROUP BY assigned_to_staff_id, CAST(FLOOR(EXTRACT(EPOCH
  FROM created_at) / 3600) AS BIGINT);

-- backfill 6
INSERT INTO alert_latencies (alert_id, kind, staff_id, created_at, bucket) SELECT id, 'read', assigned_to_staff_id, created_at, CAST(CASE WHEN EXTRACT(EPOCH
  FROM (read_at - created_at))::float8 < 600 THEN FLOOR((EXTRACT(EPOCH
  FROM (read_at - created_at))::float8)) WHEN EXTRACT(EPOCH
  FROM (read_at - created_at))::float8 < 36000 THEN FLOOR((EXTRACT(EPOCH
  FROM (read_at - created_at))::float8) / 10) * 10 WHEN EXTRACT(EPOCH
  FROM (read_at - created_at))::float8 < 864000 THEN FLOOR((EXTRACT(EPOCH
  FROM (read_at - created_at))::float8) / 300) * 300 ELSE FLOOR((EXTRACT(EPOCH
  FROM (read_at - created_at))::float8) / 3600) * 3600 END AS BIGINT)
  FROM alerts
  WHERE read_at IS NOT NULL AND read_at >= created_at;

-- backfill 7
INSERT INTO alert_latencies (alert_id, kind, staff_id, created_at, bucket) SELECT id, 'dismiss', assigned_to_staff_id, created_at, CAST(CASE WHEN EXTRACT(EPOCH
  FROM (dismissed_at - created_at))::float8 < 600 THEN FLOOR((EXTRACT(EPOCH
  FROM (dismissed_at - created_at))::float8)) WHEN EXTRACT(EPOCH
  FROM (dismissed_at - created_at))::float8 < 36000 THEN FLOOR((EXTRACT(EPOCH
  FROM (dismissed_at - created_at))::float8) / 10) * 10 WHEN EXTRACT(EPOCH
  FROM (dismissed_at - created_at))::float8 < 864000 THEN FLOOR((EXTRACT(EPOCH
  FROM (dismissed_at - created_at))::float8) / 300) * 300 ELSE FLOOR((EXTRACT(EPOCH
  FROM (dismissed_at - created_at))::float8) / 3600) * 3600 END AS BIGINT)
  FROM alerts
  WHERE dismissed_at IS NOT NULL AND dismissed_at >= created_at;

