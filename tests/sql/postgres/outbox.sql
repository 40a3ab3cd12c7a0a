-- The delivery outbox: claiming due rows and recording outcomes.

-- claim: pick
-- values: String(Some("pending")), String(Some("failed")), String(Some("deferred")), ChronoDateTimeUtc(Some(2026-12-01T09:30:00Z)), String(Some("sending")), ChronoDateTimeUtc(Some(2026-12-01T09:30:00Z)), BigUnsigned(Some(50))
SELECT "id"
  FROM "notification_deliveries"
  WHERE ("status" IN ($1, $2, $3) AND "next_attempt_at" <= $4) OR ("status" = $5 AND "claimed_until" < $6)
  ORDER BY "next_attempt_at" ASC LIMIT $7 FOR UPDATE SKIP LOCKED;

-- claim: mark
-- values: String(Some("sending")), ChronoDateTimeUtc(Some(2026-12-01T09:32:00Z)), Int(Some(1)), ChronoDateTimeUtc(Some(2026-12-01T09:30:00Z)), BigInt(Some(1)), BigInt(Some(2)), BigInt(Some(3))
UPDATE "notification_deliveries" SET "status" = $1, "claimed_until" = $2, "attempts" = "attempts" + $3, "updated_at" = $4
  WHERE "notification_deliveries"."id" IN ($5, $6, $7);

-- sent
-- values: String(Some("sent")), ChronoDateTimeUtc(Some(2026-12-01T09:30:00Z)), ChronoDateTimeUtc(None), String(None), ChronoDateTimeUtc(Some(2026-12-01T09:30:00Z)), BigInt(Some(1)), BigInt(Some(2)), String(Some("sending"))
UPDATE "notification_deliveries" SET "status" = $1, "sent_at" = $2, "claimed_until" = $3, "last_error" = $4, "updated_at" = $5
  WHERE "notification_deliveries"."id" IN ($6, $7) AND "notification_deliveries"."status" = $8;

-- outcome
-- values: String(Some("failed")), String(Some("HTTP 503")), ChronoDateTimeUtc(Some(2026-12-01T09:30:30Z)), ChronoDateTimeUtc(None), ChronoDateTimeUtc(Some(2026-12-01T09:30:00Z)), BigInt(Some(3)), String(Some("sending"))
UPDATE "notification_deliveries" SET "status" = $1, "last_error" = $2, "next_attempt_at" = $3, "claimed_until" = $4, "updated_at" = $5
  WHERE "notification_deliveries"."id" = $6 AND "notification_deliveries"."status" = $7;

-- quiet hours and digests: defer 1
-- values: String(Some("pending")), BigInt(Some(7)), ChronoDateTimeUtc(Some(2026-12-02T05:30:00Z)), BigInt(Some(7)), ChronoDateTimeUtc(Some(2026-12-02T05:30:00Z)), String(Some("quiet_hours")), ChronoDateTimeUtc(None), Int(Some(1)), ChronoDateTimeUtc(Some(2026-12-01T09:30:00Z)), BigInt(Some(7)), String(Some("sending"))
UPDATE "notification_deliveries" SET "status" = $1, "next_attempt_at" = (CASE WHEN ("id" IN ($2)) THEN $3 ELSE "next_attempt_at" END), "deferred_until" = (CASE WHEN ("id" IN ($4)) THEN $5 ELSE "deferred_until" END), "deferred_for" = $6, "claimed_until" = $7, "attempts" = "attempts" - $8, "updated_at" = $9
  WHERE "notification_deliveries"."id" IN ($10) AND "notification_deliveries"."status" = $11;

-- quiet hours and digests: defer 2
-- values: String(Some("deferred")), BigInt(Some(8)), ChronoDateTimeUtc(Some(2026-12-01T11:00:00Z)), BigInt(Some(8)), ChronoDateTimeUtc(Some(2026-12-01T10:00:00Z)), String(Some("hourly")), ChronoDateTimeUtc(None), Int(Some(1)), ChronoDateTimeUtc(Some(2026-12-01T09:30:00Z)), BigInt(Some(8)), String(Some("sending"))
UPDATE "notification_deliveries" SET "status" = $1, "next_attempt_at" = (CASE WHEN ("id" IN ($2)) THEN $3 ELSE "next_attempt_at" END), "deferred_until" = (CASE WHEN ("id" IN ($4)) THEN $5 ELSE "deferred_until" END), "deferred_for" = $6, "claimed_until" = $7, "attempts" = "attempts" - $8, "updated_at" = $9
  WHERE "notification_deliveries"."id" IN ($10) AND "notification_deliveries"."status" = $11;

-- quiet hours and digests: defer 3
-- values: String(Some("deferred")), BigInt(Some(4)), BigInt(Some(5)), ChronoDateTimeUtc(Some(2026-12-02T06:30:00Z)), BigInt(Some(6)), ChronoDateTimeUtc(Some(2026-12-02T07:30:00Z)), BigInt(Some(4)), BigInt(Some(5)), ChronoDateTimeUtc(Some(2026-12-02T05:30:00Z)), BigInt(Some(6)), ChronoDateTimeUtc(Some(2026-12-02T06:30:00Z)), String(Some("quiet_hours")), ChronoDateTimeUtc(None), Int(Some(1)), ChronoDateTimeUtc(Some(2026-12-01T09:30:00Z)), BigInt(Some(4)), BigInt(Some(5)), BigInt(Some(6)), String(Some("sending"))
UPDATE "notification_deliveries" SET "status" = $1, "next_attempt_at" = (CASE WHEN ("id" IN ($2, $3)) THEN $4 WHEN ("id" IN ($5)) THEN $6 ELSE "next_attempt_at" END), "deferred_until" = (CASE WHEN ("id" IN ($7, $8)) THEN $9 WHEN ("id" IN ($10)) THEN $11 ELSE "deferred_until" END), "deferred_for" = $12, "claimed_until" = $13, "attempts" = "attempts" - $14, "updated_at" = $15
  WHERE "notification_deliveries"."id" IN ($16, $17, $18) AND "notification_deliveries"."status" = $19;

-- quiet hours and digests: defer 4
-- values: BigInt(Some(40)), BigInt(Some(1)), String(Some("email")), String(Some("pending")), Int(Some(0)), ChronoDateTimeUtc(Some(2026-12-02T05:30:00Z)), ChronoDateTimeUtc(Some(2026-12-02T05:30:00Z)), String(Some("quiet_hours")), ChronoDateTimeUtc(Some(2026-12-01T09:30:00Z)), ChronoDateTimeUtc(Some(2026-12-01T09:30:00Z)), BigInt(Some(60)), BigInt(Some(2)), String(Some("email")), String(Some("pending")), Int(Some(0)), ChronoDateTimeUtc(Some(2026-12-02T06:30:00Z)), ChronoDateTimeUtc(Some(2026-12-02T06:30:00Z)), String(Some("quiet_hours")), ChronoDateTimeUtc(Some(2026-12-01T09:30:00Z)), ChronoDateTimeUtc(Some(2026-12-01T09:30:00Z)), BigInt(Some(80)), BigInt(Some(4)), String(Some("email")), String(Some("pending")), Int(Some(0)), ChronoDateTimeUtc(Some(2026-12-01T10:00:00Z)), ChronoDateTimeUtc(Some(2026-12-01T10:00:00Z)), String(Some("hourly")), ChronoDateTimeUtc(Some(2026-12-01T09:30:00Z)), ChronoDateTimeUtc(Some(2026-12-01T09:30:00Z))
INSERT INTO "notification_deliveries" ("alert_id", "staff_id", "channel", "status", "attempts", "next_attempt_at", "summary_until", "deferred_for", "created_at", "updated_at") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10), ($11, $12, $13, $14, $15, $16, $17, $18, $19, $20), ($21, $22, $23, $24, $25, $26, $27, $28, $29, $30)
  ON CONFLICT ("staff_id", "channel", "summary_until") DO NOTHING;

