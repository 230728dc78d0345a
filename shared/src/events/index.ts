export * from "./catalogue";
export * from "./consumer";
export * from "./dead-letters";
export * from "./metrics";
export * from "./outbox";
export * from "./publisher";
export * from "./retention";
export * from "./trace";
