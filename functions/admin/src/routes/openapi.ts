import { invoiceSchema, subscriptionSchema } from "@minispod/billing";
import { instanceStatus, subscriptionStatus, userRole } from "@minispod/db";
import { describeRoute, listOf, named } from "@minispod/shared";
import * as v from "valibot";

/**
 * The OpenAPI notes of the admin and audit routes, with the wire form of
 * their answers (checked against every answer under test).
 */
const uuid = v.pipe(v.string(), v.uuid());
const timestamp = v.pipe(v.string(), v.isoTimestamp());
const integer = v.pipe(v.number(), v.integer());
const counts = (keys: readonly string[]) =>
  v.object(Object.fromEntries(keys.map((k) => [k, integer])) as Record<string, typeof integer>);

export const userSchema = named(
  "AdminUser",
  v.object({
    id: uuid,
    email: v.string(),
    name: v.string(),
    role: v.picklist(userRole.enumValues),
    emailVerifiedAt: v.nullable(timestamp),
    disabledAt: v.pipe(v.nullable(timestamp), v.description("Set while the account is disabled.")),
    createdAt: timestamp,
    updatedAt: timestamp,
  }),
);

const instanceItemSchema = named(
  "InstanceSummary",
  v.object({
    id: uuid,
    subscriptionId: uuid,
    service: v.object({ id: uuid, slug: v.string(), name: v.string() }),
    status: v.picklist(instanceStatus.enumValues),
    url: v.string(),
    createdAt: timestamp,
  }),
);

const userDetailSchema = named(
  "AdminUserDetail",
  v.object({
    ...userSchema.entries,
    subscriptions: v.pipe(
      listOf(subscriptionSchema),
      v.description(
        "The 20 newest; nextCursor continues on GET /api/v1/admin/subscriptions?userId=",
      ),
    ),
    instances: v.pipe(
      listOf(instanceItemSchema),
      v.description("The 20 newest; nextCursor continues on GET /api/v1/instances?userId="),
    ),
    invoices: v.pipe(
      listOf(invoiceSchema),
      v.description("The 20 newest; nextCursor continues on GET /api/v1/invoices?userId="),
    ),
  }),
);

const roleChangeSchema = named(
  "RoleChange",
  v.object({
    user: userSchema,
    previousRole: v.picklist(userRole.enumValues),
    changed: v.pipe(v.boolean(), v.description("False when the user already had this role.")),
  }),
);

const accountChangeSchema = named(
  "AccountChange",
  v.object({
    user: userSchema,
    changed: v.pipe(
      v.boolean(),
      v.description("False when the account already was in the asked state (nothing written)."),
    ),
    liveSubscriptions: v.pipe(
      integer,
      v.description("PENDING, ACTIVE or PAST_DUE subscriptions: they keep renewing and billing."),
    ),
    runningInstances: v.pipe(
      integer,
      v.description("PENDING, PROVISIONING or RUNNING instances: they keep running."),
    ),
    note: v.string(),
  }),
);

const statsSchema = named(
  "Stats",
  v.object({
    generatedAt: timestamp,
    subscriptions: v.pipe(counts(subscriptionStatus.enumValues), v.description("By status.")),
    instances: v.pipe(counts(instanceStatus.enumValues), v.description("By status.")),
    mrr: v.pipe(
      v.array(v.object({ currency: v.string(), amountMinor: integer })),
      v.description(
        "Monthly recurring revenue in minor units, by currency: the price of every ACTIVE or PAST_DUE subscription.",
      ),
    ),
    months: v.pipe(
      v.array(
        v.object({
          month: v.pipe(v.string(), v.regex(/^\d{4}-\d{2}$/)),
          signups: integer,
          cancelled: integer,
          expired: integer,
          churned: integer,
        }),
      ),
      v.description("The last 12 UTC months, oldest first, the current one last."),
    ),
  }),
);

/** Which entries are a user's own: one wording for both audit routes. */
const ownEntries =
  "Own entries: those about the caller's things (their account, subscriptions, invoices and payments, instances, webhook endpoints), whoever acted, an admin or the platform (SYSTEM) included, and the caller's own actions.";

export const auditSchema = named(
  "AuditEntry",
  v.object({
    id: uuid,
    actor: v.object({
      id: v.pipe(
        v.nullable(uuid),
        v.description(
          "Null for the platform itself, and for anyone but the caller when the caller is not an admin.",
        ),
      ),
      role: v.pipe(
        v.nullable(v.string()),
        v.description("CUSTOMER, ADMIN, SUPER_ADMIN or SYSTEM."),
      ),
    }),
    action: v.pipe(v.string(), v.description('"<entity>.<verb>", e.g. "user.disabled".')),
    resourceType: v.string(),
    resourceId: v.nullable(v.string()),
    metadata: v.record(v.string(), v.unknown()),
    ip: v.pipe(v.nullable(v.string()), v.description("Hidden (null) like the actor's id.")),
    userAgent: v.pipe(v.nullable(v.string()), v.description("Hidden (null) like the actor's id.")),
    requestId: v.nullable(v.string()),
    createdAt: timestamp,
  }),
);

export const notes = {
  listUsers: describeRoute({
    id: "admin.users.list",
    summary: "Search users by email or name, newest first",
    response: { schema: listOf(userSchema) },
    errors: [],
  }),
  getUser: describeRoute({
    id: "admin.users.get",
    summary: "Show a user with their recent subscriptions, instances and invoices",
    description: "The `ETag` is the user's version, for `If-Match` on a role change.",
    response: { schema: userDetailSchema },
    errors: [],
    etag: true,
  }),
  setRole: describeRoute({
    id: "admin.users.setRole",
    summary: "Change a user's role (SUPER_ADMIN only; ends their sessions)",
    description:
      "The last active SUPER_ADMIN can't be demoted (409). The user's refresh tokens and access tokens are revoked, so the new role applies at their next sign-in. Send the `ETag` of your last read of the user as `If-Match`: a change made since by someone else answers 412.",
    response: { schema: roleChangeSchema },
    errors: ["CONFLICT"],
    etag: true,
    ifMatch: "optional",
  }),
  disable: describeRoute({
    id: "admin.users.disable",
    summary: "Disable a user: sign-in refused, sessions and access tokens revoked at once",
    description:
      "Nothing is suspended: the answer counts the live subscriptions and running instances, which keep running and billing until cancelled. Nobody can disable themselves (409); only a SUPER_ADMIN may disable a SUPER_ADMIN (403).",
    response: { schema: accountChangeSchema },
    errors: ["CONFLICT"],
  }),
  enable: describeRoute({
    id: "admin.users.enable",
    summary: "Enable a disabled user again",
    response: { schema: accountChangeSchema },
    errors: ["CONFLICT"],
  }),
  listSubscriptions: describeRoute({
    id: "admin.subscriptions.list",
    summary: "All subscriptions, newest first, by status, service, user and period end",
    response: { schema: listOf(subscriptionSchema) },
    errors: [],
  }),
  stats: describeRoute({
    id: "admin.stats.get",
    summary: "Subscriptions and instances by status, MRR, signups and churn per month",
    response: { schema: statsSchema },
    errors: [],
  }),
  listAudit: describeRoute({
    id: "admin.audit.list",
    summary: "Everyone's audit log, newest first, with filters",
    description: `Every entry in full: actors' ids, IPs and user agents included. \`userId\` selects the entries GET /api/v1/audit shows that user. ${ownEntries}`,
    response: { schema: listOf(auditSchema) },
    errors: [],
  }),
  ownAudit: describeRoute({
    id: "audit.list",
    summary: "The caller's own audit entries, newest first",
    description: `${ownEntries} A customer sees another actor by role only: \`actor.id\`, \`ip\` and \`userAgent\` are null on entries they did not make themselves (e.g. \`{"id": null, "role": "ADMIN"}\`); the request id stays. Admins see every entry in full.`,
    response: { schema: listOf(auditSchema) },
    errors: [],
  }),
};
