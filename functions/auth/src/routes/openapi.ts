import { userRole } from "@minispod/db";
import { describeRoute, named } from "@minispod/shared";
import * as v from "valibot";

/**
 * The OpenAPI notes of auth's routes, with the answers' schemas (wire form).
 * Under test each answer is checked against them, so they follow
 * `toUserDto` and `issueSession`.
 */
const userSchema = named(
  "User",
  v.object({
    id: v.pipe(v.string(), v.uuid()),
    email: v.string(),
    name: v.string(),
    role: v.picklist(userRole.enumValues),
    emailVerified: v.boolean(),
    createdAt: v.pipe(v.string(), v.isoTimestamp()),
  }),
);

const tokensSchema = named(
  "Tokens",
  v.object({
    accessToken: v.string(),
    /** Left out when the request sent `Minispod-Session: cookie`: it is then an HttpOnly cookie. */
    refreshToken: v.optional(v.string()),
    tokenType: v.literal("Bearer"),
    expiresIn: v.pipe(v.number(), v.integer()),
  }),
);
const sessionSchema = named("Session", v.object({ ...tokensSchema.entries, user: userSchema }));

const accepted = v.object({ status: v.string(), detail: v.optional(v.string()) });

export const notes = {
  jwks: describeRoute({
    id: "auth.jwks",
    summary: "Public keys that verify access tokens (JWKS)",
    response: { schema: v.object({ keys: v.array(v.looseObject({ kty: v.string() })) }) },
    errors: [],
  }),
  register: describeRoute({
    id: "auth.register",
    summary: "Create an account and sign in",
    description:
      "With the header `Minispod-Session: cookie` (browsers) the refresh token is set as an HttpOnly, Secure, SameSite=Strict cookie on /api/v1/auth and left out of the body.",
    response: { status: 201, schema: sessionSchema, location: "/api/v1/auth/me" },
    errors: ["EMAIL_TAKEN"],
  }),
  login: describeRoute({
    id: "auth.login",
    summary: "Sign in with email and password",
    description:
      "With the header `Minispod-Session: cookie` (browsers) the refresh token is set as an HttpOnly, Secure, SameSite=Strict cookie on /api/v1/auth and left out of the body.",
    response: { schema: sessionSchema },
    errors: ["INVALID_CREDENTIALS", "ACCOUNT_DISABLED"],
  }),
  refresh: describeRoute({
    id: "auth.refresh",
    summary: "Exchange a refresh token for new tokens (rotation)",
    description:
      "Reusing a rotated refresh token revokes its whole family. With the header `Minispod-Session: cookie` the token is read from the HttpOnly cookie (no body) and the rotated one is set as the cookie.",
    response: { schema: sessionSchema },
    errors: ["INVALID_TOKEN", "ACCOUNT_DISABLED"],
  }),
  logout: describeRoute({
    id: "auth.logout",
    summary: "Revoke a refresh token's session",
    description:
      "With the header `Minispod-Session: cookie` the token is read from the cookie, which is cleared.",
    response: { status: 204 },
    errors: [],
  }),
  me: describeRoute({
    id: "auth.me",
    summary: "The signed-in user",
    response: { schema: userSchema },
    errors: ["ACCOUNT_DISABLED"],
  }),
  updateMe: describeRoute({
    id: "auth.updateMe",
    summary: "Change the signed-in user's profile",
    response: { schema: userSchema },
    errors: ["ACCOUNT_DISABLED"],
  }),
  changePassword: describeRoute({
    id: "auth.changePassword",
    summary: "Change the password (revokes other sessions)",
    response: { schema: tokensSchema },
    errors: ["ACCOUNT_DISABLED"],
  }),
  logoutAll: describeRoute({
    id: "auth.logoutAll",
    summary: "Sign out everywhere (revokes every session and access token)",
    response: { status: 204 },
    errors: [],
  }),
  verifyEmail: describeRoute({
    id: "auth.verifyEmail",
    summary: "Confirm the email address with the emailed token",
    response: { status: 204 },
    errors: ["UNPROCESSABLE"],
  }),
  resendVerification: describeRoute({
    id: "auth.resendVerification",
    summary: "Email a new verification link",
    response: { status: 202, schema: accepted },
    errors: ["CONFLICT", "ACCOUNT_DISABLED"],
  }),
  forgotPassword: describeRoute({
    id: "auth.forgotPassword",
    summary: "Email a password reset link (answers 202 for any email)",
    response: { status: 202, schema: accepted },
    errors: [],
  }),
  resetPassword: describeRoute({
    id: "auth.resetPassword",
    summary: "Set a new password with the emailed token",
    response: { status: 204 },
    errors: ["UNPROCESSABLE"],
  }),
};
