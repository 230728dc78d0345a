import { type Db, preparedQuery, serviceCatalog } from "@minispod/db";
import { AppError, keyset, type Page, type PageQuery } from "@minispod/shared";
import { and, desc, eq, sql } from "drizzle-orm";

export type ServiceRow = typeof serviceCatalog.$inferSelect;

/**
 * Catalog entries, newest first. Retired entries are left out unless
 * `includeRetired` (admins), because nobody can subscribe to them.
 *
 * @example
 * const page = await listServices({ db, query: { limit: 20 } });
 */
export async function listServices({
  db,
  query,
  includeRetired = false,
}: {
  db: Db;
  query: PageQuery;
  includeRetired?: boolean;
}): Promise<Page<ServiceRow>> {
  const p = keyset(serviceCatalog.createdAt, serviceCatalog.id, query);
  if (!query.cursor) {
    // The first page is what nearly every visitor asks for: a prepared statement.
    const first = includeRetired ? firstPageAll(db) : firstPageActive(db);
    return p.page(await first.execute({ fetch: p.fetch }), (row) => row);
  }
  const rows = await db
    .select()
    .from(serviceCatalog)
    .where(and(includeRetired ? undefined : eq(serviceCatalog.active, true), p.where))
    .orderBy(...p.orderBy)
    .limit(p.fetch);
  return p.page(rows, (row) => row);
}

const firstPage = (db: Db, activeOnly: boolean, name: string) =>
  db
    .select()
    .from(serviceCatalog)
    .where(activeOnly ? eq(serviceCatalog.active, true) : undefined)
    .orderBy(desc(serviceCatalog.createdAt), desc(serviceCatalog.id))
    .limit(sql.placeholder("fetch"))
    .prepare(name);
const firstPageActive = preparedQuery((db) => firstPage(db, true, "catalog_first_page_active"));
const firstPageAll = preparedQuery((db) => firstPage(db, false, "catalog_first_page_all"));

/**
 * One entry by slug, retired or not: customers holding a subscription to a
 * retired app still need to see what it is. 404 when there is no such slug.
 */
export async function getServiceBySlug({
  db,
  slug,
}: {
  db: Db;
  slug: string;
}): Promise<ServiceRow> {
  const [row] = await db
    .select()
    .from(serviceCatalog)
    .where(eq(serviceCatalog.slug, slug))
    .limit(1);
  if (!row) throw new AppError("NOT_FOUND", { detail: `No service with slug "${slug}".` });
  return row;
}
