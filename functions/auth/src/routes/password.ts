import { type AppEnv, fields, jsonBody } from "@minispod/shared";
import { Hono } from "hono";
import * as v from "valibot";
import type { AuthDeps } from "../deps";
import { requestPasswordReset, resetPassword } from "../services/accounts";
import { passwordSchema } from "../services/passwords";
import { authLimits, clientInfo } from "./limits";
import { notes } from "./openapi";

/** Known and unknown emails must be indistinguishable by time too: pad every answer to this. */
const FORGOT_MIN_MS = 300;

/** Forgotten password: request a reset email, then reset with its token. */
export function passwordRoutes(deps: AuthDeps) {
  const limits = authLimits(deps);
  return new Hono<AppEnv>()
    .post(
      "/password/forgot",
      notes.forgotPassword,
      limits.reset,
      jsonBody(v.object({ email: fields.email() })),
      async (c) => {
        const started = performance.now();
        const { email } = c.req.valid("json");
        await limits.perEmail("reset", email);
        await requestPasswordReset(deps, email);
        const left = FORGOT_MIN_MS - (performance.now() - started);
        if (left > 0) await new Promise((r) => setTimeout(r, left));
        return c.json(
          {
            status: "accepted",
            detail: "If an account exists for this email, a reset link is on its way.",
          },
          202,
        );
      },
    )
    .post(
      "/password/reset",
      notes.resetPassword,
      limits.reset,
      jsonBody(
        v.object({
          token: v.pipe(
            v.string("must be a string"),
            v.nonEmpty("is required"),
            v.maxLength(200, "is too long"),
          ),
          password: passwordSchema,
        }),
      ),
      async (c) => {
        await resetPassword(deps, c.req.valid("json"), clientInfo(c));
        return c.body(null, 204);
      },
    );
}
