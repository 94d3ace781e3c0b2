/** Control plane contract: exact requests and parsing of each documented response variant. */
import { describe, expect, it } from 'vitest';
import {
  AuthenticationError,
  HopxClient,
  SandboxNotFoundError,
  SandboxNotRunningError,
  TemplateNotFoundError,
  ValidationError,
} from '../../src/client/index.js';
import { fakeJwt, flatError, inOneDay, nestedError, sandboxBody, TEST_API_KEY } from '../support/wire-server.js';
import { SANDBOX_ID, TOKEN_1, TOKEN_2, useWireServer } from './helpers.js';

const h = useWireServer();

describe('sandboxes.create', () => {
  it('POSTs the documented body with X-API-Key, maps the sandbox and keeps the token out of the result', async () => {
    h.wire.on('POST', '/v1/sandboxes', {
      status: 201,
      json: { ...sandboxBody(SANDBOX_ID, h.wire.url), auth_token: TOKEN_1, token_expires_at: inOneDay() },
    });
    const info = await h.client.sandboxes.create({ template: 'code-interpreter', region: 'us-east', timeoutSeconds: 600, internetAccess: false });
    const [req] = h.wire.calls('/v1/sandboxes', 'POST');
    expect(req.headers['x-api-key']).toBe(TEST_API_KEY);
    expect(req.headers['content-type']).toBe('application/json');
    expect(req.body).toEqual({ template_name: 'code-interpreter', region: 'us-east', timeout_seconds: 600, internet_access: false });
    expect(info).toEqual({
      id: SANDBOX_ID,
      status: 'running',
      templateId: '73',
      templateName: 'code-interpreter',
      region: 'us-east',
      publicHost: h.wire.url,
      directUrl: h.wire.url,
      previewUrl: null,
      resources: { vcpu: 2, memoryMb: 2048, diskMb: 10240 },
      internetAccess: true,
      timeoutSeconds: 600,
      expiresAt: '2030-01-01T00:10:00Z',
      createdAt: '2030-01-01T00:00:00Z',
      requestId: 'req_sandbox',
    });
    expect(JSON.stringify(info)).not.toContain(TOKEN_1);

    // The create token is cached: the first agent call uses it without a refresh.
    h.wire.on('GET', '/env', { json: { env_vars: {}, count: 0 } });
    await h.client.agent(SANDBOX_ID).env.getAll();
    expect(h.wire.calls('/env')[0].headers.authorization).toBe(`Bearer ${TOKEN_1}`);
    expect(h.wire.calls(/token\/refresh/)).toHaveLength(0);
    expect(h.logs.map((l) => JSON.stringify(l)).join('\n')).not.toMatch(new RegExp(`${TOKEN_1}|${TEST_API_KEY}`));
  });

  it('sends template_id (string) and not template_name when both are given', async () => {
    h.wire.on('POST', '/v1/sandboxes', { status: 201, json: sandboxBody(SANDBOX_ID, h.wire.url, { id: undefined, sandbox_id: SANDBOX_ID }) });
    const info = await h.client.sandboxes.create({ template: 'base', templateId: '291' });
    expect(h.wire.calls('/v1/sandboxes')[0].body).toEqual({ template_id: '291' });
    expect(info.id).toBe(SANDBOX_ID);
  });

  it('GETs the sandbox when create returns no public_host, and accepts disk_gb resources', async () => {
    h.wire.on('POST', '/v1/sandboxes', { status: 201, json: { id: SANDBOX_ID, status: 'creating' } });
    h.wire.on('GET', `/v1/sandboxes/${SANDBOX_ID}`, {
      json: sandboxBody(SANDBOX_ID, `${h.wire.url}/`, { resources: { vcpu: 1, memory_mb: 512, disk_gb: 5 } }),
    });
    const info = await h.client.sandboxes.create({ template: 'base' });
    expect(h.wire.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['POST /v1/sandboxes', `GET /v1/sandboxes/${SANDBOX_ID}`]);
    expect(info.publicHost).toBe(h.wire.url); // trailing slash stripped
    expect(info.resources).toEqual({ vcpu: 1, memoryMb: 512, diskMb: 5120 });
  });

  it('also PATCHes env vars to the agent (merge), like the SDKs', async () => {
    h.wire.on('POST', '/v1/sandboxes', {
      status: 201,
      json: { ...sandboxBody(SANDBOX_ID, h.wire.url), auth_token: TOKEN_1, token_expires_at: inOneDay() },
    });
    h.wire.on('PATCH', '/env', { status: 204 });
    await h.client.sandboxes.create({ template: 'base', envVars: { API_URL: 'http://x', DEBUG: '1' } });
    expect(h.wire.calls('/v1/sandboxes')[0].body).toMatchObject({ env_vars: { API_URL: 'http://x', DEBUG: '1' } });
    const [patch] = h.wire.calls('/env', 'PATCH');
    expect(patch.body).toEqual({ env_vars: { API_URL: 'http://x', DEBUG: '1' }, merge: true });
    expect(patch.headers.authorization).toBe(`Bearer ${TOKEN_1}`);
  });

  it('kills the new sandbox and says so when setting its env fails', async () => {
    h.wire.on('POST', '/v1/sandboxes', {
      status: 201,
      json: { ...sandboxBody(SANDBOX_ID, h.wire.url), auth_token: TOKEN_1, token_expires_at: inOneDay() },
    });
    h.wire.on('PATCH', '/env', { status: 400, json: flatError('bad env', 'INVALID_REQUEST') });
    h.wire.on('DELETE', `/v1/sandboxes/${SANDBOX_ID}`, { json: { status: 'deleted', id: SANDBOX_ID } });
    await expect(h.client.sandboxes.create({ template: 'base', envVars: { A: '1' } })).rejects.toThrow(/was killed/);
    expect(h.wire.calls(`/v1/sandboxes/${SANDBOX_ID}`, 'DELETE')).toHaveLength(1);
  });

  it('maps a 404 on create to TemplateNotFoundError', async () => {
    h.wire.on('POST', '/v1/sandboxes', { status: 404, json: flatError('Template not found', 'RESOURCE_NOT_FOUND') });
    const error = await h.client.sandboxes.create({ template: 'nope' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TemplateNotFoundError);
    expect(error).toMatchObject({ template: 'nope' });
    expect((error as Error).message).toBe('Template nope was not found.');
  });

  it('rejects bad options before sending anything', async () => {
    await expect(h.client.sandboxes.create({})).rejects.toThrow(/template.*templateId/);
    await expect(h.client.sandboxes.create({ template: 'base', timeoutSeconds: -1 })).rejects.toThrow(/timeoutSeconds/);
    await expect(h.client.sandboxes.create({ template: 'base', envVars: { '1BAD': 'x' } })).rejects.toBeInstanceOf(ValidationError);
    expect(h.wire.requests).toHaveLength(0);
  });
});

describe('sandboxes: get, list, listAll', () => {
  it('GETs one sandbox and maps a 404 to SandboxNotFoundError', async () => {
    h.wire.on('GET', `/v1/sandboxes/${SANDBOX_ID}`, { json: sandboxBody(SANDBOX_ID, h.wire.url, { status: 'paused' }) });
    expect((await h.client.sandboxes.get(SANDBOX_ID)).status).toBe('paused');
    h.wire.on('GET', '/v1/sandboxes/gone1', { status: 404, json: { error: 'Sandbox not found', code: 'RESOURCE_NOT_FOUND' } });
    const error = await h.client.sandboxes.get('gone1').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SandboxNotFoundError);
    expect(error).toMatchObject({ sandboxId: 'gone1', status: 404 });
  });

  it('forgets the cached token and host of a sandbox found gone', async () => {
    h.wire.on('POST', '/v1/sandboxes', { status: 201, json: { ...sandboxBody(SANDBOX_ID, h.wire.url), auth_token: TOKEN_1, token_expires_at: inOneDay() } });
    await h.client.sandboxes.create({ template: 'code-interpreter' });
    h.wire.on('GET', `/v1/sandboxes/${SANDBOX_ID}`, { status: 404, json: { error: 'Sandbox not found', code: 'RESOURCE_NOT_FOUND' } }, { json: sandboxBody(SANDBOX_ID, h.wire.url) });
    await expect(h.client.sandboxes.get(SANDBOX_ID)).rejects.toBeInstanceOf(SandboxNotFoundError);
    // A later agent call starts over (GET for the host, a token refresh) instead of using the old token.
    h.wire.on('POST', `/v1/sandboxes/${SANDBOX_ID}/token/refresh`, { json: { auth_token: TOKEN_2, token_expires_at: inOneDay() } });
    h.wire.on('GET', '/env', { json: { env_vars: {}, count: 0 } });
    await h.client.agent(SANDBOX_ID).env.getAll();
    expect(h.wire.calls(`/v1/sandboxes/${SANDBOX_ID}`, 'GET')).toHaveLength(2);
    expect(h.wire.calls('/env')[0].headers.authorization).toBe(`Bearer ${TOKEN_2}`);
  });

  it('rejects an id that would change the URL', async () => {
    await expect(h.client.sandboxes.get('../templates')).rejects.toThrow(/sandboxId must be a sandbox id/);
    expect(h.wire.requests).toHaveLength(0);
  });

  it('lists with filters and reads the page fields', async () => {
    h.wire.on('GET', '/v1/sandboxes', {
      json: {
        object: 'list',
        data: [sandboxBody('a1', h.wire.url), sandboxBody('b2', h.wire.url, { status: 'paused' })],
        has_more: true,
        next_cursor: 'cur-2',
        url: '/v1/sandboxes',
        request_id: 'req_l',
      },
    });
    const page = await h.client.sandboxes.list({ status: 'running', region: 'us-east', limit: 50, cursor: 'cur-1' });
    expect(h.wire.calls('/v1/sandboxes')[0].query).toEqual({ status: 'running', region: 'us-east', limit: '50', cursor: 'cur-1' });
    expect(page.sandboxes.map((s) => s.id)).toEqual(['a1', 'b2']);
    expect(page).toMatchObject({ hasMore: true, nextCursor: 'cur-2' });
  });

  it('listAll follows next_cursor while has_more', async () => {
    h.wire.on('GET', '/v1/sandboxes', (req) => {
      const cursor = req.query.cursor;
      if (!cursor) return { json: { data: [sandboxBody('a1', h.wire.url)], has_more: true, next_cursor: 'c2' } };
      if (cursor === 'c2') return { json: { data: [sandboxBody('b2', h.wire.url)], has_more: true, next_cursor: 'c3' } };
      return { json: { data: [sandboxBody('c3', h.wire.url)], has_more: false, next_cursor: null } };
    });
    const ids: string[] = [];
    for await (const s of h.client.sandboxes.listAll({ limit: 1 })) ids.push(s.id);
    expect(ids).toEqual(['a1', 'b2', 'c3']);
    expect(h.wire.requests.map((r) => r.query.cursor ?? '-')).toEqual(['-', 'c2', 'c3']);
  });

  it('rejects a bad status filter with the allowed values', async () => {
    await expect(h.client.sandboxes.list({ status: 'zombie' as 'running' })).rejects.toThrow(/running, stopped, paused, creating/);
  });
});

describe('sandboxes: state changes, kill, timeout, token', () => {
  it.each(['start', 'stop', 'pause', 'resume'] as const)('%s POSTs /v1/sandboxes/{id}/%s', async (action) => {
    h.wire.on('POST', `/v1/sandboxes/${SANDBOX_ID}/${action}`, { json: { id: SANDBOX_ID, status: `${action}-status`, request_id: 'r' } });
    const change = await h.client.sandboxes[action](SANDBOX_ID);
    expect(change).toEqual({ id: SANDBOX_ID, status: `${action}-status` });
    expect(h.wire.requests[0].body).toBeUndefined();
  });

  it('kill DELETEs and resolves true, and false when the sandbox is already gone', async () => {
    h.wire.on('DELETE', `/v1/sandboxes/${SANDBOX_ID}`, { json: { status: 'deleted', id: SANDBOX_ID } });
    expect(await h.client.sandboxes.kill(SANDBOX_ID)).toBe(true);
    h.wire.on('DELETE', `/v1/sandboxes/${SANDBOX_ID}`, { status: 404, json: flatError('Sandbox not found', 'RESOURCE_NOT_FOUND') });
    expect(await h.client.sandboxes.kill(SANDBOX_ID)).toBe(false);
    h.wire.on('DELETE', `/v1/sandboxes/${SANDBOX_ID}`, { status: 410, json: flatError('expired', 'SANDBOX_EXPIRED') });
    expect(await h.client.sandboxes.kill(SANDBOX_ID)).toBe(false);
  });

  it('setTimeout PUTs timeout_seconds and reads the new expiry', async () => {
    h.wire.on('PUT', `/v1/sandboxes/${SANDBOX_ID}/timeout`, {
      json: { id: SANDBOX_ID, timeout_seconds: 900, expires_at: '2030-01-01T00:15:00Z', request_id: 'r' },
    });
    expect(await h.client.sandboxes.setTimeout(SANDBOX_ID, 900)).toEqual({ id: SANDBOX_ID, timeoutSeconds: 900, expiresAt: '2030-01-01T00:15:00Z' });
    expect(h.wire.requests[0].body).toEqual({ timeout_seconds: 900 });
    await expect(h.client.sandboxes.setTimeout(SANDBOX_ID, 0)).rejects.toThrow(/timeoutSeconds must be a whole number greater than 0/);
  });

  it('refreshToken returns only the expiry and the agent then uses the new token', async () => {
    const expires = inOneDay();
    h.wire.on('GET', `/v1/sandboxes/${SANDBOX_ID}`, { json: sandboxBody(SANDBOX_ID, h.wire.url) });
    h.wire.on('POST', `/v1/sandboxes/${SANDBOX_ID}/token/refresh`, { json: { auth_token: TOKEN_2, token_expires_at: expires } });
    const info = await h.client.sandboxes.refreshToken(SANDBOX_ID);
    expect(info).toEqual({ expiresAt: expires });
    h.wire.on('GET', '/health', { json: { status: 'healthy', version: '3.2.8' } });
    await h.client.agent(SANDBOX_ID).health();
    expect(h.wire.calls('/health')[0].headers.authorization).toBe(`Bearer ${TOKEN_2}`);
  });

  it('refreshToken fails clearly when the body has no token', async () => {
    h.wire.on('POST', `/v1/sandboxes/${SANDBOX_ID}/token/refresh`, { json: { ok: true } });
    await expect(h.client.sandboxes.refreshToken(SANDBOX_ID)).rejects.toThrow(/without auth_token/);
  });
});

describe('sandboxes.connect', () => {
  it('refuses a stopped sandbox with a clear error', async () => {
    h.wire.on('GET', `/v1/sandboxes/${SANDBOX_ID}`, { json: sandboxBody(SANDBOX_ID, h.wire.url, { status: 'stopped' }) });
    const error = await h.client.sandboxes.connect(SANDBOX_ID).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SandboxNotRunningError);
    expect((error as Error).message).toMatch(/stopped/);
    expect(h.wire.calls(/resume|refresh/)).toHaveLength(0);
  });

  it('resumes a paused sandbox, then refreshes the token', async () => {
    let status = 'paused';
    h.wire.on('GET', `/v1/sandboxes/${SANDBOX_ID}`, () => ({ json: sandboxBody(SANDBOX_ID, h.wire.url, { status }) }));
    h.wire.on('POST', `/v1/sandboxes/${SANDBOX_ID}/resume`, () => {
      status = 'running';
      return { json: { id: SANDBOX_ID, status: 'running' } };
    });
    h.wire.on('POST', `/v1/sandboxes/${SANDBOX_ID}/token/refresh`, { json: { auth_token: fakeJwt('c'), token_expires_at: inOneDay() } });
    const info = await h.client.sandboxes.connect(SANDBOX_ID);
    expect(info.status).toBe('running');
    expect(h.wire.requests.map((r) => `${r.method} ${r.path.replace(SANDBOX_ID, 'ID')}`)).toEqual([
      'GET /v1/sandboxes/ID',
      'POST /v1/sandboxes/ID/resume',
      'GET /v1/sandboxes/ID',
      'POST /v1/sandboxes/ID/token/refresh',
    ]);
  });
});

describe('templates and health', () => {
  it('lists templates with filters and maps both list shapes', async () => {
    h.wire.on('GET', '/v1/templates', {
      json: {
        object: 'list',
        data: [
          {
            id: 73,
            name: 'code-interpreter',
            display_name: 'Code Interpreter',
            description: 'Python + data science',
            category: 'code-interpreter',
            language: 'python',
            features: ['python', 'javascript'],
            status: 'active',
            is_active: true,
            is_public: true,
            default_resources: { vcpu: 2, memory_mb: 2048, disk_gb: 10 },
          },
          { id: '12', name: 'base' },
        ],
        has_more: false,
      },
    });
    const templates = await h.client.templates.list({ category: 'python', language: 'python' });
    expect(h.wire.requests[0].query).toEqual({ category: 'python', language: 'python' });
    expect(templates[0]).toEqual({
      id: '73',
      name: 'code-interpreter',
      displayName: 'Code Interpreter',
      description: 'Python + data science',
      category: 'code-interpreter',
      language: 'python',
      features: ['python', 'javascript'],
      status: 'active',
      isActive: true,
      isPublic: true,
      defaultResources: { vcpu: 2, memoryMb: 2048, diskGb: 10 },
    });
    expect(templates[1]).toMatchObject({ id: '12', name: 'base', displayName: null, features: [], defaultResources: null });
  });

  it('gets a template by name and maps 404 to TemplateNotFoundError', async () => {
    h.wire.on('GET', '/v1/templates/code-interpreter', { json: { id: '73', name: 'code-interpreter', object: 'template' } });
    expect((await h.client.templates.get('code-interpreter')).id).toBe('73');
    h.wire.on('GET', '/v1/templates/missing', { status: 404, json: nestedError('Template not found', 'RESOURCE_NOT_FOUND') });
    await expect(h.client.templates.get('missing')).rejects.toBeInstanceOf(TemplateNotFoundError);
  });

  it('health needs no API key and sends none', async () => {
    h.wire.on('GET', '/health', { json: { status: 'ok', version: '1' } });
    const client = h.makeClient({ apiKey: '' });
    const health = await client.health();
    expect(health).toEqual({ ok: true, status: 'ok', details: { status: 'ok', version: '1' } });
    expect(h.wire.requests[0].headers['x-api-key']).toBeUndefined();
  });

  it('other control-plane calls without a key fail before sending, naming HOPX_API_KEY', async () => {
    const saved = process.env.HOPX_API_KEY;
    delete process.env.HOPX_API_KEY;
    try {
      const client = new HopxClient({ baseUrl: h.wire.url });
      const error = await client.sandboxes.list().catch((e: unknown) => e);
      await client.close();
      expect(error).toBeInstanceOf(AuthenticationError);
      expect((error as Error).message).toMatch(/HOPX_API_KEY/);
      expect(h.wire.requests).toHaveLength(0);
    } finally {
      if (saved !== undefined) process.env.HOPX_API_KEY = saved;
    }
  });

  it('a rejected key maps to AuthenticationError', async () => {
    h.wire.on('GET', '/v1/sandboxes', { status: 401, json: flatError('Invalid API key', 'AUTHENTICATION_REQUIRED') });
    await expect(h.client.sandboxes.list()).rejects.toBeInstanceOf(AuthenticationError);
  });

  it('reads HOPX_BASE_URL and rejects a malformed one', () => {
    expect(() => new HopxClient({ baseUrl: 'not a url' })).toThrow(/HOPX_BASE_URL/);
    expect(() => new HopxClient({ baseUrl: 'ftp://x' })).toThrow(/http:\/\/ or https:\/\//);
  });
});
