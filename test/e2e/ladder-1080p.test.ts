/**
 * The full ladder from a 1080p60 source: a real ffmpeg publishes 1920x1080@60 at 6 Mbit/s (FLV
 * metadata videodatarate 6000), the gateway's ffmpeg makes every rung selectLadder picks for it,
 * starting at the default preset (veryfast). On a 2-core box one ffmpeg decoding 1080p60 and
 * encoding four rungs at veryfast falls behind real time; the ladder measures that and makes its
 * runs lighter (ladder/tuning.ts: a faster preset, then fewer rungs) until what it makes keeps up.
 * Asserted: the rungs it ends up making keep up with the source segment for segment, /api/streams
 * says what it chose, whatever each rendition lists decodes cleanly, lines up with the source and
 * starts every segment on a keyframe, and no ffmpeg child is left once the publisher is gone.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunningGateway } from '../../src/gateway.js';
import { selectLadder, type SelectedRendition } from '../../src/ladder/ladder.js';
import type { TranscoderStatus } from '../../src/ladder/transcoder.js';
import { X264_PRESETS } from '../../src/ladder/tuning.js';
import { untilUpdate } from '../helpers/events.js';
import { fixture } from '../helpers/fixtures.js';
import { fetchBytes, fetchText, publish, startTestGateway, type Publisher } from '../helpers/gateway.js';
import { untilRungsKeepUp } from '../helpers/ladder-progress.js';
import { parseM3u8 } from '../helpers/m3u8.js';
import { decodeErrors, downloadRendition, firstFrameIsKey } from '../helpers/media-check.js';

interface LadderView {
  phase?: string;
  renditions?: SelectedRendition[];
  bitrate?: number;
  bitrateFrom?: string;
  reason?: string;
  transcoder?: TranscoderStatus;
}
interface StreamApi {
  renditions: { id: string; kind: string; width?: number; height?: number; fps?: number; bitrate: number; segments: number }[];
  ladder: LadderView;
}

const PATH = 'live/abr1080';
/** Source segments (2 s each) the ladder gets to settle on a plan that keeps up. */
const MAX_SOURCE_SEGMENTS = 30;
/** Source segments in a row during which every rung made must be at most one segment behind. */
const KEPT_UP_SEGMENTS = 5;

let gw: RunningGateway;
let publisher: Publisher;
let base: string;
let api: () => Promise<StreamApi>;
/** Every source segment's span by sequence (the live window forgets; a late rung needs the old ones). */
const sourceSegments = new Map<number, { startTime: number; durationTicks: number; timescale: number }>();
/** Transcoder pids seen while live. */
const transcoderPids = new Set<number>();

/** Pids of live processes whose parent is this process and whose command name is `ffmpeg`. */
function ffmpegChildren(): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // exited while scanning
    }
    // proc(5): "pid (comm) state ppid ..."; comm may hold spaces and parentheses, so split at the last ')'.
    const open = stat.indexOf('(');
    const close = stat.lastIndexOf(')');
    const comm = stat.slice(open + 1, close);
    const [state, ppid] = stat.slice(close + 2).split(' ');
    if (Number(ppid) === process.pid && comm === 'ffmpeg' && state !== 'Z') out.push(Number(entry));
  }
  return out;
}

beforeAll(async () => {
  // reconnectGrace keeps the ended stream's output (and its /api view) while the transcoder drains.
  gw = await startTestGateway({ transcode: true, maxTranscodes: 1, reconnectGrace: 60 });
  base = `http://127.0.0.1:${gw.httpPort}/${PATH}`;
  api = async () => (await (await fetch(`http://127.0.0.1:${gw.httpPort}/api/streams/${PATH}`)).json()) as StreamApi;
  const live = new Promise<void>((resolve) => gw.streams.on('publish', () => resolve()));
  publisher = publish(await fixture('av1080p60'), `rtmp://127.0.0.1:${gw.rtmpPort}/${PATH}`, { loop: true });
  await live;
  const src = gw.outputs.get('live', 'abr1080')!.videos.get('src')!;
  src.on('segment', () => {
    const last = src.lastSegment!;
    sourceSegments.set(last.sequence, last);
  });
}, 90_000);
afterAll(async () => {
  publisher?.process.kill('SIGKILL');
  await gw?.stop();
});

describe('ABR ladder from 1080p60', () => {
  it('selects the rungs selectLadder gives a 1920x1080@60 6 Mbit/s source', async () => {
    const output = gw.outputs.get('live', 'abr1080')!;
    // The ladder hands its rungs to the packager the moment it decides.
    await untilUpdate(output.videos.get('src')!, () => output.videos.size > 1);
    const { ladder } = await api();
    console.log(`1080p60 ladder: bitrate ${ladder.bitrate} (${ladder.bitrateFrom}), renditions ${ladder.renditions?.map((r) => `${r.name} ${r.width}x${r.height}@${r.fps}`).join(', ')}`);
    expect(ladder.phase).toBe('selected');
    expect(ladder.bitrateFrom).toBe('metadata');
    // ffmpeg's FLV muxer writes videodatarate = bit_rate / 1024 (libavformat/flvenc.c) while the
    // gateway reads kbit/s as x1000 (FLV spec): 6000k declares 5859.375, read as 5 859 375 bit/s.
    expect(ladder.bitrate).toBe(Math.round((6_000_000 / 1024) * 1000));
    const expected = selectLadder({ width: 1920, height: 1080, fps: 60, bitrate: ladder.bitrate!, hasVideo: true });
    expect(ladder.renditions).toEqual(expected);
    // Spelled out: 1080p is not below the source; 720p keeps 60 fps (only rungs under 720 lines are capped at 30).
    expect(expected.map((r) => `${r.name} ${r.width}x${r.height}@${r.fps}`)).toEqual([
      'src 1920x1080@60',
      '720p 1280x720@60',
      '480p 854x480@30',
      '360p 640x360@30',
      '240p 426x240@30',
    ]);
    const pid = ladder.transcoder?.pid;
    if (pid) transcoderPids.add(pid);
  }, 60_000);

  it('tunes itself until the rungs it makes keep real time, and says what it chose', async () => {
    const output = gw.outputs.get('live', 'abr1080')!;
    // Every source segment: are all rungs still made at most one segment behind it? Bounded by
    // MAX_SOURCE_SEGMENTS; done once that held KEPT_UP_SEGMENTS segments in a row.
    const { keptUp, history } = await untilRungsKeepUp(output, KEPT_UP_SEGMENTS, MAX_SOURCE_SEGMENTS);
    const view = await api();
    const t = view.ladder.transcoder!;
    console.log(`1080p60 self-tuning: preset ${t.preset}, rungs ${t.rungs.join(',')}, speed ${t.speed}, restarts ${t.restarts}, changes ${JSON.stringify(t.tuning ?? [])}; rung segments per source segment ${history}`);
    expect(keptUp, `every rung made kept within one segment of the source for ${KEPT_UP_SEGMENTS} segments`).toBeGreaterThanOrEqual(KEPT_UP_SEGMENTS);
    expect(t.state).toBe('running');
    // What it chose is in /api/streams: the preset, the rungs (the ladder's renditions agree), and why.
    expect(X264_PRESETS).toContain(t.preset);
    expect(t.rungs.length).toBeGreaterThanOrEqual(1);
    expect((view.ladder.renditions ?? []).filter((r) => r.kind === 'transcode').map((r) => r.name)).toEqual(t.rungs);
    expect(t.speed).toBeGreaterThan(0);
    for (const c of t.tuning ?? []) expect(c.change).toMatch(/^(preset \w+ -> \w+|dropped \w+ \(\d+x\d+@\d+\))$/);
    if (t.preset !== 'veryfast' || t.rungs.length < 4) expect(t.tuning?.length ?? 0).toBeGreaterThan(0);
    // A dropped rung is offered nowhere: not in the master, not in the MPD.
    const master = parseM3u8((await fetchText(`${base}/index.m3u8`)).text);
    const listed = master.playlists!.map((p) => p.uri.split('/')[0]!);
    const mpd = (await fetchText(`${base}/index.mpd`)).text;
    for (const dropped of ['720p', '480p', '360p', '240p'].filter((n) => !t.rungs.includes(n))) {
      expect(listed).not.toContain(dropped);
      expect(mpd).not.toContain(`id="${dropped}"`);
    }
  }, 120_000);

  it('every listed rendition decodes, aligns with the source and starts each segment on a keyframe', async () => {
    const output = gw.outputs.get('live', 'abr1080')!;
    const src = output.videos.get('src')!;
    const rungs = () => [...output.videos.values()].filter((v) => v.id !== 'src');
    const view = await api();
    if (view.ladder.transcoder?.pid) transcoderPids.add(view.ladder.transcoder.pid);
    const lagBySegments = rungs().map((r) => `${r.id}: ${r.segments.length} segs, last #${r.lastSegment?.sequence ?? '-'}`);
    console.log(
      `1080p60 ladder figures: src last #${src.lastSegment?.sequence}; ${lagBySegments.join('; ')}; transcoder ${JSON.stringify(view.ladder.transcoder)}; ` +
        `measured kbit/s ${view.renditions.map((r) => `${r.id}=${Math.round(r.bitrate / 1000)}`).join(' ')}`,
    );
    const spans = (segs: Iterable<{ sequence: number; startTime: number; durationTicks: number; discontinuity?: boolean }>): string =>
      [...segs].map((g) => `#${g.sequence}@${(g.startTime / 90_000).toFixed(3)}+${(g.durationTicks / 90_000).toFixed(3)}${g.discontinuity ? 'D' : ''}`).join(' ');
    console.log(`source segments: ${spans([...sourceSegments].map(([sequence, g]) => ({ sequence, ...g })))}`);
    for (const r of rungs()) console.log(`${r.id} segments: ${spans(r.segments)}`);
    expect(view.ladder.transcoder?.state).not.toBe('failed');

    // The master lists the source and every rung that has media, highest first.
    const master = parseM3u8((await fetchText(`${base}/index.m3u8`)).text);
    const listed = master.playlists!.map((p) => p.uri.split('/')[0]!);
    const withMedia = [...output.videos.values()].filter((v) => v.track !== undefined).map((v) => v.id);
    expect([...listed].sort()).toEqual([...withMedia].sort());
    expect(listed).toContain('src');
    expect(master.playlists!.find((p) => p.uri.startsWith('src/'))!.attributes.RESOLUTION).toEqual({ width: 1920, height: 1080 });
    const selected = new Map((view.ladder.renditions ?? []).map((r) => [r.name, r]));
    // Every rendition the ladder selected produced segments and is listed: none silently left out.
    expect(selected.size).toBeGreaterThanOrEqual(2);
    for (const name of selected.keys()) {
      expect(output.videos.get(name)?.segments.filter((x) => !x.gap).length ?? 0, `${name} produced segments`).toBeGreaterThanOrEqual(1);
      expect(listed, `${name} is listed in the master`).toContain(name);
    }
    for (const p of master.playlists!) {
      const r = selected.get(p.uri.split('/')[0]!);
      expect(r, `${p.uri} is a selected rendition`).toBeDefined();
      expect(p.attributes.RESOLUTION).toEqual({ width: r!.width, height: r!.height });
    }

    const dir = mkdtempSync(join(tmpdir(), 'sg-abr1080-'));
    for (const id of [...listed, 'audio']) {
      const rendition = await downloadRendition(`${base}/${id}/index.m3u8`);
      expect(await decodeErrors(rendition.file), `${id} decodes with ffmpeg -v error`).toBe('');
      if (id === 'audio') continue;
      const fps = selected.get(id)!.fps ?? 60;
      const playlist = rendition.playlist;
      // Same number, same start, same span (EXTINF and exact ticks): at most one of the rung's frames apart.
      const bySeq = new Map(output.videos.get(id)!.segments.map((seg) => [seg.sequence, seg]));
      let shared = 0;
      playlist.segments.forEach((s, i) => {
        const sequence = playlist.mediaSequence! + i;
        const twin = sourceSegments.get(sequence);
        const mine = bySeq.get(sequence);
        if (!twin) return;
        shared++;
        const frame = twin.timescale / fps;
        expect(Math.abs(s.duration - twin.durationTicks / twin.timescale), `${id} #${sequence} EXTINF`).toBeLessThanOrEqual(1 / fps + 0.001);
        if (!mine) return; // left the rung's TrackOutput between the playlist fetch and now
        expect(Math.abs(mine.startTime - twin.startTime), `${id} #${sequence} start`).toBeLessThanOrEqual(frame);
        expect(Math.abs(mine.durationTicks - twin.durationTicks), `${id} #${sequence} ticks`).toBeLessThanOrEqual(frame);
      });
      expect(shared, `${id} segments matched with the source's`).toBe(playlist.segments.length);
      const initUri = playlist.segments[0]!.map!.uri;
      const init = await fetchBytes(`${base}/${id}/${initUri}`);
      for (const s of playlist.segments) {
        const media = await fetchBytes(`${base}/${id}/${s.uri}`);
        expect(media.status).toBe(200);
        const file = join(dir, `${id}-${s.uri}.mp4`);
        writeFileSync(file, Buffer.concat([init.bytes, media.bytes]));
        expect(await firstFrameIsKey(file), `${id}/${s.uri} starts with a keyframe`).toBe(true);
      }
    }
  }, 120_000);

  it('stopping the publisher stops the transcoder and leaves no ffmpeg child', async () => {
    const before = await api();
    if (before.ladder.transcoder?.pid) transcoderPids.add(before.ladder.transcoder.pid);
    const killedAt = performance.now();
    const ended = new Promise<void>((resolve) => gw.streams.once('unpublish', () => resolve()));
    publisher.process.kill('SIGKILL');
    await publisher.done;
    await ended;
    const unpublishedAt = performance.now();
    // The ladder stops its transcoder (stdin closed, drained, else SIGTERM/SIGKILL) and, once
    // `state` is 'stopped', forgets the stream: the /api ladder view then goes empty. Bounded poll:
    // RunningGateway does not expose the LadderManager, so no event can be awaited from here.
    let ladder: LadderView = before.ladder;
    const states: string[] = [];
    for (let i = 0; i < 200 && ladder.transcoder !== undefined && ladder.transcoder.state !== 'stopped'; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      ladder = (await api()).ladder;
      if (ladder.transcoder && states[states.length - 1] !== ladder.transcoder.state) states.push(ladder.transcoder.state);
    }
    const stoppedAt = performance.now();
    console.log(`after unpublish (${(unpublishedAt - killedAt).toFixed(0)} ms after the kill; ladder gone ${(stoppedAt - unpublishedAt).toFixed(0)} ms later): transcoder states ${states.join(' -> ') || '(none seen)'}, final ladder view ${JSON.stringify(ladder)}, pids seen ${[...transcoderPids].join(',')}`);
    expect(ladder.transcoder === undefined || ladder.transcoder.state === 'stopped').toBe(true);
    expect(ladder.transcoder?.pid).toBeUndefined();
    expect(ffmpegChildren()).toEqual([]);
    for (const pid of transcoderPids) expect(() => process.kill(pid, 0), `transcoder pid ${pid} gone`).toThrow();
  }, 60_000);
});
