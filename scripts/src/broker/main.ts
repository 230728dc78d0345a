import { exitOnStartupFailure, serveApp } from "@minispod/shared";
import { type BrokerService, createBrokerService } from "./service";

/** The broker service's entry point (its image runs the bundle of this file). */
let service: BrokerService | undefined;
try {
  service = await createBrokerService(process.env);
  const s = service;
  await s.start();
  await serveApp(s.app.fetch, { port: s.env.PORT, logger: s.logger, onShutdown: () => s.close() });
} catch (error) {
  await service?.close().catch(() => undefined);
  exitOnStartupFailure("broker", error, service?.logger);
}
