import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { request as httpsRequest } from "node:https";
import type { AddressInfo } from "node:net";
import { KubeConfig } from "@kubernetes/client-node";

/** What the proxy does to one request instead of forwarding it. */
export type Fault =
  | { status: number; retryAfterSeconds?: number; message?: string }
  /** Answers nothing for this long (longer than the client's timeout to test it). */
  | { hangMs: number }
  /** Closes the connection without an answer. */
  | { reset: true };

export interface ProxiedRequest {
  method: string;
  path: string;
  /** The fault injected, or null when forwarded. */
  fault: Fault | null;
}

export interface FaultProxy {
  /** Kubeconfig that reaches the API server through the proxy. */
  kubeConfig: KubeConfig;
  /** Every request seen, in order. */
  requests: ProxiedRequest[];
  /** Decides per request (n counts requests matching nothing yet; starts at 0). */
  setFault(rule: ((req: { method: string; path: string }, n: number) => Fault | null) | null): void;
  close(): Promise<void>;
}

/**
 * A small HTTP proxy in front of the lab's API server that can answer 429,
 * 5xx, hang or drop instead of forwarding, so retry paths run over real HTTP
 * against the real server. Listens on 127.0.0.1, a free port; it speaks to
 * the API server with the lab's client certificate.
 */
export async function startFaultProxy(upstream: KubeConfig): Promise<FaultProxy> {
  const cluster = upstream.getCurrentCluster();
  const user = upstream.getCurrentUser();
  if (!cluster?.caData || !user?.certData || !user.keyData) {
    throw new Error(
      "the fault proxy needs a kubeconfig with embedded CA and client certificate data",
    );
  }
  const target = new URL(cluster.server);
  const tls = {
    ca: Buffer.from(cluster.caData, "base64"),
    cert: Buffer.from(user.certData, "base64"),
    key: Buffer.from(user.keyData, "base64"),
  };
  const requests: ProxiedRequest[] = [];
  let rule: ((req: { method: string; path: string }, n: number) => Fault | null) | null = null;
  let n = 0;
  const hanging = new Set<ServerResponse>();

  const forward = (req: IncomingMessage, res: ServerResponse) => {
    const { host: _host, ...headers } = req.headers;
    const out = httpsRequest(
      {
        ...tls,
        hostname: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        headers,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    out.on("error", () => res.destroy());
    req.pipe(out);
  };

  const server: Server = createServer((req, res) => {
    const info = { method: req.method ?? "GET", path: req.url ?? "/" };
    const fault = rule ? rule(info, n++) : null;
    requests.push({ ...info, fault });
    if (!fault) return forward(req, res);
    req.resume();
    if ("reset" in fault) return res.socket?.destroy();
    if ("hangMs" in fault) {
      hanging.add(res);
      const timer = setTimeout(() => {
        hanging.delete(res);
        res.destroy();
      }, fault.hangMs);
      res.on("close", () => clearTimeout(timer));
      return;
    }
    res.writeHead(fault.status, {
      "content-type": "application/json",
      ...(fault.retryAfterSeconds !== undefined
        ? { "retry-after": String(fault.retryAfterSeconds) }
        : {}),
    });
    res.end(
      JSON.stringify({
        kind: "Status",
        apiVersion: "v1",
        status: "Failure",
        message: fault.message ?? `injected ${fault.status}`,
        code: fault.status,
      }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;

  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromOptions({
    // Plain HTTP on loopback: the proxy holds the client certificate, not the driver.
    clusters: [{ name: "proxy", server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
    users: [{ name: "proxy" }],
    contexts: [{ name: "proxy", cluster: "proxy", user: "proxy" }],
    currentContext: "proxy",
  });

  return {
    kubeConfig,
    requests,
    setFault(next) {
      rule = next;
      n = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const res of hanging) res.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
