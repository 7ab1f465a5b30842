/**
 * FLV tags into a stream, whoever makes them: an ffmpeg process writing FLV on its stdout (pull
 * sources over HTTP, the slate) read by our FLV reader, and every tag fed through the RTMP ingest
 * (flv/ingest.ts) into a Publisher, exactly as a publisher's RTMP messages are.
 */
import { spawn } from 'node:child_process';
import { decodeAmf0, isAmf0Object } from '../flv/amf0.js';
import type { FlvIngest } from '../flv/ingest.js';
import { FLV_TAG_AUDIO, FLV_TAG_SCRIPT, FLV_TAG_VIDEO, FlvReader } from '../flv/reader.js';
import type { Publisher } from '../core/publish.js';

/** Something that delivers FLV tags until it stops. */
export interface TagFeed {
  close(): void;
}

export type OnTag = (type: number, timestamp: number, payload: Uint8Array) => void;

/** ffmpeg with `inputArgs` (inputs, maps, codecs) writing FLV to its stdout, read tag by tag. */
export function spawnFlvFeed(ffmpeg: string, inputArgs: readonly string[], onTag: OnTag, onEnd: (reason: string) => void): TagFeed {
  const child = spawn(ffmpeg, ['-hide_banner', '-loglevel', 'error', ...inputArgs, '-f', 'flv', '-flvflags', 'no_duration_filesize', 'pipe:1'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const reader = new FlvReader();
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-500)));
  child.stdout.on('data', (chunk: Buffer) => {
    try {
      for (const t of reader.push(chunk)) onTag(t.type, t.timestamp, t.payload);
    } catch (err) {
      child.kill('SIGKILL');
      onEnd(`bad FLV from ffmpeg: ${(err as Error).message}`);
    }
  });
  // ffmpeg's message may quote a URL (and a token in it): not in logs or the API.
  const lastLine = (): string => (stderr.trim().split('\n').pop() ?? '').replace(/[a-z][a-z0-9+.-]*:\/\/\S+/gi, '(url)');
  child.on('error', (err) => onEnd(`ffmpeg: ${err.message}`));
  child.on('close', (code) => onEnd(`ffmpeg exited (${code ?? 'signal'})${stderr ? `: ${lastLine()}` : ''}`));
  return { close: () => child.kill('SIGKILL') };
}

/** One FLV tag into a publish, as the RTMP session does with a publisher's messages. */
export function feedTag(publisher: Publisher, ingest: FlvIngest, type: number, timestamp: number, payload: Uint8Array): void {
  if (type === FLV_TAG_SCRIPT) {
    const values = decodeAmf0(payload);
    const i = values[0] === '@setDataFrame' ? 1 : 0;
    const meta = values[i + 1];
    if (values[i] === 'onMetaData' && meta !== undefined && isAmf0Object(meta)) publisher.metadata(meta);
    return;
  }
  if ((type !== FLV_TAG_VIDEO && type !== FLV_TAG_AUDIO) || payload.byteLength === 0) return;
  const now = performance.timeOrigin + performance.now();
  const events = type === FLV_TAG_VIDEO ? ingest.pushVideo(timestamp, payload, now) : ingest.pushAudio(timestamp, payload, now);
  for (const event of events) {
    if (event.type === 'frame') publisher.frame(event.frame);
    else if (event.type === 'track') publisher.track(event.track);
    else publisher.warning(event.code, event.message, now);
  }
}
