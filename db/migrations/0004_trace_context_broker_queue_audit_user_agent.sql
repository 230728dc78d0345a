CREATE TABLE "local_broker_deliveries" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"trigger" text NOT NULL,
	"event_id" text NOT NULL,
	"source" text NOT NULL,
	"event" jsonb NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"next_attempt_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"last_error" text,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "outbox_events" ADD COLUMN "traceparent" text;--> statement-breakpoint
ALTER TABLE "audit_log" ADD COLUMN "user_agent" text;--> statement-breakpoint
CREATE UNIQUE INDEX "local_broker_deliveries_trigger_event_idx" ON "local_broker_deliveries" USING btree ("trigger","source","event_id");--> statement-breakpoint
CREATE INDEX "local_broker_deliveries_due_idx" ON "local_broker_deliveries" USING btree ("next_attempt_at");