import { runStandalone } from "@minispod/shared";
import { instancesFunction } from "./function";

await runStandalone(instancesFunction, process.env);
