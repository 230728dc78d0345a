import { TokenError, type TokenVerifier, type VerifyHint } from "./jwt";
import type { KeyValueStore } from "./store";

/** Prefix of the revocation marks' keys (local mode keeps them in the database, see durable-store.ts). */
export const REVOCATION_KEY_PREFIX = "tokens-revoked-before:";

const key = (userId: string) => `${REVOCATION_KEY_PREFIX}${userId}`;

/**
 * Makes every access token of a user issued before `at` invalid in every
 * function sharing the store (Redis in the cluster), for as long as such a
 * token could still be alive (`ttlSeconds` = the access token lifetime).
 * auth calls it on password change and reset, and on "log out everywhere".
 */
export async function revokeUserTokens(
  store: KeyValueStore,
  userId: string,
  at: Date,
  ttlSeconds: number,
): Promise<void> {
  await store.set(key(userId), String(at.getTime()), ttlSeconds + 60);
}

/** The `sub` claim of a JWT, read without verifying anything. */
function unverifiedSubject(token: string): string | undefined {
  const payload = token.split(".")[1];
  if (!payload) return undefined;
  try {
    const sub = (
      JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as { sub?: unknown }
    ).sub;
    return typeof sub === "string" && sub.length <= 128 ? sub : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Wraps a verifier with the revocation check. One cache read per request; if
 * the store is unreachable the token's own signature and expiry still decide
 * (the check is a second line of defence, and failing closed would log every
 * customer out during a cache outage). `prefetch` starts that read early, from
 * the token's unverified `sub`; `verify` uses it only when the verified
 * subject is the same, and reads again otherwise.
 */
export function withRevocation(
  verifier: TokenVerifier,
  store: KeyValueStore,
  onStoreError: (error: unknown) => void = () => {},
): TokenVerifier {
  const read = (userId: string) =>
    store.get(key(userId)).catch((error: unknown) => {
      onStoreError(error);
      return null;
    });
  return {
    prefetch(token): VerifyHint | undefined {
      const userId = unverifiedSubject(token);
      return userId === undefined ? undefined : { token, userId, revokedBefore: read(userId) };
    },
    async verify(token, hint) {
      const claims = await verifier.verify(token);
      const revokedBefore =
        hint && hint.token === token && hint.userId === claims.userId
          ? await hint.revokedBefore
          : await read(claims.userId);
      if (revokedBefore && claims.issuedAt.getTime() < Number(revokedBefore)) {
        throw new TokenError("invalid", "token revoked");
      }
      return claims;
    },
  };
}
