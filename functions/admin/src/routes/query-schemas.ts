import { subscriptionStatus, userRole } from "@minispod/db";
import { AppError, documentAs, fields, pageQuery } from "@minispod/shared";
import * as v from "valibot";

const ISO_INSTANT =
  /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,6})?)?(?:Z|[+-](\d{2}):(\d{2})))?$/;

/** True when every part is in range: no "February 30th" rolled over into March. */
function realInstant(text: string): boolean {
  const m = ISO_INSTANT.exec(text);
  if (!m) return false;
  const [year, month, day, hour = 0, minute = 0, second = 0, offH = 0, offM = 0] = m
    .slice(1)
    .map((part) => (part === undefined ? undefined : Number(part)));
  const daysInMonth = new Date(Date.UTC(year!, month!, 0)).getUTCDate();
  return (
    month! >= 1 &&
    month! <= 12 &&
    day! >= 1 &&
    day! <= daysInMonth &&
    hour! < 24 &&
    minute! < 60 &&
    second! < 60 &&
    offH! < 24 &&
    offM! < 60
  );
}

/** An ISO 8601 date ("2026-03-01", UTC midnight) or timestamp ("2026-03-01T12:00:00Z") in a query. */
const instant = () =>
  documentAs(
    v.optional(
      v.pipe(
        v.string(),
        v.check(realInstant, "must be an ISO 8601 date or timestamp"),
        v.transform((s) => new Date(s)),
      ),
    ),
    { type: "string", format: "date-time" },
  );

const text = (max: number) =>
  v.optional(v.pipe(v.string(), v.trim(), v.nonEmpty("is empty"), v.maxLength(max, "is too long")));

/** 400 when a range ends before it starts. */
export function orderedRange(
  from: Date | undefined,
  to: Date | undefined,
  names: [string, string],
) {
  if (from && to && from.getTime() > to.getTime()) {
    throw new AppError("VALIDATION_FAILED", {
      detail: `Invalid query: ${names[0]} is after ${names[1]}.`,
      fields: [{ field: names[0], message: `is after ${names[1]}` }],
    });
  }
}

export const usersQuery = v.object({
  ...pageQuery.entries,
  /** Part of the email or the name, case-insensitive. */
  q: text(100),
  role: v.optional(v.picklist(userRole.enumValues, "is not a role")),
  disabled: v.optional(
    v.pipe(
      v.picklist(["true", "false"], "must be true or false"),
      v.transform((s) => s === "true"),
    ),
  ),
});

export const roleBody = v.object({ role: v.picklist(userRole.enumValues, "is not a role") });

export const disableBody = v.object({
  reason: v.optional(
    v.pipe(v.string("must be a string"), v.trim(), v.maxLength(500, "is too long")),
  ),
});

export const subscriptionsQuery = v.object({
  ...pageQuery.entries,
  status: v.optional(v.picklist(subscriptionStatus.enumValues, "is not a subscription status")),
  serviceId: v.optional(fields.uuid()),
  userId: v.optional(fields.uuid()),
  /** Current period ending at or after. */
  periodEndFrom: instant(),
  /** Current period ending before. */
  periodEndTo: instant(),
});

const ownAuditEntries = {
  ...pageQuery.entries,
  action: text(100),
  /** Inclusive. */
  from: instant(),
  /** Exclusive. */
  to: instant(),
};

export const ownAuditQuery = v.object(ownAuditEntries);

export const auditQuery = v.object({
  ...ownAuditEntries,
  actorId: v.optional(fields.uuid()),
  /** The user's own entries: about their things (whoever acted), and what they did. */
  userId: v.optional(fields.uuid()),
  resourceType: text(50),
  resourceId: text(200),
});
