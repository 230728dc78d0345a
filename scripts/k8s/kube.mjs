#!/usr/bin/env node
// The few API calls the lab scripts make, without kubectl (which the lab does
// not build). Reads the lab's kubeconfig (embedded certificate data only).
//
//   kube.mjs --kubeconfig FILE get PATH
//   kube.mjs --kubeconfig FILE node-create NAME
//   kube.mjs --kubeconfig FILE wait-ready NODE
//   kube.mjs --kubeconfig FILE apply FILE_OR_DIR      (server-side apply, every YAML document)
//   kube.mjs --kubeconfig FILE token NAMESPACE SERVICEACCOUNT SECONDS
import { readdirSync, readFileSync, statSync } from "node:fs";
import { request } from "node:https";
import { createRequire } from "node:module";
import { join } from "node:path";

const require = createRequire(import.meta.url);
const YAML = require("yaml");

const args = process.argv.slice(2);
const at = args.indexOf("--kubeconfig");
if (at < 0 || !args[at + 1]) fail("--kubeconfig FILE is required");
const kubeconfig = YAML.parse(readFileSync(args[at + 1], "utf8"));
args.splice(at, 2);
const [command, ...rest] = args;

const cluster = kubeconfig.clusters[0].cluster;
const user = kubeconfig.users[0].user;
const tls = {
  ca: Buffer.from(cluster["certificate-authority-data"], "base64"),
  cert: Buffer.from(user["client-certificate-data"], "base64"),
  key: Buffer.from(user["client-key-data"], "base64"),
};

function fail(message) {
  process.stderr.write(`[k8s-lab] error: ${message}\n`);
  process.exit(1);
}

function call(method, path, body, contentType = "application/json") {
  const url = new URL(path, cluster.server);
  const payload =
    body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method,
        ...tls,
        timeout: 10_000,
        headers: {
          accept: "application/json",
          ...(payload === undefined ? {} : { "content-type": contentType }),
        },
      },
      (res) => {
        const chunks = [];
        res.on("data", (c) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          let json;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, text, json });
        });
      },
    );
    req.on("timeout", () => req.destroy(new Error(`${method} ${path} timed out`)));
    req.on("error", reject);
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}

async function must(method, path, body, contentType) {
  const res = await call(method, path, body, contentType);
  if (res.status >= 300) fail(`${method} ${path}: ${res.status} ${res.json?.message ?? res.text}`);
  return res.json;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitFor(what, check, seconds = 90) {
  const deadline = Date.now() + seconds * 1000;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await sleep(250);
  }
  fail(`timed out after ${seconds}s waiting for ${what}`);
}

// Kind -> resource path, from the API server's discovery (per group/version).
const discovery = new Map();
async function resourceFor(apiVersion, kind) {
  const base = apiVersion.includes("/") ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
  if (!discovery.has(base)) {
    const res = await call("GET", base);
    discovery.set(base, res.status === 200 ? res.json.resources : null);
  }
  const found = discovery.get(base)?.find((r) => r.kind === kind && !r.name.includes("/"));
  return found ? { base, plural: found.name, namespaced: found.namespaced } : null;
}

function yamlFiles(path) {
  if (statSync(path).isFile()) return [path];
  return readdirSync(path, { recursive: true })
    .map((f) => join(path, String(f)))
    .filter((f) => /\.(ya?ml|json)$/.test(f) && statSync(f).isFile())
    .sort();
}

async function apply(path) {
  const docs = yamlFiles(path).flatMap((file) =>
    YAML.parseAllDocuments(readFileSync(file, "utf8"))
      .map((d) => d.toJSON())
      .filter((o) => o && typeof o === "object" && o.kind && o.apiVersion),
  );
  // CRDs and namespaces first, so objects of those types and in them can follow.
  const rank = (o) => (o.kind === "CustomResourceDefinition" ? 0 : o.kind === "Namespace" ? 1 : 2);
  docs.sort((a, b) => rank(a) - rank(b));
  let applied = 0;
  for (const obj of docs) {
    let target = await resourceFor(obj.apiVersion, obj.kind);
    if (!target && rank(obj) === 2) {
      await waitFor(`${obj.apiVersion} ${obj.kind} to be served`, async () => {
        discovery.delete(
          obj.apiVersion.includes("/") ? `/apis/${obj.apiVersion}` : `/api/${obj.apiVersion}`,
        );
        target = await resourceFor(obj.apiVersion, obj.kind);
        return target !== null;
      });
    }
    if (!target) fail(`the API server does not serve ${obj.apiVersion} ${obj.kind}`);
    const ns = target.namespaced ? `/namespaces/${obj.metadata.namespace ?? "default"}` : "";
    const url = `${target.base}${ns}/${target.plural}/${obj.metadata.name}?fieldManager=minispod-lab&force=true`;
    await must("PATCH", url, obj, "application/apply-patch+yaml");
    applied++;
    if (obj.kind === "CustomResourceDefinition") {
      await waitFor(`CRD ${obj.metadata.name} to be established`, async () => {
        const res = await call(
          "GET",
          `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${obj.metadata.name}`,
        );
        return res.json?.status?.conditions?.some(
          (c) => c.type === "Established" && c.status === "True",
        );
      });
    }
  }
  process.stderr.write(`[k8s-lab] applied ${applied} objects from ${path}\n`);
}

switch (command) {
  case "get": {
    const res = await call("GET", rest[0] ?? "/");
    process.stdout.write(`${res.text}\n`);
    if (res.status >= 300) process.exit(1);
    break;
  }
  case "node-create": {
    const name = rest[0] ?? fail("node name required");
    // KWOK manages Nodes with this annotation; the stages mark it Ready and keep its lease.
    const node = {
      apiVersion: "v1",
      kind: "Node",
      metadata: {
        name,
        annotations: { "kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0" },
        labels: {
          "kubernetes.io/hostname": name,
          "kubernetes.io/os": "linux",
          "kubernetes.io/arch": "amd64",
          "node-role.kubernetes.io/agent": "",
          type: "kwok",
        },
      },
      status: {
        allocatable: { cpu: "64", memory: "256Gi", pods: "1000", "ephemeral-storage": "1Ti" },
        capacity: { cpu: "64", memory: "256Gi", pods: "1000", "ephemeral-storage": "1Ti" },
        nodeInfo: { architecture: "amd64", operatingSystem: "linux", kubeletVersion: "fake" },
        addresses: [{ type: "InternalIP", address: "127.0.0.1" }],
      },
    };
    await must(
      "PATCH",
      `/api/v1/nodes/${name}?fieldManager=minispod-lab&force=true`,
      node,
      "application/apply-patch+yaml",
    );
    break;
  }
  case "wait-ready": {
    const name = rest[0] ?? fail("node name required");
    await waitFor(`node ${name} to be Ready`, async () => {
      const res = await call("GET", `/api/v1/nodes/${name}`);
      return res.json?.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True");
    });
    // The ServiceAccount controller runs: pods can be admitted in new namespaces.
    await waitFor("the default ServiceAccount", async () => {
      const res = await call("GET", "/api/v1/namespaces/default/serviceaccounts/default");
      return res.status === 200;
    });
    break;
  }
  case "apply":
    for (const path of rest) await apply(path);
    break;
  case "token": {
    const [namespace, name, seconds] = rest;
    if (!namespace || !name) fail("usage: token NAMESPACE SERVICEACCOUNT [SECONDS]");
    const res = await must(
      "POST",
      `/api/v1/namespaces/${namespace}/serviceaccounts/${name}/token`,
      {
        apiVersion: "authentication.k8s.io/v1",
        kind: "TokenRequest",
        spec: { expirationSeconds: Number(seconds ?? 3600) },
      },
    );
    process.stdout.write(`${res.status.token}\n`);
    break;
  }
  default:
    fail(`unknown command ${command ?? "(none)"}`);
}
