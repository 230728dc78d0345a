/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import type { Page } from "./routes";

/**
 * The HTML every page starts as: landmarks, the page's heading and a loading
 * state, then the browser code renders the content into `#app`. Nothing here
 * depends on who is signed in: the access token lives in the browser's memory.
 */
export function Shell(props: { page: Page; script: string; style: string }) {
  const { page } = props;
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="referrer" content="no-referrer" />
        <title>{`${page.title} · minispod`}</title>
        <link rel="stylesheet" href={`/assets/${props.style}`} />
        <script type="module" src={`/assets/${props.script}`} />
      </head>
      <body data-page={page.id}>
        <a class="skip" href="#main">
          Skip to content
        </a>
        <header class="top">
          <a class="brand" href="/">
            minispod
          </a>
          <nav aria-label="Main" id="nav" />
        </header>
        <main id="main" tabindex={-1}>
          <div id="app">
            <h1>{page.title}</h1>
            <p class="muted" role="status">
              Loading…
            </p>
            <noscript>
              <p>This page needs JavaScript.</p>
            </noscript>
          </div>
        </main>
      </body>
    </html>
  );
}
