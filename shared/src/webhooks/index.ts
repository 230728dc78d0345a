/**
 * Outbound webhooks: signing, the SSRF-guarded sender and the attempt
 * bookkeeping shared by the webhooks API (test pings, redeliveries) and the
 * webhook-dispatcher (fan-out, retries). Import from "@minispod/shared/webhooks/index".
 */
export * from "./delivery";
export * from "./disable";
export * from "./env";
export * from "./message";
export * from "./metrics";
export * from "./send";
export * from "./signing";
export * from "./ssrf";
