/**
 * A small Enhanced RTMP publisher for codecs Debian's ffmpeg 5.1 cannot send over RTMP (it has no
 * E-RTMP muxer; 6.1 does): ffmpeg encodes an MP4 (AV1 + AAC), mp4box reads its samples, and our
 * RTMP client sends them as OBS 30+ does: ExVideoTagHeader with FourCC `av01` (SequenceStart with
 * the av1C record, then CodedFrames, no composition time), and legacy AAC tags.
 */
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Sample } from 'mp4box';
import { MessageType } from '../../src/rtmp/messages.js';
import { parseRtmpUrl, RtmpClientConnection } from '../../src/rtmp/client.js';
import { parseMp4 } from '../mux/fmp4/media-fixture.js';
import { run } from './process.js';
import { ffmpegPath } from './tools.js';

const DIR = join(tmpdir(), 'streamgate-fixtures-v2');

/** 6 s of 640x360p30 AV1 (SVT-AV1, a keyframe a second) and AAC-LC 48 kHz stereo, in MP4. */
export async function av1Fixture(): Promise<string> {
  mkdirSync(DIR, { recursive: true });
  const file = join(DIR, 'av1-360p30.mp4');
  if (existsSync(file)) return file;
  const tmp = `${file}.${process.pid}.tmp.mp4`;
  const r = await run(
    ffmpegPath(),
    ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=30', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000', '-t', '6', '-c:v', 'libsvtav1', '-preset', '12', '-g', '30', '-b:v', '600k', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-b:a', '96k', '-ac', '2', tmp],
    180_000,
  );
  if (r.code !== 0) throw new Error(`ffmpeg could not make the AV1 fixture: ${r.stderr}`);
  renameSync(tmp, file);
  return file;
}

/** The payload of the first box of `type` anywhere in `bytes` (a plain search: test media only). */
function boxPayload(bytes: Uint8Array, type: string): Uint8Array {
  const code = [...type].map((c) => c.charCodeAt(0));
  for (let i = 4; i + 4 <= bytes.byteLength; i++) {
    if (bytes[i] === code[0] && bytes[i + 1] === code[1] && bytes[i + 2] === code[2] && bytes[i + 3] === code[3]) {
      const size = ((bytes[i - 4]! << 24) | (bytes[i - 3]! << 16) | (bytes[i - 2]! << 8) | bytes[i - 1]!) >>> 0;
      return bytes.subarray(i + 4, i - 4 + size);
    }
  }
  throw new Error(`no ${type} box`);
}

export interface ErtmpPublisher {
  /** Resolves when the publish is over (the loop stopped or the connection closed). */
  readonly done: Promise<void>;
  stop(): void;
}

interface TimedTag {
  ms: number;
  type: number;
  payload: Uint8Array;
}

/** Publishes the AV1 MP4 to `url` in real time, looping until stop() (timestamps continue). */
export async function publishAv1(file: string, url: string): Promise<ErtmpPublisher> {
  const bytes = new Uint8Array(readFileSync(file));
  const parsed = parseMp4(bytes, { withData: true });
  const videoTrack = parsed.info.videoTracks[0]!;
  const audioTrack = parsed.info.audioTracks[0]!;
  const av1C = boxPayload(bytes, 'av1C');
  // AudioSpecificConfig of AAC-LC (2), 48 kHz (index 3), 2 channels: ISO/IEC 14496-3 §1.6.2.1.
  const asc = Uint8Array.of((2 << 3) | (3 >> 1), ((3 & 1) << 7) | (2 << 3));
  const tags: TimedTag[] = [];
  const toMs = (s: Sample): number => (s.dts * 1000) / s.timescale;
  for (const s of parsed.samples.get(videoTrack.id)!) {
    const head = Uint8Array.of(0x80 | ((s.is_sync ? 1 : 2) << 4) | 1, 0x61, 0x76, 0x30, 0x31); // CodedFrames 'av01'
    tags.push({ ms: toMs(s), type: MessageType.Video, payload: concat(head, s.data!) });
  }
  for (const s of parsed.samples.get(audioTrack.id)!) tags.push({ ms: toMs(s), type: MessageType.Audio, payload: concat(Uint8Array.of(0xaf, 0x01), s.data!) });
  tags.sort((a, b) => a.ms - b.ms || a.type - b.type);
  const loopMs = Math.ceil(Math.max(...tags.map((t) => t.ms)) + 1000 / 30);

  const conn = new RtmpClientConnection(parseRtmpUrl(url));
  await conn.publish();
  const sequenceStart = concat(Uint8Array.of(0x80 | (1 << 4) | 0, 0x61, 0x76, 0x30, 0x31), av1C);
  conn.sendMedia(MessageType.Video, 0, sequenceStart);
  conn.sendMedia(MessageType.Audio, 0, concat(Uint8Array.of(0xaf, 0x00), asc));

  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const done = new Promise<void>((resolve) => {
    conn.onClose = () => {
      stopped = true;
      clearTimeout(timer);
      resolve();
    };
    const start = performance.now();
    let i = 0;
    let loop = 0;
    const step = (): void => {
      if (stopped) return;
      const elapsed = performance.now() - start;
      while (!stopped) {
        const tag = tags[i]!;
        const at = loop * loopMs + tag.ms;
        if (at > elapsed) break;
        conn.sendMedia(tag.type, Math.round(at), tag.payload);
        i++;
        if (i === tags.length) {
          i = 0;
          loop++;
        }
      }
      timer = setTimeout(step, 5);
    };
    step();
  });
  return {
    done,
    stop: () => {
      stopped = true;
      clearTimeout(timer);
      conn.close();
    },
  };
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.byteLength + b.byteLength);
  out.set(a, 0);
  out.set(b, a.byteLength);
  return out;
}
