export * from "./config";
export * from "./names";
export * from "./port";
