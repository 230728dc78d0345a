export * from "./billing";
export * from "./catalog";
export * from "./events";
export * from "./instances";
export * from "./misc";
export * from "./subscriptions";
export * from "./users";
export * from "./webhooks";
