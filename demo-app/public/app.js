/*
 * The migrated app's browser code, plain JavaScript on top of supertokens-web-js's prebuilt bundles (the
 * globals `supertokens`, `supertokensSession`, `supertokensEmailPassword`, `supertokensThirdParty`): no build
 * step.
 *
 * supertokensSession.init() wraps window.fetch: a call that answers 401 "try refresh token" is refreshed
 * silently and retried, so /api/notes keeps working when the access token expires.
 */
/* global supertokensThirdParty -- the ThirdParty bundle, loaded by a <script> tag before this file */
(function () {
  "use strict";

  supertokens.init({
    appInfo: { appName: "Notes demo", apiDomain: window.location.origin, apiBasePath: "/auth" },
    recipeList: [supertokensSession.init(), supertokensEmailPassword.init(), supertokensThirdParty.init()],
  });

  const page = document.body.dataset.page;
  const $ = (selector) => document.querySelector(selector);

  function showError(message) {
    const el = $("#form-error");
    if (el) el.textContent = message;
  }

  /** `?next=` must stay on this site. */
  function safeNext(value) {
    return typeof value === "string" && value.startsWith("/") && !value.startsWith("//") ? value : "/notes";
  }

  function fieldErrors(response) {
    return (response.formFields || []).map((f) => f.error).join(" ");
  }

  /** What went wrong in words a person can act on; SuperTokens' own messages are already such. */
  function describe(err) {
    if (err && err.isSuperTokensGeneralError === true) return err.message;
    return "The server could not be reached. Please try again.";
  }

  function bindForm(selector, handler) {
    const form = $(selector);
    if (!form) return;
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      showError("");
      const button = form.querySelector("button[type=submit]");
      if (button) button.disabled = true;
      try {
        await handler(form);
      } catch (err) {
        showError(describe(err));
      } finally {
        if (button) button.disabled = false;
      }
    });
  }

  const value = (form, name) => form.elements.namedItem(name).value;

  const signOut = $("#sign-out");
  if (signOut) {
    signOut.addEventListener("click", async () => {
      await supertokensSession.signOut();
      window.location.assign("/login?signedOut=1");
    });
  }

  if (page === "login") {
    bindForm("#sign-in-form", async (form) => {
      const response = await supertokensEmailPassword.signIn({
        formFields: [
          { id: "email", value: value(form, "email") },
          { id: "password", value: value(form, "password") },
        ],
      });
      if (response.status === "OK") return window.location.assign(safeNext(form.dataset.next));
      if (response.status === "WRONG_CREDENTIALS_ERROR") return showError("Wrong email or password.");
      if (response.status === "FIELD_ERROR") return showError(fieldErrors(response));
      showError(response.reason || "Signing in is not allowed for this account.");
    });
  }

  // "Sign in with Acme" through SuperTokens' ThirdParty recipe: the SDK asks the backend for Acme's authorization
  // URL (with a PKCE challenge), keeps the state and verifier, and sends the browser to Acme; Acme sends it back to
  // /account/callback/acme, where signInAndUp() finishes.
  const acmeButton = $("#sign-in-acme");
  if (acmeButton && page === "login") {
    acmeButton.addEventListener("click", async () => {
      showError("");
      acmeButton.disabled = true;
      try {
        const url = await supertokensThirdParty.getAuthorisationURLWithQueryParamsAndSetState({
          thirdPartyId: "acme",
          frontendRedirectURI: window.location.origin + "/account/callback/acme",
        });
        window.location.assign(url);
      } catch (err) {
        showError(describe(err));
        acmeButton.disabled = false;
      }
    });
  }

  if (page === "thirdparty-callback") {
    (async () => {
      try {
        const response = await supertokensThirdParty.signInAndUp();
        if (response.status === "OK") return window.location.replace("/notes");
        if (response.status === "NO_EMAIL_GIVEN_BY_PROVIDER")
          return showError("Acme did not share an email address, which this app needs.");
        showError(response.reason || "Signing in with Acme is not allowed for this account.");
      } catch (err) {
        showError(describe(err));
      }
    })();
  }

  if (page === "signup") {
    bindForm("#sign-up-form", async (form) => {
      const response = await supertokensEmailPassword.signUp({
        formFields: [
          { id: "email", value: value(form, "email") },
          { id: "password", value: value(form, "password") },
        ],
      });
      if (response.status === "OK") return window.location.assign("/notes");
      // An email that exists only in the legacy users table is taken too: legacyAuth() answers as SuperTokens does.
      if (response.status === "FIELD_ERROR") return showError(fieldErrors(response));
      showError(response.reason || "Signing up is not allowed.");
    });
  }

  if (page === "forgot-password") {
    bindForm("#forgot-form", async (form) => {
      const response = await supertokensEmailPassword.sendPasswordResetEmail({
        formFields: [{ id: "email", value: value(form, "email") }],
      });
      if (response.status === "FIELD_ERROR") return showError(fieldErrors(response));
      if (response.status !== "OK")
        return showError(response.reason || "Password reset is not allowed for this account.");
      $("#form-done").classList.remove("hidden");
    });
  }

  if (page === "reset-password") {
    bindForm("#reset-form", async (form) => {
      // Reads ?token= from this page's URL, as the email link put it there.
      const response = await supertokensEmailPassword.submitNewPassword({
        formFields: [{ id: "password", value: value(form, "password") }],
      });
      if (response.status === "OK") return window.location.assign("/login?reset=1");
      if (response.status === "RESET_PASSWORD_INVALID_TOKEN_ERROR")
        return showError("This link has expired or was already used. Ask for a new one.");
      if (response.status === "FIELD_ERROR") return showError(fieldErrors(response));
      showError("The password could not be changed.");
    });
  }

  /** The SDK's fetch: refreshes on "try refresh token" and retries, invisibly. */
  async function api(method, path, body) {
    const response = await fetch(path, {
      method,
      headers: body ? { "content-type": "application/json" } : {},
      body: body ? JSON.stringify(body) : undefined,
    });
    if (response.status === 401) {
      window.location.assign("/login?next=" + encodeURIComponent(window.location.pathname));
      return undefined;
    }
    if (!response.ok) {
      const text = await response.json().catch(() => ({}));
      throw Object.assign(new Error(text.message || "Request failed (" + response.status + ")"), {
        isSuperTokensGeneralError: true,
      });
    }
    return response.json();
  }

  if (page === "notes") {
    bindForm("#add-note-form", async (form) => {
      const saved = await api("POST", "/api/notes", { body: value(form, "body") });
      if (saved) window.location.reload();
    });
    document.querySelectorAll("form.delete-note").forEach((form) => {
      form.addEventListener("submit", async (event) => {
        event.preventDefault();
        try {
          if (await api("DELETE", "/api/notes/" + form.dataset.noteId)) window.location.reload();
        } catch (err) {
          showError(describe(err));
        }
      });
    });
  }

  // Refresh pages in a row with no other page between means the server keeps refusing the refreshed token
  // (a clock far off, say): stop instead of reloading forever. Any other page resets the count.
  const REFRESH_COUNT = "supertokens-demo:refreshes-in-a-row";
  if (page !== "refresh") window.sessionStorage.removeItem(REFRESH_COUNT);

  if (page === "refresh") {
    (async () => {
      const inARow = Number(window.sessionStorage.getItem(REFRESH_COUNT) || 0) + 1;
      window.sessionStorage.setItem(REFRESH_COUNT, String(inARow));
      if (inARow > 3) return showError("Your session could not be refreshed. Please sign in again.");
      try {
        if (await supertokensSession.attemptRefreshingSession()) return window.location.reload();
        window.location.replace("/login?next=" + encodeURIComponent(window.location.pathname + window.location.search));
      } catch (err) {
        showError(describe(err));
      }
    })();
  }
})();
