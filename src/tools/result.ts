/** Small pure helpers for tool results: sharing the output budget and short text formatting. */

/** Splits `budget` across items of the given lengths: small ones whole, the rest evenly. */
export function allocate(lengths: number[], budget: number): number[] {
  const out = lengths.map(() => 0);
  let remaining = budget;
  let open = lengths.map((_, i) => i);
  while (open.length > 0) {
    const share = Math.floor(remaining / open.length);
    const fits = open.filter((i) => lengths[i] <= share);
    if (fits.length === 0) {
      for (const i of open) out[i] = share;
      break;
    }
    for (const i of fits) {
      out[i] = lengths[i];
      remaining -= lengths[i];
    }
    open = open.filter((i) => !fits.includes(i));
  }
  return out;
}

/**
 * The leading items of a list whose JSON fits `budgetChars` (at most `max` items): listings
 * (files, processes) go into structuredContent whole, so their length must be bounded too.
 */
export function fitList<T>(items: readonly T[], budgetChars: number, max: number): T[] {
  const out: T[] = [];
  let used = 0;
  for (const item of items) {
    used += JSON.stringify(item).length + 1;
    if (out.length >= max || used > budgetChars) break;
    out.push(item);
  }
  return out;
}

/**
 * A stream under its marker in a result's text ("--- stdout ---"). One final newline is dropped:
 * it only made a blank line before the next marker. structuredContent keeps the stream exact.
 */
export function streamSection(name: string, text: string): string {
  return `--- ${name} ---\n${text.endsWith('\n') ? text.slice(0, -1) : text}`;
}

/** Seconds → "1.23 s" for text summaries. */
export function seconds(s: number | null | undefined): string {
  if (s === null || s === undefined) return '';
  // "in 0.00 s" reads as "did not run".
  if (s < 0.005) return ' in <0.01 s';
  return ` in ${s.toFixed(s < 10 ? 2 : 1)} s`;
}

/** A compact, stable JSON rendering for text blocks. */
export function jsonText(value: unknown): string {
  return JSON.stringify(value, null, 2);
}

/** Names that suggest a secret; their values are masked unless the caller asks for them. */
const SECRET_NAME = /(secret|token|passw|pwd|api[_-]?key|access[_-]?key|private|credential|auth|cookie|session|_key$|^key$)/i;

export function looksSecret(name: string): boolean {
  return SECRET_NAME.test(name);
}

export function maskValue(value: string): string {
  return value.length === 0 ? '' : `****(${value.length} chars)`;
}

