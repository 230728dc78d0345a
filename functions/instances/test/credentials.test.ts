import { auditLog, instanceCredentials, outboxEvents } from "@minispod/db";
import { ensureCredentials } from "@minispod/instances";
import { developmentKeyring } from "@minispod/shared";
import { runRouteSecurityTests } from "@minispod/shared/testing";
import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type InstancesTest, type Made, makeInstance, setupInstances } from "./helpers";

/** A catalog entry like Vaultwarden's: one generated secret handed over, one kept inside. */
const vaultwarden = {
  name: "Vaultwarden",
  workload: {
    generatedSecrets: ["ADMIN_TOKEN", "INTERNAL_KEY"],
    credentials: [{ secret: "ADMIN_TOKEN", label: "Admin page token", path: "/admin" }],
  },
};

interface CredentialsBody {
  instanceId: string;
  credentials: {
    name: string;
    label: string;
    username: string | null;
    value: string | null;
    url: string | null;
    version: number | null;
  }[];
}

let t: InstancesTest;
let mine: Made;
let theirs: Made;
/** What the provisioner generated at mine's first apply. */
let provisioned: Record<string, string>;
const keyring = developmentKeyring();

/** The provisioner's part: generate and store at first apply. */
const provision = (made: Made) =>
  ensureCredentials(t.h.database.db, keyring, made.id, ["ADMIN_TOKEN"]);

beforeAll(async () => {
  t = await setupInstances();
  mine = await makeInstance(t, t.customer, "RUNNING", vaultwarden);
  theirs = await makeInstance(t, t.other, "RUNNING", vaultwarden);
  provisioned = await provision(mine);
  await provision(theirs);
});
afterAll(() => t.h.close());

const path = (made: Made, tail = "") => `/api/v1/instances/${made.id}/credentials${tail}`;
const get = (made: Made, user = t.customer) =>
  t.app.request(path(made), { headers: t.h.bearer(user) });
const rotate = (made: Made, body: unknown, user = t.customer) =>
  t.app.request(path(made, "/rotate"), {
    method: "POST",
    headers: { ...t.h.bearer(user), "content-type": "application/json" },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });

const auditOf = (made: Made, action: string) =>
  t.h.database.db
    .select()
    .from(auditLog)
    .where(and(eq(auditLog.resourceId, made.id), eq(auditLog.action, action)));

describe("GET /api/v1/instances/:id/credentials", () => {
  it("shows the owner the credentials the catalog hands over, where to use them, uncached", async () => {
    const response = await get(mine);
    expect(response.status).toBe(200);
    expect(response.headers.get("cache-control")).toBe("no-store");
    const body = (await response.json()) as CredentialsBody;
    expect(body.instanceId).toBe(mine.id);
    // The secret kept inside the cluster (INTERNAL_KEY) is not shown.
    expect(body.credentials).toEqual([
      {
        name: "ADMIN_TOKEN",
        label: "Admin page token",
        username: null,
        value: provisioned.ADMIN_TOKEN,
        url: `https://i-${mine.id}.apps.localhost/admin`,
        version: 1,
        updatedAt: expect.any(String),
      },
    ]);
  });

  it("audits each read with the names shown, never the values", async () => {
    const before = (await auditOf(mine, "instance.credentials_read")).length;
    await get(mine);
    const rows = await auditOf(mine, "instance.credentials_read");
    expect(rows).toHaveLength(before + 1);
    const row = rows.at(-1)!;
    expect(row.actorId).toBe(t.customer.id);
    expect(row.metadata).toEqual({ names: ["ADMIN_TOKEN"] });
    expect(JSON.stringify(rows)).not.toContain(provisioned.ADMIN_TOKEN);
  });

  it("keeps the value sealed at rest", async () => {
    const [row] = await t.h.database.db
      .select()
      .from(instanceCredentials)
      .where(eq(instanceCredentials.instanceId, mine.id));
    expect(row!.keyId).toBe("dev");
    expect(row!.sealed).not.toContain(provisioned.ADMIN_TOKEN);
  });

  it("shows no value before the first provision, and nothing for an app without credentials", async () => {
    const pending = await makeInstance(t, t.customer, "PENDING", vaultwarden);
    const body = (await (await get(pending)).json()) as CredentialsBody;
    expect(body.credentials).toEqual([
      expect.objectContaining({ name: "ADMIN_TOKEN", value: null, url: null, version: null }),
    ]);
    const plain = await makeInstance(t, t.customer);
    expect(((await (await get(plain)).json()) as CredentialsBody).credentials).toEqual([]);
  });

  it("answers 409 for a deleted instance", async () => {
    const deleted = await makeInstance(t, t.customer, "DELETED", vaultwarden);
    const response = await get(deleted);
    expect(response.status).toBe(409);
  });

  it("answers 400 for an id that is not a UUID", async () => {
    const response = await t.app.request("/api/v1/instances/nope/credentials", {
      headers: t.h.bearer(t.customer),
    });
    expect(response.status).toBe(400);
  });

  it("answers 404 for another customer's instance, as for a missing one", async () => {
    const response = await get(theirs);
    expect(response.status).toBe(404);
    const missing = await get({ ...theirs, id: "00000000-0000-4000-8000-000000000000" });
    expect(missing.status).toBe(404);
  });

  it("answers 403 to an administrator: the app's password is the owner's alone", async () => {
    const response = await get(mine, t.admin);
    expect(response.status).toBe(403);
    expect(await auditOf(mine, "instance.credentials_read")).not.toContainEqual(
      expect.objectContaining({ actorId: t.admin.id }),
    );
  });

  runRouteSecurityTests(() => ({ app: t.app, harness: t.h }), {
    method: "GET",
    path: () => path(mine),
    roles: ["CUSTOMER"],
  });
});

describe("POST /api/v1/instances/:id/credentials/rotate", () => {
  it("regenerates the credential, audits it and announces it without the value", async () => {
    const made = await makeInstance(t, t.customer, "RUNNING", vaultwarden);
    const before = (await provision(made)).ADMIN_TOKEN;
    const response = await rotate(made, { name: "ADMIN_TOKEN" });
    expect(response.status).toBe(202);
    expect(response.headers.get("cache-control")).toBe("no-store");
    expect(await response.json()).toEqual({
      instanceId: made.id,
      name: "ADMIN_TOKEN",
      version: 2,
      rotatedAt: expect.any(String),
    });
    const shown = ((await (await get(made)).json()) as CredentialsBody).credentials[0]!;
    expect(shown.version).toBe(2);
    expect(shown.value).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(shown.value).not.toBe(before);

    const audits = await auditOf(made, "instance.credentials_rotated");
    expect(audits.map((a) => a.metadata)).toEqual([{ name: "ADMIN_TOKEN", version: 2 }]);
    const events = await t.h.database.db
      .select()
      .from(outboxEvents)
      .where(
        and(
          eq(outboxEvents.subject, made.id),
          eq(outboxEvents.type, "dev.minispod.instance.credentials_rotated"),
        ),
      );
    expect(events.map((e) => e.data)).toEqual([
      {
        userId: t.customer.id,
        instanceId: made.id,
        subscriptionId: made.subscriptionId,
        serviceName: "Vaultwarden",
        name: "ADMIN_TOKEN",
        version: 2,
      },
    ]);
    expect(JSON.stringify(events)).not.toContain(shown.value);
  });

  it("gives an instance created before credentials were stored its first one", async () => {
    const made = await makeInstance(t, t.customer, "RUNNING", vaultwarden);
    const response = await rotate(made, { name: "ADMIN_TOKEN" });
    expect(response.status).toBe(202);
    expect(((await response.json()) as { version: number }).version).toBe(1);
    const shown = ((await (await get(made)).json()) as CredentialsBody).credentials[0]!;
    expect(shown.value).not.toBeNull();
  });

  it("refuses a credential the catalog does not hand over (422), even a generated one", async () => {
    for (const name of ["INTERNAL_KEY", "NOT_THERE"]) {
      const response = await rotate(mine, { name });
      expect(response.status).toBe(422);
    }
  });

  it("answers 400 to a malformed body", async () => {
    for (const body of [{}, { name: "" }, { name: "has space" }, { name: 7 }, "{not json"]) {
      const response = await rotate(mine, body);
      expect(response.status).toBe(400);
    }
  });

  it("answers 404 for another customer's instance and 403 to an administrator", async () => {
    expect((await rotate(theirs, { name: "ADMIN_TOKEN" })).status).toBe(404);
    expect((await rotate(mine, { name: "ADMIN_TOKEN" }, t.admin)).status).toBe(403);
    // Neither changed anything.
    const shown = ((await (await get(mine)).json()) as CredentialsBody).credentials[0]!;
    expect(shown.value).toBe(provisioned.ADMIN_TOKEN);
  });

  runRouteSecurityTests(() => ({ app: t.app, harness: t.h }), {
    method: "POST",
    path: () => path(mine, "/rotate"),
    body: { name: "ADMIN_TOKEN" },
    roles: ["CUSTOMER"],
  });
});
