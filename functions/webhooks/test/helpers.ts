import type { AppEnv } from "@minispod/shared";
import { json, type TestUser } from "@minispod/shared/testing";
import type { ReceivedRequest } from "@minispod/webhooks/test-receiver";
import type { Hono } from "hono";
import { Webhook } from "standardwebhooks";
import { expect, vi } from "vitest";

export interface EndpointBody {
  id: string;
  userId: string;
  url: string;
  events: string[];
  description: string;
  enabled: boolean;
  disabledReason: string | null;
  failingSince: string | null;
  createdAt: string;
  secret?: string;
  previousSecretExpiresAt?: string | null;
}

export interface DeliveryBody {
  id: string;
  messageId: string;
  eventType: string;
  status: string;
  attemptCount: number;
  lastStatusCode: number | null;
  lastError: string | null;
  nextAttemptAt: string | null;
  createdAt: string;
  payload: { type: string; timestamp: string; data: Record<string, unknown> };
  attempts: {
    attemptNumber: number;
    statusCode: number | null;
    durationMs: number;
    error: string | null;
    createdAt: string;
  }[];
}

export const bearer = (user: TestUser) => ({ authorization: `Bearer ${user.token}` });

/** Creates an endpoint through the API and returns the 201 body (with its secret). */
export async function createEndpoint(
  app: Hono<AppEnv>,
  user: TestUser,
  body: Record<string, unknown>,
): Promise<EndpointBody & { secret: string }> {
  const response = await app.request("/api/v1/webhooks", json(body, bearer(user)));
  expect(response.status).toBe(201);
  return (await response.json()) as EndpointBody & { secret: string };
}

/**
 * Verifies a received request with the independent `standardwebhooks`
 * library as the receiver would have when it arrived: the library checks the
 * timestamp against its own clock, and tests move ours by days.
 */
export function verifyAsSent(secret: string, request: ReceivedRequest): unknown {
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(Number(request.headers["webhook-timestamp"]) * 1000);
  try {
    return new Webhook(secret).verify(request.body, request.headers);
  } finally {
    vi.useRealTimers();
  }
}
