CREATE TABLE "instance_credentials" (
	"instance_id" uuid NOT NULL,
	"name" text NOT NULL,
	"key_id" text NOT NULL,
	"sealed" text NOT NULL,
	"version" integer DEFAULT 1 NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "instance_credentials_instance_id_name_pk" PRIMARY KEY("instance_id","name")
);
--> statement-breakpoint
ALTER TABLE "instance_credentials" ADD CONSTRAINT "instance_credentials_instance_id_service_instances_id_fk" FOREIGN KEY ("instance_id") REFERENCES "public"."service_instances"("id") ON DELETE cascade ON UPDATE no action;