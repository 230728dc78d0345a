import { describe, expect, it } from "vitest";
import { createLogger } from "../src/logger";
import { closeRegistry } from "../src/runtime";

describe("shutdown cleanup", () => {
  it("runs registered closers newest first, once, and survives one that fails", async () => {
    const order: string[] = [];
    const registry = closeRegistry(createLogger({ name: "t", level: "silent" }));
    registry.onClose(() => {
      order.push("pool");
    });
    registry.onClose(() => {
      throw new Error("already closed");
    });
    registry.onClose(async () => {
      order.push("client");
    });
    await registry.closeAll();
    await registry.closeAll();
    expect(order).toEqual(["client", "pool"]);
  });
});
