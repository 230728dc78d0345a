import { parseEnv } from "@minispod/shared";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { provisionerEnvSchema } from "../src/env";
import {
  activeSubscription,
  deliver,
  instanceRow,
  type ProvisionerTest,
  setupProvisioner,
  subscriptionEvent,
} from "./helpers";

describe("following a provision in the background", () => {
  let t: ProvisionerTest;
  beforeAll(async () => {
    // Real time here: a 20 ms rollout step, re-read every 20 ms.
    t = await setupProvisioner({ delayMs: 20, env: { PROVISION_POLL_MS: "20" } });
  });
  afterAll(async () => {
    await t.deps.closeAll();
    await t.h.close();
  });

  it("records RUNNING without waiting for the sweep", async () => {
    const s = await activeSubscription(t.h);
    await deliver(t.app, subscriptionEvent("subscription.activated", s));
    expect((await instanceRow(t.h.database.db, s.instanceId)).status).toBe("PROVISIONING");
    await vi.waitFor(
      async () => {
        expect((await instanceRow(t.h.database.db, s.instanceId)).status).toBe("RUNNING");
      },
      { timeout: 5000, interval: 20 },
    );
  });
});

describe("environment", () => {
  const KEYS = `k1:${Buffer.alloc(32, 1).toString("base64")}`;
  const base = { DATABASE_URL: "postgres://localhost/x" };

  it("uses the simulated cluster without KUBECONFIG outside production", () => {
    const env = parseEnv(provisionerEnvSchema, base);
    expect(env.K8S_SIMULATED_DELAY_MS).toBe(1000);
    expect(env.PROVISION_TIMEOUT).toBe(600);
  });

  it("refuses the simulated cluster in production, naming the variable", () => {
    expect(() => parseEnv(provisionerEnvSchema, { ...base, NODE_ENV: "production" })).toThrow(
      /K8S_DRIVER must not be simulated when NODE_ENV=production/,
    );
    expect(
      parseEnv(provisionerEnvSchema, {
        ...base,
        NODE_ENV: "production",
        KUBERNETES_SERVICE_HOST: "10.43.0.1",
        CREDENTIALS_KEYS: KEYS,
      }).K8S_DRIVER,
    ).toBeUndefined();
  });

  it("needs a real credentials key in production, and names it (never the key) when malformed", () => {
    const inPod = { ...base, NODE_ENV: "production", KUBERNETES_SERVICE_HOST: "10.43.0.1" };
    expect(() => parseEnv(provisionerEnvSchema, inPod)).toThrow(
      /CREDENTIALS_KEYS must be set when NODE_ENV=production/,
    );
    const short = Buffer.alloc(16, 7).toString("base64");
    expect(() =>
      parseEnv(provisionerEnvSchema, { ...base, CREDENTIALS_KEYS: `k:${short}` }),
    ).toThrow(/CREDENTIALS_KEYS must be id:base64key pairs: key "k" must be 32 bytes/);
    expect(() =>
      parseEnv(provisionerEnvSchema, { ...base, CREDENTIALS_KEYS: `k:${short}` }),
    ).not.toThrow(short);
    const env = parseEnv(provisionerEnvSchema, { ...inPod, CREDENTIALS_KEYS: KEYS });
    expect(env.CREDENTIALS_KEYS?.current.id).toBe("k1");
  });

  it("rejects a namespace prefix that is not a DNS label", () => {
    expect(() =>
      parseEnv(provisionerEnvSchema, { ...base, K8S_NAMESPACE_PREFIX: "Customer_" }),
    ).toThrow(/K8S_NAMESPACE_PREFIX/);
  });
});
