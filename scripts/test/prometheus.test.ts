/**
 * Every Grafana panel's query returns series from a real Prometheus (Debian's
 * `prometheus` binary, on a free loopback port, temporary config and storage)
 * scraping the local product's /metrics endpoints, one target per function as
 * a PodMonitor would, after a paid journey, a declined one, a webhook delivery,
 * a duplicate and a rejected event delivery and a dead letter. Bounded: the
 * suite gives up after 90 s and stops Prometheus in afterAll. Without the
 * binary it is skipped, saying so.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { serve } from "@hono/node-server";
import { type CloudEventMessage, toBinaryHttp } from "@minispod/shared";
import { json } from "@minispod/shared/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { functions } from "../src/local/functions";
import { localJourney } from "./support/journey";
import { freePort, missingBinary } from "./support/process";

const prometheus = process.env.PROMETHEUS ?? "prometheus";
const missing = missingBinary(prometheus, "apt-get install -y prometheus (or set PROMETHEUS)");

const dashboard = JSON.parse(
  readFileSync(
    fileURLToPath(new URL("../../deploy/observability/grafana-dashboard.json", import.meta.url)),
    "utf8",
  ),
) as { panels: { title: string; targets?: { expr: string }[] }[] };
const queries = dashboard.panels.flatMap((p) =>
  (p.targets ?? []).map((t) => ({ title: p.title, expr: t.expr })),
);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.skipIf(missing !== undefined)(
  `Grafana panels against a real Prometheus${missing ? ` (skipped: ${missing})` : ""}`,
  () => {
    const journey = localJourney("prometheus", { BUSINESS_METRICS_CACHE: "0s" });
    let server: ReturnType<typeof serve> | undefined;
    let child: ChildProcess | undefined;
    let dir = "";
    let base = "";

    const query = async (expr: string) => {
      const res = await fetch(`${base}/api/v1/query?query=${encodeURIComponent(expr)}`);
      const body = (await res.json()) as {
        status: string;
        data?: { result: unknown[] };
        error?: string;
      };
      if (body.status !== "success") throw new Error(`${expr}: ${body.error}`);
      return body.data?.result ?? [];
    };

    beforeAll(async () => {
      const runner = journey.runner;
      // The product, served over HTTP on a free loopback port.
      const appPort = await freePort();
      server = serve({ fetch: runner.app.fetch, hostname: "127.0.0.1", port: appPort });

      // The journey: a webhook endpoint, a declined subscription, then a paid one.
      const register = await runner.app.request(
        "/api/v1/auth/register",
        json({ email: "prom@example.com", password: "a long password", name: "Prom" }),
      );
      const session = (await register.json()) as { accessToken: string; user: { id: string } };
      const auth = { authorization: `Bearer ${session.accessToken}` };
      const hook = await runner.app.request(
        "/api/v1/webhooks",
        json({ url: journey.receiver.url("/hook"), events: ["subscription.activated"] }, auth),
      );
      expect(hook.status).toBe(201);
      const declined = await runner.app.request(
        "/api/v1/subscriptions",
        json({ serviceSlug: "uptime-kuma", paymentMethod: "pm_sandbox_declined" }, auth),
      );
      expect(declined.status).toBe(402);
      const paid = await runner.app.request(
        "/api/v1/subscriptions",
        json({ serviceSlug: "uptime-kuma" }, auth),
      );
      expect(paid.status).toBe(201);
      // A delivered twice (duplicate), one the consumer rejects, and one the broker gave up on.
      const changed: CloudEventMessage = {
        id: randomUUID(),
        type: "dev.minispod.user.password_changed",
        source: "auth",
        subject: session.user.id,
        time: new Date().toISOString(),
        data: { userId: session.user.id, email: "prom@example.com" },
      };
      await runner.broker.publish(changed);
      await runner.settle();
      await runner.broker.publish(changed);
      await runner.broker.publish({ ...changed, id: randomUUID(), data: { nothing: true } });
      await runner.settle();
      const dead = toBinaryHttp({ ...changed, id: randomUUID() });
      const sink = await runner.hosted.get("outbox-relay")?.app.request("/events/dead-letter", {
        method: "POST",
        headers: { ...dead.headers, "ce-knativeerrordest": "notifier/events" },
        body: dead.body,
      });
      expect(sink?.status).toBeLessThan(300);
      await runner.settle();

      // Prometheus scraping every function's /metrics, one job per function.
      const promPort = await freePort();
      dir = mkdtempSync(join(tmpdir(), "minispod-prometheus-"));
      const jobs = functions.map(
        ({ name }) =>
          `  - job_name: ${name}\n    metrics_path: /_fn/${name}/metrics\n    static_configs: [{ targets: ["127.0.0.1:${appPort}"] }]\n`,
      );
      writeFileSync(
        join(dir, "prometheus.yml"),
        `global: { scrape_interval: 1s, evaluation_interval: 1s }\nscrape_configs:\n${jobs.join("")}`,
      );
      child = spawn(
        prometheus,
        [
          `--config.file=${join(dir, "prometheus.yml")}`,
          `--storage.tsdb.path=${join(dir, "data")}`,
          `--web.listen-address=127.0.0.1:${promPort}`,
          "--log.level=warn",
        ],
        { stdio: ["ignore", "ignore", "pipe"] },
      );
      let stderr = "";
      child.stderr?.on("data", (chunk) => {
        stderr += String(chunk);
      });
      base = `http://127.0.0.1:${promPort}`;
      // Every target up, then a few more scrapes so rate() and increase() have two samples.
      const deadline = Date.now() + 60_000;
      for (;;) {
        if (child.exitCode !== null) throw new Error(`prometheus exited: ${stderr}`);
        const up = await query("sum(up)").catch(() => []);
        const value = Number((up[0] as { value?: [number, string] } | undefined)?.value?.[1] ?? 0);
        if (value === functions.length) break;
        if (Date.now() > deadline) throw new Error(`targets not up in 60 s: ${stderr}`);
        await sleep(500);
      }
      await sleep(5_000);
    }, 90_000);

    afterAll(async () => {
      child?.kill("SIGTERM");
      if (child && child.exitCode === null)
        await new Promise((resolve) => child?.once("exit", resolve));
      server?.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it("finds a query in every panel", () => {
      expect(queries.length).toBeGreaterThanOrEqual(dashboard.panels.length);
    });

    it.each(queries)("$title: $expr returns series", async ({ expr }) => {
      expect((await query(expr)).length).toBeGreaterThan(0);
    });
  },
);
