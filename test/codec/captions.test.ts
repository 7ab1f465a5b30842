/**
 * CEA-608/708 caption detection in the video SEI (src/codec/captions.ts): what our test encoder
 * inserts is read back by ffprobe (an independent parser: ffmpeg's decoder exports them as A53 side data), each field and
 * DTVCC is told apart, other SEI is not mistaken for captions, and malformed input is either
 * read or refused with a GatewayError, never anything else.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { captionServicesOf, hasCaptions, NO_CAPTIONS } from '../../src/codec/captions.js';
import { splitAnnexB } from '../../src/codec/annexb.js';
import { concatBytes } from '../../src/core/bytes.js';
import { buildTimestampSei } from '../../src/latency/sei.js';
import { captionSei, popOnCaption, prependNal, withParity } from '../helpers/captions.js';
import { fixture } from '../helpers/fixtures.js';
import { ffmpegPath, ffprobePath } from '../helpers/tools.js';
import { FUZZ_RUNS, FUZZ_TIMEOUT, fuzz, int, mutate, randomBytes, toHex } from '../metadata/fuzz-helpers.js';

const SLICE = new Uint8Array([0x65, 0x88, 0x84, 0x00]);

function accessUnit(...nals: Uint8Array[]): Uint8Array {
  return nals.reduce((au, nal) => prependNal(au, nal), new Uint8Array(0));
}

const dir = mkdtempSync(join(tmpdir(), 'captions-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('CEA-608/708 in H.264 SEI', () => {
  it('odd parity and the pop-on sequence an encoder sends', () => {
    expect(withParity(0x14)).toBe(0x94);
    expect(withParity(0x20)).toBe(0x20);
    expect(withParity(0x48)).toBe(0xc8);
    const pairs = popOnCaption('HI');
    expect(pairs.map(([a, b]) => [a & 0x7f, b & 0x7f])).toEqual([
      [0x14, 0x20], [0x14, 0x20], [0x14, 0x2e], [0x14, 0x2e], [0x14, 0x70], [0x14, 0x70], [0x48, 0x49], [0x14, 0x2f], [0x14, 0x2f],
    ]);
  });

  it('tells field 1, field 2 and DTVCC apart; padding and invalid triplets are no service', () => {
    const cc = popOnCaption('HELLO');
    expect(captionServicesOf(accessUnit(SLICE, captionSei(cc)), 4, 'avc')).toEqual({ field1: true, field2: false, dtvcc: false });
    expect(captionServicesOf(accessUnit(SLICE, captionSei(cc, { field: 2 })), 4, 'avc')).toEqual({ field1: false, field2: true, dtvcc: false });
    expect(captionServicesOf(accessUnit(SLICE, captionSei([[0x03, 0x41]], { dtvcc: true })), 4, 'avc')).toEqual({ field1: false, field2: false, dtvcc: true });
    expect(captionServicesOf(accessUnit(SLICE, captionSei(cc, { valid: false })), 4, 'avc')).toBe(NO_CAPTIONS);
    // 608 padding (0x80 0x80: null with parity) is a caption channel with nothing to say.
    expect(captionServicesOf(accessUnit(SLICE, captionSei([[0x80, 0x80]])), 4, 'avc')).toBe(NO_CAPTIONS);
    expect(captionServicesOf(accessUnit(SLICE), 4, 'avc')).toBe(NO_CAPTIONS);
    // Our own latency stamp is user_data_unregistered (payloadType 5): not captions.
    expect(captionServicesOf(accessUnit(SLICE, buildTimestampSei(1234)), 4, 'avc')).toBe(NO_CAPTIONS);
  });

  it('reads HEVC prefix SEI (NAL type 39, two-byte header)', () => {
    const avcSei = captionSei(popOnCaption('HEVC'));
    const hevcSei = concatBytes([new Uint8Array([39 << 1, 1]), avcSei.subarray(1)]);
    expect(hasCaptions(captionServicesOf(accessUnit(new Uint8Array([0x26, 0x01, 0xaf]), hevcSei), 4, 'hevc'))).toBe(true);
    // The same bytes as an H.264 NAL type are not an HEVC SEI.
    expect(captionServicesOf(accessUnit(avcSei), 4, 'hevc')).toBe(NO_CAPTIONS);
  });

  it('ffprobe reads the captions our test encoder puts in a real H.264 stream (A53 side data on every frame)', async () => {
    const h264 = join(dir, 'plain.h264');
    const ff = spawnSync(ffmpegPath(), ['-v', 'error', '-y', '-i', await fixture('av720p30'), '-an', '-c:v', 'copy', '-bsf:v', 'h264_mp4toannexb', '-frames:v', '30', '-f', 'h264', h264]);
    expect(ff.status, String(ff.stderr)).toBe(0);
    // Our SEI before every slice NAL of an access unit's first slice (first_mb_in_slice = 0).
    const start = new Uint8Array([0, 0, 0, 1]);
    const pieces: Uint8Array[] = [];
    const cc = popOnCaption('HELLO');
    let frame = 0;
    for (const nal of splitAnnexB(readFileSync(h264))) {
      const type = nal[0]! & 0x1f;
      if ((type === 1 || type === 5) && (nal[1]! & 0x80) !== 0) pieces.push(start, captionSei([cc[frame++ % cc.length]!]));
      pieces.push(start, nal);
    }
    const withCaptions = join(dir, 'captions.h264');
    writeFileSync(withCaptions, concatBytes(pieces));
    // ffmpeg's h264 decoder exports A/53 cc_data it parsed as frame side data.
    const a53 = (file: string): number => {
      const probe = spawnSync(ffprobePath(), ['-v', 'error', '-select_streams', 'v:0', '-read_intervals', '%+#10', '-show_entries', 'frame_side_data=side_data_type', '-of', 'csv=p=0', file]);
      return String(probe.stdout).split('\n').filter((l) => l.includes('ATSC A53 Part 4 Closed Captions')).length;
    };
    expect(a53(h264)).toBe(0);
    expect(a53(withCaptions)).toBe(10);
    expect(frame).toBeGreaterThan(0);
  });

  it('fuzz: random and mutated SEI are read or refused with a GatewayError', () => {
    const valid = accessUnit(SLICE, captionSei(popOnCaption('FUZZ')));
    const t = fuzz(
      FUZZ_RUNS,
      7,
      (rand) => {
        if (rand() < 0.3) return randomBytes(rand, 96);
        if (rand() < 0.5) return accessUnit(concatBytes([new Uint8Array([6]), randomBytes(rand, 64 + int(rand, 64))]));
        return mutate(rand, valid);
      },
      (bytes) => captionServicesOf(bytes, 4, 'avc'),
      toHex,
    );
    expect(t.ok).toBeGreaterThan(0);
    expect(t.ok + t.rejected).toBe(FUZZ_RUNS);
  }, FUZZ_TIMEOUT);
});
