/**
 * Full outputs that a tool result had to cut (stdout, stderr, file content, oversized images),
 * kept per conversation so the model can read them whole through
 * `hopx://sandboxes/{sandbox_id}/outputs/{output_id}`. Bounded LRU by count and bytes: an old
 * output falls out rather than the server growing without limit.
 */
import { randomBytes } from 'node:crypto';
import { cutMiddle } from '../text/cut.js';

export interface StoredOutput {
  id: string;
  sandboxId: string;
  /** What it was: `stdout`, `stderr`, `file`, `image`, ... (shown in resource lists). */
  label: string;
  mimeType: string;
  /** Exactly one of text / blob (base64). */
  text?: string;
  blob?: string;
  bytes: number;
  createdAt: string;
}

export interface OutputStoreLimits {
  /** Default 64 outputs. */
  maxEntries?: number;
  /** Default 32 MiB across all outputs (base64 blobs counted at their encoded size). */
  maxBytes?: number;
}

/**
 * Every conversation has its own store, and an HTTP server may hold hundreds of conversations:
 * across all stores the process keeps at most this many bytes, dropping the least recently used
 * outputs of any conversation first.
 */
let processLimitBytes = 256 * 1024 * 1024;
let processBytes = 0;
/** Stores that hold something, for process-wide eviction. */
const liveStores = new Set<OutputStore>();
/** Recency stamps shared by all stores, so their oldest entries can be compared. */
let useCounter = 0;

/** Sets the process-wide limit (tests, embedders); returns the previous one. */
export function setProcessOutputLimit(bytes: number): number {
  const previous = processLimitBytes;
  processLimitBytes = bytes;
  return previous;
}

export class OutputStore {
  private readonly entries = new Map<string, StoredOutput>();
  /** Last use of each entry (a useCounter value); `entries` keeps the same order. */
  private readonly lastUse = new Map<string, number>();
  private totalBytes = 0;
  private readonly maxEntries: number;
  private readonly maxBytes: number;

  constructor(limits: OutputStoreLimits = {}) {
    this.maxEntries = limits.maxEntries ?? 64;
    this.maxBytes = limits.maxBytes ?? 32 * 1024 * 1024;
  }

  put(o: { sandboxId: string; label: string; mimeType: string; text?: string; blob?: string }): StoredOutput {
    // One output larger than the whole store keeps its head and tail; the store must stay bounded.
    if (o.text !== undefined && o.text.length > this.maxBytes / 2) {
      o = { ...o, text: cutMiddle(o.text, { maxChars: this.maxBytes / 2, headShare: 0.5 }, { label: o.label, where: null }).text };
    }
    // A blob cannot be cut usefully: past the same bound, keep a note saying so instead.
    if (o.blob !== undefined && o.blob.length > this.maxBytes / 2) {
      const note = `This ${o.mimeType} output (${o.blob.length} base64 characters) was too large to keep (limit ${this.maxBytes / 2}). Save it to a file in the sandbox and read that file instead.`;
      o = { sandboxId: o.sandboxId, label: o.label, mimeType: 'text/plain', text: note };
    }
    const bytes = o.text !== undefined ? Buffer.byteLength(o.text) : (o.blob?.length ?? 0);
    const stored: StoredOutput = {
      id: `out-${randomBytes(6).toString('hex')}`,
      sandboxId: o.sandboxId,
      label: o.label,
      mimeType: o.mimeType,
      text: o.text,
      blob: o.blob,
      bytes,
      createdAt: new Date().toISOString(),
    };
    this.entries.set(stored.id, stored);
    this.lastUse.set(stored.id, ++useCounter);
    this.totalBytes += bytes;
    processBytes += bytes;
    liveStores.add(this);
    this.evict(stored.id);
    evictAcrossStores(stored.id);
    return stored;
  }

  get(sandboxId: string, outputId: string): StoredOutput | undefined {
    const found = this.entries.get(outputId);
    if (!found || found.sandboxId !== sandboxId) return undefined;
    // Reading refreshes recency.
    this.entries.delete(outputId);
    this.entries.set(outputId, found);
    this.lastUse.delete(outputId);
    this.lastUse.set(outputId, ++useCounter);
    return found;
  }

  list(): StoredOutput[] {
    return [...this.entries.values()];
  }

  deleteForSandbox(sandboxId: string): void {
    for (const [id, o] of this.entries) {
      if (o.sandboxId === sandboxId) this.remove(id, o);
    }
  }

  clear(): void {
    processBytes -= this.totalBytes;
    this.entries.clear();
    this.lastUse.clear();
    this.totalBytes = 0;
    liveStores.delete(this);
  }

  /** The least recently used entry and its last use, for process-wide eviction. */
  oldest(): { id: string; lastUse: number } | undefined {
    const first = this.lastUse.entries().next();
    return first.done ? undefined : { id: first.value[0], lastUse: first.value[1] };
  }

  /** Drops one entry by id (process-wide eviction). */
  drop(id: string): void {
    const o = this.entries.get(id);
    if (o) this.remove(id, o);
  }

  /** Drops least recently used outputs until within limits; never the one just added. */
  private evict(keep: string): void {
    for (const [id, o] of this.entries) {
      if (this.entries.size <= this.maxEntries && this.totalBytes <= this.maxBytes) break;
      if (id === keep) continue;
      this.remove(id, o);
    }
  }

  private remove(id: string, o: StoredOutput): void {
    this.entries.delete(id);
    this.lastUse.delete(id);
    this.totalBytes -= o.bytes;
    processBytes -= o.bytes;
    if (this.entries.size === 0) liveStores.delete(this);
  }
}

/** Drops the least recently used outputs of any store until the process is within its limit. */
function evictAcrossStores(keep: string): void {
  while (processBytes > processLimitBytes) {
    let victim: { store: OutputStore; id: string; lastUse: number } | undefined;
    for (const store of liveStores) {
      const o = store.oldest();
      if (o && o.id !== keep && (!victim || o.lastUse < victim.lastUse)) victim = { store, ...o };
    }
    if (!victim) return;
    victim.store.drop(victim.id);
  }
}
