import { randomUUID } from "node:crypto";
import {
  type AppEnv,
  type CloudEventMessage,
  type EventData,
  type EventType,
  fullType,
  toBinaryHttp,
} from "@minispod/shared";
import type { Hono } from "hono";

export const APP_URL = "https://app.minispod.test";

/** Has characters URL encoding must touch, so links prove they encode the token. */
export const TOKEN = "tok+en/with=chars";
export const ENCODED_TOKEN = "tok%2Ben%2Fwith%3Dchars";

const later = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString();

const subscription = (userId: string) => ({
  userId,
  subscriptionId: randomUUID(),
  serviceId: randomUUID(),
  serviceSlug: "nextcloud",
  serviceName: "Nextcloud",
  status: "ACTIVE",
  currentPeriodStart: new Date().toISOString(),
  currentPeriodEnd: later(30),
  autoRenew: true,
});

const instance = (userId: string, status: string) => ({
  userId,
  instanceId: randomUUID(),
  subscriptionId: randomUUID(),
  status,
});

const backup = (userId: string, status: string) => ({
  userId,
  backupId: randomUUID(),
  instanceId: randomUUID(),
  kind: "ON_DEMAND",
  status,
  serviceName: "Nextcloud",
  sizeBytes: 1536 * 1024 * 1024,
});

const restore = (userId: string) => {
  const instanceId = randomUUID();
  return {
    userId,
    restoreId: randomUUID(),
    backupId: randomUUID(),
    instanceId,
    targetInstanceId: instanceId,
    target: "SAME_INSTANCE" as const,
    serviceName: "Nextcloud",
  };
};

/** Valid `data` for each type, owned by `userId`. */
export const sampleData: { [T in EventType]?: (userId: string) => EventData<T> } = {
  "user.registered": (userId) => ({
    userId,
    email: "someone@example.com",
    name: "Someone",
    verificationToken: TOKEN,
    verificationExpiresAt: later(2),
  }),
  "user.email_verification_requested": (userId) => ({
    userId,
    email: "someone@example.com",
    name: "Someone",
    token: TOKEN,
    expiresAt: later(2),
  }),
  "user.password_reset_requested": (userId) => ({
    userId,
    email: "someone@example.com",
    name: "Someone",
    token: TOKEN,
    expiresAt: later(0.04),
  }),
  "user.password_changed": (userId) => ({ userId, email: "someone@example.com" }),
  "user.email_verified": (userId) => ({ userId, email: "someone@example.com" }),
  "subscription.activated": subscription,
  "subscription.renewed": subscription,
  "subscription.expiring_soon": (userId) => ({
    ...subscription(userId),
    autoRenew: false,
    daysLeft: 3,
  }),
  "subscription.expired": (userId) => ({
    ...subscription(userId),
    status: "EXPIRED",
    dataKeptUntil: "2026-03-31T10:00:00.000Z",
  }),
  "subscription.cancelled": (userId) => ({ ...subscription(userId), status: "CANCELLED" }),
  "subscription.past_due": (userId) => ({ ...subscription(userId), status: "PAST_DUE" }),
  "subscription.cancel_scheduled": (userId) => ({
    ...subscription(userId),
    autoRenew: false,
    effectiveAt: "2026-04-01T00:00:00.000Z",
    dataKeptUntil: "2026-05-01T00:00:00.000Z",
  }),
  "subscription.cancel_undone": subscription,
  "subscription.payment_method_updated": (userId) => ({
    ...subscription(userId),
    status: "PAST_DUE",
    retryingOverdue: true,
  }),
  "payment.failed": (userId) => ({
    userId,
    paymentId: randomUUID(),
    invoiceId: randomUUID(),
    amountMinor: 1999,
    currency: "EUR",
    failureCode: "card_declined",
    failureMessage: "The card was declined.",
  }),
  "instance.running": (userId) => ({
    ...instance(userId, "RUNNING"),
    url: "https://abc123.apps.minispod.test",
  }),
  "instance.failed": (userId) => ({
    ...instance(userId, "FAILED"),
    message: "image could not be pulled",
  }),
  "instance.credentials_rotated": (userId) => ({
    userId,
    instanceId: randomUUID(),
    subscriptionId: randomUUID(),
    serviceName: "Vaultwarden",
    name: "ADMIN_TOKEN",
    version: 2,
  }),
  "domain.active": (userId) => ({
    userId,
    domainId: randomUUID(),
    instanceId: randomUUID(),
    domain: "shop.example.com",
    state: "ACTIVE",
    reason: "serving with its certificate",
  }),
  "domain.failed": (userId) => ({
    userId,
    domainId: randomUUID(),
    instanceId: randomUUID(),
    domain: "shop.example.com",
    state: "FAILED",
    reason:
      "no certificate after 60 minutes: check that shop.example.com has a CNAME record pointing at i-1.apps.minispod.test",
  }),
  "backup.succeeded": (userId) => backup(userId, "READY"),
  "backup.failed": (userId) => ({
    ...backup(userId, "FAILED"),
    reason: "The snapshot was not ready in time.",
  }),
  "backup.restored": (userId) => restore(userId),
  "backup.restore_failed": (userId) => ({
    ...restore(userId),
    reason: "The cluster refused the restored volume; the instance kept its data.",
  }),
  "backup.purged": (userId) => ({
    userId,
    instanceId: randomUUID(),
    serviceName: "Nextcloud",
    purgedAt: "2026-04-30T10:00:00.000Z",
  }),
  "webhook.endpoint_disabled": (userId) => ({
    userId,
    endpointId: randomUUID(),
    url: "https://hooks.example.com/minispod",
    reason: "20 deliveries in a row failed",
  }),
};

export function cloudEvent<T extends EventType>(
  type: T,
  data: EventData<T>,
  overrides: Partial<CloudEventMessage> = {},
): CloudEventMessage {
  return {
    id: randomUUID(),
    type: fullType(type),
    source: "test",
    subject: randomUUID(),
    time: new Date().toISOString(),
    data,
    ...overrides,
  };
}

/** What the broker does: POST the event in binary mode to the subscriber's `/events`. */
export function deliver(app: Pick<Hono<AppEnv>, "request">, event: CloudEventMessage) {
  const { headers, body } = toBinaryHttp(event);
  return app.request("/events", { method: "POST", headers, body });
}
