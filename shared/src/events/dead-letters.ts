import { type Db, deadEvents, outboxEvents } from "@minispod/db";
import { and, eq, gte, inArray, isNotNull, isNull, lt, type SQL } from "drizzle-orm";
import * as v from "valibot";
import { type Actor, recordAudits } from "../audit";
import { AppError } from "../errors";
import { keyset, type Page, type PageQuery } from "../pagination";
import { EVENT_PREFIX, eventCatalogue, shortType } from "./catalogue";

/**
 * Dead letters: events the broker gave up on, kept by outbox-relay's sink
 * (`dead_events`). Operators list and show them, replay them through the
 * outbox with their original CloudEvent id (so every consumer's
 * processed-event record still recognises them), or discard them.
 */

type DeadEventRow = typeof deadEvents.$inferSelect;

/** What Knative says about the delivery that failed (its `knativeerror*` extensions), when it says it. */
export interface DeadLetterFailure {
  /** The subscriber the Trigger could not deliver to (`knativeerrordest`). */
  destination: string | null;
  /** The subscriber's last HTTP status (`knativeerrorcode`). */
  code: string | null;
  /** The subscriber's last answer, decoded from base64 (`knativeerrordata`), at most 2000 characters. */
  detail: string | null;
}

export interface DeadLetterSummary {
  id: string;
  /** The original CloudEvent id. */
  eventId: string;
  type: string;
  source: string;
  subject: string | null;
  /** Which consumer failed, if Knative said. */
  destination: string | null;
  /** When the event happened (its CloudEvent time); null for letters stored before it was kept. */
  eventTime: string | null;
  receivedAt: string;
  /** The last replay; null until replayed. */
  replayedAt: string | null;
}

export interface DeadLetterDetail extends DeadLetterSummary {
  data: unknown;
  extensions: Record<string, unknown>;
  failure: DeadLetterFailure;
  /** Whether a replay can re-publish it (a UUID id and data matching its type), and why not. */
  replayable: { ok: true } | { ok: false; reason: string };
}

const text = (value: unknown) => (typeof value === "string" && value !== "" ? value : null);

function failureOf(extensions: Record<string, unknown>): DeadLetterFailure {
  const data = text(extensions.knativeerrordata);
  let detail: string | null = null;
  if (data) {
    const decoded = Buffer.from(data, "base64").toString("utf8");
    // Not base64 of text after all: show it as sent.
    detail = (decoded.includes("\uFFFD") ? data : decoded).slice(0, 2000);
  }
  return {
    destination: text(extensions.knativeerrordest),
    code: text(extensions.knativeerrorcode),
    detail,
  };
}

function summaryOf(row: DeadEventRow): DeadLetterSummary {
  return {
    id: row.id,
    eventId: row.eventId,
    type: row.type,
    source: row.source,
    subject: row.subject,
    destination: failureOf(row.extensions).destination,
    eventTime: row.eventTime?.toISOString() ?? null,
    receivedAt: row.receivedAt.toISOString(),
    replayedAt: row.replayedAt?.toISOString() ?? null,
  };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Why `row` cannot go back through the outbox, or undefined when it can. */
function unreplayableReason(row: DeadEventRow, rememberedSince?: Date): string | undefined {
  if (!UUID.test(row.eventId)) {
    return `its event id "${row.eventId.slice(0, 100)}" is not a UUID, so it did not come from the outbox and cannot be re-published under its own id`;
  }
  const type = shortType(row.type);
  if (!type) return `${row.type} is not a minispod event type`;
  if (!v.safeParse(eventCatalogue[type], row.data).success) {
    return `its data does not match the schema of ${row.type}; consumers would refuse it again`;
  }
  // Consumers handled the event no earlier than it happened; once their record
  // of it may be purged, the ones that did handle it would act a second time.
  const happened = row.eventTime ?? row.receivedAt;
  if (rememberedSince && happened < rememberedSince) {
    return `it happened at ${happened.toISOString()}, before ${rememberedSince.toISOString()}: consumers forget the events they handled after PROCESSED_EVENTS_RETENTION, so those that handled it would act on it again`;
  }
  return undefined;
}

export interface DeadLetterFilters {
  /** Full (`dev.minispod.user.registered`) or short (`user.registered`) type. */
  type?: string | undefined;
  source?: string | undefined;
  replayed?: boolean | undefined;
  /** Received at or after. */
  from?: Date | undefined;
  /** Received before. */
  to?: Date | undefined;
}

/** Dead letters, newest first, filtered, in cursor pages. */
export async function listDeadLetters(
  db: Db,
  input: DeadLetterFilters & { page: PageQuery },
): Promise<Page<DeadLetterSummary>> {
  const type =
    input.type && !input.type.startsWith(EVENT_PREFIX) && shortType(EVENT_PREFIX + input.type)
      ? EVENT_PREFIX + input.type
      : input.type;
  const p = keyset(deadEvents.receivedAt, deadEvents.id, input.page);
  const filters: (SQL | undefined)[] = [
    type ? eq(deadEvents.type, type) : undefined,
    input.source ? eq(deadEvents.source, input.source) : undefined,
    input.replayed === undefined
      ? undefined
      : input.replayed
        ? isNotNull(deadEvents.replayedAt)
        : isNull(deadEvents.replayedAt),
    input.from ? gte(deadEvents.receivedAt, input.from) : undefined,
    input.to ? lt(deadEvents.receivedAt, input.to) : undefined,
    p.where,
  ];
  const rows = await db
    .select()
    .from(deadEvents)
    .where(and(...filters))
    .orderBy(...p.orderBy)
    .limit(p.fetch);
  return p.page(
    rows.map((row) => ({ ...row, createdAt: row.receivedAt })),
    summaryOf,
  );
}

const notFound = (id: string) => new AppError("NOT_FOUND", { detail: `No dead letter ${id}.` });

/** One dead letter with its data, extensions and what failed. */
export async function showDeadLetter(
  db: Db,
  id: string,
  options: { rememberedSince?: Date | undefined } = {},
): Promise<DeadLetterDetail> {
  const [row] = await db.select().from(deadEvents).where(eq(deadEvents.id, id));
  if (!row) throw notFound(id);
  const reason = unreplayableReason(row, options.rememberedSince);
  return {
    ...summaryOf(row),
    data: row.data,
    extensions: row.extensions,
    failure: failureOf(row.extensions),
    replayable: reason ? { ok: false, reason } : { ok: true },
  };
}

export interface ReplayedLetter {
  id: string;
  eventId: string;
  type: string;
  /** `reset`: the original outbox row is unpublished again; `inserted`: it was gone and is back, same id. */
  outbox: "reset" | "inserted";
  replayedAt: string;
  /** Set when this letter had been replayed before (replaying again is allowed). */
  previouslyReplayedAt: string | null;
}

/**
 * Re-publishes dead letters through the outbox under their original CloudEvent
 * ids, all or none, in one transaction with their audit rows. The original
 * outbox row, if still there, is made due again (unpublished, no attempts);
 * otherwise it is inserted with the same id, source, type, subject, data,
 * traceparent and time. Consumers deduplicate on (source, id), so the
 * consumers that handled the event already answer "duplicate" and only the
 * ones that failed act. Replaying a letter again is allowed and safe for the same reason.
 *
 * Answers 404 when an id is unknown, 422 (one entry per letter) when a letter
 * cannot be re-published (among the reasons: it happened before
 * `rememberedSince`, the oldest handling consumers still remember), 409 when
 * the outbox holds a different event under its id. The caller sends the
 * returned event ids after the commit.
 */
export async function replayDeadLetters(
  db: Db,
  input: {
    ids: string[];
    actor: Actor;
    now: Date;
    /** now − PROCESSED_EVENTS_RETENTION: older letters would be handled twice. */
    rememberedSince?: Date | undefined;
  },
): Promise<{ items: ReplayedLetter[]; eventIds: string[] }> {
  const ids = [...new Set(input.ids)];
  return db.transaction(async (tx) => {
    // Locked, so two replays of the same letters run one after the other.
    const rows = await tx
      .select()
      .from(deadEvents)
      .where(inArray(deadEvents.id, ids))
      .orderBy(deadEvents.receivedAt, deadEvents.id)
      .for("update");
    const found = new Set(rows.map((r) => r.id));
    const missing = ids.filter((id) => !found.has(id));
    if (missing.length > 0) {
      throw new AppError("NOT_FOUND", {
        detail: `No dead letter ${missing.join(", ")}.`,
        extra: { missing },
      });
    }
    const refused = rows.flatMap((row) => {
      const reason = unreplayableReason(row, input.rememberedSince);
      return reason ? [{ id: row.id, eventId: row.eventId, reason }] : [];
    });
    if (refused.length > 0) {
      throw new AppError("UNPROCESSABLE", {
        detail: `${refused.length} of ${rows.length} dead letters cannot be replayed; nothing was replayed.`,
        extra: { letters: refused },
      });
    }

    // One outbox row per original event (two Triggers may have dead-lettered the same one).
    const byEvent = new Map<string, DeadEventRow>();
    for (const row of rows) {
      const other = byEvent.get(row.eventId.toLowerCase());
      if (other && (other.source !== row.source || other.type !== row.type)) {
        throw new AppError("CONFLICT", {
          detail: `Dead letters ${other.id} and ${row.id} share event id ${row.eventId} but not its source and type.`,
        });
      }
      byEvent.set(row.eventId.toLowerCase(), row);
    }
    const eventIds = [...byEvent.keys()];
    const existing = await tx
      .select({ id: outboxEvents.id, source: outboxEvents.source, type: outboxEvents.type })
      .from(outboxEvents)
      .where(inArray(outboxEvents.id, eventIds))
      .for("update");
    for (const row of existing) {
      const letter = byEvent.get(row.id)!;
      if (row.source !== letter.source || row.type !== letter.type) {
        throw new AppError("CONFLICT", {
          detail: `The outbox holds another event (${row.type} from ${row.source}) under id ${row.id}; dead letter ${letter.id} was not replayed.`,
        });
      }
    }
    const kept = new Set(existing.map((r) => r.id));
    if (kept.size > 0) {
      await tx
        .update(outboxEvents)
        .set({ publishedAt: null, attempts: 0, lastError: null, nextAttemptAt: input.now })
        .where(inArray(outboxEvents.id, [...kept]));
    }
    const gone = eventIds.filter((id) => !kept.has(id));
    if (gone.length > 0) {
      await tx.insert(outboxEvents).values(
        gone.map((id) => {
          const letter = byEvent.get(id)!;
          return {
            id,
            type: letter.type,
            source: letter.source,
            subject: letter.subject,
            data: letter.data,
            traceparent: text(letter.extensions.traceparent),
            // Consumers see when it happened, not when it was replayed.
            ...(letter.eventTime ? { time: letter.eventTime } : {}),
            nextAttemptAt: input.now,
          };
        }),
      );
    }
    await tx.update(deadEvents).set({ replayedAt: input.now }).where(inArray(deadEvents.id, ids));

    const items: ReplayedLetter[] = rows.map((row) => ({
      id: row.id,
      eventId: row.eventId,
      type: row.type,
      outbox: kept.has(row.eventId.toLowerCase()) ? "reset" : "inserted",
      replayedAt: input.now.toISOString(),
      previouslyReplayedAt: row.replayedAt?.toISOString() ?? null,
    }));
    await recordAudits(
      tx,
      items.map((item) => ({
        actor: input.actor,
        action: "dead_letter.replayed",
        resourceType: "dead_letter",
        resourceId: item.id,
        metadata: {
          eventId: item.eventId,
          type: item.type,
          outbox: item.outbox,
          previouslyReplayedAt: item.previouslyReplayedAt,
        },
        at: input.now,
      })),
    );
    return { items, eventIds };
  });
}

/** Deletes a dead letter for good (its event is not re-published), with an audit row. */
export async function discardDeadLetter(
  db: Db,
  input: { id: string; actor: Actor; now: Date },
): Promise<void> {
  await db.transaction(async (tx) => {
    const [row] = await tx.delete(deadEvents).where(eq(deadEvents.id, input.id)).returning();
    if (!row) throw notFound(input.id);
    await recordAudits(tx, [
      {
        actor: input.actor,
        action: "dead_letter.discarded",
        resourceType: "dead_letter",
        resourceId: row.id,
        metadata: {
          eventId: row.eventId,
          type: row.type,
          source: row.source,
          replayedAt: row.replayedAt?.toISOString() ?? null,
        },
        at: input.now,
      },
    ]);
  });
}
