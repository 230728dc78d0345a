import type { Page } from "playwright-core";

/** One keyboard stop: what it is and where it is drawn (document coordinates). */
export interface Stop {
  name: string;
  x: number;
  y: number;
  width: number;
  height: number;
  /** The focus indicator as drawn: outline or box-shadow, and its contrast with white. */
  indicator: { visible: boolean; focusVisible: boolean; widthPx: number; contrast: number };
}

/**
 * The element that has focus, as a stop (undefined when focus is on the page itself).
 * Evaluated in the page; the name is tag, id and text so that a re-render keeps it.
 */
export function focused(page: Page): Promise<Stop | undefined> {
  return page.evaluate(() => {
    const el = document.activeElement as HTMLElement | null;
    if (!el || el === document.body || el === document.documentElement) return undefined;
    const label = (e: Element) => {
      const text = (
        e.getAttribute("aria-label") ??
        (e as HTMLInputElement).labels?.[0]?.textContent ??
        e.textContent ??
        ""
      )
        .replace(/\s+/g, " ")
        .trim()
        .slice(0, 50);
      const href = e.getAttribute("href");
      return `${e.tagName.toLowerCase()}${e.id ? `#${e.id}` : ""}${href ? `[${href}]` : ""} "${text}"`;
    };
    const r = el.getBoundingClientRect();
    const style = getComputedStyle(el);
    const outline = style.outlineStyle !== "none" ? Number.parseFloat(style.outlineWidth) : 0;
    const shadow = style.boxShadow !== "none";
    const color = (shadow && !outline ? style.boxShadow : style.outlineColor).match(
      /rgba?\(([\d.]+)[, ]+([\d.]+)[, ]+([\d.]+)/,
    );
    // WCAG relative luminance, against the white page the indicator is drawn on.
    const lum = (c: string) => {
      const v = Number(c) / 255;
      return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
    };
    const L = color
      ? 0.2126 * lum(color[1]!) + 0.7152 * lum(color[2]!) + 0.0722 * lum(color[3]!)
      : 1;
    return {
      name: label(el),
      x: r.left + scrollX,
      y: r.top + scrollY,
      width: r.width,
      height: r.height,
      indicator: {
        visible: outline >= 2 || shadow,
        focusVisible: el.matches(":focus-visible"),
        widthPx: outline,
        contrast: 1.05 / (L + 0.05),
      },
    };
  });
}

/** What the keyboard should reach, in document order: what a Tab sequence must equal. */
export function tabbable(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const label = (e: Element) => {
      const text = (
        e.getAttribute("aria-label") ??
        (e as HTMLInputElement).labels?.[0]?.textContent ??
        e.textContent ??
        ""
      )
        .replace(/\s+/g, " ")
        .trim()
        .slice(0, 50);
      const href = e.getAttribute("href");
      return `${e.tagName.toLowerCase()}${e.id ? `#${e.id}` : ""}${href ? `[${href}]` : ""} "${text}"`;
    };
    const all = [
      ...document.querySelectorAll<HTMLElement>(
        "a[href], button, input, select, textarea, summary, [tabindex]",
      ),
    ];
    return all
      .filter((el) => {
        if (el.tabIndex < 0 || (el as HTMLButtonElement).disabled) return false;
        if ((el as HTMLInputElement).type === "hidden") return false;
        if (el.closest("dialog:not([open]), [inert]")) return false;
        if (el instanceof HTMLInputElement && el.type === "radio" && el.name) {
          // One stop per radio group: the checked one, else the first.
          const group = all.filter(
            (o): o is HTMLInputElement =>
              o instanceof HTMLInputElement && o.type === "radio" && o.name === el.name,
          );
          return el === (group.find((o) => o.checked) ?? group[0]);
        }
        return el.checkVisibility({ visibilityProperty: true });
      })
      .map(label);
  });
}

/**
 * Tabs from where focus is until it leaves the page, comes round to its
 * first stop again, or `max` presses: every stop on the way. A stop that
 * repeats at once is a trap.
 */
export async function tabThrough(page: Page, key: "Tab" | "Shift+Tab", max: number) {
  const stops: Stop[] = [];
  for (let i = 0; i < max; i++) {
    await page.keyboard.press(key);
    const stop = await focused(page);
    // Out of the page, or round to where it started (headless Chromium has no toolbar to go to).
    if (!stop || (stops.length > 1 && stop.name === stops[0]?.name)) break;
    if (stops.at(-1)?.name === stop.name) throw new Error(`focus is stuck on ${stop.name}`);
    stops.push(stop);
  }
  return stops;
}

/**
 * Pairs of consecutive stops where the second is drawn before the first in
 * reading order (left to right on a line, lines top to bottom).
 */
export function outOfOrder(stops: Stop[]): string[] {
  const problems: string[] = [];
  for (let i = 1; i < stops.length; i++) {
    const a = stops[i - 1]!;
    const b = stops[i]!;
    const sameLine =
      Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y) >
      Math.min(a.height, b.height) / 2;
    const after = sameLine ? b.x >= a.x + a.width / 2 - 1 : b.y >= a.y + a.height / 2;
    if (!after) problems.push(`${b.name} is drawn before ${a.name}`);
  }
  return problems;
}

/** Presses Tab until `name` (a substring of the stop's name) has focus. */
export async function tabTo(page: Page, name: string | RegExp, max = 40): Promise<Stop> {
  const seen: string[] = [];
  for (let i = 0; i < max; i++) {
    await page.keyboard.press("Tab");
    const stop = await focused(page);
    if (stop && (typeof name === "string" ? stop.name.includes(name) : name.test(stop.name)))
      return stop;
    seen.push(stop?.name ?? "(page)");
  }
  throw new Error(`Tab never reached ${name}; it went through:\n${seen.join("\n")}`);
}
