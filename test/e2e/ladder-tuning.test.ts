/**
 * The ladder keeps real time on a machine too slow for its preset (ladder/tuning.ts). The
 * gateway's ffmpeg is a wrapper that turns x264's `veryfast` (the default preset) into `placebo`,
 * which no machine runs in real time, and leaves every other preset alone: a machine where the
 * default is too slow, made deterministic. The transcoder must see its own runs fall behind, move
 * to a faster preset by itself, keep every rung, and keep up from there; /api/streams says what
 * it chose and why.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunningGateway } from '../../src/gateway.js';
import type { SelectedRendition } from '../../src/ladder/ladder.js';
import type { TranscoderStatus } from '../../src/ladder/transcoder.js';
import { untilUpdate } from '../helpers/events.js';
import { fixture } from '../helpers/fixtures.js';
import { fetchText, publish, startTestGateway, type Publisher } from '../helpers/gateway.js';
import { untilRungsKeepUp } from '../helpers/ladder-progress.js';
import { parseM3u8 } from '../helpers/m3u8.js';
import { ffmpegPath } from '../helpers/tools.js';

const PATH = 'live/tuning';
/** Source segments (2 s) the ladder gets to settle. */
const MAX_SOURCE_SEGMENTS = 20;
/** Source segments in a row during which every rung must be at most one segment behind. */
const KEPT_UP_SEGMENTS = 3;

let gw: RunningGateway;
let publisher: Publisher | undefined;
const savedFfmpegPath = process.env['FFMPEG_PATH'];
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'sg-tuning-'));
});

afterAll(() => {
  if (savedFfmpegPath === undefined) delete process.env['FFMPEG_PATH'];
  else process.env['FFMPEG_PATH'] = savedFfmpegPath;
});

afterEach(async () => {
  publisher?.process.kill('SIGKILL');
  publisher = undefined;
  await gw?.stop();
});

/**
 * A gateway whose transcoder runs `ffmpeg` through a bash wrapper: `rewrite` is bash that may
 * change the array `args` (ffmpeg's arguments) before the real ffmpeg runs.
 */
async function startWithFfmpegWrapper(name: string, rewrite: string): Promise<void> {
  const wrapper = join(dir, name);
  writeFileSync(wrapper, `#!/bin/bash\nargs=("$@")\n${rewrite}\nexec ${JSON.stringify(ffmpegPath())} "\${args[@]}"\n`);
  chmodSync(wrapper, 0o755);
  const source = await fixture('av720p30');
  process.env['FFMPEG_PATH'] = wrapper;
  gw = await startTestGateway({ transcode: true, maxTranscodes: 1 });
  const live = new Promise<void>((resolve) => gw.streams.on('publish', () => resolve()));
  publisher = publish(source, `rtmp://127.0.0.1:${gw.rtmpPort}/${PATH}`, { loop: true });
  await live;
}

/** Waits (bounded by MAX_SOURCE_SEGMENTS) until every rung made kept within one segment of the source for KEPT_UP_SEGMENTS segments. */
async function selectedRungs(): Promise<string[]> {
  const output = gw.outputs.get('live', 'tuning')!;
  await untilUpdate(output.videos.get('src')!, () => output.videos.size > 1);
  return (await api()).ladder.renditions!.filter((r) => r.kind === 'transcode').map((r) => r.name);
}

describe('ladder self-tuning', () => {
  it('moves to a faster preset when its runs fall behind, keeps every rung and keeps up', async () => {
    // veryfast -> placebo: a machine too slow for the default preset.
    await startWithFfmpegWrapper('ffmpeg-slow-veryfast', 'for i in "${!args[@]}"; do [ "${args[$i]}" = veryfast ] && args[$i]=placebo; done');
    const selected = await selectedRungs();
    expect(selected.length).toBeGreaterThanOrEqual(2);
    const { keptUp, history } = await untilRungsKeepUp(gw.outputs.get('live', 'tuning')!, KEPT_UP_SEGMENTS, MAX_SOURCE_SEGMENTS);
    const t = (await api()).ladder.transcoder!;
    console.log(`self-tuning (preset): ${JSON.stringify(t)}; rung segments per source segment ${history}`);

    // It noticed by itself, and said so: the first change leaves veryfast for a faster preset.
    expect(t.tuning?.length ?? 0).toBeGreaterThanOrEqual(1);
    expect(t.tuning![0]!.change).toMatch(/^preset veryfast -> (superfast|ultrafast)$/);
    expect(t.tuning![0]!.speed).toBeLessThan(1);
    expect(['superfast', 'ultrafast']).toContain(t.preset);
    // A faster preset was enough: every rung is still made and offered.
    expect(t.rungs).toEqual(selected);
    expect(await listedInMaster()).toEqual(['src', ...selected].sort());
    // A planned change is not a failure.
    expect(t.restarts).toBe(0);
    expect(t.state).toBe('running');
    expect(keptUp, `every rung within one segment of the source for ${KEPT_UP_SEGMENTS} segments`).toBeGreaterThanOrEqual(KEPT_UP_SEGMENTS);
  }, 90_000);

  it('drops the costliest rung when even ultrafast falls behind, and offers it nowhere after', async () => {
    const selected = await (async () => {
      // Every preset is placebo while the top rung (the largest scale) is in the graph.
      await startWithFfmpegWrapper('ffmpeg-slow-top-rung', 'if [[ "$*" == *"scale=640:360"* ]]; then for i in "${!args[@]}"; do [ "${args[$((i-1))]}" = -preset ] && args[$i]=placebo; done; fi');
      return selectedRungs();
    })();
    // The wrapper is aimed at the 640x360 rung the ladder gives this 720p30 source.
    expect(selected[0]).toBe('360p');
    const { keptUp, history } = await untilRungsKeepUp(gw.outputs.get('live', 'tuning')!, KEPT_UP_SEGMENTS, MAX_SOURCE_SEGMENTS);
    const view = await api();
    const t = view.ladder.transcoder!;
    console.log(`self-tuning (rungs): ${JSON.stringify(t)}; rung segments per source segment ${history}`);
    expect(t.tuning!.map((c) => c.change)).toEqual(['preset veryfast -> ultrafast', 'dropped 360p (640x360@30)']);
    expect(t.preset).toBe('ultrafast');
    expect(t.rungs).toEqual(selected.slice(1));
    expect(view.ladder.renditions!.map((r) => r.name)).toEqual(['src', ...selected.slice(1)]);
    // Gone from the master, the MPD and the TS master; its own playlist is no longer served.
    const base = `http://127.0.0.1:${gw.httpPort}/${PATH}`;
    expect(await listedInMaster()).toEqual(['src', ...selected.slice(1)].sort());
    expect((await fetchText(`${base}/index.mpd`)).text).not.toContain('id="360p"');
    expect((await fetchText(`${base}/ts.m3u8`)).text).not.toContain('360p/');
    expect((await fetchText(`${base}/360p/index.m3u8`)).status).toBe(404);
    expect(t.restarts).toBe(0);
    expect(keptUp, `the rungs left within one segment of the source for ${KEPT_UP_SEGMENTS} segments`).toBeGreaterThanOrEqual(KEPT_UP_SEGMENTS);
  }, 90_000);
});

async function listedInMaster(): Promise<string[]> {
  const master = parseM3u8((await fetchText(`http://127.0.0.1:${gw.httpPort}/${PATH}/index.m3u8`)).text);
  return master.playlists!.map((p) => p.uri.split('/')[0]!).sort();
}

async function api(): Promise<{ ladder: { renditions?: SelectedRendition[]; transcoder?: TranscoderStatus } }> {
  return (await (await fetch(`http://127.0.0.1:${gw.httpPort}/api/streams/${PATH}`)).json()) as { ladder: { renditions?: SelectedRendition[]; transcoder?: TranscoderStatus } };
}
