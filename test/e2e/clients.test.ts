/**
 * Third-party players against a live B-frame stream, the way users run them: GStreamer (playbin
 * and playbin3, synchronised sinks), VLC and ffmpeg on the CMAF HLS, DASH and MPEG-TS HLS URLs.
 *
 * Every player is a child process bounded by coreutils `timeout -k` (and killed by PID in
 * afterAll if it outlives that); what is counted is what the player decoded, never how long it
 * took. The checks start once the live window has slid (the media playlist no longer starts at
 * segment 0): the state in which GStreamer used to show nothing, its DASH demuxers waiting for a
 * segment in the future and its legacy hlsdemux for a clock minutes ahead (http/client-quirks.ts).
 *
 * Under REQUIRE_BROWSER=1 (CI) a missing gst-launch-1.0 or cvlc is a failure; elsewhere the tests
 * skip loudly.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningGateway } from '../../src/gateway.js';
import { fixture } from '../helpers/fixtures.js';
import { fetchText, publish, startTestGateway, type Publisher } from '../helpers/gateway.js';
import { run } from '../helpers/process.js';
import { ffmpegPath, ffprobePath, gstLaunchPath, missingPlayerTools, vlcCommand } from '../helpers/tools.js';

const missing = missingPlayerTools();
if (missing.length > 0) {
  if (process.env['REQUIRE_BROWSER'] === '1') throw new Error(`REQUIRE_BROWSER=1 but player tools are missing: ${missing.join('; ')}`);
  console.warn(`\n!!! missing ${missing.join('; ')}: THIRD-PARTY PLAYER TESTS ARE SKIPPED !!!\n`);
}
const gst = gstLaunchPath();
const vlc = vlcCommand();

/** Decoded video frames a player must show in its run: 2 s of the 30 fps fixture. */
const MIN_VIDEO_FRAMES = 60;
/**
 * Upper bound of a GStreamer / VLC run (then `timeout` stops it). A GStreamer run ends as soon as
 * it decoded MIN_VIDEO_FRAMES and some audio: what is asserted is what was decoded, not how fast.
 */
const PLAY_SECONDS = 25;
/** A VLC run (its frames are counted afterwards from the file it wrote: it cannot stop early). */
const VLC_SECONDS = 12;
/**
 * GStreamer 1.22's dashdemux2 (playbin3) leaves its initial buffering state only with 30 s of
 * media downloaded ahead (its default buffering threshold; it takes no hint from the MPD), which a
 * live stream provides in real time: ~30 s of "buffering... N%", then it plays.
 */
const PLAYBIN3_DASH_SECONDS = 48;

interface Bounded {
  readonly code: number | null;
  /** Number of stdout lines matching each counter. */
  readonly counts: Record<string, number>;
  readonly stdoutTail: string;
  readonly stderrTail: string;
}

const children = new Set<ChildProcess>();

/**
 * Runs `argv` under `timeout -k 5 SECONDS` (SIGTERM, then SIGKILL 5 s later) and counts the
 * stdout lines matching each pattern as they stream by (players print one line per buffer).
 */
function runBounded(
  argv: readonly string[],
  seconds: number,
  counters: Record<string, RegExp> = {},
  env: NodeJS.ProcessEnv = process.env,
  enough: (counts: Record<string, number>) => boolean = () => false,
): Promise<Bounded> {
  return new Promise((resolve, reject) => {
    const child = spawn('timeout', ['-k', '5', String(seconds), ...argv], { stdio: ['ignore', 'pipe', 'pipe'], env });
    children.add(child);
    const counts: Record<string, number> = Object.fromEntries(Object.keys(counters).map((k) => [k, 0]));
    let partial = '';
    let stdoutTail = '';
    let stderrTail = '';
    child.stdout!.on('data', (d: Buffer) => {
      const text = partial + d.toString();
      const lines = text.split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) for (const [name, re] of Object.entries(counters)) if (re.test(line)) counts[name]!++;
      stdoutTail = (stdoutTail + d.toString()).slice(-4000);
      // Seen what the test needs: stop the player now (SIGTERM to `timeout`, passed on to it).
      if (enough(counts) && child.pid !== undefined && child.exitCode === null) process.kill(child.pid, 'SIGTERM');
    });
    child.stderr!.on('data', (d: Buffer) => (stderrTail = (stderrTail + d.toString()).slice(-4000)));
    child.on('error', (err) => {
      children.delete(child);
      reject(err);
    });
    child.on('close', (code) => {
      children.delete(child);
      for (const [name, re] of Object.entries(counters)) if (partial && re.test(partial)) counts[name]!++;
      resolve({ code, counts, stdoutTail, stderrTail });
    });
  });
}

/** Buffers that reached playbin's synchronised fakesinks (one `last-message = chain` line each). */
function gstPlay(element: 'playbin' | 'playbin3', url: string, seconds: number): Promise<Bounded> {
  return runBounded(
    [
      gst!,
      '-v',
      element,
      `uri=${url}`,
      'video-sink=fakesink name=vsink sync=true silent=false',
      'audio-sink=fakesink name=asink sync=true silent=false',
    ],
    seconds,
    { video: /vsink: last-message = chain/, audio: /asink: last-message = chain/ },
    process.env,
    (c) => (c['video'] ?? 0) >= MIN_VIDEO_FRAMES && (c['audio'] ?? 0) > 0,
  );
}

function describeRun(r: Bounded): string {
  return `exit ${r.code}, counts ${JSON.stringify(r.counts)}\n--- stderr ---\n${r.stderrTail}\n--- stdout ---\n${r.stdoutTail.slice(-1500)}`;
}

let gateway: RunningGateway;
let publisher: Publisher;
let base: string;
let scratch: string;
let playbin3Dash: Promise<Bounded> | undefined;

beforeAll(async () => {
  if (missing.length > 0 && !gst && !vlc) return;
  scratch = mkdtempSync(join(tmpdir(), 'sg-clients-'));
  // VLC runs as nobody when the tests run as root: its output files and $HOME live here.
  chmodSync(scratch, 0o777);
  gateway = await startTestGateway();
  base = `http://127.0.0.1:${gateway.httpPort}/live/clients`;
  publisher = publish(await fixture('av720p30-bframes'), `rtmp://127.0.0.1:${gateway.rtmpPort}/live/clients`, { loop: true });
  // Wait until the live window has slid past segment 0 (6 segments of 2 s: ~14 s of stream).
  const deadline = Date.now() + 45_000;
  for (;;) {
    const playlist = await fetchText(`${base}/src/index.m3u8`).catch(() => undefined);
    const sequence = Number(/#EXT-X-MEDIA-SEQUENCE:(\d+)/.exec(playlist?.text ?? '')?.[1] ?? 0);
    if (sequence >= 2) break;
    if (Date.now() > deadline) throw new Error(`the window never slid; publisher: ${publisher.stderr()}`);
    await new Promise((r) => setTimeout(r, 500));
  }
  // playbin3 + DASH first buffers ~30 s (see PLAYBIN3_DASH_SECONDS): it runs alongside the rest.
  if (gst) playbin3Dash = gstPlay('playbin3', `${base}/index.mpd`, PLAYBIN3_DASH_SECONDS);
}, 90_000);

afterAll(async () => {
  // SIGTERM to `timeout`, which passes it on to the player it runs.
  for (const child of children) if (child.pid !== undefined) process.kill(child.pid, 'SIGTERM');
  publisher?.process.kill('SIGKILL');
  await gateway?.stop();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

describe('GStreamer (synchronised video and audio fakesinks)', () => {
  it.skipIf(!gst)('playbin on ts.m3u8 (MPEG-TS HLS)', async () => {
    const r = await gstPlay('playbin', `${base}/ts.m3u8`, PLAY_SECONDS);
    expect(r.counts['video'], describeRun(r)).toBeGreaterThanOrEqual(MIN_VIDEO_FRAMES);
    expect(r.counts['audio'], describeRun(r)).toBeGreaterThan(0);
  });

  it.skipIf(!gst)('playbin on index.mpd (legacy dashdemux)', async () => {
    const r = await gstPlay('playbin', `${base}/index.mpd`, PLAY_SECONDS);
    expect(r.counts['video'], describeRun(r)).toBeGreaterThanOrEqual(MIN_VIDEO_FRAMES);
    expect(r.counts['audio'], describeRun(r)).toBeGreaterThan(0);
  });

  // Legacy hlsdemux starts its TIME segment at 0 at the first segment of the first playlist it
  // loads (it ignores EXT-X-PROGRAM-DATE-TIME) while qtdemux stamps samples from tfdt: GStreamer
  // clients get playlists listing the stream from its first segment (http/client-quirks.ts).
  it.skipIf(!gst)('playbin on index.m3u8 (legacy hlsdemux, CMAF)', async () => {
    const r = await gstPlay('playbin', `${base}/index.m3u8`, PLAY_SECONDS);
    expect(r.counts['video'], describeRun(r)).toBeGreaterThanOrEqual(MIN_VIDEO_FRAMES);
    expect(r.counts['audio'], describeRun(r)).toBeGreaterThan(0);
  });

  it.skipIf(!gst)('playbin3 on index.m3u8 (hlsdemux2, CMAF + LL-HLS tags)', async () => {
    const r = await gstPlay('playbin3', `${base}/index.m3u8`, PLAY_SECONDS);
    expect(r.counts['video'], describeRun(r)).toBeGreaterThanOrEqual(MIN_VIDEO_FRAMES);
    expect(r.counts['audio'], describeRun(r)).toBeGreaterThan(0);
  });

  it.skipIf(!gst)('playbin3 on ts.m3u8', async () => {
    const r = await gstPlay('playbin3', `${base}/ts.m3u8`, PLAY_SECONDS);
    expect(r.counts['video'], describeRun(r)).toBeGreaterThanOrEqual(MIN_VIDEO_FRAMES);
    expect(r.counts['audio'], describeRun(r)).toBeGreaterThan(0);
  });

});

describe('VLC (decoded frames re-encoded to a small file, counted with ffprobe)', () => {
  async function vlcDecodedFrames(url: string, name: string): Promise<{ frames: number; run: Bounded }> {
    const out = join(scratch, `${name}.ts`);
    // transcode = decode every H.264 frame (then a tiny MPEG-1 encode); no --run-time: VLC
    // measures it on the stream's clock, which for live DASH starts far from 0.
    const run_ = await runBounded(
      [...vlc!, '--intf', 'dummy', '--no-sout-audio', '--sout', `#transcode{vcodec=mp1v,vb=300,width=160,height=90}:std{access=file,mux=ts,dst=${out}}`, url],
      VLC_SECONDS,
      {},
      { ...process.env, HOME: scratch },
    );
    const probe = await run(ffprobePath(), ['-v', 'error', '-count_frames', '-select_streams', 'v:0', '-show_entries', 'stream=nb_read_frames', '-of', 'csv=p=0', out], 30_000);
    return { frames: Number(/\d+/.exec(probe.stdout)?.[0] ?? 0), run: run_ };
  }

  it.skipIf(!vlc)('cvlc on index.m3u8', async () => {
    const { frames, run: r } = await vlcDecodedFrames(`${base}/index.m3u8`, 'vlc-hls');
    expect(frames, describeRun(r)).toBeGreaterThanOrEqual(MIN_VIDEO_FRAMES);
  });

  it.skipIf(!vlc)('cvlc on index.mpd', async () => {
    const { frames, run: r } = await vlcDecodedFrames(`${base}/index.mpd`, 'vlc-dash');
    expect(frames, describeRun(r)).toBeGreaterThanOrEqual(MIN_VIDEO_FRAMES);
  });
});

describe('ffmpeg (-t 4 -f null)', () => {
  for (const file of ['index.m3u8', 'index.mpd']) {
    it.skipIf(missing.length > 0 && !gst && !vlc)(`reads ${file} and decodes 4 s`, async () => {
      const r = await runBounded(
        [ffmpegPath(), '-nostdin', '-hide_banner', '-loglevel', 'error', '-i', `${base}/${file}`, '-t', '4', '-f', 'null', '-progress', 'pipe:1', '-'],
        40,
        {},
      );
      const frames = [...r.stdoutTail.matchAll(/^frame=(\d+)$/gm)].map((m) => Number(m[1]));
      expect(r.code, describeRun(r)).toBe(0);
      expect(frames[frames.length - 1] ?? 0, describeRun(r)).toBeGreaterThanOrEqual(MIN_VIDEO_FRAMES);
    });
  }
});

// Last: its run started in beforeAll and buffered ~30 s while the players above ran.
describe('GStreamer playbin3 on DASH', () => {
  it.skipIf(!gst)('playbin3 on index.mpd (dashdemux2, after its initial buffering)', async () => {
    const r = await playbin3Dash!;
    expect(r.counts['video'], describeRun(r)).toBeGreaterThanOrEqual(MIN_VIDEO_FRAMES);
    expect(r.counts['audio'], describeRun(r)).toBeGreaterThan(0);
  }, 60_000);
});
