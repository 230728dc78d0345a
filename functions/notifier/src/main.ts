import { runStandalone } from "@minispod/shared";
import { notifierFunction } from "./function";

await runStandalone(notifierFunction, process.env);
