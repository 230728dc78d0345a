import { resolve } from "node:path";
import { envField, parseEnv } from "@minispod/shared";
import * as v from "valibot";
import { createGateway, loadIngressRoutes } from "./gateway";
import { createMailCatcher } from "./mail-catcher";

/**
 * The compose stack's stand-ins for what the cluster provides, in the broker
 * image: `node tools.mjs gateway` (Traefik's IngressRoute) or
 * `node tools.mjs mail-catcher` (where Mailpit's image can't be pulled).
 */
const gatewayEnv = v.object({
  PORT: envField.port(8080),
  GATEWAY_INGRESS_FILE: v.optional(v.string(), "knative/api-ingress.yaml"),
  GATEWAY_UPSTREAM_URL_TEMPLATE: v.optional(
    v.pipe(v.string(), v.includes("{service}", "must contain {service}")),
    "http://{service}:8080",
  ),
});
const mailEnv = v.object({
  SMTP_PORT: envField.port(1025),
  HTTP_PORT: envField.port(8025),
});

const tool = process.argv[2];
try {
  if (tool === "gateway") {
    const env = parseEnv(gatewayEnv, process.env);
    const routes = loadIngressRoutes(resolve(env.GATEWAY_INGRESS_FILE));
    createGateway(routes, (service) =>
      env.GATEWAY_UPSTREAM_URL_TEMPLATE.replaceAll("{service}", service),
    ).listen(env.PORT, () =>
      console.log(
        `gateway on :${env.PORT}: ${routes.map((r) => `${r.prefix} -> ${r.service}`).join(", ")}`,
      ),
    );
  } else if (tool === "mail-catcher") {
    const env = parseEnv(mailEnv, process.env);
    const { smtp, http } = createMailCatcher();
    smtp.listen(env.SMTP_PORT);
    http.listen(env.HTTP_PORT, () =>
      console.log(`mail catcher: SMTP :${env.SMTP_PORT}, API :${env.HTTP_PORT}/api/v1/messages`),
    );
  } else {
    console.error("usage: node tools.mjs gateway|mail-catcher");
    process.exit(2);
  }
} catch (error) {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
}
process.on("SIGTERM", () => process.exit(0));
