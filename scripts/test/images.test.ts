import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { setImages } from "../src/deploy/set-images";
import { functions } from "../src/local/functions";

const repo = fileURLToPath(new URL("../../", import.meta.url));
const script = join(repo, "scripts", "deploy", "images.sh");

function images(args: string[], env: Record<string, string>) {
  const run = spawnSync(script, args, {
    cwd: repo,
    encoding: "utf8",
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...env },
  });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

describe("scripts/deploy/images.sh (no container engine here: --dry-run prints what it would run)", () => {
  it("builds the bundle, prints its size and the build and push commands for the registry and tag", () => {
    const run = images(["--dry-run", "--push", "--only", "auth"], {
      REGISTRY: "registry.test:5000/acme/",
      TAG: "1.4.0",
      ENGINE: "podman",
    });
    expect(run.stderr).toMatch(
      /auth: bundle dist\/main\.mjs \d+ KiB -> registry\.test:5000\/acme\/minispod\/fn-auth:1\.4\.0/,
    );
    // podman/buildah: layer cache, the host's network, and npm's CA bundle as the npm-ca secret.
    const [build, push, ...rest] = run.stdout.trim().split("\n");
    expect(build).toMatch(
      /^podman build --layers --network host --secret id=npm-ca,src=\S+ --build-arg FUNCTION=auth -t registry\.test:5000\/acme\/minispod\/fn-auth:1\.4\.0 -f Dockerfile \.$/,
    );
    expect(push).toBe("podman push registry.test:5000/acme/minispod/fn-auth:1.4.0");
    expect(rest).toEqual([]);
    expect(run.status).toBe(0);
    // The bundle the image's build stage makes, with the native addon it installs beside it.
    const dist = join(repo, "functions", "auth", "dist");
    expect(existsSync(join(dist, "main.mjs"))).toBe(true);
    expect(existsSync(join(dist, "migrate.mjs"))).toBe(true);
    expect(JSON.parse(readFileSync(join(dist, "natives.json"), "utf8"))).toHaveProperty(
      "@node-rs/bcrypt",
    );
  });

  it("with --prebuilt, builds each image from the bundle made here with the runtime stage alone", () => {
    const run = images(["--dry-run", "--prebuilt", "--reuse-bundles", "--only", "catalog"], {
      REGISTRY: "registry.test",
      TAG: "2.0.0",
      ENGINE: "podman",
      NODE_IMAGE: "localhost/minispod/node:24-test",
    });
    expect(run.status, run.stderr).toBe(0);
    const [build, ...rest] = run.stdout.trim().split("\n");
    // No npm inside the build: no network, no CA secret; the context is a staged folder.
    expect(build).toMatch(
      /^podman build --build-arg NODE_IMAGE=localhost\/minispod\/node:24-test --layers -t registry\.test\/minispod\/fn-catalog:2\.0\.0 -f scripts\/deploy\/prebuilt\.Containerfile \S+\/catalog$/,
    );
    expect(rest).toEqual([]);
    expect(run.stderr).toMatch(
      /catalog: bundle dist\/main\.mjs \d+ KiB -> registry\.test\/minispod\/fn-catalog:2\.0\.0/,
    );
  });

  it("knows every function the local runner hosts", () => {
    const dirs = readdirSync(join(repo, "functions")).filter((d) =>
      existsSync(join(repo, "functions", d, "src", "main.ts")),
    );
    expect(dirs.sort()).toEqual(functions.map((f) => f.name).sort());
  });

  it("refuses to run without a registry, with latest, or with --overlay on a subset", () => {
    expect(images(["--dry-run"], {}).stderr).toContain("set REGISTRY");
    expect(images(["--dry-run"], { REGISTRY: "r.test", TAG: "latest" }).stderr).toContain(
      "must be a pinned tag",
    );
    const subset = images(["--dry-run", "--only", "auth", "--overlay", "dev"], {
      REGISTRY: "r.test",
      TAG: "1",
    });
    expect(subset.status).toBe(2);
    expect(subset.stderr).toContain("--overlay needs every function");
  });
});

describe("setImages (what --overlay writes)", () => {
  const file = join(repo, "knative", "overlays", "production", "kustomization.yaml");
  const text = readFileSync(file, "utf8");

  it("points every function's image at the registry and tag, keeping the comments", () => {
    const names = functions.map((f) => f.name);
    const out = setImages(text, "ghcr.io/acme/", "2.0.1", names);
    const entries = (parse(out) as { images: { name: string; newName: string; newTag: string }[] })
      .images;
    for (const name of names) {
      expect(entries).toContainEqual({
        name: `minispod/fn-${name}`,
        newName: `ghcr.io/acme/minispod/fn-${name}`,
        newTag: "2.0.1",
      });
    }
    expect(out).toContain("# Production: Kafka-backed Broker");
  });

  it("adds an entry for a function the overlay did not list yet", () => {
    const out = setImages(text, "r.test", "3", ["brand-new"]);
    expect(parse(out).images).toContainEqual({
      name: "minispod/fn-brand-new",
      newName: "r.test/minispod/fn-brand-new",
      newTag: "3",
    });
  });

  it("refuses latest", () => {
    expect(() => setImages(text, "r.test", "latest", ["auth"])).toThrow(/pinned tag/);
  });
});

describe("Dockerfile", () => {
  const dockerfile = readFileSync(join(repo, "Dockerfile"), "utf8");

  it("runs on the Node the repository pins, as a numeric non-root user", () => {
    const pinned = (
      JSON.parse(readFileSync(join(repo, "package.json"), "utf8")) as {
        devDependencies: Record<string, string>;
      }
    ).devDependencies.node;
    expect(dockerfile).toContain(`ARG NODE_IMAGE=node:${pinned}-bookworm-slim`);
    const finalStage = dockerfile.slice(dockerfile.lastIndexOf("FROM "));
    const user = [...finalStage.matchAll(/^USER (\S+)$/gm)].at(-1)?.[1];
    expect(user).toMatch(/^[1-9]\d*:[1-9]\d*$/);
  });

  it("warms the compile cache as the user the image runs as (Node keys the cache folder by uid)", () => {
    const finalStage = dockerfile.slice(dockerfile.lastIndexOf("FROM "));
    const cache = /NODE_COMPILE_CACHE=(\S+)/.exec(finalStage)?.[1];
    expect(cache).toBe("/app/.compile-cache");
    const runUser = [...finalStage.matchAll(/^USER (\S+)$/gm)].at(-1)?.[1];
    const warm = finalStage.indexOf("RUN node main.mjs");
    expect(warm).toBeGreaterThan(-1);
    const userAtWarm = [...finalStage.slice(0, warm).matchAll(/^USER (\S+)$/gm)].at(-1)?.[1];
    expect(userAtWarm).toBe(runUser);
  });

  it("builds the same runtime image from a host-built bundle (prebuilt.Containerfile)", () => {
    // Everything after the last FROM, the one COPY of the bundle aside, is the same text.
    const runtime = (text: string) =>
      text
        .slice(text.lastIndexOf("\nFROM "))
        .split("\n")
        .slice(2)
        .filter((line) => !line.startsWith("COPY "));
    const prebuilt = readFileSync(
      join(repo, "scripts", "deploy", "prebuilt.Containerfile"),
      "utf8",
    );
    expect(runtime(prebuilt)).toEqual(runtime(dockerfile));
    expect(prebuilt).toContain("COPY --chown=0:0 app/ /app/");
    const broker = (file: string) => readFileSync(join(repo, "scripts", "deploy", file), "utf8");
    expect(runtime(broker("broker-prebuilt.Containerfile"))).toEqual(
      runtime(broker("broker.Dockerfile")),
    );
  });

  it("keeps secrets out of the build context", () => {
    const ignored = readFileSync(join(repo, ".dockerignore"), "utf8").split("\n");
    expect(ignored).toContain("knative/overlays/*/secrets.env");
    expect(ignored).toContain(".env");
  });
});
