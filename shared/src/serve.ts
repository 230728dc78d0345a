import { serve } from "@hono/node-server";
import type { Hono } from "hono";
import type { AppEnv } from "./app";
import { type BaseEnv, EnvError, parseEnv } from "./env";
import { createLogger, type Logger } from "./logger";
import { buildContext, createInfrastructure, type FunctionDefinition } from "./runtime";

export interface ServeOptions {
  port: number;
  /** Interface to bind; all of them by default (containers). */
  hostname?: string;
  logger: Logger;
  /** Closes pools and clients after in-flight requests finish. */
  onShutdown?: () => Promise<void>;
  /** Longest wait for in-flight requests before exiting anyway. */
  graceMs?: number;
}

/**
 * Serves a Hono app and shuts down gracefully on SIGTERM/SIGINT: stop
 * accepting, let in-flight requests finish, close pools, exit.
 */
export function serveApp(fetch: Hono<AppEnv>["fetch"], options: ServeOptions) {
  const server = serve({ fetch, port: options.port, hostname: options.hostname }, (info) => {
    options.logger.info({ port: info.port, address: info.address }, "listening");
  });
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    options.logger.info({ signal }, "shutting down");
    const force = setTimeout(() => {
      options.logger.warn("in-flight requests did not finish in time; exiting");
      process.exit(1);
    }, options.graceMs ?? 25_000);
    force.unref();
    server.close(async () => {
      try {
        await options.onShutdown?.();
        options.logger.info("stopped");
        process.exit(0);
      } catch (error) {
        options.logger.error({ err: error }, "shutdown failed");
        process.exit(1);
      }
    });
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
  return server;
}

/** `main.ts` of every function: parse env (fail fast), connect, build, serve. */
export async function runStandalone<E extends BaseEnv>(
  definition: FunctionDefinition<E>,
  source: Record<string, string | undefined>,
): Promise<void> {
  let env: E;
  try {
    env = parseEnv(definition.envSchema as never, source) as E;
  } catch (error) {
    if (error instanceof EnvError) {
      console.error(`${definition.name}: ${error.message}`);
      process.exit(1);
    }
    throw error;
  }
  const logger = createLogger({ name: definition.name, level: env.LOG_LEVEL });
  const infra = await createInfrastructure(env, logger);
  const ctx = buildContext(definition, env, infra, logger);
  const app = await definition.create(ctx);
  serveApp(app.fetch, {
    port: env.PORT,
    logger,
    onShutdown: async () => {
      await ctx.events.idle();
      await ctx.closeAll();
      await infra.close();
    },
  });
}
