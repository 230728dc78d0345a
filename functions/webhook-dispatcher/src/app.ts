import { AsyncLocalStorage } from "node:async_hooks";
import {
  baseApp,
  cronRoutes,
  customerFacingTypes,
  type EventContext,
  type EventHandlers,
  type EventType,
  eventRoutes,
} from "@minispod/shared";
import { type DispatcherDeps, deliveryConfig, leaseSeconds } from "./deps";
import { fanOut } from "./services/fan-out";
import { claimDueDeliveries } from "./services/retry";
import { sendDeliveries } from "./services/send";

export type { DispatcherDeps } from "./deps";

export const CONSUMER = "webhook-dispatcher";

export function createApp(deps: DispatcherDeps) {
  const app = baseApp(deps);
  const config = deliveryConfig(deps);
  const send = async (ids: readonly string[]) => {
    const summary = await sendDeliveries(deps.db, ids, {
      now: deps.now,
      config,
      concurrency: deps.env.WEBHOOK_CONCURRENCY,
    });
    if (summary.eventIds.length > 0) deps.events.kick(summary.eventIds);
    return summary;
  };

  // Deliveries written by the handler, handed to the code that runs after the commit.
  const created = new AsyncLocalStorage<string[]>();
  const handler = async ({ event, type, data, tx }: EventContext<EventType>) => {
    const ids = await fanOut(tx, {
      event,
      type,
      data,
      now: deps.now(),
      leaseSeconds: leaseSeconds(deps),
    });
    created.getStore()?.push(...ids);
  };
  const handlers = Object.fromEntries(
    customerFacingTypes.map((type) => [type, handler]),
  ) as EventHandlers;

  app.use("/events", async (c, next) => {
    const ids: string[] = [];
    await created.run(ids, next);
    // First attempts go out now, after the commit and before answering: Knative
    // only guarantees CPU while a request is open. The answer is 200 whatever
    // the endpoints say; failures are already scheduled.
    if (ids.length > 0 && c.res.status < 300) {
      // Each delivery stored the event's trace: every attempt carries it.
      await send(ids).catch((error) =>
        c.get("logger").error({ err: error }, "first attempts failed"),
      );
    }
  });
  app.route(
    "/events",
    eventRoutes({ db: deps.db, metrics: deps.metrics, consumer: CONSUMER, handlers }),
  );
  app.route(
    "/cron",
    cronRoutes({
      // The injected clock, not the sweep's start time: tests move it forward.
      retry: async () => {
        const claimed = await claimDueDeliveries(deps.db, {
          now: deps.now(),
          batch: deps.env.WEBHOOK_RETRY_BATCH,
          leaseSeconds: leaseSeconds(deps),
        });
        config.metrics?.finished.inc({ status: "FAILED" }, claimed.closed);
        const summary = await send(claimed.send);
        return {
          claimed: claimed.send.length,
          closed: claimed.closed,
          succeeded: summary.succeeded,
          failed: summary.failed,
        };
      },
    }),
  );
  return app;
}
