/**
 * FLV tags from an ffmpeg process writing FLV on its stdout (pull sources over HTTP, the slate),
 * read by our FLV reader; flv/publish-tags.ts feeds them into a publish.
 */
import { spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import { FlvReader } from '../flv/reader.js';
import { LineRing } from '../ladder/line-ring.js';

/** Something that delivers FLV tags until it stops. */
export interface TagFeed {
  close(): void;
}

export type OnTag = (type: number, timestamp: number, payload: Uint8Array) => void;

/**
 * ffmpeg with `inputArgs` (inputs, maps, codecs) writing FLV to its stdout, read tag by tag;
 * `stdin`, when given, is another process's output that ffmpeg reads as `pipe:0`.
 */
export function spawnFlvFeed(ffmpeg: string, inputArgs: readonly string[], onTag: OnTag, onEnd: (reason: string) => void, stdin?: Readable): TagFeed {
  const child = spawn(ffmpeg, ['-hide_banner', '-loglevel', 'error', ...inputArgs, '-f', 'flv', '-flvflags', 'no_duration_filesize', 'pipe:1'], { stdio: [stdin ?? 'ignore', 'pipe', 'pipe'] });
  const reader = new FlvReader();
  const stderr = new LineRing(10);
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (text: string) => stderr.push(text));
  child.stdout.on('data', (chunk: Buffer) => {
    try {
      for (const t of reader.push(chunk)) onTag(t.type, t.timestamp, t.payload);
    } catch (err) {
      child.kill('SIGKILL');
      onEnd(`bad FLV from ffmpeg: ${(err as Error).message}`);
    }
  });
  // ffmpeg's message may quote a URL (and a token in it): not in logs or the API.
  const lastLine = (): string => (stderr.last() ?? '').replace(/[a-z][a-z0-9+.-]*:\/\/\S+/gi, '(url)');
  child.on('error', (err) => onEnd(`ffmpeg: ${err.message}`));
  child.on('close', (code) => onEnd(`ffmpeg exited (${code ?? 'signal'})${stderr.last() !== undefined ? `: ${lastLine()}` : ''}`));
  return { close: () => child.kill('SIGKILL') };
}
