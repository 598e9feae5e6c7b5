import type { Route } from "../context.js";
import { accountLinkingRoutes } from "./account-linking.js";
import { bulkImportRoutes } from "./bulk-import.js";
import { emailPasswordRoutes } from "./email-password.js";
import { emailVerificationRoutes } from "./email-verification.js";
import { metaRoutes } from "./meta.js";
import { metadataRoutes } from "./metadata.js";
import { userRolesRoutes } from "./user-roles.js";
import { multitenancyRoutes } from "./multitenancy.js";
import { passwordlessRoutes } from "./passwordless.js";
import { sessionRoutes } from "./session.js";
import { thirdPartyRoutes } from "./third-party.js";
import { userIdMappingRoutes } from "./user-id-mapping.js";
import { userRoutes } from "./users.js";

export const routes: Route[] = [
  ...metaRoutes,
  ...multitenancyRoutes,
  ...sessionRoutes,
  ...emailPasswordRoutes,
  ...thirdPartyRoutes,
  ...passwordlessRoutes,
  ...userRoutes,
  ...accountLinkingRoutes,
  ...userIdMappingRoutes,
  ...metadataRoutes,
  ...userRolesRoutes,
  ...emailVerificationRoutes,
  ...bulkImportRoutes,
];
