import { createHash } from "node:crypto";
import type { Context } from "hono";
import { AppError } from "./errors";

/**
 * Optimistic concurrency for admin updates (RFC 9110 §13.1.1): a read answers
 * the row's version as `ETag`; an update sent with `If-Match` applies only if
 * the row is still that version (else 412), so two admins cannot overwrite
 * each other silently.
 */

/** The strong entity tag of a row's version: its id and last update. */
export function versionTag(row: { id: string; updatedAt: Date | string }): string {
  const at = typeof row.updatedAt === "string" ? row.updatedAt : row.updatedAt.toISOString();
  return `"${createHash("sha256").update(`${row.id}@${at}`).digest("base64url").slice(0, 27)}"`;
}

/** The tags of the request's `If-Match` (`["*"]` for any), or undefined when it sent none. */
export function ifMatchOf(c: Context): string[] | undefined {
  const header = c.req.header("if-match");
  if (header === undefined) return undefined;
  return header
    .split(",")
    .map((tag) => tag.trim())
    .filter((tag) => tag !== "");
}

/**
 * Refuses the update unless `current` is among the `If-Match` tags: 412 on a
 * mismatch; 428 when none was sent and one is `required`. Weak tags never match
 * (strong comparison, as RFC 9110 requires for If-Match).
 */
export function checkIfMatch(
  tags: string[] | undefined,
  current: string,
  options: { required?: boolean } = {},
): void {
  if (tags === undefined) {
    if (options.required) {
      throw new AppError("PRECONDITION_REQUIRED", {
        detail: "Send If-Match with the ETag of your last read of this resource.",
      });
    }
    return;
  }
  if (tags.includes("*") || tags.includes(current)) return;
  throw new AppError("PRECONDITION_FAILED", {
    detail: "The resource changed since you read it; read it again and reapply your change.",
    extra: { etag: current },
  });
}
