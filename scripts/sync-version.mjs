// `npm version` runs this (the `version` script): lib/version.ts follows package.json's version, so every
// build prints the version it ships with.
import { readFileSync, writeFileSync } from "node:fs";

const { version } = JSON.parse(readFileSync("package.json", "utf8"));
const file = "lib/version.ts";
const source = readFileSync(file, "utf8");
const next = source.replace(/packageVersion = "[^"]*"/, `packageVersion = ${JSON.stringify(version)}`);
if (next === source && !source.includes(`"${version}"`)) throw new Error(`${file}: packageVersion not found`);
writeFileSync(file, next);
