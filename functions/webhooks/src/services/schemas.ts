import { isIP } from "node:net";
import { customerFacingTypes } from "@minispod/shared";
import { bareHostname, isForbiddenAddress } from "@minispod/webhooks";
import * as v from "valibot";

export const MAX_URL_LENGTH = 2048;
/** Subscribes to every customer-facing type, including ones added later. */
export const ALL_EVENTS = "*";

/**
 * Why `text` cannot be a webhook URL, or undefined when it can. The delivery
 * path checks resolved addresses again; this catches the obvious early.
 */
export function urlProblem(text: string, allowPrivate: boolean): string | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return "must be an absolute URL";
  }
  if (url.protocol !== "https:" && !(allowPrivate && url.protocol === "http:")) {
    return allowPrivate ? "must use https or http" : "must use https";
  }
  if (url.username || url.password) return "must not contain credentials";
  if (url.hash) return "must not contain a fragment";
  if (!allowPrivate) {
    // "localhost." is the same name as "localhost" (a fully qualified one).
    const host = bareHostname(url.hostname).toLowerCase().replace(/\.+$/, "");
    const privateLiteral = isIP(host) !== 0 && isForbiddenAddress(host);
    if (privateLiteral || host === "localhost" || host.endsWith(".localhost")) {
      return "must not point at a private, loopback or link-local address";
    }
  }
  return undefined;
}

export const urlSchema = (allowPrivate: boolean) =>
  v.pipe(
    v.string("must be a string"),
    v.trim(),
    v.nonEmpty("is required"),
    v.maxLength(MAX_URL_LENGTH, `must be at most ${MAX_URL_LENGTH} characters`),
    v.rawCheck(({ dataset, addIssue }) => {
      // Earlier pipe steps already reported an empty or too long value.
      if (!dataset.typed || dataset.value === "" || dataset.value.length > MAX_URL_LENGTH) return;
      const problem = urlProblem(dataset.value, allowPrivate);
      if (problem) addIssue({ message: problem });
    }),
    // What the check above means, for the API document.
    v.metadata({
      format: "uri",
      pattern: allowPrivate ? "^https?://" : "^https://",
      examples: ["https://example.com/minispod-webhook"],
    }),
  );

const eventName = v.picklist(
  [...customerFacingTypes, ALL_EVENTS],
  `must be "*" or one of: ${customerFacingTypes.join(", ")}`,
);

/** Distinct types, and just ["*"] when "*" is among them. */
export const eventsSchema = v.pipe(
  v.array(eventName, "must be an array of event types"),
  v.minLength(1, "must list at least one event type"),
  v.maxLength(50, "must list at most 50 event types"),
  v.transform((types): string[] =>
    types.includes(ALL_EVENTS) ? [ALL_EVENTS] : [...new Set(types)],
  ),
);

export const descriptionSchema = v.pipe(
  v.string("must be a string"),
  v.trim(),
  v.maxLength(500, "must be at most 500 characters"),
);

export const createSchema = (allowPrivate: boolean) =>
  v.object({
    url: urlSchema(allowPrivate),
    events: eventsSchema,
    description: v.optional(descriptionSchema),
  });
export type CreateInput = v.InferOutput<ReturnType<typeof createSchema>>;

export const updateSchema = (allowPrivate: boolean) =>
  v.pipe(
    v.object({
      url: v.optional(urlSchema(allowPrivate)),
      events: v.optional(eventsSchema),
      description: v.optional(descriptionSchema),
      enabled: v.optional(v.boolean("must be true or false")),
    }),
    // Documented; the route names what is missing.
    v.metadata({ minProperties: 1 }),
  );
export type UpdateInput = v.InferOutput<ReturnType<typeof updateSchema>>;
