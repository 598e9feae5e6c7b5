import type { Route } from "../context.js";
import { field, queryParam } from "../http.js";
import { updateMetadata } from "../users.js";

const rid = "usermetadata";

/** Metadata is keyed by the id exactly as given: the external id once a mapping exists. */
export const metadataRoutes: Route[] = [
  {
    method: "GET",
    path: "/recipe/user/metadata",
    scope: "app",
    rid,
    async handler({ app, query }) {
      const metadata = (await app.storage.getMetadata(queryParam(query, "userId", true))) ?? {};
      return { body: { metadata, status: "OK" } };
    },
  },
  {
    method: "PUT",
    path: "/recipe/user/metadata",
    scope: "app",
    rid,
    async handler({ app, body }) {
      const userId = field(body, "userId", "string", true);
      const metadata = await updateMetadata(app.storage, userId, field(body, "metadataUpdate", "object", true));
      return { body: { metadata, status: "OK" } };
    },
  },
  {
    method: "POST",
    path: "/recipe/user/metadata/remove",
    scope: "app",
    rid,
    async handler({ app, body }) {
      await app.storage.deleteMetadata(field(body, "userId", "string", true));
      return { body: { status: "OK" } };
    },
  },
];
