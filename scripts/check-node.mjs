// npm scripts must run on Node 24 (shipped by the `node` devDependency, whose
// binary npm puts first on PATH). Fail early and clearly on anything else.
const major = Number(process.versions.node.split(".")[0]);
if (major !== 24) {
  console.error(
    `minispod needs Node.js 24 LTS, but this script runs on ${process.version}.\n` +
      "Run it through npm (npm start / npm test) after `npm install`, which brings Node 24 as a devDependency.",
  );
  process.exit(1);
}
