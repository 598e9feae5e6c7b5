/** Template strings with escaping: the demo's whole view layer. */
import { storySteps, type StoryStepId, type StoryView } from "../story.js";

const entities: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

/** Already-escaped markup; anything else interpolated into `html` is escaped. */
export class Html {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

export function escape(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (c) => entities[c]);
}

function render(value: unknown): string {
  if (value instanceof Html) return value.value;
  if (Array.isArray(value)) return value.map(render).join("");
  if (value === undefined || value === null || value === false) return "";
  return escape(value);
}

export function html(strings: TemplateStringsArray, ...values: unknown[]): Html {
  let out = strings[0];
  values.forEach((v, i) => {
    out += render(v) + strings[i + 1];
  });
  return new Html(out);
}

/** Who is signed in, and through which system this request was served: shown on every page. */
export interface Viewer {
  system: "legacy" | "supertokens";
  user?: {
    id: string;
    email: string;
    name?: string;
    /** SuperTokens only: where the account lives now. */ account?: "supertokens" | "legacy";
  };
  /** SuperTokens only: this request carried only a legacy cookie, and dualSession() converted it. */
  convertedNow?: boolean;
  /** SuperTokens only: this request proved the browser holds the new tokens, so its legacy session was retired. */
  legacyRetiredNow?: boolean;
  /** The demo guide above the page: the story's steps so far, and the switch. */
  story?: StoryView;
}

export interface PageOptions {
  title: string;
  viewer: Viewer;
  /** `data-page` on <body>: which part of app.js runs. */
  page: string;
  body: Html;
}

/** The SDK's prebuilt bundles (served from node_modules, no build step) and the demo's own script. */
const superTokensScripts = html` <script src="/sdk/website.js"></script>
  <script src="/sdk/supertokens.js"></script>
  <script src="/sdk/session.js"></script>
  <script src="/sdk/emailpassword.js"></script>
  <script src="/sdk/thirdparty.js"></script>
  <script src="/assets/app.js"></script>`;

function systemBadge(viewer: Viewer): Html {
  if (viewer.system === "legacy") {
    return html`<span class="badge legacy" id="served-by" data-system="legacy"
      >Served by the legacy login (express-session)</span
    >`;
  }
  return html`<span class="badge supertokens" id="served-by" data-system="supertokens">Served by SuperTokens</span>`;
}

/**
 * The moment the demo is about: this request came with only the legacy cookie and left with a SuperTokens
 * session for the same user, or (the next request) the legacy session was retired. Shown above the page.
 */
function migrationBanner(viewer: Viewer): Html | "" {
  if (viewer.system !== "supertokens" || !viewer.user) return "";
  if (viewer.convertedNow) {
    return html`<section class="banner converted" id="converted-banner" role="status" aria-live="polite">
      <strong class="banner-title"
        >Your old session was converted to a SuperTokens session — you are still signed in as
        <span id="converted-email">${viewer.user.email}</span>.</strong
      >
      <p>
        <code>dualSession()</code> read this browser's express-session cookie, found user id
        <code>${viewer.user.id}</code> in the legacy session store, and created a SuperTokens session for the same id,
        on this request. No sign-in, no lost notes. The next request retires the old cookie.
      </p>
    </section>`;
  }
  if (viewer.legacyRetiredNow) {
    return html`<section class="banner retired" id="retired-banner" role="status">
      The old express-session cookie was retired on this request: this browser now uses only its SuperTokens session.
    </section>`;
  }
  return "";
}

/** What to do for each step of the story, shown when it is the next one. */
function stepHint(step: StoryStepId, story: StoryView): Html {
  switch (step) {
    case "legacy-sign-in":
      return html`<a href="/login">Sign in</a> on the old login as <code>alice@example.com</code> with
        <code>alice-pass-1</code>, and add a note.`;
    case "switch":
      return story.canSwitch
        ? html`Press <strong>Switch to SuperTokens</strong>: this running app moves to SuperTokens, with no restart
            and nobody signed out.`
        : html`This demo was started without its switch: stop it (Ctrl-C) and start it again with
            <code>npm run demo -- --migration</code>.`;
    case "still-signed-in":
      return html`Open any page in the browser that signed in on the old system: its old session is converted on
        that very request, and it stays signed in.`;
    case "legacy-cookie-retired":
      return html`Open another page: the browser now shows it holds its new tokens, and the old express-session cookie
        is retired.`;
    case "old-password-sign-in":
      return html`Sign out, then <a href="/login">sign in</a> as <code>bob@example.com</code> with his old password
        <code>bob-pass-1</code>: he moves to SuperTokens and keeps his id and notes.`;
    case "sign-up-refused":
      return html`Try to <a href="/signup">sign up</a> as <code>dave@example.com</code>: refused, because a user who
        has not moved yet owns that email.`;
    case "progress":
      return html`Open <a href="/admin">Migration progress</a>: users moved, sessions converted and retired.`;
  }
}

/**
 * The demo guide: which system serves the app, the switch to SuperTokens while it runs, the story's steps with
 * those done ticked, and what to try next. Part of the demo, not of the app it shows.
 */
function storyGuide(viewer: Viewer, story: StoryView): Html {
  const next = storySteps.findIndex((s) => !story.done.has(s.id));
  const switchForm = story.canSwitch
    ? html`<form method="post" action="/demo/switch?next=${encodeURIComponent(story.path)}" class="story-switch">
        <button type="submit" id="switch-to-supertokens" class="${storySteps[next]?.id === "switch" ? "next" : ""}">
          Switch to SuperTokens
        </button>
      </form>`
    : "";
  return html`<aside class="story" id="story" aria-label="Demo guide" data-system="${story.system}">
    <div class="story-head">
      <span class="story-title">Demo guide</span>
      ${systemBadge(viewer)} ${switchForm}
    </div>
    <ol class="steps">
      ${storySteps.map((step, i) => {
        const state = story.done.has(step.id) ? "done" : i === next ? "current" : "todo";
        return html`<li
          class="step ${state}"
          data-step="${step.id}"
          data-state="${state}"
          ${state === "current" ? html`aria-current="step"` : ""}
        >
          <span class="num" aria-hidden="true">${state === "done" ? "✓" : i + 1}</span>
          <span class="label">${step.label}</span>
          <span class="visually-hidden">${state === "done" ? " (done)" : ""}</span>
        </li>`;
      })}
    </ol>
    <p class="story-hint" id="story-hint">
      ${
        next === -1
          ? html`<strong>That is the whole story.</strong> Also try <a href="/forgot-password">Forgot password</a> for
              <code>carol@example.com</code>: the link lands in the <a href="/outbox">Outbox</a>.`
          : html`<strong>Step ${next + 1} of ${storySteps.length}: ${storySteps[next].label}.</strong>
              ${stepHint(storySteps[next].id, story)}`
      }
    </p>
  </aside>`;
}

export function layout({ title, viewer, page, body }: PageOptions): string {
  const signedIn = viewer.user;
  const accountText = signedIn?.account === "legacy" ? "account not moved yet" : "account in SuperTokens";
  const account = signedIn?.account
    ? html` · <span id="who-account" data-account="${signedIn.account}">${accountText}</span>`
    : "";
  const signOut =
    viewer.system === "legacy"
      ? html`<form method="post" action="/logout" class="inline">
          <button type="submit" id="sign-out">Sign out</button>
        </form>`
      : html`<button type="button" id="sign-out">Sign out</button>`;
  return `<!doctype html>${html` <html lang="en">
    <head>
      <meta charset="utf-8" />
      <meta name="viewport" content="width=device-width, initial-scale=1" />
      <title>${title} · Notes</title>
      <link rel="icon" href="/favicon.svg" type="image/svg+xml" />
      <link rel="stylesheet" href="/assets/style.css" />
    </head>
    <body data-page="${page}" data-system="${viewer.system}">
      <header>
        <a class="brand" href="/">Notes</a>
        <nav>
          <a href="/notes">My notes</a>
          <a href="/admin">Migration progress</a>
          ${viewer.system === "supertokens" ? html`<a href="/outbox">Outbox</a>` : ""}
        </nav>
        <div class="who" id="who" data-user-id="${signedIn?.id ?? ""}">
          ${
            signedIn
              ? html`<span>Signed in as</span>
                  <strong id="who-email" title="${signedIn.email}">${signedIn.email}</strong>
                  <span class="muted">(id <code id="who-id">${signedIn.id}</code>${account})</span>
                  ${signOut}`
              : html`<span>Not signed in</span> · <a href="/login">Sign in</a>`
          }
        </div>
      </header>
      ${viewer.story ? storyGuide(viewer, viewer.story) : html`<div class="system">${systemBadge(viewer)}</div>`}
      ${migrationBanner(viewer)}
      <main>
        <h1>${title}</h1>
        ${body}
      </main>
      <footer>
        supertokens-migrate demo ·
        ${viewer.system === "legacy" ? "migration off" : "migration on: dualSession() + legacyAuth()"}
      </footer>
      ${viewer.system === "supertokens" ? superTokensScripts : ""}
    </body>
  </html>`.toString()}`;
}
