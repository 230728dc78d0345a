/** @jsxRuntime automatic @jsxImportSource hono/jsx/dom */
import { useState } from "hono/jsx/dom";
import { api, session, signedIn, signOut } from "./api";
import type { PageProps } from "./main";
import { explain } from "./problems";
import { navigate } from "./router";
import {
  Alert,
  Field,
  Form,
  formatDate,
  formatMoney,
  Show,
  StatusBadge,
  text,
  useLoad,
} from "./ui";

function Invoices() {
  const [invoices] = useLoad(() => api.GET("/api/v1/invoices"));
  return (
    <>
      <h1>Invoices</h1>
      <Show value={invoices}>
        {(list) =>
          list.items.length === 0 ? (
            <p>No invoices yet.</p>
          ) : (
            <div class="table-wrap">
              <table>
                <caption class="sr-only">Your invoices, newest first</caption>
                <thead>
                  <tr>
                    <th scope="col">Number</th>
                    <th scope="col">Date</th>
                    <th scope="col">Amount</th>
                    <th scope="col">Status</th>
                  </tr>
                </thead>
                <tbody>
                  {list.items.map((i) => (
                    <tr>
                      <td>
                        <a href={`/invoices/${i.id}`}>{i.number}</a>
                      </td>
                      <td>{formatDate(i.createdAt)}</td>
                      <td>{formatMoney(i.amountMinor, i.currency)}</td>
                      <td>
                        <StatusBadge status={i.status} />
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )
        }
      </Show>
    </>
  );
}

function Invoice(props: PageProps) {
  const id = props.params.id ?? "";
  const [invoice] = useLoad(
    () => api.GET("/api/v1/invoices/{id}", { params: { path: { id } } }),
    [id],
  );
  return (
    <Show value={invoice}>
      {(i) => (
        <article class="invoice">
          <h1>Invoice {i.number}</h1>
          <dl class="facts">
            <dt>Billed to</dt>
            <dd>{session.user ? `${session.user.name} <${session.user.email}>` : ""}</dd>
            <dt>Date</dt>
            <dd>{formatDate(i.createdAt)}</dd>
            <dt>Status</dt>
            <dd>
              <StatusBadge status={i.status} />
              {i.paidAt ? ` on ${formatDate(i.paidAt)}` : ""}
            </dd>
            <dt>Period</dt>
            <dd>
              {formatDate(i.periodStart)} – {formatDate(i.periodEnd)}
            </dd>
          </dl>
          <div class="table-wrap">
            <table>
              <caption class="sr-only">Invoice lines</caption>
              <thead>
                <tr>
                  <th scope="col">Description</th>
                  <th scope="col">Amount</th>
                </tr>
              </thead>
              <tbody>
                <tr>
                  <td>{i.description}</td>
                  <td>{formatMoney(i.amountMinor, i.currency)}</td>
                </tr>
              </tbody>
              <tfoot>
                <tr>
                  <th scope="row">Total</th>
                  <td>{formatMoney(i.amountMinor, i.currency)}</td>
                </tr>
              </tfoot>
            </table>
          </div>
          <p class="no-print">
            <button type="button" onClick={() => window.print()}>
              Print
            </button>{" "}
            <a href="/invoices">All invoices</a>
          </p>
        </article>
      )}
    </Show>
  );
}

function Account() {
  const [me, reloadMe] = useLoad(() => api.GET("/api/v1/auth/me"));
  const [trail] = useLoad(() => api.GET("/api/v1/audit", { params: { query: { limit: 20 } } }));
  const [saved, setSaved] = useState<string | undefined>();
  return (
    <>
      <h1>Account</h1>
      <Alert message={saved} kind="ok" />
      <Show value={me}>
        {(u) => (
          <section aria-labelledby="profile-h">
            <h2 id="profile-h">Profile</h2>
            <p>
              {u.email} {u.emailVerified ? "(confirmed)" : "(not confirmed yet)"}
            </p>
            {u.emailVerified ? null : (
              <Form
                label="Send the confirmation email again"
                action={async () => {
                  const { error, response } = await api.POST("/api/v1/auth/email/resend");
                  if (!response.ok) return explain(error, response);
                  setSaved("Confirmation email sent.");
                  return undefined;
                }}
              />
            )}
            <Form
              label="Save profile"
              action={async (form) => {
                const { error, response } = await api.PATCH("/api/v1/auth/me", {
                  body: { name: text(form, "name") },
                });
                if (!response.ok) return explain(error, response);
                setSaved("Profile saved.");
                reloadMe();
                return undefined;
              }}
            >
              <Field label="Name" name="name" autocomplete="name" value={u.name} />
            </Form>
          </section>
        )}
      </Show>
      <section aria-labelledby="password-h">
        <h2 id="password-h">Password</h2>
        <Form
          label="Change password"
          action={async (form) => {
            const { data, error, response } = await api.POST("/api/v1/auth/password/change", {
              body: {
                currentPassword: text(form, "currentPassword"),
                newPassword: text(form, "newPassword"),
              },
            });
            if (!data) return explain(error, response);
            signedIn(data);
            setSaved("Password changed. Your other sessions were signed out.");
            return undefined;
          }}
        >
          <Field
            label="Current password"
            name="currentPassword"
            type="password"
            autocomplete="current-password"
          />
          <Field
            label="New password"
            name="newPassword"
            type="password"
            autocomplete="new-password"
            minlength={10}
          />
        </Form>
      </section>
      <section aria-labelledby="sessions-h">
        <h2 id="sessions-h">Sessions</h2>
        <Form
          label="Sign out everywhere"
          kind="danger"
          action={async () => {
            await signOut(true);
            navigate("/signin");
            return undefined;
          }}
        />
      </section>
      <section aria-labelledby="audit-h">
        <h2 id="audit-h">Recent activity</h2>
        <Show value={trail}>
          {(list) =>
            list.items.length === 0 ? (
              <p>No activity yet.</p>
            ) : (
              <ul class="plain">
                {list.items.map((e) => (
                  <li>
                    {formatDate(e.createdAt)} — {e.action}
                    {e.ip ? <span class="muted"> from {e.ip}</span> : null}
                  </li>
                ))}
              </ul>
            )
          }
        </Show>
      </section>
    </>
  );
}

const EVENTS = [
  "subscription.activated",
  "subscription.renewed",
  "subscription.cancelled",
  "subscription.expired",
  "invoice.paid",
  "instance.running",
  "instance.failed",
] as const;

function Secret(props: { secret: string | undefined }) {
  if (!props.secret) return null;
  return (
    <div class="alert ok" role="status">
      <p>Signing secret (shown once, keep it safe):</p>
      <code class="secret">{props.secret}</code>
    </div>
  );
}

function Webhooks() {
  const [endpoints, reload] = useLoad(() => api.GET("/api/v1/webhooks"));
  const [secret, setSecret] = useState<string | undefined>();
  return (
    <>
      <h1>Webhooks</h1>
      <p>We send a signed POST to your endpoints when something happens to your apps.</p>
      <Secret secret={secret} />
      <Show value={endpoints}>
        {(list) =>
          list.items.length === 0 ? (
            <p>No endpoints yet.</p>
          ) : (
            <ul class="cards">
              {list.items.map((e) => (
                <li class="card">
                  <h2>
                    <a href={`/webhooks/${e.id}`}>{e.url}</a>
                  </h2>
                  <p>{e.enabled ? "Enabled" : `Disabled: ${e.disabledReason ?? ""}`}</p>
                </li>
              ))}
            </ul>
          )
        }
      </Show>
      <section aria-labelledby="new-h">
        <h2 id="new-h">Add an endpoint</h2>
        <Form
          label="Add endpoint"
          action={async (form) => {
            const events = form.getAll("events").map(String) as (typeof EVENTS)[number][];
            const { data, error, response } = await api.POST("/api/v1/webhooks", {
              body: { url: text(form, "url"), events },
            });
            if (!data) return explain(error, response);
            setSecret(data.secret);
            reload();
            return undefined;
          }}
        >
          <Field label="Endpoint URL (https)" name="url" type="url" autocomplete="url" />
          <fieldset>
            <legend>Events</legend>
            {EVENTS.map((name) => (
              <p class="check">
                <input type="checkbox" id={`ev-${name}`} name="events" value={name} />
                <label for={`ev-${name}`}>{name}</label>
              </p>
            ))}
          </fieldset>
        </Form>
      </section>
    </>
  );
}

function Webhook(props: PageProps) {
  const id = props.params.id ?? "";
  const [endpoint] = useLoad(
    () => api.GET("/api/v1/webhooks/{id}", { params: { path: { id } } }),
    [id],
  );
  const [deliveries, reload] = useLoad(
    () => api.GET("/api/v1/webhooks/{id}/deliveries", { params: { path: { id } } }),
    [id],
  );
  const [secret, setSecret] = useState<string | undefined>();
  const [message, setMessage] = useState<{ text: string; ok: boolean } | undefined>();
  return (
    <Show value={endpoint}>
      {(e) => (
        <>
          <h1>Webhook endpoint</h1>
          <p class="url">{e.url}</p>
          <p>Events: {e.events.join(", ")}</p>
          <Secret secret={secret} />
          <Alert message={message?.text} kind={message?.ok ? "ok" : "error"} />
          <Form
            label="Rotate signing secret"
            action={async () => {
              const { data, error, response } = await api.POST(
                "/api/v1/webhooks/{id}/rotate-secret",
                {
                  params: { path: { id } },
                },
              );
              if (!data) return explain(error, response);
              setSecret(data.secret);
              return undefined;
            }}
          />
          <section aria-labelledby="deliveries-h">
            <h2 id="deliveries-h">Deliveries</h2>
            <Form
              label="Send a test event"
              action={async () => {
                const { error, response } = await api.POST("/api/v1/webhooks/{id}/test", {
                  params: { path: { id } },
                });
                if (!response.ok) return explain(error, response);
                reload();
                return undefined;
              }}
            />
            <Show value={deliveries}>
              {(list) =>
                list.items.length === 0 ? (
                  <p>No deliveries yet.</p>
                ) : (
                  <ul class="plain">
                    {list.items.map((d) => (
                      <li>
                        {formatDate(d.createdAt)} {d.eventType} <StatusBadge status={d.status} />{" "}
                        {d.lastStatusCode ? `HTTP ${d.lastStatusCode}` : ""}{" "}
                        <button
                          type="button"
                          onClick={async () => {
                            const { error, response } = await api.POST(
                              "/api/v1/webhooks/{id}/deliveries/{deliveryId}/redeliver",
                              { params: { path: { id, deliveryId: d.id } } },
                            );
                            setMessage(
                              response.ok
                                ? { text: `${d.eventType} sent again.`, ok: true }
                                : { text: explain(error, response), ok: false },
                            );
                            reload();
                          }}
                        >
                          Redeliver
                        </button>
                      </li>
                    ))}
                  </ul>
                )
              }
            </Show>
          </section>
        </>
      )}
    </Show>
  );
}

export const accountPages = {
  invoices: Invoices,
  invoice: Invoice,
  account: Account,
  webhooks: Webhooks,
  webhook: Webhook,
};
