import { execFile, execFileSync } from "node:child_process";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyPlan, nameProblem, planFunction } from "../src/scaffold/new-function";

// `npm run new:function` in a scratch copy of the repository (what git tracks,
// plus this checkout's untracked files, and node_modules linked in): the new
// functions must typecheck, pass lint, their own tests and the layout,
// boundaries, Knative and OpenAPI guard tests with nothing edited by hand.
// About 100 s on a 2-core machine under heavy load, most of it the nested vitest.
const repo = fileURLToPath(new URL("../../", import.meta.url));
const run = promisify(execFile);
const node = process.execPath;
const bin = {
  tsx: join(repo, "node_modules", "tsx", "dist", "cli.mjs"),
  tsc: join(repo, "node_modules", "typescript", "bin", "tsc"),
  vitest: join(repo, "node_modules", "vitest", "vitest.mjs"),
  biome: join(repo, "node_modules", ".bin", "biome"),
};
/** The environment of a nested run: not this vitest's worker. */
const env = {
  ...Object.fromEntries(
    Object.entries(process.env).filter(
      ([key]) => !key.startsWith("VITEST") && key !== "TEST" && key !== "FORCE_COLOR",
    ),
  ),
  NO_COLOR: "1",
};

/** The checkout's files: what git tracks, and untracked files it does not ignore. */
const checkoutFiles = () =>
  execFileSync("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], {
    cwd: repo,
    encoding: "utf8",
  })
    .split("\0")
    .filter((file) => file && existsSync(join(repo, file)));

function copyFiles(dir: string, files: string[]) {
  for (const file of files) {
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    copyFileSync(join(repo, file), join(dir, file));
  }
}

/** Copies the checkout to `dir`, with node_modules the way npm would lay it out there. */
function scratchCopy(dir: string) {
  copyFiles(dir, checkoutFiles());
  // Third-party packages: links to this checkout's. Workspaces: npm's relative
  // links (`@minispod/shared -> ../../shared`), which now point into the copy.
  mkdirSync(join(dir, "node_modules", "@minispod"), { recursive: true });
  for (const entry of readdirSync(join(repo, "node_modules"))) {
    if (entry !== "@minispod")
      symlinkSync(join(repo, "node_modules", entry), join(dir, "node_modules", entry));
  }
  for (const entry of readdirSync(join(repo, "node_modules", "@minispod"))) {
    const target = readlinkSync(join(repo, "node_modules", "@minispod", entry));
    symlinkSync(target, join(dir, "node_modules", "@minispod", entry));
  }
  // A workspace's own node_modules (versions that differ from the root's).
  const functions = readdirSync(join(repo, "functions")).map((f) => `functions/${f}`);
  for (const workspace of ["scripts", ...functions]) {
    const own = join(repo, workspace, "node_modules");
    if (existsSync(own) && existsSync(join(dir, workspace)))
      symlinkSync(own, join(dir, workspace, "node_modules"));
  }
}

const exec = (cwd: string, file: string, args: string[]) => execWith(cwd, file, {}, args);
const execWith = async (
  cwd: string,
  file: string,
  extra: Record<string, string>,
  args: string[],
) => {
  try {
    const options = { cwd, env: { ...env, ...extra }, maxBuffer: 32 * 1024 * 1024 };
    return (await run(file, args, options)).stdout;
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    throw new Error(`${file} ${args.join(" ")} failed:\n${stdout}\n${stderr}`);
  }
};

describe("npm run new:function", () => {
  let scratch: string;
  let output = "";
  beforeAll(async () => {
    scratch = mkdtempSync(join(tmpdir(), "minispod-scaffold-"));
    scratchCopy(scratch);
    // The command as a user runs it for the public one; the same plan in-process for the other.
    const main = join(scratch, "scripts", "src", "scaffold", "main.ts");
    output = await exec(scratch, node, [bin.tsx, main, "gadgets", "--public", "--no-install"]);
    applyPlan(scratch, planFunction(scratch, "gadget-sweeper", false));
    // What `npm install` does for a new workspace: the package's link.
    for (const name of ["gadgets", "gadget-sweeper"])
      symlinkSync(
        `../../functions/${name}`,
        join(scratch, "node_modules", "@minispod", `fn-${name}`),
      );
    // knative-checks builds each overlay from what git tracks, as a fresh clone would.
    execFileSync("git", ["init", "-q"], { cwd: scratch });
    execFileSync("git", ["add", "-A", "knative"], { cwd: scratch });
  }, 60_000);
  afterAll(() => {
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  it("prints what it wrote and patched", () => {
    for (const line of [
      "wrote functions/gadgets/:",
      "  src/routes/openapi.ts",
      "  knative/base/functions/gadgets.yaml",
      "  knative/base/api-ingress.yaml",
      "  knative/overlays/production/kustomization.yaml",
      "  scripts/src/local/functions.ts",
      "  .env.example",
    ])
      expect(output.split("\n")).toContain(line);
  });

  it("routes only the public one, and lists both everywhere a function is listed", () => {
    const read = (path: string) => readFileSync(join(scratch, path), "utf8");
    const ingress = read("knative/base/api-ingress.yaml");
    expect(ingress).toContain("PathPrefix(`/api/v1/gadgets`)");
    expect(ingress).toContain("name: host-gadgets");
    expect(ingress).not.toContain("gadget-sweeper");
    expect(read("knative/base/kustomization.yaml")).toContain(
      "  - functions/gadgets.yaml\n  - functions/gadget-sweeper.yaml\n",
    );
    for (const overlay of ["dev", "production"]) {
      const text = read(`knative/overlays/${overlay}/kustomization.yaml`);
      expect(text).toContain("- name: minispod/fn-gadgets\n");
      expect(text).toContain("- name: minispod/fn-gadget-sweeper\n");
    }
    expect(read("scripts/package.json")).toContain('"@minispod/fn-gadgets": "*",');
    expect(read(".env.example")).toContain("# --- gadget-sweeper ---");
  });

  it("typechecks, lints and passes its own tests and the layout, boundaries, Knative and OpenAPI guards", async () => {
    const fns = ["functions/gadgets", "functions/gadget-sweeper"];
    // One compiler run for both: the shared packages' types are read once.
    writeFileSync(
      join(scratch, "tsconfig.scaffold.json"),
      JSON.stringify({
        extends: "./tsconfig.base.json",
        include: fns.flatMap((fn) => [`${fn}/src`, `${fn}/test`, `${fn}/*.ts`]),
      }),
    );
    // Compiler, linter and tests side by side: each waits on something else much of the time.
    const [, , tests] = await Promise.all([
      exec(scratch, node, [bin.tsc, "--noEmit", "-p", "tsconfig.scaffold.json"]),
      exec(scratch, bin.biome, [
        "check",
        "--vcs-enabled=false",
        ...fns,
        "scripts/src/local/functions.ts",
        "scripts/package.json",
      ]),
      // UPDATE_OPENAPI: the committed docs/openapi.json is refreshed with the new
      // routes, as `npm run openapi:write` does after scaffolding; the rest of the
      // document's checks (every route described, Spectral) still run on it.
      execWith(scratch, node, { UPDATE_OPENAPI: "1" }, [
        bin.vitest,
        "run",
        ...["gadgets", "gadget-sweeper", "scripts"].flatMap((p) => ["--project", p]),
        ...fns.map((fn) => `${fn}/`),
        "scripts/test/function-layout.test.ts",
        "scripts/test/function-boundaries.test.ts",
        "scripts/test/knative-checks.test.ts",
        "scripts/test/manifests.test.ts",
        "scripts/test/openapi-merged.test.ts",
      ]),
    ]);
    expect(tests).toMatch(/Test Files {2}7 passed \(7\)/);
  }, 240_000);
});

describe("the scaffold refuses", () => {
  it("a name that is not kebab-case, too long or taken", () => {
    expect(nameProblem(repo, "Gadgets")).toMatch(/not kebab-case/);
    expect(nameProblem(repo, "gadgets--x")).toMatch(/not kebab-case/);
    expect(nameProblem(repo, "x".repeat(31))).toMatch(/longer than 30/);
    expect(nameProblem(repo, "auth")).toBe("functions/auth already exists");
    expect(nameProblem(repo, "gadgets")).toBeUndefined();
  });

  it("leaves nothing half-written when a step fails", () => {
    const dir = mkdtempSync(join(tmpdir(), "minispod-scaffold-fail-"));
    try {
      const needed = (f: string) =>
        /^(knative|scripts)\//.test(f) ||
        /^functions\/[^/]+\/package\.json$/.test(f) ||
        f === ".env.example";
      copyFiles(dir, checkoutFiles().filter(needed));
      const plan = planFunction(dir, "gadgets", true);
      const before = new Map(
        [...plan.patched.keys()].map((path) => [path, readFileSync(join(dir, path), "utf8")]),
      );
      // One more file to patch, under a path that is a file: writing it fails last.
      plan.patched.set(".env.example/cannot-write", "x");
      expect(() => applyPlan(dir, plan)).toThrow();
      for (const [path, text] of before)
        expect(readFileSync(join(dir, path), "utf8"), path).toBe(text);
      expect(existsSync(join(dir, "functions", "gadgets"))).toBe(false);
      expect(existsSync(join(dir, "knative/base/functions/gadgets.yaml"))).toBe(false);
      expect(readdirSync(join(dir, "functions")).filter((f) => f.startsWith("."))).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
