import { describe, expect, it } from "vitest";
import { explain } from "../src/client/problems";

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
    ).toBe("Email or password is wrong.");
    expect(explain({ status: 401 }, response(401))).toBe(
      "Your session has ended. Please sign in again.",
    );
  });

  it("says the server could not be reached when there is no answer", () => {
    expect(explain(undefined)).toBe("The server could not be reached. Check your connection.");
  });
});
