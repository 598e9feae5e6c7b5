import type { Route } from "../context.js";
import { bulkImportRoutes } from "./bulkimport.js";
import { emailPasswordRoutes } from "./emailpassword.js";
import { emailVerificationRoutes } from "./emailverification.js";
import { metaRoutes } from "./meta.js";
import { metadataRoutes } from "./metadata.js";
import { multitenancyRoutes } from "./multitenancy.js";
import { sessionRoutes } from "./session.js";
import { userIdMappingRoutes } from "./useridmapping.js";
import { userRoutes } from "./users.js";

export const routes: Route[] = [
  ...metaRoutes,
  ...multitenancyRoutes,
  ...sessionRoutes,
  ...emailPasswordRoutes,
  ...userRoutes,
  ...userIdMappingRoutes,
  ...metadataRoutes,
  ...emailVerificationRoutes,
  ...bulkImportRoutes,
];
