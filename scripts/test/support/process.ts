import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";

/** Repository root: `--import tsx` resolves from here, as for `npm start`. */
export const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));
export const runnerEntry = fileURLToPath(new URL("../../src/local/main.ts", import.meta.url));
export const functionEntry = (name: string) =>
  fileURLToPath(new URL(`../../../functions/${name}/src/main.ts`, import.meta.url));

/** A port nothing listens on (it was free a moment ago): for "closed port" and runner ports. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface Spawned {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }>;
  /** Resolves once stdout contains `text`; rejects if the process exits first. */
  waitFor(text: string, timeoutMs?: number): Promise<void>;
}

/**
 * Starts a TypeScript entry as its own Node process with exactly `env` (plus
 * PATH and HOME), the way `npm start` or a container would run it.
 */
export function spawnEntry(
  entry: string,
  env: Record<string, string>,
  args: string[] = [],
): Spawned {
  const started = performance.now();
  const child = spawn(process.execPath, ["--import", "tsx", entry, ...args], {
    cwd: repoRoot,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stdout?.on("data", (chunk) => {
    out += chunk;
  });
  child.stderr?.on("data", (chunk) => {
    err += chunk;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }>(
    (resolve) =>
      child.once("exit", (code, signal) =>
        resolve({ code, signal, ms: Math.round(performance.now() - started) }),
      ),
  );
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    async waitFor(text, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      let gone = false;
      void exited.then(() => {
        gone = true;
      });
      while (!out.includes(text)) {
        if (gone) throw new Error(`exited before printing "${text}":\n${out}\n${err}`);
        if (Date.now() > deadline) throw new Error(`no "${text}" within ${timeoutMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
  };
}

/** Runs an entry expected to fail at start-up; kills it if it is still running after `limitMs`. */
export async function runToExit(
  entry: string,
  env: Record<string, string>,
  argsOrLimit: string[] | number = [],
  limitMs = typeof argsOrLimit === "number" ? argsOrLimit : 30_000,
) {
  const spawned = spawnEntry(entry, env, Array.isArray(argsOrLimit) ? argsOrLimit : []);
  const timer = setTimeout(() => spawned.child.kill("SIGKILL"), limitMs);
  const result = await spawned.exited;
  clearTimeout(timer);
  return { ...result, stdout: spawned.stdout(), stderr: spawned.stderr() };
}

/** The JSON lines of a process's stdout (pino). */
export function jsonLines(stdout: string): Record<string, unknown>[] {
  return stdout
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/**
 * Why `binary` cannot run (`--version` fails), or undefined when it can; for
 * suites that skip, saying so, without an optional tool (promtool, prometheus).
 */
export function missingBinary(binary: string, install: string): string | undefined {
  const probe = spawnSync(binary, ["--version"], { encoding: "utf8" });
  return probe.error || probe.status !== 0 ? `${binary} not found: ${install}` : undefined;
}
