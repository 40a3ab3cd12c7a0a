-- The delivery outbox: claiming due rows and recording outcomes.

-- claim: pick
-- values: String(Some("pending")), String(Some("failed")), ChronoDateTimeUtc(Some(2026-12-01T09:30:00Z)), String(Some("sending")), ChronoDateTimeUtc(Some(2026-12-01T09:30:00Z)), BigUnsigned(Some(50))
SELECT "id"
  FROM "notification_deliveries"
  WHERE ("status" IN ($1, $2) AND "next_attempt_at" <= $3) OR ("status" = $4 AND "claimed_until" < $5)
  ORDER BY "next_attempt_at" ASC LIMIT $6 FOR UPDATE SKIP LOCKED;

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

