/** @jsxRuntime automatic @jsxImportSource hono/jsx/dom */
import { useEffect, useState } from "hono/jsx/dom";
import { api, signedIn } from "./api";
import type { PageProps } from "./main";
import { explain } from "./problems";
import { navigate, safePath } from "./router";
import { Alert, Field, Form, text } from "./ui";

function SignUp() {
  return (
    <>
      <h1>Create an account</h1>
      <Form
        label="Create account"
        action={async (form) => {
          const { data, error, response } = await api.POST("/api/v1/auth/register", {
            body: {
              name: text(form, "name"),
              email: text(form, "email"),
              password: text(form, "password"),
            },
          });
          if (!data) return explain(error, response);
          signedIn(data);
          navigate("/dashboard?welcome=1");
          return undefined;
        }}
      >
        <Field label="Name" name="name" autocomplete="name" />
        <Field label="Email" name="email" type="email" autocomplete="email" />
        <Field
          label="Password"
          name="password"
          type="password"
          autocomplete="new-password"
          minlength={10}
          hint="At least 10 characters."
        />
      </Form>
      <p>
        Already have an account? <a href="/signin">Sign in</a>
      </p>
    </>
  );
}

function SignIn(props: PageProps) {
  return (
    <>
      <h1>Sign in</h1>
      <Form
        label="Sign in"
        action={async (form) => {
          const { data, error, response } = await api.POST("/api/v1/auth/login", {
            body: { email: text(form, "email"), password: text(form, "password") },
          });
          if (!data) return explain(error, response);
          signedIn(data);
          navigate(safePath(props.query.get("next")));
          return undefined;
        }}
      >
        <Field label="Email" name="email" type="email" autocomplete="email" />
        <Field label="Password" name="password" type="password" autocomplete="current-password" />
      </Form>
      <p>
        <a href="/forgot-password">Forgot your password?</a> ·{" "}
        <a href="/signup">Create an account</a>
      </p>
    </>
  );
}

/** Takes the token out of the address bar (and history) before using it. */
function takeToken(query: URLSearchParams): string | undefined {
  const token = query.get("token") ?? undefined;
  if (token) history.replaceState(null, "", location.pathname);
  return token;
}

function VerifyEmail(props: PageProps) {
  const [outcome, setOutcome] = useState<{ ok: boolean; message: string } | undefined>();
  useEffect(() => {
    const token = takeToken(props.query);
    if (!token) {
      setOutcome({
        ok: false,
        message: "This link has no token. Open the link from the email again.",
      });
      return;
    }
    void api
      .POST("/api/v1/auth/email/verify", { body: { token } })
      .then(({ error, response }) =>
        setOutcome(
          response.ok
            ? { ok: true, message: "Thank you: your email address is confirmed." }
            : { ok: false, message: explain(error, response) },
        ),
      );
  }, []);
  return (
    <>
      <h1>Confirm your email</h1>
      {outcome ? (
        <Alert message={outcome.message} kind={outcome.ok ? "ok" : "error"} />
      ) : (
        <p class="muted" role="status">
          Confirming…
        </p>
      )}
      <p>
        <a href="/dashboard">Go to your apps</a>
      </p>
    </>
  );
}

function ForgotPassword() {
  const [sent, setSent] = useState<string | undefined>();
  return (
    <>
      <h1>Forgot password</h1>
      <p>We will email you a link to choose a new password.</p>
      {sent ? <Alert message={sent} kind="ok" /> : null}
      <Form
        label="Email me a link"
        action={async (form) => {
          const { data, error, response } = await api.POST("/api/v1/auth/password/forgot", {
            body: { email: text(form, "email") },
          });
          if (!data) return explain(error, response);
          setSent(data.detail ?? "If an account exists for this email, a link is on its way.");
          return undefined;
        }}
      >
        <Field label="Email" name="email" type="email" autocomplete="email" />
      </Form>
    </>
  );
}

function ResetPassword(props: PageProps) {
  const [token] = useState(() => takeToken(props.query));
  const [done, setDone] = useState(false);
  if (!token && !done)
    return (
      <>
        <h1>Choose a new password</h1>
        <Alert message="This link has no token. Ask for a new one below." />
        <p>
          <a href="/forgot-password">Send me a new link</a>
        </p>
      </>
    );
  return (
    <>
      <h1>Choose a new password</h1>
      {done ? (
        <>
          <Alert message="Your password is changed. Please sign in with it." kind="ok" />
          <p>
            <a href="/signin">Sign in</a>
          </p>
        </>
      ) : (
        <Form
          label="Save new password"
          action={async (form) => {
            const { error, response } = await api.POST("/api/v1/auth/password/reset", {
              body: { token: token ?? "", password: text(form, "password") },
            });
            if (!response.ok) return explain(error, response);
            setDone(true);
            return undefined;
          }}
        >
          <Field
            label="New password"
            name="password"
            type="password"
            autocomplete="new-password"
            minlength={10}
            hint="At least 10 characters."
          />
        </Form>
      )}
    </>
  );
}

export const authPages = {
  signup: SignUp,
  signin: SignIn,
  verify: VerifyEmail,
  forgot: ForgotPassword,
  reset: ResetPassword,
};
