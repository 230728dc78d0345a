import type { CoreV1Event, V1Deployment, V1Pod } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { describeInstance, secretIsMissing, toClusterEvent } from "../src/kubernetes/status";

const ref = { customerId: "c1", instanceId: "i1" };

const deployment = (
  over: { replicas?: number; status?: V1Deployment["status"]; generation?: number } = {},
) =>
  ({
    metadata: { name: "i-i1", generation: over.generation ?? 1 },
    spec: { replicas: over.replicas ?? 1, selector: {}, template: {} },
    status: { observedGeneration: 1, ...over.status },
  }) as V1Deployment;

const waitingPod = (reason: string, lastTerminated?: string, message?: string): V1Pod => ({
  status: {
    phase: "Pending",
    containerStatuses: [
      {
        name: "app",
        image: "x",
        imageID: "",
        ready: false,
        restartCount: 3,
        state: { waiting: { reason, ...(message ? { message } : {}) } },
        ...(lastTerminated
          ? { lastState: { terminated: { reason: lastTerminated, exitCode: 137 } } }
          : {}),
      },
    ],
  },
});

describe("status in plain words", () => {
  it("is missing without a Deployment and suspended at zero replicas", () => {
    expect(describeInstance(ref, null, [])).toMatchObject({
      phase: "missing",
      reason: "not found in the cluster",
    });
    expect(describeInstance(ref, deployment({ replicas: 0 }), [])).toMatchObject({
      phase: "suspended",
      reason: "suspended",
    });
  });

  it("is running once the wanted replicas are available and current", () => {
    const d = deployment({
      status: { availableReplicas: 1, updatedReplicas: 1, readyReplicas: 1, observedGeneration: 1 },
    });
    expect(describeInstance(ref, d, [])).toMatchObject({
      phase: "running",
      replicas: { desired: 1, ready: 1 },
    });
  });

  it("says starting until then", () => {
    expect(describeInstance(ref, deployment(), [{ status: { phase: "Pending" } }])).toMatchObject({
      phase: "starting",
      reason: "starting",
    });
  });

  it("names image pulls, crash loops and out-of-memory crashes", () => {
    expect(describeInstance(ref, deployment(), [waitingPod("ImagePullBackOff")]).reason).toBe(
      "image could not be pulled",
    );
    expect(describeInstance(ref, deployment(), [waitingPod("ErrImagePull")]).phase).toBe("failed");
    expect(describeInstance(ref, deployment(), [waitingPod("CrashLoopBackOff")]).reason).toBe(
      "crash looping",
    );
    expect(
      describeInstance(ref, deployment(), [waitingPod("CrashLoopBackOff", "OOMKilled")]).reason,
    ).toBe("crash looping: out of memory");
  });

  describe("a Secret deleted behind our back", () => {
    // The kubelet's words when envFrom names a Secret that does not exist.
    const missing = (name: string) =>
      waitingPod("CreateContainerConfigError", undefined, `secret "${name}" not found`);

    it("is told apart from other configuration errors by the pod's message naming our Secret", () => {
      const status = describeInstance(ref, deployment(), [missing("i-i1")]);
      expect(status).toMatchObject({
        phase: "failed",
        reason: "the app's Secret is missing",
        secretMissing: true,
      });
      expect(secretIsMissing(missing("i-i1"), "i-i1")).toBe(true);
    });

    it("is not claimed for another Secret, a missing key, or another waiting reason", () => {
      const other = describeInstance(ref, deployment(), [missing("someone-elses")]);
      expect(other).toMatchObject({
        phase: "failed",
        reason: "configuration could not be applied",
      });
      expect(other.secretMissing).toBeUndefined();
      const key = waitingPod(
        "CreateContainerConfigError",
        undefined,
        "couldn't find key ADMIN_TOKEN in Secret customer-c1/i-i1",
      );
      expect(describeInstance(ref, deployment(), [key]).secretMissing).toBeUndefined();
      const pulled = waitingPod("ErrImagePull", undefined, 'secret "i-i1" not found');
      expect(describeInstance(ref, deployment(), [pulled]).secretMissing).toBeUndefined();
      expect(describeInstance(ref, deployment(), []).secretMissing).toBeUndefined();
    });

    it("is reported even while an old pod still serves (a surge pod stuck on it), not when suspended", () => {
      const serving = deployment({
        status: {
          availableReplicas: 1,
          updatedReplicas: 1,
          readyReplicas: 1,
          observedGeneration: 1,
        },
      });
      expect(describeInstance(ref, serving, [missing("i-i1")])).toMatchObject({
        phase: "running",
        secretMissing: true,
      });
      expect(
        describeInstance(ref, deployment({ replicas: 0 }), [missing("i-i1")]).secretMissing,
      ).toBeUndefined();
    });
  });

  it("says volume pending when the pod waits for its claim", () => {
    const pod: V1Pod = {
      status: {
        phase: "Pending",
        conditions: [
          {
            type: "PodScheduled",
            status: "False",
            reason: "Unschedulable",
            message: "0/1 nodes are available: pod has unbound immediate PersistentVolumeClaims.",
          },
        ],
      },
    };
    expect(describeInstance(ref, deployment(), [pod])).toMatchObject({
      phase: "starting",
      reason: "volume pending",
    });
  });

  it("says quota exceeded when the ReplicaSet could not create the pod", () => {
    const d = deployment({
      status: {
        conditions: [
          {
            type: "ReplicaFailure",
            status: "True",
            reason: "FailedCreate",
            message:
              'pods "i-i1-abc" is forbidden: exceeded quota: plans, requested: limits.cpu=500m',
          },
        ],
      },
    });
    expect(describeInstance(ref, d, [])).toMatchObject({
      phase: "failed",
      reason: "quota exceeded",
    });
  });

  it("fails a rollout past its deadline", () => {
    const d = deployment({
      status: {
        conditions: [{ type: "Progressing", status: "False", reason: "ProgressDeadlineExceeded" }],
      },
    });
    expect(describeInstance(ref, d, [])).toMatchObject({
      phase: "failed",
      reason: "did not become ready in time",
    });
  });

  it("turns events into plain words, newest first", () => {
    const events: CoreV1Event[] = [
      {
        metadata: {},
        involvedObject: { kind: "Pod", name: "i-i1-x" },
        reason: "Failed",
        type: "Warning",
        message: 'Failed to pull image "nope:1": not found',
        lastTimestamp: new Date("2026-01-01T00:00:01Z"),
      },
      {
        metadata: {},
        involvedObject: { kind: "Pod", name: "i-i1-x" },
        reason: "BackOff",
        type: "Warning",
        message: "Back-off restarting failed container",
        lastTimestamp: new Date("2026-01-01T00:00:02Z"),
      },
    ];
    const status = describeInstance(ref, null, [], events);
    expect(status.events.map((e) => e.message)).toEqual([
      "crash looping",
      "image could not be pulled",
    ]);
    expect(toClusterEvent(events[0]!)).toMatchObject({ type: "Warning", object: "Pod/i-i1-x" });
  });
});
