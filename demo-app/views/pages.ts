import type { Note } from "../notes.js";
import type { UserListRow } from "../roles.js";
import { seededUsers } from "../schema.js";
import { html, layout, type Html, type Viewer } from "./html.js";

export function homePage(viewer: Viewer): string {
  const migrated = viewer.system === "supertokens";
  return layout({
    title: "Welcome",
    page: "home",
    viewer,
    body: html` <p>
        A small notes app, as many apps are built: server-rendered pages, a login form, express-session and a
        <code>users</code> table with bcrypt hashes.
        ${
          migrated
            ? html`It is now <strong>migrating to SuperTokens</strong>: <code>dualSession()</code> keeps everyone who
                was signed in signed in, and <code>legacyAuth()</code> lets people who have not moved yet sign in with
                their old password.`
            : html`This is the app <strong>before</strong> the migration. Sign in, then restart it with the migration
                on.`
        }
      </p>
      <p>
        <a class="button" href="${viewer.user ? "/notes" : "/login"}">${viewer.user ? "Open my notes" : "Sign in"}</a>
      </p>
      <h2>Seeded users</h2>
      <table>
        <thead>
          <tr>
            <th>Email</th>
            <th>Password</th>
            <th>Sign in with Acme</th>
          </tr>
        </thead>
        <tbody>
          ${seededUsers.map(
            (u) =>
              html`<tr>
                <td>${u.email}${u.role === "admin" ? html` <span class="chip">admin</span>` : ""}</td>
                <td>${u.password ? html`<code>${u.password}</code>` : html`<span class="muted">none</span>`}</td>
                <td>${u.acme ? html`<code>${u.acme.password}</code>` : ""}</td>
              </tr>`,
          )}
        </tbody>
      </table>`,
  });
}

function field(name: string, label: string, type: string, value = "", autocomplete = ""): Html {
  return html`<label
    >${label}<input name="${name}" id="${name}" type="${type}" value="${value}" autocomplete="${autocomplete}" required
  /></label>`;
}

/** Sign-in form. Legacy: posted to /login. SuperTokens: app.js signs in with supertokens-web-js. */
export function loginPage(
  viewer: Viewer,
  opts: { error?: string; email?: string; next: string; notice?: string; acme?: boolean },
): string {
  const legacy = viewer.system === "legacy";
  return layout({
    title: "Sign in",
    page: "login",
    viewer,
    body: html` ${opts.notice ? html`<p class="notice" id="notice">${opts.notice}</p>` : ""}
      ${
        viewer.user ? html`<p class="notice">You are already signed in. <a href="/notes">Go to your notes</a>.</p>` : ""
      }
      <form
        ${legacy ? html`method="post" action="/login"` : ""}
        id="sign-in-form"
        class="card"
        data-next="${opts.next}"
      >
        <input type="hidden" name="next" value="${opts.next}" />
        ${field("email", "Email", "email", opts.email ?? "", "username")}
        ${field("password", "Password", "password", "", "current-password")}
        <p class="error" id="form-error" role="alert">${opts.error ?? ""}</p>
        <button type="submit">Sign in</button>
      </form>
      ${
        opts.acme
          ? html`<p class="or">or</p>
              ${
                legacy
                  ? html`<a class="button acme" id="sign-in-acme" href="/auth/acme">Sign in with Acme</a>`
                  : html`<button type="button" class="acme" id="sign-in-acme">Sign in with Acme</button>`
              }`
          : ""
      }
      <p>
        No account? <a href="/signup">Sign up</a>.
        ${legacy ? "" : html`Forgot your password? <a href="/forgot-password">Reset it</a>.`}
      </p>`,
  });
}

export function signupPage(viewer: Viewer, opts: { error?: string; email?: string }): string {
  const legacy = viewer.system === "legacy";
  return layout({
    title: "Sign up",
    page: "signup",
    viewer,
    body: html` <form ${legacy ? html`method="post" action="/signup"` : ""} id="sign-up-form" class="card">
        ${field("email", "Email", "email", opts.email ?? "", "username")}
        ${field("password", "Password (8+ characters, with a letter and a digit)", "password", "", "new-password")}
        <p class="error" id="form-error" role="alert">${opts.error ?? ""}</p>
        <button type="submit">Create account</button>
      </form>
      <p>Already have an account? <a href="/login">Sign in</a>.</p>`,
  });
}

export function forgotPasswordPage(viewer: Viewer): string {
  return layout({
    title: "Forgot your password?",
    page: "forgot-password",
    viewer,
    body: html` <p>
        We will email you a link to choose a new password. This demo sends no real email: it lands in the
        <a href="/outbox">outbox</a>.
      </p>
      <form id="forgot-form" class="card">
        ${field("email", "Email", "email", "", "username")}
        <p class="error" id="form-error" role="alert"></p>
        <p class="notice hidden" id="form-done" role="status">
          If an account exists for that email, a reset link is on its way. Check the <a href="/outbox">outbox</a>.
        </p>
        <button type="submit">Email me a reset link</button>
      </form>`,
  });
}

export function resetPasswordPage(viewer: Viewer): string {
  return layout({
    title: "Choose a new password",
    page: "reset-password",
    viewer,
    body: html` <form id="reset-form" class="card">
      ${field("password", "New password", "password", "", "new-password")}
      <p class="error" id="form-error" role="alert"></p>
      <button type="submit">Set new password</button>
    </form>`,
  });
}

/** The notes page. Legacy forms post to the server; SuperTokens forms call /api/notes through the SDK's fetch. */
export function notesPage(viewer: Viewer, notes: Note[]): string {
  const legacy = viewer.system === "legacy";
  return layout({
    title: "My notes",
    page: "notes",
    viewer,
    body: html` <form ${legacy ? html`method="post" action="/notes"` : ""} id="add-note-form" class="row">
        <input name="body" id="note-body" placeholder="Write a note…" maxlength="2000" required />
        <button type="submit">Add note</button>
      </form>
      <p class="error" id="form-error" role="alert"></p>
      ${
        notes.length === 0
          ? html`<p class="muted" id="no-notes">No notes yet.</p>`
          : html`<ul class="notes" id="notes">
              ${notes.map(
                (n) =>
                  html`<li data-note-id="${n.id}">
                    <span class="note-body">${n.body}</span> <span class="muted">${n.createdAt}</span>
                    <form
                      ${legacy ? html`method="post" action="/notes/${n.id}/delete"` : ""}
                      class="inline delete-note"
                      data-note-id="${n.id}"
                    >
                      <button type="submit" class="link">delete</button>
                    </form>
                  </li>`,
              )}
            </ul>`
      }`,
  });
}

export interface AdminFigures {
  users?: {
    moved: number;
    legacyOnly: number;
    total: number;
    superTokensUsers: number;
    /** legacyAuth's migrationProgress(): moved users by the login methods they have now. */
    byLoginMethod?: { emailpassword: number; thirdparty: number; passwordless: number };
    byThirdPartyProvider?: Record<string, number>;
  };
  sessions?: { migrated: number; reused: number; retired: number; loggedOut: number; rejected: Record<string, number> };
  legacySessionsInStore?: number;
  database: string;
  sessionStore: string;
  core?: string;
}

/** The moved users by login method, and a row for each third-party provider id. */
function byLoginMethodTable(
  counts: { emailpassword: number; thirdparty: number; passwordless: number },
  providers: Record<string, number>,
) {
  const providerRows = Object.entries(providers)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(
      ([id, n]) => html`<tr>
        <th>Third-party: ${id}</th>
        <td class="provider-count" data-provider="${id}">${n}</td>
      </tr>`,
    );
  return html`<h3>Moved users by login method</h3>
    <p class="muted">A user who signs in more than one way (a password and Acme, linked) counts under each.</p>
    <table id="moved-by-method">
      <tr>
        <th>Email and password</th>
        <td id="moved-emailpassword">${counts.emailpassword}</td>
      </tr>
      <tr>
        <th>Third-party (sign in with a provider)</th>
        <td id="moved-thirdparty">${counts.thirdparty}</td>
      </tr>
      ${providerRows}
      <tr>
        <th>Passwordless (magic link or code)</th>
        <td id="moved-passwordless">${counts.passwordless}</td>
      </tr>
    </table>`;
}

export function adminPage(viewer: Viewer, figures: AdminFigures): string {
  const { users, sessions } = figures;
  const percent = users && users.total > 0 ? Math.round((users.moved / users.total) * 100) : 0;
  const rejected = Object.entries(sessions?.rejected ?? {});
  return layout({
    title: "Migration progress",
    page: "admin",
    viewer,
    body: html` ${
      users
        ? html` <h2>Users</h2>
              <label for="users-progress" class="progress-label"
                >Users moved to SuperTokens: <strong id="users-percent">${percent}%</strong> (${users.moved} of
                ${users.total})</label
              >
              <progress id="users-progress" class="progress" max="100" value="${percent}">${percent}%</progress>
              <table id="user-progress">
                <tr>
                  <th>Moved to SuperTokens</th>
                  <td id="users-moved">${users.moved}</td>
                </tr>
                <tr>
                  <th>Legacy only (not signed in since the switch)</th>
                  <td id="users-legacy-only">${users.legacyOnly}</td>
                </tr>
                <tr>
                  <th>Legacy users in total</th>
                  <td id="users-total">${users.total}</td>
                </tr>
                <tr>
                  <th>SuperTokens users (incl. new sign-ups)</th>
                  <td id="users-supertokens">${users.superTokensUsers}</td>
                </tr>
              </table>
              ${users.byLoginMethod ? byLoginMethodTable(users.byLoginMethod, users.byThirdPartyProvider ?? {}) : ""}`
        : html`<p>The migration is off: every user lives in the legacy <code>users</code> table.</p>`
    }
      ${
        sessions
          ? html` <h2>Sessions <small class="muted">(since this process started)</small></h2>
              <table id="session-progress">
                <tr>
                  <th>Legacy sessions converted to SuperTokens</th>
                  <td id="sessions-migrated">${sessions.migrated}</td>
                </tr>
                <tr>
                  <th>Parallel requests given the same new session</th>
                  <td id="sessions-reused">${sessions.reused}</td>
                </tr>
                <tr>
                  <th>Legacy sessions retired</th>
                  <td id="sessions-retired">${sessions.retired}</td>
                </tr>
                <tr>
                  <th>Rejected</th>
                  <td id="sessions-rejected">
                    ${
                      rejected.length === 0
                        ? "none"
                        : rejected.map(([reason, n]) => html`<span class="chip">${reason}: ${n}</span> `)
                    }
                  </td>
                </tr>
              </table>`
          : ""
      }
      <h2>Infrastructure</h2>
      <table>
        <tr>
          <th>Database</th>
          <td>${figures.database}</td>
        </tr>
        <tr>
          <th>Legacy session store</th>
          <td>
            ${figures.sessionStore}${
              figures.legacySessionsInStore !== undefined
                ? html` · <span id="legacy-sessions">${figures.legacySessionsInStore}</span> session(s) stored`
                : ""
            }
          </td>
        </tr>
        ${
          figures.core
            ? html`<tr>
                <th>SuperTokens core</th>
                <td>${figures.core}</td>
              </tr>`
            : ""
        }
      </table>`,
  });
}

export interface OutboxEmail {
  to: string;
  subject: string;
  link: string;
  sentAt: string;
}

export function outboxPage(viewer: Viewer, emails: readonly OutboxEmail[]): string {
  return layout({
    title: "Outbox",
    page: "outbox",
    viewer,
    body: html` <p class="muted">
        The demo sends no real email. Everything SuperTokens would send lands here, newest first.
      </p>
      ${
        emails.length === 0
          ? html`<p id="outbox-empty">No emails yet.</p>`
          : html`<ul class="outbox" id="outbox">
              ${[...emails].reverse().map(
                (e) =>
                  html`<li class="card" data-to="${e.to}">
                    <strong>To:</strong> ${e.to} <span class="muted">${e.sentAt}</span><br />
                    <strong>${e.subject}</strong><br /><a class="reset-link" href="${e.link}">${e.link}</a>
                  </li>`,
              )}
            </ul>`
      }`,
  });
}

/**
 * Answer to a page navigation whose access token has expired (dualSession says "try refresh"). A full page load
 * cannot be retried by the SDK the way a fetch can, so this page lets supertokens-web-js refresh and reloads.
 */
export function refreshPage(viewer: Viewer): string {
  return layout({
    title: "One moment…",
    page: "refresh",
    viewer,
    body: html`<p id="refreshing">Refreshing your session…</p>
      <p class="error" id="form-error" role="alert"></p>`,
  });
}

/** Where a provider sends the browser back after "Sign in with …": app.js completes the sign-in from here. */
export function thirdPartyCallbackPage(viewer: Viewer, provider: string): string {
  return layout({
    title: `Signing in with ${provider}…`,
    page: "thirdparty-callback",
    viewer,
    body: html`<p id="signing-in">One moment: finishing your sign-in with ${provider}.</p>
      <p class="error" id="form-error" role="alert"></p>
      <p><a href="/login">Back to sign in</a></p>`,
  });
}

/** The admin-only list of users, with their role and how each can sign in. */
export function usersPage(viewer: Viewer, users: readonly UserListRow[]): string {
  return layout({
    title: "Users",
    page: "users",
    viewer,
    body: html`<p class="muted">Only admins see this page: the app checks the <code>role</code> column.</p>
      <table id="users">
        <thead>
          <tr>
            <th>Id</th>
            <th>Email</th>
            <th>Role</th>
            <th>Signs in with</th>
          </tr>
        </thead>
        <tbody>
          ${users.map(
            (u) =>
              html`<tr data-user-id="${u.id}">
                <td>${u.id}</td>
                <td>${u.email}</td>
                <td class="role">${u.role}</td>
                <td>${[...(u.hasPassword ? ["password"] : []), ...u.providers].join(", ")}</td>
              </tr>`,
          )}
        </tbody>
      </table>`,
  });
}

export function errorPage(viewer: Viewer, status: number, message: string): string {
  return layout({
    title: status === 404 ? "Not found" : status === 403 ? "Not allowed" : "Something went wrong",
    page: "error",
    viewer,
    body: html`<p>${message}</p>`,
  });
}
