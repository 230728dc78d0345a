ALTER TABLE "outbox_events" ADD COLUMN "traceparent" text;--> statement-breakpoint
ALTER TABLE "audit_log" ADD COLUMN "user_agent" text;