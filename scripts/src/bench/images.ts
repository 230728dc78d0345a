/**
 * Cold start and idle RSS measured from the images, as a Knative pod starts:
 * `podman run` (the Services' securityContext, host network) to the first 200
 * of /health/readiness, with the V8 compile cache the image ships; resident
 * memory of the container's node process after a second of idling. Beside a
 * bare node:http server run from the same base image the same way, in the
 * same interleaved rounds, so the figures are ratios. Goals: cold start at
 * most 2x bare, idle RSS at most 1.5x bare.
 *
 *   scripts/deploy/images.sh --local && npm run bench -- images [name ...]
 *
 * BENCH_ROUNDS (default 5, the median is printed); BENCH_DATABASE_URL (a
 * migrated database; default: a fresh one migrated by the migrate image),
 * BENCH_REDIS_URL (default redis://127.0.0.1:6379).
 */
import { rmSync } from "node:fs";
import {
  containerEnv,
  containerRss,
  freshDatabase,
  functionNames,
  imageOf,
  needsCluster,
  podman,
  runReady,
  runToExit,
  testSecrets,
} from "../deploy/containers";

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const BARE_SERVER = `require("node:http").createServer((q, s) => { s.writeHead(200); s.end("ok"); }).listen(Number(process.env.PORT), "127.0.0.1")`;

export async function run(args: string[]) {
  const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
  const names = args.length > 0 ? args : functionNames;
  const redisUrl = process.env.BENCH_REDIS_URL ?? "redis://127.0.0.1:6379";
  const fresh = process.env.BENCH_DATABASE_URL
    ? undefined
    : await freshDatabase(
        "postgres://postgres@127.0.0.1:5432/postgres",
        `minispod_bench_images_${process.pid}`,
      );
  const databaseUrl = process.env.BENCH_DATABASE_URL ?? fresh!.url;
  const { secrets, kubeconfig, dir } = await testSecrets(databaseUrl, redisUrl);
  // The base image the function images were built FROM (images.sh --local builds it).
  const base =
    process.env.NODE_IMAGE ?? `localhost/minispod/node:${process.versions.node}-bookworm-slim`;
  if (podman(["image", "exists", imageOf("auth")]).status !== 0)
    throw new Error("no images: run scripts/deploy/images.sh --local first");
  try {
    if (fresh) {
      const migrated = await runToExit(imageOf("auth"), { DATABASE_URL: databaseUrl }, [
        "node",
        "migrate.mjs",
      ]);
      if (migrated.code !== 0) throw new Error(`migrate: ${migrated.output}`);
    }
    const samples = new Map<string, { ms: number; rss: number }[]>();
    const add = (key: string, ms: number, rss: number) =>
      samples.set(key, [...(samples.get(key) ?? []), { ms, rss }]);
    const measure = async (
      key: string,
      image: string,
      env: Record<string, string>,
      options: Parameters<typeof runReady>[2],
    ) => {
      const container = await runReady(image, env, options);
      try {
        await new Promise((r) => setTimeout(r, 1000));
        add(key, container.readyMs!, containerRss(container.name));
      } finally {
        container.stop();
      }
    };
    // Interleaved: drift on a shared machine hits bare Node and every function alike.
    for (let round = 0; round < rounds; round++) {
      for (const name of names) {
        await measure("bare", base, {}, { command: ["node", "-e", BARE_SERVER] });
        await measure(
          name,
          imageOf(name),
          containerEnv(name, secrets),
          needsCluster(name) ? { kubeconfig } : {},
        );
      }
      console.error(`round ${round + 1}/${rounds} done`);
    }
    const bare = samples.get("bare") ?? [];
    const bareMs = median(bare.map((s) => s.ms));
    const bareRss = median(bare.map((s) => s.rss));
    const mib = (b: number) => (b / 1024 / 1024).toFixed(1);
    const podmanVersion = podman(["--version"]).stdout;
    console.log(
      `\ncold start from the images (podman run -> readiness 200, securityContext of knative/base, compile cache as shipped) and idle RSS, median of ${rounds} starts; ${podmanVersion}, runc`,
    );
    console.log(`  bare node:http in ${base}: ${bareMs.toFixed(0)} ms, ${mib(bareRss)} MiB`);
    console.log(`  | function | start | x bare | idle RSS | x bare |`);
    console.log(`  |---|---:|---:|---:|---:|`);
    for (const name of names) {
      const xs = samples.get(name) ?? [];
      const ms = median(xs.map((s) => s.ms));
      const rss = median(xs.map((s) => s.rss));
      console.log(
        `  | ${name} | ${ms.toFixed(0)} ms | ${(ms / bareMs).toFixed(2)} | ${mib(rss)} MiB | ${(rss / bareRss).toFixed(2)} |`,
      );
    }
  } finally {
    await fresh?.drop();
    rmSync(dir, { recursive: true, force: true });
  }
}
