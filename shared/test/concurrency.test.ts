import { describe, expect, it } from "vitest";
import { mapLimit } from "../src/concurrency";

const tick = () => new Promise((resolve) => setTimeout(resolve, 1));

describe("mapLimit", () => {
  it("runs every item once with at most `limit` at once", async () => {
    let running = 0;
    let most = 0;
    const done: number[] = [];
    await mapLimit(
      Array.from({ length: 25 }, (_, i) => i),
      4,
      async (i) => {
        most = Math.max(most, ++running);
        await tick();
        done.push(i);
        running--;
      },
    );
    expect(most).toBe(4);
    expect(done.sort((a, b) => a - b)).toEqual(Array.from({ length: 25 }, (_, i) => i));
  });

  it("after a failure takes no new item, lets those running finish, then rejects with it", async () => {
    const started: number[] = [];
    const finished: number[] = [];
    const run = mapLimit([0, 1, 2, 3, 4, 5, 6, 7], 2, async (i) => {
      started.push(i);
      if (i === 2) throw new Error("item 2 failed");
      await tick();
      finished.push(i);
    });
    await expect(run).rejects.toThrow("item 2 failed");
    // 0 and 1 start together; 2 fails as 0 or 1 ends; at most one more was taken before it did.
    expect(started.length).toBeLessThanOrEqual(4);
    expect(finished).toEqual(expect.arrayContaining([0, 1]));
    expect(finished.every((i) => started.includes(i))).toBe(true);
  });

  it("does nothing for no items", async () => {
    let calls = 0;
    await mapLimit([], 3, async () => {
      calls++;
    });
    expect(calls).toBe(0);
  });
});
