// Ladder step: createFunctionApp + serveApp with no routes of its own and no
// database: request id, trace, request scope, metrics by route, security
// headers, health routes; what every function adds before its own routes.
import { createFunctionApp, createLogger, createMetrics, serveApp } from "@minispod/shared";

const logger = createLogger({ name: "ladder", level: "info" });
const metrics = createMetrics("ladder");
const app = createFunctionApp({ name: "ladder", logger, metrics });
await serveApp(app.fetch, { port: Number(process.env.PORT), hostname: "127.0.0.1", logger });
