export * from "./driver";
export * from "./faults";
