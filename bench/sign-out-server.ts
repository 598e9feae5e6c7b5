// The app under load for bench/sign-out.ts, in its own process: the same SuperTokens session checked by
// `verifySession()` (the JWT's signature and expiry, locally) and by `verifySession({ checkDatabase: true })`
// (the same, then one call to the core), on one Express app and one SDK. Prints "listening on <url>".
// Args: <core url>.
import express from "express";
import supertokens from "supertokens-node";
import Session from "supertokens-node/recipe/session";
import { verifySession } from "supertokens-node/recipe/session/framework/express";
import { errorHandler, middleware } from "supertokens-node/framework/express";

const coreUrl = process.argv[2];

supertokens.init({
  supertokens: { connectionURI: coreUrl },
  appInfo: {
    appName: "bench",
    apiDomain: "http://localhost:3001",
    websiteDomain: "http://localhost:3000",
    apiBasePath: "/auth",
  },
  recipeList: [Session.init({ getTokenTransferMethod: () => "cookie" })],
});
const app = express();
app.use(middleware());
const me = (req: express.Request, res: express.Response) => {
  res.json({ userId: (req as unknown as { session: Session.SessionContainer }).session.getUserId() });
};
app.get("/local/me", verifySession() as unknown as express.RequestHandler, me);
app.get("/db/me", verifySession({ checkDatabase: true }) as unknown as express.RequestHandler, me);
app.post("/login/:id", async (req, res) => {
  await Session.createNewSession(req, res, "public", supertokens.convertToRecipeUserId(req.params.id));
  res.json({ ok: true });
});
app.use(errorHandler());
const server = app.listen(0, "127.0.0.1", () => {
  const { port } = server.address() as { port: number };
  process.stdout.write(`listening on http://127.0.0.1:${port}\n`);
});
process.once("SIGTERM", () => server.close(() => process.exit(0)));
