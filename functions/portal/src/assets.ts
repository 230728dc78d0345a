/** The browser code the pages load: one hashed script and one hashed stylesheet. */
export interface PortalAssets {
  script: string;
  style: string;
  files: Record<string, { type: string; body: string }>;
}

/** Bundles embed the built files (scripts/build-function.mjs defines this). */
declare const __MINISPOD_PORTAL_ASSETS__: PortalAssets | undefined;

let building: Promise<PortalAssets> | undefined;

/** From the bundle when embedded, else built once with esbuild from src/client (tsx, tests). */
export function portalAssets(): Promise<PortalAssets> {
  if (typeof __MINISPOD_PORTAL_ASSETS__ !== "undefined")
    return Promise.resolve(__MINISPOD_PORTAL_ASSETS__);
  if (!building) {
    // A computed specifier: the server bundle never carries esbuild.
    const builder = new URL("../../../scripts/portal-client.mjs", import.meta.url).href;
    const portalDir = new URL("..", import.meta.url).pathname;
    building = (
      import(/* @vite-ignore */ builder) as Promise<{
        buildPortalClient(dir: string): Promise<PortalAssets>;
      }>
    ).then((m) => m.buildPortalClient(portalDir));
  }
  return building;
}
