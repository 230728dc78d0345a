import { randomUUID } from "node:crypto";
import type { UserRole } from "@minispod/db";
import * as jose from "jose";
import { createTokenSigner, generateSigningKey, type SigningKey } from "../jwt";

/** The issuer and audience every test app trusts. */
export const TOKEN_SETTINGS = { issuer: "minispod", audience: "minispod-api" };

/** A token signed by a key the app does not trust. */
export async function foreignToken(userId: string, role: UserRole = "CUSTOMER"): Promise<string> {
  const other = createTokenSigner(await generateSigningKey(), TOKEN_SETTINGS);
  return other.sign({ userId, role, email: "x@example.com" }, 900);
}

/** The claims every forged test token carries: our issuer and audience, 15 minutes, a fresh id. */
function withTestClaims<T extends jose.UnsecuredJWT | jose.SignJWT>(token: T, userId: string): T {
  token
    .setSubject(userId)
    .setIssuer(TOKEN_SETTINGS.issuer)
    .setAudience(TOKEN_SETTINGS.audience)
    .setIssuedAt()
    .setJti(randomUUID())
    .setExpirationTime("15m");
  return token;
}

/** A token with `alg: none`. */
export function unsignedToken(userId: string, role: UserRole = "ADMIN"): string {
  return withTestClaims(new jose.UnsecuredJWT({ role, email: "x@example.com" }), userId).encode();
}

/** HS256 signed with the public key's PEM as the secret: the classic key-confusion forgery. */
export async function hsConfusionToken(publicPem: string, userId: string): Promise<string> {
  const token = new jose.SignJWT({ role: "ADMIN", email: "x@example.com" }).setProtectedHeader({
    alg: "HS256",
  });
  return withTestClaims(token, userId).sign(new TextEncoder().encode(publicPem));
}

/** A correctly signed token that expired a minute ago. */
export async function expiredToken(key: SigningKey, userId: string): Promise<string> {
  return new jose.SignJWT({ role: "CUSTOMER", email: "x@example.com" })
    .setProtectedHeader({ alg: "EdDSA", kid: key.kid })
    .setSubject(userId)
    .setIssuer(TOKEN_SETTINGS.issuer)
    .setAudience(TOKEN_SETTINGS.audience)
    .setIssuedAt(Math.floor(Date.now() / 1000) - 3600)
    .setJti(randomUUID())
    .setExpirationTime(Math.floor(Date.now() / 1000) - 60)
    .sign(key.privateKey);
}

/** Flips one character of the payload: the signature no longer matches. */
export function tamperedToken(token: string): string {
  const [header, payload, signature] = token.split(".");
  const claims = JSON.parse(Buffer.from(payload!, "base64url").toString());
  claims.role = "SUPER_ADMIN";
  return [header, Buffer.from(JSON.stringify(claims)).toString("base64url"), signature].join(".");
}
