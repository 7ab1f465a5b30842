/**
 * RTMP handshake (Adobe RTMP spec §5.2), server and client side, push-driven.
 *
 *   client                     server
 *   C0 (1: version 3) + C1 (1536)  ─▶
 *                              ◀─  S0 (1) + S1 (1536) + S2 (1536)
 *   C2 (1536)                  ─▶
 *   first chunk bytes ...      ─▶   (returned as `rest`, never lost)
 *
 * C1/S1 (1536 bytes):
 *   +---------+---------+-------------------------------- 1528 bytes --+
 *   | time(4) | ver(4)  | random (digest handshake: 32-byte HMAC inside) |
 *   +---------+---------+------------------------------------------------+
 *
 * Plain handshake (spec §5.2.3): ver = 0, S2 echoes C1.
 * Digest ("FP9") handshake, not in the public spec but required by Flash-era clients and
 * checked by ffmpeg when playing (rtmpproto.c rtmp_handshake) and by librtmp (handshake.h):
 * a 32-byte HMAC-SHA256 digest sits inside the 1528 random bytes at an offset derived from
 * four bytes of the packet itself; see `digestOffset`.
 */
import { createHmac, randomFillSync } from 'node:crypto';
import { GatewayError } from '../core/errors.js';

export const RTMP_VERSION = 3;
/** Size of C1/S1/C2/S2 (spec §5.2.3). */
export const HANDSHAKE_PACKET_SIZE = 1536;
const DIGEST_SIZE = 32;
/** The random block minus the digest and its 4 offset bytes: offsets are taken modulo 728. */
const DIGEST_OFFSET_MODULO = 728;

/** The constant that follows the "Genuine Adobe ..." text in both full keys (librtmp handshake.h). */
const KEY_TAIL = [
  0xf0, 0xee, 0xc2, 0x4a, 0x80, 0x68, 0xbe, 0xe8, 0x2e, 0x00, 0xd0, 0xd1, 0x02, 0x9e, 0x7e, 0x57,
  0x6e, 0xec, 0x5d, 0x2d, 0x29, 0x80, 0x6f, 0xab, 0x93, 0xb8, 0xe6, 0x36, 0xcf, 0xeb, 0x31, 0xae,
];
function asciiKey(text: string, tail: readonly number[]): Uint8Array {
  const out = new Uint8Array(text.length + tail.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
  out.set(tail, text.length);
  return out;
}
/** 62 bytes; the first 30 ("Genuine Adobe Flash Player 001") sign C1. */
export const FP_KEY_FULL = asciiKey('Genuine Adobe Flash Player 001', KEY_TAIL);
export const FP_KEY_PARTIAL = FP_KEY_FULL.subarray(0, 30);
/** 68 bytes; the first 36 ("Genuine Adobe Flash Media Server 001") sign S1. */
export const FMS_KEY_FULL = asciiKey('Genuine Adobe Flash Media Server 001', KEY_TAIL);
export const FMS_KEY_PARTIAL = FMS_KEY_FULL.subarray(0, 36);

/** Version we announce in S1 for the digest handshake (nginx-rtmp's value; byte 0 >= 3 makes ffmpeg verify). */
const SERVER_VERSION = [0x0d, 0x0e, 0x0a, 0x0d];
/** Flash Player 9.0.124.2, what ffmpeg and librtmp announce in C1. */
const CLIENT_VERSION = [0x09, 0x00, 0x7c, 0x02];

/**
 * Digest scheme: where the 4 bytes that locate the digest live.
 *   scheme 0: bytes 8..11,    digest at (sum % 728) + 12
 *   scheme 1: bytes 772..775, digest at (sum % 728) + 776
 */
export type DigestScheme = 0 | 1;
const SCHEME_BASE: Record<DigestScheme, number> = { 0: 8, 1: 772 };

export function digestOffset(packet: Uint8Array, scheme: DigestScheme): number {
  const base = SCHEME_BASE[scheme];
  const sum = packet[base]! + packet[base + 1]! + packet[base + 2]! + packet[base + 3]!;
  return (sum % DIGEST_OFFSET_MODULO) + base + 4;
}

export function hmacSha256(key: Uint8Array, ...parts: Uint8Array[]): Uint8Array {
  const h = createHmac('sha256', key);
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}

/** HMAC of a 1536-byte packet with the 32 digest bytes at `offset` left out. */
export function packetDigest(packet: Uint8Array, offset: number, key: Uint8Array): Uint8Array {
  return hmacSha256(key, packet.subarray(0, offset), packet.subarray(offset + DIGEST_SIZE, HANDSHAKE_PACKET_SIZE));
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  let diff = 0;
  for (let i = 0; i < a.byteLength; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/** Finds a valid digest in a C1/S1 signed with `key`; tries `order` schemes in turn. */
export function findDigest(
  packet: Uint8Array,
  key: Uint8Array,
  order: readonly DigestScheme[] = [0, 1],
): { scheme: DigestScheme; offset: number } | undefined {
  for (const scheme of order) {
    const offset = digestOffset(packet, scheme);
    if (equalBytes(packetDigest(packet, offset, key), packet.subarray(offset, offset + DIGEST_SIZE))) {
      return { scheme, offset };
    }
  }
  return undefined;
}

/** Writes the digest into `packet` (1536 bytes, random already filled) in the given scheme. */
export function imprintDigest(packet: Uint8Array, scheme: DigestScheme, key: Uint8Array): number {
  const offset = digestOffset(packet, scheme);
  packet.set(packetDigest(packet, offset, key), offset);
  return offset;
}

/**
 * A C2/S2 answering a digest packet: 1504 random bytes, then
 * HMAC(key = HMAC(fullKey, peerDigest), those 1504 bytes).
 */
export function signResponse(response: Uint8Array, peerDigest: Uint8Array, fullKey: Uint8Array): void {
  const key = hmacSha256(fullKey, peerDigest);
  const body = response.subarray(0, HANDSHAKE_PACKET_SIZE - DIGEST_SIZE);
  response.set(hmacSha256(key, body), HANDSHAKE_PACKET_SIZE - DIGEST_SIZE);
}

export function responseSignatureValid(response: Uint8Array, peerDigest: Uint8Array, fullKey: Uint8Array): boolean {
  const key = hmacSha256(fullKey, peerDigest);
  const expected = hmacSha256(key, response.subarray(0, HANDSHAKE_PACKET_SIZE - DIGEST_SIZE));
  return equalBytes(expected, response.subarray(HANDSHAKE_PACKET_SIZE - DIGEST_SIZE, HANDSHAKE_PACKET_SIZE));
}

export interface HandshakeOptions {
  /** Fills a buffer with random bytes; default crypto.randomFillSync. Tests inject a fixed source. */
  readonly random?: (out: Uint8Array) => void;
  /** The 32-bit "time" field of our C1/S1 (spec §5.2.3 allows 0). Default 0. */
  readonly time?: number;
}

export interface HandshakeStep {
  /** Bytes to write to the peer, in order. */
  readonly send: Uint8Array[];
  /** The handshake is complete; everything after it is in `rest`. */
  readonly done: boolean;
  /** Bytes after the handshake (the first chunk bytes): a view of the pushed data. */
  readonly rest: Uint8Array;
}

const EMPTY = new Uint8Array(0);

function defaultRandom(out: Uint8Array): void {
  randomFillSync(out);
}

function writeTimeAndVersion(packet: Uint8Array, time: number, version: readonly number[]): void {
  new DataView(packet.buffer, packet.byteOffset, 8).setUint32(0, time >>> 0);
  packet.set(version, 4);
}

function checkVersion(version: number, offset: number): void {
  if (version !== RTMP_VERSION) {
    throw new GatewayError('rtmp.handshake', `unsupported RTMP version ${version} (only 3 is accepted)`, { offset });
  }
}

/**
 * Server side: reads C0+C1, answers S0+S1+S2 in one buffer, then reads C2.
 * Buffers at most C0+C1 (1537 bytes); C2 is counted, not kept (we do not verify it: Flash
 * players and librtmp send C2s that are not checkable in every mode, as nginx-rtmp notes).
 */
export class ServerHandshake {
  private readonly random: (out: Uint8Array) => void;
  private readonly time: number;
  private readonly c0c1 = new Uint8Array(1 + HANDSHAKE_PACKET_SIZE);
  private c0c1Length = 0;
  private c2Remaining = HANDSHAKE_PACKET_SIZE;
  private state: 'c0c1' | 'c2' | 'done' = 'c0c1';
  /** Which handshake the client asked for; known once C1 arrived. */
  mode: 'plain' | 'digest' | undefined;
  /** Digest scheme the client used (digest mode only). */
  scheme: DigestScheme | undefined;

  constructor(options: HandshakeOptions = {}) {
    this.random = options.random ?? defaultRandom;
    this.time = options.time ?? 0;
  }

  get done(): boolean {
    return this.state === 'done';
  }

  push(data: Uint8Array): HandshakeStep {
    const send: Uint8Array[] = [];
    let pos = 0;
    if (this.state === 'c0c1') {
      if (this.c0c1Length === 0 && data.byteLength > 0) checkVersion(data[0]!, 0);
      const take = Math.min(data.byteLength, this.c0c1.byteLength - this.c0c1Length);
      this.c0c1.set(data.subarray(0, take), this.c0c1Length);
      this.c0c1Length += take;
      pos = take;
      if (this.c0c1Length < this.c0c1.byteLength) return { send, done: false, rest: EMPTY };
      send.push(this.answer(this.c0c1.subarray(1)));
      this.state = 'c2';
    }
    if (this.state === 'c2') {
      const take = Math.min(data.byteLength - pos, this.c2Remaining);
      this.c2Remaining -= take;
      pos += take;
      if (this.c2Remaining > 0) return { send, done: false, rest: EMPTY };
      this.state = 'done';
    }
    return { send, done: true, rest: data.subarray(pos) };
  }

  /** S0+S1+S2 for a complete C1. */
  private answer(c1: Uint8Array): Uint8Array {
    const out = new Uint8Array(1 + 2 * HANDSHAKE_PACKET_SIZE);
    out[0] = RTMP_VERSION;
    const s1 = out.subarray(1, 1 + HANDSHAKE_PACKET_SIZE);
    const s2 = out.subarray(1 + HANDSHAKE_PACKET_SIZE);
    const clientVersionZero = c1[4] === 0 && c1[5] === 0 && c1[6] === 0 && c1[7] === 0;
    const found = clientVersionZero ? undefined : findDigest(c1, FP_KEY_PARTIAL);
    this.random(s1.subarray(8));
    if (!found) {
      // Spec §5.2.3: S1 = time, zero, random; S2 echoes C1.
      this.mode = 'plain';
      writeTimeAndVersion(s1, this.time, [0, 0, 0, 0]);
      s2.set(c1);
      return out;
    }
    this.mode = 'digest';
    this.scheme = found.scheme;
    writeTimeAndVersion(s1, this.time, SERVER_VERSION);
    // Answer in the client's scheme: librtmp looks there first.
    imprintDigest(s1, found.scheme, FMS_KEY_PARTIAL);
    this.random(s2);
    signResponse(s2, c1.subarray(found.offset, found.offset + DIGEST_SIZE), FMS_KEY_FULL);
    return out;
  }
}

export interface ClientHandshakeOptions extends HandshakeOptions {
  /** 'digest' (default): FP9 digest in C1, scheme 0, as ffmpeg and librtmp send. */
  readonly mode?: 'plain' | 'digest';
}

/**
 * Client side (our test clients, latency tool, player): `start()` gives C0+C1, `push` reads
 * S0+S1+S2 (buffering at most those 3073 bytes) and answers C2.
 */
export class ClientHandshake {
  private readonly random: (out: Uint8Array) => void;
  private readonly time: number;
  readonly mode: 'plain' | 'digest';
  private readonly c1 = new Uint8Array(HANDSHAKE_PACKET_SIZE);
  private c1DigestOffset = 0;
  private readonly s0s1s2 = new Uint8Array(1 + 2 * HANDSHAKE_PACKET_SIZE);
  private received = 0;
  private state: 'start' | 's0s1s2' | 'done' = 'start';
  /** The server signed S1/S2 (digest handshake verified). */
  serverVerified = false;

  constructor(options: ClientHandshakeOptions = {}) {
    this.random = options.random ?? defaultRandom;
    this.time = options.time ?? 0;
    this.mode = options.mode ?? 'digest';
  }

  get done(): boolean {
    return this.state === 'done';
  }

  /** C0+C1, to send first. */
  start(): Uint8Array {
    if (this.state !== 'start') throw new GatewayError('rtmp.handshake', 'client handshake already started', {});
    const out = new Uint8Array(1 + HANDSHAKE_PACKET_SIZE);
    out[0] = RTMP_VERSION;
    this.random(this.c1.subarray(8));
    writeTimeAndVersion(this.c1, this.time, this.mode === 'digest' ? CLIENT_VERSION : [0, 0, 0, 0]);
    if (this.mode === 'digest') this.c1DigestOffset = imprintDigest(this.c1, 0, FP_KEY_PARTIAL);
    out.set(this.c1, 1);
    this.state = 's0s1s2';
    return out;
  }

  push(data: Uint8Array): HandshakeStep {
    if (this.state === 'start') throw new GatewayError('rtmp.handshake', 'push before start()', {});
    if (this.state === 'done') return { send: [], done: true, rest: data };
    if (this.received === 0 && data.byteLength > 0) checkVersion(data[0]!, 0);
    const take = Math.min(data.byteLength, this.s0s1s2.byteLength - this.received);
    this.s0s1s2.set(data.subarray(0, take), this.received);
    this.received += take;
    if (this.received < this.s0s1s2.byteLength) return { send: [], done: false, rest: EMPTY };
    const c2 = this.answer(this.s0s1s2.subarray(1, 1 + HANDSHAKE_PACKET_SIZE), this.s0s1s2.subarray(1 + HANDSHAKE_PACKET_SIZE));
    this.state = 'done';
    return { send: [c2], done: true, rest: data.subarray(take) };
  }

  private answer(s1: Uint8Array, s2: Uint8Array): Uint8Array {
    const c2 = new Uint8Array(HANDSHAKE_PACKET_SIZE);
    const serverVersionZero = s1[4] === 0 && s1[5] === 0 && s1[6] === 0 && s1[7] === 0;
    const found =
      this.mode === 'digest' && !serverVersionZero ? findDigest(s1, FMS_KEY_PARTIAL, [0, 1]) : undefined;
    if (!found) {
      // Plain server (or plain client): C2 echoes S1 (spec §5.2.3).
      c2.set(s1);
      return c2;
    }
    const c1Digest = this.c1.subarray(this.c1DigestOffset, this.c1DigestOffset + DIGEST_SIZE);
    if (!responseSignatureValid(s2, c1Digest, FMS_KEY_FULL)) {
      // ffmpeg and librtmp reject such a server too ("Signature mismatch").
      throw new GatewayError('rtmp.handshake', 'S2 signature does not match our C1 digest', {
        offset: 1 + HANDSHAKE_PACKET_SIZE,
      });
    }
    this.serverVerified = true;
    this.random(c2);
    signResponse(c2, s1.subarray(found.offset, found.offset + DIGEST_SIZE), FP_KEY_FULL);
    return c2;
  }
}
