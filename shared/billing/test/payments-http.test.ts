import { delay, HttpResponse, http } from "msw";
import { setupServer } from "msw/node";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type HttpPaymentProviderOptions, httpPaymentProvider } from "../src/payments/http";
import {
  type ChargeRequest,
  PaymentProviderError,
  paymentProviderFromConfig,
} from "../src/payments/index";

const BASE = "https://pay.example.test/api";
const CHARGES = `${BASE}/v1/charges`;
const API_KEY = "sk_test_not_a_real_key";

const server = setupServer();
beforeAll(() => server.listen({ onUnhandledFrame: "error" }));
afterEach(() => server.resetHandlers());
afterAll(() => server.close());

const provider = (options: Partial<HttpPaymentProviderOptions> = {}) =>
  httpPaymentProvider({ baseUrl: BASE, apiKey: API_KEY, retryDelayMs: 1, ...options });

const request: ChargeRequest = {
  idempotencyKey: "pay_0001",
  amountMinor: 900,
  currency: "EUR",
  customerId: "user-1",
  description: "Gitea, monthly",
  paymentMethod: "pm_card",
  metadata: { subscriptionId: "sub-1" },
};

interface Seen {
  headers: Headers;
  body: unknown;
}

/** Records every charge request and answers with the given responses in turn (the last repeats). */
function chargeEndpoint(...answers: (() => Response | Promise<Response>)[]) {
  const seen: Seen[] = [];
  server.use(
    http.post(CHARGES, async ({ request: req }) => {
      seen.push({ headers: req.headers, body: await req.json() });
      const answer = answers[Math.min(seen.length - 1, answers.length - 1)]!;
      return answer();
    }),
  );
  return seen;
}

async function rejection(promise: Promise<unknown>): Promise<PaymentProviderError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(PaymentProviderError);
  return error as PaymentProviderError;
}

describe("http payment provider: charge", () => {
  it("reads reusable: false (no method kept for later charges) and nothing else as such", async () => {
    chargeEndpoint(
      () => HttpResponse.json({ id: "ch_once", status: "succeeded", reusable: false }),
      () => HttpResponse.json({ id: "ch_kept", status: "succeeded", reusable: true }),
    );
    expect(await provider().charge(request)).toEqual({
      status: "succeeded",
      providerPaymentId: "ch_once",
      reusable: false,
    });
    expect(await provider().charge({ ...request, idempotencyKey: "pay_0002" })).toEqual({
      status: "succeeded",
      providerPaymentId: "ch_kept",
    });
  });

  it("sends the charge with key, auth and body, and reads a success", async () => {
    const seen = chargeEndpoint(() =>
      HttpResponse.json({ id: "ch_1", status: "succeeded" }, { status: 201 }),
    );
    const result = await provider().charge(request);
    expect(result).toEqual({ status: "succeeded", providerPaymentId: "ch_1" });
    expect(seen).toHaveLength(1);
    expect(seen[0]!.headers.get("authorization")).toBe(`Bearer ${API_KEY}`);
    expect(seen[0]!.headers.get("idempotency-key")).toBe("pay_0001");
    expect(seen[0]!.headers.get("content-type")).toBe("application/json");
    expect(seen[0]!.body).toEqual({
      amount: 900,
      currency: "EUR",
      customer: "user-1",
      description: "Gitea, monthly",
      payment_method: "pm_card",
      metadata: { subscriptionId: "sub-1" },
    });
  });

  it("returns a 402 as a declined value with the gateway's code and message", async () => {
    chargeEndpoint(() =>
      HttpResponse.json(
        {
          id: "ch_2",
          status: "declined",
          decline_code: "insufficient_funds",
          message: "Not enough money.",
        },
        { status: 402 },
      ),
    );
    expect(await provider().charge(request)).toEqual({
      status: "declined",
      providerPaymentId: "ch_2",
      code: "insufficient_funds",
      message: "Not enough money.",
    });
  });

  it("returns a 200 with status declined as a declined value too", async () => {
    chargeEndpoint(() => HttpResponse.json({ id: "ch_3", status: "declined" }));
    expect(await provider().charge(request)).toMatchObject({
      status: "declined",
      code: "declined",
    });
  });

  it("retries a 503 with the same idempotency key, then succeeds", async () => {
    const seen = chargeEndpoint(
      () => HttpResponse.json({ message: "overloaded" }, { status: 503 }),
      () => HttpResponse.json({ id: "ch_4", status: "succeeded" }),
    );
    expect(await provider().charge(request)).toEqual({
      status: "succeeded",
      providerPaymentId: "ch_4",
    });
    expect(seen).toHaveLength(2);
    expect(seen.map((s) => s.headers.get("idempotency-key"))).toEqual(["pay_0001", "pay_0001"]);
    expect(seen[1]!.body).toEqual(seen[0]!.body);
  });

  it("retries 429 and 409 (key still in flight) as well", async () => {
    const seen = chargeEndpoint(
      () => new HttpResponse(null, { status: 429, headers: { "retry-after": "0" } }),
      () => HttpResponse.json({ message: "in flight" }, { status: 409 }),
      () => HttpResponse.json({ id: "ch_5", status: "succeeded" }),
    );
    expect(await provider().charge(request)).toMatchObject({ status: "succeeded" });
    expect(seen).toHaveLength(3);
  });

  it("gives up after the retries with a retryable error", async () => {
    const seen = chargeEndpoint(() => new HttpResponse(null, { status: 502 }));
    const error = await rejection(provider({ maxRetries: 2 }).charge(request));
    expect(error.retryable).toBe(true);
    expect(error.message).toContain("502");
    expect(seen).toHaveLength(3);
  });

  it("does not retry a 400 and throws a non-retryable error without the key", async () => {
    const seen = chargeEndpoint(() =>
      HttpResponse.json({ message: "amount is invalid" }, { status: 400 }),
    );
    const error = await rejection(provider().charge(request));
    expect(error.retryable).toBe(false);
    expect(error.message).toContain("400");
    expect(error.message).toContain("amount is invalid");
    expect(error.message).not.toContain(API_KEY);
    expect(seen).toHaveLength(1);
  });

  it("does not retry a 401 (wrong API key)", async () => {
    const seen = chargeEndpoint(() => new HttpResponse(null, { status: 401 }));
    expect((await rejection(provider().charge(request))).retryable).toBe(false);
    expect(seen).toHaveLength(1);
  });

  it("throws a retryable error when no answer comes within the timeout", async () => {
    chargeEndpoint(async () => {
      await delay(2_000);
      return HttpResponse.json({ id: "ch_late", status: "succeeded" });
    });
    const started = Date.now();
    const error = await rejection(provider({ timeoutMs: 100 }).charge(request));
    expect(error.retryable).toBe(true);
    expect(error.message).toContain("100 ms");
    expect(Date.now() - started).toBeLessThan(1_500);
  });

  it("retries a network error and reports it as retryable when it persists", async () => {
    const seen = chargeEndpoint(() => HttpResponse.error());
    const error = await rejection(provider({ maxRetries: 1 }).charge(request));
    expect(error.retryable).toBe(true);
    expect(error.message).toContain("unreachable");
    expect(seen).toHaveLength(2);
  });

  it("treats a pending charge or an unreadable 2xx body as an unknown outcome", async () => {
    chargeEndpoint(() => HttpResponse.json({ id: "ch_6", status: "pending" }));
    expect((await rejection(provider().charge(request))).retryable).toBe(true);
    chargeEndpoint(() => new HttpResponse("<html>ok</html>", { status: 200 }));
    expect((await rejection(provider().charge(request))).retryable).toBe(true);
  });
});

describe("http payment provider: findCharge", () => {
  it("looks the charge up by idempotency key", async () => {
    let query: string | null = null;
    server.use(
      http.get(CHARGES, ({ request: req }) => {
        query = new URL(req.url).searchParams.get("idempotency_key");
        expect(req.headers.get("authorization")).toBe(`Bearer ${API_KEY}`);
        return HttpResponse.json({ id: "ch_7", status: "succeeded" });
      }),
    );
    expect(await provider().findCharge("pay 0001/x")).toEqual({
      status: "succeeded",
      providerPaymentId: "ch_7",
    });
    expect(query).toBe("pay 0001/x");
  });

  it("reports the amount and currency the gateway charged, when it says", async () => {
    server.use(
      http.get(CHARGES, () =>
        HttpResponse.json({ id: "ch_8", status: "succeeded", amount_minor: 900, currency: "eur" }),
      ),
    );
    expect(await provider().findCharge("pay_0008")).toEqual({
      status: "succeeded",
      providerPaymentId: "ch_8",
      amountMinor: 900,
      currency: "EUR",
    });
  });

  it("answers null when the gateway never saw the key", async () => {
    server.use(
      http.get(CHARGES, () => HttpResponse.json({ message: "no such charge" }, { status: 404 })),
    );
    expect(await provider().findCharge("pay_unknown")).toBeNull();
  });

  it("reports a declined charge as declined", async () => {
    server.use(
      http.get(CHARGES, () =>
        HttpResponse.json({ id: "ch_8", status: "failed", decline_code: "expired_card" }),
      ),
    );
    expect(await provider().findCharge("pay_0002")).toMatchObject({
      status: "declined",
      code: "expired_card",
    });
  });

  it("retries a 500 and then answers", async () => {
    let calls = 0;
    server.use(
      http.get(CHARGES, () => {
        calls++;
        return calls === 1
          ? new HttpResponse(null, { status: 500 })
          : HttpResponse.json({ id: "ch_9", status: "succeeded" });
      }),
    );
    expect(await provider().findCharge("pay_0003")).toMatchObject({ status: "succeeded" });
    expect(calls).toBe(2);
  });
});

describe("paymentProviderFromConfig", () => {
  it("uses the HTTP provider when a gateway URL is set", async () => {
    chargeEndpoint(() => HttpResponse.json({ id: "ch_10", status: "succeeded" }));
    const p = paymentProviderFromConfig({ gatewayUrl: BASE, apiKey: API_KEY, timeoutMs: 1_000 });
    expect(p.name).toBe("http");
    expect(await p.charge(request)).toMatchObject({ providerPaymentId: "ch_10" });
  });

  it("refuses a gateway URL without an API key", () => {
    expect(() => paymentProviderFromConfig({ gatewayUrl: BASE })).toThrow(/PAYMENT_API_KEY/);
  });

  it("falls back to one shared sandbox", () => {
    const a = paymentProviderFromConfig({});
    expect(a.name).toBe("sandbox");
    expect(paymentProviderFromConfig()).toBe(a);
  });
});
