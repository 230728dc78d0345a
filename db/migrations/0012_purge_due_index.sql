-- The purge's claim (EXPIRED, not purged, expired before the retention cutoff,
-- oldest first) had no index but a seq scan of every subscription, and a sort of
-- every candidate, per batch: it grew with all the subscriptions that ever ended.
-- Purged rows leave this partial index, so it holds only the retention window.
-- A plain CREATE INDEX: it reads the table once and holds writes meanwhile
-- (seconds for millions of rows); its entries are few.
CREATE INDEX "subscriptions_purge_due_idx" ON "subscriptions" USING btree ("expired_at") WHERE "subscriptions"."status" = 'EXPIRED' and "subscriptions"."purged_at" is null;
