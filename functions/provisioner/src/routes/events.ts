import { isClusterError } from "@minispod/cluster";
import {
  type AppEnv,
  AppError,
  type ConsumeLabel,
  type EventType,
  eventCatalogue,
  readCloudEvent,
  shortType,
} from "@minispod/shared";
import { Hono } from "hono";
import * as v from "valibot";
import { deleteRequestedBackup, restoreIntoInstance, takeBackup } from "../services/backups";
import type { ProvisionerContext } from "../services/context";
import { convergeInstance } from "../services/converge";
import { applyRotatedCredential } from "../services/credentials";
import { applyInstanceDomains } from "../services/domains";

/**
 * The subscription events that move an instance (each one converges it to its
 * subscription), a rotated credential to write into the workload, and custom
 * domains verified or removed (the cluster is made to route exactly the
 * instance's verified ones).
 */
export const HANDLED = [
  "subscription.activated",
  "subscription.renewed",
  "subscription.expired",
  "subscription.cancelled",
  "subscription.purged",
  "instance.credentials_rotated",
  "domain.verified",
  "domain.removed",
  "backup.requested",
  "backup.deletion_requested",
  "backup.restore_requested",
] as const satisfies readonly EventType[];
type Handled = (typeof HANDLED)[number];

const isHandled = (type: EventType | undefined): type is Handled =>
  type !== undefined && (HANDLED as readonly string[]).includes(type);

/**
 * `POST /events`, where the provisioner's Triggers deliver. Unlike the
 * shared `eventRoutes`, it records no processed-event row: what an event
 * causes is decided from the subscription's state in the database (see
 * convergeInstance), so a redelivery finds nothing left to do and emits
 * nothing, and the cluster calls stay outside any transaction. Answers 200
 * when done, 422 for an event it can never handle, 503 to get a retry;
 * `count` records each answer (`consumeCounter(deps.metrics, "provisioner")`).
 */
export function provisionerEventRoutes(
  ctx: ProvisionerContext,
  afterCommit: () => void,
  count: (cloudEventType: string, outcome: ConsumeLabel) => void,
) {
  return new Hono<AppEnv>().post("/", async (c) => {
    const event = await readCloudEvent(c.req.raw);
    const log = c.get("logger").child({ eventId: event.id, eventType: event.type });
    const type = shortType(event.type);
    if (!isHandled(type)) {
      log.warn("event type not handled here");
      count(event.type, "ignored");
      return c.json({ outcome: "ignored" });
    }
    const parsed = v.safeParse(eventCatalogue[type], event.data);
    if (!parsed.success) {
      log.error("event rejected for good: data does not match its schema");
      count(event.type, "rejected");
      throw new AppError("UNPROCESSABLE", {
        detail: `data of ${event.type} does not match its schema`,
      });
    }
    if (
      type === "backup.requested" ||
      type === "backup.deletion_requested" ||
      type === "backup.restore_requested"
    ) {
      try {
        const data = parsed.output as { backupId: string; restoreId?: string };
        const result =
          type === "backup.requested"
            ? await takeBackup(ctx, data.backupId)
            : type === "backup.deletion_requested"
              ? await deleteRequestedBackup(ctx, data.backupId)
              : await restoreIntoInstance(ctx, data.restoreId as string);
        afterCommit();
        count(event.type, "processed");
        log.info({ ...result }, "event consumed");
        return c.json(result);
      } catch (error) {
        count(event.type, "failed");
        log.error({ err: error }, "backup work failed; asking for a retry");
        throw new AppError("SERVICE_UNAVAILABLE", { detail: "Backup work failed; retry later." });
      }
    }
    if (type === "instance.credentials_rotated") {
      const { instanceId, name } = parsed.output as { instanceId: string; name: string };
      try {
        const result = await applyRotatedCredential(ctx, { instanceId, name });
        count(event.type, "processed");
        // The credential's name only: its value is never logged.
        log.info({ ...result, instanceId, credential: name }, "event consumed");
        return c.json(result);
      } catch (error) {
        count(event.type, "failed");
        log.error({ err: error }, "rotated credential not applied; asking for a retry");
        throw new AppError("SERVICE_UNAVAILABLE", { detail: "Provisioning failed; retry later." });
      }
    }
    if (type === "domain.verified" || type === "domain.removed") {
      const { instanceId, domain } = parsed.output as { instanceId: string; domain: string };
      try {
        const result = await applyInstanceDomains(ctx, instanceId);
        afterCommit();
        count(event.type, "processed");
        log.info({ ...result, instanceId, domain }, "event consumed");
        return c.json(result);
      } catch (error) {
        count(event.type, "failed");
        log.error({ err: error }, "custom domains not applied; asking for a retry");
        throw new AppError("SERVICE_UNAVAILABLE", { detail: "Provisioning failed; retry later." });
      }
    }
    const { subscriptionId, userId } = parsed.output as { subscriptionId: string; userId: string };
    try {
      const result = await convergeInstance(
        ctx,
        { subscriptionId },
        { purged: type === "subscription.purged" },
      );
      const instanceId = (parsed.output as { instanceId?: unknown }).instanceId;
      if (
        result.outcome === "no-instance" &&
        type === "subscription.purged" &&
        typeof instanceId === "string"
      ) {
        // The subscription (and with it the instance row) is already gone: clear the cluster by name.
        await ctx.cluster.deleteInstance({ customerId: userId, instanceId });
      }
      afterCommit();
      // Converging is idempotent: a redelivery is "processed" again and finds nothing to do.
      count(event.type, "processed");
      log.info({ ...result }, "event consumed");
      return c.json(result);
    } catch (error) {
      count(event.type, "failed");
      if (isClusterError(error) && !error.retryable) {
        // 403/422 from the cluster: retrying the same request won't help; the broker
        // dead-letters the event after its retries and an operator replays it once fixed.
        log.error({ err: error }, "the cluster refused; asking for a retry");
      } else {
        log.error({ err: error }, "event failed; asking for a retry");
      }
      throw new AppError("SERVICE_UNAVAILABLE", { detail: "Provisioning failed; retry later." });
    }
  });
}
