import { runStandalone } from "@minispod/shared";
import { expirySweeperFunction } from "./function";

await runStandalone(expirySweeperFunction, process.env);
