/**
 * Every page of the portal: the server renders its shell, the browser code
 * renders its content. Shared by both sides (plain data, no imports).
 * Emails link to `/verify-email`, `/reset-password`, `/forgot-password`,
 * `/subscriptions/:id`, `/instances/:id`, `/instances/:id/credentials`, `/invoices/:id` and `/webhooks/:id`.
 */
export const pages = [
  { id: "catalog", path: "/", title: "Apps", signedIn: false },
  { id: "app", path: "/apps/:slug", title: "App", signedIn: false },
  { id: "subscribe", path: "/apps/:slug/subscribe", title: "Subscribe", signedIn: true },
  { id: "signup", path: "/signup", title: "Create an account", signedIn: false },
  { id: "signin", path: "/signin", title: "Sign in", signedIn: false },
  { id: "verify", path: "/verify-email", title: "Confirm your email", signedIn: false },
  { id: "forgot", path: "/forgot-password", title: "Forgot password", signedIn: false },
  { id: "reset", path: "/reset-password", title: "Choose a new password", signedIn: false },
  { id: "dashboard", path: "/dashboard", title: "Your apps", signedIn: true },
  { id: "instance", path: "/instances/:id", title: "Instance", signedIn: true },
  { id: "credentials", path: "/instances/:id/credentials", title: "Credentials", signedIn: true },
  { id: "subscription", path: "/subscriptions/:id", title: "Subscription", signedIn: true },
  { id: "invoices", path: "/invoices", title: "Invoices", signedIn: true },
  { id: "invoice", path: "/invoices/:id", title: "Invoice", signedIn: true },
  { id: "account", path: "/account", title: "Account", signedIn: true },
  { id: "webhooks", path: "/webhooks", title: "Webhooks", signedIn: true },
  { id: "webhook", path: "/webhooks/:id", title: "Webhook endpoint", signedIn: true },
] as const;

export type Page = (typeof pages)[number];
export type PageId = Page["id"];

/** The page a path shows and its parameters, or undefined. */
export function matchPage(
  path: string,
): { page: Page; params: Record<string, string> } | undefined {
  const parts = path.replace(/\/+$/, "").split("/").slice(1);
  for (const page of pages) {
    const pattern = page.path === "/" ? [] : page.path.split("/").slice(1);
    if (pattern.length !== parts.length) continue;
    const params: Record<string, string> = {};
    const ok = pattern.every((segment, i) => {
      const part = parts[i]!;
      if (segment.startsWith(":")) {
        if (!/^[A-Za-z0-9_-]{1,100}$/.test(part)) return false;
        params[segment.slice(1)] = part;
        return true;
      }
      return segment === part;
    });
    if (ok) return { page, params };
  }
  return undefined;
}
