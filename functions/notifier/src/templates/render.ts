/**
 * Emails are written as a few kinds of blocks and rendered here to both text
 * and HTML. Templates never write markup, so every value they interpolate is
 * escaped in exactly one place.
 */
export type Block =
  | { kind: "paragraph"; text: string }
  | { kind: "action"; label: string; url: string }
  | { kind: "facts"; rows: ReadonlyArray<readonly [label: string, value: string]> }
  | { kind: "note"; text: string };

export interface EmailContent {
  subject: string;
  blocks: Block[];
}

export interface RenderedEmail {
  subject: string;
  text: string;
  html: string;
}

export const paragraph = (text: string): Block => ({ kind: "paragraph", text });
export const action = (label: string, url: string): Block => ({ kind: "action", label, url });
export const facts = (...rows: Array<readonly [string, string]>): Block => ({
  kind: "facts",
  rows,
});
export const note = (text: string): Block => ({ kind: "note", text });

const ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/** Escapes text for HTML element content and quoted attribute values. */
export const escapeHtml = (text: string): string =>
  text.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);

/** Only http(s) links become buttons: a `javascript:` URL in event data must never be clickable. */
function safeUrl(url: string): string | undefined {
  try {
    const parsed = new URL(url);
    return parsed.protocol === "https:" || parsed.protocol === "http:" ? parsed.href : undefined;
  } catch {
    return undefined;
  }
}

const SIGN_OFF = "The minispod team";
const FOOTER = "You are receiving this email because of activity on your minispod account.";

export function renderEmail(content: EmailContent, recipient: { name: string }): RenderedEmail {
  const greeting = `Hi ${recipient.name.trim() || "there"},`;
  const blocks = content.blocks.flatMap((b): Block[] => {
    if (b.kind !== "action") return [b];
    const url = safeUrl(b.url);
    return url ? [{ ...b, url }] : [];
  });
  // Header values must stay on one line.
  const subject = content.subject.replace(/\s+/g, " ").trim();
  return {
    subject,
    text: renderText(greeting, blocks),
    html: renderHtml(subject, greeting, blocks),
  };
}

function renderText(greeting: string, blocks: Block[]): string {
  const parts = blocks.map(textBlock);
  return [greeting, ...parts, `-- \n${SIGN_OFF}`, FOOTER].join("\n\n").concat("\n");
}

function textBlock(b: Block): string {
  switch (b.kind) {
    case "paragraph":
    case "note":
      return b.text;
    case "action":
      return `${b.label}:\n${b.url}`;
    case "facts":
      return b.rows.map(([label, value]) => `${label}: ${value}`).join("\n");
  }
}

const FONT = "font-family:-apple-system,'Segoe UI',Helvetica,Arial,sans-serif";

function renderHtml(subject: string, greeting: string, blocks: Block[]): string {
  const body = blocks.map(htmlBlock).join("\n");
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>${escapeHtml(subject)}</title></head>
<body style="margin:0;padding:24px;background:#f3f4f6;${FONT};font-size:15px;line-height:1.5;color:#111827">
<div style="max-width:560px;margin:0 auto;background:#ffffff;border-radius:8px;padding:32px">
<p style="margin:0 0 16px">${escapeHtml(greeting)}</p>
${body}
<p style="margin:24px 0 0">${SIGN_OFF}</p>
</div>
<p style="max-width:560px;margin:16px auto 0;color:#9ca3af;font-size:12px;text-align:center">${FOOTER}</p>
</body>
</html>
`;
}

function htmlBlock(b: Block): string {
  switch (b.kind) {
    case "paragraph":
      return `<p style="margin:0 0 16px">${escapeHtml(b.text)}</p>`;
    case "note":
      return `<p style="margin:0 0 16px;color:#6b7280;font-size:13px">${escapeHtml(b.text)}</p>`;
    case "action":
      return `<p style="margin:24px 0"><a href="${escapeHtml(b.url)}" style="background:#2563eb;color:#ffffff;padding:12px 20px;border-radius:6px;text-decoration:none;display:inline-block">${escapeHtml(b.label)}</a></p>
<p style="margin:0 0 16px;color:#6b7280;font-size:13px">Or open this link: <a href="${escapeHtml(b.url)}" style="color:#2563eb;word-break:break-all">${escapeHtml(b.url)}</a></p>`;
    case "facts":
      return `<table role="presentation" style="margin:0 0 16px;border-collapse:collapse">${b.rows
        .map(
          ([label, value]) =>
            `<tr><td style="padding:4px 16px 4px 0;color:#6b7280">${escapeHtml(label)}</td><td style="padding:4px 0">${escapeHtml(value)}</td></tr>`,
        )
        .join("")}</table>`;
  }
}
