import { EnvError } from "@minispod/shared";
import { createHarness, type Harness } from "@minispod/shared/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { subscriptionsFunction } from "../src/function";

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(() => h.close());

describe("subscriptions environment", () => {
  it("has working defaults for local use and names a bad domain", () => {
    expect(h.env(subscriptionsFunction)).toMatchObject({
      K8S_NAMESPACE_PREFIX: "customer-",
      K8S_CLUSTER_DOMAIN: "apps.localhost",
      SUBSCRIPTION_RETENTION_DAYS: 30,
      PAYMENT_TIMEOUT: 15,
    });
    expect(() => h.env(subscriptionsFunction, { K8S_CLUSTER_DOMAIN: "Not A Domain" })).toThrow(
      EnvError,
    );
  });

  it("refuses to start in production without a real payment gateway", () => {
    const production = { NODE_ENV: "production" };
    expect(() =>
      subscriptionsFunction.create(h.context(subscriptionsFunction, production)),
    ).toThrow(/PAYMENT_GATEWAY_URL/);
  });
});
