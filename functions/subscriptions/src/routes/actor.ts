import type { AppEnv } from "@minispod/shared";
import type { Context } from "hono";
import type { Actor } from "../services/context";

/** The signed-in caller as the services see it. */
export function actorOf(c: Context<AppEnv>): Actor {
  const auth = c.get("auth");
  return { id: auth.userId, role: auth.role };
}
