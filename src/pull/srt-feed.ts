/**
 * An `srt://HOST:PORT?streamid=…&passphrase=…` pull source: our libsrt helper (native/srt-relay,
 * caller mode with `--receive 1`) connects and writes the MPEG-TS it receives to its stdout,
 * which ffmpeg reads as its stdin and remuxes (no re-encoding) to FLV for the ingest, as other
 * ffmpeg-read sources are. The stream id and passphrase reach the helper through its environment,
 * never a command line (`ps` shows those to every user of the host).
 */
import { spawn } from 'node:child_process';
import { LineRing } from '../ladder/line-ring.js';
import { parseSrtTarget } from '../push/srt-push.js';
import { SrtRelay } from '../srt/srt-relay.js';
import { spawnFlvFeed, type OnTag, type TagFeed } from './flv-feed.js';

export function spawnSrtFeed(ffmpeg: string, url: string, onTag: OnTag, onEnd: (reason: string) => void, relayPath = SrtRelay.binaryPath()): TagFeed {
  if (!relayPath) throw new Error('dist/native/srt-relay is not built: run npm run build (needs apt-get install -y libsrt-gnutls-dev pkg-config gcc)');
  const target = parseSrtTarget(url);
  const args = ['--connect', target.host, '--port', String(target.port), '--receive', '1'];
  if (target.latencyMs !== undefined) args.push('--latency', String(target.latencyMs));
  if (target.pbkeylen !== undefined) args.push('--pbkeylen', String(target.pbkeylen));
  const env: NodeJS.ProcessEnv = { ...process.env, SRT_STREAMID: target.streamId ?? '', SRT_PASSPHRASE: target.passphrase ?? '' };
  const caller = spawn(relayPath, args, { stdio: ['pipe', 'pipe', 'pipe'], env });
  const stderr = new LineRing(10);
  caller.stderr.setEncoding('utf8');
  caller.stderr.on('data', (text: string) => stderr.push(text));
  caller.stdin.on('error', () => undefined);
  let ended = false;
  const end = (reason: string): void => {
    if (ended) return;
    ended = true;
    onEnd(reason);
  };
  const feed = spawnFlvFeed(ffmpeg, ['-f', 'mpegts', '-probesize', '500000', '-i', 'pipe:0', '-map', '0:v:0?', '-map', '0:a:0?', '-c', 'copy'], onTag, (reason) => {
    caller.kill('SIGKILL');
    end(stderr.last() !== undefined ? `srt-relay: ${stderr.last()!.replace(/^srt-relay: (error: )?/, '')}` : reason);
  }, caller.stdout);
  // ffmpeg has its own copy of the pipe.
  caller.stdout.destroy();
  caller.on('error', (err) => end(`srt-relay: ${err.message}`));
  return {
    close: () => {
      caller.kill('SIGKILL');
      feed.close();
    },
  };
}
