import { runStandalone } from "@minispod/shared";
import { webhooksFunction } from "./function";

await runStandalone(webhooksFunction, process.env);
