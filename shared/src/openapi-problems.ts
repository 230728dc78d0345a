import { AppError, type ErrorCode, errorStatus, problemOf } from "./errors";

/**
 * The typed side of the API's problem documents: one component per error
 * code (`PaymentDeclinedProblem`, `ConflictProblem`…) that pins `code` and
 * `status` and declares the extension members that code carries, so a
 * generated client narrows on `code` and reads `declineCode` without a cast.
 * Each also has a realistic example for `/docs`.
 */
type JsonSchema = Record<string, unknown>;

interface Extension {
  properties: Record<string, JsonSchema>;
  /** Members every problem of the code carries. */
  required?: string[];
  /** Values for the example. */
  example: Record<string, unknown>;
}

const uuid = { type: "string", format: "uuid" };
const subscriptionStatus = {
  type: "string",
  description: "The subscription's status when the request was refused.",
};
const paymentStatus = {
  type: "string",
  enum: ["PENDING"],
  description: "The charge's outcome is unknown; it is settled automatically.",
};

const exampleIds = {
  subscriptionId: "0b6c1f7e-3f8a-4f54-9d55-0d4f2f6b2a10",
  invoiceId: "5e0d2f35-8f77-4c3c-9a4f-7d1a2f1c9b22",
  paymentId: "c4a9b0de-2b8e-4c3f-8a21-6e0f1b7d3c44",
};

/** Extension members by code (what `AppError`'s `extra` puts in the problem). */
const extensions: Partial<Record<ErrorCode, Extension>> = {
  VALIDATION_FAILED: { properties: {}, required: ["errors"], example: {} },
  PAYMENT_DECLINED: {
    properties: {
      declineCode: {
        type: "string",
        description: "The provider's reason, e.g. card_declined or insufficient_funds.",
      },
      subscriptionId: uuid,
      invoiceId: uuid,
      paymentId: uuid,
    },
    required: ["declineCode"],
    example: { declineCode: "insufficient_funds", ...exampleIds },
  },
  CONFLICT: {
    properties: {
      subscriptionId: { ...uuid, description: "The subscription in the way, when one is." },
      subscriptionStatus,
      retainedUntil: { type: "string", format: "date-time" },
      invoiceId: uuid,
      paymentId: uuid,
    },
    example: { subscriptionId: exampleIds.subscriptionId, subscriptionStatus: "ACTIVE" },
  },
  NOT_FOUND: {
    properties: {
      missing: {
        type: "array",
        items: { type: "string" },
        description: "The ids asked for that do not exist (dead-letter replays).",
      },
    },
    example: {},
  },
  UNPROCESSABLE: {
    properties: {
      letters: {
        type: "array",
        description: "The dead letters that cannot be replayed, and why.",
        items: {
          type: "object",
          required: ["id", "eventId", "reason"],
          properties: {
            id: { type: "string" },
            eventId: { type: "string" },
            reason: { type: "string" },
          },
        },
      },
    },
    example: {},
  },
  BAD_GATEWAY: {
    properties: { subscriptionId: uuid, paymentId: uuid, paymentStatus },
    example: {
      subscriptionId: exampleIds.subscriptionId,
      paymentId: exampleIds.paymentId,
      paymentStatus: "PENDING",
    },
  },
  SERVICE_UNAVAILABLE: {
    properties: { subscriptionId: uuid, paymentId: uuid, paymentStatus },
    example: {},
  },
  PRECONDITION_FAILED: {
    properties: { etag: { type: "string", description: "The resource's current ETag." } },
    required: ["etag"],
    example: { etag: '"3q2-7w-example-etag"' },
  },
};

/** A realistic `detail` per code, for the examples. */
const exampleDetails: Record<ErrorCode, string> = {
  BAD_REQUEST: "The request cannot be served as sent.",
  VALIDATION_FAILED: "Invalid body: the name is required.",
  MALFORMED_JSON: "The request body is not valid JSON.",
  UNAUTHORIZED: "Send an access token as Authorization: Bearer <token>.",
  INVALID_CREDENTIALS: "The email or the password is wrong.",
  TOKEN_EXPIRED: "The access token has expired; refresh it.",
  INVALID_TOKEN: "The access token is not valid.",
  INVALID_SIGNATURE: "The webhook signature does not match.",
  PAYMENT_REQUIRED: "A payment method is required.",
  PAYMENT_DECLINED: "Your card has insufficient funds.",
  FORBIDDEN: "This needs the admin role.",
  ACCOUNT_DISABLED: "This account is disabled.",
  NOT_FOUND: "No subscription with this id.",
  METHOD_NOT_ALLOWED: "This route does not answer this method.",
  REQUEST_TIMEOUT: "The request took too long.",
  CONFLICT: "You already have a live subscription to this service.",
  EMAIL_TAKEN: "An account with this email exists.",
  IDEMPOTENCY_KEY_REUSED: "This Idempotency-Key was used with another request body.",
  IDEMPOTENCY_IN_PROGRESS: "A request with this Idempotency-Key is still being processed.",
  GONE: "This resource is gone.",
  PRECONDITION_FAILED:
    "The resource changed since you read it; read it again and reapply your change.",
  PRECONDITION_REQUIRED: "Send If-Match with the ETag of your last read of this resource.",
  PAYLOAD_TOO_LARGE: "The request body exceeds 1048576 bytes.",
  UNSUPPORTED_MEDIA_TYPE: "Send the body as application/json.",
  UNPROCESSABLE: "The request is well-formed but cannot be carried out.",
  RATE_LIMITED: "Too many requests; try again in 42 s.",
  HEADERS_TOO_LARGE: "The request headers are too large.",
  INTERNAL: "Internal server error",
  BAD_GATEWAY: "The payment provider did not confirm the charge.",
  SERVICE_UNAVAILABLE: "A service this request needs is unreachable; try again shortly.",
};

/** `PAYMENT_DECLINED` -> `PaymentDeclinedProblem`. */
export function problemComponentName(code: ErrorCode): string {
  const pascal = code
    .toLowerCase()
    .split("_")
    .map((word) => word.charAt(0).toUpperCase() + word.slice(1))
    .join("");
  return `${pascal}Problem`;
}

/** The component of one code: the `Problem` with its `code`, `status` and extensions pinned. */
export function problemComponent(code: ErrorCode): JsonSchema {
  const extension = extensions[code];
  return {
    description: `The problem document of ${code}.`,
    allOf: [
      { $ref: "#/components/schemas/Problem" },
      {
        type: "object",
        required: ["code", "status", ...(extension?.required ?? [])],
        properties: {
          code: { type: "string", const: code },
          status: { type: "integer", const: errorStatus[code] },
          ...extension?.properties,
        },
      },
    ],
  };
}

/** A problem document of `code` as the server would send it at `path`. */
export function problemExample(code: ErrorCode, path: string): Record<string, unknown> {
  const extra = extensions[code]?.example ?? {};
  const fields =
    code === "VALIDATION_FAILED" ? [{ field: "name", message: "is required" }] : undefined;
  return problemOf(
    new AppError(code, {
      detail: exampleDetails[code],
      ...(Object.keys(extra).length > 0 ? { extra } : {}),
      ...(fields ? { fields } : {}),
    }),
    "3f1c2b9a-6d7e-4f80-9a1b-2c3d4e5f6a7b",
    path,
  ) as unknown as Record<string, unknown>;
}

/** RFC 9457 problem details: what every error answer has in common. */
export const problemSchema: JsonSchema = {
  type: "object",
  description: "RFC 9457 problem details",
  required: ["type", "title", "status", "detail", "code", "requestId"],
  properties: {
    type: { type: "string", format: "uri" },
    title: { type: "string" },
    status: { type: "integer" },
    detail: { type: "string" },
    code: { type: "string", enum: Object.keys(errorStatus) },
    requestId: { type: "string" },
    instance: { type: "string" },
    errors: {
      type: "array",
      description: "The offending fields (validation failures).",
      items: {
        type: "object",
        required: ["field", "message"],
        properties: {
          field: {
            type: "string",
            description: 'Dotted path, e.g. "resources.cpu"; "" for the body.',
          },
          message: { type: "string" },
        },
      },
    },
  },
};

/** Response headers the API sends, as `components.headers`. */
export const responseHeaders: Record<string, JsonSchema> = {
  RequestId: {
    description:
      "The request's id (the caller's `X-Request-Id` when valid); logs are searchable by it.",
    required: true,
    schema: { type: "string" },
  },
  RetryAfter: {
    description: "Seconds to wait before trying again.",
    required: true,
    schema: { type: "integer", minimum: 0 },
  },
  RetryAfterOptional: {
    description: "Seconds to wait before trying again, when the server can tell.",
    schema: { type: "integer", minimum: 0 },
  },
  IdempotentReplayed: {
    description:
      "`true` when this is the stored answer of an earlier request with the same Idempotency-Key.",
    schema: { type: "string", enum: ["true"] },
  },
  Location: {
    description: "Where the created resource can be read.",
    required: true,
    schema: { type: "string" },
  },
  ETag: {
    description: "The representation's version; send it back as `If-Match` to update it.",
    required: true,
    schema: { type: "string" },
  },
  WwwAuthenticate: {
    description: 'The scheme (RFC 6750); `error="invalid_token"` when a sent token was refused.',
    required: true,
    schema: { type: "string" },
  },
};

const header = (name: string) => ({ $ref: `#/components/headers/${name}` });

/** The headers of an error answer with `status`. */
export function errorHeaders(status: number, codes: ErrorCode[], idempotent: boolean) {
  return {
    "X-Request-Id": header("RequestId"),
    ...(status === 429 ? { "Retry-After": header("RetryAfter") } : {}),
    ...(status === 503 || status === 502 ? { "Retry-After": header("RetryAfterOptional") } : {}),
    ...(status === 401 ? { "WWW-Authenticate": header("WwwAuthenticate") } : {}),
    // 4xx answers are stored and replayed under an Idempotency-Key (5xx free the key).
    ...(idempotent && status < 500 && !codes.includes("RATE_LIMITED")
      ? { "Idempotent-Replayed": header("IdempotentReplayed") }
      : {}),
  };
}

/** The headers of a success answer. */
export function successHeaders(options: { created: boolean; idempotent: boolean; etag: boolean }) {
  return {
    "X-Request-Id": header("RequestId"),
    ...(options.created ? { Location: header("Location") } : {}),
    ...(options.etag ? { ETag: header("ETag") } : {}),
    ...(options.idempotent ? { "Idempotent-Replayed": header("IdempotentReplayed") } : {}),
  };
}
