import * as v from "valibot";
import { describe, expect, it } from "vitest";
import {
  cpuQuantity,
  formatBytes,
  memoryQuantity,
  parseBytes,
  parseCpuMillicores,
  storageQuantity,
} from "../src/quantities";

describe("parseCpuMillicores", () => {
  it.each([
    ["250m", 250],
    ["1", 1000],
    ["0.5", 500],
    [".25", 250],
    ["2.125", 2125],
    ["1500m", 1500],
  ])("reads %s as %i millicores", (q, m) => {
    expect(parseCpuMillicores(q)).toBe(m);
  });

  it.each(["", "m", "1.5m", "0.0001", "-1", "1e3", "1 ", "1Gi", "1k"])("rejects %j", (q) => {
    expect(parseCpuMillicores(q)).toBeUndefined();
  });
});

describe("parseBytes", () => {
  it.each([
    ["512Mi", 512 * 2 ** 20],
    ["1Gi", 2 ** 30],
    ["1.5Gi", 1.5 * 2 ** 30],
    ["1G", 1e9],
    ["100k", 100_000],
    ["134217728", 134217728],
  ])("reads %s as %i bytes", (q, b) => {
    expect(parseBytes(q)).toBe(b);
  });

  it.each(["", "Mi", "512mi", "512MB", "512m", "0.1Ki", "1e9", "-1Gi", "1 Gi", "100Ei"])(
    "rejects %j",
    (q) => {
      expect(parseBytes(q)).toBeUndefined();
    },
  );
});

describe("quantity schemas", () => {
  it("enforce bounds with a message naming them", () => {
    const cpu = v.safeParse(cpuQuantity(), "5m");
    expect(cpu.success).toBe(false);
    expect(cpu.issues?.[0]?.message).toBe("must be between 10m and 16 CPUs");
    expect(v.safeParse(memoryQuantity(), "128Gi").issues?.[0]?.message).toBe(
      "must be between 16Mi and 64Gi",
    );
    expect(v.safeParse(storageQuantity(), "5Gi").success).toBe(true);
  });

  it("accept custom bounds", () => {
    expect(v.safeParse(cpuQuantity({ min: 1, max: 100 }), "5m").success).toBe(true);
    expect(v.safeParse(cpuQuantity({ min: 1, max: 100 }), "1").success).toBe(false);
  });

  it("report one issue for an unreadable quantity, not a bounds error too", () => {
    expect(v.safeParse(memoryQuantity(), "lots").issues).toHaveLength(1);
  });
});

describe("formatBytes", () => {
  it("uses the largest binary unit that divides evenly", () => {
    expect(formatBytes(2 ** 30)).toBe("1Gi");
    expect(formatBytes(1536 * 2 ** 20)).toBe("1536Mi");
    expect(formatBytes(1000)).toBe("1000");
  });
});
