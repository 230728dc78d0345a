CREATE TYPE "public"."domain_state" AS ENUM('PENDING_VERIFICATION', 'ISSUING', 'ACTIVE', 'FAILED');--> statement-breakpoint
CREATE TABLE "instance_domains" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"instance_id" uuid NOT NULL,
	"user_id" uuid NOT NULL,
	"domain" text NOT NULL,
	"token" text NOT NULL,
	"state" "domain_state" DEFAULT 'PENDING_VERIFICATION' NOT NULL,
	"reason" text,
	"verified_at" timestamp (3) with time zone,
	"last_checked_at" timestamp (3) with time zone,
	"state_changed_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "instance_domains" ADD CONSTRAINT "instance_domains_instance_id_service_instances_id_fk" FOREIGN KEY ("instance_id") REFERENCES "public"."service_instances"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "instance_domains" ADD CONSTRAINT "instance_domains_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "instance_domains_instance_domain_uq" ON "instance_domains" USING btree ("instance_id","domain");--> statement-breakpoint
CREATE UNIQUE INDEX "instance_domains_verified_uq" ON "instance_domains" USING btree ("domain") WHERE "instance_domains"."verified_at" is not null;--> statement-breakpoint
CREATE INDEX "instance_domains_user_idx" ON "instance_domains" USING btree ("user_id","created_at");--> statement-breakpoint
CREATE INDEX "instance_domains_state_idx" ON "instance_domains" USING btree ("state");