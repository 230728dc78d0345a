import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const loggerModule = fileURLToPath(new URL("../src/logger.ts", import.meta.url));
const tsx = fileURLToPath(import.meta.resolve("tsx"));

/** Runs a script that logs to stdout (the default destination); lines with the ms they arrived at. */
function run(script: string): Promise<{ at: number; line: Record<string, unknown> }[]> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, ["--import", tsx, "--input-type=module", "-e", script], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    const lines: { at: number; line: Record<string, unknown> }[] = [];
    let rest = "";
    child.stdout.on("data", (chunk: Buffer) => {
      const parts = (rest + chunk.toString()).split("\n");
      rest = parts.pop() ?? "";
      for (const p of parts)
        if (p) lines.push({ at: performance.now() - started, line: JSON.parse(p) });
    });
    child.once("error", reject);
    child.once("exit", () => resolve(lines));
  });
}

describe("logs on stdout, batched", () => {
  it("reach stdout within the flush interval while the process runs, and at exit", async () => {
    const lines = await run(`
      import { createLogger } from ${JSON.stringify(loggerModule)};
      const logger = createLogger({ name: "probe" });
      logger.info({ password: "secret" }, "early");
      const t0 = performance.now();
      setTimeout(() => {
        logger.info({ waited: Math.round(performance.now() - t0) }, "late");
        // exit without waiting for the next flush: pino writes the rest synchronously
        process.exit(0);
      }, 1500);
    `);
    expect(lines.map((l) => l.line.msg)).toEqual(["early", "late"]);
    // "early" arrived long before the process logged "late" (a 4 KiB batch never filled).
    const late = lines[1]!;
    expect(lines[0]!.at).toBeLessThan(late.at - 800);
    expect(lines[0]!.line).toMatchObject({ fn: "probe", password: "[redacted]" });
  });
});
