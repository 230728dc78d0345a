import { runStandalone } from "@minispod/shared";
import { catalogFunction } from "./function";

await runStandalone(catalogFunction, process.env);
