// Module resolve hook: `fs` / `node:fs` imported from inside the conformance package resolves to
// a shim that adds globSync; every other importer gets the real module.
const SHIM = new URL('./fs-globsync-shim.mjs', import.meta.url).href;

export async function resolve(specifier, context, next) {
  if ((specifier === 'fs' || specifier === 'node:fs') && context.parentURL?.includes('/@modelcontextprotocol/conformance/')) {
    return { url: SHIM, shortCircuit: true };
  }
  return next(specifier, context);
}
