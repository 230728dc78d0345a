import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { developmentKeyring, openSecret, parseKeyring, sealSecret } from "../src/sealed";

const key = () => randomBytes(32).toString("base64");

describe("sealed values (AES-256-GCM with a key id)", () => {
  it("opens what it sealed, and the box carries neither the value nor the key", () => {
    const ring = parseKeyring(`k2:${key()}`);
    const sealed = sealSecret(ring, "s3cret-value", "inst/ADMIN_TOKEN");
    expect(sealed.keyId).toBe("k2");
    expect(sealed.box).not.toContain("s3cret");
    expect(openSecret(ring, sealed, "inst/ADMIN_TOKEN")).toBe("s3cret-value");
  });

  it("seals with the first key and still opens with an older one (rotation)", () => {
    const old = `old:${key()}`;
    const before = sealSecret(parseKeyring(old), "v", "ctx");
    const ring = parseKeyring(`new:${key()},${old}`);
    expect(sealSecret(ring, "v", "ctx").keyId).toBe("new");
    expect(openSecret(ring, before, "ctx")).toBe("v");
  });

  it("refuses another context, an altered box and an unknown key", () => {
    const ring = developmentKeyring();
    const sealed = sealSecret(ring, "v", "a/NAME");
    expect(() => openSecret(ring, sealed, "b/NAME")).toThrow();
    const [iv, , body] = sealed.box.split(".");
    const forgedTag = Buffer.alloc(16).toString("base64url");
    expect(() =>
      openSecret(ring, { ...sealed, box: `${iv}.${forgedTag}.${body}` }, "a/NAME"),
    ).toThrow();
    expect(() => openSecret(parseKeyring(`x:${key()}`), sealed, "a/NAME")).toThrow(/no key "dev"/);
  });

  it("rejects keyrings that are empty, short, badly named or repeated, without echoing a key", () => {
    const short = randomBytes(16).toString("base64");
    expect(() => parseKeyring("")).toThrow(/at least one key/);
    expect(() => parseKeyring(`k:${short}`)).toThrow(/32 bytes/);
    expect(() => parseKeyring(`k:${short}`)).not.toThrow(short);
    expect(() => parseKeyring(`bad id:${key()}`)).toThrow(/id/);
    const k = key();
    expect(() => parseKeyring(`a:${k},a:${k}`)).toThrow(/repeated/);
  });
});
