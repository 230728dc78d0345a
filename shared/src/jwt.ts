import { randomUUID } from "node:crypto";
import type { UserRole } from "@minispod/db";
import * as jose from "jose";

/** The one algorithm access tokens use. Verification accepts nothing else. */
export const ACCESS_TOKEN_ALG = "EdDSA";

export interface AuthClaims {
  userId: string;
  role: UserRole;
  email: string;
  tokenId: string;
  issuedAt: Date;
}

export interface TokenSettings {
  issuer: string;
  audience: string;
}

type VerifyKey = jose.CryptoKey | jose.KeyObject | jose.JWTVerifyGetKey;

/**
 * Verifies access tokens with a public key or a JWKS: signature with the
 * pinned algorithm only (so `alg: none` and HS256-with-the-public-key fail),
 * issuer, audience, expiry.
 */
export interface TokenVerifier {
  /** `hint`: what `prefetch` started for this request, if anything. */
  verify(token: string, hint?: VerifyHint): Promise<AuthClaims>;
  /**
   * Starts the cache reads `verify` will need (the revocation check) before
   * the token is verified, so they share a round trip with the per-token rate
   * limit. Nothing it reads is trusted until `verify` has checked the signature.
   */
  prefetch?(token: string): VerifyHint | undefined;
}

/** Reads started by `TokenVerifier.prefetch`, for one token. */
export interface VerifyHint {
  token: string;
  /** The token's `sub`, read before verification: used only if verification agrees. */
  userId: string;
  revokedBefore: Promise<string | null>;
}

export class TokenError extends Error {
  constructor(
    readonly reason: "expired" | "invalid",
    message: string,
  ) {
    super(message);
    this.name = "TokenError";
  }
}

const ROLES = new Set<string>(["CUSTOMER", "ADMIN", "SUPER_ADMIN"]);

export function createTokenVerifier(key: VerifyKey, settings: TokenSettings): TokenVerifier {
  return {
    async verify(token) {
      try {
        const { payload } = await jose.jwtVerify(token, key as jose.CryptoKey, {
          algorithms: [ACCESS_TOKEN_ALG],
          issuer: settings.issuer,
          audience: settings.audience,
          requiredClaims: ["sub", "exp", "iat", "jti"],
        });
        const role = payload.role;
        const email = payload.email;
        if (typeof role !== "string" || !ROLES.has(role) || typeof email !== "string") {
          throw new TokenError("invalid", "token claims are incomplete");
        }
        return {
          userId: payload.sub as string,
          role: role as UserRole,
          email,
          tokenId: payload.jti as string,
          issuedAt: new Date(Math.round((payload.iat as number) * 1000)),
        };
      } catch (error) {
        if (error instanceof TokenError) throw error;
        if (error instanceof jose.errors.JWTExpired)
          throw new TokenError("expired", "token expired");
        throw new TokenError("invalid", "token invalid");
      }
    },
  };
}

/**
 * Builds the verifier from configuration: PEM public keys, or a JWKS URL.
 * With a previous key (`JWT_PREVIOUS_PUBLIC_KEY`, during a rotation) a token
 * is checked against the key its header's `kid` names: the current key's or
 * the previous one's; any other kid is refused.
 */
export async function verifierFromConfig(
  config: {
    publicKeyPem?: string | undefined;
    previousPublicKeyPem?: string | undefined;
    jwksUrl?: string | undefined;
  } & TokenSettings,
): Promise<TokenVerifier> {
  if (config.publicKeyPem) {
    const keys = [config.publicKeyPem, config.previousPublicKeyPem].filter(
      (pem): pem is string => pem !== undefined && pem !== "",
    );
    const imported = await Promise.all(
      keys.map((pem) =>
        jose.importSPKI(normalizePem(pem), ACCESS_TOKEN_ALG, { extractable: true }),
      ),
    );
    return createTokenVerifier(await localKeySet(imported), config);
  }
  if (config.jwksUrl) {
    return createTokenVerifier(jose.createRemoteJWKSet(new URL(config.jwksUrl)), config);
  }
  throw new Error("Set JWT_PUBLIC_KEY or JWT_JWKS_URL to verify access tokens");
}

export interface SigningKey {
  privateKey: jose.CryptoKey;
  publicKey: jose.CryptoKey;
  kid: string;
}

/** A JWKS entry of a public key, named by its RFC 7638 thumbprint. */
async function publicJwk(publicKey: jose.CryptoKey): Promise<jose.JWK> {
  const jwk = await jose.exportJWK(publicKey);
  return { ...jwk, kid: await thumbprint(publicKey), alg: ACCESS_TOKEN_ALG, use: "sig" };
}

/** Verification by `kid` over a fixed set of public keys (the current one first). */
async function localKeySet(publicKeys: jose.CryptoKey[]): Promise<jose.JWTVerifyGetKey> {
  return jose.createLocalJWKSet({ keys: await Promise.all(publicKeys.map(publicJwk)) });
}

export interface TokenSigner {
  sign(claims: Omit<AuthClaims, "tokenId" | "issuedAt">, ttlSeconds: number): Promise<string>;
  jwks(): Promise<{ keys: jose.JWK[] }>;
  verifier(): TokenVerifier;
}

/**
 * Signs access tokens (auth function only: nobody else holds the private key)
 * with the current key, its `kid` in the header. During a rotation the
 * previous public key stays in the JWKS and in `verifier()`, so tokens it
 * signed stay valid until they expire (docs/deploy.md, "Rotating the signing key").
 *
 * @example
 * const signer = createTokenSigner(await generateSigningKey(), { issuer, audience });
 * const token = await signer.sign({ userId, role: "CUSTOMER", email }, 900);
 */
export function createTokenSigner(
  key: SigningKey,
  settings: TokenSettings,
  options: { previousPublicKey?: jose.CryptoKey | undefined } = {},
): TokenSigner {
  const publicKeys = [
    key.publicKey,
    ...(options.previousPublicKey ? [options.previousPublicKey] : []),
  ];
  const keySet = localKeySet(publicKeys);
  const verifyKey: jose.JWTVerifyGetKey = async (header, token) => (await keySet)(header, token);
  return {
    sign: (claims, ttlSeconds) =>
      new jose.SignJWT({ role: claims.role, email: claims.email })
        .setProtectedHeader({ alg: ACCESS_TOKEN_ALG, kid: key.kid, typ: "JWT" })
        .setSubject(claims.userId)
        .setIssuer(settings.issuer)
        .setAudience(settings.audience)
        // Millisecond precision (NumericDate may be fractional), so a token can be
        // compared exactly with a password change made in the same second.
        .setIssuedAt(Date.now() / 1000)
        .setJti(randomUUID())
        .setExpirationTime(Math.floor(Date.now() / 1000) + ttlSeconds)
        .sign(key.privateKey),
    jwks: async () => ({ keys: await Promise.all(publicKeys.map(publicJwk)) }),
    verifier: () => createTokenVerifier(verifyKey, settings),
  };
}

export async function generateSigningKey(): Promise<SigningKey> {
  const { privateKey, publicKey } = await jose.generateKeyPair(ACCESS_TOKEN_ALG, {
    crv: "Ed25519",
    extractable: true,
  });
  return { privateKey, publicKey, kid: await thumbprint(publicKey) };
}

/** Loads a PKCS#8 PEM Ed25519 private key (JWT_PRIVATE_KEY) and derives its public half. */
export async function signingKeyFromPem(privatePem: string): Promise<SigningKey> {
  const { createPrivateKey, createPublicKey } = await import("node:crypto");
  const pem = normalizePem(privatePem);
  const privateKey = await jose.importPKCS8(pem, ACCESS_TOKEN_ALG, { extractable: true });
  const publicPem = createPublicKey(createPrivateKey(pem)).export({ type: "spki", format: "pem" });
  const publicKey = await jose.importSPKI(publicPem.toString(), ACCESS_TOKEN_ALG, {
    extractable: true,
  });
  return { privateKey, publicKey, kid: await thumbprint(publicKey) };
}

/** Imports an Ed25519 SPKI PEM public key (JWT_PREVIOUS_PUBLIC_KEY). */
export function publicKeyFromPem(publicPem: string): Promise<jose.CryptoKey> {
  return jose.importSPKI(normalizePem(publicPem), ACCESS_TOKEN_ALG, { extractable: true });
}

export async function exportKeyPem(
  key: SigningKey,
): Promise<{ privatePem: string; publicPem: string }> {
  return {
    privatePem: await jose.exportPKCS8(key.privateKey),
    publicPem: await jose.exportSPKI(key.publicKey),
  };
}

async function thumbprint(publicKey: jose.CryptoKey): Promise<string> {
  return jose.calculateJwkThumbprint(await jose.exportJWK(publicKey));
}

/** Env values often carry PEMs with literal "\n"; turn them back into lines. */
export function normalizePem(pem: string): string {
  return pem.includes("\\n") ? pem.replaceAll("\\n", "\n") : pem;
}
