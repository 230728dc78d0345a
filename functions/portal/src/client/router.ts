import { matchPage } from "../routes";

type Listener = () => void;
const listeners = new Set<Listener>();

/** Same-origin paths only: `next=//evil.example` (or `/\evil.example`) must not leave the site. */
export const safePath = (path: string | null | undefined) =>
  path && /^\/(?![/\\])/.test(path) ? path : "/dashboard";

let guard: (path: string) => string = (path) => path;

/** Where a path really leads (a signed-in page leads to sign-in without a session). */
export function setGuard(fn: (path: string) => string) {
  guard = fn;
}

/** Applies the guard to the current address, replacing it if it leads elsewhere. */
export function guardCurrent() {
  const here = location.pathname + location.search;
  const target = guard(here);
  if (target !== here) history.replaceState(null, "", target);
}

/** Moves to another page without reloading: the access token stays in memory. */
export function navigate(to: string, replace = false) {
  const path = guard(to);
  if (replace) history.replaceState(null, "", path);
  else history.pushState(null, "", path);
  for (const fn of listeners) fn();
  window.scrollTo(0, 0);
}

export function onNavigate(fn: Listener) {
  listeners.add(fn);
  window.addEventListener("popstate", () => {
    guardCurrent();
    fn();
  });
}

/** Intercepts clicks on links to portal pages. */
export function interceptLinks() {
  document.addEventListener("click", (event) => {
    if (event.defaultPrevented || event.button !== 0) return;
    if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    const link = (event.target as Element | null)?.closest("a");
    if (!link || link.target || link.hasAttribute("download")) return;
    const url = new URL(link.href, location.href);
    if (url.origin !== location.origin || !matchPage(url.pathname)) return;
    // An anchor on this page (the skip link): the browser scrolls and moves focus itself.
    if (url.hash && url.pathname === location.pathname && url.search === location.search) return;
    event.preventDefault();
    navigate(url.pathname + url.search);
  });
}
