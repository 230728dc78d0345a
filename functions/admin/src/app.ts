import { baseApp, type FunctionContext } from "@minispod/shared";
import type { AdminEnv } from "./env";

export type AdminDeps = FunctionContext<AdminEnv>;

export function createApp(deps: AdminDeps) {
  const app = baseApp(deps);
  return app;
}
