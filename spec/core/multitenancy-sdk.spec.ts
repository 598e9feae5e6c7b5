/**
 * The real supertokens-node Multitenancy recipe against the dev core: tenant creation through PUT
 * /recipe/multitenancy/tenant/v2, where login methods are configured by firstFactors only.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import supertokens from "supertokens-node";
import Multitenancy from "supertokens-node/recipe/multitenancy";
import { startDevCore, type DevCore } from "../../lib/core/index.js";
import { appInfo, createCoreApp, resetSdk } from "../helpers/sdk.js";

let core: DevCore;
before(async () => {
  core = await startDevCore();
});
after(async () => {
  await core.close();
});

async function setup(): Promise<string> {
  const uri = await createCoreApp(core.url);
  resetSdk();
  supertokens.init({ supertokens: { connectionURI: uri }, appInfo, recipeList: [Multitenancy.init()] });
  return uri;
}

describe("Multitenancy tenants on the dev core", () => {
  it("a tenant made with firstFactors keeps them; a new tenant without them has none", async () => {
    await setup();
    assert.equal((await Multitenancy.createOrUpdateTenant("t1", { firstFactors: ["otp-phone"] })).createdNew, true);
    assert.deepEqual((await Multitenancy.getTenant("t1"))?.firstFactors, ["otp-phone"]);
    assert.equal((await Multitenancy.createOrUpdateTenant("t2", {})).createdNew, true);
    assert.deepEqual((await Multitenancy.getTenant("t2"))?.firstFactors, []);
  });

  it("the v1 recipe switches are refused with the core's 400, and no tenant is made", async () => {
    const uri = await setup();
    // An app still written for the v1 API (supertokens-node before firstFactors) sends these through the SDK.
    const v1Config = { passwordlessEnabled: true } as Parameters<typeof Multitenancy.createOrUpdateTenant>[1];
    await assert.rejects(
      Multitenancy.createOrUpdateTenant("t1", v1Config),
      /status code: 400 and message: passwordlessEnabled is not allowed in this API version/,
    );
    const tenantIds = async () => (await Multitenancy.listAllTenants()).tenants.map((t) => t.tenantId);
    assert.deepEqual(await tenantIds(), ["public"]);
    for (const name of ["emailPasswordEnabled", "thirdPartyEnabled", "passwordlessEnabled"]) {
      const res = await fetch(`${uri}/recipe/multitenancy/tenant/v2`, {
        method: "PUT",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ tenantId: "t2", [name]: false, firstFactors: ["emailpassword"] }),
      });
      assert.equal(res.status, 400, name);
      assert.equal((await res.text()).trim(), `${name} is not allowed in this API version`);
    }
    assert.deepEqual(await tenantIds(), ["public"]);
  });
});
