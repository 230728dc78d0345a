/**
 * True when `error` (or a cause: drizzle wraps driver errors) is a PostgreSQL
 * unique violation, optionally of the named index.
 */
export function isUniqueViolation(error: unknown, index?: string): boolean {
  let current: unknown = error;
  for (let depth = 0; current && depth < 4; depth++) {
    const e = current as { code?: unknown; constraint_name?: unknown; cause?: unknown };
    if (e.code === "23505") return index === undefined || e.constraint_name === index;
    current = e.cause;
  }
  return false;
}
