import { type CatalogWorkload, type Db, serviceCatalog } from "@minispod/db";
import * as v from "valibot";
import { createServiceSchema } from "./schemas";
import { insertValues, rejectWorkloadProblem } from "./services/write";

const eur = (amountMinor: number) => ({ amountMinor, currency: "EUR" });

/** Real apps with their published images, ports and data directories. */
const DEMO: v.InferInput<typeof createServiceSchema>[] = [
  {
    slug: "uptime-kuma",
    name: "Uptime Kuma",
    description:
      "Monitoring for websites and services (HTTP, TCP, DNS, ping) with status pages and alerts.",
    image: "louislam/uptime-kuma",
    imageTag: "1",
    port: 3001,
    resources: { cpu: "250m", memory: "256Mi", storage: "1Gi", storageMountPath: "/app/data" },
    price: eur(300),
  },
  {
    slug: "gitea",
    name: "Gitea",
    description: "Lightweight Git hosting with issues, pull requests, packages and CI.",
    image: "gitea/gitea",
    imageTag: "1.22",
    port: 3000,
    // Only HTTP(S) reaches an instance, so the built-in SSH server would just listen in vain.
    defaultEnv: { GITEA__server__DISABLE_SSH: "true" },
    resources: { cpu: "500m", memory: "512Mi", storage: "5Gi", storageMountPath: "/data" },
    price: eur(500),
  },
  {
    slug: "vaultwarden",
    name: "Vaultwarden",
    description:
      "Password manager server compatible with the Bitwarden apps and browser extensions.",
    image: "vaultwarden/server",
    imageTag: "1.32.0",
    // Instances run as a non-root user, which cannot bind port 80.
    port: 8080,
    defaultEnv: { ROCKET_PORT: "8080" },
    resources: { cpu: "100m", memory: "128Mi", storage: "1Gi", storageMountPath: "/data" },
    price: eur(200),
  },
  {
    slug: "n8n",
    name: "n8n",
    description: "Workflow automation: connect apps and APIs with a visual editor.",
    image: "n8nio/n8n",
    imageTag: "1.64.0",
    port: 5678,
    defaultEnv: { N8N_PORT: "5678", N8N_DIAGNOSTICS_ENABLED: "false" },
    resources: { cpu: "500m", memory: "1Gi", storage: "2Gi", storageMountPath: "/home/node/.n8n" },
    price: eur(800),
  },
  {
    slug: "excalidraw",
    name: "Excalidraw",
    description:
      "Virtual whiteboard for hand-drawn-style diagrams. Stateless: drawings live in the browser.",
    image: "excalidraw/excalidraw",
    // The project publishes no version tags; "latest" is its only stable name.
    imageTag: "latest",
    port: 80,
    resources: { cpu: "100m", memory: "64Mi" },
    price: eur(100),
    allowMultiple: true,
    scaleToZero: true,
  },
];

/**
 * How each demo image must run (the admin API does not set this yet): which
 * secrets to generate, and the one image (nginx on port 80) that needs root.
 */
const DEMO_WORKLOAD: Record<string, CatalogWorkload> = {
  "uptime-kuma": { backups: { schedule: "daily", keep: 7 } },
  gitea: {
    generatedSecrets: ["GITEA__security__SECRET_KEY", "GITEA__security__INTERNAL_TOKEN"],
    backups: { schedule: "daily", keep: 7 },
  },
  vaultwarden: {
    generatedSecrets: ["ADMIN_TOKEN"],
    // Vaultwarden's admin page asks for this token, with no user name.
    credentials: [{ secret: "ADMIN_TOKEN", label: "Admin page token", path: "/admin" }],
    // Writes only to DATA_FOLDER (its volume) and /tmp.
    readOnlyRootFilesystem: true,
    // Passwords vaults: a copy every day, two weeks of them.
    backups: { schedule: "daily", keep: 14 },
  },
  n8n: { generatedSecrets: ["N8N_ENCRYPTION_KEY"], backups: { schedule: "daily", keep: 7 } },
  excalidraw: { podSecurity: "baseline", runAsUser: null },
};

/**
 * Inserts the demo catalog; entries whose slug exists are left as they are,
 * so running it on every start is safe.
 *
 * @example
 * const { created } = await seedDemoCatalog(database.db);
 */
export async function seedDemoCatalog(db: Db): Promise<{ created: number }> {
  // Parsed like an admin's request, so the demo data obeys the same rules.
  const values = DEMO.map((entry) => {
    const input = v.parse(createServiceSchema, {
      ...entry,
      workload: DEMO_WORKLOAD[entry.slug] ?? {},
    });
    rejectWorkloadProblem(input.workload, input.defaultEnv);
    return insertValues(input);
  });
  const rows = await db
    .insert(serviceCatalog)
    .values(values)
    .onConflictDoNothing({ target: serviceCatalog.slug })
    .returning({ id: serviceCatalog.id });
  return { created: rows.length };
}
