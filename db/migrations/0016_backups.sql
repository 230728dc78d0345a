CREATE TYPE "public"."backup_kind" AS ENUM('SCHEDULED', 'ON_DEMAND');--> statement-breakpoint
CREATE TYPE "public"."backup_status" AS ENUM('PENDING', 'IN_PROGRESS', 'READY', 'FAILED', 'DELETING', 'DELETED');--> statement-breakpoint
CREATE TYPE "public"."restore_status" AS ENUM('PENDING', 'DONE', 'FAILED');--> statement-breakpoint
CREATE TYPE "public"."restore_target" AS ENUM('SAME_INSTANCE', 'NEW_INSTANCE');--> statement-breakpoint
CREATE TABLE "backup_restores" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"backup_id" uuid NOT NULL,
	"target_instance_id" uuid NOT NULL,
	"target" "restore_target" NOT NULL,
	"status" "restore_status" DEFAULT 'PENDING' NOT NULL,
	"error" text,
	"finished_at" timestamp (3) with time zone,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "backups" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"instance_id" uuid NOT NULL,
	"user_id" uuid NOT NULL,
	"kind" "backup_kind" NOT NULL,
	"status" "backup_status" DEFAULT 'PENDING' NOT NULL,
	"snapshot_name" text NOT NULL,
	"volume_generation" integer DEFAULT 0 NOT NULL,
	"size_bytes" bigint,
	"error" text,
	"retain_until" timestamp (3) with time zone,
	"ready_at" timestamp (3) with time zone,
	"deleted_at" timestamp (3) with time zone,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "backups_size_nonneg" CHECK ("backups"."size_bytes" is null or "backups"."size_bytes" >= 0)
);
--> statement-breakpoint
CREATE TABLE "instance_volumes" (
	"instance_id" uuid PRIMARY KEY NOT NULL,
	"generation" integer DEFAULT 0 NOT NULL,
	"source_snapshot" text,
	"previous_generation" integer,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "backup_restores" ADD CONSTRAINT "backup_restores_backup_id_backups_id_fk" FOREIGN KEY ("backup_id") REFERENCES "public"."backups"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "backup_restores" ADD CONSTRAINT "backup_restores_target_instance_id_service_instances_id_fk" FOREIGN KEY ("target_instance_id") REFERENCES "public"."service_instances"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "backups" ADD CONSTRAINT "backups_instance_id_service_instances_id_fk" FOREIGN KEY ("instance_id") REFERENCES "public"."service_instances"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "backups" ADD CONSTRAINT "backups_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "instance_volumes" ADD CONSTRAINT "instance_volumes_instance_id_service_instances_id_fk" FOREIGN KEY ("instance_id") REFERENCES "public"."service_instances"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "backup_restores_backup_idx" ON "backup_restores" USING btree ("backup_id");--> statement-breakpoint
CREATE UNIQUE INDEX "backup_restores_one_pending_uq" ON "backup_restores" USING btree ("target_instance_id") WHERE "backup_restores"."status" = 'PENDING';--> statement-breakpoint
CREATE UNIQUE INDEX "backups_snapshot_name_uq" ON "backups" USING btree ("snapshot_name");--> statement-breakpoint
CREATE INDEX "backups_instance_idx" ON "backups" USING btree ("instance_id","created_at");--> statement-breakpoint
CREATE INDEX "backups_user_idx" ON "backups" USING btree ("user_id","created_at");--> statement-breakpoint
CREATE INDEX "backups_status_idx" ON "backups" USING btree ("status");