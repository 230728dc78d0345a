CREATE TABLE "subscription_reminders" (
	"subscription_id" uuid NOT NULL,
	"period_end" timestamp (3) with time zone NOT NULL,
	"days_before" integer NOT NULL,
	"sent_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "subscription_reminders_subscription_id_period_end_days_before_pk" PRIMARY KEY("subscription_id","period_end","days_before")
);
--> statement-breakpoint
ALTER TABLE "subscriptions" ADD COLUMN "purged_at" timestamp (3) with time zone;--> statement-breakpoint
ALTER TABLE "subscription_reminders" ADD CONSTRAINT "subscription_reminders_subscription_id_subscriptions_id_fk" FOREIGN KEY ("subscription_id") REFERENCES "public"."subscriptions"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "idempotency_keys_created_idx" ON "idempotency_keys" USING btree ("created_at");--> statement-breakpoint
CREATE INDEX "subscriptions_renewal_due_idx" ON "subscriptions" USING btree ("current_period_end") WHERE "subscriptions"."status" = 'ACTIVE' and "subscriptions"."auto_renew";--> statement-breakpoint
CREATE INDEX "subscriptions_expiry_due_idx" ON "subscriptions" USING btree ("current_period_end") WHERE "subscriptions"."status" in ('ACTIVE', 'PAST_DUE') and not "subscriptions"."auto_renew";--> statement-breakpoint
CREATE INDEX "subscriptions_past_due_retry_idx" ON "subscriptions" USING btree ("next_renewal_attempt_at") WHERE "subscriptions"."status" = 'PAST_DUE';