// Node 20 shim for @modelcontextprotocol/conformance 0.1.16, which imports `globSync` from `fs`
// (added in Node 22). Use: NODE_OPTIONS="--import ./test/conformance/node20-compat.mjs".
// On Node 22+ it does nothing.
import { register } from 'node:module';
import fs from 'node:fs';

if (typeof fs.globSync !== 'function') register('./node20-compat-hooks.mjs', import.meta.url);
