import { instanceObjects } from "@minispod/cluster";
import type { BillingSettings } from "./context";

/**
 * Where an instance lives: the very names the provisioner gives its cluster
 * objects (`@minispod/cluster`), so the URL a customer sees at activation is
 * the one the app answers at once it runs.
 */
export function instancePlacement(
  settings: BillingSettings,
  ref: { customerId: string; instanceId: string },
) {
  const objects = instanceObjects(settings, ref);
  return {
    namespace: objects.namespace,
    objectName: objects.name,
    host: objects.host,
    url: objects.url,
  };
}
