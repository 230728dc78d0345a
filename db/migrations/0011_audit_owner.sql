ALTER TABLE "audit_log" ADD COLUMN "owner_id" uuid;--> statement-breakpoint
CREATE INDEX "audit_log_owner_idx" ON "audit_log" USING btree ("owner_id","created_at","id") WHERE "audit_log"."owner_id" is not null;--> statement-breakpoint
-- Backfill: whose thing each existing entry concerns. resource_id is text (not
-- always a UUID), so the joins compare ids as text and nothing is ever cast.
-- Each step fills only rows the ones before left empty.
UPDATE "audit_log" a SET "owner_id" = u."id"
FROM "users" u
WHERE a."owner_id" IS NULL AND a."resource_type" = 'user' AND u."id"::text = a."resource_id";--> statement-breakpoint
UPDATE "audit_log" a SET "owner_id" = s."user_id"
FROM "subscriptions" s
WHERE a."owner_id" IS NULL AND a."resource_type" = 'subscription' AND s."id"::text = a."resource_id";--> statement-breakpoint
UPDATE "audit_log" a SET "owner_id" = w."user_id"
FROM "webhook_endpoints" w
WHERE a."owner_id" IS NULL AND a."resource_type" = 'webhook_endpoint' AND w."id"::text = a."resource_id";--> statement-breakpoint
UPDATE "audit_log" a SET "owner_id" = s."user_id"
FROM "service_instances" i JOIN "subscriptions" s ON s."id" = i."subscription_id"
WHERE a."owner_id" IS NULL AND a."resource_type" = 'instance' AND i."id"::text = a."resource_id";--> statement-breakpoint
-- Whatever else a customer did (e.g. on an endpoint deleted since) was on their own things.
UPDATE "audit_log" SET "owner_id" = "actor_id"
WHERE "owner_id" IS NULL AND "actor_role" = 'CUSTOMER' AND "actor_id" IS NOT NULL;
