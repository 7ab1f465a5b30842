/**
 * HLS AES-128 (auth/media-keys.ts and the playlists' EXT-X-KEY): what we encrypt, openssl (an
 * independent implementation) decrypts with the key and IV the playlist names; keys are derived
 * per stream, session and rotation index; m3u8-parser reads each segment's key and IV, and the
 * init segments stay clear (METHOD=NONE before each EXT-X-MAP).
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Parser } from 'm3u8-parser';
import { encryptResource, ivOf, keyFileName, MediaKeys, parseKeyFileName } from '../../src/auth/media-keys.js';
import { buildMediaPlaylist } from '../../src/packager/hls/playlists.js';
import { serializeMediaPlaylist } from '../../src/packager/hls/serialize.js';
import { FIRST_SEQUENCE, PACKAGER, fabricatedStreams, feedInit, feedSegment, feedStream, VIDEO_720P } from '../packager/dash/fabricate.js';

const RULE = { method: 'aes-128', rotate: 2 } as const;

describe('AES-128 keys and encryption', () => {
  it('openssl decrypts what we encrypt (AES-128-CBC, PKCS7) back to the clear bytes', () => {
    const clear = [randomBytes(1000), randomBytes(7), randomBytes(4096)];
    const key = randomBytes(16);
    const iv = ivOf(1234);
    const encrypted = encryptResource(clear, key, iv);
    expect(encrypted.byteLength % 16).toBe(0);
    const openssl = spawnSync('openssl', ['enc', '-d', '-aes-128-cbc', '-K', key.toString('hex'), '-iv', iv.toString('hex')], { input: encrypted });
    expect(openssl.status, String(openssl.stderr)).toBe(0);
    expect(Buffer.compare(openssl.stdout, Buffer.concat(clear))).toBe(0);
  });

  it('the IV is the media sequence number, big-endian in 16 bytes (RFC 8216bis §5.2)', () => {
    expect(ivOf(1).toString('hex')).toBe('00000000000000000000000000000001');
    expect(ivOf(2 ** 32 + 5).toString('hex')).toBe('00000000000000000000000100000005');
  });

  it('keys are derived per stream, session and rotation index, under the secret', () => {
    const keys = new MediaKeys({ live: RULE }, 'a secret of sixteen+');
    expect(keys.ruleFor('live', 'cam')).toEqual(RULE);
    expect(keys.ruleFor('other', 'cam')).toBeUndefined();
    const k = keys.key('live', 'cam', 's1', 0);
    expect(k.byteLength).toBe(16);
    expect(keys.key('live', 'cam', 's1', 0)).toEqual(k);
    for (const other of [keys.key('live', 'cam', 's1', 1), keys.key('live', 'cam', 's2', 0), keys.key('live', 'cam2', 's1', 0), new MediaKeys({ live: RULE }, 'another secret here').key('live', 'cam', 's1', 0)]) {
      expect(other.equals(k)).toBe(false);
    }
    expect([0, 1, 2, 3, 4].map((n) => keys.keyIndex(RULE, n))).toEqual([0, 0, 1, 1, 2]);
    expect(keys.keyIndex({ method: 'aes-128', rotate: 0 }, 99)).toBe(0);
    expect(parseKeyFileName(keyFileName('abc1', 7))).toEqual({ session: 'abc1', index: 7 });
    expect(parseKeyFileName('key-ABC-1.key')).toBeUndefined();
  });
});

describe('EXT-X-KEY in the media playlists', () => {
  const fabricated = fabricatedStreams();

  it('m3u8-parser reads each segment key and IV; inits stay clear; parts follow their segment key', () => {
    const output = fabricated();
    feedStream(output, { audio: false, durations: [180_000, 180_000, 180_000] });
    const video = output.videos.get('src')!;
    // A new init (reconnect-like) and an open segment with parts.
    const last = video.lastSegment!;
    feedInit(video, VIDEO_720P, 1);
    feedSegment(video, { sequence: last.sequence + 1, startTime: last.startTime + last.durationTicks, duration: 180_000, timescale: 90_000, initId: 1, discontinuity: true });
    const after = video.lastSegment!;
    feedSegment(video, { sequence: after.sequence + 1, startTime: after.startTime + after.durationTicks, duration: 180_000, timescale: 90_000, initId: 1, open: true, parts: 2 });
    const keys = new MediaKeys({ live: RULE }, 'a secret of sixteen+');
    const text = serializeMediaPlaylist(
      buildMediaPlaylist(video, {
        window: 8,
        segmentDuration: PACKAGER.segmentDuration,
        partDuration: PACKAGER.partDuration,
        lowLatency: true,
        keyOf: (n) => keys.keyTagOf('live', 'cam', video.session, RULE, n),
      }),
    );
    const parser = new Parser();
    parser.push(text);
    parser.end();
    const m = parser.manifest as unknown as { segments: { uri: string; key?: { method: string; uri: string; iv: Uint32Array }; map?: { uri: string } }[]; preloadSegment?: { parts?: { uri: string }[]; key?: { method: string; uri: string } } };
    expect(m.segments.length).toBe(4);
    m.segments.forEach((s, i) => {
      const sequence = FIRST_SEQUENCE + i;
      expect(s.key?.method, s.uri).toBe('AES-128');
      expect(s.key?.uri).toBe(`/live/cam/key-${video.session}-${Math.floor(sequence / 2)}.key`);
      expect(Array.from(s.key!.iv)).toEqual([0, 0, 0, sequence]);
    });
    // Each EXT-X-MAP after a key is preceded by METHOD=NONE: the init is not covered.
    const lines = text.split('\n');
    lines.forEach((line, i) => {
      if (line.startsWith('#EXT-X-MAP') && lines.slice(0, i).some((l) => l.startsWith('#EXT-X-KEY:METHOD=AES-128'))) {
        const previousKey = lines.slice(0, i).reverse().find((l) => l.startsWith('#EXT-X-KEY'));
        expect(previousKey).toBe('#EXT-X-KEY:METHOD=NONE');
      }
    });
    expect(lines.filter((l) => l.startsWith('#EXT-X-MAP')).length).toBe(2);
    // The open segment's parts come after its own key.
    const openKey = lines.lastIndexOf(`#EXT-X-KEY:METHOD=AES-128,URI="/live/cam/key-${video.session}-${Math.floor((FIRST_SEQUENCE + 4) / 2)}.key",IV=0x${ivOf(FIRST_SEQUENCE + 4).toString('hex')}`);
    expect(openKey).toBeGreaterThan(lines.findIndex((l) => l.startsWith('#EXTINF')));
    expect(lines.slice(openKey + 1).filter((l) => l.startsWith('#EXT-X-PART')).length).toBe(2);
  });
});
