import { runStandalone } from "@minispod/shared";
import { subscriptionsFunction } from "./function";

await runStandalone(subscriptionsFunction, process.env);
