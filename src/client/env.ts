/** Agent: environment variables (docs/hopx-wire.md §5.8). */
import type { AgentConnection } from './agent.js';
import { HopxError } from './errors.js';
import * as check from './validate.js';
import { asRecord } from './wire.js';
import type { CallOptions, EnvApi } from './types.js';

/** What GET /env shows instead of a secret-looking value. */
export const MASKED_VALUE = '***MASKED***';

const context = (operation: string) => ({ operation, resource: 'env' as const });

export class Env implements EnvApi {
  constructor(private readonly conn: AgentConnection) {}

  async getAll(call: CallOptions = {}): Promise<Record<string, string>> {
    const res = await this.conn.request<unknown>(
      { method: 'GET', path: '/env', response: 'json', context: context('read environment variables') },
      call,
    );
    const body = asRecord(res.data);
    // {env_vars: {...}, count, timestamp}; a bare map from older agents is accepted too.
    const vars = asRecord(body.env_vars ?? body.env ?? withoutMeta(body));
    const out: Record<string, string> = {};
    for (const [key, value] of Object.entries(vars)) {
      if (typeof value === 'string') out[key] = value;
      else if (typeof value === 'number' || typeof value === 'boolean') out[key] = String(value);
    }
    return out;
  }

  async replace(vars: Record<string, string>, call: CallOptions = {}): Promise<void> {
    const envVars = check.envVars(vars, 'vars');
    // 204 or 200 {env_vars}: both are success; nothing to read.
    await this.conn.request(
      { method: 'PUT', path: '/env', json: { env_vars: envVars }, response: 'none', context: context('replace environment variables') },
      call,
    );
  }

  async merge(vars: Record<string, string>, call: CallOptions = {}): Promise<void> {
    const envVars = check.envVars(vars, 'vars');
    await this.conn.request(
      {
        method: 'PATCH',
        path: '/env',
        json: { env_vars: envVars, merge: true },
        // Setting the same values twice changes nothing, so a retry is safe.
        idempotent: true,
        response: 'none',
        context: context('set environment variables'),
      },
      call,
    );
  }

  async delete(key: string, call: CallOptions = {}): Promise<void> {
    const name = check.envName(key, 'key');
    try {
      await this.conn.request(
        { method: 'DELETE', path: `/env/${encodeURIComponent(name)}`, response: 'none', context: context('delete an environment variable') },
        call,
      );
      return;
    } catch (error) {
      if (!(error instanceof HopxError && (error.status === 404 || error.status === 405))) throw error;
    }
    // No per-key route: fall back to read-all, drop one, write-all (what both SDKs do) — but GET
    // masks secret-looking values, and writing them back would replace real secrets with the mask.
    const current = await this.getAll(call);
    if (!(name in current)) return;
    delete current[name];
    const masked = Object.keys(current).filter((k) => current[k] === MASKED_VALUE);
    if (masked.length > 0) {
      throw new HopxError(
        `Cannot delete ${name}: this agent has no per-variable delete, and rewriting the rest would overwrite the masked ` +
          `value(s) of ${masked.join(', ')} with "${MASKED_VALUE}". Set ${name} to an empty string with a merge instead, ` +
          'or clear all variables and set them again.',
        { code: 'ENV_DELETE_UNSAFE' },
      );
    }
    await this.replace(current, call);
  }

  async clear(call: CallOptions = {}): Promise<void> {
    await this.conn.request(
      { method: 'DELETE', path: '/env', response: 'none', context: context('clear environment variables') },
      call,
    );
  }
}

function withoutMeta(body: Record<string, unknown>): Record<string, unknown> {
  const { count: _count, timestamp: _timestamp, request_id: _requestId, ...rest } = body;
  return rest;
}
