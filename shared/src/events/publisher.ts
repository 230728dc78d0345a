import { CloudEvent, HTTP } from "cloudevents";

/** The parts of a CloudEvent minispod uses. */
export interface CloudEventMessage {
  id: string;
  /** Full type, e.g. "dev.minispod.user.registered". */
  type: string;
  source: string;
  subject?: string | undefined;
  time: string;
  data: unknown;
  /** Extension attributes (lower-case names). */
  extensions?: Record<string, string>;
}

export interface EventPublisher {
  publish(event: CloudEventMessage): Promise<void>;
}

/** Binary-mode HTTP headers and body for an event. */
export function toBinaryHttp(event: CloudEventMessage): {
  headers: Record<string, string>;
  body: string;
} {
  const ce = new CloudEvent({
    specversion: "1.0",
    id: event.id,
    type: event.type,
    source: event.source,
    subject: event.subject,
    time: event.time,
    datacontenttype: "application/json",
    data: event.data,
    ...event.extensions,
  });
  const message = HTTP.binary(ce);
  const body = typeof message.body === "string" ? message.body : JSON.stringify(message.body);
  const headers = message.headers as Record<string, string>;
  // The distributed-tracing extension travels as ce-traceparent; the plain W3C
  // header too, for brokers and proxies that trace HTTP hops.
  if (event.extensions?.traceparent) headers.traceparent = event.extensions.traceparent;
  return { headers, body };
}

/** Parses a binary- or structured-mode HTTP CloudEvent. Throws on anything malformed. */
export function fromHttp(headers: Record<string, string>, body: string): CloudEventMessage {
  const parsed = HTTP.toEvent({ headers, body });
  const ce = (Array.isArray(parsed) ? parsed[0] : parsed) as CloudEvent<unknown> | undefined;
  if (!ce) throw new Error("no CloudEvent in request");
  const {
    id,
    type,
    source,
    subject,
    time,
    data,
    specversion: _sv,
    datacontenttype: _dct,
    ...rest
  } = ce.toJSON() as Record<string, unknown>;
  const extensions: Record<string, string> = {};
  for (const [key, value] of Object.entries(rest)) {
    if (key !== "data_base64" && key !== "dataschema" && value !== undefined)
      extensions[key] = String(value);
  }
  let payload: unknown = data;
  if (typeof payload === "string") {
    try {
      payload = JSON.parse(payload);
    } catch {
      // Leave non-JSON data as the string it is.
    }
  }
  return {
    id: String(id),
    type: String(type),
    source: String(source),
    subject: subject === undefined ? undefined : String(subject),
    time: time ? String(time) : new Date().toISOString(),
    data: payload,
    extensions,
  };
}

/**
 * Publishes to a Knative Broker (or any CloudEvents sink) over HTTP in binary
 * mode. Any non-2xx answer is an error, so the outbox keeps the row.
 */
export function httpPublisher(
  sinkUrl: string,
  options: { timeoutMs?: number } = {},
): EventPublisher {
  return {
    async publish(event) {
      const { headers, body } = toBinaryHttp(event);
      const response = await fetch(sinkUrl, {
        method: "POST",
        headers,
        body,
        signal: AbortSignal.timeout(options.timeoutMs ?? 5000),
      });
      if (!response.ok) {
        throw new Error(`broker answered ${response.status} for ${event.type} ${event.id}`);
      }
    },
  };
}

/** Keeps what it is given: for tests, and for functions that publish nowhere. */
export function memoryPublisher(): EventPublisher & { events: CloudEventMessage[] } {
  const events: CloudEventMessage[] = [];
  return {
    events,
    async publish(event) {
      events.push(event);
    },
  };
}
