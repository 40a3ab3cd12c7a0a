-- The delivery outbox: claiming due rows and recording outcomes.

-- claim: pick
-- values: String(Some("pending")), String(Some("failed")), ChronoDateTime(Some(2026-12-01T09:30:00)), String(Some("sending")), ChronoDateTime(Some(2026-12-01T09:30:00)), BigUnsigned(Some(50))
SELECT `id`
  FROM `notification_deliveries`
  WHERE (`status` IN (?, ?) AND `next_attempt_at` <= ?) OR (`status` = ? AND `claimed_until` < ?)
  ORDER BY `next_attempt_at` ASC LIMIT ? FOR UPDATE SKIP LOCKED;

-- claim: mark
-- values: String(Some("sending")), ChronoDateTime(Some(2026-12-01T09:32:00)), Int(Some(1)), ChronoDateTime(Some(2026-12-01T09:30:00)), BigInt(Some(1)), BigInt(Some(2)), BigInt(Some(3))
UPDATE `notification_deliveries` SET `status` = ?, `claimed_until` = ?, `attempts` = `attempts` + ?, `updated_at` = ?
  WHERE `notification_deliveries`.`id` IN (?, ?, ?);

-- sent
-- values: String(Some("sent")), ChronoDateTime(Some(2026-12-01T09:30:00)), ChronoDateTimeUtc(None), String(None), ChronoDateTime(Some(2026-12-01T09:30:00)), BigInt(Some(1)), BigInt(Some(2)), String(Some("sending"))
UPDATE `notification_deliveries` SET `status` = ?, `sent_at` = ?, `claimed_until` = ?, `last_error` = ?, `updated_at` = ?
  WHERE `notification_deliveries`.`id` IN (?, ?) AND `notification_deliveries`.`status` = ?;

-- outcome
-- values: String(Some("failed")), String(Some("HTTP 503")), ChronoDateTime(Some(2026-12-01T09:30:30)), ChronoDateTimeUtc(None), ChronoDateTime(Some(2026-12-01T09:30:00)), BigInt(Some(3)), String(Some("sending"))
UPDATE `notification_deliveries` SET `status` = ?, `last_error` = ?, `next_attempt_at` = ?, `claimed_until` = ?, `updated_at` = ?
  WHERE `notification_deliveries`.`id` = ? AND `notification_deliveries`.`status` = ?;

