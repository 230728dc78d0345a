import { describe, expect, it } from "vitest";
import { safePath } from "../src/client/router";

describe("safePath: where sign-in may send the customer next", () => {
  it("keeps paths of this site", () => {
    expect(safePath("/instances/abc?x=1")).toBe("/instances/abc?x=1");
  });

  it("refuses anything that could leave the site, falling back to the dashboard", () => {
    for (const next of [
      "//evil.example/x",
      "/\\evil.example",
      "https://evil.example",
      "evil",
      "",
      null,
    ])
      expect(safePath(next)).toBe("/dashboard");
  });
});
