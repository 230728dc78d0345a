import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";

/** A request as a customer's endpoint saw it. */
export interface ReceivedRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string;
}

export interface Reply {
  status: number;
  body?: string;
  headers?: Record<string, string>;
  /** Milliseconds to wait before answering (timeouts, overlapping sweeps). */
  delayMs?: number;
}

/**
 * A real HTTP server on 127.0.0.1 standing in for customers' webhook
 * endpoints in tests (reached with WEBHOOK_ALLOW_PRIVATE=true). It records
 * every request and answers with whatever `reply` says.
 *
 * @example
 * const receiver = await startTestReceiver();
 * receiver.reply = () => ({ status: 500 });
 * // ... deliver to receiver.url("/hook") ...
 * expect(receiver.requests).toHaveLength(1);
 */
export async function startTestReceiver() {
  const requests: ReceivedRequest[] = [];
  const state = {
    requests,
    reply: (_request: ReceivedRequest): Reply => ({ status: 200, body: "ok" }),
    url: (path = "/hook") => `http://127.0.0.1:${port}${path}`,
    /** Requests whose path is `path`. */
    to: (path: string) => requests.filter((r) => r.path === path),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const received: ReceivedRequest = {
        method: req.method ?? "",
        path: req.url ?? "",
        headers: flatten(req.headers),
        body: Buffer.concat(chunks).toString("utf8"),
      };
      requests.push(received);
      const reply = state.reply(received);
      setTimeout(() => {
        if (res.destroyed) return;
        res.writeHead(reply.status, { "content-type": "text/plain", ...reply.headers });
        res.end(reply.body ?? "");
      }, reply.delayMs ?? 0);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return state;
}

export type TestReceiver = Awaited<ReturnType<typeof startTestReceiver>>;

function flatten(headers: IncomingHttpHeaders): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [key, value] of Object.entries(headers)) {
    if (value !== undefined) flat[key] = Array.isArray(value) ? value.join(", ") : value;
  }
  return flat;
}
