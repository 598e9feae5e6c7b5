/**
 * Debian's Chromium driven by playwright-core: no browser download. A missing Chromium fails the suite (a skipped
 * browser test would hide a broken demo).
 */
import { accessSync, constants, mkdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type Browser, type Page } from "playwright-core";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

export async function launchChromium(): Promise<Browser> {
  const executablePath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
  try {
    accessSync(executablePath, constants.X_OK);
  } catch {
    throw new Error(
      `Chromium is not at ${executablePath}. Install Debian's chromium (apt-get install chromium) or set ` +
        `CHROMIUM_PATH.`,
    );
  }
  // Never --user-data-dir here: launch() already gives every run a fresh temporary profile.
  return chromium.launch({
    executablePath,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

/** Screenshots of the key steps, kept as test artifacts in spec/artifacts/<group>/ (gitignored). */
export function screenshotter(group: string) {
  const dir = path.join(root, "spec", "artifacts", group);
  mkdirSync(dir, { recursive: true });
  return async (page: Page, name: string) => {
    await page.screenshot({ path: path.join(dir, `${name}.png`), fullPage: true });
  };
}
