/** Formatting shared by templates: dates in UTC, money from minor units, links into the web app. */

const date = new Intl.DateTimeFormat("en-GB", { dateStyle: "long", timeZone: "UTC" });
const dateTime = new Intl.DateTimeFormat("en-GB", {
  dateStyle: "long",
  timeStyle: "short",
  timeZone: "UTC",
});

/** "24 November 2025". */
export function formatDate(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : date.format(d);
}

/** "24 November 2025 at 14:30 UTC". */
export function formatDateTime(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : `${dateTime.format(d)} UTC`;
}

/** 1999 EUR -> "€19.99"; the currency decides how many minor digits it has. */
export function formatMoney(amountMinor: number, currency: string): string {
  try {
    const format = new Intl.NumberFormat("en-GB", { style: "currency", currency });
    const digits = format.resolvedOptions().maximumFractionDigits ?? 2;
    return format.format(amountMinor / 10 ** digits);
  } catch {
    // An unknown currency code must not turn into an email that can never be sent.
    return `${amountMinor} ${currency} (minor units)`;
  }
}

export const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** Builds absolute links into the web app. */
export type LinkBuilder = (path: string, query?: Record<string, string>) => string;

/**
 * @example
 * const link = linkBuilder("https://app.example.com/");
 * link("/verify-email", { token: "a+b" }); // "https://app.example.com/verify-email?token=a%2Bb"
 */
export function linkBuilder(appUrl: string): LinkBuilder {
  // Keep any path APP_URL has (e.g. https://example.com/app), minus trailing slashes.
  const base = appUrl.replace(/\/+$/, "");
  return (path, query) => {
    const search = query ? `?${new URLSearchParams(query).toString()}` : "";
    return `${base}${path.startsWith("/") ? path : `/${path}`}${search}`;
  };
}
