import { ApiException } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { RequestTimeoutError } from "../src/kubernetes/driver";
import { classify } from "../src/kubernetes/errors";
import { withRetries } from "../src/kubernetes/retry";
import { ClusterError } from "../src/port";

const api = (code: number, message = `HTTP ${code}`, headers: Record<string, string> = {}) =>
  new ApiException(code, message, JSON.stringify({ kind: "Status", message }), headers);
const noWait = { attempts: 4, baseDelayMs: 0, maxDelayMs: 0 };

/** Fails with the given errors in turn, then answers "ok"; counts calls. */
function flaky(...errors: unknown[]) {
  const fn = async () => {
    fn.calls++;
    const next = errors.shift();
    if (next !== undefined) throw next;
    return "ok";
  };
  fn.calls = 0;
  return fn;
}

describe("retries", () => {
  it("retries 409, 429, 5xx, network errors and timeouts, then answers", async () => {
    const refused = Object.assign(new TypeError("fetch failed"), {
      cause: { code: "ECONNREFUSED" },
    });
    const timedOut = new RequestTimeoutError("no answer within 10 ms");
    const fn = flaky(api(429), api(503), refused, timedOut);
    await expect(withRetries("read", fn, { ...noWait, attempts: 5 })).resolves.toBe("ok");
    expect(fn.calls).toBe(5);
  });

  it("throws the last transient failure after the last try, marked retryable", async () => {
    const fn = flaky(api(500), api(502), api(503), api(504, "gateway"));
    const error = await withRetries("apply", fn, noWait).catch((e: unknown) => e);
    expect(fn.calls).toBe(4);
    expect(error).toBeInstanceOf(ClusterError);
    expect(error).toMatchObject({ code: "unavailable", status: 504, retryable: true });
  });

  it("does not retry 401/403/400/422/404", async () => {
    for (const [status, code] of [
      [401, "forbidden"],
      [403, "forbidden"],
      [400, "invalid"],
      [422, "invalid"],
      [404, "not_found"],
    ] as const) {
      const fn = flaky(api(status));
      await expect(withRetries("x", fn, noWait)).rejects.toMatchObject({ code, status });
      expect(fn.calls).toBe(1);
    }
  });

  it("waits between tries: exponential, capped, with full jitter", async () => {
    const fn = flaky(api(503), api(503), api(503));
    const started = Date.now();
    await withRetries("x", fn, { attempts: 4, baseDelayMs: 40, maxDelayMs: 60 }, () => 1);
    // 40 + 60 (80 capped) + 60 = 160 ms with the jitter at its maximum.
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
  });
});

describe("error classes", () => {
  it("tells admission refusals and a terminating namespace apart from RBAC", () => {
    expect(
      classify(api(403, 'pods "x" is forbidden: violates PodSecurity "restricted:latest"'), "x")
        .error.code,
    ).toBe("invalid");
    expect(classify(api(403, "exceeded quota: plans, requested: pods=1"), "x").error.code).toBe(
      "invalid",
    );
    const terminating = classify(
      api(403, "unable to create new content in namespace t-1 because it is being terminated"),
      "x",
    );
    expect(terminating.error).toMatchObject({ code: "unavailable", retryable: true });
    expect(terminating.retryNow).toBe(false);
    expect(classify(api(403, 'User "x" cannot list resource "secrets"'), "x").error.code).toBe(
      "forbidden",
    );
  });

  it("honours Retry-After and treats an expired list token as a conflict", () => {
    expect(classify(api(429, "slow down", { "retry-after": "2" }), "x").retryAfterMs).toBe(2000);
    expect(classify(api(410, "too old resource version"), "x")).toMatchObject({
      retryNow: false,
      error: { code: "conflict" },
    });
  });

  it("lets programming errors through untouched", () => {
    const bug = new RangeError("bug");
    expect(() => classify(bug, "x")).toThrow(bug);
  });
});
