import {
  createTokenSigner,
  type FunctionDefinition,
  publicKeyFromPem,
  signingKeyFromPem,
} from "@minispod/shared";
import { createApp } from "./app";
import { type AuthEnv, authEnvSchema } from "./env";
import { createPasswordHasher } from "./services/passwords";

/** auth: accounts, sessions and access tokens. The only holder of the signing key. */
export const authFunction: FunctionDefinition<AuthEnv> = {
  name: "auth",
  routes: ["/api/v1/auth"],
  envSchema: authEnvSchema,
  async create(ctx) {
    const signingKey = await signingKeyFromPem(ctx.env.JWT_PRIVATE_KEY);
    const previous = ctx.env.JWT_PREVIOUS_PUBLIC_KEY;
    const signer = createTokenSigner(
      signingKey,
      { issuer: ctx.env.JWT_ISSUER, audience: ctx.env.JWT_AUDIENCE },
      { previousPublicKey: previous ? await publicKeyFromPem(previous) : undefined },
    );
    return createApp({ ...ctx, signer, passwords: createPasswordHasher(ctx.env.BCRYPT_COST) });
  },
};
