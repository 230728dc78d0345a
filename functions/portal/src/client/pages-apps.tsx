/** @jsxRuntime automatic @jsxImportSource hono/jsx/dom */
import { useEffect, useRef, useState } from "hono/jsx/dom";
import { api, authorization, session } from "./api";
import type { paths } from "./api-types";
import { usePolled } from "./live";
import type { PageProps } from "./main";
import { Backups } from "./pages-backups";
import { Domains } from "./pages-domains";
import { explain } from "./problems";
import { navigate } from "./router";
import {
  Alert,
  ConfirmButton,
  Field,
  Form,
  formatDate,
  formatMoney,
  outcomeOf,
  Show,
  StatusBadge,
  text,
  useLoad,
} from "./ui";

type Json<P extends keyof paths, M extends "get"> = paths[P][M] extends {
  responses: { 200: { content: { "application/json": infer T } } };
}
  ? T
  : never;
type InstanceList = Json<"/api/v1/instances", "get">;
type Instance = Json<"/api/v1/instances/{id}", "get">;

function Catalog() {
  const [services] = useLoad(() => api.GET("/api/v1/services"));
  return (
    <>
      <h1>Apps</h1>
      <p>Open-source apps, run for you, each at an address of its own.</p>
      <Show value={services}>
        {(list) =>
          list.items.length === 0 ? (
            <p>No apps are for sale yet.</p>
          ) : (
            <ul class="cards">
              {list.items.map((s) => (
                <li class="card">
                  <h2>
                    <a href={`/apps/${s.slug}`}>{s.name}</a>
                  </h2>
                  <p>{s.description}</p>
                  <p class="price">{formatMoney(s.price.amountMinor, s.price.currency)} / month</p>
                </li>
              ))}
            </ul>
          )
        }
      </Show>
    </>
  );
}

function useService(slug: string) {
  return useLoad(() => api.GET("/api/v1/services/{slug}", { params: { path: { slug } } }), [slug]);
}

function AppPage(props: PageProps) {
  const [service] = useService(props.params.slug ?? "");
  return (
    <Show value={service}>
      {(s) => (
        <>
          <h1>{s.name}</h1>
          <p>{s.description}</p>
          <dl class="facts">
            <dt>Price</dt>
            <dd>{formatMoney(s.price.amountMinor, s.price.currency)} per month</dd>
            <dt>Resources</dt>
            <dd>
              {s.resources.cpu} CPU, {s.resources.memory} memory
              {s.resources.storage ? `, ${s.resources.storage} storage` : ""}
            </dd>
            <dt>Version</dt>
            <dd>{s.imageTag}</dd>
          </dl>
          <p>
            <a class="button" href={`/apps/${s.slug}/subscribe`}>
              Subscribe to {s.name}
            </a>
          </p>
        </>
      )}
    </Show>
  );
}

function Subscribe(props: PageProps) {
  const [service] = useService(props.params.slug ?? "");
  // One key per attempt: a retried submit after a lost answer (or one still being processed)
  // is not charged twice. A definite answer ends the attempt: after a decline, the next
  // submit (another payment method, another body) is a new attempt with a new key.
  const key = useRef(crypto.randomUUID());
  // From an instance's Backups section: the new instance is created with that backup's data.
  const restoreFrom = props.query.get("restoreFrom") ?? undefined;
  return (
    <Show value={service}>
      {(s) => (
        <>
          <h1>Subscribe to {s.name}</h1>
          {restoreFrom ? (
            <p>
              The new instance starts with the data of the backup you chose, not empty. Its restore
              shows on the new instance's page.
            </p>
          ) : null}
          <p>
            You pay {formatMoney(s.price.amountMinor, s.price.currency)} now for the first month. At
            the end of each month the subscription renews and charges the same payment method,
            unless you turn renewal off or cancel; cancelling keeps the app until the paid month
            ends.
          </p>
          <Form
            label={`Pay ${formatMoney(s.price.amountMinor, s.price.currency)} and subscribe`}
            action={async (form) => {
              const { data, error, response } = await api.POST("/api/v1/subscriptions", {
                headers: { "idempotency-key": key.current },
                body: {
                  serviceSlug: s.slug,
                  paymentMethod: text(form, "paymentMethod") || undefined,
                  autoRenew: form.get("autoRenew") === "on",
                  restoreFromBackupId: restoreFrom,
                },
              });
              if (!data) {
                const pending =
                  response.status >= 500 ||
                  (error as { code?: string } | undefined)?.code === "IDEMPOTENCY_IN_PROGRESS";
                if (!pending) key.current = crypto.randomUUID();
                return explain(error, response);
              }
              navigate(data.instance ? `/instances/${data.instance.id}` : "/dashboard");
              return undefined;
            }}
          >
            <Field
              label="Payment method"
              name="paymentMethod"
              autocomplete="off"
              value="pm_sandbox_ok"
              hint="The payment method token from your payment provider."
            />
            <p class="field check">
              <input id="f-autoRenew" name="autoRenew" type="checkbox" checked />
              <label for="f-autoRenew">Renew automatically every month</label>
            </p>
          </Form>
        </>
      )}
    </Show>
  );
}

function Dashboard(props: PageProps) {
  const live = usePolled<InstanceList>("/api/v1/instances", 3000, authorization);
  const instances = live.data?.items.filter((i) => i.status !== "DELETED");
  return (
    <>
      <h1>Your apps</h1>
      {props.query.get("welcome") && session.user && !session.user.emailVerified ? (
        <Alert
          kind="ok"
          message={`Welcome! We sent a confirmation link to ${session.user.email}.`}
        />
      ) : null}
      <Alert message={live.error} />
      {!instances ? (
        <p class="muted" role="status">
          Loading…
        </p>
      ) : instances.length === 0 ? (
        <p>
          No apps yet. <a href="/">Choose one from the catalog</a>.
        </p>
      ) : (
        <ul class="cards">
          {instances.map((i) => (
            <li class="card">
              <h2>
                <a href={`/instances/${i.id}`}>{i.service.name}</a>
              </h2>
              <p>
                <StatusBadge status={i.status} />
              </p>
              <p class="url">{i.url ?? "Address not assigned yet"}</p>
            </li>
          ))}
        </ul>
      )}
    </>
  );
}

/** The last lines; loaded again when the status changes (a restarted app logs anew). */
function Logs(props: { id: string; status: string }) {
  const [logs, reload] = useLoad(
    () =>
      api.GET("/api/v1/instances/{id}/logs", {
        params: { path: { id: props.id }, query: { tail: "200" } },
      }),
    [props.id, props.status],
  );
  return (
    <section aria-labelledby="logs-h">
      <h2 id="logs-h">Logs</h2>
      <button type="button" onClick={reload}>
        Refresh logs
      </button>
      {/* A box of fixed height: new lines (a restart, a refresh) move nothing below it. */}
      <div class="logs-box">
        <Show value={logs}>
          {(l) =>
            l.lines.length === 0 ? (
              <p>No log lines yet.</p>
            ) : (
              <pre class="logs" tabindex={0}>
                {l.lines.join("\n")}
              </pre>
            )
          }
        </Show>
      </div>
    </section>
  );
}

/**
 * Oldest first, in a box of fixed height scrolled to the newest step: a new
 * step moves nothing on the page (the sections below stay put).
 */
function Timeline(props: { steps: Instance["timeline"] }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (box.current) box.current.scrollTop = box.current.scrollHeight;
  }, [props.steps.length]);
  return (
    <div class="timeline-box" ref={box} tabindex={0}>
      <ol class="timeline">
        {props.steps.map((t) => (
          <li>
            <StatusBadge status={t.status} /> {formatDate(t.at)}
            {t.message ? <span class="muted"> — {t.message}</span> : null}
          </li>
        ))}
      </ol>
    </div>
  );
}

function InstancePage(props: PageProps) {
  const id = props.params.id ?? "";
  const live = usePolled<Instance>(`/api/v1/instances/${id}`, 2000, authorization);
  const [message, setMessage] = useState<{ text: string; ok: boolean } | undefined>();
  const i = live.data;
  if (!i)
    return (
      <>
        <h1>Instance</h1>
        {live.error ? (
          <Alert message={live.error} />
        ) : (
          <p class="muted" role="status">
            Loading…
          </p>
        )}
      </>
    );
  const restart = async () => {
    const { error, response } = await api.POST("/api/v1/instances/{id}/restart", {
      params: { path: { id } },
    });
    setMessage(outcomeOf(response, error, "Restarting: the status updates here."));
  };
  return (
    <>
      <h1>{i.service.name}</h1>
      <p class="status-line">
        Status: <StatusBadge status={i.status} />
        <span class="muted"> since {formatDate(i.statusChangedAt)}</span>
      </p>
      {/* Always there, with room for two lines: a problem appearing or clearing as the
          status changes moves nothing below it (and is announced). */}
      <p class="status-problem" role="status" title={i.lastError ?? undefined}>
        {i.lastError ? `Last problem: ${i.lastError}` : ""}
      </p>
      <p>
        Address:{" "}
        {i.url ? (
          <a href={i.url} rel="noreferrer noopener" target="_blank">
            {i.url}
          </a>
        ) : (
          <span class="muted">assigned once it is placed</span>
        )}
      </p>
      <Alert message={message?.text} kind={message?.ok ? "ok" : "error"} />
      <div class="actions">
        <ConfirmButton
          label="Restart"
          question={`Restart ${i.service.name}?`}
          confirm="Restart now"
          onConfirm={restart}
        >
          <p>
            The app stops and starts again: it is unreachable for a few seconds. Its data is kept.
          </p>
        </ConfirmButton>
        <a class="button secondary" href={`/instances/${id}/credentials`}>
          Credentials
        </a>
        <a class="button secondary" href={`/subscriptions/${i.subscriptionId}`}>
          Subscription and cancel
        </a>
      </div>
      <section aria-labelledby="timeline-h">
        <h2 id="timeline-h">Timeline</h2>
        <Timeline steps={i.timeline} />
      </section>
      <Backups id={id} status={i.status} serviceId={i.service.id} serviceSlug={i.service.slug} />
      <Logs id={id} status={i.status} />
      {i.status === "DELETING" || i.status === "DELETED" ? null : <Domains id={id} />}
    </>
  );
}

function SubscriptionPage(props: PageProps) {
  const id = props.params.id ?? "";
  const [sub, reload] = useLoad(
    () => api.GET("/api/v1/subscriptions/{id}", { params: { path: { id } } }),
    [id],
  );
  return (
    <Show value={sub}>
      {(s) => (
        <>
          <h1>{s.service.name} subscription</h1>
          <dl class="facts">
            <dt>Status</dt>
            <dd>
              <StatusBadge status={s.status} />
              {s.cancelAtPeriodEnd ? " (ends at the end of this period)" : ""}
            </dd>
            <dt>Current period</dt>
            <dd>
              {formatDate(s.currentPeriodStart)} – {formatDate(s.currentPeriodEnd)}
            </dd>
            <dt>Renews automatically</dt>
            <dd>{s.autoRenew ? "Yes" : "No"}</dd>
            <dt>Instance</dt>
            <dd>
              {s.instance ? <a href={`/instances/${s.instance.id}`}>Open the instance</a> : "None"}
            </dd>
            <dt>Latest invoice</dt>
            <dd>
              {s.latestInvoice ? (
                <a href={`/invoices/${s.latestInvoice.id}`}>{s.latestInvoice.number}</a>
              ) : (
                "None"
              )}
            </dd>
          </dl>
          {s.cancelAtPeriodEnd ? (
            <Form
              label="Keep my subscription"
              action={async () => {
                const { error, response } = await api.POST(
                  "/api/v1/subscriptions/{id}/cancel/undo",
                  {
                    params: { path: { id } },
                  },
                );
                if (!response.ok) return explain(error, response);
                reload();
                return undefined;
              }}
            />
          ) : null}
          {s.status === "PAST_DUE" || s.status === "EXPIRED" ? (
            <Form
              label="Renew now"
              action={async () => {
                const { error, response } = await api.POST("/api/v1/subscriptions/{id}/renew", {
                  params: { path: { id } },
                  headers: { "idempotency-key": crypto.randomUUID() },
                  body: {},
                });
                if (!response.ok) return explain(error, response);
                reload();
                return undefined;
              }}
            />
          ) : null}
          {s.status === "ACTIVE" || s.status === "PAST_DUE" ? (
            <section aria-labelledby="cancel-h">
              <h2 id="cancel-h">Cancel</h2>
              <Form
                label="Cancel subscription"
                kind="danger"
                action={async (form) => {
                  const immediately = form.get("when") === "now";
                  const { error, response } = await api.POST("/api/v1/subscriptions/{id}/cancel", {
                    params: { path: { id } },
                    body: { immediately },
                  });
                  if (!response.ok) return explain(error, response);
                  reload();
                  return undefined;
                }}
              >
                <fieldset>
                  <legend>When should it end?</legend>
                  <p class="check">
                    <input type="radio" id="when-end" name="when" value="end" checked />
                    <label for="when-end">
                      At the end of the paid period ({formatDate(s.currentPeriodEnd)})
                    </label>
                  </p>
                  <p class="check">
                    <input type="radio" id="when-now" name="when" value="now" />
                    <label for="when-now">Now: the app and its data are deleted</label>
                  </p>
                </fieldset>
              </Form>
            </section>
          ) : null}
        </>
      )}
    </Show>
  );
}

/** The app's own credentials (owner only; the API answers them with no-store), and their rotation. */
function CredentialsPage(props: PageProps) {
  const id = props.params.id ?? "";
  const [creds, reload] = useLoad(
    () => api.GET("/api/v1/instances/{id}/credentials", { params: { path: { id } } }),
    [id],
  );
  const [message, setMessage] = useState<{ text: string; ok: boolean } | undefined>();
  const rotate = async (name: string) => {
    const { error, response } = await api.POST("/api/v1/instances/{id}/credentials/rotate", {
      params: { path: { id } },
      body: { name },
    });
    setMessage(
      outcomeOf(
        response,
        error,
        "Replaced: the old value stops working once the app has restarted.",
      ),
    );
    if (response.ok) reload();
  };
  return (
    <Show value={creds}>
      {(c) => (
        <>
          <h1>Credentials</h1>
          <Alert message={message?.text} kind={message?.ok ? "ok" : "error"} />
          {c.credentials.length === 0 ? (
            <p class="muted">This app has no credentials of its own to hand out.</p>
          ) : (
            <dl class="facts">
              {c.credentials.map((k) => (
                <>
                  <dt>{k.label}</dt>
                  <dd>
                    {k.username ? <span>User {k.username}; </span> : null}
                    {k.value ? (
                      <code>{k.value}</code>
                    ) : (
                      <span class="muted">set when the instance is first provisioned</span>
                    )}
                    {k.url ? (
                      <span>
                        {" "}
                        at{" "}
                        <a href={k.url} rel="noreferrer noopener" target="_blank">
                          {k.url}
                        </a>
                      </span>
                    ) : null}{" "}
                    <ConfirmButton
                      label={`Replace ${k.label}`}
                      question={`Replace the ${k.label}?`}
                      confirm="Replace it"
                      kind="secondary"
                      onConfirm={() => rotate(k.name)}
                    >
                      <p>
                        A new value is generated and the app restarts with it; the current one stops
                        working.
                      </p>
                    </ConfirmButton>
                  </dd>
                </>
              ))}
            </dl>
          )}
          <p>
            <a href={`/instances/${id}`}>Back to the instance</a>
          </p>
        </>
      )}
    </Show>
  );
}

export const appPages = {
  catalog: Catalog,
  app: AppPage,
  subscribe: Subscribe,
  dashboard: Dashboard,
  instance: InstancePage,
  credentials: CredentialsPage,
  subscription: SubscriptionPage,
};
