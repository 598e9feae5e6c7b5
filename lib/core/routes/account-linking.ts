import { log } from "../../debug.js";
import { ok, status, type Route, type RouteContext, type RouteResult } from "../context.js";
import { badRequest, field, queryParam } from "../http.js";
import type { UserRecord } from "../storage/types.js";
import {
  findMapping,
  findUser,
  loginMethodsOf,
  primaryIdOf,
  primaryUserHolding,
  tenantsOf,
  toReportedId,
  userJson,
} from "../users.js";

const debug = log.extend("core");

/**
 * The recipe user (or primary user) an id names, either kind of id; 400 "Unknown user ID provided" as the core's
 * getAppIdentifierWithStorageAndUserIdMappingFromRequest and AuthRecipe answer for an id nobody holds.
 */
async function userOf(ctx: RouteContext, id: string): Promise<{ superTokensId: string; user: UserRecord }> {
  const mapping = await findMapping(ctx.app, id, "ANY");
  const superTokensId = mapping?.superTokensUserId ?? id;
  const user = await findUser(ctx.app, superTokensId);
  if (!user) throw badRequest("Unknown user ID provided");
  return { superTokensId, user };
}

/** A status naming another primary user by its reported id. */
async function conflict(ctx: RouteContext, s: string, found: { primaryUserId: string; description: string }) {
  return status(s, {
    primaryUserId: await toReportedId(ctx.app, found.primaryUserId),
    description: found.description,
  });
}

/** AuthRecipe.canCreatePrimaryUserHelper: what making `id` a primary user would do, without doing it. */
async function checkPrimary(
  ctx: RouteContext,
  id: string,
): Promise<{ result?: RouteResult; user: UserRecord; wasAlreadyAPrimaryUser: boolean }> {
  const { superTokensId, user } = await userOf(ctx, id);
  if (user.isLinkedOrPrimary) {
    const primaryUserId = primaryIdOf(user);
    if (primaryUserId === superTokensId) return { user, wasAlreadyAPrimaryUser: true };
    const result = await conflict(ctx, "RECIPE_USER_ID_ALREADY_LINKED_WITH_PRIMARY_USER_ID_ERROR", {
      primaryUserId,
      description: "This user ID is already linked to another user ID",
    });
    return { result, user, wasAlreadyAPrimaryUser: false };
  }
  const found = await primaryUserHolding(ctx.app, user, user.tenantIds, undefined);
  if (found) {
    const result = await conflict(ctx, "ACCOUNT_INFO_ALREADY_ASSOCIATED_WITH_ANOTHER_PRIMARY_USER_ID_ERROR", found);
    return { result, user, wasAlreadyAPrimaryUser: false };
  }
  return { user, wasAlreadyAPrimaryUser: false };
}

async function canCreatePrimary(ctx: RouteContext) {
  const { result, wasAlreadyAPrimaryUser } = await checkPrimary(ctx, queryParam(ctx.query, "recipeUserId", true));
  return result ?? ok({ wasAlreadyAPrimaryUser });
}

async function createPrimary(ctx: RouteContext) {
  const { result, user, wasAlreadyAPrimaryUser } = await checkPrimary(
    ctx,
    field(ctx.body, "recipeUserId", "string", true),
  );
  if (result) return result;
  if (!wasAlreadyAPrimaryUser) {
    await ctx.app.storage.setLink(user.id, user.id);
    debug("account linking: %s is a primary user", user.id);
  }
  const primary = (await ctx.app.storage.getUser(user.id)) ?? user;
  return ok({ wasAlreadyAPrimaryUser, user: await userJson(ctx.app, primary) });
}

/**
 * AuthRecipe.canLinkAccountsHelper: the primary user must be one, the recipe user must not belong to another
 * primary user, and no other primary user of their tenants may hold an account info of either.
 */
async function checkLink(
  ctx: RouteContext,
  recipeId: string,
  primaryId: string,
): Promise<{ result?: RouteResult; recipe: UserRecord; primaryUserId: string; alreadyLinked: boolean }> {
  const { user: primaryRecipe } = await userOf(ctx, primaryId);
  const { superTokensId: recipeSuperTokensId, user: recipe } = await userOf(ctx, recipeId);
  const primaryUserId = primaryIdOf(primaryRecipe);
  if (!primaryRecipe.isLinkedOrPrimary)
    return { result: status("INPUT_USER_IS_NOT_A_PRIMARY_USER"), recipe, primaryUserId, alreadyLinked: false };
  if (recipe.isLinkedOrPrimary) {
    if (primaryIdOf(recipe) === primaryUserId) return { recipe, primaryUserId, alreadyLinked: true };
    const owner = (await findUser(ctx.app, primaryIdOf(recipe))) ?? recipe;
    const result = status("RECIPE_USER_ID_ALREADY_LINKED_WITH_ANOTHER_PRIMARY_USER_ID_ERROR", {
      primaryUserId: await toReportedId(ctx.app, primaryIdOf(recipe)),
      description: "The input recipe user ID is already linked to another user ID",
      user: await userJson(ctx.app, owner),
    });
    return { result, recipe, primaryUserId, alreadyLinked: false };
  }
  if (recipeSuperTokensId !== recipe.id) throw badRequest("Unknown user ID provided");
  const methods = await loginMethodsOf(ctx.app, primaryRecipe);
  const tenantIds = [...new Set([...recipe.tenantIds, ...tenantsOf(methods)])];
  for (const lm of [recipe, ...methods]) {
    const found = await primaryUserHolding(ctx.app, lm, tenantIds, primaryUserId);
    if (found) {
      const result = await conflict(ctx, "ACCOUNT_INFO_ALREADY_ASSOCIATED_WITH_ANOTHER_PRIMARY_USER_ID_ERROR", found);
      return { result, recipe, primaryUserId, alreadyLinked: false };
    }
  }
  return { recipe, primaryUserId, alreadyLinked: false };
}

async function canLink(ctx: RouteContext) {
  const { result, alreadyLinked } = await checkLink(
    ctx,
    queryParam(ctx.query, "recipeUserId", true),
    queryParam(ctx.query, "primaryUserId", true),
  );
  if (result) return withoutUser(result);
  return ok({ accountsAlreadyLinked: alreadyLinked });
}

/** The check API names the other primary user but does not send it. */
function withoutUser(result: RouteResult): RouteResult {
  const { user: _user, ...body } = result.body as Record<string, unknown>;
  return { ...result, body };
}

/** Linking moves the recipe user under the primary user; its sessions end, as their user id has changed. */
async function link(ctx: RouteContext) {
  const { result, recipe, primaryUserId, alreadyLinked } = await checkLink(
    ctx,
    field(ctx.body, "recipeUserId", "string", true),
    field(ctx.body, "primaryUserId", "string", true),
  );
  if (result) return result;
  if (!alreadyLinked) {
    await ctx.app.storage.setLink(recipe.id, primaryUserId);
    const reported = await toReportedId(ctx.app, recipe.id);
    await ctx.app.storage.deleteSessions(await ctx.app.storage.findSessionHandles([reported], 0));
    debug("account linking: %s linked to %s", recipe.id, primaryUserId);
  }
  const primary = (await findUser(ctx.app, primaryUserId)) ?? recipe;
  return ok({ accountsAlreadyLinked: alreadyLinked, user: await userJson(ctx.app, primary) });
}

/**
 * AuthRecipe.unlinkAccounts: a linked recipe user becomes a user of its own. The primary user's own login method
 * cannot leave its id behind while others use it, so it is deleted instead; a lone primary user just stops
 * being one. The recipe user's sessions end.
 */
async function unlink(ctx: RouteContext) {
  const { superTokensId, user } = await userOf(ctx, field(ctx.body, "recipeUserId", "string", true));
  if (!user.isLinkedOrPrimary || user.id !== superTokensId)
    return ok({ wasRecipeUserDeleted: false, wasLinked: false });
  const { storage } = ctx.app;
  const reported = await toReportedId(ctx.app, user.id);
  const methods = await loginMethodsOf(ctx.app, user);
  let wasRecipeUserDeleted = false;
  if (primaryIdOf(user) === user.id && methods.length > 1) {
    await storage.deleteUser(user.id);
    wasRecipeUserDeleted = true;
  } else {
    await storage.setLink(user.id, undefined);
  }
  // Sessions of this login method only: the other login methods' sessions carry the same primary id.
  const handles = await storage.findSessionHandles([reported], 0);
  await storage.deleteSessions(handles);
  debug("account linking: %s unlinked (deleted: %s)", user.id, wasRecipeUserDeleted);
  return ok({ wasRecipeUserDeleted, wasLinked: true });
}

export const accountLinkingRoutes: Route[] = [
  { method: "GET", path: "/recipe/accountlinking/user/primary/check", scope: "app", handler: canCreatePrimary },
  { method: "POST", path: "/recipe/accountlinking/user/primary", scope: "app", handler: createPrimary },
  { method: "GET", path: "/recipe/accountlinking/user/link/check", scope: "app", handler: canLink },
  { method: "POST", path: "/recipe/accountlinking/user/link", scope: "app", handler: link },
  { method: "POST", path: "/recipe/accountlinking/user/unlink", scope: "app", handler: unlink },
];
