/**
 * A customer's paid journey written as an SDK user would: on a client
 * generated from the merged API document (`npm run generate:client`, output
 * `./api.d.ts` beside this file) with openapi-fetch. It names the component
 * types, reads typed problem extensions and typed headers, with no cast and
 * no `@ts-expect-error`. scripts/test/openapi-consumer.test.ts compiles it with
 * `tsc --strict --noUncheckedIndexedAccess` and runs it against the local runner.
 * Not part of the scripts project's own typecheck: `./api` exists only there.
 */
import createClient from "openapi-fetch";
import type { components, paths } from "./api";

type Session = components["schemas"]["Session"];
type Service = components["schemas"]["Service"];
type Subscription = components["schemas"]["Subscription"];
type Declined = components["schemas"]["PaymentDeclinedProblem"];
type Conflict = components["schemas"]["ConflictProblem"];
type Replayed = NonNullable<
  paths["/api/v1/subscriptions"]["post"]["responses"][201]["headers"]["Idempotent-Replayed"]
>;
type RetryAfter = components["headers"]["RetryAfter"];

export interface JourneyResult {
  session: Session;
  service: Service;
  declined: Pick<Declined, "code" | "declineCode" | "invoiceId" | "paymentId">;
  subscription: Subscription;
  location: string | null;
  replayed: Replayed | undefined;
  conflict: Pick<Conflict, "code" | "subscriptionId" | "subscriptionStatus">;
  /** Seconds a 429 asked to wait, if one came. */
  retryAfter: RetryAfter | undefined;
}

/** `Retry-After`, typed as the document says (integer seconds). */
function retryAfterOf(response: Response): RetryAfter | undefined {
  const value = response.headers.get("retry-after");
  return value === null ? undefined : Number(value);
}

function replayedOf(response: Response): Replayed | undefined {
  const value = response.headers.get("idempotent-replayed");
  return value === "true" ? value : undefined;
}

export async function journey(
  fetch: (request: Request) => Promise<Response>,
  email: string,
): Promise<JourneyResult> {
  const client = createClient<paths>({ baseUrl: "http://localhost", fetch });
  let retryAfter: RetryAfter | undefined;

  const registered = await client.POST("/api/v1/auth/register", {
    body: { email, password: "a consumer password", name: "Consumer" },
  });
  if (!registered.data) throw new Error(`register failed: ${registered.error?.code}`);
  const session: Session = registered.data;
  const headers = { authorization: `Bearer ${session.accessToken}` };

  const services = await client.GET("/api/v1/services", { params: { query: { limit: 50 } } });
  // One subscription at a time per customer (allowMultiple false), so a second one is a 409.
  const service = services.data?.items.find((s) => !s.allowMultiple);
  if (!service) throw new Error("the catalog has no app limited to one subscription");

  // A declined first charge: a 402 whose extensions are typed.
  const refused = await client.POST("/api/v1/subscriptions", {
    headers,
    body: { serviceSlug: service.slug, paymentMethod: "pm_sandbox_declined" },
  });
  retryAfter ??= retryAfterOf(refused.response);
  if (refused.error?.code !== "PAYMENT_DECLINED") throw new Error("expected a declined payment");
  const declined = {
    code: refused.error.code,
    declineCode: refused.error.declineCode,
    invoiceId: refused.error.invoiceId,
    paymentId: refused.error.paymentId,
  };

  // Subscribe, then retry with the same Idempotency-Key: the stored answer, marked replayed.
  const key = `consumer-${email}`;
  const created = await client.POST("/api/v1/subscriptions", {
    headers: { ...headers, "Idempotency-Key": key },
    body: { serviceSlug: service.slug },
  });
  if (!created.data) throw new Error(`subscribe failed: ${created.error?.code}`);
  const subscription: Subscription = created.data;
  const again = await client.POST("/api/v1/subscriptions", {
    headers: { ...headers, "Idempotency-Key": key },
    body: { serviceSlug: service.slug },
  });
  const replayed = replayedOf(again.response);

  // A second subscription to the same service: 409 naming the live one.
  const second = await client.POST("/api/v1/subscriptions", {
    headers,
    body: { serviceSlug: service.slug },
  });
  retryAfter ??= retryAfterOf(second.response);
  if (second.error?.code !== "CONFLICT") {
    throw new Error(`expected a conflict, got ${second.response.status} ${second.error?.code}`);
  }
  const conflict = {
    code: second.error.code,
    subscriptionId: second.error.subscriptionId,
    subscriptionStatus: second.error.subscriptionStatus,
  };

  const read = await client.GET("/api/v1/subscriptions/{id}", {
    headers,
    params: { path: { id: subscription.id } },
  });
  if (read.data?.id !== subscription.id) throw new Error("the subscription cannot be read back");

  return {
    session,
    service,
    declined,
    subscription,
    location: created.response.headers.get("location"),
    replayed,
    conflict,
    retryAfter,
  };
}
