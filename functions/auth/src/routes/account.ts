import { users } from "@minispod/db";
import {
  type AppEnv,
  AppError,
  enforceRateLimit,
  fields,
  jsonBody,
  requireAuth,
  revokeUserTokens,
} from "@minispod/shared";
import { eq } from "drizzle-orm";
import { Hono } from "hono";
import * as v from "valibot";
import type { AuthDeps } from "../deps";
import { audit, changePassword, resendVerification, verifyEmail } from "../services/accounts";
import { passwordSchema } from "../services/passwords";
import { revokeAllSessions } from "../services/sessions";
import { loadActiveUser, toUserDto } from "../services/users";
import { clientInfo } from "./limits";
import { notes } from "./openapi";
import { cookieSession, wantsCookieSession } from "./session-cookie";

const tokenBody = v.object({
  token: v.pipe(
    v.string("must be a string"),
    v.nonEmpty("is required"),
    v.maxLength(200, "is too long"),
  ),
});

/** The signed-in user's own account: me, profile, password, email verification, logout everywhere. */
export function accountRoutes(deps: AuthDeps) {
  const auth = requireAuth(deps.verifier);
  return new Hono<AppEnv>()
    .get("/me", notes.me, auth, async (c) => {
      const claims = c.get("auth");
      return c.json(toUserDto(await loadActiveUser(deps.db, claims.userId, claims.issuedAt)));
    })
    .patch(
      "/me",
      notes.updateMe,
      auth,
      jsonBody(
        v.pipe(
          v.object({ name: v.optional(fields.name()) }),
          // Documented; the handler below names what is missing.
          v.metadata({ minProperties: 1 }),
        ),
      ),
      async (c) => {
        const claims = c.get("auth");
        const input = c.req.valid("json");
        if (input.name === undefined) {
          throw new AppError("VALIDATION_FAILED", {
            detail: "Nothing to update: send at least one of: name.",
            fields: [{ field: "", message: "no updatable field given" }],
          });
        }
        await loadActiveUser(deps.db, claims.userId, claims.issuedAt);
        const user = await deps.db.transaction(async (tx) => {
          const [updated] = await tx
            .update(users)
            .set({ name: input.name })
            .where(eq(users.id, claims.userId))
            .returning();
          await audit(tx, {
            user: updated!,
            action: "user.profile_updated",
            client: clientInfo(c),
          });
          return updated!;
        });
        return c.json(toUserDto(user));
      },
    )
    .post(
      "/password/change",
      notes.changePassword,
      auth,
      jsonBody(
        v.object({
          currentPassword: v.pipe(
            v.string("must be a string"),
            v.nonEmpty("is required"),
            v.maxLength(1024),
          ),
          newPassword: passwordSchema,
        }),
      ),
      async (c) => {
        const claims = c.get("auth");
        await enforceRateLimit(
          deps.limiter,
          {
            name: "auth:password-change",
            limit: deps.env.AUTH_RATE_LIMIT_LOGIN,
            windowSeconds: deps.env.AUTH_RATE_LIMIT_WINDOW,
          },
          claims.userId,
        );
        const input = c.req.valid("json");
        const session = await changePassword(
          deps,
          { userId: claims.userId, issuedAt: claims.issuedAt, ...input },
          clientInfo(c),
        );
        c.header("cache-control", "no-store");
        return c.json(
          wantsCookieSession(c)
            ? cookieSession(c, session, deps.env.JWT_REFRESH_EXPIRES_IN)
            : session,
        );
      },
    )
    .post("/logout/all", notes.logoutAll, auth, async (c) => {
      const claims = c.get("auth");
      const now = deps.now();
      await deps.db.transaction(async (tx) => {
        await revokeAllSessions(tx, claims.userId, now);
        await audit(tx, {
          user: { id: claims.userId, role: claims.role },
          action: "user.logout_all",
          client: clientInfo(c),
        });
      });
      await revokeUserTokens(deps.store, claims.userId, now, deps.env.JWT_EXPIRES_IN);
      return c.body(null, 204);
    })
    .post("/email/verify", notes.verifyEmail, jsonBody(tokenBody), async (c) => {
      await verifyEmail(deps, c.req.valid("json").token);
      return c.body(null, 204);
    })
    .post("/email/resend", notes.resendVerification, auth, async (c) => {
      const claims = c.get("auth");
      await enforceRateLimit(
        deps.limiter,
        {
          name: "auth:verify-resend",
          limit: deps.env.AUTH_RATE_LIMIT_RESET,
          windowSeconds: deps.env.AUTH_RATE_LIMIT_WINDOW,
        },
        claims.userId,
      );
      await resendVerification(deps, claims.userId, claims.issuedAt);
      return c.json({ status: "sent" }, 202);
    });
}
