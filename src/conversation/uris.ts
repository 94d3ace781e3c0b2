/** hopx:// resource URIs, built in one place so tools and resources agree. */

export function sandboxUri(sandboxId: string): string {
  return `hopx://sandboxes/${encodeURIComponent(sandboxId)}`;
}

export function outputUri(sandboxId: string, outputId: string): string {
  return `${sandboxUri(sandboxId)}/outputs/${encodeURIComponent(outputId)}`;
}

export function metricsUri(sandboxId: string): string {
  return `${sandboxUri(sandboxId)}/metrics`;
}

/** `/workspace/a b.txt` → `hopx://sandboxes/<id>/files/workspace/a%20b.txt` (matches `{+path}`). */
export function fileUri(sandboxId: string, path: string): string {
  const segments = path.split('/').filter((s) => s !== '').map(encodeURIComponent);
  return `${sandboxUri(sandboxId)}/files/${segments.join('/')}`;
}

/** The sandbox path named by a `{+path}` variable: always absolute, percent-decoding undone. */
export function pathFromUriVariable(raw: string | string[]): string {
  const joined = Array.isArray(raw) ? raw.join('/') : raw;
  const segments = joined.split('/').filter((s) => s !== '').map((s) => decodeURIComponent(s));
  return `/${segments.join('/')}`;
}
