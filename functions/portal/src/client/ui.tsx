/** @jsxRuntime automatic @jsxImportSource hono/jsx/dom */
import type { Child } from "hono/jsx";
import { useEffect, useId, useRef, useState } from "hono/jsx/dom";
import { explain } from "./problems";

export const formatDate = (iso: string | null | undefined) =>
  iso ? new Date(iso).toLocaleString("en-GB", { dateStyle: "medium", timeStyle: "short" }) : "—";

/** The line a page shows after an action: `done` when the API agreed, else its problem in plain words. */
export const outcomeOf = (
  response: Response,
  error: unknown,
  done: string,
): { text: string; ok: boolean } =>
  response.ok ? { text: done, ok: true } : { text: explain(error, response), ok: false };

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

/**
 * A button that asks first, in a modal `<dialog>`: focus starts on "Cancel",
 * stays inside while it is open, Escape cancels, and focus returns to the
 * button once it closes (whichever way).
 *
 * @example
 * <ConfirmButton label="Restart" question="Restart Uptime Kuma?" confirm="Restart now" onConfirm={restart}>
 *   The app is unreachable for a few seconds.
 * </ConfirmButton>
 */
export function ConfirmButton(props: {
  label: string;
  question: string;
  confirm: string;
  onConfirm: () => Promise<void> | void;
  kind?: "danger" | "secondary";
  children?: Child;
}) {
  const dialog = useRef<HTMLDialogElement>(null);
  const opener = useRef<HTMLButtonElement>(null);
  const id = useId();
  const close = (confirmed: boolean) => {
    dialog.current?.close(confirmed ? "confirm" : "cancel");
  };
  return (
    <>
      <button
        type="button"
        ref={opener}
        class={props.kind}
        aria-haspopup="dialog"
        onClick={() => dialog.current?.showModal()}
      >
        {props.label}
      </button>
      <dialog
        ref={dialog}
        class="confirm"
        aria-labelledby={`${id}-q`}
        aria-describedby={`${id}-d`}
        onClose={() => {
          opener.current?.focus();
          if (dialog.current?.returnValue === "confirm") {
            dialog.current.returnValue = "";
            void props.onConfirm();
          }
        }}
      >
        <h2 id={`${id}-q`}>{props.question}</h2>
        <div id={`${id}-d`}>{props.children}</div>
        <p class="actions">
          <button type="button" class="secondary" autofocus onClick={() => close(false)}>
            Cancel
          </button>
          <button
            type="button"
            class={props.kind === "danger" ? "danger" : undefined}
            onClick={() => close(true)}
          >
            {props.confirm}
          </button>
        </p>
      </dialog>
    </>
  );
}
