// Values the workspace's vitest global setup provides (scripts/src/testing/global-setup.ts).
import "vitest";

declare module "vitest" {
  export interface ProvidedContext {
    databaseServerUrl: string;
    templateDatabase: string;
    redisUrl: string;
  }
}
