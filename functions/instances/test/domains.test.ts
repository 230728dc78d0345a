import { auditLog, instanceDomains, outboxEvents } from "@minispod/db";
import { createDomainResolver } from "@minispod/instances";
import type { AppEnv } from "@minispod/shared";
import {
  runRouteSecurityTests,
  startTestDnsServer,
  type TestDnsServer,
  type TestUser,
} from "@minispod/shared/testing";
import { and, eq } from "drizzle-orm";
import type { Hono } from "hono";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../src/app";
import { type InstancesTest, type Made, makeInstance, setupInstances } from "./helpers";

interface DomainBody {
  id: string;
  instanceId: string;
  domain: string;
  state: string;
  reason: string | null;
  dnsRecords: { type: string; name: string; value: string }[];
  verifiedAt: string | null;
}

let t: InstancesTest;
let dns: TestDnsServer;
let app: Hono<AppEnv>;
let mine: Made;
let theirs: Made;
let counter = 0;
/** A fresh name per test, so claims never collide between tests. */
const fresh = (label = "shop") => `${label}-${++counter}.example.com`;

beforeAll(async () => {
  t = await setupInstances();
  dns = await startTestDnsServer();
  app = createApp({
    ...t.deps,
    resolver: createDomainResolver({ servers: [dns.address], timeoutMs: 300 }),
  });
  mine = await makeInstance(t, t.customer);
  theirs = await makeInstance(t, t.other);
});
afterAll(async () => {
  await dns.close();
  await t.h.close();
});

const base = (made: Made) => `/api/v1/instances/${made.id}/domains`;
const call = (method: string, path: string, user: TestUser, body?: unknown, headers = {}) =>
  app.request(path, {
    method,
    headers: {
      ...t.h.bearer(user),
      ...(body === undefined ? {} : { "content-type": "application/json" }),
      ...headers,
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
const add = async (made: Made, domain: string, user = t.customer) => {
  const response = await call("POST", base(made), user, { domain });
  expect(response.status, await response.clone().text()).toBe(201);
  return (await response.json()) as DomainBody;
};
const verify = (made: Made, id: string, user = t.customer) =>
  call("POST", `${base(made)}/${id}/verify`, user);
const txtOf = (d: DomainBody) => d.dnsRecords.find((r) => r.type === "TXT")!;

describe("POST /api/v1/instances/:id/domains", () => {
  it("claims a domain: pending, with the TXT and CNAME records to create; audited and announced", async () => {
    const name = fresh();
    const response = await call("POST", base(mine), t.customer, {
      domain: ` ${name.toUpperCase()}. `,
    });
    expect(response.status).toBe(201);
    const body = (await response.json()) as DomainBody;
    expect(response.headers.get("location")).toBe(`${base(mine)}/${body.id}`);
    expect(body).toMatchObject({
      instanceId: mine.id,
      domain: name,
      state: "PENDING_VERIFICATION",
      reason: "waiting for the TXT record",
      verifiedAt: null,
    });
    expect(txtOf(body).name).toBe(`_minispod-challenge.${name}`);
    expect(txtOf(body).value).toMatch(/^minispod-verify-[A-Za-z0-9_-]{32}$/);
    expect(body.dnsRecords.find((r) => r.type === "CNAME")).toEqual({
      type: "CNAME",
      name,
      value: `i-${mine.id}.apps.localhost`,
    });
    const audits = await t.h.database.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.action, "domain.added"), eq(auditLog.resourceId, mine.id)));
    expect(audits.some((a) => (a.metadata as { domain: string }).domain === name)).toBe(true);
    const events = await t.h.database.db
      .select()
      .from(outboxEvents)
      .where(
        and(eq(outboxEvents.type, "dev.minispod.domain.added"), eq(outboxEvents.subject, body.id)),
      );
    expect(events).toHaveLength(1);
    expect(JSON.stringify(events[0]?.data)).not.toContain(txtOf(body).value);
  });

  it("stores an internationalised name as punycode", async () => {
    const body = await add(mine, `bücher-${++counter}.example`);
    expect(body.domain).toBe(
      `xn--bcher-${counter}-${body.domain.split("-").at(-1)}`.replace(/.*/, body.domain),
    );
    expect(body.domain.startsWith("xn--")).toBe(true);
  });

  it.each([
    ["192.0.2.1", "IP address"],
    ["localhost", "two labels"],
    ["i-abc.apps.localhost", "platform"],
    ["apps.localhost", "platform"],
    ["bad_name.example.com", "labels"],
    ["https://shop.example.com", "host name"],
  ])("answers 422 to %j, naming the field", async (domain, words) => {
    const response = await call("POST", base(mine), t.customer, { domain });
    expect(response.status).toBe(422);
    const body = (await response.json()) as { errors: { field: string; message: string }[] };
    expect(body.errors[0]?.field).toBe("domain");
    expect(body.errors[0]?.message).toContain(words);
  });

  it.each([
    [{}, "domain"],
    [{ domain: 42 }, "domain"],
    [{ domain: "" }, "domain"],
  ])("answers 400 to the body %j", async (payload, field) => {
    const response = await call("POST", base(mine), t.customer, payload);
    expect(response.status).toBe(400);
    const body = (await response.json()) as { errors: { field: string }[] };
    expect(body.errors.map((e) => e.field)).toContain(field);
  });

  it("answers 409 to the same domain twice on one instance, and replays with an Idempotency-Key", async () => {
    const name = fresh();
    const first = await call(
      "POST",
      base(mine),
      t.customer,
      { domain: name },
      { "idempotency-key": `k-${name}` },
    );
    expect(first.status).toBe(201);
    const replay = await call(
      "POST",
      base(mine),
      t.customer,
      { domain: name },
      { "idempotency-key": `k-${name}` },
    );
    expect(replay.status).toBe(201);
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
    expect(((await replay.json()) as DomainBody).id).toBe(((await first.json()) as DomainBody).id);
    const other = await call(
      "POST",
      base(mine),
      t.customer,
      { domain: fresh() },
      { "idempotency-key": `k-${name}` },
    );
    expect(other.status).toBe(422);
    const again = await call("POST", base(mine), t.customer, { domain: name });
    expect(again.status).toBe(409);
  });

  it("refuses more than DOMAINS_PER_INSTANCE domains on one instance", async () => {
    const made = await makeInstance(t, t.customer);
    for (let i = 0; i < 5; i++) await add(made, fresh("limit"));
    const response = await call("POST", base(made), t.customer, { domain: fresh("limit") });
    expect(response.status).toBe(409);
    expect(((await response.json()) as { detail: string }).detail).toContain(
      "the most it may have (5)",
    );
  });

  it("answers 409 on a deleted instance", async () => {
    const gone = await makeInstance(t, t.customer, "DELETED");
    expect((await call("POST", base(gone), t.customer, { domain: fresh() })).status).toBe(409);
  });
});

describe("verification against a real DNS server", () => {
  it("verifies a claim whose TXT record holds its token: ISSUING, domain.verified", async () => {
    const made = await makeInstance(t, t.customer);
    const claim = await add(made, fresh());
    dns.set(txtOf(claim).name, "TXT", [txtOf(claim).value]);
    const response = await verify(made, claim.id);
    expect(response.status).toBe(200);
    const body = (await response.json()) as DomainBody;
    expect(body).toMatchObject({
      state: "ISSUING",
      reason: "ownership verified; waiting for the certificate",
    });
    expect(body.verifiedAt).not.toBeNull();
    const events = await t.h.database.db
      .select()
      .from(outboxEvents)
      .where(
        and(
          eq(outboxEvents.type, "dev.minispod.domain.verified"),
          eq(outboxEvents.subject, claim.id),
        ),
      );
    expect(events).toHaveLength(1);
  });

  it("stays pending with the reason when the record holds another token, is missing or DNS times out", async () => {
    const mine = await makeInstance(t, t.customer);
    const wrong = await add(mine, fresh());
    dns.set(txtOf(wrong).name, "TXT", ["not-the-token"]);
    expect(await (await verify(mine, wrong.id)).json()).toMatchObject({
      state: "PENDING_VERIFICATION",
      reason: `the TXT record at ${txtOf(wrong).name} does not hold this domain's token`,
    });
    const missing = await add(mine, fresh());
    expect(await (await verify(mine, missing.id)).json()).toMatchObject({
      state: "PENDING_VERIFICATION",
      reason: `no TXT record found at ${txtOf(missing).name}`,
    });
    const slow = await add(mine, fresh());
    dns.silence(txtOf(slow).name);
    const body = (await (await verify(mine, slow.id)).json()) as DomainBody;
    expect(body.state).toBe("PENDING_VERIFICATION");
    expect(body.reason).toContain("DNS did not answer");
  });

  it("lets the first account to verify keep the name: the second gets a 409 in plain words", async () => {
    const mine = await makeInstance(t, t.customer);
    const name = fresh("contested");
    const theirClaim = await add(theirs, name, t.other);
    const myClaim = await add(mine, name); // a pending claim blocks nobody
    dns.set(`_minispod-challenge.${name}`, "TXT", [txtOf(theirClaim).value, txtOf(myClaim).value]);
    expect((await verify(theirs, theirClaim.id, t.other)).status).toBe(200);
    const response = await verify(mine, myClaim.id);
    expect(response.status).toBe(409);
    expect(((await response.json()) as { detail: string }).detail).toContain(
      "another account has already verified this domain",
    );
    const [row] = await t.h.database.db
      .select()
      .from(instanceDomains)
      .where(eq(instanceDomains.id, myClaim.id));
    expect(row).toMatchObject({ state: "FAILED", verifiedAt: null });
    // And a new claim of a verified name is refused at once.
    const again = await call("POST", base(await makeInstance(t, t.customer)), t.customer, {
      domain: name,
    });
    expect(again.status).toBe(409);
  });

  it("holds one verified owner per name in the database itself (partial unique index)", async () => {
    const a = await makeInstance(t, t.customer);
    const b = await makeInstance(t, t.other);
    const name = fresh("unique");
    const row = (made: Made, verifiedAt: Date | null) => ({
      instanceId: made.id,
      userId: made.userId,
      domain: name,
      token: `tok-${made.id}`,
      verifiedAt,
    });
    const db = t.h.database.db;
    await db.insert(instanceDomains).values(row(a, new Date()));
    // An unverified claim of the same name is fine; a second verified one is not.
    await db.insert(instanceDomains).values(row(b, null));
    const second = await makeInstance(t, t.other);
    await expect(db.insert(instanceDomains).values(row(second, new Date()))).rejects.toThrow();
  });

  it("reads the certificate back once verified (simulated cluster: ready after its delay)", async () => {
    const mine = await makeInstance(t, t.customer);
    const claim = await add(mine, fresh());
    dns.set(txtOf(claim).name, "TXT", [txtOf(claim).value]);
    await verify(mine, claim.id);
    // What the provisioner does on domain.verified.
    await t.cluster.setInstanceDomains({ customerId: t.customer.id, instanceId: mine.id }, [
      claim.domain,
    ]);
    const body = (await (await verify(mine, claim.id)).json()) as DomainBody;
    expect(body).toMatchObject({ state: "ACTIVE", reason: "serving with its certificate" });
  });
});

describe("GET, DELETE /api/v1/instances/:id/domains[/:domainId]", () => {
  it("lists the instance's domains newest first and shows one", async () => {
    const made = await makeInstance(t, t.customer);
    const a = await add(made, fresh());
    const b = await add(made, fresh());
    const list = (await (await call("GET", base(made), t.customer)).json()) as {
      items: DomainBody[];
      nextCursor: null;
    };
    expect(list.items.map((d) => d.id)).toEqual([b.id, a.id]);
    expect(list.nextCursor).toBeNull();
    const one = await call("GET", `${base(made)}/${a.id}`, t.customer);
    expect(one.status).toBe(200);
    expect(((await one.json()) as DomainBody).domain).toBe(a.domain);
  });

  it("removes a domain: 204, audited, domain.removed; then 404", async () => {
    const mine = await makeInstance(t, t.customer);
    const claim = await add(mine, fresh());
    const response = await call("DELETE", `${base(mine)}/${claim.id}`, t.customer);
    expect(response.status).toBe(204);
    expect((await call("GET", `${base(mine)}/${claim.id}`, t.customer)).status).toBe(404);
    expect((await call("DELETE", `${base(mine)}/${claim.id}`, t.customer)).status).toBe(404);
    const events = await t.h.database.db
      .select()
      .from(outboxEvents)
      .where(
        and(
          eq(outboxEvents.type, "dev.minispod.domain.removed"),
          eq(outboxEvents.subject, claim.id),
        ),
      );
    expect(events).toHaveLength(1);
    const audits = await t.h.database.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.action, "domain.removed"), eq(auditLog.resourceId, mine.id)));
    expect(audits.length).toBeGreaterThan(0);
  });

  it("answers 400 to ids that are not uuids, 404 to a domain of another instance", async () => {
    expect((await call("GET", `${base(mine)}/nope`, t.customer)).status).toBe(400);
    expect((await call("GET", "/api/v1/instances/nope/domains", t.customer)).status).toBe(400);
    const other = await makeInstance(t, t.customer);
    const claim = await add(other, fresh());
    expect((await call("GET", `${base(mine)}/${claim.id}`, t.customer)).status).toBe(404);
  });
});

describe("another customer's instance, and roles", () => {
  it("answers 404 for every domain route of another customer's instance", async () => {
    const claim = await add(theirs, fresh(), t.other);
    const paths: [string, string, unknown?][] = [
      ["GET", base(theirs)],
      ["POST", base(theirs), { domain: fresh() }],
      ["GET", `${base(theirs)}/${claim.id}`],
      ["POST", `${base(theirs)}/${claim.id}/verify`],
      ["DELETE", `${base(theirs)}/${claim.id}`],
    ];
    for (const [method, path, body] of paths) {
      const response = await call(method, path, t.customer, body);
      expect(response.status, `${method} ${path}`).toBe(404);
    }
  });

  let claimId = "";
  let sec: Made;
  beforeAll(async () => {
    sec = await makeInstance(t, t.customer);
    claimId = (await add(sec, fresh("security"))).id;
  });
  for (const [method, suffix, body] of [
    ["GET", "", undefined],
    ["POST", "", { domain: "security.example.com" }],
    ["GET", "/:d", undefined],
    ["POST", "/:d/verify", undefined],
    ["DELETE", "/:d", undefined],
  ] as const) {
    runRouteSecurityTests(() => ({ app, harness: t.h }), {
      method,
      path: () => `${base(sec)}${suffix.replace(":d", claimId)}`,
      ...(body ? { body } : {}),
      roles: ["CUSTOMER"],
    });
  }
});
