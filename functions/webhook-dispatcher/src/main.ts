import { runStandalone } from "@minispod/shared";
import { webhookDispatcherFunction } from "./function";

await runStandalone(webhookDispatcherFunction, process.env);
