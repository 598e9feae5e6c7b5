import { ConfigError } from "../errors.js";
import { sdkRecipe } from "../sdk-internals.js";
import { authLog } from "./log.js";

/**
 * Carried by the functions legacyAuth gives ThirdParty and Passwordless. The SDK's override builder copies
 * non-function values onto the recipe's built implementation, so the initialised recipe shows whether our layer is
 * in it, whatever the app's own override does on top.
 */
export const GUARD_MARKER = "supertokensMigrateLegacyAuth";

/** The recipes that can give an identity an email, each with the part of legacyAuth()'s result that guards it. */
const GUARDED = [
  { recipeId: "thirdparty", init: "ThirdParty", property: "thirdParty" },
  { recipeId: "passwordless", init: "Passwordless", property: "passwordless" },
] as const;

/** Recipe instances already checked (one SDK init each): the check is a property read, once per instance. */
const checked = new WeakSet<object>();
const said = new Set<string>();

/**
 * With legacyAuth in use, ThirdParty or Passwordless initialised without its override would let anyone sign up with
 * a legacy-only user's email and hand that user's id to a stranger (issue 11, item 1). Throws
 * ERR_MIGRATE_RECIPE_NOT_GUARDED naming the fix, and says it once without DEBUG. Before supertokens.init() there is
 * nothing to check.
 */
export function assertRecipesGuarded(): void {
  for (const { recipeId, init, property } of GUARDED) {
    const recipe = sdkRecipe(recipeId);
    if (!recipe || checked.has(recipe)) continue;
    if (recipe.recipeInterfaceImpl?.[GUARD_MARKER] === true) {
      checked.add(recipe);
      continue;
    }
    const message =
      `legacyAuth: ${init} is initialised without legacyAuth's override, so its sign-ups can take the email (and ` +
      `then the account) of users still in the legacy table. Pass it: const legacy = legacyAuth({ ... }); ` +
      `${init}.init({ ..., override: legacy.${property} }) (your own ${init} overrides go in legacyAuth's ` +
      `${property}Override option).`;
    if (!said.has(recipeId)) {
      said.add(recipeId);
      // A loud line: with this misconfiguration the recipe's own endpoints never reach legacyAuth at all.
      console.error(`supertokens-migrate: ${message}`);
    }
    authLog("%s is not guarded: refusing legacyAuth's work until it is", recipeId);
    throw new ConfigError("ERR_MIGRATE_RECIPE_NOT_GUARDED", message);
  }
}

let scheduled = false;

/**
 * Called whenever the SDK applies one of legacyAuth's overrides, i.e. inside supertokens.init(): once init has
 * returned (it is synchronous), every recipe exists and the check can say at start-up what is missing.
 */
export function checkAfterInit(): void {
  if (scheduled) return;
  scheduled = true;
  setImmediate(() => {
    scheduled = false;
    try {
      assertRecipesGuarded();
    } catch {
      // said loudly above; every later use of legacyAuth throws it again
    }
  }).unref();
}
