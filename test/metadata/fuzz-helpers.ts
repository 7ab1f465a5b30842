/**
 * Seeded fuzzing for the metadata parsers: a small PRNG, byte mutations, and a runner that
 * fails on anything thrown that is not a GatewayError (and reports the input in hex).
 */
import { expect } from 'vitest';
import { GatewayError } from '../../src/core/errors.js';
import { concatBytes } from '../../src/core/bytes.js';

export const FUZZ_RUNS = Number(process.env.FUZZ_RUNS ?? 2000);
/** Generous per-test time for the fuzz loops. */
export const FUZZ_TIMEOUT = Math.max(60_000, FUZZ_RUNS * 20);

export type Rand = () => number;

/** mulberry32: a tiny, well-mixed 32-bit PRNG; the same seed gives the same inputs. */
export function prng(seed: number): Rand {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 0x1_0000_0000;
  };
}

export function int(rand: Rand, maxExclusive: number): number {
  return Math.floor(rand() * maxExclusive);
}

export function pick<T>(rand: Rand, items: readonly T[]): T {
  return items[int(rand, items.length)]!;
}

export function randomBytes(rand: Rand, maxLength: number): Uint8Array {
  const out = new Uint8Array(int(rand, maxLength + 1));
  for (let i = 0; i < out.length; i++) out[i] = int(rand, 256);
  return out;
}

const INTERESTING = [0x00, 0x01, 0x7f, 0x80, 0xff, 0xfe, 0x10, 0x20];

/** 1..4 random edits: bit flips, byte sets, truncation, extension, insertion, deletion, duplication. */
export function mutate(rand: Rand, input: Uint8Array): Uint8Array {
  let b: Uint8Array = input.slice();
  const edits = 1 + int(rand, 4);
  for (let e = 0; e < edits; e++) {
    const at = b.length ? int(rand, b.length) : 0;
    switch (int(rand, 7)) {
      case 0:
        if (b.length) b[at] ^= 1 << int(rand, 8);
        break;
      case 1:
        if (b.length) b[at] = rand() < 0.5 ? pick(rand, INTERESTING) : int(rand, 256);
        break;
      case 2:
        b = b.slice(0, int(rand, b.length + 1));
        break;
      case 3: {
        const extra = randomBytes(rand, 16);
        const out = new Uint8Array(b.length + extra.length);
        out.set(b, 0);
        out.set(extra, b.length);
        b = out;
        break;
      }
      case 4: {
        const extra = randomBytes(rand, 8);
        b = concat([b.subarray(0, at), extra, b.subarray(at)]);
        break;
      }
      case 5:
        b = concat([b.subarray(0, at), b.subarray(Math.min(b.length, at + 1 + int(rand, 8)))]);
        break;
      default: {
        const len = int(rand, 8);
        b = concat([b.subarray(0, at), b.subarray(at, at + len), b.subarray(at)]);
      }
    }
  }
  return b;
}

export const concat = concatBytes;

/** The GatewayError `fn` throws (anything else, or nothing, fails the test). */
export function errorOf(fn: () => unknown): GatewayError {
  try {
    fn();
  } catch (err) {
    if (err instanceof GatewayError) return err;
    throw err;
  }
  throw new Error('expected a GatewayError');
}

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

export interface FuzzTally {
  ok: number;
  rejected: number;
  slowestMs: number;
}

/**
 * Runs `parse` on `runs` inputs from `generate`: each call must return or throw a GatewayError;
 * anything else fails the test with the input. Returns how many parsed and how many were refused.
 */
export function fuzz<T>(runs: number, seed: number, generate: (rand: Rand) => T, parse: (input: T) => unknown, show: (input: T) => string): FuzzTally {
  const rand = prng(seed);
  const tally: FuzzTally = { ok: 0, rejected: 0, slowestMs: 0 };
  for (let i = 0; i < runs; i++) {
    const input = generate(rand);
    const start = performance.now();
    try {
      parse(input);
      tally.ok++;
    } catch (err) {
      if (!(err instanceof GatewayError)) {
        expect.fail(`run ${i} (seed ${seed}) threw ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)} for ${show(input)}`);
      }
      expect(err.stage).toBeTypeOf('string');
      tally.rejected++;
    }
    tally.slowestMs = Math.max(tally.slowestMs, performance.now() - start);
  }
  return tally;
}
