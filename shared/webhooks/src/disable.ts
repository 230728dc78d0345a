import { type Db, webhookEndpoints } from "@minispod/db";
import { enqueueEvent, recordAudit, systemActor } from "@minispod/shared";
import { and, eq } from "drizzle-orm";

/**
 * Disables an enabled endpoint for `reason`, writes the audit row and the
 * `webhook.endpoint_disabled` event (the notifier emails the owner) in the
 * caller's transaction. Returns the event id, or undefined when the endpoint
 * was already disabled — so two racing failures email once.
 */
export async function disableEndpoint(
  tx: Db,
  input: {
    endpoint: { id: string; userId: string; url: string };
    reason: string;
    now: Date;
    source: string;
  },
): Promise<string | undefined> {
  const { endpoint, reason, now } = input;
  const [disabled] = await tx
    .update(webhookEndpoints)
    .set({ enabled: false, disabledReason: reason, disabledAt: now })
    .where(and(eq(webhookEndpoints.id, endpoint.id), eq(webhookEndpoints.enabled, true)))
    .returning({ id: webhookEndpoints.id });
  if (!disabled) return undefined;
  await recordAudit(tx, {
    actor: systemActor,
    action: "webhook.disabled",
    resourceType: "webhook_endpoint",
    resourceId: endpoint.id,
    ownerId: endpoint.userId,
    metadata: { reason, url: endpoint.url },
    at: now,
  });
  return enqueueEvent(tx, {
    type: "webhook.endpoint_disabled",
    source: input.source,
    subject: endpoint.id,
    data: { userId: endpoint.userId, endpointId: endpoint.id, url: endpoint.url, reason },
  });
}
