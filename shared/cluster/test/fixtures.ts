import type { AppSpec } from "../src/port";

/**
 * The demo catalog (functions/catalog/src/seed.ts) as the provisioner hands
 * it to the port. Repeated here because a shared package must not import a
 * function; the cluster tests prove every one of them is accepted.
 */
export const demoApps: AppSpec[] = [
  {
    slug: "uptime-kuma",
    image: "louislam/uptime-kuma",
    imageTag: "1",
    port: 3001,
    resources: { cpu: "250m", memory: "256Mi", storage: "1Gi", storageMountPath: "/app/data" },
  },
  {
    slug: "gitea",
    image: "gitea/gitea",
    imageTag: "1.22",
    port: 3000,
    env: { GITEA__server__DISABLE_SSH: "true" },
    resources: { cpu: "500m", memory: "512Mi", storage: "5Gi", storageMountPath: "/data" },
    generatedSecrets: ["GITEA__security__SECRET_KEY", "GITEA__security__INTERNAL_TOKEN"],
  },
  {
    slug: "vaultwarden",
    image: "vaultwarden/server",
    imageTag: "1.32.0",
    port: 80,
    env: { ROCKET_PORT: "8080" },
    resources: { cpu: "100m", memory: "128Mi", storage: "1Gi", storageMountPath: "/data" },
    generatedSecrets: ["ADMIN_TOKEN"],
  },
  {
    slug: "n8n",
    image: "n8nio/n8n",
    imageTag: "1.64.0",
    port: 5678,
    env: { N8N_PORT: "5678", N8N_DIAGNOSTICS_ENABLED: "false" },
    resources: { cpu: "500m", memory: "1Gi", storage: "2Gi", storageMountPath: "/home/node/.n8n" },
    generatedSecrets: ["N8N_ENCRYPTION_KEY"],
  },
  {
    slug: "excalidraw",
    image: "excalidraw/excalidraw",
    imageTag: "latest",
    port: 80,
    // nginx binds port 80 as root: the one demo app that needs the baseline level.
    runAsUser: null,
    podSecurity: "baseline",
    resources: { cpu: "100m", memory: "64Mi" },
  },
];

export const statelessApp: AppSpec = {
  slug: "whoami",
  image: "traefik/whoami",
  imageTag: "v1.10",
  port: 8080,
  probe: { path: "/health" },
  resources: { cpu: "50m", memory: "32Mi" },
};
