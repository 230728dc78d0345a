import { type BaseEnv, baseEnvSchema } from "../env";
import { type EventHandlers, eventRoutes } from "../events/consumer";
import { baseApp, type FunctionDefinition } from "../runtime";

/**
 * A consuming function for tests: the base app with `eventRoutes` at
 * `/events` (deduplicated through processed_events, counted in its metrics).
 *
 * @example
 * const probe = eventConsumerFunction("probe", { "user.registered": async ({ tx }) => { ... } });
 * const app = await h.app(probe);
 */
export function eventConsumerFunction(
  consumer: string,
  handlers: EventHandlers,
): FunctionDefinition<BaseEnv> {
  return {
    name: consumer,
    routes: [],
    envSchema: baseEnvSchema,
    create(ctx) {
      const app = baseApp(ctx);
      app.route("/events", eventRoutes({ db: ctx.db, metrics: ctx.metrics, consumer, handlers }));
      return app;
    },
  };
}
