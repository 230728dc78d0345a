import { describe, expect, it } from "vitest";
import { defaultClusterConfig } from "../src/config";
import { describeSnapshot } from "../src/kubernetes";
import { pvcManifest } from "../src/manifests";
import { volumeName } from "../src/names";

const ref = {
  customerId: "00000000-0000-4000-8000-000000000001",
  instanceId: "00000000-0000-4000-8000-000000000002",
};
const app = {
  slug: "gitea",
  image: "gitea/gitea",
  imageTag: "1.22",
  port: 3000,
  resources: { cpu: "250m", memory: "256Mi", storage: "5Gi", storageMountPath: "/data" },
};

describe("a VolumeSnapshot's status in plain words", () => {
  it("is missing, pending, ready with its restoreSize, or failed with the driver's message", () => {
    expect(describeSnapshot("b-1", null)).toMatchObject({ phase: "missing", sizeBytes: null });
    expect(describeSnapshot("b-1", { status: {} })).toMatchObject({
      phase: "pending",
      reason: "being taken",
    });
    expect(describeSnapshot("b-1", { status: { readyToUse: true, restoreSize: "5Gi" } })).toEqual({
      name: "b-1",
      phase: "ready",
      sizeBytes: 5 * 2 ** 30,
      reason: "ready",
    });
    expect(
      describeSnapshot("b-1", { status: { readyToUse: true, restoreSize: "1073741824" } })
        .sizeBytes,
    ).toBe(2 ** 30);
    expect(
      describeSnapshot("b-1", {
        status: { readyToUse: false, error: { message: "volume is busy" } },
      }),
    ).toMatchObject({ phase: "failed", reason: "volume is busy" });
  });
});

describe("volume generations", () => {
  it("names generation 0 like the instance and later ones with a suffix", () => {
    expect(volumeName(ref.instanceId)).toBe(`i-${ref.instanceId}`);
    expect(volumeName(ref.instanceId, 2)).toBe(`i-${ref.instanceId}-g2`);
  });

  it("creates a restored claim from the snapshot (dataSource), a fresh one empty", () => {
    const fresh = pvcManifest(defaultClusterConfig, { ...ref, app });
    expect(fresh?.metadata?.name).toBe(`i-${ref.instanceId}`);
    expect(fresh?.spec?.dataSource).toBeUndefined();
    const restored = pvcManifest(defaultClusterConfig, {
      ...ref,
      app,
      volume: { generation: 1, dataSource: "b-42" },
    });
    expect(restored?.metadata?.name).toBe(`i-${ref.instanceId}-g1`);
    expect(restored?.spec?.dataSource).toEqual({
      apiGroup: "snapshot.storage.k8s.io",
      kind: "VolumeSnapshot",
      name: "b-42",
    });
  });
});
