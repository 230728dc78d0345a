import { randomUUID } from "node:crypto";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { serve } from "@hono/node-server";
import type { Hono } from "hono";
import type { AppEnv } from "./app-env";
import { type BaseEnv, parseEnv } from "./env";
import { AppError, problemOf } from "./errors";
import { createLogger, type Logger } from "./logger";
import {
  buildContext,
  checkConnections,
  createInfrastructure,
  type FunctionDefinition,
} from "./runtime";
import { FunctionResponse } from "./security-headers";
import { exitOnStartupFailure, StartupError } from "./startup";

export interface ServeOptions {
  port: number;
  /** Interface to bind; all of them by default (containers). */
  hostname?: string;
  logger: Logger;
  /** Closes pools and clients after in-flight requests finish. */
  onShutdown?: () => Promise<void>;
  /** Longest wait for in-flight requests before exiting anyway. */
  graceMs?: number;
  /**
   * On SIGTERM/SIGINT, the port closes only once no request is in flight and
   * no connection or request came for this long (default 300 ms; waiting for
   * that quiet stops after 2 s, in-flight requests are still awaited).
   */
  quietMs?: number;
  /**
   * A body the app answered without reading (413, 401 before the upload
   * ended…) is still read and thrown away, up to this many bytes, so the client
   * gets the answer instead of a reset connection; past it the connection closes.
   */
  maxDrainBytes?: number;
  /** Longest time spent reading such an unread body. */
  drainTimeoutMs?: number;
}

/**
 * Serves a Hono app and shuts down gracefully on SIGTERM/SIGINT: stop
 * accepting, let in-flight requests finish, close pools, exit. Resolves once
 * the port is listening; rejects with a StartupError naming PORT when it can't
 * be (in use, not allowed), so nobody announces a server that isn't there.
 *
 * @example
 * const server = await serveApp(app.fetch, { port: 8080, logger });
 */
export async function serveApp(
  fetch: Hono<AppEnv>["fetch"],
  options: ServeOptions,
): Promise<Server> {
  const server = serve({
    fetch,
    port: options.port,
    hostname: options.hostname,
    // Ours below: the adapter's own clean-up gives a slow upload 500 ms, then resets it.
    autoCleanupIncoming: false,
    // Writes the security headers and request id with the response head (see security-headers.ts).
    serverOptions: { ServerResponse: FunctionResponse as typeof ServerResponse },
  }) as Server;
  answerClientErrors(server, options.logger);
  drainUnreadBodies(
    server,
    options.maxDrainBytes ?? 16 * 1024 * 1024,
    options.drainTimeoutMs ?? 15_000,
  );

  await new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      server.off("listening", onListening);
      const where = `${options.hostname ?? "0.0.0.0"}:${options.port}`;
      reject(
        new StartupError(
          {
            variable: "PORT",
            tried: where,
            problem:
              error.code === "EADDRINUSE"
                ? "the port is already in use (another process listens there)"
                : error.code === "EACCES"
                  ? "not allowed to listen on this port"
                  : `cannot listen: ${error.code ?? error.message}`,
            fix: "stop the other process, or set PORT to a free port",
          },
          { cause: error },
        ),
      );
    };
    const onListening = () => {
      server.off("error", onError);
      resolve();
    };
    server.once("error", onError);
    server.once("listening", onListening);
  });
  const address = server.address() as AddressInfo;
  options.logger.info({ port: address.port, address: address.address }, "listening");

  // Requests being answered, and when a connection or request last came or went.
  let inFlight = 0;
  let lastActivity = Date.now();
  let stopping = false;
  server.on("connection", () => {
    lastActivity = Date.now();
  });
  server.on("request", (_incoming: IncomingMessage, outgoing: ServerResponse) => {
    inFlight++;
    lastActivity = Date.now();
    // Once stopping, every answer closes its connection: keep-alive clients move on.
    if (stopping) outgoing.shouldKeepAlive = false;
    outgoing.once("close", () => {
      inFlight--;
      lastActivity = Date.now();
    });
  });
  const quietMs = options.quietMs ?? 300;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    options.logger.info({ signal, inFlight }, "shutting down");
    const force = setTimeout(() => {
      options.logger.warn("in-flight requests did not finish in time; exiting");
      process.exit(1);
    }, options.graceMs ?? 25_000);
    force.unref();
    // Not server.close() at once: connections the kernel accepted but the event
    // loop has not taken yet (it was busy, e.g. with PGlite's queries) would be
    // reset with the listening socket. Keep serving until nothing is in flight
    // and nothing new came for a moment, then close.
    // A steady trickle (probes every few hundred ms) must not hold the port open for good.
    const quietBy = Date.now() + Math.max(quietMs, 2000);
    const whenQuiet = () => {
      const quiet = Date.now() - lastActivity >= quietMs || Date.now() >= quietBy;
      if (inFlight > 0 || !quiet) {
        setTimeout(whenQuiet, 50);
        return;
      }
      close();
    };
    whenQuiet();
  };
  const close = () =>
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
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
  return server;
}

const STATUS_LINE: Record<number, string> = {
  400: "Bad Request",
  408: "Request Timeout",
  431: "Request Header Fields Too Large",
};

/**
 * Requests Node rejects before the app sees them (headers over the limit, a
 * malformed request line) get the same problem+json as everything else,
 * instead of Node's bare status line.
 */
function answerClientErrors(server: Server, logger: Logger) {
  server.on("clientError", (error: NodeJS.ErrnoException, socket: Socket) => {
    if (error.code === "ECONNRESET" || !socket.writable) {
      socket.destroy();
      return;
    }
    const problem =
      error.code === "HPE_HEADER_OVERFLOW"
        ? new AppError("HEADERS_TOO_LARGE", {
            detail: "The request headers are too large; send fewer or shorter headers.",
          })
        : error.code === "ERR_HTTP_REQUEST_TIMEOUT"
          ? new AppError("REQUEST_TIMEOUT", { detail: "The request took too long to arrive." })
          : new AppError("BAD_REQUEST", { detail: "The request is not valid HTTP." });
    const requestId = randomUUID();
    logger.info(
      { requestId, code: error.code, status: problem.status },
      "request refused by the HTTP parser",
    );
    const body = JSON.stringify(problemOf(problem, requestId));
    socket.end(
      `HTTP/1.1 ${problem.status} ${STATUS_LINE[problem.status] ?? "Bad Request"}\r\n` +
        "content-type: application/problem+json\r\n" +
        `content-length: ${Buffer.byteLength(body)}\r\n` +
        `x-request-id: ${requestId}\r\n` +
        "cache-control: no-store\r\n" +
        "connection: close\r\n\r\n" +
        body,
    );
  });
}

/**
 * Once an answer is sent, reads what is left of the request body (bounded in
 * bytes and time) so the client, still uploading, can read the answer: closing
 * on it mid-upload makes fetch report a socket error instead of the 413.
 */
function drainUnreadBodies(server: Server, maxBytes: number, timeoutMs: number) {
  server.on("request", (incoming: IncomingMessage, outgoing: ServerResponse) => {
    if (incoming.method === "GET" || incoming.method === "HEAD") return;
    outgoing.once("finish", () => {
      if (incoming.readableEnded || incoming.destroyed) return;
      let read = 0;
      const giveUp = () => {
        cleanup();
        incoming.socket?.destroy();
      };
      const timer = setTimeout(giveUp, timeoutMs);
      timer.unref();
      const onData = (chunk: Buffer) => {
        read += chunk.length;
        if (read > maxBytes) giveUp();
      };
      const cleanup = () => {
        clearTimeout(timer);
        incoming.off("data", onData);
        incoming.off("end", cleanup);
        incoming.off("error", cleanup);
      };
      // The app's web stream over this body (Readable.toWeb) holds a "data"
      // listener that pauses the socket once its unread queue is full: nobody
      // reads that stream any more, so it goes, and the rest is discarded here.
      incoming.removeAllListeners("data");
      incoming.on("data", onData);
      incoming.once("end", cleanup);
      incoming.once("error", cleanup);
      incoming.resume();
    });
  });
}

/** `main.ts` of every function: parse env, connect, build and serve — or say why not and exit 1. */
export async function runStandalone<E extends BaseEnv>(
  definition: FunctionDefinition<E>,
  source: Record<string, string | undefined>,
): Promise<void> {
  let logger: Logger | undefined;
  try {
    const env = parseEnv(definition.envSchema as never, source) as E;
    logger = createLogger({ name: definition.name, level: env.LOG_LEVEL });
    const infra = await createInfrastructure(env, logger);
    await checkConnections(infra, env).catch(async (error) => {
      await infra.close().catch(() => undefined);
      throw error;
    });
    const ctx = buildContext(definition, env, infra, logger);
    const app = await definition.create(ctx);
    await serveApp(app.fetch, {
      port: env.PORT,
      logger,
      onShutdown: async () => {
        await ctx.events.idle();
        await ctx.closeAll();
        await infra.close();
      },
    });
  } catch (error) {
    exitOnStartupFailure(definition.name, error, logger);
  }
}
