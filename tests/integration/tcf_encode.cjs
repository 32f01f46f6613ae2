// TC strings from IAB Tech Lab's own encoder (@iabtechlabtcf/core, installed by make deps into
// $ADSX_CACHE_DIR/npm): the consent tests' source, independent of our decoder.
//   node tcf_encode.cjs 1,2,3,4,7 1,7   -> one TC string per line, consenting those purposes
// Vendors 1-50 consented; a vendor list of our own (the official one cannot be fetched here).
const path = require("path");
const os = require("os");
const cache =
  process.env.ADSX_CACHE_DIR ||
  path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), ".cache"), "adstreamx");
const { GVL, TCModel, TCString } = require(
  path.join(cache, "npm", "node_modules", "@iabtechlabtcf", "core"),
);

const purposes = {};
for (let i = 1; i <= 11; i++) purposes[i] = { id: i, name: `purpose ${i}`, description: "" };
const vendors = {};
for (let i = 1; i <= 50; i++) {
  vendors[i] = {
    id: i, name: `vendor ${i}`, purposes: [1, 2, 3, 4, 7], legIntPurposes: [],
    flexiblePurposes: [], specialPurposes: [], features: [], specialFeatures: [],
  };
}
const gvl = new GVL({
  gvlSpecificationVersion: 3, vendorListVersion: 5, tcfPolicyVersion: 4,
  lastUpdated: "2026-01-01T00:00:00Z", purposes, specialPurposes: {}, features: {},
  specialFeatures: {}, vendors, stacks: {}, dataCategories: {},
});

for (const arg of process.argv.slice(2)) {
  const m = new TCModel(gvl);
  m.cmpId = 10;
  m.cmpVersion = 1;
  m.consentScreen = 1;
  m.consentLanguage = "EN";
  m.publisherCountryCode = "DE";
  m.isServiceSpecific = true;
  m.purposeConsents.set(arg ? arg.split(",").map(Number) : []);
  m.vendorConsents.set([...Array(50).keys()].map((i) => i + 1));
  console.log(TCString.encode(m));
}
