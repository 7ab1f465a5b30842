/**
 * A small Enhanced RTMP publisher for codecs Debian's ffmpeg 5.1 cannot send over RTMP (it has no
 * E-RTMP muxer; 6.1 does): ffmpeg encodes an MP4 (AV1 or VP9 + AAC), mp4box reads its samples,
 * and our RTMP client sends them as OBS 30+ does: ExVideoTagHeader with FourCC `av01` / `vp09`
 * (SequenceStart with the av1C / vpcC record, then CodedFrames, no composition time), and legacy
 * AAC tags. It also sends Enhanced RTMP v2 multitrack video (publishMultitrack), H.264 as `avc1`
 * CodedFramesX, and Enhanced RTMP v2 audio in place of the AAC: `Opus`, `fLaC`, `ac-3`, `ec-3`
 * (ExAudioTagHeader SequenceStart with OpusHead / `fLaC` + STREAMINFO, none for AC-3, then
 * CodedFrames), from helpers/audio-fixtures.ts.
 */
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Sample } from 'mp4box';
import { MessageType } from '../../src/rtmp/messages.js';
import { encodeAmf0, type Amf0Value } from '../../src/flv/amf0.js';
import { parseRtmpUrl, RtmpClientConnection } from '../../src/rtmp/client.js';
import { parseMp4 } from '../mux/fmp4/media-fixture.js';
import { FLV_TAG_AUDIO, FLV_TAG_SCRIPT, FLV_TAG_VIDEO, FlvReader } from '../../src/flv/reader.js';
import { run } from './process.js';
import { ffmpegPath } from './tools.js';
import { AUDIO_FOURCC, boxPayload, type EnhancedAudioFixture } from './audio-fixtures.js';

const DIR = join(tmpdir(), 'streamgate-fixtures-v2');

export type ErtmpCodec = 'av1' | 'vp9' | 'hevc' | 'avc';

const ENCODERS: Record<ErtmpCodec, string[]> = {
  av1: ['-c:v', 'libsvtav1', '-preset', '12'],
  vp9: ['-c:v', 'libvpx-vp9', '-deadline', 'realtime', '-cpu-used', '8'],
  // No B-frames: the frames go out as CodedFramesX (no composition time).
  hevc: ['-c:v', 'libx265', '-preset', 'ultrafast', '-x265-params', 'bframes=0:log-level=error'],
  avc: ['-c:v', 'libx264', '-preset', 'ultrafast', '-bf', '0'],
};

/** 6 s of 640x360p30 AV1 (SVT-AV1), VP9 (libvpx), HEVC (x265) or H.264 (x264), a keyframe a second, and AAC-LC 48 kHz stereo, in MP4. */
export async function ertmpFixture(codec: ErtmpCodec): Promise<string> {
  mkdirSync(DIR, { recursive: true });
  const file = join(DIR, `${codec}-360p30.mp4`);
  if (existsSync(file)) return file;
  const tmp = `${file}.${process.pid}.tmp.mp4`;
  const r = await run(
    ffmpegPath(),
    ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=30', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000', '-t', '6', ...ENCODERS[codec], '-g', '30', '-b:v', '600k', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-b:a', '96k', '-ac', '2', tmp],
    180_000,
  );
  if (r.code !== 0) throw new Error(`ffmpeg could not make the ${codec} fixture: ${r.stderr}`);
  renameSync(tmp, file);
  return file;
}

/** Each codec's E-RTMP FourCC and where its SequenceStart record comes from in the MP4. */
const CARRIAGE: Record<ErtmpCodec, { fourcc: string; record: (mp4: Uint8Array) => Uint8Array; packetType: number }> = {
  // CodedFrames (1): AV1 and VP9 carry no composition time.
  av1: { fourcc: 'av01', record: (mp4) => boxPayload(mp4, 'av1C'), packetType: 1 },
  // vpcC is a FullBox: E-RTMP's vp09 SequenceStart carries the record after version and flags.
  vp9: { fourcc: 'vp09', record: (mp4) => boxPayload(mp4, 'vpcC').subarray(4), packetType: 1 },
  // CodedFramesX (3): HEVC frames whose composition time is 0.
  hevc: { fourcc: 'hvc1', record: (mp4) => boxPayload(mp4, 'hvcC'), packetType: 3 },
  // CodedFramesX (3): H.264 without B-frames, as `avc1` through the ex-header.
  avc: { fourcc: 'avc1', record: (mp4) => boxPayload(mp4, 'avcC'), packetType: 3 },
};

export interface ErtmpPublisher {
  /** Resolves when the publish is over (the loop stopped or the connection closed). */
  readonly done: Promise<void>;
  stop(): void;
}

export interface TimedTag {
  ms: number;
  type: number;
  payload: Uint8Array;
}

/**
 * Publishes an AV1, VP9, HEVC or H.264 MP4 to `url` in real time over E-RTMP, looping until stop()
 * (timestamps continue); its AAC, or `audio` as Enhanced RTMP v2 audio when given.
 */
export async function publishErtmp(codec: ErtmpCodec, file: string, url: string, audio?: EnhancedAudioFixture, options: { colorInfo?: Amf0Value } = {}): Promise<ErtmpPublisher> {
  const bytes = new Uint8Array(readFileSync(file));
  const parsed = parseMp4(bytes, { withData: true });
  const videoTrack = parsed.info.videoTracks[0]!;
  const audioTrack = parsed.info.audioTracks[0]!;
  const { fourcc, record, packetType } = CARRIAGE[codec];
  const fourccBytes = [...fourcc].map((c) => c.charCodeAt(0));
  // AudioSpecificConfig of AAC-LC (2), 48 kHz (index 3), 2 channels: ISO/IEC 14496-3 §1.6.2.1.
  const asc = Uint8Array.of((2 << 3) | (3 >> 1), ((3 & 1) << 7) | (2 << 3));
  const tags: TimedTag[] = [];
  const toMs = (s: Sample): number => (s.dts * 1000) / s.timescale;
  for (const s of parsed.samples.get(videoTrack.id)!) {
    const head = Uint8Array.of(0x80 | ((s.is_sync ? 1 : 2) << 4) | packetType, ...fourccBytes);
    tags.push({ ms: toMs(s), type: MessageType.Video, payload: concat(head, s.data!) });
  }
  const sequenceStart = concat(Uint8Array.of(0x80 | (1 << 4) | 0, ...fourccBytes), record(bytes));
  const headers: TimedTag[] = [{ ms: 0, type: MessageType.Video, payload: sequenceStart }];
  if (options.colorInfo !== undefined) {
    // VideoPacketType.Metadata after the SequenceStart, before the first frame, as OBS 30+ sends
    // it: FrameType 5 (command), the FourCC, then AMF0 ["colorInfo", Object].
    headers.push({ ms: 0, type: MessageType.Video, payload: concat(Uint8Array.of(0x80 | (5 << 4) | 4, ...fourccBytes), encodeAmf0('colorInfo', options.colorInfo)) });
  }
  if (audio) {
    // ExAudioTagHeader: SoundFormat 9 << 4 | AudioPacketType (0 SequenceStart, 1 CodedFrames), FourCC.
    const audioFourcc = [...AUDIO_FOURCC[audio.codec]].map((c) => c.charCodeAt(0));
    if (audio.sequenceStart) headers.push({ ms: 0, type: MessageType.Audio, payload: concat(Uint8Array.of(0x90, ...audioFourcc), audio.sequenceStart) });
    for (const p of audio.packets) tags.push({ ms: p.ms, type: MessageType.Audio, payload: concat(Uint8Array.of(0x91, ...audioFourcc), p.data) });
  } else {
    for (const s of parsed.samples.get(audioTrack.id)!) tags.push({ ms: toMs(s), type: MessageType.Audio, payload: concat(Uint8Array.of(0xaf, 0x01), s.data!) });
    headers.push({ ms: 0, type: MessageType.Audio, payload: concat(Uint8Array.of(0xaf, 0x00), asc) });
  }
  return sendInRealTime(url, headers, tags);
}

/**
 * Publishes `headers` once and then `tags` in real time, looping with the timestamps going on
 * until stop() or the connection closes. The loop is as long as the video (30 fps: the last frame
 * plus one), so the seam is seamless for video; audio past it is left out.
 */
export async function sendInRealTime(url: string, headers: readonly TimedTag[], all: readonly TimedTag[]): Promise<ErtmpPublisher> {
  const lastVideo = Math.max(...all.filter((t) => t.type === MessageType.Video).map((t) => t.ms));
  const loopMs = lastVideo + 1000 / 30;
  const tags = all.filter((t) => t.ms < loopMs - 0.5).sort((a, b) => a.ms - b.ms || a.type - b.type);
  const conn = new RtmpClientConnection(parseRtmpUrl(url));
  await conn.publish();
  for (const h of headers) conn.sendMedia(h.type, h.ms, h.payload);
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

/**
 * Three renditions of one picture (720p, 480p, 360p H.264, keyframes on the same frames every
 * second) and AAC, as four FLV files (tracks 0, 1, 2 and the audio): apart, so that each video
 * starts at 0 ms as one encoder's tracks do (muxed with AAC, ffmpeg shifts the video by the AAC
 * priming delay).
 */
export async function multitrackFixture(): Promise<string[]> {
  mkdirSync(DIR, { recursive: true });
  const files = [0, 1, 2, 3].map((i) => join(DIR, `multitrack-${i === 3 ? 'audio' : i}.flv`));
  if (files.every((f) => existsSync(f))) return files;
  const tmp = files.map((f) => `${f}.${process.pid}.tmp.flv`);
  const video = ['-c:v', 'libx264', '-preset', 'ultrafast', '-profile:v', 'high', '-g', '30', '-keyint_min', '30', '-sc_threshold', '0', '-bf', '0', '-f', 'flv'];
  const r = await run(
    ffmpegPath(),
    ['-v', 'error', '-y', '-t', '8', '-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=30', '-t', '8', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
      '-filter_complex', '[0:v]split=3[a][b][c];[b]scale=854:480[b2];[c]scale=640:360[c2]',
      '-map', '[a]', ...video, '-b:v', '1500k', tmp[0]!,
      '-map', '[b2]', ...video, '-b:v', '800k', tmp[1]!,
      '-map', '[c2]', ...video, '-b:v', '400k', tmp[2]!,
      '-map', '1:a', '-c:a', 'aac', '-f', 'flv', tmp[3]!],
    180_000,
  );
  if (r.code !== 0) throw new Error(`ffmpeg could not make the multitrack fixture: ${r.stderr}`);
  tmp.forEach((t, i) => renameSync(t, files[i]!));
  return files;
}

/**
 * Publishes the video files (and the audio file last) as one Enhanced RTMP v2 multitrack stream,
 * as OBS 31's multitrack video does: track 0 in plain (legacy AVC) tags, tracks 1 and 2 as
 * Multitrack OneTrack packets `[0x80|frameType<<4|6] [OneTrack<<4|packetType] 'avc1' [trackId] …`,
 * the audio in plain AAC tags.
 */
export async function publishMultitrack(files: readonly string[], url: string): Promise<ErtmpPublisher> {
  const headers: TimedTag[] = [];
  const tags: TimedTag[] = [];
  files.forEach((file, index) => {
    const trackId = index === files.length - 1 ? 0 : index;
    for (const tag of new FlvReader().push(readFileSync(file))) {
      if (tag.type === FLV_TAG_SCRIPT) continue;
      let payload = tag.payload;
      if (trackId > 0 && tag.type === FLV_TAG_VIDEO) {
        // Legacy AVCVIDEOPACKET -> multitrack: AVCPacketType 0/1/2 is SequenceStart/CodedFrames/SequenceEnd.
        const frameType = payload[0]! >> 4;
        const packetType = payload[1]!;
        const rest = packetType === 1 ? payload.subarray(2) : payload.subarray(5);
        payload = concat(Uint8Array.of(0x80 | (frameType << 4) | 6, packetType, 0x61, 0x76, 0x63, 0x31, trackId), rest);
      }
      const isHeader = (tag.type === FLV_TAG_VIDEO && tag.payload[1] === 0) || (tag.type === FLV_TAG_AUDIO && tag.payload[1] === 0);
      (isHeader ? headers : tags).push({ ms: tag.timestamp, type: tag.type === FLV_TAG_VIDEO ? MessageType.Video : MessageType.Audio, payload });
    }
  });
  return sendInRealTime(url, headers, tags);
}

/**
 * Publishes an FLV file (H.264 + AAC) in real time with our RTMP client, looping, and data
 * messages (RTMP type 18: onCuePoint, onTextData, …) at the given times of each loop, as an
 * encoder that inserts cue points does.
 */
export async function publishFlvWithData(file: string, url: string, data: readonly { ms: number; values: readonly Amf0Value[] }[]): Promise<ErtmpPublisher> {
  const headers: TimedTag[] = [];
  const tags: TimedTag[] = [];
  for (const tag of new FlvReader().push(readFileSync(file))) {
    if (tag.type === FLV_TAG_SCRIPT) continue;
    const isHeader = tag.payload[1] === 0;
    (isHeader ? headers : tags).push({ ms: tag.timestamp, type: tag.type === FLV_TAG_VIDEO ? MessageType.Video : MessageType.Audio, payload: tag.payload });
  }
  for (const d of data) tags.push({ ms: d.ms, type: MessageType.DataAMF0, payload: encodeAmf0(...d.values) });
  return sendInRealTime(url, headers, tags);
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.byteLength + b.byteLength);
  out.set(a, 0);
  out.set(b, a.byteLength);
  return out;
}
