CREATE TABLE "invoice_number_series" (
	"series" text PRIMARY KEY NOT NULL,
	"last_number" bigint NOT NULL
);
--> statement-breakpoint
ALTER TABLE "subscriptions" ADD COLUMN "cancel_at_period_end" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "subscriptions" ADD COLUMN "payment_method" text;--> statement-breakpoint
-- Each year's series continues after the highest number the sequence issued in it.
INSERT INTO "invoice_number_series" ("series", "last_number")
SELECT substring("number" from '^(INV-[0-9]{4})-'), max(substring("number" from '-([0-9]+)$')::bigint)
FROM "invoices" WHERE "number" ~ '^INV-[0-9]{4}-[0-9]+$' GROUP BY 1;--> statement-breakpoint
DROP SEQUENCE "public"."invoice_number_seq";