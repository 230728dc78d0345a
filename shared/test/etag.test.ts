import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { AppError, handleError } from "../src/errors";
import { checkIfMatch, ifMatchOf, versionTag } from "../src/etag";

describe("versionTag", () => {
  it("is strong, stable for one version, and differs between versions and rows", () => {
    const at = new Date("2026-01-02T03:04:05.678Z");
    const tag = versionTag({ id: "a", updatedAt: at });
    expect(tag).toMatch(/^"[A-Za-z0-9_-]{27}"$/);
    // A row read from the database and its DTO (ISO string) give the same tag.
    expect(versionTag({ id: "a", updatedAt: at.toISOString() })).toBe(tag);
    expect(versionTag({ id: "a", updatedAt: new Date(at.getTime() + 1) })).not.toBe(tag);
    expect(versionTag({ id: "b", updatedAt: at })).not.toBe(tag);
  });
});

describe("If-Match", () => {
  const app = new Hono()
    .patch("/", (c) => c.json({ tags: ifMatchOf(c) ?? null }))
    .onError(handleError);
  const tagsOf = async (header?: string) =>
    (
      (await (
        await app.request("/", {
          method: "PATCH",
          headers: header === undefined ? {} : { "if-match": header },
        })
      ).json()) as { tags: string[] | null }
    ).tags;

  it("reads the header's tags, none when absent", async () => {
    expect(await tagsOf()).toBeNull();
    expect(await tagsOf('"a", "b"')).toEqual(['"a"', '"b"']);
    expect(await tagsOf("*")).toEqual(["*"]);
  });

  it("passes the current tag, * and a list holding it; refuses others with 412 naming the current", () => {
    expect(() => checkIfMatch(['"x"'], '"x"')).not.toThrow();
    expect(() => checkIfMatch(["*"], '"x"')).not.toThrow();
    expect(() => checkIfMatch(['"y"', '"x"'], '"x"')).not.toThrow();
    const refuse = (tags: string[]) => {
      try {
        checkIfMatch(tags, '"x"');
      } catch (error) {
        return error as AppError;
      }
      throw new Error("expected a refusal");
    };
    expect(refuse(['"y"'])).toMatchObject({ code: "PRECONDITION_FAILED", status: 412 });
    expect(refuse(['"y"']).extra).toEqual({ etag: '"x"' });
    // Strong comparison: a weak tag never matches.
    expect(refuse(['W/"x"']).code).toBe("PRECONDITION_FAILED");
  });

  it("no header: passes unless required, then 428", () => {
    expect(() => checkIfMatch(undefined, '"x"')).not.toThrow();
    expect(() => checkIfMatch(undefined, '"x"', { required: true })).toThrow(
      expect.objectContaining({ code: "PRECONDITION_REQUIRED", status: 428 }),
    );
    expect(new AppError("PRECONDITION_REQUIRED").status).toBe(428);
  });
});
