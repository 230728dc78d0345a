import { and, desc, eq, lt, or, type SQL } from "drizzle-orm";
import type { PgColumn } from "drizzle-orm/pg-core";
import * as v from "valibot";
import { AppError } from "./errors";
import { documentAs } from "./openapi";

/** `?limit=&cursor=` for every list. */
export const pageQuery = v.object({
  // Parsed from the query string, so the document states the wire form by hand: an integer.
  limit: documentAs(
    v.optional(
      v.pipe(
        v.string(),
        v.regex(/^\d+$/, "must be a whole number"),
        v.transform(Number),
        v.minValue(1, "must be at least 1"),
        v.maxValue(100, "must be at most 100"),
      ),
      "20",
    ),
    { type: "integer", minimum: 1, maximum: 100, default: 20 },
  ),
  cursor: v.optional(
    v.pipe(
      v.string(),
      v.maxLength(200, "is too long"),
      v.description(
        "The `nextCursor` of the previous page, as given; a value the API did not give out answers 400.",
      ),
    ),
  ),
});
export type PageQuery = v.InferOutput<typeof pageQuery>;

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

interface Position {
  createdAt: Date;
  id: string;
}

export function encodeCursor(position: Position): string {
  return Buffer.from(`${position.createdAt.toISOString()}|${position.id}`).toString("base64url");
}

export function decodeCursor(cursor: string): Position {
  const [iso, id] = Buffer.from(cursor, "base64url").toString("utf8").split("|");
  const createdAt = new Date(iso ?? "");
  if (!id || Number.isNaN(createdAt.getTime())) {
    throw new AppError("VALIDATION_FAILED", {
      detail: "The cursor is not one this API gave out.",
      fields: [{ field: "cursor", message: "is invalid" }],
    });
  }
  return { createdAt, id };
}

/**
 * The keyset's order in JavaScript, newest first on (created_at, id), for
 * merging pages read from separate queries. Ids compare as their lowercase
 * hex text, which orders them as PostgreSQL orders uuids (by bytes).
 *
 * @example
 * const rows = [...owned, ...acted].sort(newestFirst).slice(0, p.fetch);
 */
export function newestFirst(a: Position, b: Position): number {
  const byTime = b.createdAt.getTime() - a.createdAt.getTime();
  if (byTime !== 0) return byTime;
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}

/**
 * Keyset pagination, newest first, on (created_at, id): the `where` piece and
 * the `orderBy` for a query, and a function that shapes the page from rows
 * fetched with `limit + 1`.
 *
 * @example
 * const p = keyset(subscriptions.createdAt, subscriptions.id, query);
 * const rows = await db.select().from(subscriptions).where(and(mine, p.where)).orderBy(...p.orderBy).limit(p.fetch);
 * return c.json(p.page(rows, toDto));
 */
export function keyset(createdAt: PgColumn, id: PgColumn, query: PageQuery) {
  const after = query.cursor ? decodeCursor(query.cursor) : undefined;
  const where: SQL | undefined = after
    ? or(lt(createdAt, after.createdAt), and(eq(createdAt, after.createdAt), lt(id, after.id)))
    : undefined;
  return {
    where,
    orderBy: [desc(createdAt), desc(id)] as const,
    fetch: query.limit + 1,
    page<R extends Position, T>(rows: R[], shape: (row: R) => T): Page<T> {
      const items = rows.slice(0, query.limit);
      const last = items.at(-1);
      return {
        items: items.map(shape),
        nextCursor: rows.length > query.limit && last ? encodeCursor(last) : null,
      };
    },
  };
}
