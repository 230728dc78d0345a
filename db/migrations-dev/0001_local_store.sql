-- The store behind local mode's revocation marks (Redis holds them where configured).
CREATE TABLE IF NOT EXISTS "local_store_entries" (
	"key" text PRIMARY KEY NOT NULL,
	"value" text NOT NULL,
	"expires_at" timestamp (3) with time zone
);
