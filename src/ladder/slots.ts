/**
 * A global cap on concurrent transcodes: each ffmpeg ladder eats cores, and an overloaded box
 * degrades every stream. Over the cap a new stream gets passthrough only, with a reason.
 */
import { availableParallelism } from 'node:os';

export interface SlotLease {
  readonly owner: string;
  /** Gives the slot back; calling it again is harmless. */
  release(): void;
}

export type SlotResult = { ok: true; lease: SlotLease } | { ok: false; reason: string };

/** Default cap: one slot per core, keeping one core for ingest and packaging (min 1). */
export function defaultSlotCount(cores = availableParallelism()): number {
  return Math.max(1, cores - 1);
}

export class TranscodeSlots {
  readonly max: number;
  private readonly owners = new Set<string>();

  constructor(max = defaultSlotCount()) {
    this.max = Math.max(0, Math.floor(max));
  }

  get inUse(): number {
    return this.owners.size;
  }

  acquire(owner: string): SlotResult {
    if (this.owners.has(owner)) return { ok: false, reason: `${owner} already holds a transcode slot` };
    if (this.owners.size >= this.max) {
      return { ok: false, reason: `all ${this.max} transcode slots in use; passthrough only` };
    }
    this.owners.add(owner);
    let released = false;
    return {
      ok: true,
      lease: {
        owner,
        release: () => {
          if (released) return;
          released = true;
          this.owners.delete(owner);
        },
      },
    };
  }
}
