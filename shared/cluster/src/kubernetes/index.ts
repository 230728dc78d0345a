export * from "./driver";
export * from "./errors";
export * from "./retry";
export * from "./status";
