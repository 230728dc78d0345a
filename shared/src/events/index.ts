export * from "./catalogue";
export * from "./consumer";
export * from "./outbox";
export * from "./publisher";
export * from "./trace";
