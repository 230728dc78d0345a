import { outboxEvents } from "@minispod/db";
import { createHarness, type Harness, json } from "@minispod/shared/testing";
import { and, desc, eq } from "drizzle-orm";
import type { Hono } from "hono";
import { afterAll, beforeAll } from "vitest";
import { authFunction } from "../src/function";

export const PASSWORD = "a long enough password";

/**
 * One harness and auth app per test file; `ip()` gives each test its own client
 * address, sent as X-Forwarded-For from one trusted proxy (in-process requests
 * have no socket peer to fall back on).
 */
export function setupAuth(overrides: Record<string, string> = {}) {
  const state = {} as { h: Harness; app: Hono<never> };
  beforeAll(async () => {
    state.h = await createHarness();
    state.app = (await state.h.app(authFunction, {
      TRUST_PROXY_HOPS: "1",
      ...overrides,
    })) as unknown as Hono<never>;
  });
  afterAll(() => state.h.close());
  let counter = 0;
  const ip = () => `198.51.100.${(counter++ % 250) + 1}`;
  return {
    get h() {
      return state.h;
    },
    get app() {
      return state.app;
    },
    ip,
    post(path: string, body: unknown, headers: Record<string, string> = {}) {
      return state.app.request(
        `/api/v1/auth${path}`,
        json(body, { "x-forwarded-for": ip(), ...headers }),
      );
    },
    async register(
      email = `u-${crypto.randomUUID().slice(0, 8)}@example.com`,
      password = PASSWORD,
    ) {
      const res = await state.app.request(
        "/api/v1/auth/register",
        json({ email, password, name: "Ada Lovelace" }, { "x-forwarded-for": ip() }),
      );
      if (res.status !== 201) throw new Error(`register failed: ${res.status} ${await res.text()}`);
      return (await res.json()) as {
        user: { id: string; email: string };
        accessToken: string;
        refreshToken: string;
      };
    },
    /** Newest outbox event of a type for a user (tests read tokens the notifier would email). */
    async lastEvent(type: string, userId: string) {
      const [row] = await state.h.database.db
        .select()
        .from(outboxEvents)
        .where(and(eq(outboxEvents.type, `dev.minispod.${type}`), eq(outboxEvents.subject, userId)))
        .orderBy(desc(outboxEvents.createdAt))
        .limit(1);
      return row?.data as Record<string, string> | undefined;
    },
  };
}
