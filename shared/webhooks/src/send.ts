import http from "node:http";
import https from "node:https";
import type { LookupFunction } from "node:net";
import {
  ForbiddenDestinationError,
  type ResolvedAddress,
  type Resolver,
  resolveSafeAddress,
} from "./ssrf";

/** How much of a customer's answer is kept on the attempt: enough to debug, never a flood. */
export const RESPONSE_BODY_LIMIT = 1024;

export interface SendRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
  timeoutMs: number;
  /** `WEBHOOK_ALLOW_PRIVATE`: skip the SSRF guard and allow plain http (local development). */
  allowPrivate: boolean;
  resolver?: Resolver;
}

/** What one attempt came to. `statusCode` is null when no HTTP answer arrived. */
export interface SendResult {
  ok: boolean;
  statusCode: number | null;
  durationMs: number;
  error: string | null;
  responseBody: string | null;
}

/** Sends one webhook request; never throws, every failure is a result. Swappable in tests. */
export type WebhookSender = (request: SendRequest) => Promise<SendResult>;

class DeadlineError extends Error {}

/** Hands the connection the address the guard checked, whatever the resolver would say now. */
function pinnedLookup(pinned: ResolvedAddress): LookupFunction {
  return (_hostname, options, callback) => {
    if (options.all) callback(null, [{ address: pinned.address, family: pinned.family }]);
    else callback(null, pinned.address, pinned.family);
  };
}

/**
 * POSTs a webhook with the SSRF guard on: the hostname is resolved once,
 * every address checked, and the socket connects to the checked address (TLS
 * still verifies the certificate against the hostname). Redirects are not
 * followed — a 3xx is a failure like any non-2xx. The whole attempt, name
 * resolution to last byte kept, is bounded by `timeoutMs`.
 *
 * @example
 * const result = await sendWebhookRequest({ url, headers, body, timeoutMs: 10_000, allowPrivate: false });
 * if (!result.ok) scheduleRetry(result.error ?? `HTTP ${result.statusCode}`);
 */
export const sendWebhookRequest: WebhookSender = async (request) => {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  const failure = (error: string): SendResult => ({
    ok: false,
    statusCode: null,
    durationMs: elapsed(),
    error,
    responseBody: null,
  });

  let url: URL;
  try {
    url = new URL(request.url);
  } catch {
    return failure("invalid URL");
  }
  const secure = url.protocol === "https:";
  if (!secure && !(url.protocol === "http:" && request.allowPrivate)) {
    return failure(`refused: ${url.protocol} URLs are not allowed`);
  }
  const timedOut = `timed out after ${request.timeoutMs} ms`;
  let pinned: ResolvedAddress;
  // Resolution counts against the deadline too: a slow (or hostile) DNS zone
  // must not stretch an attempt past the sweep's lease.
  let dnsTimer: NodeJS.Timeout | undefined;
  try {
    pinned = await Promise.race([
      resolveSafeAddress(url.hostname, {
        allowPrivate: request.allowPrivate,
        ...(request.resolver ? { resolver: request.resolver } : {}),
      }),
      new Promise<never>((_, reject) => {
        dnsTimer = setTimeout(() => reject(new DeadlineError(timedOut)), request.timeoutMs);
      }),
    ]);
  } catch (error) {
    return failure(
      error instanceof ForbiddenDestinationError || error instanceof DeadlineError
        ? error.message
        : "could not resolve host",
    );
  } finally {
    clearTimeout(dnsTimer);
  }

  return new Promise<SendResult>((resolve) => {
    let settled = false;
    const finish = (result: SendResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(result);
    };
    const client = secure ? https : http;
    const req = client.request(url, {
      method: "POST",
      headers: { ...request.headers, "content-length": String(Buffer.byteLength(request.body)) },
      lookup: pinnedLookup(pinned),
      // A fresh connection per attempt: a pooled socket could outlive the check it was made under.
      agent: false,
    });
    // What is left of the deadline after resolution.
    const timer = setTimeout(
      () => req.destroy(new Error(timedOut)),
      Math.max(0, request.timeoutMs - elapsed()),
    );

    req.on("error", (error) => finish(failure(error.message)));
    req.on("response", (res) => {
      const status = res.statusCode ?? 0;
      const chunks: Buffer[] = [];
      let kept = 0;
      const done = () => {
        const ok = status >= 200 && status < 300;
        finish({
          ok,
          statusCode: status,
          durationMs: elapsed(),
          error: ok
            ? null
            : status >= 300 && status < 400
              ? `redirect (${status}) not followed`
              : `HTTP ${status}`,
          responseBody: Buffer.concat(chunks).subarray(0, RESPONSE_BODY_LIMIT).toString("utf8"),
        });
      };
      res.on("data", (chunk: Buffer) => {
        if (kept >= RESPONSE_BODY_LIMIT) return;
        chunks.push(chunk);
        kept += chunk.length;
        // The rest of a large answer is of no use; stop reading it.
        if (kept >= RESPONSE_BODY_LIMIT) {
          done();
          res.destroy();
        }
      });
      res.on("end", done);
      res.on("error", done);
      res.on("close", done);
    });
    req.end(request.body);
  });
};
