ALTER TABLE "service_instances" ADD COLUMN "routed_domains" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
-- What is routed today: every verified custom domain was handed to the cluster.
UPDATE "service_instances" SET "routed_domains" = d.n FROM (SELECT "instance_id", count(*)::int AS n FROM "instance_domains" WHERE "verified_at" IS NOT NULL GROUP BY "instance_id") AS d WHERE d."instance_id" = "service_instances"."id";
