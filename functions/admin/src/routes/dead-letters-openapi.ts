import { describeRoute, listOf, named } from "@minispod/shared";
import * as v from "valibot";

/**
 * The OpenAPI notes of `/api/v1/admin/dead-letters`, with the wire form of
 * the dead-letter service's answers (checked against every answer under test).
 */
const uuid = v.pipe(v.string(), v.uuid());
const timestamp = v.pipe(v.string(), v.isoTimestamp());

const summarySchema = named(
  "DeadLetter",
  v.object({
    id: uuid,
    eventId: v.pipe(v.string(), v.description("The original CloudEvent id.")),
    type: v.pipe(
      v.string(),
      v.description("Full CloudEvent type, e.g. dev.minispod.user.registered."),
    ),
    source: v.string(),
    subject: v.nullable(v.string()),
    destination: v.pipe(
      v.nullable(v.string()),
      v.description("The consumer whose delivery failed (Knative's knativeerrordest), if known."),
    ),
    eventTime: v.pipe(
      v.nullable(timestamp),
      v.description(
        "When the event happened (its CloudEvent time); null for letters stored before it was kept.",
      ),
    ),
    receivedAt: timestamp,
    replayedAt: v.pipe(
      v.nullable(timestamp),
      v.description("The last replay; null until replayed."),
    ),
  }),
);

const detailSchema = named(
  "DeadLetterDetail",
  v.object({
    ...summarySchema.entries,
    data: v.unknown(),
    extensions: v.record(v.string(), v.unknown()),
    failure: v.object({
      destination: v.nullable(v.string()),
      code: v.pipe(v.nullable(v.string()), v.description("The consumer's last HTTP status.")),
      detail: v.pipe(
        v.nullable(v.string()),
        v.description("The consumer's last answer (decoded)."),
      ),
    }),
    replayable: v.pipe(
      v.union([
        v.object({ ok: v.literal(true) }),
        v.object({ ok: v.literal(false), reason: v.string() }),
      ]),
      v.description("Whether a replay can re-publish it, and why not."),
    ),
  }),
);

const replayedSchema = named(
  "DeadLetterReplay",
  v.object({
    items: v.array(
      v.object({
        id: uuid,
        eventId: uuid,
        type: v.string(),
        outbox: v.pipe(
          v.picklist(["reset", "inserted"]),
          v.description(
            "reset: the original outbox row is due again; inserted: it was gone and is back under the same id.",
          ),
        ),
        replayedAt: timestamp,
        previouslyReplayedAt: v.pipe(
          v.nullable(timestamp),
          v.description(
            "Set when the letter had been replayed before; replaying again is allowed.",
          ),
        ),
      }),
    ),
  }),
);

const REPLAY_DESCRIPTION =
  "Re-publishes through the outbox under the original CloudEvent id, so consumers that handled the event already skip it and only the ones that failed act. All or none: 404 if an id is unknown, 422 (with `letters`, one entry per letter) if a letter cannot be re-published (not a UUID id, not a minispod type, data not matching its type), 409 if the outbox holds another event under that id. Replaying a replayed letter again is allowed. Each replay is in the audit log.";

export const notes = {
  list: describeRoute({
    id: "admin.deadLetters.list",
    summary:
      "List dead-lettered events, newest first, by type, source, replayed or not, and received range",
    response: { schema: listOf(summarySchema) },
    errors: [],
  }),
  get: describeRoute({
    id: "admin.deadLetters.get",
    summary: "Show a dead-lettered event: data, extensions, which consumer failed and why",
    response: { schema: detailSchema },
    errors: [],
  }),
  replayMany: describeRoute({
    id: "admin.deadLetters.replayMany",
    summary: "Replay up to 100 dead-lettered events through the outbox",
    description: REPLAY_DESCRIPTION,
    response: { schema: replayedSchema },
    errors: ["NOT_FOUND", "CONFLICT", "UNPROCESSABLE"],
  }),
  replay: describeRoute({
    id: "admin.deadLetters.replay",
    summary: "Replay one dead-lettered event through the outbox",
    description: REPLAY_DESCRIPTION,
    response: { schema: replayedSchema },
    errors: ["CONFLICT", "UNPROCESSABLE"],
  }),
  discard: describeRoute({
    id: "admin.deadLetters.discard",
    summary: "Discard a dead-lettered event for good (audited)",
    response: { status: 204 },
    errors: [],
  }),
};
