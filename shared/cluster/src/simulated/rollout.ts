import {
  type ClusterEvent,
  type InstanceLogs,
  type InstancePhase,
  type LogOptions,
  SECRET_MISSING_REASON,
} from "../port";
import type { SimulatedFault } from "./faults";

/** What the simulation needs of one stored workload. */
export interface WorkloadState {
  name: string;
  image: string;
  port: number;
  replicas: number;
  generation: number;
  rolloutStartedAt: Date;
  fault: SimulatedFault | null;
}

export interface Verdict {
  phase: InstancePhase;
  reason: string;
  ready: number;
}

/**
 * A rollout goes through three steps of `delayMs` each, like a pod does:
 * scheduled -> image pulled -> container started -> ready. With a delay of 0
 * every step has happened by the time anyone looks.
 */
const step = (state: WorkloadState, delayMs: number, n: number) =>
  new Date(state.rolloutStartedAt.getTime() + n * delayMs);

export function verdictOf(state: WorkloadState, now: Date, delayMs: number): Verdict {
  if (state.replicas === 0) return { phase: "suspended", reason: "suspended", ready: 0 };
  const reached = (n: number) => now.getTime() >= step(state, delayMs, n).getTime();
  switch (state.fault) {
    case "quota":
      return { phase: "failed", reason: "quota exceeded", ready: 0 };
    case "volume-pending":
      return { phase: "starting", reason: "volume pending", ready: 0 };
    case "image-pull":
      return reached(1)
        ? { phase: "failed", reason: "image could not be pulled", ready: 0 }
        : { phase: "starting", reason: "starting", ready: 0 };
    case "secret-missing":
      // Scheduled and pulled, then the kubelet cannot build the container's environment.
      return reached(1)
        ? { phase: "failed", reason: SECRET_MISSING_REASON, ready: 0 }
        : { phase: "starting", reason: "starting", ready: 0 };
    case "crash-loop":
      return reached(2)
        ? { phase: "failed", reason: "crash looping", ready: 0 }
        : { phase: "starting", reason: "starting", ready: 0 };
    default:
      return reached(3)
        ? { phase: "running", reason: "running", ready: state.replicas }
        : { phase: "starting", reason: "starting", ready: 0 };
  }
}

/** The pod of the current rollout, named like a ReplicaSet's pod would be. */
export const podName = (state: WorkloadState) =>
  `${state.name}-${state.generation.toString(16).padStart(6, "0")}-sim`;

/**
 * The Kubernetes events this rollout would have produced by `now`, newest
 * first, with the plain words the kubernetes driver uses for the same reasons.
 */
export function eventsOf(state: WorkloadState, now: Date, delayMs: number): ClusterEvent[] {
  const deployment = `Deployment/${state.name}`;
  const pod = `Pod/${podName(state)}`;
  const events: ClusterEvent[] = [];
  const add = (
    n: number,
    type: ClusterEvent["type"],
    reason: string,
    message: string,
    object: string,
  ) => {
    const at = step(state, delayMs, n);
    if (at.getTime() <= now.getTime())
      events.push({ at: at.toISOString(), type, reason, message, object });
  };
  if (state.replicas === 0) {
    add(0, "Normal", "ScalingReplicaSet", "Scaled down to 0 (suspended)", deployment);
    return events;
  }
  add(0, "Normal", "ScalingReplicaSet", "Scaled up to 1", deployment);
  if (state.fault === "quota") {
    add(0, "Warning", "FailedCreate", "quota exceeded", `ReplicaSet/${state.name}`);
    return events.reverse();
  }
  if (state.fault === "volume-pending") {
    add(0, "Warning", "FailedScheduling", "volume pending", pod);
    return events.reverse();
  }
  add(0, "Normal", "Scheduled", "Assigned to a node", pod);
  add(0, "Normal", "Pulling", `Pulling image "${state.image}"`, pod);
  if (state.fault === "image-pull") {
    add(1, "Warning", "Failed", "image could not be pulled", pod);
    add(1, "Warning", "ImagePullBackOff", "image could not be pulled", pod);
    return events.reverse();
  }
  add(1, "Normal", "Pulled", `Pulled image "${state.image}"`, pod);
  if (state.fault === "secret-missing") {
    add(1, "Warning", "Failed", `Error: secret "${state.name}" not found`, pod);
    return events.reverse();
  }
  add(1, "Normal", "Created", "Created container app", pod);
  add(2, "Normal", "Started", "Started container app", pod);
  if (state.fault === "crash-loop") {
    add(2, "Warning", "BackOff", "crash looping", pod);
  }
  return events.reverse();
}

/** How often a running simulated app writes a log line. */
const LOG_EVERY_MS = 30_000;
/** Most lines a simulated pod keeps (a real container runtime rotates too). */
const MAX_LINES = 1000;

/**
 * Log lines the simulated app would have written by `now`: its start-up
 * lines, then an access-log line every 30 s; a crash-looping app logs its
 * fatal error; an app whose container never started has no lines.
 */
export function logsOf(
  state: WorkloadState,
  now: Date,
  delayMs: number,
  options: LogOptions = {},
): InstanceLogs {
  if (state.replicas === 0 || state.fault === "quota") return { pod: null, lines: [] };
  const pod = podName(state);
  const started = step(state, delayMs, 2);
  if (
    state.fault === "image-pull" ||
    state.fault === "volume-pending" ||
    state.fault === "secret-missing" ||
    now < started
  ) {
    return { pod, lines: [] };
  }
  const entries: Array<[Date, string]> = [[started, `starting ${state.image}`]];
  if (state.fault === "crash-loop") {
    entries.push([started, "fatal: required configuration is missing; exiting with code 1"]);
  } else {
    entries.push([started, `listening on 0.0.0.0:${state.port}`]);
    const ready = step(state, delayMs, 3);
    const first = Math.max(ready.getTime(), now.getTime() - LOG_EVERY_MS * MAX_LINES);
    for (let t = first; t <= now.getTime(); t += LOG_EVERY_MS) {
      entries.push([new Date(t), `GET / 200 (health check)`]);
    }
  }
  const since =
    options.sinceSeconds === undefined ? undefined : now.getTime() - options.sinceSeconds * 1000;
  let lines = entries
    .filter(([at]) => since === undefined || at.getTime() >= since)
    .map(([at, text]) => `${at.toISOString()} ${text}`);
  if (options.tailLines !== undefined) lines = lines.slice(-options.tailLines);
  return { pod, lines };
}
