/** @jsxRuntime automatic @jsxImportSource hono/jsx/dom */
import type { FC } from "hono/jsx";
import { render, useEffect, useState } from "hono/jsx/dom";
import { matchPage, type PageId } from "../routes";
import { refresh, session, signOut } from "./api";
import { accountPages } from "./pages-account";
import { appPages } from "./pages-apps";
import { authPages } from "./pages-auth";
import { guardCurrent, interceptLinks, navigate, onNavigate, setGuard } from "./router";

export type PageProps = { params: Record<string, string>; query: URLSearchParams };
type PageComponent = FC<PageProps>;

const components: Record<PageId, PageComponent> = {
  ...authPages,
  ...appPages,
  ...accountPages,
} as Record<PageId, PageComponent>;

function Nav() {
  const [, setTick] = useState(0);
  useEffect(() => session.onChange(() => setTick((t) => t + 1)), []);
  const links = session.user
    ? [
        ["/", "Apps"],
        ["/dashboard", "Your apps"],
        ["/invoices", "Invoices"],
        ["/webhooks", "Webhooks"],
        ["/account", "Account"],
      ]
    : [
        ["/", "Apps"],
        ["/signin", "Sign in"],
        ["/signup", "Create account"],
      ];
  return (
    <ul>
      {links.map(([href, label]) => (
        <li>
          <a href={href} aria-current={location.pathname === href ? "page" : undefined}>
            {label}
          </a>
        </li>
      ))}
      {session.user ? (
        <li>
          <button
            type="button"
            class="link"
            onClick={async () => {
              await signOut();
              navigate("/signin");
            }}
          >
            Sign out
          </button>
        </li>
      ) : null}
    </ul>
  );
}

function Page() {
  const [, setTick] = useState(0);
  useEffect(() => onNavigate(() => setTick((t) => t + 1)), []);
  const matched = matchPage(location.pathname);
  if (!matched) return <h1>Page not found</h1>;
  const { page, params } = matched;
  document.title = `${page.title} · minispod`;
  document.body.dataset.page = page.id;
  if (page.signedIn && !session.user)
    return (
      <>
        <h1>{page.title}</h1>
        <p>
          Please <a href="/signin">sign in</a> to see this page.
        </p>
      </>
    );
  const Component = components[page.id];
  // A key per location: a new page starts with fresh state.
  return (
    <div key={location.pathname + location.search}>
      <Component params={params} query={new URLSearchParams(location.search)} />
    </div>
  );
}

setGuard((path) => {
  const matched = matchPage(new URL(path, location.origin).pathname);
  return matched?.page.signedIn && !session.user
    ? `/signin?next=${encodeURIComponent(path)}`
    : path;
});

async function start() {
  // Restore the session from the refresh cookie (the access token does not survive a reload).
  await refresh();
  guardCurrent();
  interceptLinks();
  const nav = document.getElementById("nav");
  const app = document.getElementById("app");
  if (nav) render(<Nav />, nav);
  if (app) {
    app.textContent = "";
    render(<Page />, app);
  }
  onNavigate(() => document.getElementById("main")?.focus());
}

void start();
