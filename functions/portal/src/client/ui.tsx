/** @jsxRuntime automatic @jsxImportSource hono/jsx/dom */
import type { Child } from "hono/jsx";
import { useEffect, useState } from "hono/jsx/dom";
import { explain } from "./problems";

export const formatDate = (iso: string | null | undefined) =>
  iso ? new Date(iso).toLocaleString("en-GB", { dateStyle: "medium", timeStyle: "short" }) : "—";

export const formatMoney = (minor: number, currency: string) =>
  new Intl.NumberFormat("en", { style: "currency", currency }).format(minor / 100);

/** The result of an API call a page shows: loading, an error in plain words, or the data. */
export type Loaded<T> =
  | { state: "loading" }
  | { state: "error"; message: string }
  | { state: "ok"; data: T };

type Call<T> = () => Promise<{ data?: T; error?: unknown; response: Response }>;

/** Loads once (and again when `deps` change). */
export function useLoad<T>(call: Call<T>, deps: unknown[] = []): [Loaded<T>, () => void] {
  const [value, setValue] = useState<Loaded<T>>({ state: "loading" });
  const [round, setRound] = useState(0);
  useEffect(() => {
    let live = true;
    call().then(
      ({ data, error, response }) => {
        if (!live) return;
        setValue(
          data !== undefined
            ? { state: "ok", data }
            : { state: "error", message: explain(error, response) },
        );
      },
      () => live && setValue({ state: "error", message: explain(undefined) }),
    );
    return () => {
      live = false;
    };
  }, [...deps, round]);
  return [value, () => setRound((r) => r + 1)];
}

export function Show<T>(props: { value: Loaded<T>; children: (data: T) => Child }) {
  const { value } = props;
  if (value.state === "loading")
    return (
      <p class="muted" role="status">
        Loading…
      </p>
    );
  if (value.state === "error") return <Alert message={value.message} />;
  return <>{props.children(value.data)}</>;
}

export function Alert(props: { message: string | undefined; kind?: "error" | "ok" }) {
  if (!props.message) return <div class="alert-slot" aria-live="polite" />;
  return (
    <div class="alert-slot" aria-live="polite">
      <p
        class={props.kind === "ok" ? "alert ok" : "alert"}
        role={props.kind === "ok" ? "status" : "alert"}
      >
        {props.message}
      </p>
    </div>
  );
}

export function Field(props: {
  label: string;
  name: string;
  type?: string;
  autocomplete?: string;
  value?: string;
  hint?: string;
  required?: boolean;
  minlength?: number;
}) {
  const id = `f-${props.name}`;
  return (
    <p class="field">
      <label for={id}>{props.label}</label>
      <input
        id={id}
        name={props.name}
        type={props.type ?? "text"}
        autocomplete={props.autocomplete}
        value={props.value}
        required={props.required ?? true}
        minlength={props.minlength}
        aria-describedby={props.hint ? `${id}-hint` : undefined}
      />
      {props.hint ? (
        <small id={`${id}-hint`} class="muted">
          {props.hint}
        </small>
      ) : null}
    </p>
  );
}

/** A form whose submit runs `action` and shows its outcome; the button is disabled meanwhile. */
export function Form(props: {
  label: string;
  action: (form: FormData) => Promise<string | undefined>;
  children?: Child;
  kind?: "danger";
}) {
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<{ text: string; ok: boolean } | undefined>();
  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setMessage(undefined);
    try {
      const error = await props.action(new FormData(event.target as HTMLFormElement));
      setMessage(error ? { text: error, ok: false } : undefined);
    } catch {
      setMessage({ text: explain(undefined), ok: false });
    } finally {
      setBusy(false);
    }
  };
  return (
    <form onSubmit={submit} class="form">
      {props.children}
      <Alert message={message?.text} />
      <button type="submit" disabled={busy} class={props.kind === "danger" ? "danger" : undefined}>
        {busy ? "Working…" : props.label}
      </button>
    </form>
  );
}

export const text = (form: FormData, name: string) => String(form.get(name) ?? "");

export function StatusBadge(props: { status: string }) {
  return <span class={`badge s-${props.status.toLowerCase()}`}>{props.status}</span>;
}
