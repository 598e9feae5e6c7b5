/*
 * Legacy roles, shared by legacyAuth, dualSession and the import: reading what the app's users table or function
 * gives, and granting it as SuperTokens UserRoles through the app's supertokens-node SDK. A role is never a reason
 * to refuse a sign-in: one the core does not know (and may not create) or one that is not a valid role name is left
 * out, counted, logged with `debug`, and said once on console.error so an operator hears about it.
 */
import UserRoles from "supertokens-node/recipe/userroles";
import { ConfigError } from "./errors.js";
import { log } from "./debug.js";
import { sdkRecipe } from "./sdk-internals.js";

const debug = log.extend("roles");

/**
 * Roles as an app's users table or function gives them: one role, a comma-separated list, a JSON array or
 * PostgreSQL array literal in a text column, or an array (a PostgreSQL `text[]`, `json` or `jsonb` column arrives
 * as one). `null` and `undefined` mean none.
 */
export type LegacyRolesValue = string | readonly string[] | null | undefined;

/** The longest role the core stores (VARCHAR(255) in its roles table). */
export const MAX_ROLE_LENGTH = 255;

export interface ParsedRoles {
  /** Trimmed, non-empty, at most 255 characters, without duplicates, in the order given. */
  roles: string[];
  /** What could not be a role (not a string, or too long), as shown in logs (cut at 40 characters). */
  invalid: string[];
}

const shownRole = (value: unknown): string => {
  const text = typeof value === "string" ? value : (JSON.stringify(value) ?? String(value));
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
};

/** `{a,b,"c d"}`: a PostgreSQL array literal of a text column that holds `text[]` output. */
function fromArrayLiteral(text: string): unknown[] {
  const inner = text.slice(1, -1);
  const out: string[] = [];
  for (const m of inner.matchAll(/"((?:[^"\\]|\\.)*)"|([^,]+)/g)) {
    if (m[1] !== undefined) out.push(m[1].replace(/\\(.)/g, "$1"));
    else if (m[2].trim().toUpperCase() !== "NULL") out.push(m[2]);
  }
  return out;
}

/** Split what a column or function gave into roles; see `LegacyRolesValue`. */
export function parseRoles(value: unknown): ParsedRoles {
  let items: unknown[];
  if (value === null || value === undefined) items = [];
  else if (Array.isArray(value)) items = value;
  else if (typeof value === "string") {
    const text = value.trim();
    if (text.startsWith("[") && text.endsWith("]")) {
      try {
        const parsed: unknown = JSON.parse(text);
        items = Array.isArray(parsed) ? parsed : [text];
      } catch {
        items = text.slice(1, -1).split(",");
      }
    } else if (text.startsWith("{") && text.endsWith("}")) items = fromArrayLiteral(text);
    else items = text.split(",");
  } else items = [value];

  const roles: string[] = [];
  const invalid: string[] = [];
  for (const item of items) {
    if (typeof item !== "string") {
      if (item !== null && item !== undefined) invalid.push(shownRole(item));
      continue;
    }
    const role = item.trim();
    if (role === "") continue;
    if (role.length > MAX_ROLE_LENGTH) invalid.push(shownRole(role));
    else if (!roles.includes(role)) roles.push(role);
  }
  return { roles, invalid };
}

/** Counts of what happened to legacy roles, for `stats()`. */
export interface RoleStats {
  /** Roles given to moved users (a role the user already held counts too). */
  granted: number;
  /** Roles this process created in the core because a moved user had them. */
  created: number;
  /** Roles left out because the core does not know them and `createRoles` is false (or it was deleted meanwhile). */
  unknown: number;
  /** Values left out because they cannot be a role: not a string, or longer than 255 characters. */
  invalid: number;
}

/** Said once per process for each cause; the same prefix as the package's other loud lines. */
const said = new Set<string>();
function sayOnce(cause: string, message: string): void {
  if (said.has(cause)) return;
  said.add(cause);
  console.error(`supertokens-migrate: ${message}`);
}

/**
 * Grants legacy roles as SuperTokens UserRoles through the SDK (UserRoles.init must be in the app's recipeList:
 * it also puts the roles claim in every new session). One per legacyAuth or dualSession, which owns its counters.
 */
export class LegacyRoleGranter {
  private readonly counts: RoleStats = { granted: 0, created: 0, unknown: 0, invalid: 0 };
  /** Roles known to exist in the core, so a role is created at most once per process (and again if deleted). */
  private readonly known = new Set<string>();

  constructor(
    /** "legacyAuth" or "dualSession", for messages. */
    private readonly owner: string,
    private readonly createRoles: boolean,
  ) {}

  stats(): RoleStats {
    return { ...this.counts };
  }

  /** Count and report values that cannot be roles; the caller grants the rest. */
  reportInvalid(userId: string, invalid: readonly string[]): void {
    if (invalid.length === 0) return;
    this.counts.invalid += invalid.length;
    debug(
      "%s: %d value(s) for user %s cannot be roles (not a string, or over 255 characters): left out",
      this.owner,
      invalid.length,
      userId,
    );
    sayOnce(
      `${this.owner}:invalid`,
      `${this.owner}: a legacy user's roles held values that cannot be SuperTokens roles (not a string, or longer ` +
        `than ${MAX_ROLE_LENGTH} characters); they were left out and the sign-in went on. stats().roles.invalid ` +
        `counts them; DEBUG=supertokens-migrate:roles names the users.`,
    );
  }

  /**
   * Give `userId` (the id sessions carry: the legacy id) each role in `tenantId`, creating roles the core lacks
   * unless `createRoles` is false. Throws what the SDK throws when the core cannot be reached.
   */
  async grant(tenantId: string, userId: string, roles: readonly string[], userContext?: object): Promise<string[]> {
    if (roles.length === 0) return [];
    if (!sdkRecipe("userroles")) {
      throw new ConfigError(
        "ERR_MIGRATE_SDK_NOT_INITIALISED",
        `${this.owner}: legacy roles need the UserRoles recipe: add UserRoles.init() (supertokens-node/recipe/` +
          `userroles) to supertokens.init's recipeList, or leave out the roles option.`,
      );
    }
    const context = userContext as Record<string, unknown> | undefined;
    const granted: string[] = [];
    for (const role of roles) {
      for (let attempt = 0; attempt < 2; attempt++) {
        if (this.createRoles && !this.known.has(role)) {
          const created = await UserRoles.createNewRoleOrAddPermissions(role, [], context);
          if (created.createdNewRole) {
            this.counts.created++;
            debug("%s: created role %o in the core", this.owner, role);
          }
          this.known.add(role);
        }
        const added = await UserRoles.addRoleToUser(tenantId, userId, role, context);
        if (added.status === "OK") {
          this.counts.granted++;
          granted.push(role);
          break;
        }
        // Deleted since we created or saw it: create it once more when we may, else report it.
        this.known.delete(role);
        if (this.createRoles && attempt === 0) continue;
        this.counts.unknown++;
        debug("%s: role %o of user %s is unknown to the core; left out", this.owner, role, userId);
        sayOnce(
          `${this.owner}:unknown`,
          `${this.owner}: a legacy user's role ${JSON.stringify(role)} does not exist in the SuperTokens core and ` +
            `createRoles is false; it was left out and the sign-in went on. Create the app's roles first ` +
            `(UserRoles.createNewRoleOrAddPermissions), or set createRoles: true. stats().roles.unknown counts them.`,
        );
        break;
      }
    }
    debug("%s: user %s now holds %o in tenant %s", this.owner, userId, granted, tenantId);
    return granted;
  }
}
