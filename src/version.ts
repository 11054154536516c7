// The package's name and version as the code knows them (the CLI's
// --version, every run manifest). test/repro/manifest.test.mjs checks they
// equal package.json's, so a release cannot forget one of them.
export const PACKAGE_NAME = "acdc-wasm";
export const PACKAGE_VERSION = "0.1.0";
