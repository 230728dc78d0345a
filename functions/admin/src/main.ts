import { runStandalone } from "@minispod/shared";
import { adminFunction } from "./function";

await runStandalone(adminFunction, process.env);
