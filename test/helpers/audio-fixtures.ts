/**
 * Enhanced RTMP audio as an encoder sends it, from real encoders: ffmpeg 5.1 (libopus, flac, ac3,
 * eac3) encodes a few seconds of a tone into MP4, mp4box reads the packets back, and the
 * configuration box becomes what an E-RTMP v2 SequenceStart carries: OpusHead (RFC 7845 §5.1) from
 * dOps, `fLaC` + the STREAMINFO metadata block from dfLa; AC-3 and E-AC-3 have none. Cached per
 * machine in the OS temp dir, nothing binary committed.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ffmpegBinary, parseMp4 } from '../mux/fmp4/media-fixture.js';

export type EnhancedAudioCodec = 'opus' | 'flac' | 'ac3' | 'eac3';

/** The E-RTMP v2 AudioFourCc of each codec. */
export const AUDIO_FOURCC: Record<EnhancedAudioCodec, string> = { opus: 'Opus', flac: 'fLaC', ac3: 'ac-3', eac3: 'ec-3' };

export interface EnhancedAudioFixture {
  readonly codec: EnhancedAudioCodec;
  readonly file: string;
  readonly sampleRate: number;
  readonly channels: number;
  /** The E-RTMP SequenceStart body after the FourCC; undefined for AC-3 / E-AC-3. */
  readonly sequenceStart: Uint8Array | undefined;
  /** Packets in decode order, with their time in ms. */
  readonly packets: readonly { readonly ms: number; readonly data: Uint8Array }[];
}

const DIR = join(tmpdir(), 'streamgate-audio-fixtures-v1');

const ENCODE: Record<EnhancedAudioCodec, { args: string[]; rate: number; channels: number }> = {
  opus: { args: ['-c:a', 'libopus', '-b:a', '96k', '-frame_duration', '20'], rate: 48_000, channels: 2 },
  // ffmpeg 5.1 calls FLAC in MP4 experimental (-strict -2); a 44.1 kHz mono one tests another layout.
  flac: { args: ['-c:a', 'flac', '-strict', '-2'], rate: 44_100, channels: 1 },
  ac3: { args: ['-c:a', 'ac3', '-b:a', '192k'], rate: 48_000, channels: 6 },
  eac3: { args: ['-c:a', 'eac3', '-b:a', '192k'], rate: 48_000, channels: 2 },
};

/** `seconds` of a 440 Hz tone in `codec`, in MP4, and what an E-RTMP publisher would send of it. */
export function enhancedAudioFixture(codec: EnhancedAudioCodec, seconds = 6): EnhancedAudioFixture {
  const { args, rate, channels } = ENCODE[codec];
  mkdirSync(DIR, { recursive: true });
  const file = join(DIR, `${codec}-${rate}-${channels}ch-${seconds}s.mp4`);
  if (!existsSync(file)) {
    const tmp = `${file}.${process.pid}.tmp.mp4`;
    const layout = channels === 6 ? '5.1' : channels === 2 ? 'stereo' : 'mono';
    const r = spawnSync(
      ffmpegBinary(),
      ['-v', 'error', '-y', '-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=${rate},aformat=channel_layouts=${layout}`, '-t', String(seconds), ...args, tmp],
      { encoding: 'utf8' },
    );
    if (r.status !== 0) throw new Error(`ffmpeg could not make the ${codec} fixture: ${r.stderr}`);
    renameSync(tmp, file);
  }
  const bytes = new Uint8Array(readFileSync(file));
  const parsed = parseMp4(bytes, { withData: true });
  const track = parsed.info.audioTracks[0]!;
  const packets = parsed.samples.get(track.id)!.map((s) => ({ ms: (s.dts * 1000) / s.timescale, data: s.data! }));
  return { codec, file, sampleRate: rate, channels, sequenceStart: sequenceStartOf(codec, bytes), packets };
}

function sequenceStartOf(codec: EnhancedAudioCodec, mp4: Uint8Array): Uint8Array | undefined {
  if (codec === 'opus') return opusHeadFromDops(boxPayload(mp4, 'dOps'));
  if (codec === 'flac') {
    // dfLa: FullBox version/flags, then the metadata blocks; E-RTMP v2: "fLaC" + the blocks.
    const blocks = boxPayload(mp4, 'dfLa').subarray(4);
    const out = new Uint8Array(4 + blocks.byteLength);
    out.set([0x66, 0x4c, 0x61, 0x43], 0);
    out.set(blocks, 4);
    return out;
  }
  return undefined;
}

/** dOps (big-endian, Version 0) -> OpusHead (RFC 7845 §5.1, little-endian, version 1). */
export function opusHeadFromDops(dops: Uint8Array): Uint8Array {
  const table = dops.subarray(11);
  const out = new Uint8Array(19 + table.byteLength);
  const view = new DataView(out.buffer);
  const dv = new DataView(dops.buffer, dops.byteOffset, dops.byteLength);
  out.set([...'OpusHead'].map((c) => c.charCodeAt(0)), 0);
  out[8] = 1;
  out[9] = dops[1]!;
  view.setUint16(10, dv.getUint16(2), true);
  view.setUint32(12, dv.getUint32(4), true);
  view.setInt16(16, dv.getInt16(8), true);
  out[18] = dops[10]!;
  out.set(table, 19);
  return out;
}

/** The payload of the first box of `type` anywhere in `bytes` (a plain search: test media only). */
export function boxPayload(bytes: Uint8Array, type: string): Uint8Array {
  const code = [...type].map((c) => c.charCodeAt(0));
  for (let i = 4; i + 4 <= bytes.byteLength; i++) {
    if (bytes[i] === code[0] && bytes[i + 1] === code[1] && bytes[i + 2] === code[2] && bytes[i + 3] === code[3]) {
      const size = ((bytes[i - 4]! << 24) | (bytes[i - 3]! << 16) | (bytes[i - 2]! << 8) | bytes[i - 1]!) >>> 0;
      return bytes.subarray(i + 4, i - 4 + size);
    }
  }
  throw new Error(`no ${type} box`);
}
