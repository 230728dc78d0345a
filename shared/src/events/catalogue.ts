import * as v from "valibot";

/** Every CloudEvent type is `dev.minispod.<entity>.<verb>`. */
export const EVENT_PREFIX = "dev.minispod.";

const id = v.string();
const isoDate = v.pipe(v.string(), v.isoTimestamp());
const money = {
  amountMinor: v.pipe(v.number(), v.integer()),
  currency: v.pipe(v.string(), v.length(3)),
};

// Every customer-facing event carries `userId` (the owner), so the notifier and
// the webhook dispatcher can route any type, including ones added later.
const owned = { userId: id };

const userToken = v.looseObject({
  ...owned,
  email: v.string(),
  name: v.string(),
  token: v.string(),
  expiresAt: isoDate,
});

const subscription = v.looseObject({
  ...owned,
  subscriptionId: id,
  serviceId: id,
  serviceSlug: v.string(),
  serviceName: v.string(),
  status: v.string(),
  currentPeriodStart: isoDate,
  currentPeriodEnd: isoDate,
  autoRenew: v.boolean(),
});

const instance = v.looseObject({
  ...owned,
  instanceId: id,
  subscriptionId: id,
  status: v.string(),
  url: v.optional(v.string()),
  message: v.optional(v.nullable(v.string())),
  /** The catalog name of the app ("Vaultwarden"); absent from events written before it existed. */
  serviceName: v.optional(v.string()),
  /** Labels of the credentials the customer can read (`GET /instances/:id/credentials`). */
  credentials: v.optional(v.array(v.string())),
});

/** A custom domain of an instance (`domain.*`); `reason` in plain words. */
const domain = v.looseObject({
  ...owned,
  domainId: id,
  instanceId: id,
  /** Lowercase ASCII (an IDN as punycode). */
  domain: v.string(),
  state: v.string(),
  reason: v.optional(v.nullable(v.string())),
});

const backup = v.looseObject({
  ...owned,
  backupId: id,
  instanceId: id,
  /** "SCHEDULED", "ON_DEMAND" or "PRE_RESTORE" (the data a restore replaced). */
  kind: v.string(),
  status: v.string(),
  serviceName: v.optional(v.string()),
  /** Bytes the snapshot holds, once ready. */
  sizeBytes: v.optional(v.nullable(v.number())),
  /** Why it failed, in plain words. */
  reason: v.optional(v.nullable(v.string())),
});

const restore = v.object({
  ...owned,
  restoreId: id,
  backupId: id,
  /** The backup's own instance. */
  instanceId: id,
  /** The instance receiving the data: the same one, or a new subscription's. */
  targetInstanceId: id,
  target: v.picklist(["SAME_INSTANCE", "NEW_INSTANCE"]),
  serviceName: v.optional(v.string()),
  reason: v.optional(v.nullable(v.string())),
});

const payment = v.looseObject({
  ...owned,
  paymentId: id,
  invoiceId: id,
  subscriptionId: v.optional(id),
  ...money,
  failureCode: v.optional(v.nullable(v.string())),
  failureMessage: v.optional(v.nullable(v.string())),
});

/**
 * The closed catalogue of event types and the schema of each one's `data`.
 * Publishing validates against it, so a malformed event never leaves.
 */
export const eventCatalogue = {
  "user.registered": v.looseObject({
    ...owned,
    email: v.string(),
    name: v.string(),
    verificationToken: v.string(),
    verificationExpiresAt: isoDate,
  }),
  "user.email_verification_requested": userToken,
  "user.password_reset_requested": userToken,
  "user.password_changed": v.looseObject({ ...owned, email: v.string() }),
  "user.email_verified": v.looseObject({ ...owned, email: v.string() }),
  "subscription.activated": subscription,
  "subscription.renewed": subscription,
  "subscription.cancelled": subscription,
  "subscription.expired": v.looseObject({
    ...subscription.entries,
    /** When the instance and its data are purged; absent from events written before it existed. */
    dataKeptUntil: v.optional(isoDate),
  }),
  "subscription.purged": subscription,
  "subscription.expiring_soon": v.looseObject({
    ...subscription.entries,
    daysLeft: v.number(),
    /**
     * Why the period ends: auto-renew is off, or no card is on file to charge.
     * Optional: events written before it existed are "not_renewing".
     */
    reason: v.optional(v.picklist(["not_renewing", "no_card"])),
  }),
  "subscription.cancel_scheduled": v.looseObject({
    ...subscription.entries,
    /** When the app stops: the period's end. */
    effectiveAt: isoDate,
    /** Renewing before this brings the app back with its data; then it is purged. */
    dataKeptUntil: isoDate,
  }),
  "subscription.cancel_undone": subscription,
  "subscription.payment_method_updated": subscription,
  "subscription.past_due": subscription,
  "subscription.auto_renew_changed": subscription,
  "payment.succeeded": payment,
  "payment.failed": payment,
  "invoice.paid": v.looseObject({
    ...owned,
    invoiceId: id,
    number: v.string(),
    subscriptionId: id,
    ...money,
    periodStart: isoDate,
    periodEnd: isoDate,
  }),
  "instance.provisioning": instance,
  "instance.running": instance,
  "instance.failed": instance,
  "instance.suspended": instance,
  "instance.resumed": instance,
  "instance.deleted": instance,
  /** A credential of the app was regenerated; the value itself never travels in an event. */
  "instance.credentials_rotated": v.looseObject({
    ...owned,
    instanceId: id,
    subscriptionId: id,
    serviceName: v.string(),
    /** The environment variable rotated (the catalog's credential `secret`). */
    name: v.string(),
    version: v.number(),
  }),
  /** A custom domain was claimed for an instance; its TXT record is still to be checked. */
  "domain.added": domain,
  /** The TXT record proved ownership: the provisioner routes it and requests its certificate. */
  "domain.verified": domain,
  /** The domain serves the instance with its certificate. */
  "domain.active": domain,
  /** Verification or certificate issuance failed; `reason` says what to fix. */
  "domain.failed": domain,
  /** The domain was removed (by its owner, or with its instance): route and certificate go. */
  "domain.removed": domain,
  /** A backup was asked for (on demand or by the schedule); the provisioner takes it. */
  "backup.requested": backup,
  "backup.succeeded": backup,
  "backup.failed": backup,
  /** The customer asked for a backup to go; the provisioner deletes its snapshot. */
  "backup.deletion_requested": backup,
  "backup.deleted": backup,
  // Each its own object: types sharing one schema share one OpenAPI component,
  // named after the entity, which the backup schema already takes.
  "backup.restore_requested": v.looseObject({ ...restore.entries }),
  /** The data of the backup is in the target instance (which then resumes). */
  "backup.restored": v.looseObject({ ...restore.entries }),
  /** Nothing was changed: the target instance kept its data. */
  "backup.restore_failed": v.looseObject({ ...restore.entries }),
  /** The last copy of a purged instance's data is gone (the grace period ended, or the customer asked). */
  "backup.purged": v.looseObject({
    ...owned,
    instanceId: id,
    serviceName: v.optional(v.string()),
    purgedAt: isoDate,
  }),
  "webhook.endpoint_disabled": v.looseObject({
    ...owned,
    endpointId: id,
    url: v.string(),
    reason: v.string(),
  }),
} as const;

export type EventType = keyof typeof eventCatalogue;
export type EventData<T extends EventType> = v.InferOutput<(typeof eventCatalogue)[T]>;

export const fullType = (type: EventType) => `${EVENT_PREFIX}${type}`;

export function shortType(cloudEventType: string): EventType | undefined {
  if (!cloudEventType.startsWith(EVENT_PREFIX)) return undefined;
  const short = cloudEventType.slice(EVENT_PREFIX.length);
  return short in eventCatalogue ? (short as EventType) : undefined;
}

/** Event types a customer may receive on a webhook (no secrets inside, unlike user.*). */
export const customerFacingTypes = (Object.keys(eventCatalogue) as EventType[]).filter(
  (t) => !t.startsWith("user.") && !t.startsWith("webhook."),
);
