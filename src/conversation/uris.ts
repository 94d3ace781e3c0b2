/** hopx:// resource URIs, built in one place so tools and resources agree. */

export function sandboxUri(sandboxId: string): string {
  return `hopx://sandboxes/${encodeURIComponent(sandboxId)}`;
}

/**
 * Whole outputs that results had to cut are kept in the sandbox's own filesystem, in this folder
 * (the local backend's agent writes there too): no server memory holds them, and any server
 * process can serve them. The output resource's id is the file's name.
 */
export const KEPT_OUTPUT_DIR = '/tmp/hopx-outputs';

const OUTPUT_ID = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,200}$/;

export function outputUri(sandboxId: string, outputId: string): string {
  return `${sandboxUri(sandboxId)}/outputs/${encodeURIComponent(outputId)}`;
}

/** The sandbox path of a kept output; null for an id that is not one (no `..`, no `/`). */
export function keptOutputPath(outputId: string): string | null {
  return OUTPUT_ID.test(outputId) && !outputId.includes('..') ? `${KEPT_OUTPUT_DIR}/${outputId}` : null;
}

/** The resource URI for a kept file: the output resource under KEPT_OUTPUT_DIR, else the file resource. */
export function keptOutputUri(sandboxId: string, path: string): string {
  const id = path.startsWith(`${KEPT_OUTPUT_DIR}/`) ? path.slice(KEPT_OUTPUT_DIR.length + 1) : '';
  return keptOutputPath(id) ? outputUri(sandboxId, id) : fileUri(sandboxId, path);
}

/** A background process (status and output) of a sandbox. */
export function processUri(sandboxId: string, processId: string): string {
  return `${sandboxUri(sandboxId)}/processes/${encodeURIComponent(processId)}`;
}

export function metricsUri(sandboxId: string): string {
  return `${sandboxUri(sandboxId)}/metrics`;
}

/** `/workspace/a b.txt` → `hopx://sandboxes/<id>/files/workspace/a%20b.txt` (matches `{+path}`). */
export function fileUri(sandboxId: string, path: string): string {
  const segments = path.split('/').filter((s) => s !== '').map(encodeURIComponent);
  return `${sandboxUri(sandboxId)}/files/${segments.join('/')}`;
}

/** The sandbox path a `{+path}` variable names (decoded): always absolute, empty segments dropped. */
export function sandboxPathOf(path: string): string {
  return `/${path.split('/').filter((s) => s !== '').join('/')}`;
}
