import { describe, expect, it } from "vitest";
import { createTokenSigner, generateSigningKey } from "../src/jwt";
import { revokeUserTokens, withRevocation } from "../src/revocation";
import { memoryStore } from "../src/store";

describe("in-memory store and limiter (local mode)", () => {
  it("expires values and counts a window like Redis does", async () => {
    let now = 1_000_000;
    const store = memoryStore(() => now);
    await store.set("k", "v", 10);
    expect(await store.get("k")).toBe("v");
    expect(await store.setIfAbsent("k", "w", 10)).toBe(false);
    now += 10_001;
    expect(await store.get("k")).toBeNull();
    expect(await store.setIfAbsent("k", "w", 10)).toBe(true);

    const hits = [];
    for (let i = 0; i < 3; i++) hits.push(await store.hit("login:a", 2, 60));
    expect(hits.map((h) => h.allowed)).toEqual([true, true, false]);
    expect(hits[2]!.retryAfterSeconds).toBe(60);
    now += 30_000;
    expect((await store.hit("login:a", 2, 60)).retryAfterSeconds).toBe(30);
    now += 30_001;
    expect((await store.hit("login:a", 2, 60)).allowed).toBe(true);
  });
});

describe("token revocation", () => {
  it("refuses tokens issued before the mark, accepts later ones, and fails open when the store is down", async () => {
    const signer = createTokenSigner(await generateSigningKey(), { issuer: "i", audience: "a" });
    const store = memoryStore();
    const verifier = withRevocation(signer.verifier(), store);
    const claims = { userId: "u1", role: "CUSTOMER" as const, email: "a@example.com" };
    const before = await signer.sign(claims, 900);
    await new Promise((r) => setTimeout(r, 5));
    await revokeUserTokens(store, "u1", new Date(), 900);
    await new Promise((r) => setTimeout(r, 5));
    const after = await signer.sign(claims, 900);
    await expect(verifier.verify(before)).rejects.toThrow("token revoked");
    await expect(verifier.verify(after)).resolves.toMatchObject({ userId: "u1" });

    const errors: unknown[] = [];
    const broken = { ...store, get: async () => Promise.reject(new Error("down")) };
    const lenient = withRevocation(signer.verifier(), broken, (e) => errors.push(e));
    await expect(lenient.verify(before)).resolves.toMatchObject({ userId: "u1" });
    expect(errors).toHaveLength(1);
  });
});
