import { runStandalone } from "@minispod/shared";
import { billingSweeperFunction } from "./function";

await runStandalone(billingSweeperFunction, process.env);
