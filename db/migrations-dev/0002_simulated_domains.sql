-- Custom domains routed on the simulated cluster (local mode).
CREATE TABLE IF NOT EXISTS "simulated_domains" (
	"instance_id" uuid NOT NULL,
	"customer_id" uuid NOT NULL,
	"domain" text NOT NULL,
	"requested_at" timestamp (3) with time zone NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "simulated_domains_instance_id_domain_pk" PRIMARY KEY("instance_id","domain")
);
