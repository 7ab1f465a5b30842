/**
 * TsDemuxer never throws and never hangs on hostile input: random bytes, random packets on the
 * program's PIDs, and real ffmpeg MPEG-TS with bytes flipped, cut, spliced and inserted. What
 * comes out still keeps the contract: a track before the frames of its PID, strictly increasing
 * dts per PID, pts >= dts, well-formed length-prefixed video, the same events for any chunking.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forEachNal } from '../../src/codec/annexb.js';
import { GatewayError } from '../../src/core/errors.js';
import { TsDemuxer, type TsDemuxEvent } from '../../src/mux/ts/demuxer.js';
import {
  PAT_PID,
  PMT_PID,
  TS_PACKET_SIZE,
  buildPatSection,
  buildPmtSection,
  crc32Mpeg2,
  writePesHeader,
  writePsiPacket,
} from '../../src/mux/ts/packet.js';
import { parsePmt } from '../../src/mux/ts/psi.js';
import { ffmpegPath } from '../helpers/tools.js';

const FUZZ_RUNS = Number(process.env.FUZZ_RUNS ?? 200);
/** Generous per-test time: ~25 ms per run of the whole-file properties, never below the default. */
const TIMEOUT = Math.max(60_000, FUZZ_RUNS * 25);
const run = promisify(execFile);

const dir = mkdtempSync(join(tmpdir(), 'ts-demuxer-fuzz-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let avc: Uint8Array;
let hevc: Uint8Array;

beforeAll(async () => {
  const make = async (name: string, video: string[], rate: number): Promise<Uint8Array> => {
    const file = join(dir, name);
    await run(
      ffmpegPath(),
      [
        '-v', 'error', '-nostdin', '-y',
        '-f', 'lavfi', '-i', 'testsrc2=size=160x90:rate=25',
        '-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=${rate}`,
        '-t', '0.6', ...video, '-c:a', 'aac', '-b:a', '32k', '-ac', '1', '-f', 'mpegts', file,
      ],
      { timeout: 60_000 },
    );
    return new Uint8Array(readFileSync(file));
  };
  avc = await make('avc.ts', ['-c:v', 'libx264', '-preset', 'veryfast', '-bf', '2', '-g', '10', '-threads', '1', '-pix_fmt', 'yuv420p'], 44_100);
  hevc = await make('hevc.ts', ['-c:v', 'libx265', '-preset', 'ultrafast', '-g', '10', '-pix_fmt', 'yuv420p', '-x265-params', 'log-level=error:pools=1:frame-threads=1'], 48_000);
}, 120_000);

/** Demuxes with the given chunk sizes (cycled), then flushes. Throws whatever the demuxer throws. */
function demux(bytes: Uint8Array, sizes: readonly number[] = [bytes.byteLength || 1]): TsDemuxEvent[] {
  const d = new TsDemuxer();
  const events: TsDemuxEvent[] = [];
  let at = 0;
  for (let i = 0; at < bytes.byteLength; i++) {
    const n = Math.max(1, sizes[i % sizes.length]!);
    events.push(...d.push(bytes.subarray(at, at + n), 1));
    at += n;
  }
  events.push(...d.flush(2));
  return events;
}

/** The output contract, whatever the input was. */
function checkContract(events: TsDemuxEvent[]): void {
  const kindOf = new Map<number, string>();
  const lastDts = new Map<number, number>();
  for (const e of events) {
    if (e.type === 'warning') {
      expect(typeof e.code).toBe('string');
      expect(typeof e.message).toBe('string');
      continue;
    }
    if (e.type === 'track') {
      // A new audio sample rate is a new timescale: dts start over (as in FlvIngest).
      if (e.track.kind === 'audio') lastDts.delete(e.pid);
      kindOf.set(e.pid, e.track.kind);
      continue;
    }
    const f = e.frame;
    expect(kindOf.get(e.pid)).toBe(f.kind);
    expect(Number.isSafeInteger(f.dts) && f.dts >= 0).toBe(true);
    expect(Number.isSafeInteger(f.pts) && f.pts >= f.dts).toBe(true);
    const last = lastDts.get(e.pid);
    if (last !== undefined && !(f.dts > last)) expect.fail(`dts ${f.dts} after ${last} on PID ${e.pid}`);
    lastDts.set(e.pid, f.dts);
    expect(f.data).toBeInstanceOf(Uint8Array);
    expect(f.data.byteLength).toBeGreaterThan(0);
    if (f.kind === 'video') forEachNal(f.data, 4, () => undefined);
  }
}

const chunkSizes = fc.array(fc.integer({ min: 1, max: 700 }), { minLength: 1, maxLength: 8 });

describe('TsDemuxer fuzz', () => {
  it('random bytes: never throws, keeps the contract', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 4000 }), chunkSizes, (bytes, sizes) => {
        const events = demux(bytes, sizes);
        checkContract(events);
        expect(demux(bytes)).toEqual(events);
      }),
      { numRuns: FUZZ_RUNS },
    );
  });

  it('random packets on the PIDs of a valid program: never throws, keeps the contract', () => {
    const head = new Uint8Array(2 * TS_PACKET_SIZE);
    writePsiPacket(head, 0, PAT_PID, 0, buildPatSection());
    const pmt = buildPmtSection({ pcrPid: 0x100, streams: [{ streamType: 0x1b, pid: 0x100 }, { streamType: 0x0f, pid: 0x101 }, { streamType: 0x24, pid: 0x102 }, { streamType: 0x06, pid: 0x103 }] });
    writePsiPacket(head, TS_PACKET_SIZE, PMT_PID, 0, pmt);
    const pesStart = fc.tuple(fc.nat({ max: 2 ** 33 - 1 }), fc.integer({ min: -3000, max: 3000 }), fc.nat({ max: 400 })).map(([pts, cts, len]) => {
      const h = new Uint8Array(19);
      writePesHeader(h, 0, { streamId: 0xe0, pts: pts + Math.max(0, cts), dts: pts, payloadLength: len, dataAlignment: true });
      return h.subarray(0, 9 + h[8]!);
    });
    const packet = fc
      .tuple(
        fc.constantFrom(0x100, 0x101, 0x102, 0x103, PAT_PID, PMT_PID, 0x1fff),
        fc.boolean(),
        fc.nat({ max: 15 }),
        fc.integer({ min: 0, max: 3 }),
        fc.option(pesStart),
        fc.uint8Array({ minLength: 184, maxLength: 184 }),
      )
      .map(([pid, pusi, cc, afc, pes, body]) => {
        const p = new Uint8Array(TS_PACKET_SIZE);
        p.set([0x47, (pusi ? 0x40 : 0) | (pid >> 8), pid & 0xff, (afc << 4) | cc]);
        p.set(body, 4);
        if (afc === 1 && pes) p.set(pes, 4);
        if (afc === 3) p[4] = p[4]! % 184;
        return p;
      });
    fc.assert(
      fc.property(fc.array(packet, { maxLength: 60 }), chunkSizes, (packets, sizes) => {
        const bytes = new Uint8Array(head.byteLength + packets.length * TS_PACKET_SIZE);
        bytes.set(head, 0);
        packets.forEach((p, i) => bytes.set(p, head.byteLength + i * TS_PACKET_SIZE));
        const events = demux(bytes, sizes);
        checkContract(events);
        expect(demux(bytes)).toEqual(events);
      }),
      { numRuns: FUZZ_RUNS },
    );
  });

  it('mutated real streams (flipped, truncated, spliced, inserted bytes): never throws, same events for any chunking', () => {
    const mutation = fc.oneof(
      fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
      fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
      fc.record({ kind: fc.constant('splice' as const), from: fc.nat(), length: fc.nat({ max: 3000 }), to: fc.nat() }),
      fc.record({ kind: fc.constant('cut' as const), at: fc.nat(), length: fc.nat({ max: 2000 }) }),
      fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 400 }) }),
    );
    type Mutation = typeof mutation extends fc.Arbitrary<infer M> ? M : never;
    const apply = (source: Uint8Array, mutations: Mutation[]): Uint8Array => {
      let b = source;
      for (const m of mutations) {
        if (b.byteLength === 0) break;
        switch (m.kind) {
          case 'flip':
            b = b.slice();
            b[m.at % b.byteLength] = m.value;
            break;
          case 'truncate':
            b = b.subarray(0, m.at % b.byteLength);
            break;
          case 'splice': {
            const from = m.from % b.byteLength;
            const piece = b.slice(from, from + m.length);
            const to = m.to % b.byteLength;
            b = concat([b.subarray(0, to), piece, b.subarray(to)]);
            break;
          }
          case 'cut': {
            const at = m.at % b.byteLength;
            b = concat([b.subarray(0, at), b.subarray(at + m.length)]);
            break;
          }
          case 'insert': {
            const at = m.at % b.byteLength;
            b = concat([b.subarray(0, at), m.bytes, b.subarray(at)]);
            break;
          }
        }
      }
      return b;
    };
    fc.assert(
      fc.property(fc.boolean(), fc.array(mutation, { minLength: 1, maxLength: 12 }), chunkSizes, (useHevc, mutations, sizes) => {
        const bytes = apply(useHevc ? hevc : avc, mutations);
        const events = demux(bytes, sizes);
        checkContract(events);
        expect(demux(bytes)).toEqual(events);
      }),
      { numRuns: FUZZ_RUNS },
    );
  }, TIMEOUT);

  it('many flipped bytes in the payloads of a real stream (headers intact): never throws, keeps the contract', () => {
    fc.assert(
      fc.property(fc.boolean(), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 200 }), (useHevc, flips) => {
        const b = (useHevc ? hevc : avc).slice();
        const packets = Math.floor(b.byteLength / TS_PACKET_SIZE);
        for (const [at, value] of flips) b[(at % packets) * TS_PACKET_SIZE + 4 + (at % 184)] = value;
        checkContract(demux(b));
      }),
      { numRuns: FUZZ_RUNS },
    );
  }, TIMEOUT);

  it('the unmutated fixtures give frames and no warnings (the fuzz inputs are meaningful)', () => {
    for (const bytes of [avc, hevc]) {
      const events = demux(bytes);
      expect(events.filter((e) => e.type === 'warning')).toEqual([]);
      expect(events.filter((e) => e.type === 'frame').length).toBeGreaterThan(20);
      checkContract(events);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// The PMT's descriptor loops: ISO_639_language_descriptor (ISO/IEC 13818-1 §2.6.18)

/** A TS_program_map_section (§2.4.4.8) with the given ES_info bytes per stream and a correct CRC_32. */
function pmtSection(streams: readonly { streamType: number; pid: number; esInfo: Uint8Array }[]): Uint8Array {
  const loop = streams.reduce((n, st) => n + 5 + st.esInfo.byteLength, 0);
  const s = new Uint8Array(12 + loop + 4);
  const sectionLength = s.byteLength - 3;
  s.set([0x02, 0xb0 | (sectionLength >> 8), sectionLength & 0xff, 0x00, 0x01, 0xc1, 0x00, 0x00, 0xe1, 0x00, 0xf0, 0x00]);
  let at = 12;
  for (const st of streams) {
    const n = st.esInfo.byteLength;
    s.set([st.streamType, 0xe0 | (st.pid >> 8), st.pid & 0xff, 0xf0 | (n >> 8), n & 0xff], at);
    s.set(st.esInfo, at + 5);
    at += 5 + n;
  }
  const crc = crc32Mpeg2(s, 0, at);
  s.set([crc >>> 24, (crc >>> 16) & 0xff, (crc >>> 8) & 0xff, crc & 0xff], at);
  return s;
}

/** The model: the first ISO_639_language_descriptor with a whole first entry, before the loop breaks; letters only. */
function expectedLanguage(loop: Uint8Array): string | undefined {
  for (let at = 0; at + 2 <= loop.byteLength; ) {
    const [tag, length] = [loop[at]!, loop[at + 1]!];
    if (at + 2 + length > loop.byteLength) return undefined;
    if (tag === 0x0a && length >= 4) {
      const code = String.fromCharCode(...loop.subarray(at + 2, at + 5));
      return /^[A-Za-z]{3}$/.test(code) ? code.toLowerCase() : undefined;
    }
    at += 2 + length;
  }
  return undefined;
}

const descriptor = fc.tuple(fc.integer({ min: 0, max: 255 }), fc.uint8Array({ maxLength: 20 })).map(([tag, body]) => Uint8Array.of(tag, body.byteLength, ...body));
const letters = fc.array(fc.constantFrom(...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'), { minLength: 3, maxLength: 3 }).map((a) => a.join(''));
/** An ISO_639_language_descriptor with 1–3 entries (code + audio_type). */
const languageDescriptor = fc.array(fc.tuple(letters, fc.integer({ min: 0, max: 3 })), { minLength: 1, maxLength: 3 }).map((entries) => {
  const body = entries.flatMap(([code, audioType]) => [...code].map((c) => c.charCodeAt(0)).concat(audioType));
  return { code: entries[0]![0].toLowerCase(), bytes: Uint8Array.of(0x0a, body.length, ...body) };
});

describe('PMT descriptor loops fuzz (ISO_639_language_descriptor)', () => {
  it('random ES_info bytes: parsePmt never throws, the language is the model\'s (three lowercase letters or none)', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 60 }), { minLength: 1, maxLength: 4 }), (loops) => {
        const pmt = parsePmt(pmtSection(loops.map((esInfo, i) => ({ streamType: 0x0f, pid: 0x101 + i, esInfo }))));
        expect(pmt.streams.map((st) => st.language)).toEqual(loops.map(expectedLanguage));
        for (const st of pmt.streams) if (st.language !== undefined) expect(st.language).toMatch(/^[a-z]{3}$/);
      }),
      { numRuns: FUZZ_RUNS },
    );
  });

  it('well-formed loops: the first language descriptor wins wherever it stands among other descriptors', () => {
    const other = descriptor.filter((d) => d[0] !== 0x0a);
    fc.assert(
      fc.property(fc.array(other, { maxLength: 5 }), languageDescriptor, fc.nat(), fc.option(languageDescriptor), (others, lang, place, second) => {
        const at = place % (others.length + 1);
        const parts = [...others.slice(0, at), lang.bytes, ...others.slice(at), ...(second ? [second.bytes] : [])];
        const pmt = parsePmt(pmtSection([{ streamType: 0x1b, pid: 0x100, esInfo: new Uint8Array() }, { streamType: 0x0f, pid: 0x101, esInfo: concat(parts) }]));
        expect(pmt.streams.map((st) => st.language)).toEqual([undefined, lang.code]);
      }),
      { numRuns: FUZZ_RUNS },
    );
  });

  it('random program loops (lengths that lie): a GatewayError or valid languages, and the demuxer takes it without throwing', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 160 }), (body) => {
        const section = pmtSection([]);
        // The header of an empty PMT, then random stream entries, then a correct CRC.
        const raw = new Uint8Array(12 + body.byteLength + 4);
        raw.set(section.subarray(0, 12));
        raw.set(body, 12);
        const sectionLength = raw.byteLength - 3;
        raw[1] = 0xb0 | (sectionLength >> 8);
        raw[2] = sectionLength & 0xff;
        const crc = crc32Mpeg2(raw, 0, raw.byteLength - 4);
        raw.set([crc >>> 24, (crc >>> 16) & 0xff, (crc >>> 8) & 0xff, crc & 0xff], raw.byteLength - 4);
        let parsed: ReturnType<typeof parsePmt> | undefined;
        try {
          parsed = parsePmt(raw);
        } catch (e) {
          expect(e).toBeInstanceOf(GatewayError);
        }
        for (const st of parsed?.streams ?? []) if (st.language !== undefined) expect(st.language).toMatch(/^[a-z]{3}$/);
        if (raw.byteLength > TS_PACKET_SIZE - 5) return;
        const ts = new Uint8Array(2 * TS_PACKET_SIZE);
        writePsiPacket(ts, 0, PAT_PID, 0, buildPatSection());
        writePsiPacket(ts, TS_PACKET_SIZE, PMT_PID, 0, raw);
        const demuxer = new TsDemuxer();
        checkContract([...demuxer.push(ts, 1), ...demuxer.flush(2)]);
        if (parsed) {
          const audio = parsed.streams.filter((st) => st.streamType === 0x0f && st.pid !== PAT_PID && st.pid !== PMT_PID && st.pid !== 0x1fff);
          const firstOfEach = audio.filter((st, i) => audio.findIndex((o) => o.pid === st.pid) === i);
          expect(demuxer.programAudio).toEqual(firstOfEach.map((st) => ({ pid: st.pid, language: st.language })));
        }
      }),
      { numRuns: FUZZ_RUNS },
    );
  });
});

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}
