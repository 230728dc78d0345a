import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { functionFolders, layoutProblems } from "../src/scaffold/layout";

// Every function has the same layout (docs/adding-a-function.md), the one
// `npm run new:function` writes: a newcomer who has read one has read them all.
const root = fileURLToPath(new URL("../../", import.meta.url));
const functionsDir = join(root, "functions");

describe("function layout", () => {
  it.each(functionFolders(functionsDir).map((name) => [name]))(
    "functions/%s has the one layout",
    (name) => {
      expect(layoutProblems(join(functionsDir, name))).toEqual([]);
    },
  );

  it("names what is missing or out of place in a function that breaks the layout", () => {
    const fixture = mkdtempSync(join(tmpdir(), "fn-layout-"));
    const write = (path: string, text: string) => {
      mkdirSync(dirname(join(fixture, path)), { recursive: true });
      writeFileSync(join(fixture, path), text);
    };
    try {
      write("package.json", JSON.stringify({ name: "@minispod/fn-other" }));
      write("tsconfig.json", "{}");
      write("src/env.ts", "export const env = {};\n");
      write(
        "src/app.ts",
        'import { Hono } from "hono";\nexport type SweeperDeps = {};\nexport const app = new Hono();\n',
      );
      write("src/function.ts", 'import { createApp } from "./app";\nexport const f = createApp;\n');
      write(
        "src/main.ts",
        'import { runStandalone } from "@minispod/shared";\nimport { f } from "./function";\nawait runStandalone(f, { ...process.env });\n',
      );
      write("src/jobs.ts", 'import { Hono } from "hono";\nexport const jobs = new Hono();\n');
      write("src/routes/notes.ts", "export const notes = {};\n");
      write(
        "src/routes/things.ts",
        'import type { SweeperDeps } from "../app";\nexport const x = (d: SweeperDeps) => d;\n',
      );
      write("test/helpers.ts", "export {};\n");
      expect(layoutProblems(fixture, "sweeper")).toEqual([
        'package.json: name is "@minispod/fn-other", must be "@minispod/fn-sweeper"',
        "missing README.md",
        "missing vitest.config.ts",
        "missing src/deps.ts",
        "src/main.ts must be only `await runStandalone(<definition>, process.env)` (with its two imports)",
        "test/ has no *.test.ts",
        "src/jobs.ts builds routes outside src/routes/",
        "src/routes/notes.ts: OpenAPI notes live in src/routes/openapi.ts (or inline)",
        "src/routes/things.ts imports SweeperDeps from ../app; the deps type comes from deps.ts",
      ]);
    } finally {
      rmSync(fixture, { recursive: true, force: true });
    }
  });
});
