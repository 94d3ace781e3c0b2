/**
 * /env: the sandbox's custom variables (create env_vars + writes here), seen by every later
 * execution and command (request env still wins).
 *
 * Masking: like HopX, GET masks values whose names look secret (KEY, SECRET, PASSWORD, TOKEN,
 * CREDENTIAL, PRIVATE) as `***MASKED***`; `?reveal=true` returns real values. Writing the mask
 * string back (the SDKs' "GET, drop one, PUT the rest" delete) keeps the stored value instead of
 * overwriting it, which removes the hazard described in docs/hopx-wire.md §5.8.
 */
import { type Router, nowIso, readJsonBody, sendJson, sendNoContent } from '../http.js';
import type { AgentContext } from './context.js';
import { stringMap } from './fields.js';

const MASK = '***MASKED***';
const SECRET_NAME = /KEY|SECRET|PASSWORD|PASSWD|TOKEN|CREDENTIAL|PRIVATE/i;

export function registerEnvRoutes(router: Router, ctx: AgentContext): void {
  const env = ctx.sandbox.env;

  router.add('GET', '/env', ({ res, url }) => {
    const reveal = ['1', 'true', 'yes'].includes(url.searchParams.get('reveal') ?? '');
    const envVars: Record<string, string> = {};
    for (const [k, v] of env) envVars[k] = !reveal && SECRET_NAME.test(k) ? MASK : v;
    sendJson(res, 200, { env_vars: envVars, count: env.size, masked: !reveal, timestamp: nowIso() });
  });

  const write = async (req: import('node:http').IncomingMessage, replace: boolean) => {
    const body = await readJsonBody(req);
    const incoming = stringMap(body, body.env_vars !== undefined ? 'env_vars' : 'env');
    const merged = new Map<string, string>();
    for (const [k, v] of Object.entries(incoming)) {
      merged.set(k, v === MASK && env.has(k) ? env.get(k)! : v);
    }
    if (replace) env.clear();
    for (const [k, v] of merged) env.set(k, v);
  };

  router.add('PUT', '/env', async ({ req, res }) => {
    await write(req, true);
    sendNoContent(res);
  });
  router.add('PATCH', '/env', async ({ req, res }) => {
    await write(req, false);
    sendNoContent(res);
  });
  router.add('POST', '/env', async ({ req, res }) => {
    await write(req, false);
    sendNoContent(res);
  });
  router.add('DELETE', '/env', ({ res }) => {
    env.clear();
    sendNoContent(res);
  });
  router.add('DELETE', '/env/:key', ({ res, params }) => {
    env.delete(params.key);
    sendNoContent(res);
  });
}
