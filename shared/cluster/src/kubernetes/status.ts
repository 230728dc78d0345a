import type { CoreV1Event, V1Deployment, V1Pod } from "@kubernetes/client-node";
import { instanceName, SPEC_HASH_ANNOTATION } from "../names";
import {
  type ClusterEvent,
  type InstancePhase,
  type InstanceRef,
  type InstanceStatus,
  SECRET_MISSING_REASON,
} from "../port";

interface Verdict {
  phase: InstancePhase;
  reason: string;
}

/** Container waiting reasons -> what a customer is told. */
const WAITING: Record<string, Verdict> = {
  ErrImagePull: { phase: "failed", reason: "image could not be pulled" },
  ImagePullBackOff: { phase: "failed", reason: "image could not be pulled" },
  InvalidImageName: { phase: "failed", reason: "image could not be pulled" },
  ErrImageNeverPull: { phase: "failed", reason: "image could not be pulled" },
  CrashLoopBackOff: { phase: "failed", reason: "crash looping" },
  CreateContainerConfigError: { phase: "failed", reason: "configuration could not be applied" },
  CreateContainerError: { phase: "failed", reason: "container could not be created" },
  RunContainerError: { phase: "failed", reason: "container could not be started" },
};

/**
 * Whether a pod cannot start its container because the instance's own
 * Secret does not exist: the kubelet reports the container waiting with
 * `CreateContainerConfigError` and the message `secret "<name>" not found`
 * (the Deployment takes the generated values by `envFrom`, not optional).
 *
 * This is how the provisioner learns that the Secret was deleted behind its
 * back without being allowed to read Secrets: the pod status it already
 * reads says so. A Secret of another name (not ours) or a missing key is
 * not this case and is left to the generic words.
 */
export function secretIsMissing(pod: V1Pod, secretName: string): boolean {
  return (pod.status?.containerStatuses ?? []).some((c) => {
    const waiting = c.state?.waiting;
    if (waiting?.reason !== "CreateContainerConfigError") return false;
    const named = /secrets? "([^"]+)" not found/i.exec(waiting.message ?? "");
    return named?.[1] === secretName;
  });
}

function podVerdict(pod: V1Pod, secretName: string): Verdict | null {
  if (secretIsMissing(pod, secretName)) return { phase: "failed", reason: SECRET_MISSING_REASON };
  for (const c of pod.status?.containerStatuses ?? []) {
    const waiting = c.state?.waiting?.reason;
    if (waiting && WAITING[waiting]) {
      if (waiting === "CrashLoopBackOff" && c.lastState?.terminated?.reason === "OOMKilled") {
        return { phase: "failed", reason: "crash looping: out of memory" };
      }
      return WAITING[waiting] ?? null;
    }
  }
  const scheduled = pod.status?.conditions?.find((c) => c.type === "PodScheduled");
  if (scheduled?.status === "False") {
    if (/persistentvolumeclaim|volume/i.test(scheduled.message ?? "")) {
      return { phase: "starting", reason: "volume pending" };
    }
    return { phase: "starting", reason: "waiting for room in the cluster" };
  }
  return null;
}

/**
 * Translates a Deployment, its pods and (optionally) events into one
 * phase and plain words; pure, so every rule is unit-testable.
 */
export function describeInstance(
  ref: InstanceRef,
  deployment: V1Deployment | null,
  pods: readonly V1Pod[],
  events: readonly CoreV1Event[] = [],
): InstanceStatus {
  const base = {
    customerId: ref.customerId,
    instanceId: ref.instanceId,
    events: events.map(toClusterEvent),
  };
  base.events.sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : 0));
  if (!deployment) {
    return {
      ...base,
      phase: "missing",
      reason: "not found in the cluster",
      replicas: { desired: 0, ready: 0 },
      specHash: null,
    };
  }
  const desired = deployment.spec?.replicas ?? 1;
  const ready = deployment.status?.readyReplicas ?? 0;
  // The Secret is named like the Deployment (and every other object of the instance).
  const secretName = deployment.metadata?.name ?? instanceName(ref.instanceId);
  // Looked for in every pod given, whatever the phase: a surge pod stuck on it while
  // the old pod still serves is worth repairing before the old one goes too.
  const secretMissing = desired > 0 && pods.some((pod) => secretIsMissing(pod, secretName));
  const replicas = { desired, ready };
  const verdict = ((): Verdict => {
    if (desired === 0) return { phase: "suspended", reason: "suspended" };
    const conditions = deployment.status?.conditions ?? [];
    const failure = conditions.find((c) => c.type === "ReplicaFailure" && c.status === "True");
    if (failure) {
      const message = failure.message ?? "";
      if (/exceeded quota/i.test(message)) return { phase: "failed", reason: "quota exceeded" };
      if (/violates PodSecurity/i.test(message)) {
        return { phase: "failed", reason: "refused by the pod security policy" };
      }
      if (/maximum (cpu|memory)|LimitRange/i.test(message)) {
        return { phase: "failed", reason: "larger than the plan allows" };
      }
      return { phase: "failed", reason: "pods could not be created" };
    }
    const available = deployment.status?.availableReplicas ?? 0;
    const updated = deployment.status?.updatedReplicas ?? 0;
    const current =
      (deployment.status?.observedGeneration ?? 0) >= (deployment.metadata?.generation ?? 0);
    if (available >= desired && updated >= desired && current)
      return { phase: "running", reason: "running" };
    for (const pod of pods) {
      const v = podVerdict(pod, secretName);
      if (v) return v;
    }
    const progressing = conditions.find((c) => c.type === "Progressing");
    if (progressing?.status === "False" && progressing.reason === "ProgressDeadlineExceeded") {
      return { phase: "failed", reason: "did not become ready in time" };
    }
    // Still rolling out but one pod serves: it is up.
    if (available >= 1) return { phase: "running", reason: "running (updating)" };
    return { phase: "starting", reason: "starting" };
  })();
  const specHash = deployment.metadata?.annotations?.[SPEC_HASH_ANNOTATION] ?? null;
  return { ...base, ...verdict, replicas, specHash, ...(secretMissing ? { secretMissing } : {}) };
}

/** Event reasons Kubernetes uses -> plain words; other messages pass through. */
const EVENT_WORDS: Array<[RegExp, string]> = [
  [/^(ErrImagePull|ImagePullBackOff|InspectFailed)$/, "image could not be pulled"],
  [/^BackOff$/, "crash looping"],
  [/^(FailedBinding|ProvisioningFailed|FailedAttachVolume|FailedMount)$/, "volume pending"],
  [/^Unhealthy$/, "health check failed"],
  [/^OOMKilling$/, "out of memory"],
];

export function toClusterEvent(event: CoreV1Event): ClusterEvent {
  const when =
    event.lastTimestamp ??
    event.eventTime ??
    event.firstTimestamp ??
    event.metadata?.creationTimestamp;
  const reason = event.reason ?? "";
  let message = event.message ?? "";
  if (reason === "Failed" && /pull/i.test(message)) message = "image could not be pulled";
  else if (reason === "FailedCreate" && /exceeded quota/i.test(message)) message = "quota exceeded";
  else {
    for (const [pattern, words] of EVENT_WORDS) if (pattern.test(reason)) message = words;
  }
  return {
    at: when ? new Date(when).toISOString() : new Date(0).toISOString(),
    type: event.type === "Warning" ? "Warning" : "Normal",
    reason,
    message,
    object: `${event.involvedObject?.kind ?? "Object"}/${event.involvedObject?.name ?? ""}`,
  };
}
