export * from "./instance";
export * from "./namespace";
export * from "./quantities";
