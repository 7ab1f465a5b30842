/** VP9: the vpcC record, the codec string, and the frame size from a key frame's header. */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parseVpcRecord, vp9CodecString, vp9KeyFrameSize } from '../../src/codec/vp9.js';
import { buildVideoTrack } from '../../src/codec/tracks.js';
import { GatewayError } from '../../src/core/errors.js';
import { BitWriter } from './bit-writer.js';

/** The vpcC payload after version/flags that ffmpeg 5.1 writes for libvpx-vp9 640x360 yuv420p. */
const RECORD = Uint8Array.of(0x00, 0x15, 0x82, 0x02, 0x02, 0x02, 0x00, 0x00);

/** uncompressed_header() of a profile 0 frame (VP9 §6.2) up to the frame size. */
function frameHeader(opts: { key: boolean; width?: number; height?: number; profile?: number }): Uint8Array {
  const w = new BitWriter();
  const profile = opts.profile ?? 0;
  w.u(2, 2).u(1, profile & 1).u(1, profile >> 1);
  if (profile === 3) w.u(1, 0);
  w.u(1, 0); // show_existing_frame
  w.u(1, opts.key ? 0 : 1).u(1, 1).u(1, 0); // frame_type, show_frame, error_resilient_mode
  if (opts.key) {
    w.u(24, 0x498342);
    if (profile >= 2) w.u(1, 0);
    w.u(3, 1).u(1, 0); // color_space BT.601, color_range
    if (profile === 1 || profile === 3) w.u(3, 0);
    w.u(16, (opts.width ?? 640) - 1).u(16, (opts.height ?? 360) - 1);
  }
  return w.u(8, 0).align().bytes();
}

describe('VP9', () => {
  it('reads vpcC and writes the full codec string', () => {
    const record = parseVpcRecord(RECORD);
    expect(record).toEqual({ profile: 0, level: 21, bitDepth: 8, chromaSubsampling: 1, videoFullRangeFlag: 0, colourPrimaries: 2, transferCharacteristics: 2, matrixCoefficients: 2 });
    expect(vp9CodecString(record)).toBe('vp09.00.21.08.01.02.02.02.00');
    expect(() => parseVpcRecord(RECORD.subarray(0, 5))).toThrow(GatewayError);
  });

  it('takes the picture size from key frames (every profile), nothing from inter frames', () => {
    expect(vp9KeyFrameSize(frameHeader({ key: true, width: 1920, height: 1080 }))).toEqual({ width: 1920, height: 1080 });
    for (const profile of [1, 2, 3]) expect(vp9KeyFrameSize(frameHeader({ key: true, profile, width: 320, height: 240 }))).toEqual({ width: 320, height: 240 });
    expect(vp9KeyFrameSize(frameHeader({ key: false }))).toBeUndefined();
    expect(() => vp9KeyFrameSize(Uint8Array.of(0x00, 0x00))).toThrow(GatewayError);
    const track = buildVideoTrack('vp9', RECORD, { width: 640, height: 360 });
    expect(track).toMatchObject({ codec: 'vp9', width: 640, height: 360, codecString: 'vp09.00.21.08.01.02.02.02.00' });
    expect(() => buildVideoTrack('vp9', RECORD)).toThrow(/first key frame/);
  });

  it('never throws anything but GatewayError on random input', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), (bytes) => {
        for (const f of [() => vp9KeyFrameSize(bytes), () => parseVpcRecord(bytes)]) {
          try {
            f();
          } catch (e) {
            expect(e).toBeInstanceOf(GatewayError);
          }
        }
      }),
      { numRuns: Number(process.env['FUZZ_RUNS'] ?? 500) },
    );
  });
});
