import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  ApiextensionsV1Api,
  CustomObjectsApi,
  type KubeConfig,
  type KubernetesObject,
  KubernetesObjectApi,
  PatchStrategy,
  setHeaderOptions,
} from "@kubernetes/client-node";
import { parseAllDocuments } from "yaml";
import { waitFor } from "./wait";

const repo = fileURLToPath(new URL("../../../../", import.meta.url));
const GROUP = { group: "snapshot.storage.k8s.io", version: "v1" };
/** The lab's StorageClass kwok-volume provisions with this driver (KWOK binds its claims). */
export const LAB_VOLUME_DRIVER = "kwok.x-k8s.io/volume";
/** The VolumeSnapshotClass `installSnapshotApi` creates for it. */
export const LAB_SNAPSHOT_CLASS = "minispod-lab-snapshots";

interface Snapshot {
  metadata: { name: string; namespace: string; uid: string };
  spec: { volumeSnapshotClassName?: string };
  status?: { readyToUse?: boolean };
}

/**
 * Installs the CSI snapshot CRDs (scripts/deploy/snapshot-crds.sh, from the Go
 * module proxy) into the lab, waits until they are established, and makes the
 * lab's kwok-volume snapshottable (a VolumeSnapshotClass with its driver);
 * also a StorageClass "local-path" like K3s's, which nothing can snapshot.
 */
export async function installSnapshotApi(kc: KubeConfig): Promise<void> {
  const dir = execFileSync(join(repo, "scripts", "deploy", "snapshot-crds.sh"), {
    encoding: "utf8",
  }).trim();
  const client = KubernetesObjectApi.makeApiClient(kc);
  const apply = (object: KubernetesObject) =>
    client.patch(
      object,
      undefined,
      undefined,
      "minispod-test",
      true,
      PatchStrategy.ServerSideApply,
    );
  for (const file of readdirSync(dir).filter((f) => f.endsWith(".yaml"))) {
    for (const doc of parseAllDocuments(readFileSync(join(dir, file), "utf8"))) {
      const object = doc.toJS() as KubernetesObject;
      if (object?.kind) await apply(object);
    }
  }
  const ext = kc.makeApiClient(ApiextensionsV1Api);
  for (const name of ["volumesnapshots", "volumesnapshotcontents", "volumesnapshotclasses"]) {
    await waitFor(`CRD ${name} established`, async () => {
      const crd = await ext.readCustomResourceDefinition({
        name: `${name}.snapshot.storage.k8s.io`,
      });
      return crd.status?.conditions?.some((c) => c.type === "Established" && c.status === "True");
    });
  }
  const objects = [
    {
      apiVersion: "snapshot.storage.k8s.io/v1",
      kind: "VolumeSnapshotClass",
      metadata: { name: LAB_SNAPSHOT_CLASS },
      driver: LAB_VOLUME_DRIVER,
      deletionPolicy: "Delete",
    },
    {
      apiVersion: "storage.k8s.io/v1",
      kind: "StorageClass",
      metadata: { name: "local-path" },
      provisioner: "rancher.io/local-path",
      volumeBindingMode: "WaitForFirstConsumer",
    },
  ];
  // Established CRDs may still answer 404 for a moment: retry until stored.
  for (const object of objects) {
    await waitFor(`apply ${object.kind}`, async () => Boolean(await apply(object)));
  }
}

/**
 * Plays the CSI snapshotter (nothing in the lab takes snapshots): for every
 * VolumeSnapshot not ready, creates its VolumeSnapshotContent and marks it
 * readyToUse with a restoreSize of 1Gi. Returns a function that stops it.
 */
export function startSnapshotController(kc: KubeConfig): () => Promise<void> {
  const custom = kc.makeApiClient(CustomObjectsApi);
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const list = (await custom
        .listClusterCustomObject({ ...GROUP, plural: "volumesnapshots" })
        .catch(() => ({ items: [] }))) as { items: Snapshot[] };
      for (const snap of list.items) {
        if (snap.status?.readyToUse) continue;
        const content = `snapcontent-${snap.metadata.uid}`;
        await custom
          .createClusterCustomObject({
            ...GROUP,
            plural: "volumesnapshotcontents",
            body: {
              apiVersion: "snapshot.storage.k8s.io/v1",
              kind: "VolumeSnapshotContent",
              metadata: { name: content },
              spec: {
                deletionPolicy: "Delete",
                driver: LAB_VOLUME_DRIVER,
                source: { snapshotHandle: `lab-${snap.metadata.uid}` },
                volumeSnapshotClassName: snap.spec.volumeSnapshotClassName ?? LAB_SNAPSHOT_CLASS,
                volumeSnapshotRef: {
                  name: snap.metadata.name,
                  namespace: snap.metadata.namespace,
                  uid: snap.metadata.uid,
                },
              },
            },
          })
          .catch(() => undefined);
        await custom
          .patchNamespacedCustomObjectStatus(
            {
              ...GROUP,
              namespace: snap.metadata.namespace,
              plural: "volumesnapshots",
              name: snap.metadata.name,
              body: {
                status: {
                  boundVolumeSnapshotContentName: content,
                  creationTime: new Date().toISOString(),
                  readyToUse: true,
                  restoreSize: "1Gi",
                },
              },
            },
            setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
          )
          .catch(() => undefined);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  })();
  return async () => {
    stopped = true;
    await loop;
  };
}
