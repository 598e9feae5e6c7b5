import type { ImportAlgorithm } from "../hashes/index.js";
import type { ExistingUsers } from "./existing.js";
import { checkHash } from "../hashes/import-check.js";
import type { InputScan } from "./input.js";
import { pendingEmailFor } from "./pending.js";
import type { RowProblem, SourceUser } from "./rows.js";

export type SkipReason = "already-imported" | "email-exists" | "missing-hash" | "unsupported-hash";
export type FailReason = RowProblem["reason"] | "duplicate-id" | "duplicate-email" | "core-rejected" | "conflict";

export type Outcome =
  | { kind: "imported"; row: number; id: string }
  | { kind: "skipped"; row: number; id: string; reason: SkipReason; detail?: string }
  | { kind: "failed"; row: number; id: string | null; reason: FailReason; detail?: string };

export interface Warning {
  row: number;
  id: string;
  reason: "weak-hash";
  detail: string;
}

/**
 * A user to create. `resume`: a killed per-user run left it half made; it is finished one by one. Without a
 * password hash it has a third-party identity (a ThirdParty user); with both, two linked login methods.
 */
export interface Candidate extends SourceUser {
  passwordHash: string | undefined;
  algorithm: ImportAlgorithm | undefined;
  resume: boolean;
}

/** What one row comes to before anything is written: an outcome, or a user to create (maybe with a warning). */
export type Decision = { outcome: Outcome } | { candidate: Candidate; warning?: Warning };

/**
 * Decide a row before writing anything: rows that cannot be users and collisions inside the input fail
 * (collisions are reported, never resolved by guessing which row is right, T22); users SuperTokens already has
 * are skipped and never touched (T16); hashes the core cannot import are skipped and left to legacyAuth().
 * `input` counts ids and emails over the whole input, so a row is decided as it is read.
 */
export function decideRow(
  r: SourceUser | RowProblem,
  input: Pick<InputScan, "idCount" | "emailCount">,
  existing: ExistingUsers,
): Decision {
  if ("reason" in r) return { outcome: { kind: "failed", row: r.row, id: r.id, reason: r.reason, detail: r.detail } };
  const { row, id } = r;
  const ids = input.idCount(id);
  if (ids > 1)
    return { outcome: { kind: "failed", row, id, reason: "duplicate-id", detail: `${ids} rows have this id` } };
  const emails = input.emailCount(r.email);
  if (emails > 1)
    return {
      outcome: { kind: "failed", row, id, reason: "duplicate-email", detail: `${emails} rows have this email` },
    };
  let resume: boolean;
  const held = existing.byId(id);
  if (held !== undefined) {
    if (held === "complete") return { outcome: { kind: "skipped", row, id, reason: "already-imported" } };
    resume = true;
  } else {
    // A ThirdParty user may share its email with an email-password user; only an email-password login collides.
    if (r.passwordHash !== undefined && existing.hasEmail(r.email))
      return {
        outcome: {
          kind: "skipped",
          row,
          id,
          reason: "email-exists",
          detail: "another SuperTokens user has this email",
        },
      };
    resume = existing.pending > 0 && existing.hasEmail(pendingEmailFor(id));
  }
  if (r.passwordHash === undefined && r.thirdParty) {
    return { candidate: { ...r, passwordHash: undefined, algorithm: undefined, resume } };
  }
  if (r.passwordHash === undefined) {
    return {
      outcome: {
        kind: "skipped",
        row,
        id,
        reason: "missing-hash",
        detail:
          "no password hash: left to legacyAuth() or a reset. If the source holds hashes under another column " +
          "name than password_hash or passwordHash, pass --map passwordHash=<column>",
      },
    };
  }
  const hash = checkHash(r.passwordHash);
  if (!hash.ok) return { outcome: { kind: "skipped", row, id, reason: "unsupported-hash", detail: hash.detail } };
  const candidate: Candidate = { ...r, passwordHash: hash.passwordHash, algorithm: hash.algorithm, resume };
  return hash.weak ? { candidate, warning: { row, id, reason: "weak-hash", detail: hash.weak } } : { candidate };
}
