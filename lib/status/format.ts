import { AGE_BUCKETS } from "./sessions.js";
import type { MigrationStatus } from "./status.js";

const verdict = (canRetire: boolean | null) =>
  canRetire === true ? "can be retired" : canRetire === false ? "not yet" : "unknown";

const AGE_LABELS: Record<string, string> = {
  "under-1h": "under 1 hour",
  "1h-1d": "1 hour to 1 day",
  "1d-7d": "1 to 7 days",
  "7d-30d": "7 to 30 days",
  "over-30d": "over 30 days",
  unknown: "unknown",
};

/** `supertokens-migrate status` without `--json`: a summary, then each part with its verdict and next step. */
export function formatStatus(status: MigrationStatus): string {
  const lines: string[] = [];
  const { users, sessions, coordinator } = status;
  const summary: string[] = [];
  if (users?.moved != null) summary.push(`${users.moved} of ${users.total} users moved`);
  else if (users) summary.push(`${users.total} legacy users`);
  if (sessions) summary.push(`${sessions.loggedIn} signed-in legacy sessions left`);
  if (coordinator) summary.push(`${coordinator.migrated} sessions migrated`);
  lines.push(`Migration status (${status.checkedAt}): ${summary.join(", ")}.`);
  lines.push(status.done ? "Done: every part read can be retired." : "Not done yet.");

  if (users) {
    lines.push("", `Users: ${verdict(users.canRetire)}`);
    lines.push(`  in the users table   ${users.total}`);
    if (users.moved !== null) {
      lines.push(`  moved to SuperTokens ${users.moved}`);
      lines.push(`  legacy only          ${users.legacyOnly}`);
    }
    const h = users.legacyOnlyByHash;
    lines.push(
      `  ${users.moved !== null ? "of which" : "by hash"}: importable ${h.importable}, sign-in or reset ` +
        `${h["verify-only"] + h.unrecognised + h.malformed} (verify-only ${h["verify-only"]}, unrecognised ` +
        `${h.unrecognised}, malformed ${h.malformed}), reset only ${h["missing-hash"]}`,
    );
    if (users.interrupted) lines.push(`  interrupted moves    ${users.interrupted}`);
    lines.push(`  Next: ${users.nextStep}`);
  }
  if (sessions) {
    lines.push("", `Legacy sessions (${sessions.store}): ${verdict(sessions.canRetire)}`);
    lines.push(
      `  signed in ${sessions.loggedIn}, anonymous ${sessions.anonymous}, expired ${sessions.expired}` +
        (sessions.unreadable ? `, unreadable ${sessions.unreadable}` : ""),
    );
    if (sessions.loggedIn > 0) {
      lines.push("  signed in, by time since last saved:");
      for (const bucket of [...AGE_BUCKETS.map((b) => b.bucket), "unknown" as const])
        if (sessions.byAge[bucket] > 0) lines.push(`    ${AGE_LABELS[bucket].padEnd(16)} ${sessions.byAge[bucket]}`);
    }
    lines.push(`  Next: ${sessions.nextStep}`);
  }
  if (coordinator) {
    lines.push("", `Coordinator: ${verdict(coordinator.canRetire)}`);
    lines.push(
      `  migrated markers ${coordinator.migrated}, in flight ${coordinator.inFlight}, reusable results ` +
        `${coordinator.reusable}`,
    );
    lines.push(`  Next: ${coordinator.nextStep}`);
  }
  return lines.join("\n") + "\n";
}
