import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { explain, FALLBACK, LINK_EXPIRED, plainWords, UNREACHABLE } from "../src/client/problems";

const response = (status: number, headers: Record<string, string> = {}) =>
  new Response(null, { status, headers });

describe("explain: problem+json in plain words", () => {
  it("says a declined payment charged nothing and what to do", () => {
    expect(explain({ status: 402, detail: "The card was declined." }, response(402))).toBe(
      "Your payment was declined: The card was declined. Nothing was charged; try another payment method.",
    );
  });

  it("gives the wait of a 429 from Retry-After, in seconds or minutes", () => {
    expect(explain({}, response(429, { "retry-after": "12" }))).toBe(
      "Too many attempts. Please wait 12 seconds and try again.",
    );
    expect(explain({}, response(429, { "retry-after": "600" }))).toBe(
      "Too many attempts. Please wait 10 minutes and try again.",
    );
    expect(explain({}, response(429))).toBe(
      "Too many attempts. Please wait a moment and try again.",
    );
  });

  it("uses the API's words for a 409 (already subscribed)", () => {
    expect(
      explain({ status: 409, detail: "You already subscribe to this app." }, response(409)),
    ).toBe("You already subscribe to this app.");
  });

  it("lists the fields of a validation problem", () => {
    expect(
      explain(
        {
          status: 400,
          errors: [
            { field: "email", message: "must be an email address" },
            { field: "password", message: "must be at least 10 characters" },
          ],
        },
        response(400),
      ),
    ).toBe(
      "Please check: email must be an email address; password must be at least 10 characters.",
    );
  });

  it("tells a wrong password apart from an ended session", () => {
    expect(
      explain(
        { status: 401, code: "INVALID_CREDENTIALS", detail: "Email or password is wrong." },
        response(401),
      ),
    ).toBe("The email or the password is wrong.");
    expect(explain({ status: 401 }, response(401))).toBe(
      "Your session has ended. Please sign in again.",
    );
  });

  it("says the server could not be reached when there is no answer", () => {
    expect(explain(undefined)).toBe(UNREACHABLE);
  });

  it("says an emailed link is spent rather than naming the token field", () => {
    expect(
      explain(
        {
          status: 422,
          code: "UNPROCESSABLE",
          errors: [{ field: "token", message: "is invalid or expired" }],
        },
        response(422),
      ),
    ).toBe(LINK_EXPIRED);
  });

  it("finds the words by the problem type, or the status, when a problem has no code", () => {
    expect(
      explain({ type: "https://minispod.dev/problems/email-taken", status: 409 }, response(409)),
    ).toBe(plainWords.EMAIL_TAKEN({}, ""));
    expect(explain({}, response(503))).toBe(plainWords.SERVICE_UNAVAILABLE({}, ""));
    expect(explain({}, response(500))).toBe(FALLBACK);
  });
});

/** Every problem the API may answer, as the OpenAPI document declares it. */
function declaredProblems() {
  const doc = JSON.parse(
    readFileSync(new URL("../../../docs/openapi.json", import.meta.url), "utf8"),
  ) as { components: { schemas: Record<string, unknown> }; paths: unknown };
  const problem = doc.components.schemas.Problem as { properties: { code: { enum: string[] } } };
  const codes = new Set(problem.properties.code.enum);
  const types = new Map<string, string>();
  // Every example and component in the document: codes and their `type` URIs.
  const walk = (node: unknown) => {
    if (Array.isArray(node)) return node.forEach(walk);
    if (!node || typeof node !== "object") return;
    const o = node as Record<string, unknown>;
    if (typeof o.code === "string" && /^[A-Z_]+$/.test(o.code)) {
      codes.add(o.code);
      if (typeof o.type === "string") types.set(o.type, o.code);
    }
    if (
      o.code &&
      typeof o.code === "object" &&
      typeof (o.code as { const?: unknown }).const === "string"
    )
      codes.add((o.code as { const: string }).const);
    for (const value of Object.values(o)) walk(value);
  };
  walk(doc.paths);
  walk(doc.components.schemas);
  return { codes: [...codes].sort(), types };
}

describe("every problem in docs/openapi.json has plain words", () => {
  const { codes, types } = declaredProblems();

  it("finds the problems the document declares", () => {
    expect(codes).toContain("PAYMENT_DECLINED");
    expect(codes).toContain("RATE_LIMITED");
    expect(codes.length).toBeGreaterThanOrEqual(25);
    expect(types.size).toBeGreaterThanOrEqual(20);
  });

  it.each(codes)("%s: words of its own, not the fallback, not jargon", (code) => {
    expect(Object.keys(plainWords)).toContain(code);
    // A problem with a developer's detail: the customer must still read something meant for them.
    const status = 400;
    const words = explain(
      { code, status, title: "x", detail: "Send If-Match with the ETag of your last read." },
      response(status),
    );
    // INTERNAL is the one code whose words are the fallback itself.
    if (code !== "INTERNAL") expect(words).not.toBe(FALLBACK);
    expect(words).not.toContain(code);
    expect(words).toMatch(/^[A-Z].*[.!]$/s);
    // Without a detail as well: never an empty or undefined sentence.
    const bare = explain({ code, status }, response(status));
    expect(bare).toMatch(/^[A-Z].*[.!]$/s);
    expect(bare).not.toMatch(/undefined|null/);
    expect(bare).not.toMatch(/\b(ETag|If-Match|JSON|Idempotency|Bearer|header)\b/i);
  });

  it.each([...types.entries()])("%s is recognised by its type alone", (type, code) => {
    expect(explain({ type, status: 400 }, response(400))).toBe(
      explain({ code, status: 400 }, response(400)),
    );
  });
});
