/**
 * The probe's publisher: ffmpeg encodes a synthetic live source in real time to FLV on stdout;
 * we demux it (FlvReader) and forward every tag over our own RTMP publish connection, stamping each
 * video access unit with a timestamp SEI carrying the wall clock at the moment it is written.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { FlvReader, FLV_TAG_AUDIO, FLV_TAG_SCRIPT, FLV_TAG_VIDEO, type FlvTag } from '../flv/reader.js';
import { parseVideoTagBody } from '../flv/tag.js';
import { encodeAmf0 } from '../flv/amf0.js';
import { MessageType } from '../rtmp/messages.js';
import { resolveFfmpegPath } from '../ladder/ffmpeg-path.js';
import { RtmpClientConnection, type RtmpTarget } from '../rtmp/client.js';
import { buildTimestampSei, insertSeiIntoAvcc } from './sei.js';
import { wallClockMs } from './clock.js';

/** ffmpeg arguments: testsrc2 640x360@30 + 1 kHz sine, real time, 2 s GOP, no B-frames. */
export function publisherFfmpegArgs(): string[] {
  return [
    '-hide_banner', '-loglevel', 'error',
    // -re is an input option: pace both synthetic sources at real time.
    '-re', '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=30',
    '-re', '-f', 'lavfi', '-i', 'sine=frequency=1000:sample_rate=48000',
    '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-g', '60', '-keyint_min', '60', '-bf', '0', '-pix_fmt', 'yuv420p', '-b:v', '800k',
    '-c:a', 'aac', '-b:a', '64k', '-ar', '48000', '-ac', '2',
    // Flush every packet to the pipe: stdio buffering would add latency we would then measure.
    '-flush_packets', '1', '-f', 'flv', 'pipe:1',
  ];
}

/**
 * Rewrites one FLV/RTMP AVC video payload with our SEI inserted (FLV §E.4.3.1 VideoTagHeader:
 * FrameType|CodecID, AVCPacketType, CompositionTime(3), then length-prefixed NALs).
 * Non-frame payloads come back unchanged.
 */
export function stampVideoPayload(payload: Uint8Array, nalLengthSize: number, sendTimeMs: number): Uint8Array {
  const body = parseVideoTagBody(payload);
  if (body.kind !== 'frame' || body.codec !== 'avc') return payload;
  const headerLength = payload.byteLength - body.data.byteLength;
  const stamped = insertSeiIntoAvcc(body.data, nalLengthSize, buildTimestampSei(sendTimeMs));
  const out = new Uint8Array(headerLength + stamped.byteLength);
  out.set(payload.subarray(0, headerLength), 0);
  out.set(stamped, headerLength);
  return out;
}

export interface Publisher {
  /** Video frames sent so far. */
  readonly sent: () => number;
  stop(): void;
  /** Rejects when ffmpeg or the connection fails before stop(). */
  readonly failed: Promise<never>;
}

export interface PublisherOptions {
  /**
   * Replay this FLV file in a loop, paced by its tag timestamps, instead of encoding live with
   * ffmpeg (offline use and tests). The file should start with a keyframe and have no B-frames.
   */
  readonly flvFile?: string;
}

export async function startPublisher(target: RtmpTarget, opts: PublisherOptions = {}): Promise<Publisher> {
  const ffmpeg = opts.flvFile === undefined ? resolveFfmpegPath() : undefined;
  if (opts.flvFile === undefined && !ffmpeg) throw new Error('ffmpeg not found (set FFMPEG_PATH)');
  const conn = new RtmpClientConnection(target);
  try {
    await conn.publish();
  } catch (e) {
    conn.close();
    throw e;
  }
  let nalLengthSize = 4;
  let sent = 0;
  let stopped = false;
  const forward = (tag: FlvTag): void => {
    if (tag.type === FLV_TAG_VIDEO) {
      const body = parseVideoTagBody(tag.payload);
      if (body.kind === 'sequence-header' && body.codec === 'avc' && body.config.byteLength > 4) {
        nalLengthSize = (body.config[4]! & 3) + 1; // AVCDecoderConfigurationRecord lengthSizeMinusOne
        conn.sendMedia(MessageType.Video, tag.timestamp, tag.payload);
        return;
      }
      // Send time = the wall clock right as the message goes to the socket.
      conn.sendMedia(MessageType.Video, tag.timestamp, stampVideoPayload(tag.payload, nalLengthSize, wallClockMs()));
      sent++;
    } else if (tag.type === FLV_TAG_AUDIO) {
      conn.sendMedia(MessageType.Audio, tag.timestamp, tag.payload);
    } else if (tag.type === FLV_TAG_SCRIPT) {
      const prefix = encodeAmf0('@setDataFrame');
      const data = new Uint8Array(prefix.byteLength + tag.payload.byteLength);
      data.set(prefix, 0);
      data.set(tag.payload, prefix.byteLength);
      conn.sendMedia(MessageType.DataAMF0, tag.timestamp, data);
    }
  };
  if (opts.flvFile !== undefined) {
    const replay = replayFlv(readFileSync(opts.flvFile), forward);
    return {
      sent: () => sent,
      failed: new Promise<never>(() => undefined),
      stop: () => {
        stopped = true;
        replay.stop();
        conn.close();
      },
    };
  }
  const child: ChildProcess = spawn(ffmpeg!, publisherFfmpegArgs(), { stdio: ['ignore', 'pipe', 'pipe'] });
  const reader = new FlvReader();
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-2000);
  });
  const failed = new Promise<never>((_resolve, reject) => {
    child.on('error', (e) => {
      if (!stopped) reject(e);
    });
    child.on('exit', (code) => {
      if (!stopped) reject(new Error(`ffmpeg exited ${code}: ${stderr.trim()}`));
    });
    child.stdout?.on('data', (chunk: Buffer) => {
      try {
        for (const tag of reader.push(chunk)) forward(tag);
      } catch (e) {
        if (!stopped) reject(e instanceof Error ? e : new Error(String(e)));
      }
    });
  });
  failed.catch(() => undefined);
  return {
    sent: () => sent,
    failed,
    stop: () => {
      stopped = true;
      child.kill('SIGKILL');
      conn.close();
    },
  };
}

/**
 * Sends a file's tags in a loop at their timestamps (what ffmpeg -re does), shifting timestamps
 * by the loop length each pass so the stream's clock keeps rising. Sequence headers and metadata
 * are sent on the first pass only.
 */
function replayFlv(file: Uint8Array, forward: (tag: FlvTag) => void): { stop(): void } {
  const tags = new FlvReader().push(file);
  if (tags.length === 0) throw new Error('FLV file has no tags');
  const media = tags.filter((t) => !(t.type === FLV_TAG_SCRIPT || ((t.type === FLV_TAG_VIDEO || t.type === FLV_TAG_AUDIO) && t.payload[1] === 0)));
  const loopMs = media.length > 0 ? media[media.length - 1]!.timestamp + 34 : 1000;
  const start = Date.now();
  let index = 0;
  let pass = 0;
  let timer: NodeJS.Timeout | undefined;
  const tick = (): void => {
    const now = Date.now() - start;
    for (;;) {
      const list = pass === 0 ? tags : media;
      if (index >= list.length) {
        pass++;
        index = 0;
        continue;
      }
      const tag = list[index]!;
      const due = tag.timestamp + pass * loopMs;
      if (due > now) {
        timer = setTimeout(tick, due - now);
        return;
      }
      forward({ ...tag, timestamp: due });
      index++;
    }
  };
  tick();
  return { stop: () => clearTimeout(timer) };
}
