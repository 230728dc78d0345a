/**
 * True when `error` (or a cause: drizzle wraps driver errors) is a PostgreSQL
 * unique violation, optionally of the named index.
 */
export function isUniqueViolation(error: unknown, index?: string): boolean {
  let current: unknown = error;
  for (let depth = 0; current && depth < 4; depth++) {
    // postgres.js names it constraint_name, PGlite (local mode) constraint.
    const e = current as {
      code?: unknown;
      constraint_name?: unknown;
      constraint?: unknown;
      cause?: unknown;
    };
    if (e.code === "23505")
      return index === undefined || (e.constraint_name ?? e.constraint) === index;
    current = e.cause;
  }
  return false;
}
