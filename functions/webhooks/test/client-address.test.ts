import { auditLog } from "@minispod/db";
import { createHarness, type Harness } from "@minispod/shared/testing";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { webhooksFunction } from "../src/function";

/**
 * The client address in the audit trail follows the deployment's proxy
 * settings in every function, not only in auth (webhooks used to count one
 * hop whatever TRUST_PROXY_HOPS said).
 */
let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(() => h.close());

const valid = { url: "https://hooks.example.com/minispod", events: ["subscription.activated"] };

async function auditedIp(overrides: Record<string, string>, forwardedFor: string) {
  const app = await h.app(webhooksFunction, overrides);
  const user = await h.user();
  const headers = { authorization: `Bearer ${user.token}`, "x-forwarded-for": forwardedFor };
  const response = await app.request("/api/v1/webhooks", {
    method: "POST",
    headers: { ...headers, "content-type": "application/json" },
    body: JSON.stringify(valid),
  });
  expect(response.status).toBe(201);
  const { id } = (await response.json()) as { id: string };
  const [row] = await h.database.db.select().from(auditLog).where(eq(auditLog.resourceId, id));
  return row?.ip;
}

describe("client address in a function's audit trail", () => {
  it("counts TRUST_PROXY_HOPS from the right", async () => {
    expect(await auditedIp({ TRUST_PROXY_HOPS: "2" }, "198.51.100.7, 203.0.113.5, 10.42.0.9")).toBe(
      "203.0.113.5",
    );
    expect(await auditedIp({ TRUST_PROXY_HOPS: "1" }, "198.51.100.7, 203.0.113.5")).toBe(
      "203.0.113.5",
    );
  });

  it("trusts no X-Forwarded-For by default (nothing in front)", async () => {
    // In-process requests have no socket peer: every spoofed value is the same unknown client.
    expect(await auditedIp({}, "198.51.100.7")).not.toBe("198.51.100.7");
  });

  it("with TRUSTED_PROXIES finds the client whatever the number of proxies", async () => {
    const trusted = { TRUSTED_PROXIES: "10.42.0.0/16,127.0.0.0/8", TRUST_PROXY_HOPS: "1" };
    expect(await auditedIp(trusted, "198.51.100.7, 203.0.113.5, 10.42.0.9")).toBe("203.0.113.5");
    expect(await auditedIp(trusted, "198.51.100.7, 203.0.113.5, 10.42.0.9, 10.42.3.1")).toBe(
      "203.0.113.5",
    );
  });
});
