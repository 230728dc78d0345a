-- Tables of local mode only (the local broker's queue, the simulated cluster).
-- IF NOT EXISTS: local data folders made before this set existed already hold them.
CREATE TABLE IF NOT EXISTS "local_broker_deliveries" (
	"id" uuid PRIMARY KEY DEFAULT uuidv7() NOT NULL,
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
CREATE TABLE IF NOT EXISTS "simulated_namespaces" (
	"name" text PRIMARY KEY NOT NULL,
	"customer_id" uuid NOT NULL,
	"pod_security" text NOT NULL,
	"plans" jsonb NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE IF NOT EXISTS "simulated_workloads" (
	"instance_id" uuid PRIMARY KEY NOT NULL,
	"customer_id" uuid NOT NULL,
	"namespace" text NOT NULL,
	"name" text NOT NULL,
	"host" text NOT NULL,
	"app" jsonb NOT NULL,
	"replicas" integer NOT NULL,
	"generation" integer DEFAULT 1 NOT NULL,
	"rollout_started_at" timestamp (3) with time zone NOT NULL,
	"fault" text,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX IF NOT EXISTS "local_broker_deliveries_trigger_event_idx" ON "local_broker_deliveries" USING btree ("trigger","source","event_id");--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "local_broker_deliveries_due_idx" ON "local_broker_deliveries" USING btree ("next_attempt_at");--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "simulated_workloads_namespace_idx" ON "simulated_workloads" USING btree ("namespace");