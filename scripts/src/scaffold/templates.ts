/** The names one function folder is written with. */
export interface FunctionNames {
  /** Folder, Knative Service and definition name: `kebab-case`. */
  name: string;
  /** `camelCase`, for values (`<camel>Function`, `<camel>EnvSchema`). */
  camel: string;
  /** `PascalCase`, for types (`<Pascal>Env`, `<Pascal>Deps`). */
  pascal: string;
  /** Gets the example public route `GET /api/v1/<name>`. */
  isPublic: boolean;
}

export function namesOf(name: string, isPublic: boolean): FunctionNames {
  const camel = name.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
  return { name, camel, pascal: camel[0]!.toUpperCase() + camel.slice(1), isPublic };
}

/** The pins a function's package.json shares with the others. */
export interface Pins {
  hono: string;
  valibot: string;
  vitest: string;
}

export function packageJson(n: FunctionNames, pins: Pins): string {
  const pkg = {
    name: `@minispod/fn-${n.name}`,
    private: true,
    type: "module",
    exports: { ".": "./src/function.ts" },
    scripts: {
      build: "node ../../scripts/build-function.mjs",
      typecheck: "tsc --noEmit",
      lint: "biome check .",
      test: "vitest run",
      start: "tsx src/main.ts",
    },
    dependencies: { "@minispod/shared": "*", hono: pins.hono, valibot: pins.valibot },
    devDependencies: { vitest: pins.vitest },
  };
  return `${JSON.stringify(pkg, null, 2)}\n`;
}

export const tsconfigJson = `{
  "extends": "../../tsconfig.base.json",
  "include": ["src", "test", "*.ts"]
}
`;

export const vitestConfig = (
  n: FunctionNames,
) => `import { projectConfig } from "../../vitest.shared.ts";

export default projectConfig("${n.name}");
`;

export const envTs = (n: FunctionNames) => `import { baseEnvEntries } from "@minispod/shared";
import * as v from "valibot";

/**
 * ${n.name}'s environment: the variables every function reads. Add its own
 * here (\`envField\` from @minispod/shared), in README.md and in .env.example;
 * nothing else reads process.env.
 */
export const ${n.camel}EnvSchema = v.object({
  ...baseEnvEntries,
});
export type ${n.pascal}Env = v.InferOutput<typeof ${n.camel}EnvSchema>;
`;

export const depsTs = (
  n: FunctionNames,
) => `import type { FunctionContext } from "@minispod/shared";
import type { ${n.pascal}Env } from "./env";

/** What the function is built from: \`main.ts\` makes it once, tests make their own. */
export type ${n.pascal}Deps = FunctionContext<${n.pascal}Env>;
`;

export const functionTs = (
  n: FunctionNames,
) => `import type { FunctionDefinition } from "@minispod/shared";
import { createApp } from "./app";
import { type ${n.pascal}Env, ${n.camel}EnvSchema } from "./env";

/** ${n.name}: ${n.isPublic ? `the \`/api/v1/${n.name}\` API` : "a cluster-local function (no public route)"}. */
export const ${n.camel}Function: FunctionDefinition<${n.pascal}Env> = {
  name: "${n.name}",
  routes: [${n.isPublic ? `"/api/v1/${n.name}"` : ""}],
  envSchema: ${n.camel}EnvSchema,
  create: (ctx) => createApp(ctx),
};
`;

export const mainTs = (n: FunctionNames) => `import { runStandalone } from "@minispod/shared";
import { ${n.camel}Function } from "./function";

await runStandalone(${n.camel}Function, process.env);
`;

export function appTs(n: FunctionNames): string {
  if (!n.isPublic)
    return `import { baseApp } from "@minispod/shared";
import type { ${n.pascal}Deps } from "./deps";

/**
 * The shared base app: health, metrics, request ids, problem+json errors.
 * Mount the function's routers here: event consumers at \`/events\`
 * (\`eventRoutes\`), cron jobs at \`/cron\` (\`cronRoutes\`), one file each in
 * src/routes/.
 */
export function createApp(deps: ${n.pascal}Deps) {
  return baseApp(deps);
}
`;
  return `import { baseApp } from "@minispod/shared";
import type { ${n.pascal}Deps } from "./deps";
import { ${n.camel}Routes } from "./routes/${n.name}";

/** The shared base app plus one \`app.route()\` per resource file in src/routes/. */
export function createApp(deps: ${n.pascal}Deps) {
  const app = baseApp(deps);
  app.route("/api/v1/${n.name}", ${n.camel}Routes(deps));
  return app;
}
`;
}

/** \`src/routes/<name>.ts\` of a public function: one example route, signed-in callers only. */
export const routeTs = (
  n: FunctionNames,
) => `import { type AppEnv, actorOf, queryParams, requireAuth } from "@minispod/shared";
import { Hono } from "hono";
import * as v from "valibot";
import type { ${n.pascal}Deps } from "../deps";
import { notes } from "./openapi";

const greetingQuery = v.object({
  /** Who to greet; the caller's role when absent. */
  name: v.optional(v.pipe(v.string(), v.minLength(1), v.maxLength(64))),
});

/** \`/api/v1/${n.name}\`: an example route; replace it with the function's own. */
export function ${n.camel}Routes(deps: ${n.pascal}Deps) {
  return new Hono<AppEnv>()
    .use(requireAuth(deps.verifier))
    .get("/", notes.get, queryParams(greetingQuery), (c) => {
      const actor = actorOf(c);
      const name = c.req.valid("query").name ?? actor.role.toLowerCase();
      return c.json({ greeting: \`Hello, \${name}\`, userId: actor.id });
    });
}
`;

export const openapiTs = (
  n: FunctionNames,
) => `import { describeRoute, named } from "@minispod/shared";
import * as v from "valibot";

/** The OpenAPI notes of the ${n.name} routes (checked against every answer under test). */
const greetingSchema = named(
  "${n.pascal}Greeting",
  v.object({ greeting: v.string(), userId: v.pipe(v.string(), v.uuid()) }),
);

export const notes = {
  get: describeRoute({
    id: "${n.camel}.get",
    summary: "Greet the signed-in caller",
    response: { schema: greetingSchema },
    errors: [],
  }),
};
`;

export function testTs(n: FunctionNames): string {
  if (!n.isPublic)
    return `import type { AppEnv } from "@minispod/shared";
import { createHarness, type Harness } from "@minispod/shared/testing";
import type { Hono } from "hono";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ${n.camel}Function } from "../src/function";

let h: Harness;
let app: Hono<AppEnv>;
beforeAll(async () => {
  h = await createHarness();
  app = await h.app(${n.camel}Function);
});
afterAll(() => h.close());

describe("${n.name}", () => {
  it("answers its health checks", async () => {
    const live = await app.request("/health/liveness");
    expect(live.status).toBe(200);
    expect(await live.json()).toEqual({ status: "ok" });
    expect((await app.request("/health/readiness")).status).toBe(200);
  });

  it("declares no public route and serves none", async () => {
    expect(${n.camel}Function.routes).toEqual([]);
    const res = await app.request("/api/v1/${n.name}", { headers: h.bearer(await h.user()) });
    expect(res.status).toBe(404);
  });
});
`;
  return `import type { AppEnv } from "@minispod/shared";
import { createHarness, type Harness, runRouteSecurityTests } from "@minispod/shared/testing";
import type { Hono } from "hono";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ${n.camel}Function } from "../src/function";

let h: Harness;
let app: Hono<AppEnv>;
beforeAll(async () => {
  h = await createHarness();
  app = await h.app(${n.camel}Function);
});
afterAll(() => h.close());

const get = async (query: string, user?: { token: string }) =>
  app.request(\`/api/v1/${n.name}\${query}\`, { headers: user ? h.bearer(user) : {} });

describe("GET /api/v1/${n.name}", () => {
  it("greets the signed-in caller by name, or by role", async () => {
    const customer = await h.user();
    const named = await get("?name=Ada", customer);
    expect(named.status).toBe(200);
    expect(await named.json()).toEqual({ greeting: "Hello, Ada", userId: customer.id });
    const admin = await h.user({ role: "ADMIN" });
    expect(await (await get("", admin)).json()).toEqual({
      greeting: "Hello, admin",
      userId: admin.id,
    });
  });

  it("refuses an empty or too long name", async () => {
    const user = await h.user();
    for (const query of ["?name=", \`?name=\${"x".repeat(65)}\`]) {
      const res = await get(query, user);
      expect(res.status).toBe(400);
      expect(((await res.json()) as { code: string }).code).toBe("VALIDATION_FAILED");
    }
  });
});

// Missing, malformed, expired and forged tokens: 401.
runRouteSecurityTests(() => ({ app, harness: h }), { method: "GET", path: "/api/v1/${n.name}" });
`;
}

/** A Markdown table with its columns padded, as the formatter leaves it. */
function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(3, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(" | ")} |`;
  return [line(rows[0]!), line(widths.map((w) => "-".repeat(w))), ...rows.slice(1).map(line)].join(
    "\n",
  );
}

export const readme = (n: FunctionNames) => `# ${n.name}

What the function does, in a sentence or two. Knative Service \`${n.name}\`
(\`knative/base/functions/${n.name}.yaml\`)${n.isPublic ? `, reached at \`https://<API_HOST>/api/v1/${n.name}\`` : ", cluster-local: only its Triggers and PingSources call it"}.
Written by \`npm run new:function\` (docs/adding-a-function.md).

## Routes

${table([
  ["route", "who", "does"],
  n.isPublic
    ? [`\`GET /api/v1/${n.name}?name=\``, "any signed-in user", "example: `{greeting, userId}`"]
    : ["`GET /health/liveness`, `/metrics`", "the cluster", "health and metrics (every function)"],
])}

## Events

Consumed: none. Emitted: none.

## Environment

The common ones (\`DATABASE_URL\`, \`JWT_PUBLIC_KEY\`, …); its own: none yet.
`;

/** \`knative/base/functions/<name>.yaml\`: the Knative Service, hardened like the others. */
export const serviceYaml = (
  n: FunctionNames,
) => `# ${n.name}: ${n.isPublic ? `/api/v1/${n.name}, through the public IngressRoute (api-ingress.yaml)` : "cluster-local, called only by its Triggers and PingSources"};
# see functions/${n.name}/README.md. Its Triggers and PingSources go below this Service.
apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: ${n.name}
  labels:
    app.kubernetes.io/part-of: minispod
${n.isPublic ? "" : "    networking.knative.dev/visibility: cluster-local\n"}spec:
  template:
    metadata:
      annotations:
        autoscaling.knative.dev/min-scale: "0"
        # Each replica may open DATABASE_POOL_MAX connections: the overlays' budget counts it.
        autoscaling.knative.dev/max-scale: "${n.isPublic ? 5 : 2}"
${n.isPublic ? '        autoscaling.knative.dev/target: "50"\n' : ""}    spec:
${n.isPublic ? "      containerConcurrency: 50\n" : ""}      containers:
        - name: ${n.name}
          image: minispod/fn-${n.name}
          ports:
            - containerPort: 8080
          envFrom:
            - configMapRef: { name: minispod-config }
          env:
            - name: DATABASE_URL
              valueFrom: { secretKeyRef: { name: minispod-secrets, key: DATABASE_URL } }
${n.isPublic ? "            - name: REDIS_URL\n              valueFrom: { secretKeyRef: { name: minispod-secrets, key: REDIS_URL } }\n" : ""}            - name: JWT_PUBLIC_KEY
              valueFrom: { secretKeyRef: { name: minispod-secrets, key: JWT_PUBLIC_KEY } }
          readinessProbe:
            httpGet: { path: /health/readiness }
          livenessProbe:
            httpGet: { path: /health/liveness }
          resources:
            requests: { cpu: 25m, memory: 64Mi }
            limits: { memory: 256Mi }
          securityContext:
            runAsNonRoot: true
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: true
            capabilities: { drop: [ALL] }
            seccompProfile: { type: RuntimeDefault }
`;

/** The IngressRoute rule of a public function (inserted before the route table's \`tls:\`). */
export const ingressRule = (n: FunctionNames, host: string) => `    - kind: Rule
      match: Host(\`${host}\`) && PathPrefix(\`/api/v1/${n.name}\`)
      middlewares: [{ name: host-${n.name} }]
      services: [{ name: ${n.name}, port: 80 }]
`;

/** Its Host-rewrite Middleware (appended to api-ingress.yaml). */
export const ingressMiddleware = (n: FunctionNames) => `---
apiVersion: traefik.io/v1alpha1
kind: Middleware
metadata:
  name: host-${n.name}
spec:
  headers:
    customRequestHeaders: { Host: ${n.name}.minispod.svc.cluster.local }
`;

export const envExampleSection = (n: FunctionNames) => {
  const head = `# --- ${n.name} `;
  return `${head}${"-".repeat(Math.max(3, 84 - head.length))}
# (none of its own yet: add each variable to functions/${n.name}/src/env.ts and here)

`;
};
