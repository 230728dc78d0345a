/** The portal's browser code, built in memory (portal-client.mjs). */
export function buildPortalClient(portalDir: string): Promise<{
  script: string;
  style: string;
  files: Record<string, { type: string; body: string }>;
}>;
