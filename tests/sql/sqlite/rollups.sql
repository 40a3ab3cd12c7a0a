-- The statistics rollups: triggers on alerts, and the backfill of an upgraded database.

-- trigger 1
CREATE TRIGGER IF NOT EXISTS trg_alerts_stats_insert AFTER INSERT ON alerts BEGIN
INSERT INTO alert_stats_hourly (hour, alert_type, severity, alerts_total, alerts_read, alerts_dismissed) VALUES ((CAST(strftime('%s', NEW.created_at) AS INTEGER) / 3600), NEW.alert_type, NEW.severity, 1, (NEW.read_at IS NOT NULL), (NEW.dismissed_at IS NOT NULL))
  ON CONFLICT (hour, alert_type, severity) DO UPDATE SET alerts_total = alert_stats_hourly.alerts_total + 1, alerts_read = alert_stats_hourly.alerts_read + excluded.alerts_read, alerts_dismissed = alert_stats_hourly.alerts_dismissed + excluded.alerts_dismissed;
INSERT INTO alert_stats_staff_hourly (staff_id, hour, alerts_total) VALUES (NEW.assigned_to_staff_id, (CAST(strftime('%s', NEW.created_at) AS INTEGER) / 3600), 1)
  ON CONFLICT (staff_id, hour) DO UPDATE SET alerts_total = alert_stats_staff_hourly.alerts_total + 1;
INSERT INTO alert_latencies (alert_id, kind, staff_id, created_at, bucket) SELECT NEW.id, 'read', NEW.assigned_to_staff_id, NEW.created_at, CAST(CASE WHEN round((julianday(NEW.read_at) - julianday(NEW.created_at)) * 86400.0, 3) < 600 THEN CAST((round((julianday(NEW.read_at) - julianday(NEW.created_at)) * 86400.0, 3)) AS INTEGER) WHEN round((julianday(NEW.read_at) - julianday(NEW.created_at)) * 86400.0, 3) < 36000 THEN CAST((round((julianday(NEW.read_at) - julianday(NEW.created_at)) * 86400.0, 3)) / 10 AS INTEGER) * 10 WHEN round((julianday(NEW.read_at) - julianday(NEW.created_at)) * 86400.0, 3) < 864000 THEN CAST((round((julianday(NEW.read_at) - julianday(NEW.created_at)) * 86400.0, 3)) / 300 AS INTEGER) * 300 ELSE CAST((round((julianday(NEW.read_at) - julianday(NEW.created_at)) * 86400.0, 3)) / 3600 AS INTEGER) * 3600 END AS INTEGER)
  WHERE NEW.read_at IS NOT NULL AND NEW.read_at >= NEW.created_at;
INSERT INTO alert_latencies (alert_id, kind, staff_id, created_at, bucket) SELECT NEW.id, 'dismiss', NEW.assigned_to_staff_id, NEW.created_at, CAST(CASE WHEN round((julianday(NEW.dismissed_at) - julianday(NEW.created_at)) * 86400.0, 3) < 600 THEN CAST((round((julianday(NEW.dismissed_at) - julianday(NEW.created_at)) * 86400.0, 3)) AS INTEGER) WHEN round((julianday(NEW.dismissed_at) - julianday(NEW.created_at)) * 86400.0, 3) < 36000 THEN CAST((round((julianday(NEW.dismissed_at) - julianday(NEW.created_at)) * 86400.0, 3)) / 10 AS INTEGER) * 10 WHEN round((julianday(NEW.dismissed_at) - julianday(NEW.created_at)) * 86400.0, 3) < 864000 THEN CAST((round((julianday(NEW.dismissed_at) - julianday(NEW.created_at)) * 86400.0, 3)) / 300 AS INTEGER) * 300 ELSE CAST((round((julianday(NEW.dismissed_at) - julianday(NEW.created_at)) * 86400.0, 3)) / 3600 AS INTEGER) * 3600 END AS INTEGER)
  WHERE NEW.dismissed_at IS NOT NULL AND NEW.dismissed_at >= NEW.created_at;
END;

-- trigger 2
CREATE TRIGGER IF NOT EXISTS trg_alerts_stats_update AFTER UPDATE OF created_at, alert_type, severity, assigned_to_staff_id, read_at, dismissed_at ON alerts BEGIN
UPDATE alert_stats_hourly SET alerts_total = alerts_total - 1, alerts_read = alerts_read - (OLD.read_at IS NOT NULL), alerts_dismissed = alerts_dismissed - (OLD.dismissed_at IS NOT NULL)
  WHERE hour = (CAST(strftime('%s', OLD.created_at) AS INTEGER) / 3600) AND alert_type = OLD.alert_type AND severity = OLD.severity;
UPDATE alert_stats_staff_hourly SET alerts_total = alerts_total - 1
  WHERE staff_id = OLD.assigned_to_staff_id AND hour = (CAST(strftime('%s', OLD.created_at) AS INTEGER) / 3600);
DELETE
  FROM alert_latencies
  WHERE alert_id = OLD.id;
INSERT INTO alert_stats_hourly (hour, alert_type, severity, alerts_total, alerts_read, alerts_dismissed) VALUES ((CAST(strftime('%s', NEW.created_at) AS INTEGER) / 3600), NEW.alert_type, NEW.severity, 1, (NEW.read_at IS NOT NULL), (NEW.dismissed_at IS NOT NULL))
  ON CONFLICT (hour, alert_type, severity) DO UPDATE SET alerts_total = alert_stats_hourly.alerts_total + 1, alerts_read = alert_stats_hourly.alerts_read + excluded.alerts_read, alerts_dismissed = alert_stats_hourly.alerts_dismissed + excluded.alerts_dismissed;
INSERT INTO alert_stats_staff_hourly (staff_id, hour, alerts_total) VALUES (NEW.assigned_to_staff_id, (CAST(strftime('%s', NEW.created_at) AS INTEGER) / 3600), 1)
  ON CONFLICT (staff_id, hour) DO UPDATE SET alerts_total = alert_stats_staff_hourly.alerts_total + 1;
INSERT INTO alert_latencies (alert_id, kind, staff_id, created_at, bucket) SELECT NEW.id, 'read', NEW.assigned_to_staff_id, NEW.created_at, CAST(CASE WHEN round((julianday(NEW.read_at) - julianday(NEW.created_at)) * 86400.0, 3) < 600 THEN CAST((round((julianday(NEW.read_at) - julianday(NEW.created_at)) * 86400.0, 3)) AS INTEGER) WHEN round((julianday(NEW.read_at) - julianday(NEW.created_at)) * 86400.0, 3) < 36000 THEN CAST((round((julianday(NEW.read_at) - julianday(NEW.created_at)) * 86400.0, 3)) / 10 AS INTEGER) * 10 WHEN round((julianday(NEW.read_at) - julianday(NEW.created_at)) * 86400.0, 3) < 864000 THEN CAST((round((julianday(NEW.read_at) - julianday(NEW.created_at)) * 86400.0, 3)) / 300 AS INTEGER) * 300 ELSE CAST((round((julianday(NEW.read_at) - julianday(NEW.created_at)) * 86400.0, 3)) / 3600 AS INTEGER) * 3600 END AS INTEGER)
  WHERE NEW.read_at IS NOT NULL AND NEW.read_at >= NEW.created_at;
INSERT INTO alert_latencies (alert_id, kind, staff_id, created_at, bucket) SELECT NEW.id, 'dismiss', NEW.assigned_to_staff_id, NEW.created_at, CAST(CASE WHEN round((julianday(NEW.dismissed_at) - julianday(NEW.created_at)) * 86400.0, 3) < 600 THEN CAST((round((julianday(NEW.dismissed_at) - julianday(NEW.created_at)) * 86400.0, 3)) AS INTEGER) WHEN round((julianday(NEW.dismissed_at) - julianday(NEW.created_at)) * 86400.0, 3) < 36000 THEN CAST((round((julianday(NEW.dismissed_at) - julianday(NEW.created_at)) * 86400.0, 3)) / 10 AS INTEGER) * 10 WHEN round((julianday(NEW.dismissed_at) - julianday(NEW.created_at)) * 86400.0, 3) < 864000 THEN CAST((round((julianday(NEW.dismissed_at) - julianday(NEW.created_at)) * 86400.0, 3)) / 300 AS INTEGER) * 300 ELSE CAST((round((julianday(NEW.dismissed_at) - julianday(NEW.created_at)) * 86400.0, 3)) / 3600 AS INTEGER) * 3600 END AS INTEGER)
  WHERE NEW.dismissed_at IS NOT NULL AND NEW.dismissed_at >= NEW.created_at;
END;

-- trigger 3
CREATE TRIGGER IF NOT EXISTS trg_alerts_stats_delete AFTER DELETE ON alerts BEGIN
UPDATE alert_stats_hourly SET alerts_total = alerts_total - 1, alerts_read = alerts_read - (OLD.read_at IS NOT NULL), alerts_dismissed = alerts_dismissed - (OLD.dismissed_at IS NOT NULL)
  WHERE hour = (CAST(strftime('%s', OLD.created_at) AS INTEGER) / 3600) AND alert_type = OLD.alert_type AND severity = OLD.severity;
UPDATE alert_stats_staff_hourly SET alerts_total = alerts_total - 1
  WHERE staff_id = OLD.assigned_to_staff_id AND hour = (CAST(strftime('%s', OLD.created_at) AS INTEGER) / 3600);
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
INSERT INTO alert_stats_hourly (hour, alert_type, severity, alerts_total, alerts_read, alerts_dismissed) SELECT (CAST(strftime('%s', created_at) AS INTEGER) / 3600), alert_type, severity, COUNT(*), CAST(SUM((read_at IS NOT NULL)) AS INTEGER), CAST(SUM((dismissed_at IS NOT NULL)) AS INTEGER)
  FROM alerts
  GROUP BY (CAST(strftime('%s', created_at) AS INTEGER) / 3600), alert_type, severity;

-- backfill 5
INSERT INTO alert_stats_staff_hourly (staff_id, hour, alerts_total) SELECT assigned_to_staff_id, (CAST(strftime('%s', created_at) AS INTEGER) / 3600), COUNT(*)
  FROM alerts
  GROUP BY assigned_to_staff_id, (CAST(strftime('%s', created_at) AS INTEGER) / 3600);

-- backfill 6
INSERT INTO alert_latencies (alert_id, kind, staff_id, created_at, bucket) SELECT id, 'read', assigned_to_staff_id, created_at, CAST(CASE WHEN round((julianday(read_at) - julianday(created_at)) * 86400.0, 3) < 600 THEN CAST((round((julianday(read_at) - julianday(created_at)) * 86400.0, 3)) AS INTEGER) WHEN round((julianday(read_at) - julianday(created_at)) * 86400.0, 3) < 36000 THEN CAST((round((julianday(read_at) - julianday(created_at)) * 86400.0, 3)) / 10 AS INTEGER) * 10 WHEN round((julianday(read_at) - julianday(created_at)) * 86400.0, 3) < 864000 THEN CAST((round((julianday(read_at) - julianday(created_at)) * 86400.0, 3)) / 300 AS INTEGER) * 300 ELSE CAST((round((julianday(read_at) - julianday(created_at)) * 86400.0, 3)) / 3600 AS INTEGER) * 3600 END AS INTEGER)
  FROM alerts
  WHERE read_at IS NOT NULL AND read_at >= created_at;

-- backfill 7
INSERT INTO alert_latencies (alert_id, kind, staff_id, created_at, bucket) SELECT id, 'dismiss', assigned_to_staff_id, created_at, CAST(CASE WHEN round((julianday(dismissed_at) - julianday(created_at)) * 86400.0, 3) < 600 THEN CAST((round((julianday(dismissed_at) - julianday(created_at)) * 86400.0, 3)) AS INTEGER) WHEN round((julianday(dismissed_at) - julianday(created_at)) * 86400.0, 3) < 36000 THEN CAST((round((julianday(dismissed_at) - julianday(created_at)) * 86400.0, 3)) / 10 AS INTEGER) * 10 WHEN round((julianday(dismissed_at) - julianday(created_at)) * 86400.0, 3) < 864000 THEN CAST((round((julianday(dismissed_at) - julianday(created_at)) * 86400.0, 3)) / 300 AS INTEGER) * 300 ELSE CAST((round((julianday(dismissed_at) - julianday(created_at)) * 86400.0, 3)) / 3600 AS INTEGER) * 3600 END AS INTEGER)
  FROM alerts
  WHERE dismissed_at IS NOT NULL AND dismissed_at >= created_at;

