/**
 * mcp.json: each client's block uses that client's keys, and the HTTP URL is the one the command
 * really serves by default (so a change of port or path cannot leave the configs stale).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DEFAULT_HOST, DEFAULT_HTTP_PORT } from '../../src/config.js';
import { MCP_PATH } from '../../src/transports/http.js';

type Block = Record<string, Record<string, Record<string, unknown>>>;
const configs = JSON.parse(readFileSync(new URL('../../mcp.json', import.meta.url), 'utf8')) as Record<string, Record<string, Block>>;
const DEFAULT_URL = `http://${DEFAULT_HOST}:${DEFAULT_HTTP_PORT}${MCP_PATH}`;
const STDIO = { command: 'npx', args: ['-y', 'hopx-mcp'] };

/** The client's top-level key, and whether it wants an explicit `type`. */
const CLIENTS: Record<string, { root: string; typed: boolean }> = {
  'claude-desktop': { root: 'mcpServers', typed: false },
  'claude-code': { root: 'mcpServers', typed: true },
  cursor: { root: 'mcpServers', typed: false },
  vscode: { root: 'servers', typed: true },
};

describe('mcp.json', () => {
  it('has a block for every client and nothing unexpected', () => {
    expect(Object.keys(configs).filter((k) => k !== '$comment').sort()).toEqual(Object.keys(CLIENTS).sort());
  });

  describe.each(Object.entries(CLIENTS))('%s', (client, { root, typed }) => {
    const blocks = Object.entries(configs[client]).filter(([name]) => name !== '$comment');

    it.each(blocks)('%s block uses the client’s keys', (_name, block) => {
      const server = block[root]?.hopx;
      expect(server, `${client} expects "${root}.hopx"`).toBeDefined();
      if ('url' in server) {
        expect(server.url).toBe(DEFAULT_URL);
        if (typed) expect(server.type).toBe('http');
      } else {
        expect(server).toMatchObject(STDIO);
        if (typed) expect(server.type).toBe('stdio');
      }
      if (!typed) expect(server).not.toHaveProperty('type');
    });
  });
});
