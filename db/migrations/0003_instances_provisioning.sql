CREATE TABLE "simulated_namespaces" (
	"name" text PRIMARY KEY NOT NULL,
	"customer_id" uuid NOT NULL,
	"pod_security" text NOT NULL,
	"plans" jsonb NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "simulated_workloads" (
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
ALTER TABLE "service_catalog" ADD COLUMN "workload" jsonb DEFAULT '{}'::jsonb NOT NULL;--> statement-breakpoint
ALTER TABLE "instance_status_events" ADD COLUMN "seq" bigint NOT NULL GENERATED ALWAYS AS IDENTITY (sequence name "instance_status_events_seq_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1);--> statement-breakpoint
ALTER TABLE "service_instances" ADD COLUMN "status_changed_at" timestamp (3) with time zone DEFAULT now() NOT NULL;--> statement-breakpoint
CREATE INDEX "simulated_workloads_namespace_idx" ON "simulated_workloads" USING btree ("namespace");