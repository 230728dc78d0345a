import { runStandalone } from "@minispod/shared";
import { billingFunction } from "./function";

await runStandalone(billingFunction, process.env);
