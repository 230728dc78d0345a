import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const fixture = fileURLToPath(new URL("./fixtures/slow-server.ts", import.meta.url));

describe("graceful shutdown on SIGTERM", () => {
  it("finishes the in-flight request, then refuses new ones, closes pools and exits 0", async () => {
    const port = 19_000 + Math.floor(Math.random() * 1000);
    const child = spawn(process.execPath, ["--import", "tsx", fixture], {
      env: { ...process.env, PORT: String(port) },
      stdio: ["ignore", "pipe", "inherit"],
    });
    let output = "";
    child.stdout.on("data", (chunk) => {
      output += chunk;
    });
    const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
    for (let i = 0; i < 200 && !output.includes("ready"); i++)
      await new Promise((r) => setTimeout(r, 50));
    // Wait until it really accepts connections.
    for (let i = 0; i < 100; i++) {
      try {
        await fetch(`http://127.0.0.1:${port}/nothing`);
        break;
      } catch {
        await new Promise((r) => setTimeout(r, 50));
      }
    }

    const inFlight = fetch(`http://127.0.0.1:${port}/slow`, { headers: { connection: "close" } });
    await new Promise((r) => setTimeout(r, 150));
    child.kill("SIGTERM");
    const response = await inFlight;
    expect(response.status).toBe(200);
    expect(await response.text()).toBe("finished");
    // The port closes once nothing is in flight and nothing new came for 300 ms.
    await new Promise((r) => setTimeout(r, 800));
    await expect(fetch(`http://127.0.0.1:${port}/slow`)).rejects.toThrow();
    expect(await exited).toBe(0);
    expect(output).toContain("pools closed");
  }, 30_000);
});
