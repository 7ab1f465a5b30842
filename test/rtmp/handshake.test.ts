import { createHmac } from 'node:crypto';
import { spawn } from 'node:child_process';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { GatewayError } from '../../src/core/errors.js';
import {
  ClientHandshake,
  HANDSHAKE_PACKET_SIZE,
  ServerHandshake,
  digestOffset,
  findDigest,
  FP_KEY_PARTIAL,
} from '../../src/rtmp/handshake.js';
import { ChunkReader } from '../../src/rtmp/chunk.js';
import { decodeAmf0, type Amf0Value } from '../../src/flv/amf0.js';
import { ffmpegPath } from '../helpers/tools.js';

const FUZZ_RUNS = Number(process.env.FUZZ_RUNS ?? 300);

// Independent key material, written out the way librtmp's handshake.h does.
const KEY_TAIL = Buffer.from('F0EEC24A8068BEE82E00D0D1029E7E576EEC5D2D29806FAB93B8E636CFEB31AE', 'hex');
const FP_FULL = Buffer.concat([Buffer.from('Genuine Adobe Flash Player 001', 'ascii'), KEY_TAIL]);
const FMS_FULL = Buffer.concat([Buffer.from('Genuine Adobe Flash Media Server 001', 'ascii'), KEY_TAIL]);
const FP_30 = FP_FULL.subarray(0, 30);
const FMS_36 = FMS_FULL.subarray(0, 36);

function hmac(key: Uint8Array, ...parts: Uint8Array[]): Buffer {
  const h = createHmac('sha256', key);
  for (const p of parts) h.update(p);
  return h.digest();
}

/** Independent digest position (ffmpeg rtmp_calc_digest_pos(buf, off, 728, off + 4)). */
function digestPos(packet: Uint8Array, off: number): number {
  let sum = 0;
  for (let i = 0; i < 4; i++) sum += packet[off + i]!;
  return (sum % 728) + off + 4;
}

function validDigestAt(packet: Uint8Array, off: number, key: Uint8Array): number | undefined {
  const pos = digestPos(packet, off);
  const calc = hmac(key, packet.subarray(0, pos), packet.subarray(pos + 32, 1536));
  return calc.equals(Buffer.from(packet.subarray(pos, pos + 32))) ? pos : undefined;
}

/** Deterministic "random" source so runs are reproducible. */
function counterRandom(seed: number): (out: Uint8Array) => void {
  let x = seed;
  return (out) => {
    for (let i = 0; i < out.length; i++) {
      x = (x * 1103515245 + 12345) >>> 0;
      out[i] = x >>> 24;
    }
  };
}

function concat(...parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}

function runHandshake(client: ClientHandshake, server: ServerHandshake, trailing: Uint8Array) {
  const c0c1 = client.start();
  const s = server.push(c0c1);
  expect(s.done).toBe(false);
  expect(s.send).toHaveLength(1);
  const s0s1s2 = s.send[0]!;
  expect(s0s1s2.byteLength).toBe(1 + 2 * HANDSHAKE_PACKET_SIZE);
  const c = client.push(s0s1s2);
  expect(c.done).toBe(true);
  expect(c.send).toHaveLength(1);
  const c2 = c.send[0]!;
  const end = server.push(concat(c2, trailing));
  expect(end.done).toBe(true);
  expect(end.send).toHaveLength(0);
  expect(Array.from(end.rest)).toEqual(Array.from(trailing));
  return { c0c1, s0s1s2, c2 };
}

describe('ServerHandshake + ClientHandshake, plain', () => {
  it('echoes C1 in S2 and S1 in C2 (spec §5.2.3), keeps bytes after C2', () => {
    const client = new ClientHandshake({ mode: 'plain', random: counterRandom(1), time: 1234 });
    const server = new ServerHandshake({ random: counterRandom(2), time: 5678 });
    const { c0c1, s0s1s2, c2 } = runHandshake(client, server, new Uint8Array([0x03, 0x00, 0x11]));
    expect(server.mode).toBe('plain');
    expect(c0c1[0]).toBe(3);
    expect(Array.from(c0c1.subarray(1, 9))).toEqual([0, 0, 0x04, 0xd2, 0, 0, 0, 0]);
    expect(s0s1s2[0]).toBe(3);
    const s1 = s0s1s2.subarray(1, 1537);
    expect(Array.from(s1.subarray(0, 8))).toEqual([0, 0, 0x16, 0x2e, 0, 0, 0, 0]);
    expect(Buffer.from(s0s1s2.subarray(1537)).equals(Buffer.from(c0c1.subarray(1)))).toBe(true);
    expect(Buffer.from(c2).equals(Buffer.from(s1))).toBe(true);
    expect(client.serverVerified).toBe(false);
  });

  it('treats a C1 with non-zero version but no valid digest as plain', () => {
    const c1 = new Uint8Array(1537);
    c1[0] = 3;
    counterRandom(9)(c1.subarray(5));
    const server = new ServerHandshake({ random: counterRandom(3) });
    const r = server.push(c1);
    expect(server.mode).toBe('plain');
    expect(Buffer.from(r.send[0]!.subarray(1537)).equals(Buffer.from(c1.subarray(1)))).toBe(true);
  });
});

describe('ServerHandshake + ClientHandshake, digest (FP9)', () => {
  it('signs S1 and S2 as ffmpeg/librtmp verify them (independent recomputation)', () => {
    const client = new ClientHandshake({ random: counterRandom(11) });
    const server = new ServerHandshake({ random: counterRandom(12) });
    const { c0c1, s0s1s2, c2 } = runHandshake(client, server, new Uint8Array(0));
    expect(server.mode).toBe('digest');
    expect(server.scheme).toBe(0);
    expect(client.serverVerified).toBe(true);

    const c1 = c0c1.subarray(1);
    const s1 = s0s1s2.subarray(1, 1537);
    const s2 = s0s1s2.subarray(1537);
    // C1: digest in scheme 0 with the 30-byte Flash Player key; version 9.0.124.2.
    expect(Array.from(c1.subarray(4, 8))).toEqual([9, 0, 124, 2]);
    const clientPos = validDigestAt(c1, 8, FP_30);
    expect(clientPos).toBeDefined();
    // S1: non-zero version with byte 0 >= 3 (ffmpeg checks serverdata[5] >= 3), digest with the 36-byte FMS key.
    expect(s1[4]!).toBeGreaterThanOrEqual(3);
    const serverPos = validDigestAt(s1, 8, FMS_36);
    expect(serverPos).toBeDefined();
    // S2: HMAC(HMAC(FMS full key, C1 digest), S2[0..1504]) in the last 32 bytes.
    const s2Key = hmac(FMS_FULL, c1.subarray(clientPos!, clientPos! + 32));
    expect(hmac(s2Key, s2.subarray(0, 1504)).equals(Buffer.from(s2.subarray(1504)))).toBe(true);
    // C2: HMAC(HMAC(FP full key, S1 digest), C2[0..1504]).
    const c2Key = hmac(FP_FULL, s1.subarray(serverPos!, serverPos! + 32));
    expect(hmac(c2Key, c2.subarray(0, 1504)).equals(Buffer.from(c2.subarray(1504)))).toBe(true);
  });

  it('answers a scheme-1 C1 in scheme 1', () => {
    // Build a scheme-1 C1 independently: digest located by bytes 772..775.
    const c1 = new Uint8Array(1536);
    counterRandom(21)(c1);
    c1.set([0, 0, 0, 0, 9, 0, 124, 2]);
    const pos = digestPos(c1, 772);
    c1.set(hmac(FP_30, c1.subarray(0, pos), c1.subarray(pos + 32)), pos);
    expect(findDigest(c1, FP_KEY_PARTIAL)?.scheme).toBe(1);
    const server = new ServerHandshake({ random: counterRandom(22) });
    const r = server.push(concat(new Uint8Array([3]), c1));
    expect(server.mode).toBe('digest');
    expect(server.scheme).toBe(1);
    const s1 = r.send[0]!.subarray(1, 1537);
    expect(validDigestAt(s1, 772, FMS_36)).toBeDefined();
    const s2 = r.send[0]!.subarray(1537);
    const key = hmac(FMS_FULL, c1.subarray(pos, pos + 32));
    expect(hmac(key, s2.subarray(0, 1504)).equals(Buffer.from(s2.subarray(1504)))).toBe(true);
  });

  it('digestOffset matches the independent formula for both schemes', () => {
    const p = new Uint8Array(1536);
    counterRandom(5)(p);
    expect(digestOffset(p, 0)).toBe(digestPos(p, 8));
    expect(digestOffset(p, 1)).toBe(digestPos(p, 772));
    p.set([0xff, 0xff, 0xff, 0xff], 8); // 1020 % 728 = 292
    expect(digestOffset(p, 0)).toBe(292 + 12);
  });

  it('client rejects an S2 whose signature does not match', () => {
    const client = new ClientHandshake({ random: counterRandom(31) });
    const server = new ServerHandshake({ random: counterRandom(32) });
    const s = server.push(client.start()).send[0]!;
    s[s.length - 1]! ^= 0xff;
    expect(() => client.push(s)).toThrow(GatewayError);
  });

  it('client falls back to echoing S1 when the server is plain', () => {
    const client = new ClientHandshake({ random: counterRandom(41) });
    const s0s1s2 = new Uint8Array(3073);
    s0s1s2[0] = 3;
    counterRandom(42)(s0s1s2.subarray(9));
    const r = client.push.bind(client);
    client.start();
    const step = r(s0s1s2);
    expect(step.done).toBe(true);
    expect(Buffer.from(step.send[0]!).equals(Buffer.from(s0s1s2.subarray(1, 1537)))).toBe(true);
    expect(client.serverVerified).toBe(false);
  });
});

describe('ServerHandshake push-driven behaviour', () => {
  it('survives one byte at a time and reports the leftover chunk bytes', () => {
    const client = new ClientHandshake({ random: counterRandom(51) });
    const server = new ServerHandshake({ random: counterRandom(52) });
    const c0c1 = client.start();
    const sent: Uint8Array[] = [];
    for (let i = 0; i < c0c1.length; i++) {
      const r = server.push(c0c1.subarray(i, i + 1));
      sent.push(...r.send);
      expect(r.done).toBe(false);
    }
    expect(sent).toHaveLength(1);
    // Client also one byte at a time.
    let c2: Uint8Array | undefined;
    for (let i = 0; i < sent[0]!.length; i++) {
      const r = client.push(sent[0]!.subarray(i, i + 1));
      if (r.send.length) c2 = r.send[0];
      expect(r.done).toBe(i === sent[0]!.length - 1);
    }
    expect(client.serverVerified).toBe(true);
    const stream = concat(c2!, new Uint8Array([7, 8, 9]));
    let rest: Uint8Array | undefined;
    for (let i = 0; i < stream.length; i++) {
      const r = server.push(stream.subarray(i, i + 1));
      if (r.done) {
        rest = concat(rest ?? new Uint8Array(0), r.rest);
      }
    }
    expect(Array.from(rest!)).toEqual([7, 8, 9]);
  });

  it('handles C0+C1+C2+chunk data in a single push', () => {
    const client = new ClientHandshake({ mode: 'plain', random: counterRandom(61) });
    const server = new ServerHandshake({ random: counterRandom(62) });
    const c0c1 = client.start();
    const c2 = new Uint8Array(1536); // plain servers do not check C2
    const r = server.push(concat(c0c1, c2, new Uint8Array([0xaa, 0xbb])));
    expect(r.done).toBe(true);
    expect(r.send).toHaveLength(1);
    expect(Array.from(r.rest)).toEqual([0xaa, 0xbb]);
    const again = server.push(new Uint8Array([1]));
    expect(again.done).toBe(true);
    expect(Array.from(again.rest)).toEqual([1]);
  });

  it('rejects versions other than 3 with offset 0', () => {
    for (const v of [0, 6, 8, 0xff]) {
      const server = new ServerHandshake();
      try {
        server.push(new Uint8Array([v, 0, 0]));
        expect.unreachable();
      } catch (e) {
        expect(e).toBeInstanceOf(GatewayError);
        expect((e as GatewayError).stage).toBe('rtmp.handshake');
        expect((e as GatewayError).context['offset']).toBe(0);
      }
    }
  });

  it('fuzz: random input in random splits only ever throws GatewayError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 4000 }), fc.array(fc.nat({ max: 4000 }), { maxLength: 6 }), fc.boolean(), (bytes, cuts, fixVersion) => {
        if (fixVersion && bytes.length > 0) bytes[0] = 3;
        const server = new ServerHandshake();
        const client = new ClientHandshake();
        client.start();
        const points = [...new Set(cuts.map((c) => Math.min(c, bytes.length)))].sort((a, b) => a - b);
        for (const target of [server, client]) {
          let prev = 0;
          try {
            for (const p of [...points, bytes.length]) {
              target.push(bytes.subarray(prev, p));
              prev = p;
            }
          } catch (e) {
            if (!(e instanceof GatewayError)) throw e;
          }
        }
      }),
      { numRuns: FUZZ_RUNS },
    );
  });
});

/** Accepts one RTMP connection from ffmpeg and resolves with the handshake mode and the connect command. */
function acceptFfmpeg(args: (url: string) => string[]): Promise<{ mode: string | undefined; scheme: number | undefined; connect: Amf0Value[] }> {
  return new Promise((resolve, reject) => {
    let child: ReturnType<typeof spawn> | undefined;
    let stderr = '';
    let settled = false;
    const finish = (err: Error | undefined, value?: { mode: string | undefined; scheme: number | undefined; connect: Amf0Value[] }) => {
      if (settled) return;
      settled = true;
      server.close();
      if (child && child.exitCode === null) child.kill('SIGKILL');
      if (err) reject(err);
      else resolve(value!);
    };
    const server = net.createServer((socket) => {
      const hs = new ServerHandshake();
      const reader = new ChunkReader({ maxMessageSize: 1 << 20 });
      let handshaking = true;
      socket.on('data', (data: Buffer) => {
        try {
          let rest: Uint8Array = data;
          if (handshaking) {
            const r = hs.push(data);
            for (const out of r.send) socket.write(out);
            if (!r.done) return;
            handshaking = false;
            rest = r.rest;
          }
          for (const m of reader.push(rest)) {
            if (m.type === 20) {
              const values = decodeAmf0(m.payload);
              if (values[0] === 'connect') {
                socket.destroy();
                finish(undefined, { mode: hs.mode, scheme: hs.scheme, connect: values });
              }
            }
          }
        } catch (e) {
          finish(e as Error);
        }
      });
      socket.on('error', () => undefined);
    });
    server.listen(0, '127.0.0.1', () => {
      const addr = server.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      child = spawn(ffmpegPath(), args(`rtmp://127.0.0.1:${port}/live/handshake`), { stdio: ['ignore', 'ignore', 'pipe'] });
      child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('error', (e) => finish(e));
      child.on('exit', (code) => finish(new Error(`ffmpeg exited (${code}) before sending connect:\n${stderr}`)));
    });
  });
}

describe('against real ffmpeg (127.0.0.1 only)', () => {
  it('recognises the C1 of an ffmpeg publisher as a digest handshake and reads its connect', async () => {
    const r = await acceptFfmpeg((url) => ['-v', 'error', '-f', 'lavfi', '-i', 'anullsrc=r=44100:cl=mono', '-t', '5', '-c:a', 'aac', '-f', 'flv', url]);
    expect(r.mode).toBe('digest');
    expect(r.connect[0]).toBe('connect');
    expect(r.connect[1]).toBe(1);
    const obj = r.connect[2] as Record<string, Amf0Value>;
    expect(obj['app']).toBe('live');
    expect(String(obj['tcUrl'])).toMatch(/^rtmp:\/\/127\.0\.0\.1:\d+\/live$/);
  });

  it('an ffmpeg player (which verifies S1 digest and S2 signature) accepts our digest answer', async () => {
    const r = await acceptFfmpeg((url) => ['-v', 'error', '-rw_timeout', '20000000', '-i', url, '-f', 'null', '-']);
    expect(r.mode).toBe('digest');
    expect(r.connect[0]).toBe('connect');
  });
});
