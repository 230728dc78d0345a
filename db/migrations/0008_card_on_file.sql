DROP INDEX "subscriptions_renewal_due_idx";--> statement-breakpoint
DROP INDEX "subscriptions_expiry_due_idx";--> statement-breakpoint
ALTER TABLE "subscriptions" ADD COLUMN "card_on_file" boolean DEFAULT true NOT NULL;--> statement-breakpoint
CREATE INDEX "subscriptions_renewal_due_idx" ON "subscriptions" USING btree ("current_period_end") WHERE "subscriptions"."status" = 'ACTIVE' and "subscriptions"."auto_renew" and "subscriptions"."card_on_file";--> statement-breakpoint
CREATE INDEX "subscriptions_expiry_due_idx" ON "subscriptions" USING btree ("current_period_end") WHERE "subscriptions"."status" in ('ACTIVE', 'PAST_DUE') and (not "subscriptions"."auto_renew" or not "subscriptions"."card_on_file");