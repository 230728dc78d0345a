import { runStandalone } from "@minispod/shared";
import { authFunction } from "./function";

await runStandalone(authFunction, process.env);
