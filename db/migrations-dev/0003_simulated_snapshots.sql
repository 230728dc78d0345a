-- Volumes and snapshots of the simulated cluster (local mode): backups and restores.
CREATE TABLE IF NOT EXISTS "simulated_snapshots" (
	"namespace" text NOT NULL,
	"name" text NOT NULL,
	"instance_id" uuid NOT NULL,
	"customer_id" uuid NOT NULL,
	"source_volume" text NOT NULL,
	"size_bytes" bigint NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "simulated_snapshots_namespace_name_pk" PRIMARY KEY("namespace","name")
);
--> statement-breakpoint
CREATE TABLE IF NOT EXISTS "simulated_volumes" (
	"namespace" text NOT NULL,
	"name" text NOT NULL,
	"instance_id" uuid NOT NULL,
	"customer_id" uuid NOT NULL,
	"storage" text NOT NULL,
	"data_source" text,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "simulated_volumes_namespace_name_pk" PRIMARY KEY("namespace","name")
);
--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "simulated_snapshots_instance_idx" ON "simulated_snapshots" USING btree ("instance_id");--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "simulated_volumes_instance_idx" ON "simulated_volumes" USING btree ("instance_id");