import type { AppContext } from "./context.js";
import type { UserRecord } from "./storage/types.js";

/** Map any id (SuperTokens or external) to the SuperTokens id; unknown ids come back unchanged. */
export async function toSuperTokensId(app: AppContext, id: string): Promise<string> {
  const m = await app.storage.getMapping(id, "EXTERNAL");
  return m ? m.superTokensUserId : id;
}

/** The id the core reports for a SuperTokens id: the external one when mapped. */
export async function toReportedId(app: AppContext, superTokensId: string): Promise<string> {
  const m = await app.storage.getMapping(superTokensId, "SUPERTOKENS");
  return m ? m.externalUserId : superTokensId;
}

/** Find a user by either kind of id. */
export async function findUser(app: AppContext, id: string): Promise<UserRecord | undefined> {
  return (await app.storage.getUser(id)) ?? (await app.storage.getUser(await toSuperTokensId(app, id)));
}

/**
 * The user JSON of CDI 5.3+ (AuthRecipeUserInfo.toJson). Without account linking every user is a recipe
 * user with one login method. `verified` is read under the reported id, where email verification lives.
 */
export async function userJson(app: AppContext, user: UserRecord): Promise<Record<string, unknown>> {
  const id = await toReportedId(app, user.id);
  const verified = await app.storage.isEmailVerified(id, user.email);
  return {
    id,
    isPrimaryUser: false,
    tenantIds: user.tenantIds,
    timeJoined: user.timeJoined,
    emails: [user.email],
    phoneNumbers: [],
    thirdParty: [],
    webauthn: { credentialIds: [] },
    loginMethods: [
      {
        tenantIds: user.tenantIds,
        recipeUserId: id,
        verified,
        timeJoined: user.timeJoined,
        recipeId: user.recipeId,
        email: user.email,
      },
    ],
  };
}
