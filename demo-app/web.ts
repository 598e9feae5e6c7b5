import { readdirSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import express, { type Router } from "express";

const here = path.dirname(fileURLToPath(import.meta.url));

/** `?next=` only ever leads somewhere on this site: a path, never `//evil.example` or a full URL. */
export function safeNext(value: unknown): string {
  return typeof value === "string" && value.startsWith("/") && !value.startsWith("//") && !value.includes("\\")
    ? value
    : "/notes";
}

/** A small SVG icon (a note): browsers ask for /favicon.ico on every page, and a 404 clutters the console. */
export const faviconSvg =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">' +
  '<rect x="5" y="3" width="22" height="26" rx="3" fill="#2f6fde"/>' +
  '<path d="M10 11h12M10 16h12M10 21h8" stroke="#fff" stroke-width="2.5" stroke-linecap="round"/></svg>';

/** The demo's stylesheet, browser script and icon. */
export function staticAssets(): Router {
  const router = express.Router();
  router.get(["/favicon.ico", "/favicon.svg"], (_req, res) => {
    res.type("image/svg+xml").set("Cache-Control", "public, max-age=86400").send(faviconSvg);
  });
  router.use("/assets", express.static(path.join(here, "public"), { index: false, maxAge: 0 }));
  return router;
}

/**
 * supertokens-web-js ships prebuilt browser bundles (webpack chunks with content hashes in their names, plus
 * `website.<hash>.js`, the runtime they attach to). They are served from node_modules under stable names, so the
 * pages need no build step and the names survive an upgrade of the SDK.
 */
export function superTokensWebBundles(): Router {
  const require = createRequire(import.meta.url);
  const dir = path.join(path.dirname(require.resolve("supertokens-web-js/package.json")), "bundle");
  const files = readdirSync(dir);
  const router = express.Router();
  for (const name of ["website", "supertokens", "session", "emailpassword", "thirdparty"]) {
    const file = files.find((f) => f.startsWith(`${name}.`) && f.endsWith(".js"));
    if (!file) throw new Error(`supertokens-web-js has no ${name} bundle in ${dir}; run npm ci`);
    router.get(`/sdk/${name}.js`, (_req, res) => {
      res.sendFile(path.join(dir, file), { headers: { "Cache-Control": "no-cache" } });
    });
  }
  return router;
}
