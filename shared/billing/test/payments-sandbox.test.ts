import { describe, expect, it } from "vitest";
import { PaymentProviderError } from "../src/payments/port";
import { SANDBOX_PAYMENT_METHODS, sandboxPaymentProvider } from "../src/payments/sandbox";
import { signPaymentWebhook, verifyPaymentWebhook } from "../src/payments/webhook-signature";

const request = {
  idempotencyKey: "pay_1",
  amountMinor: 900,
  currency: "EUR",
  customerId: "user-1",
  description: "Gitea, one month",
};

describe("sandbox payment provider", () => {
  it("succeeds by default and remembers the charge by idempotency key", async () => {
    const provider = sandboxPaymentProvider();
    const first = await provider.charge(request);
    expect(first.status).toBe("succeeded");
    expect(await provider.charge(request)).toEqual(first);
    expect(provider.charges).toHaveLength(1);
    // The lookup also says what was charged, for reconciliation to compare.
    expect(await provider.findCharge("pay_1")).toEqual({
      ...first,
      amountMinor: request.amountMinor,
      currency: request.currency,
    });
    expect(await provider.findCharge("pay_unknown")).toBeNull();
  });

  it("succeeds without keeping the method for pm_sandbox_once", async () => {
    const provider = sandboxPaymentProvider();
    const once = await provider.charge({
      ...request,
      paymentMethod: SANDBOX_PAYMENT_METHODS.once,
    });
    expect(once).toMatchObject({ status: "succeeded", reusable: false });
    // Reconciliation learns the same from the lookup.
    expect(await provider.findCharge(request.idempotencyKey)).toMatchObject({ reusable: false });
    const kept = await provider.charge({ ...request, idempotencyKey: "pay_kept" });
    expect(kept).toEqual({ status: "succeeded", providerPaymentId: expect.any(String) });
  });

  it("charges once when one key races itself", async () => {
    const provider = sandboxPaymentProvider({ latencyMs: 20 });
    const results = await Promise.all(Array.from({ length: 5 }, () => provider.charge(request)));
    expect(new Set(results.map((r) => r.status === "succeeded" && r.providerPaymentId)).size).toBe(
      1,
    );
    expect(provider.charges).toHaveLength(1);
  });

  it("declines the declining test methods with their codes", async () => {
    const provider = sandboxPaymentProvider();
    const declined = await provider.charge({
      ...request,
      idempotencyKey: "a",
      paymentMethod: SANDBOX_PAYMENT_METHODS.declined,
    });
    expect(declined).toMatchObject({ status: "declined", code: "card_declined" });
    const poor = await provider.charge({
      ...request,
      idempotencyKey: "b",
      paymentMethod: SANDBOX_PAYMENT_METHODS.insufficientFunds,
    });
    expect(poor).toMatchObject({ status: "declined", code: "insufficient_funds" });
    const unknown = await provider.charge({
      ...request,
      idempotencyKey: "c",
      paymentMethod: "pm_x",
    });
    expect(unknown).toMatchObject({ status: "declined", code: "invalid_payment_method" });
  });

  it("throws a retryable error and charges nothing for pm_sandbox_error", async () => {
    const provider = sandboxPaymentProvider();
    const attempt = provider.charge({ ...request, paymentMethod: SANDBOX_PAYMENT_METHODS.error });
    await expect(attempt).rejects.toBeInstanceOf(PaymentProviderError);
    await expect(attempt).rejects.toMatchObject({ retryable: true });
    expect(await provider.findCharge(request.idempotencyKey)).toBeNull();
  });

  it("charges and then throws for pm_sandbox_timeout_after_charge, so findCharge reconciles", async () => {
    const provider = sandboxPaymentProvider();
    await expect(
      provider.charge({ ...request, paymentMethod: SANDBOX_PAYMENT_METHODS.timeoutAfterCharge }),
    ).rejects.toBeInstanceOf(PaymentProviderError);
    expect(await provider.findCharge(request.idempotencyKey)).toMatchObject({
      status: "succeeded",
    });
  });

  it("refuses a reused key with another amount", async () => {
    const provider = sandboxPaymentProvider();
    await provider.charge(request);
    await expect(provider.charge({ ...request, amountMinor: 1 })).rejects.toMatchObject({
      retryable: false,
    });
  });

  it("signs callbacks that verify", async () => {
    const provider = sandboxPaymentProvider();
    await provider.charge(request);
    const hook = provider.webhookFor("pay_1", { secret: "whsec_test", eventId: "evt_1" });
    expect(hook).not.toBeNull();
    expect(JSON.parse(hook!.body)).toMatchObject({
      id: "evt_1",
      type: "charge.succeeded",
      data: { idempotencyKey: "pay_1" },
    });
    const check = verifyPaymentWebhook({
      header: hook!.headers["payment-signature"],
      body: hook!.body,
      secrets: "whsec_test",
    });
    expect(check.ok).toBe(true);
  });
});

describe("payment webhook signatures", () => {
  const body = '{"id":"evt_1"}';
  const now = new Date("2026-01-01T00:00:00Z");
  const t = Math.floor(now.getTime() / 1000);

  it("accepts a fresh signature and any one of several v1 (rotation)", () => {
    const header = signPaymentWebhook(["old-secret", "new-secret"], body, t);
    expect(verifyPaymentWebhook({ header, body, secrets: "new-secret", now }).ok).toBe(true);
    expect(verifyPaymentWebhook({ header, body, secrets: ["x", "old-secret"], now }).ok).toBe(true);
  });

  it("rejects a missing, malformed, stale, tampered or wrongly keyed signature", () => {
    const header = signPaymentWebhook("s", body, t);
    const verify = (h: string | undefined, b = body, secrets = "s", at = now) =>
      verifyPaymentWebhook({ header: h, body: b, secrets, now: at });
    expect(verify(undefined)).toEqual({ ok: false, reason: "missing" });
    expect(verify("garbage")).toEqual({ ok: false, reason: "malformed" });
    expect(verify(`t=${t}`)).toEqual({ ok: false, reason: "malformed" });
    expect(verify(header, body, "s", new Date(now.getTime() + 301_000))).toEqual({
      ok: false,
      reason: "stale",
    });
    expect(verify(header, '{"id":"evt_2"}')).toEqual({ ok: false, reason: "mismatch" });
    expect(verify(header, body, "other")).toEqual({ ok: false, reason: "mismatch" });
    expect(verify(header, body, "")).toEqual({ ok: false, reason: "mismatch" });
  });
});
