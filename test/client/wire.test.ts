import { expect, it } from 'vitest';
import { toBackgroundProcessList, toFileList, toTemplateList } from '../../src/client/wire.js';

it('list responses are read from a bare array or their wrapping key, dropping null entries either way', () => {
  const file = { name: 'a.txt', path: '/workspace/a.txt', size: 1, is_dir: false };
  expect(toFileList([null, file]).map((f) => f.path)).toEqual(['/workspace/a.txt']);
  expect(toFileList({ files: [file, null] }).map((f) => f.path)).toEqual(['/workspace/a.txt']);
  expect(toTemplateList({ templates: [{ id: '7', name: 'base' }] }).map((t) => t.name)).toEqual(['base']);
  expect(toBackgroundProcessList({ processes: null })).toEqual([]);
});
