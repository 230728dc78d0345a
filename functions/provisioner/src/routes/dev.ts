import type { ClusterPort } from "@minispod/cluster";
import { SIMULATED_FAULTS, type SimulatedCluster } from "@minispod/cluster/simulated";
import { loadRecord, refOf, syncObserved } from "@minispod/instances";
import { type AppEnv, AppError, idParam, jsonBody, pathParams } from "@minispod/shared";
import { Hono } from "hono";
import * as v from "valibot";
import type { ProvisionerContext } from "../services/context";

const faultBody = v.object({
  fault: v.nullable(
    v.picklist(SIMULATED_FAULTS, `must be one of ${SIMULATED_FAULTS.join(", ")}, or null`),
  ),
});

const isSimulated = (cluster: ClusterPort): cluster is SimulatedCluster =>
  cluster.name === "simulated";

/**
 * Local mode only, mounted at /_dev/provisioner: make an instance fail the
 * way a cluster fails (or heal it), for demos and manual tests of the
 * failure paths. `POST /instances/:id/fault {"fault": "crash-loop"}`.
 */
export function devRoutes(ctx: ProvisionerContext) {
  return new Hono<AppEnv>().post(
    "/instances/:id/fault",
    pathParams(idParam),
    jsonBody(faultBody),
    async (c) => {
      const cluster = ctx.cluster;
      if (!isSimulated(cluster)) {
        throw new AppError("CONFLICT", {
          detail: "Faults can only be injected into the simulated cluster.",
        });
      }
      const record = await loadRecord(ctx.db, { instanceId: c.req.valid("param").id });
      if (!record) throw new AppError("NOT_FOUND", { detail: "No instance with this id." });
      const { fault } = c.req.valid("json");
      await cluster.setFault(refOf(record), fault);
      const live = await cluster.readStatus(refOf(record));
      const after = await syncObserved(ctx.db, record.instance.id, live, {
        now: ctx.now(),
        provisionTimeoutMs: ctx.provisionTimeoutMs,
        source: ctx.source,
        metrics: ctx.metrics,
      });
      return c.json({
        instanceId: record.instance.id,
        fault,
        phase: live.phase,
        reason: live.reason,
        status: after?.instance.status ?? record.instance.status,
      });
    },
  );
}
