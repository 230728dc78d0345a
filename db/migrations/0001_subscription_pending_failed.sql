-- Hand-edited from drizzle-kit's output. drizzle applies pending migrations in one
-- transaction, and PostgreSQL refuses a value added by ALTER TYPE ... ADD VALUE until
-- that transaction commits, yet the partial index below names 'PENDING'. So the enum
-- is recreated (a type created in the same transaction is usable at once).
DROP INDEX "subscriptions_one_live_per_service_uq";--> statement-breakpoint
ALTER TYPE "public"."subscription_status" RENAME TO "subscription_status_old";--> statement-breakpoint
CREATE TYPE "public"."subscription_status" AS ENUM('PENDING', 'ACTIVE', 'PAST_DUE', 'EXPIRED', 'CANCELLED', 'FAILED');--> statement-breakpoint
ALTER TABLE "subscriptions" ALTER COLUMN "status" SET DATA TYPE "public"."subscription_status" USING "status"::text::"public"."subscription_status";--> statement-breakpoint
DROP TYPE "public"."subscription_status_old";--> statement-breakpoint
CREATE SEQUENCE "public"."invoice_number_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1;--> statement-breakpoint
CREATE UNIQUE INDEX "subscriptions_one_live_per_service_uq" ON "subscriptions" USING btree ("user_id","service_id") WHERE "subscriptions"."exclusive" and "subscriptions"."status" in ('PENDING', 'ACTIVE', 'PAST_DUE');
