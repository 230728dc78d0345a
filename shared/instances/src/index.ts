export * from "./cluster";
export * from "./credentials";
export * from "./env";
export * from "./metrics";
export * from "./spec";
export * from "./status";
