import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { exportKeyPem, generateSigningKey, signingKeyFromPem } from "@minispod/shared";

/**
 * The local signing key: JWT_PRIVATE_KEY when given, else one generated on
 * first start and kept in the data folder so tokens survive restarts.
 */
export async function localSigningKeys(
  dataDir: string,
  fromEnv: string | undefined,
): Promise<{ privatePem: string; publicPem: string; generated: boolean }> {
  if (fromEnv) {
    return { ...(await exportKeyPem(await signingKeyFromPem(fromEnv))), generated: false };
  }
  const file = join(dataDir, "jwt-ed25519.pem");
  if (existsSync(file)) {
    return {
      ...(await exportKeyPem(await signingKeyFromPem(readFileSync(file, "utf8")))),
      generated: false,
    };
  }
  const pems = await exportKeyPem(await generateSigningKey());
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(file, pems.privatePem, { mode: 0o600 });
  return { ...pems, generated: true };
}
