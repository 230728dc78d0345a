export * from "./client";
export * from "./dev-schema/index";
export * from "./schema/index";
