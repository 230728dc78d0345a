import type { UserRole } from "@minispod/db";
import type { Hono } from "hono";
import { describe, expect, it } from "vitest";
import type { AppEnv } from "../app-env";
import type { SigningKey } from "../jwt";
import {
  expiredToken,
  foreignToken,
  hsConfusionToken,
  tamperedToken,
  unsignedToken,
} from "./tokens";

/** What the auth cases need of a test harness (`createHarness()` gives all of it). */
export interface SecurityHarness {
  signingKey: SigningKey;
  publicKeyPem: string;
  user(options?: { role?: UserRole }): Promise<{ id: string; token: string }>;
  bearer(user: { token: string }): { authorization: string };
}

export interface RouteUnderTest {
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  /** Path, or a function building it (e.g. from a resource made in beforeAll). */
  path: string | (() => string);
  body?: unknown;
  /** Roles that may call it; the others must get 403. Omit when every signed-in role may. */
  roles?: UserRole[];
}

/**
 * The authentication and role cases every protected route must pass:
 * missing, malformed, expired, forged (`alg: none`, HS256 with the public key,
 * a foreign key, a tampered payload) tokens -> 401; a wrong role -> 403.
 *
 * @example
 * runRouteSecurityTests(() => ({ app, harness: h }), { method: "GET", path: "/api/v1/invoices" });
 */
export function runRouteSecurityTests(
  setup: () => { app: Hono<AppEnv>; harness: SecurityHarness },
  route: RouteUnderTest,
) {
  const label = `${route.method} ${typeof route.path === "string" ? route.path : "(resource)"}`;
  const call = async (headers: Record<string, string>) => {
    const { app } = setup();
    const path = typeof route.path === "string" ? route.path : route.path();
    const init: RequestInit = { method: route.method, headers: { ...headers } };
    if (route.body !== undefined) {
      init.body = JSON.stringify(route.body);
      (init.headers as Record<string, string>)["content-type"] = "application/json";
    }
    return app.request(path, init);
  };
  const expectProblem = async (response: Response, status: number) => {
    expect(response.status).toBe(status);
    expect(response.headers.get("content-type")).toContain("application/problem+json");
    const body = (await response.json()) as { status: number; code: string };
    expect(body.status).toBe(status);
    return body;
  };

  describe(`${label} security`, () => {
    it("answers 401 without a token", async () => {
      const body = await expectProblem(await call({}), 401);
      expect(body.code).toBe("UNAUTHORIZED");
    });
    it("answers 401 to a non-Bearer Authorization header", async () => {
      await expectProblem(await call({ authorization: "Basic dXNlcjpwYXNz" }), 401);
    });
    it("answers 401 to an expired token", async () => {
      const { harness } = setup();
      const user = await harness.user();
      const body = await expectProblem(
        await call({ authorization: `Bearer ${await expiredToken(harness.signingKey, user.id)}` }),
        401,
      );
      expect(body.code).toBe("TOKEN_EXPIRED");
    });
    it("answers 401 to alg:none, HS256-with-public-key, foreign-key and tampered tokens", async () => {
      const { harness } = setup();
      const user = await harness.user();
      const forged = [
        unsignedToken(user.id),
        await hsConfusionToken(harness.publicKeyPem, user.id),
        await foreignToken(user.id, "SUPER_ADMIN"),
        tamperedToken(user.token),
      ];
      for (const token of forged) {
        const body = await expectProblem(await call({ authorization: `Bearer ${token}` }), 401);
        expect(body.code).toBe("INVALID_TOKEN");
      }
    });
    if (route.roles) {
      const allowed = new Set(route.roles);
      const denied = (["CUSTOMER", "ADMIN", "SUPER_ADMIN"] as const).filter((r) => !allowed.has(r));
      for (const role of denied) {
        it(`answers 403 to a ${role}`, async () => {
          const { harness } = setup();
          const user = await harness.user({ role });
          const body = await expectProblem(await call(harness.bearer(user)), 403);
          expect(body.code).toBe("FORBIDDEN");
        });
      }
    }
  });
}
