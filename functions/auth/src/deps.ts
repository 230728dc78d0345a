import type { FunctionContext, TokenSigner } from "@minispod/shared";
import type { AuthEnv } from "./env";
import type { PasswordHasher } from "./services/passwords";

/** What the function is built from: `main.ts` makes it once, tests make their own. */
export interface AuthDeps extends FunctionContext<AuthEnv> {
  signer: TokenSigner;
  passwords: PasswordHasher;
}
