import type { BillingSettings } from "./context";

/**
 * Where a subscription's instance lives. Names derive from the subscription
 * only, so replaying an activation converges on the same cluster objects.
 */
export function instancePlacement(
  settings: BillingSettings,
  subscription: { id: string; userId: string },
  serviceSlug: string,
) {
  // DNS labels stop at 63 characters; the suffix keeps names unique per subscription.
  const objectName = `${serviceSlug.slice(0, 50)}-${subscription.id.slice(0, 8)}`.toLowerCase();
  const host = `${objectName}.${settings.clusterDomain}`;
  return {
    namespace: `${settings.namespacePrefix}${subscription.userId}`,
    objectName,
    host,
    url: `https://${host}`,
  };
}
