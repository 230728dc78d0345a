import { hash, verify } from "@node-rs/bcrypt";
import * as v from "valibot";

/** bcrypt reads at most 72 bytes; longer passwords are refused rather than silently cut. */
export const passwordSchema = v.pipe(
  v.string("must be a string"),
  v.minLength(10, "must be at least 10 characters"),
  v.check((p) => Buffer.byteLength(p, "utf8") <= 72, "must be at most 72 bytes"),
);

export interface PasswordHasher {
  hash(password: string): Promise<string>;
  verify(password: string, passwordHash: string): Promise<boolean>;
  /**
   * Burns the same time as a real verification. Called when the account does
   * not exist, so unknown and known emails take as long to answer.
   */
  verifyDummy(password: string): Promise<false>;
}

export function createPasswordHasher(cost: number): PasswordHasher {
  let dummy: Promise<string> | undefined;
  return {
    hash: (password) => hash(password, { cost }),
    verify: (password, passwordHash) => verify(password, passwordHash),
    async verifyDummy(password) {
      dummy ??= hash("dummy password that never matches", { cost });
      await verify(password, await dummy);
      return false;
    },
  };
}
