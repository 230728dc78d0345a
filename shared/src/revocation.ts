import type { KeyValueStore } from "./cache";
import { TokenError, type TokenVerifier } from "./jwt";

const key = (userId: string) => `tokens-revoked-before:${userId}`;

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

/**
 * Wraps a verifier with the revocation check. One cache read per request; if
 * the store is unreachable the token's own signature and expiry still decide
 * (the check is a second line of defence, and failing closed would log every
 * customer out during a cache outage).
 */
export function withRevocation(
  verifier: TokenVerifier,
  store: KeyValueStore,
  onStoreError: (error: unknown) => void = () => {},
): TokenVerifier {
  return {
    async verify(token) {
      const claims = await verifier.verify(token);
      let revokedBefore: string | null = null;
      try {
        revokedBefore = await store.get(key(claims.userId));
      } catch (error) {
        onStoreError(error);
      }
      if (revokedBefore && claims.issuedAt.getTime() < Number(revokedBefore)) {
        throw new TokenError("invalid", "token revoked");
      }
      return claims;
    },
  };
}
