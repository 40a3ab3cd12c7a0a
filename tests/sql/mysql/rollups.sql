-- The statistics rollups: triggers on alerts, and the backfill of an upgraded database.

-- trigger 1
CREATE TRIGGER IF NOT EXISTS trg_alerts_stats_insert AFTER INSERT ON alerts FOR EACH ROW BEGIN
INSERT INTO alert_stats_hourly (hour, alert_type, severity, alerts_total, alerts_read, alerts_dismissed) VALUES (TIMESTAMPDIFF(HOUR, '1970-01-01 00:00:00', NEW.created_at), NEW.alert_type, NEW.severity, 1, (NEW.read_at IS NOT NULL), (NEW.dismissed_at IS NOT NULL))
  ON DUPLICATE KEY UPDATE alerts_total = alerts_total + 1, alerts_read = alerts_read + VALUES(alerts_read), alerts_dismissed = alerts_dismissed + VALUES(alerts_dismissed);
INSERT INTO alert_stats_staff_hourly (staff_id, hour, alerts_total) VALUES (NEW.assigned_to_staff_id, TIMESTAMPDIFF(HOUR, '1970-01-01 00:00:00', NEW.created_at), 1)
  ON DUPLICATE KEY UPDATE alerts_total = alerts_total + 1;
IF NEW.read_at IS NOT NULL AND NEW.read_at >= NEW.created_at THEN INSERT INTO alert_latencies (alert_id, kind, staff_id, created_at, bucket) VALUES (NEW.id, 'read', NEW.assigned_to_staff_id, NEW.created_at, CAST(CASE WHEN (TIMESTAMPDIFF(MICROSECOND, NEW.created_at, NEW.read_at) / 1000000.0) < 600 THEN FLOOR(((TIMESTAMPDIFF(MICROSECOND, NEW.created_at, NEW.read_at) / 1000000.0))) WHEN (TIMESTAMPDIFF(MICROSECOND, NEW.created_at, NEW.read_at) / 1000000.0) < 36000 THEN FLOOR(((TIMESTAMPDIFF(MICROSECOND, NEW.created_at, NEW.read_at) / 1000000.0)) / 10) * 10 WHEN (TIMESTAMPDIFF(MICROSECOND, NEW.created_at, NEW.read_at) / 1000000.0) < 864000 THEN FLOOR(((TIMESTAMPDIFF(MICROSECOND, NEW.created_at, NEW.read_at) / 1000000.0)) / 300) * 300 ELSE FLOOR(((TIMESTAMPDIFF(MICROSECOND, NEW.created_at, NEW.read_at) / 1000000.0)) / 3600) * 3600 END AS SIGNED)); END IF;
IF NEW.dismissed_at IS NOT NULL AND NEW.dismissed_at >= NEW.created_at THEN INSERT INTO alert_latencies (alert_id, kind, staff_id, created_at, bucket) VALUES (NEW.id, 'dismiss', NEW.assigned_to_staff_id, NEW.created_at, CAST(CASE WHEN (TIMESTAMPDIFF(MICROSECOND, NEW.created_at, NEW.dismissed_at) / 1000000.0) < 600 THEN FLOOR(((TIMESTAMPDIFF(MICROSECOND, NEW.created_at, NEW.dismissed_at) / 1000000.0))) WHEN (TIMESTAMPDIFF(MICROSECOND, NEW.created_at, NEW.dismissed_at) / 1000000.0) < 36000 THEN FLOOR(((TIMESTAMPDIFF(MICROSECOND, NEW.created_at, NEW.dismissed_at) / 1000000.0)) / 10) * 10 WHEN (TIMESTAMPDIFF(MICROSECOND, NEW.created_at, NEW.dismissed_at) / 1000000.0) < 864000 THEN FLOOR(((TIMESTAMPDIFF(MICROSECOND, NEW.created_at, NEW.dismissed_at) / 1000000.0)) / 300) * 300 ELSE FLOOR(((TIMESTAMPDIFF(MICROSECOND, NEW.created_at, NEW.dismissed_at) / 1000000.0)) / 3600) * 3600 END AS SIGNED)); END IF;
END;

-- trigger 2
CREATE TRIGGER IF NOT EXISTS trg_alerts_stats_update AFTER UPDATE ON alerts FOR EACH ROW BEGIN
IF NOT (OLD.created_at <=> NEW.created_at AND OLD.alert_type <=> NEW.alert_type AND OLD.severity <=> NEW.severity AND OLD.assigned_to_staff_id <=> NEW.assigned_to_staff_id AND OLD.read_at <=> NEW.read_at AND OLD.dismissed_at <=> NEW.dismissed_at) THEN
UPDATE alert_stats_hourly SET alerts_total = alerts_total - 1, alerts_read = alerts_read - (OLD.read_at IS NOT NULL), alerts_dismissed = alerts_dismissed - (OLD.dismissed_at IS NOT NULL)
  WHERE hour = TIMESTAMPDIFF(HOUR, '1970-01-01 00:00:00', OLD.created_at) AND alert_type = OLD.alert_type AND severity = OLD.severity;
UPDATE alert_stats_staff_hourly SET alerts_total = alerts_total - 1
  WHERE staff_id = OLD.assigned_to_staff_id AND hour = TIMESTAMPDIFF(HOUR, '1970-01-01 00:00:00', OLD.created_at);
DELETE
  FROM alert_latencies
  WHERE alert_id = OLD.id;
INSERT INTO alert_stats_hourly (hour, alert_type, severity, alerts_total, alerts_read, alerts_dismissed) VALUES (TIMESTAMPDIFF(HOUR, '1970-01-01 00:00:00', NEW.created_at), NEW.alert_type, NEW.severity, 1, (NEW.read_at IS NOT NULL), (NEW.dismissed_at IS NOT NULL))
  ON DUPLICATE KEY UPDATE alerts_total = alerts_total + 1, alerts_read = alerts_read + VALUES(alerts_read), alerts_dismissed = alerts_dismissed + VALUES(alerts_dismissed);
INSERT INTO alert_stats_staff_hourly (staff_id, hour, alerts_total) VALUES (NEW.assigned_to_staff_id, TIMESTAMPDIFF(HOUR, '1970-01-01 00:00:00', NEW.created_at), 1)
  ON DUPLICATE KEY UPDATE alerts_total = alerts_total + 1;
IF NEW.read_at IS NOT NULL AND NEW.read_at >= NEW.created_at THEN INSERT INTO alert_latencies (alert_id, kind, staff_id, created_at, bucket) VALUES (NEW.id, 'read', NEW.assigned_to_staff_id, NEW.created_at, CAST(CASE WHEN (TIMESTAMPDIFF(MICROSECOND, NEW.created_at, NEW.read_at) / 1000000.0) < 600 THEN FLOOR(((TIMESTAMPDIFF(MICROSECOND, NEW.created_at, NEW.read_at) / 1000000.0))) WHEN (TIMESTAMPDIFF(MICROSECOND, NEW.created_at, NEW.read_at) / 1000000.0) < 36000 THEN FLOOR(((TIMESTAMPDIFF(MICROSECOND, NEW.created_at, NEW.read_at) / 1000000.0)) / 10) * 10 WHEN (TIMESTAMPDIFF(MICROSECOND, NEW.created_at, NEW.read_at) / 1000000.0) < 864000 THEN FLOOR(((TIMESTAMPDIFF(MICROSECOND, NEW.created_at, NEW.read_at) / 1000000.0)) / 300) * 300 ELSE FLOOR(((TIMESTAMPDIFF(MICROSECOND, NEW.created_at, NEW.read_at) / 1000000.0)) / 3600) * 3600 END AS SIGNED)); END IF;
IF NEW.dismissed_at IS NOT NULL AND NEW.dismissed_at >= NEW.created_at THEN INSERT INTO alert_latencies (alert_id, kind, staff_id, created_at, bucket) VALUES (NEW.id, 'dismiss', NEW.assigned_to_staff_id, NEW.created_at, CAST(CASE WHEN (TIMESTAMPDIFF(MICROSECOND, NEW.created_at, NEW.dismissed_at) / 1000000.0) < 600 THEN FLOOR(((TIMESTAMPDIFF(MICROSECOND, NEW.created_at, NEW.dismissed_at) / 1000000.0))) WHEN (TIMESTAMPDIFF(MICROSECOND, NEW.created_at, NEW.dismissed_at) / 1000000.0) < 36000 THEN FLOOR(((TIMESTAMPDIFF(MICROSECOND, NEW.created_at, NEW.dismissed_at) / 1000000.0)) / 10) * 10 WHEN (TIMESTAMPDIFF(MICROSECOND, NEW.created_at, NEW.dismissed_at) / 1000000.0) < 864000 THEN FLOOR(((TIMESTAMPDIFF(MICROSECOND, NEW.created_at, NEW.dismissed_at) / 1000000.0)) / 300) * 300 ELSE FLOOR(((TIMESTAMPDIFF(MICROSECOND, NEW.created_at, NEW.dismissed_at) / 1000000.0)) / 3600) * 3600 END AS SIGNED)); END IF;
END IF;
END;

-- trigger 3
CREATE TRIGGER IF NOT EXISTS trg_alerts_stats_delete AFTER DELETE ON alerts FOR EACH ROW BEGIN
UPDATE alert_stats_hourly SET alerts_total = alerts_total - 1, alerts_read = alerts_read - (OLD.read_at IS NOT NULL), alerts_dismissed = alerts_dismissed - (OLD.dismissed_at IS NOT NULL)
  WHERE hour = TIMESTAMPDIFF(HOUR, '1970-01-01 00:00:00', OLD.created_at) AND alert_type = OLD.alert_type AND severity = OLD.severity;
UPDATE alert_stats_staff_hourly SET alerts_total = alerts_total - 1
  WHERE staff_id = OLD.assigned_to_staff_id AND hour = TIMESTAMPDIFF(HOUR, '1970-01-01 00:00:00', OLD.created_at);
DELETE
  FROM alert_latencies
  WHERE alert_id = OLD.id;
END;

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
INSERT INTO alert_stats_hourly (hour, alert_type, severity, alerts_total, alerts_read, alerts_dismissed) SELECT TIMESTAMPDIFF(HOUR, '1970-01-01 00:00:00', created_at), alert_type, severity, COUNT(*), CAST(SUM((read_at IS NOT NULL)) AS SIGNED), CAST(SUM((dismissed_at IS NOT NULL)) AS SIGNED)
  FROM alerts
  GROUP BY TIMESTAMPDIFF(HOUR, '1970-01-01 00:00:00', created_at), alert_type, severity;

-- backfill 5
INSERT INTO alert_stats_staff_hourly (staff_id, hour, alerts_total) SELECT assigned_to_staff_id, TIMESTAMPDIFF(HOUR, '1970-01-01 00:00:00', created_at), COUNT(*)
  FROM alerts
  GROUP BY assigned_to_staff_id, TIMESTAMPDIFF(HOUR, '1970-01-01 00:00:00', created_at);

-- backfill 6
INSERT INTO alert_latencies (alert_id, kind, staff_id, created_at, bucket) SELECT id, 'read', assigned_to_staff_id, created_at, CAST(CASE WHEN (TIMESTAMPDIFF(MICROSECOND, created_at, read_at) / 1000000.0) < 600 THEN FLOOR(((TIMESTAMPDIFF(MICROSECOND, created_at, read_at) / 1000000.0))) WHEN (TIMESTAMPDIFF(MICROSECOND, created_at, read_at) / 1000000.0) < 36000 THEN FLOOR(((TIMESTAMPDIFF(MICROSECOND, created_at, read_at) / 1000000.0)) / 10) * 10 WHEN (TIMESTAMPDIFF(MICROSECOND, created_at, read_at) / 1000000.0) < 864000 THEN FLOOR(((TIMESTAMPDIFF(MICROSECOND, created_at, read_at) / 1000000.0)) / 300) * 300 ELSE FLOOR(((TIMESTAMPDIFF(MICROSECOND, created_at, read_at) / 1000000.0)) / 3600) * 3600 END AS SIGNED)
  FROM alerts
  WHERE read_at IS NOT NULL AND read_at >= created_at;

-- backfill 7
INSERT INTO alert_latencies (alert_id, kind, staff_id, created_at, bucket) SELECT id, 'dismiss', assigned_to_staff_id, created_at, CAST(CASE WHEN (TIMESTAMPDIFF(MICROSECOND, created_at, dismissed_at) / 1000000.0) < 600 THEN FLOOR(((TIMESTAMPDIFF(MICROSECOND, created_at, dismissed_at) / 1000000.0))) WHEN (TIMESTAMPDIFF(MICROSECOND, created_at, dismissed_at) / 1000000.0) < 36000 THEN FLOOR(((TIMESTAMPDIFF(MICROSECOND, created_at, dismissed_at) / 1000000.0)) / 10) * 10 WHEN (TIMESTAMPDIFF(MICROSECOND, created_at, dismissed_at) / 1000000.0) < 864000 THEN FLOOR(((TIMESTAMPDIFF(MICROSECOND, created_at, dismissed_at) / 1000000.0)) / 300) * 300 ELSE FLOOR(((TIMESTAMPDIFF(MICROSECOND, created_at, dismissed_at) / 1000000.0)) / 3600) * 3600 END AS SIGNED)
  FROM alerts
  WHERE dismissed_at IS NOT NULL AND dismissed_at >= created_at;

