import { listInvoices, listSubscriptions } from "@minispod/billing";
import {
  type Db,
  serviceCatalog,
  serviceInstances,
  subscriptions,
  type UserRole,
  users,
} from "@minispod/db";
import { type Actor, AppError, keyset, type Page, type PageQuery } from "@minispod/shared";
import { and, eq, ilike, isNotNull, isNull, or } from "drizzle-orm";

type UserRow = typeof users.$inferSelect;
const iso = (date: Date | null) => (date ? date.toISOString() : null);

/** A user as the admin API shows it (never the password hash). */
export function userDto(row: UserRow) {
  return {
    id: row.id,
    email: row.email,
    name: row.name,
    role: row.role,
    emailVerifiedAt: iso(row.emailVerifiedAt),
    disabledAt: iso(row.disabledAt),
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}
export type UserDto = ReturnType<typeof userDto>;

export const userNotFound = () => new AppError("NOT_FOUND", { detail: "No user with this id." });

/** `%`, `_` and `\` match themselves in a search. */
const likePattern = (text: string) => `%${text.replace(/[\\%_]/g, (ch) => `\\${ch}`)}%`;

export interface ListUsersInput {
  page: PageQuery;
  /** Part of the email or the name, case-insensitive. */
  q?: string | undefined;
  role?: UserRole | undefined;
  disabled?: boolean | undefined;
}

/** Newest first, filtered by search text, role and disabled state. */
export async function listUsers(db: Db, input: ListUsersInput): Promise<Page<UserDto>> {
  const p = keyset(users.createdAt, users.id, input.page);
  const pattern = input.q ? likePattern(input.q) : undefined;
  const rows = await db
    .select()
    .from(users)
    .where(
      and(
        pattern ? or(ilike(users.email, pattern), ilike(users.name, pattern)) : undefined,
        input.role ? eq(users.role, input.role) : undefined,
        input.disabled === undefined
          ? undefined
          : input.disabled
            ? isNotNull(users.disabledAt)
            : isNull(users.disabledAt),
        p.where,
      ),
    )
    .orderBy(...p.orderBy)
    .limit(p.fetch);
  return p.page(rows, userDto);
}

/** How many of each the user's page shows; the rest continue on the lists (cursor). */
const RECENT = 20;

function instanceItem(row: {
  instance: typeof serviceInstances.$inferSelect;
  service: { id: string; slug: string; name: string };
}) {
  const i = row.instance;
  return {
    id: i.id,
    subscriptionId: i.subscriptionId,
    service: row.service,
    status: i.status,
    url: i.url,
    createdAt: i.createdAt.toISOString(),
  };
}

/**
 * One user with their most recent subscriptions, instances and invoices
 * (at most 20 each, newest first). Each `nextCursor` continues on the
 * matching list with `?userId=`: /api/v1/admin/subscriptions,
 * /api/v1/instances, /api/v1/invoices.
 */
export async function showUser(db: Db, actor: Actor, id: string) {
  const [user] = await db.select().from(users).where(eq(users.id, id));
  if (!user) throw userNotFound();
  const page = { limit: RECENT };
  const p = keyset(serviceInstances.createdAt, serviceInstances.id, page);
  const [subscriptionPage, invoicePage, instanceRows] = await Promise.all([
    listSubscriptions({ ctx: { db }, input: { actor, page, userId: id } }),
    listInvoices({ db, input: { actor, page, userId: id } }),
    db
      .select({
        instance: serviceInstances,
        service: { id: serviceCatalog.id, slug: serviceCatalog.slug, name: serviceCatalog.name },
      })
      .from(serviceInstances)
      .innerJoin(subscriptions, eq(subscriptions.id, serviceInstances.subscriptionId))
      .innerJoin(serviceCatalog, eq(serviceCatalog.id, subscriptions.serviceId))
      .where(eq(subscriptions.userId, id))
      .orderBy(...p.orderBy)
      .limit(p.fetch),
  ]);
  return {
    ...userDto(user),
    subscriptions: subscriptionPage,
    instances: p.page(
      instanceRows.map((row) => ({
        ...row,
        createdAt: row.instance.createdAt,
        id: row.instance.id,
      })),
      instanceItem,
    ),
    invoices: invoicePage,
  };
}
