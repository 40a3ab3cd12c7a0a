-- The delivery outbox: claiming due rows and recording outcomes.

-- claim: pick
-- values: String(Some("pending")), String(Some("failed")), String(Some("deferred")), ChronoDateTimeUtc(Some(2026-12-01T09:30:00Z)), String(Some("sending")), ChronoDateTimeUtc(Some(2026-12-01T09:30:00Z)), BigUnsigned(Some(50))
SELECT "id"
  FROM "notification_deliveries"
  WHERE ("status" IN (?, ?, ?) AND "next_attempt_at" <= ?) OR ("status" = ? AND "claimed_until" < ?)
  ORDER BY "next_attempt_at" ASC LIMIT ?;

-- claim: mark
-- values: String(Some("sending")), ChronoDateTimeUtc(Some(2026-12-01T09:32:00Z)), Int(Some(1)), ChronoDateTimeUtc(Some(2026-12-01T09:30:00Z)), BigInt(Some(1)), BigInt(Some(2)), BigInt(Some(3))
UPDATE "notification_deliveries" SET "status" = ?, "claimed_until" = ?, "attempts" = "attempts" + ?, "updated_at" = ?
  WHERE "notification_deliveries"."id" IN (?, ?, ?);

-- sent
-- values: String(Some("sent")), ChronoDateTimeUtc(Some(2026-12-01T09:30:00Z)), ChronoDateTimeUtc(None), String(None), ChronoDateTimeUtc(Some(2026-12-01T09:30:00Z)), BigInt(Some(1)), BigInt(Some(2)), String(Some("sending"))
UPDATE "notification_deliveries" SET "status" = ?, "sent_at" = ?, "claimed_until" = ?, "last_error" = ?, "updated_at" = ?
  WHERE "notification_deliveries"."id" IN (?, ?) AND "notification_deliveries"."status" = ?;

-- outcome
-- values: String(Some("failed")), String(Some("HTTP 503")), ChronoDateTimeUtc(Some(2026-12-01T09:30:30Z)), ChronoDateTimeUtc(None), ChronoDateTimeUtc(Some(2026-12-01T09:30:00Z)), BigInt(Some(3)), String(Some("sending"))
UPDATE "notification_deliveries" SET "status" = ?, "last_error" = ?, "next_attempt_at" = ?, "claimed_until" = ?, "updated_at" = ?
  WHERE "notification_deliveries"."id" = ? AND "notification_deliveries"."status" = ?;

-- quiet hours and digests: defer 1
-- values: String(Some("pending")), BigInt(Some(7)), ChronoDateTimeUtc(Some(2026-12-02T05:30:00Z)), BigInt(Some(7)), ChronoDateTimeUtc(Some(2026-12-02T05:30:00Z)), String(Some("quiet_hours")), ChronoDateTimeUtc(None), Int(Some(1)), ChronoDateTimeUtc(Some(2026-12-01T09:30:00Z)), BigInt(Some(7)), String(Some("sending"))
UPDATE "notification_deliveries" SET "status" = ?, "next_attempt_at" = (CASE WHEN ("id" IN (?)) THEN ? ELSE "next_attempt_at" END), "deferred_until" = (CASE WHEN ("id" IN (?)) THEN ? ELSE "deferred_until" END), "deferred_for" = ?, "claimed_until" = ?, "attempts" = "attempts" - ?, "updated_at" = ?
  WHERE "notification_deliveries"."id" IN (?) AND "notification_deliveries"."status" = ?;

-- quiet hours and digests: defer 2
-- values: String(Some("deferred")), BigInt(Some(8)), ChronoDateTimeUtc(Some(2026-12-01T11:00:00Z)), BigInt(Some(8)), ChronoDateTimeUtc(Some(2026-12-01T10:00:00Z)), String(Some("hourly")), ChronoDateTimeUtc(None), Int(Some(1)), ChronoDateTimeUtc(Some(2026-12-01T09:30:00Z)), BigInt(Some(8)), String(Some("sending"))
UPDATE "notification_deliveries" SET "status" = ?, "next_attempt_at" = (CASE WHEN ("id" IN (?)) THEN ? ELSE "next_attempt_at" END), "deferred_until" = (CASE WHEN ("id" IN (?)) THEN ? ELSE "deferred_until" END), "deferred_for" = ?, "claimed_until" = ?, "attempts" = "attempts" - ?, "updated_at" = ?
  WHERE "notification_deliveries"."id" IN (?) AND "notification_deliveries"."status" = ?;

-- quiet hours and digests: defer 3
-- values: String(Some("deferred")), BigInt(Some(4)), BigInt(Some(5)), ChronoDateTimeUtc(Some(2026-12-02T06:30:00Z)), BigInt(Some(6)), ChronoDateTimeUtc(Some(2026-12-02T07:30:00Z)), BigInt(Some(4)), BigInt(Some(5)), ChronoDateTimeUtc(Some(2026-12-02T05:30:00Z)), BigInt(Some(6)), ChronoDateTimeUtc(Some(2026-12-02T06:30:00Z)), String(Some("quiet_hours")), ChronoDateTimeUtc(None), Int(Some(1)), ChronoDateTimeUtc(Some(2026-12-01T09:30:00Z)), BigInt(Some(4)), BigInt(Some(5)), BigInt(Some(6)), String(Some("sending"))
UPDATE "notification_deliveries" SET "status" = ?, "next_attempt_at" = (CASE WHEN ("id" IN (?, ?)) THEN ? WHEN ("id" IN (?)) THEN ? ELSE "next_attempt_at" END), "deferred_until" = (CASE WHEN ("id" IN (?, ?)) THEN ? WHEN ("id" IN (?)) THEN ? ELSE "deferred_until" END), "deferred_for" = ?, "claimed_until" = ?, "attempts" = "attempts" - ?, "updated_at" = ?
  WHERE "notification_deliveries"."id" IN (?, ?, ?) AND "notification_deliveries"."status" = ?;

-- quiet hours and digests: defer 4
-- values: BigInt(Some(40)), BigInt(Some(1)), String(Some("email")), String(Some("pending")), Int(Some(0)), ChronoDateTimeUtc(Some(2026-12-02T05:30:00Z)), ChronoDateTimeUtc(Some(2026-12-02T05:30:00Z)), String(Some("quiet_hours")), ChronoDateTimeUtc(Some(2026-12-01T09:30:00Z)), ChronoDateTimeUtc(Some(2026-12-01T09:30:00Z)), BigInt(Some(60)), BigInt(Some(2)), String(Some("email")), String(Some("pending")), Int(Some(0)), ChronoDateTimeUtc(Some(2026-12-02T06:30:00Z)), ChronoDateTimeUtc(Some(2026-12-02T06:30:00Z)), String(Some("quiet_hours")), ChronoDateTimeUtc(Some(2026-12-01T09:30:00Z)), ChronoDateTimeUtc(Some(2026-12-01T09:30:00Z)), BigInt(Some(80)), BigInt(Some(4)), String(Some("email")), String(Some("pending")), Int(Some(0)), ChronoDateTimeUtc(Some(2026-12-01T10:00:00Z)), ChronoDateTimeUtc(Some(2026-12-01T10:00:00Z)), String(Some("hourly")), ChronoDateTimeUtc(Some(2026-12-01T09:30:00Z)), ChronoDateTimeUtc(Some(2026-12-01T09:30:00Z))
INSERT INTO "notification_deliveries" ("alert_id", "staff_id", "channel", "status", "attempts", "next_attempt_at", "summary_until", "deferred_for", "created_at", "updated_at") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
  ON CONFLICT ("staff_id", "channel", "summary_until") DO NOTHING;

