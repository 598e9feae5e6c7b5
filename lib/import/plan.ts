import type { ImportAlgorithm } from "../hashes/index.js";
import type { ExistingUsers } from "./existing.js";
import { checkHash } from "../hashes/import-check.js";
import { isPendingEmail, pendingEmailFor } from "./pending.js";
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

/** A user to create. `resume`: a killed per-user run left it half made; it is finished one by one. */
export interface Candidate extends SourceUser {
  passwordHash: string;
  algorithm: ImportAlgorithm;
  resume: boolean;
}

export interface Plan {
  candidates: Candidate[];
  /** Users whose outcome is known before anything is written. */
  decided: Outcome[];
  warnings: Warning[];
}

const countBy = (values: string[]) => {
  const counts = new Map<string, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return counts;
};

/**
 * Decide, for every row, before writing anything: rows that cannot be users and collisions inside the input fail
 * (collisions are reported, never resolved by guessing which row is right, T22); users SuperTokens already has
 * are skipped and never touched (T16); hashes the core cannot import are skipped and left to legacyAuth().
 */
export function planImport(rows: (SourceUser | RowProblem)[], existing: ExistingUsers): Plan {
  const decided: Outcome[] = [];
  const candidates: Candidate[] = [];
  const warnings: Warning[] = [];
  const users = rows.filter((r): r is SourceUser => !("reason" in r));
  const ids = countBy(users.map((u) => u.id));
  const emails = countBy(users.map((u) => u.email));
  for (const r of rows) {
    if ("reason" in r) {
      decided.push({ kind: "failed", row: r.row, id: r.id, reason: r.reason, detail: r.detail });
      continue;
    }
    const { row, id } = r;
    if (ids.get(id)! > 1) {
      decided.push({ kind: "failed", row, id, reason: "duplicate-id", detail: `${ids.get(id)} rows have this id` });
      continue;
    }
    if (emails.get(r.email)! > 1) {
      decided.push({
        kind: "failed",
        row,
        id,
        reason: "duplicate-email",
        detail: `${emails.get(r.email)} rows have this email`,
      });
      continue;
    }
    let resume: boolean;
    const heldEmail = existing.byId.get(id);
    if (heldEmail !== undefined) {
      if (!isPendingEmail(heldEmail)) {
        decided.push({ kind: "skipped", row, id, reason: "already-imported" });
        continue;
      }
      resume = true;
    } else {
      const holder = existing.byEmail.get(r.email);
      if (holder !== undefined) {
        decided.push({
          kind: "skipped",
          row,
          id,
          reason: "email-exists",
          detail: "another SuperTokens user has this email",
        });
        continue;
      }
      resume = existing.byEmail.has(pendingEmailFor(id));
    }
    if (r.passwordHash === undefined) {
      decided.push({
        kind: "skipped",
        row,
        id,
        reason: "missing-hash",
        detail:
          "no password hash: left to legacyAuth() or a reset. If the source holds hashes under another column " +
          "name than password_hash or passwordHash, pass --map passwordHash=<column>",
      });
      continue;
    }
    const hash = checkHash(r.passwordHash);
    if (!hash.ok) {
      decided.push({ kind: "skipped", row, id, reason: "unsupported-hash", detail: hash.detail });
      continue;
    }
    if (hash.weak) warnings.push({ row, id, reason: "weak-hash", detail: hash.weak });
    candidates.push({ ...r, passwordHash: hash.passwordHash, algorithm: hash.algorithm, resume });
  }
  return { candidates, decided, warnings };
}
