import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createHarness, type Harness } from "@minispod/shared/testing";
import { startTestReceiver } from "@minispod/webhooks/test-receiver";
import { afterAll, beforeAll } from "vitest";
import { functions } from "../../src/local/functions";
import { createLocalRunner, type LocalRunner } from "../../src/local/runner";

export interface Journey {
  h: Harness;
  runner: LocalRunner;
  receiver: Awaited<ReturnType<typeof startTestReceiver>>;
  /** A request to the runner under `/api/v1`. */
  api(path: string, init?: RequestInit): Response | Promise<Response>;
}

/**
 * Every function assembled as `npm start` does (the broker routing by knative/,
 * the seeded catalog, the sandbox provider, the dev mailbox) on this file's
 * PostgreSQL database and Redis prefix, with a local webhook receiver. Registers
 * its own beforeAll/afterAll; the fields are set once beforeAll has run.
 *
 * @example
 * const journey = localJourney("trace");
 * it("...", async () => { await journey.api("/services"); });
 */
export function localJourney(name: string, env: Record<string, string> = {}): Journey {
  const journey = {
    api: (path: string, init?: RequestInit) => journey.runner.app.request(`/api/v1${path}`, init),
  } as Journey;
  beforeAll(async () => {
    journey.h = await createHarness();
    journey.receiver = await startTestReceiver();
    journey.runner = await createLocalRunner({
      source: {
        DATABASE_URL: journey.h.databaseUrl,
        REDIS_URL: journey.h.redisUrl,
        REDIS_KEY_PREFIX: journey.h.redisPrefix,
        DATA_DIR: mkdtempSync(join(tmpdir(), `minispod-${name}-`)),
        LOCAL_CRON: "false",
        LOG_LEVEL: "silent",
        BCRYPT_COST: "4",
        ADMIN_PASSWORD: "admin password 1",
        WEBHOOK_ALLOW_PRIVATE: "true",
        ...env,
      },
      functions,
    });
  }, 120_000);
  afterAll(async () => {
    await journey.runner?.close();
    await journey.receiver?.close();
    await journey.h?.close();
  });
  return journey;
}
