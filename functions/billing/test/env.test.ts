import { EnvError } from "@minispod/shared";
import { createHarness, type Harness } from "@minispod/shared/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { billingFunction } from "../src/function";

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(() => h.close());

describe("billing environment", () => {
  it("has working defaults for local use", () => {
    const env = h.env(billingFunction);
    expect(env).toMatchObject({
      K8S_NAMESPACE_PREFIX: "customer-",
      K8S_CLUSTER_DOMAIN: "apps.localhost",
      SUBSCRIPTION_RETENTION_DAYS: 30,
      PAYMENT_TIMEOUT: 15,
      PAYMENT_WEBHOOK_TOLERANCE: 300,
    });
    expect(env.PAYMENT_WEBHOOK_SECRET).toBeUndefined();
  });

  it("reads several webhook secrets and durations", () => {
    const env = h.env(billingFunction, {
      PAYMENT_WEBHOOK_SECRET: "whsec_current_0123456789, whsec_previous_0123456789",
      PAYMENT_WEBHOOK_TOLERANCE: "5m",
    });
    expect(env.PAYMENT_WEBHOOK_SECRET).toEqual([
      "whsec_current_0123456789",
      "whsec_previous_0123456789",
    ]);
    expect(env.PAYMENT_WEBHOOK_TOLERANCE).toBe(300);
  });

  it("names the bad variable without echoing secrets", () => {
    expect(() => h.env(billingFunction, { PAYMENT_WEBHOOK_SECRET: "short-secret" })).toThrow(
      EnvError,
    );
    const error = (() => {
      try {
        h.env(billingFunction, {
          PAYMENT_WEBHOOK_SECRET: "short-secret",
          SUBSCRIPTION_RETENTION_DAYS: "-1",
        });
      } catch (caught) {
        return caught;
      }
    })();
    expect(error).toBeInstanceOf(EnvError);
    const message = (error as Error).message;
    expect(message).toContain("PAYMENT_WEBHOOK_SECRET");
    expect(message).toContain("SUBSCRIPTION_RETENTION_DAYS");
    expect(message).not.toContain("short-secret");
    expect(() => h.env(billingFunction, { K8S_CLUSTER_DOMAIN: "Not A Domain" })).toThrow(EnvError);
  });

  it("refuses to start in production without a webhook secret or a real gateway", () => {
    const production = { NODE_ENV: "production" };
    expect(() => billingFunction.create(h.context(billingFunction, production))).toThrow(
      /PAYMENT_WEBHOOK_SECRET/,
    );
    const withSecret = { ...production, PAYMENT_WEBHOOK_SECRET: "whsec_current_0123456789" };
    expect(() => billingFunction.create(h.context(billingFunction, withSecret))).toThrow(
      /PAYMENT_GATEWAY_URL/,
    );
  });
});
