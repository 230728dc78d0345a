export * from "./cluster";
export * from "./env";
export * from "./spec";
export * from "./status";
