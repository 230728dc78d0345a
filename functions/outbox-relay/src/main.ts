import { runStandalone } from "@minispod/shared";
import { outboxRelayFunction } from "./function";

await runStandalone(outboxRelayFunction, process.env);
