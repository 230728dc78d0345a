import { execFile } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import openapiTS, { astToString } from "openapi-typescript";
import { describe, expect, it } from "vitest";
import { localJourney } from "./support/journey";

/**
 * An SDK user's view of the API: a client generated from the merged document
 * by third-party tools (openapi-typescript + openapi-fetch) compiles a paid
 * journey under `tsc --strict --noUncheckedIndexedAccess` with no casts, and
 * the journey runs against the local runner.
 */
const api = localJourney("consumer");
const scripts = join(import.meta.dirname, "..");
const root = join(scripts, "..");
const source = join(scripts, "consumer/journey.ts");

describe("a client generated from the API document", () => {
  it("compiles the journey strictly, with no cast, and drives it on the local runner", async () => {
    const document = await (await api.runner.app.request("/openapi.json")).json();
    // Under node_modules, so `openapi-fetch` resolves from the generated client's folder.
    const cache = join(scripts, "node_modules/.cache");
    mkdirSync(cache, { recursive: true });
    const dir = mkdtempSync(join(cache, "consumer-"));
    writeFileSync(join(dir, "api.d.ts"), astToString(await openapiTS(document)));
    copyFileSync(source, join(dir, "journey.ts"));
    writeFileSync(
      join(dir, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          noUncheckedIndexedAccess: true,
          noEmit: true,
          target: "ES2022",
          module: "ESNext",
          moduleResolution: "Bundler",
          lib: ["ES2022", "DOM"],
          skipLibCheck: false,
          types: [],
        },
        files: ["journey.ts"],
      }),
    );
    const tsc = join(root, "node_modules/typescript/bin/tsc");
    const compiled = await promisify(execFile)(process.execPath, [tsc, "-p", dir])
      .then(
        () => "",
        (error: { stdout?: string }) => error.stdout ?? String(error),
      )
      .finally(() => rmSync(dir, { recursive: true, force: true }));
    expect(compiled).toBe("");

    // No escape hatches in the journey itself.
    const text = readFileSync(source, "utf8")
      .replace(/\/\*[\s\S]*?\*\//g, "")
      .replace(/\/\/.*$/gm, "");
    expect(text).not.toMatch(/\bas\s+(?!const\b)[A-Za-z{[]|@ts-expect-error|@ts-ignore|\bany\b/);

    const { journey } = (await import(pathToFileURL(source).href)) as {
      journey: (
        fetch: (request: Request) => Promise<Response>,
        email: string,
      ) => Promise<Record<string, unknown>>;
    };
    const result = await journey(
      async (request) => api.runner.app.request(request),
      `consumer-${Date.now()}@example.com`,
    );
    const subscription = result.subscription as { id: string };
    expect(result.declined).toMatchObject({
      code: "PAYMENT_DECLINED",
      declineCode: "card_declined",
      invoiceId: expect.any(String),
      paymentId: expect.any(String),
    });
    expect(result.location).toBe(`/api/v1/subscriptions/${subscription.id}`);
    expect(result.replayed).toBe("true");
    expect(result.conflict).toEqual({
      code: "CONFLICT",
      subscriptionId: subscription.id,
      subscriptionStatus: "ACTIVE",
    });
  }, 180_000);
});
