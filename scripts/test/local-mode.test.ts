import { json } from "@minispod/shared/testing";
import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { localJourney } from "./support/journey";

/**
 * The paid journey and its notifications end to end, through the local runner
 * exactly as `npm start` assembles it (every function, the broker routing by
 * knative/, the seeded catalog, the sandbox provider, the dev mailbox), on the
 * machine's PostgreSQL and Redis.
 */
const journey = localJourney("e2e");

const api = journey.api;

async function customer(email: string) {
  const res = await api(
    "/auth/register",
    json({ email, password: "a long password", name: email.split("@")[0] }),
  );
  expect(res.status).toBe(201);
  const body = await res.json();
  return { id: body.user.id as string, auth: { authorization: `Bearer ${body.accessToken}` } };
}

describe("local mode: the paid journey with notifications", () => {
  it("registers, lists the seeded catalog, subscribes with a webhook and gets email", async () => {
    const alice = await customer("alice@example.com");

    const services = await (await api("/services")).json();
    const slugs = services.items.map((s: { slug: string }) => s.slug);
    expect(slugs).toContain("uptime-kuma");

    const hook = await api(
      "/webhooks",
      json({ url: journey.receiver.url("/alice"), events: ["subscription.activated"] }, alice.auth),
    );
    expect(hook.status).toBe(201);
    const { secret } = await hook.json();

    const subscribe = () =>
      api(
        "/subscriptions",
        json({ serviceSlug: "uptime-kuma" }, { ...alice.auth, "idempotency-key": "alice-1" }),
      );
    const first = await subscribe();
    expect(first.status).toBe(201);
    const subscription = await first.json();
    expect(subscription).toMatchObject({ status: "ACTIVE", service: { slug: "uptime-kuma" } });
    expect(subscription.latestInvoice.status).toBe("PAID");
    const replay = await subscribe();
    expect(replay.status).toBe(201);
    expect((await replay.json()).id).toBe(subscription.id);

    const invoices = await (await api("/invoices", { headers: alice.auth })).json();
    expect(invoices.items).toHaveLength(1);
    expect(invoices.items[0].status).toBe("PAID");

    await journey.runner.settle();
    const deliveries = journey.receiver.to("/alice");
    expect(deliveries).toHaveLength(1);
    const delivery = deliveries[0]!;
    const verified = new Webhook(secret).verify(delivery.body, delivery.headers) as {
      type: string;
      data: { subscriptionId: string };
    };
    expect(verified.type).toBe("subscription.activated");
    expect(verified.data.subscriptionId).toBe(subscription.id);

    const mailbox = await (await journey.runner.app.request("/_dev/notifier/mailbox")).json();
    const toAlice = (mailbox.items ?? mailbox).filter((m: { to: string }) =>
      m.to.includes("alice@example.com"),
    );
    const subjects = toAlice.map((m: { subject: string }) => m.subject).join(" | ");
    expect(toAlice.length).toBeGreaterThanOrEqual(2);
    expect(subjects).toMatch(/welcome|verify/i);
    expect(subjects).toMatch(/uptime kuma/i);

    const bob = await customer("bob@example.com");
    const peek = await api(`/subscriptions/${subscription.id}`, { headers: bob.auth });
    expect(peek.status).toBe(404);
  });

  it("answers a declined payment with 402 and leaves nothing active or billed", async () => {
    const carol = await customer("carol@example.com");
    const res = await api(
      "/subscriptions",
      json({ serviceSlug: "gitea", paymentMethod: "pm_sandbox_declined" }, carol.auth),
    );
    expect(res.status).toBe(402);
    expect(res.headers.get("content-type")).toContain("application/problem+json");
    const list = await (await api("/subscriptions", { headers: carol.auth })).json();
    expect(list.items.filter((s: { status: string }) => s.status === "ACTIVE")).toHaveLength(0);
    const invoices = await (await api("/invoices", { headers: carol.auth })).json();
    expect(invoices.items.filter((i: { status: string }) => i.status === "PAID")).toHaveLength(0);
  });
});

describe("local mode: what the runner prints", () => {
  it("serves the portal at / (pages, assets) and the function index at /_fn; /api/v1 stays the API", async () => {
    const home = await journey.runner.app.request("/");
    expect(home.status).toBe(200);
    expect(home.headers.get("content-type")).toMatch(/^text\/html/);
    expect(await home.text()).toContain('data-page="catalog"');
    expect((await journey.runner.app.request("/instances/abc")).status).toBe(200);
    const index = (await (await journey.runner.app.request("/_fn")).json()) as {
      functions: { name: string }[];
    };
    expect(index.functions.map((f) => f.name)).toContain("portal");
    const unknown = await journey.runner.app.request("/api/v1/nope");
    expect(unknown.status).toBe(404);
    expect(unknown.headers.get("content-type")).toMatch(/problem\+json/);
  });

  it("lists the dev tools' pages, and each answers", async () => {
    expect(journey.runner.devTools).toContain("/_dev/notifier/mailbox");
    for (const path of journey.runner.devTools)
      expect((await journey.runner.app.request(path)).status).toBe(200);
  });
});

describe("local mode: API description", () => {
  it("merges every function's OpenAPI document", async () => {
    const doc = await (await journey.runner.app.request("/openapi.json")).json();
    for (const path of [
      "/api/v1/auth/login",
      "/api/v1/services",
      "/api/v1/subscriptions",
      "/api/v1/invoices/{id}",
      "/api/v1/webhooks",
    ]) {
      expect(Object.keys(doc.paths)).toContain(path);
    }
    expect(
      doc.paths["/api/v1/auth/register"].post.requestBody.content["application/json"].schema
        .required,
    ).toEqual(expect.arrayContaining(["email", "password", "name"]));
    expect((await journey.runner.app.request("/docs")).status).toBe(200);
  });
});
