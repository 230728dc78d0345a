/** @jsxRuntime automatic @jsxImportSource hono/jsx/dom */
import { useState } from "hono/jsx/dom";
import { api } from "./api";
import { Alert, formatDate, outcomeOf, Show, useLoad } from "./ui";

/** "1.5 GiB", "320 MiB". */
const formatSize = (bytes: number | null) => {
  if (bytes === null) return "—";
  const units = ["bytes", "KiB", "MiB", "GiB", "TiB"];
  let n = bytes;
  let unit = 0;
  while (n >= 1024 && unit < units.length - 1) {
    n /= 1024;
    unit++;
  }
  return unit === 0 ? `${n} bytes` : `${n.toFixed(n < 10 ? 1 : 0)} ${units[unit]}`;
};

const words = (status: string) => status.toLowerCase().replace("_", " ");

/** How a backup came to be, in words (PRE_RESTORE: the data a restore replaced). */
const KIND_WORDS: Record<string, string> = {
  SCHEDULED: "scheduled",
  ON_DEMAND: "on demand",
  PRE_RESTORE: "before a restore",
};

/**
 * The instance page's Backups section: the list with size and state, back up
 * now, restore into this instance, into another instance of the same app, or
 * into a new one: the subscribe page with the backup, in one step (the new
 * instance starts with its data). Reloaded when the instance's status changes.
 */
export function Backups(props: {
  id: string;
  status: string;
  serviceId: string;
  serviceSlug: string;
}) {
  const { id } = props;
  const [list, reload] = useLoad(
    () => api.GET("/api/v1/instances/{id}/backups", { params: { path: { id }, query: {} } }),
    [id, props.status],
  );
  // Restores into this instance (also the one a subscription from a backup started).
  const [restores, reloadRestores] = useLoad(
    () => api.GET("/api/v1/instances/{id}/restores", { params: { path: { id }, query: {} } }),
    [id, props.status],
  );
  // Other instances of the same app the customer holds: targets for "restore into a new one".
  const [mine] = useLoad(() => api.GET("/api/v1/instances", { params: { query: {} } }), [id]);
  const [target, setTarget] = useState("");
  const [message, setMessage] = useState<{ text: string; ok: boolean } | undefined>();

  const backUp = async () => {
    const { error, response } = await api.POST("/api/v1/instances/{id}/backups", {
      params: { path: { id } },
    });
    setMessage(outcomeOf(response, error, "Backing up: the backup shows as ready in a moment."));
    if (response.ok) reload();
  };
  const restore = async (backupId: string, into?: string) => {
    const { error, response } = await api.POST(
      "/api/v1/instances/{id}/backups/{backupId}/restore",
      {
        params: { path: { id, backupId } },
        body: into ? { targetInstanceId: into } : {},
      },
    );
    setMessage(
      outcomeOf(
        response,
        error,
        into
          ? "Restoring into the other instance: it restarts with this backup's data."
          : "Restoring: the app stops, restarts on the backup's data, and keeps its current data until that worked.",
      ),
    );
    if (response.ok && !into) reloadRestores();
  };
  const remove = async (backupId: string) => {
    const { error, response } = await api.DELETE("/api/v1/instances/{id}/backups/{backupId}", {
      params: { path: { id, backupId } },
    });
    setMessage(outcomeOf(response, error, "Deleting the backup."));
    if (response.ok) reload();
  };

  const targets =
    mine.state === "ok"
      ? mine.data.items.filter(
          (i) => i.id !== id && i.service.id === props.serviceId && i.status !== "DELETED",
        )
      : [];

  return (
    <section aria-labelledby="backups-h">
      <h2 id="backups-h">Backups</h2>
      <Alert message={message?.text} kind={message?.ok ? "ok" : "error"} />
      <p class="actions">
        <button type="button" onClick={backUp}>
          Back up now
        </button>
        <button
          type="button"
          class="secondary"
          onClick={() => {
            reload();
            reloadRestores();
          }}
        >
          Refresh backups
        </button>
      </p>
      {targets.length > 0 ? (
        <p>
          <label for="restore-target">Restore into another instance of this app: </label>
          <select
            id="restore-target"
            value={target}
            onChange={(e: Event) => setTarget((e.target as HTMLSelectElement).value)}
          >
            <option value="">this instance</option>
            {targets.map((i) => (
              <option value={i.id}>
                {i.service.name} created {formatDate(i.createdAt)}
              </option>
            ))}
          </select>
        </p>
      ) : (
        <p class="muted">
          "Restore into a new instance" subscribes to this app again; the new instance starts with
          the backup's data.
        </p>
      )}
      <Show value={list}>
        {(page) =>
          page.items.length === 0 ? (
            <p>No backups yet.</p>
          ) : (
            <table>
              <caption class="muted">Newest first</caption>
              <thead>
                <tr>
                  <th scope="col">Taken</th>
                  <th scope="col">Kind</th>
                  <th scope="col">State</th>
                  <th scope="col">Size</th>
                  <th scope="col">Actions</th>
                </tr>
              </thead>
              <tbody>
                {page.items.map((b) => (
                  <tr>
                    <td>{formatDate(b.createdAt)}</td>
                    <td>{KIND_WORDS[b.kind]}</td>
                    <td>
                      {words(b.status)}
                      {b.error ? <span class="muted"> — {b.error}</span> : null}
                      {b.retainUntil ? (
                        <span class="muted"> (kept until {formatDate(b.retainUntil)})</span>
                      ) : null}
                    </td>
                    <td>{formatSize(b.sizeBytes)}</td>
                    <td>
                      {b.status === "READY" ? (
                        <>
                          <button
                            type="button"
                            class="secondary"
                            onClick={() => restore(b.id, target || undefined)}
                          >
                            Restore{target ? " into the other instance" : ""}
                          </button>{" "}
                          <a
                            class="button secondary"
                            href={`/apps/${props.serviceSlug}/subscribe?restoreFrom=${b.id}`}
                          >
                            Restore into a new instance
                          </a>{" "}
                          <button type="button" class="secondary" onClick={() => remove(b.id)}>
                            Delete
                          </button>
                        </>
                      ) : null}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )
        }
      </Show>
      {restores.state === "ok" && restores.data.items.length > 0 ? (
        <table>
          <caption class="muted">Restores into this instance, newest first</caption>
          <thead>
            <tr>
              <th scope="col">Asked</th>
              <th scope="col">State</th>
              <th scope="col">Finished</th>
            </tr>
          </thead>
          <tbody>
            {restores.data.items.map((r) => (
              <tr>
                <td>{formatDate(r.createdAt)}</td>
                <td>
                  {r.status === "DONE" ? "restored" : words(r.status)}
                  {r.error ? <span class="muted"> — {r.error}</span> : null}
                </td>
                <td>{r.finishedAt ? formatDate(r.finishedAt) : "—"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </section>
  );
}
