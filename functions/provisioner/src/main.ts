import { runStandalone } from "@minispod/shared";
import { provisionerFunction } from "./function";

await runStandalone(provisionerFunction, process.env);
