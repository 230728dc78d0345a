import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { createTransport } from "nodemailer";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createGateway, loadIngressRoutes } from "../src/compose/gateway";
import { createMailCatcher } from "../src/compose/mail-catcher";

const ingress = fileURLToPath(new URL("../../knative/base/api-ingress.yaml", import.meta.url));

const listen = async (server: Server | { listen: Server["listen"]; address(): unknown }) => {
  await new Promise<void>((resolve) => (server as Server).listen(0, "127.0.0.1", resolve));
  return ((server as Server).address() as AddressInfo).port;
};

describe("compose gateway", () => {
  const seen: { path: string; forwardedFor: string | undefined; host: string | undefined }[] = [];
  const upstream = createServer((req, res) => {
    seen.push({
      path: req.url ?? "",
      forwardedFor: req.headers["x-forwarded-for"] as string | undefined,
      host: req.headers["x-forwarded-host"] as string | undefined,
    });
    res.writeHead(201, { "content-type": "application/json" }).end('{"ok":true}');
  });
  let gateway: Server;
  let base: string;
  let upstreamPort: number;
  beforeAll(async () => {
    upstreamPort = await listen(upstream);
    // Every service is the one recording upstream, the path says which it was meant for.
    gateway = createGateway(loadIngressRoutes(ingress), (service) =>
      service === "catalog" ? "http://127.0.0.1:1" : `http://127.0.0.1:${upstreamPort}`,
    );
    base = `http://127.0.0.1:${await listen(gateway)}`;
  });
  afterAll(() => {
    gateway.close();
    upstream.close();
  });

  it("reads api-ingress.yaml's routes: each /api/v1 area to the function that owns it", () => {
    const routes = loadIngressRoutes(ingress);
    expect(routes).toContainEqual({ prefix: "/api/v1/auth", service: "auth" });
    expect(routes).toContainEqual({ prefix: "/api/v1/invoices", service: "billing" });
    expect(routes).toContainEqual({ prefix: "/api/v1/audit", service: "admin" });
  });

  it("proxies a routed request with its body, status and X-Forwarded-* as Traefik adds them", async () => {
    const res = await fetch(`${base}/api/v1/auth/login?x=1`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-forwarded-for": "203.0.113.9" },
      body: "{}",
    });
    expect(res.status).toBe(201);
    expect(await res.json()).toEqual({ ok: true });
    expect(seen.at(-1)).toEqual({
      path: "/api/v1/auth/login?x=1",
      forwardedFor: "203.0.113.9, 127.0.0.1",
      host: new URL(base).host,
    });
  });

  it("answers 404 problem+json outside the public routes (no /events, /cron, /metrics)", async () => {
    for (const path of ["/events", "/cron/relay", "/metrics", "/health/readiness"]) {
      const res = await fetch(`${base}${path}`);
      expect(res.status).toBe(404);
      expect(res.headers.get("content-type")).toBe("application/problem+json");
    }
  });

  it("sends every other path to the portal, the shortest prefix", async () => {
    const routes = loadIngressRoutes(ingress);
    expect(routes.at(-1)).toEqual({
      prefix: "/",
      service: "portal",
      exclude: ["/metrics", "/health", "/events", "/cron"],
    });
    for (const path of ["/", "/signup", "/instances/abc?x=1", "/assets/main-X.js"]) {
      const res = await fetch(`${base}${path}`);
      expect(res.status, path).toBe(201);
      expect(seen.at(-1)?.path).toBe(path);
    }
  });

  it("answers 502 when the function does not answer", async () => {
    const res = await fetch(`${base}/api/v1/services`);
    expect(res.status).toBe(502);
    expect((await res.json()).detail).toContain("catalog");
  });
});

describe("compose mail catcher", () => {
  const catcher = createMailCatcher();
  let smtpPort: number;
  let api: string;
  beforeAll(async () => {
    await new Promise<void>((resolve) => catcher.smtp.listen(0, "127.0.0.1", resolve));
    smtpPort = (catcher.smtp.server.address() as AddressInfo).port;
    api = `http://127.0.0.1:${await listen(catcher.http)}`;
  });
  afterAll(async () => {
    catcher.http.close();
    await new Promise<void>((resolve) => catcher.smtp.close(() => resolve()));
  });

  it("catches what is sent over SMTP and lists it in Mailpit's shape", async () => {
    const transport = createTransport({ host: "127.0.0.1", port: smtpPort, secure: false });
    await transport.sendMail({
      from: "minispod <no-reply@minispod.localhost>",
      to: "ada@example.com",
      subject: "Welcome to minispod, Ada — confirm",
      text: "Hello Ada",
    });
    const list = (await (await fetch(`${api}/api/v1/messages`)).json()) as {
      total: number;
      messages: { ID: string; Subject: string; To: { Address: string }[] }[];
    };
    expect(list.total).toBe(1);
    expect(list.messages[0]).toMatchObject({
      Subject: "Welcome to minispod, Ada — confirm",
      To: [{ Address: "ada@example.com" }],
    });
    const one = await (await fetch(`${api}/api/v1/message/${list.messages[0]?.ID}`)).json();
    expect(one.Text.trim()).toBe("Hello Ada");
    expect((await fetch(`${api}/api/v1/message/nope`)).status).toBe(404);
  });
});
