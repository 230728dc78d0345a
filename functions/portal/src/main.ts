import { runStandalone } from "@minispod/shared";
import { portalFunction } from "./function";

await runStandalone(portalFunction, process.env);
