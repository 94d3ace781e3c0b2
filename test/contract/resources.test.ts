/**
 * A lint over the resource registry (docs/conventions.md convention 6), and the URI builders the
 * tools use (src/conversation/uris.ts) checked against the registered templates: every URI a tool
 * result names is read by exactly one resource, with the variables it was built from.
 */
import { UriTemplate } from '@modelcontextprotocol/server';
import { describe, expect, it } from 'vitest';
import { allResources } from '../../src/resources/index.js';
import { decodeVariables } from '../../src/resources/resource.js';
import { fileUri, metricsUri, outputUri, processUri, sandboxUri } from '../../src/conversation/uris.js';

describe('resource registry', () => {
  it('names are unique; every resource has a title, a description and a hopx:// URI', () => {
    expect(new Set(allResources.map((r) => r.name)).size).toBe(allResources.length);
    for (const r of allResources) {
      expect(r.title, r.name).toMatch(/^[A-Z]/);
      expect(r.description.length, r.name).toBeGreaterThan(10);
      expect(r.uri, r.name).toMatch(/^hopx:\/\//);
    }
  });

  it('each URI a tool names matches exactly one resource, and yields the values it was built from', () => {
    const id = 'sbx 1';
    const cases: Array<[string, string, Record<string, string>]> = [
      [sandboxUri(id), 'sandbox', { sandbox_id: id }],
      [metricsUri(id), 'sandbox-metrics', { sandbox_id: id }],
      [fileUri(id, '/workspace/my dir/100%.txt'), 'sandbox-file', { sandbox_id: id, path: 'workspace/my dir/100%.txt' }],
      [processUri(id, 'proc_1'), 'sandbox-process', { sandbox_id: id, process_id: 'proc_1' }],
      [outputUri(id, 'out-1.txt'), 'sandbox-output', { sandbox_id: id, output_id: 'out-1.txt' }],
    ];
    for (const [uri, name, variables] of cases) {
      const matches = allResources.flatMap((r) => {
        const m = UriTemplate.isTemplate(r.uri) ? new UriTemplate(r.uri).match(uri) : r.uri === uri ? {} : null;
        return m ? [{ name: r.name, variables: decodeVariables(m) }] : [];
      });
      expect(matches, uri).toEqual([{ name, variables }]);
    }
  });

  it('files, background processes and sandbox info can be subscribed; nothing else', () => {
    expect(allResources.filter((r) => r.watch).map((r) => r.name).sort()).toEqual(['sandbox', 'sandbox-file', 'sandbox-process']);
  });
});
