import type { AppEnv } from "@minispod/shared";
import type { Context } from "hono";
import type { Actor } from "../services/audit";

/** The signed-in caller as an audit actor. */
export function actorOf(c: Context<AppEnv>): Actor {
  const claims = c.get("auth");
  return { userId: claims.userId, role: claims.role, requestId: c.get("requestId") };
}
