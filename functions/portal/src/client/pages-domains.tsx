/** @jsxRuntime automatic @jsxImportSource hono/jsx/dom */
import { useState } from "hono/jsx/dom";
import { api } from "./api";
import { explain } from "./problems";
import { Alert, Field, Form, formatDate, outcomeOf, Show, StatusBadge, text, useLoad } from "./ui";

/** What each state means, for people. */
const MEANS: Record<string, string> = {
  PENDING_VERIFICATION: "Waiting for the TXT record",
  ISSUING: "Verified; the certificate is being issued",
  ACTIVE: "Serving your app",
  FAILED: "Not serving",
};

/**
 * The Domains section of the instance page: the instance's custom domains
 * with their state and reason, the DNS records to create, add, check now and remove.
 */
export function Domains(props: { id: string }) {
  const { id } = props;
  const [domains, reload] = useLoad(
    () => api.GET("/api/v1/instances/{id}/domains", { params: { path: { id } } }),
    [id],
  );
  const [message, setMessage] = useState<{ text: string; ok: boolean } | undefined>();
  const check = async (domainId: string, name: string) => {
    const { data, error, response } = await api.POST(
      "/api/v1/instances/{id}/domains/{domainId}/verify",
      { params: { path: { id, domainId } } },
    );
    setMessage(
      data
        ? {
            text: `${name}: ${MEANS[data.state] ?? data.state}${data.reason ? ` (${data.reason})` : ""}.`,
            ok: data.state !== "FAILED",
          }
        : { text: explain(error, response), ok: false },
    );
    reload();
  };
  const remove = async (domainId: string, name: string) => {
    const { error, response } = await api.DELETE("/api/v1/instances/{id}/domains/{domainId}", {
      params: { path: { id, domainId } },
    });
    setMessage(
      outcomeOf(response, error, `${name} removed: it stops serving your app in a moment.`),
    );
    reload();
  };
  return (
    <section aria-labelledby="domains-h" id="domains">
      <h2 id="domains-h">Domains</h2>
      <p class="muted">
        Serve this app at a name of your own. Create the two DNS records shown at your domain's
        provider, then press "Check now".
      </p>
      <Alert message={message?.text} kind={message?.ok ? "ok" : "error"} />
      <Show value={domains}>
        {(list) =>
          list.items.length === 0 ? (
            <p class="muted">No custom domain yet.</p>
          ) : (
            <ul class="domains">
              {list.items.map((d) => (
                <li>
                  <h3>{d.domain}</h3>
                  <p>
                    <StatusBadge status={d.state} /> {MEANS[d.state] ?? d.state}
                    {d.reason ? <span class="muted"> — {d.reason}</span> : null}
                  </p>
                  <div class="table-wrap">
                    <table>
                      <caption class="muted">DNS records for {d.domain}</caption>
                      <thead>
                        <tr>
                          <th scope="col">Type</th>
                          <th scope="col">Name</th>
                          <th scope="col">Value</th>
                        </tr>
                      </thead>
                      <tbody>
                        {d.dnsRecords.map((r) => (
                          <tr>
                            <td>{r.type}</td>
                            <td>
                              <code>{r.name}</code>
                            </td>
                            <td>
                              <code>{r.value}</code>
                            </td>
                          </tr>
                        ))}
                      </tbody>
                    </table>
                  </div>
                  <p class="muted">
                    Checked {formatDate(d.lastCheckedAt)}
                    {d.verifiedAt ? `; verified ${formatDate(d.verifiedAt)}` : ""}
                  </p>
                  <p class="actions">
                    <button type="button" onClick={() => check(d.id, d.domain)}>
                      Check now
                    </button>
                    <button type="button" class="danger" onClick={() => remove(d.id, d.domain)}>
                      Remove {d.domain}
                    </button>
                  </p>
                </li>
              ))}
            </ul>
          )
        }
      </Show>
      <Form
        label="Add domain"
        action={async (form) => {
          const { error, response } = await api.POST("/api/v1/instances/{id}/domains", {
            params: { path: { id } },
            headers: { "idempotency-key": crypto.randomUUID() },
            body: { domain: text(form, "domain") },
          });
          if (!response.ok) return explain(error, response);
          setMessage({ text: "Added: create its DNS records, then press Check now.", ok: true });
          reload();
          return undefined;
        }}
      >
        <Field label="Domain" name="domain" hint="For example shop.example.com" />
      </Form>
    </section>
  );
}
