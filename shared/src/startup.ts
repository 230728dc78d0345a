import { EnvError } from "./env";
import { createLogger, type Logger } from "./logger";

export interface StartupProblem {
  /** The variable to fix, e.g. "DATABASE_URL". */
  variable?: string;
  /** What could not be reached or used, e.g. "PostgreSQL". */
  dependency?: string;
  /** What was tried, with secrets removed, e.g. "postgres://app:***@db:5432/app". */
  tried?: string;
  /** What went wrong, in plain words. */
  problem: string;
  /** What to do about it. */
  fix: string;
}

/**
 * A start-up failure that names what to fix: the process reports it and exits
 * non-zero instead of serving half-working.
 *
 * @example
 * throw new StartupError({ variable: "REDIS_URL", dependency: "Redis", tried: url,
 *   problem: "connection refused", fix: "start Redis or point REDIS_URL at a running one" });
 */
export class StartupError extends Error {
  constructor(
    readonly details: StartupProblem,
    options?: { cause?: unknown },
  ) {
    super(describe(details), options);
    this.name = "StartupError";
  }
}

function describe(p: StartupProblem): string {
  const subject = [p.variable, p.dependency && `(${p.dependency})`].filter(Boolean).join(" ");
  const tried = p.tried ? ` at ${p.tried}` : "";
  return `${subject ? `${subject}: ` : ""}${p.problem}${tried}. ${capitalize(p.fix)}.`;
}

const capitalize = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

/** "connect ECONNREFUSED …" and friends -> a short reason without a stack. */
export function networkReason(error: unknown): string {
  const e = error as { code?: string; message?: string; errors?: unknown[] } | undefined;
  const code = e?.code ?? (e?.errors?.[0] as { code?: string } | undefined)?.code;
  switch (code) {
    case "ECONNREFUSED":
      return "connection refused (nothing listens there)";
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return "host name not found";
    case "ETIMEDOUT":
      return "connection timed out";
    case "ECONNRESET":
      return "connection reset";
    default:
      return (e?.message || code || String(error)).split("\n")[0]!.slice(0, 200);
  }
}

/**
 * Reports why start-up failed — one JSON line in the log (for machines) and one
 * plain line on stderr (for the human at the terminal) — and exits 1. Errors
 * that are neither a bad environment nor a StartupError keep their stack in
 * the JSON line only.
 */
export function exitOnStartupFailure(name: string, error: unknown, logger?: Logger): never {
  const log = logger ?? createLogger({ name, level: "info" });
  let line: string;
  if (error instanceof EnvError) {
    log.fatal({ problems: error.problems }, "invalid environment; not starting");
    line = `${error.problems.join("; ")}. Fix the environment (see .env.example) and start again.`;
  } else if (error instanceof StartupError) {
    log.fatal({ ...error.details }, "cannot start");
    line = error.message;
  } else {
    log.fatal({ err: error }, "cannot start");
    line = `${error instanceof Error ? error.message : String(error)} (details in the log line above).`;
  }
  process.stderr.write(`${name}: cannot start: ${line}\n`);
  process.exit(1);
}

/** What `withDeadline` rejects with: `what` gave no answer in time. */
export class DeadlineError extends Error {
  constructor(what: string, ms: number) {
    super(`${what} gave no answer within ${ms} ms`);
    this.name = "DeadlineError";
  }
}

/** Rejects with a DeadlineError when `promise` takes longer than `ms`. */
export async function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new DeadlineError(what, ms)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
