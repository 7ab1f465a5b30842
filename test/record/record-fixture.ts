/**
 * Shared set-up for the recorder tests: real H.264 + AAC frames (ffmpeg FLV fixture through
 * FlvReader + FlvIngest) published into a LiveStream whose StreamOutput is recorded, and a
 * filesystem wrapper that injects faults (disk full, a crash that freezes all I/O).
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { pino, type Logger } from 'pino';
import { SegmentCache } from '../../src/cache/segment-cache.js';
import { LiveStream } from '../../src/core/stream.js';
import { FlvIngest, type IngestEvent } from '../../src/flv/ingest.js';
import { FlvReader } from '../../src/flv/reader.js';
import { StreamOutput } from '../../src/packager/stream-output.js';
import { nodeFs, type RecorderFileHandle, type RecorderFs } from '../../src/record/durable-write.js';
import { attachRecorder, type RecorderOptions, type StreamRecorder } from '../../src/record/stream-recorder.js';
import type { CmafSegment } from '../../src/mux/fmp4/cmaf.js';
import { fixture } from '../helpers/fixtures.js';

/** 2026-03-04T05:06:07Z: wall clock of media time 0 in the fixture. */
export const T0 = Date.UTC(2026, 2, 4, 5, 6, 7);
export const PACKAGER = { segmentDuration: 1, partDuration: 0.5, playlistWindow: 3 } as const;

let cached: IngestEvent[] | undefined;

/** Tracks and frames of the 6 s 360p A/V fixture, in FLV order. */
export async function fixtureEvents(): Promise<IngestEvent[]> {
  if (cached) return cached;
  const bytes = new Uint8Array(readFileSync(await fixture('av360p-short')));
  const reader = new FlvReader();
  const ingest = new FlvIngest();
  const events: IngestEvent[] = [];
  for (const tag of reader.push(bytes)) {
    if (tag.type === 9) events.push(...ingest.pushVideo(tag.timestamp, tag.payload, T0 + tag.timestamp));
    else if (tag.type === 8) events.push(...ingest.pushAudio(tag.timestamp, tag.payload, T0 + tag.timestamp));
  }
  cached = events;
  return events;
}

export interface Publish {
  readonly stream: LiveStream;
  readonly output: StreamOutput;
  readonly recorder: StreamRecorder;
  /** Every segment the live output produced, by rendition id. */
  readonly produced: Map<string, CmafSegment[]>;
  /** Pushes the fixture's events [from, to) into the stream. */
  feed(events: readonly IngestEvent[], from?: number, to?: number): void;
}

export function publish(dir: string, key: string, options: Partial<RecorderOptions> = {}): Publish {
  const stream = new LiveStream('live', key);
  const output = new StreamOutput(stream, PACKAGER, new SegmentCache(64 * 1024 * 1024));
  const produced = new Map<string, CmafSegment[]>();
  for (const t of [...output.videos.values(), output.audio]) {
    produced.set(t.id, []);
    t.on('segment', (s) => produced.get(t.id)!.push(s));
  }
  const recorder = attachRecorder(output, { dir, ...options });
  const feed = (events: readonly IngestEvent[], from = 0, to = events.length): void => {
    for (const e of events.slice(from, to)) {
      if (e.type === 'track') stream.pushTrack(e.track);
      else if (e.type === 'frame') stream.pushFrame(e.frame);
    }
  };
  return { stream, output, recorder, produced, feed };
}

export function segmentBytes(s: CmafSegment): Uint8Array {
  return new Uint8Array(Buffer.concat(s.chunks.map((c) => Buffer.from(c.buffer, c.byteOffset, c.byteLength))));
}

/** Every file under `dir`, as paths relative to it, sorted. */
export function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(relative(dir, p));
    }
  };
  walk(dir);
  return out.sort();
}

export function fileSize(path: string): number {
  return statSync(path).size;
}

/** A pino logger whose records land in `records`. */
export function capturingLogger(): { logger: Logger; records: { level: number; msg: string; [k: string]: unknown }[] } {
  const records: { level: number; msg: string }[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void records.push(JSON.parse(line) as { level: number; msg: string }) });
  return { logger, records };
}

/**
 * node's fs with two faults:
 *  - `failOpen(predicate)`: an open whose path matches rejects with ENOSPC (disk full);
 *  - `freeze()`: from now on every new call never settles, as if the process died here; the
 *    calls already handed to the OS still complete, and `settled()` resolves once they have.
 */
export class FaultFs implements RecorderFs {
  private frozen = false;
  private inFlight = 0;
  private waiters: (() => void)[] = [];
  failOpen: ((path: string) => boolean) | undefined;
  /** Called after each rename has completed (before the caller continues). */
  afterRename: ((to: string) => void) | undefined;

  freeze(): void {
    this.frozen = true;
    this.wake();
  }

  /** Resolves once frozen and every call made before the freeze has completed. */
  settled(): Promise<void> {
    return new Promise((r) => {
      this.waiters.push(r);
      this.wake();
    });
  }

  private wake(): void {
    if (this.frozen && this.inFlight === 0) for (const w of this.waiters.splice(0)) w();
  }

  private async op<T>(call: () => Promise<T>): Promise<T> {
    if (this.frozen) return new Promise<T>(() => undefined);
    this.inFlight++;
    try {
      return await call();
    } finally {
      this.inFlight--;
      this.wake();
    }
  }

  mkdir(path: string, options: { recursive: true }): Promise<string | undefined> {
    return this.op(() => nodeFs.mkdir(path, options));
  }

  open(path: string, flags: string): Promise<RecorderFileHandle> {
    return this.op(async () => {
      if (this.failOpen?.(path)) throw Object.assign(new Error(`ENOSPC: no space left on device, open '${path}'`), { code: 'ENOSPC' });
      const handle = await nodeFs.open(path, flags);
      return {
        write: (b, o, l, p) => this.op(() => handle.write(b, o, l, p)),
        sync: () => this.op(() => handle.sync()),
        // close always goes through: a dead process's descriptors are closed by the kernel.
        close: () => handle.close(),
      };
    });
  }

  rename(from: string, to: string): Promise<void> {
    return this.op(async () => {
      await nodeFs.rename(from, to);
      this.afterRename?.(to);
    });
  }
}

/** Fields m3u8-parser sets that test/types/parsers.d.ts does not declare. */
export function parsedField(o: object, name: 'playlistType' | 'dateTimeObject'): unknown {
  return (o as Record<string, unknown>)[name];
}
