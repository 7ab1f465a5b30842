/**
 * The ladder with sources as real encoders send them (fixtures/): B-frames (1, 2, 3), open GOP,
 * 59.94/29.97/25/50 fps, 4 s and irregular keyframe intervals, OBS's automatic 250-frame
 * interval, timestamps near the 31-bit wrap, AAC 44.1 kHz mono. For each one published by a real
 * ffmpeg: every rung is listed, has the source's segment numbers and EXTINFs (± one frame), and
 * every rung segment starts with a keyframe (rung keyframes on the source's decode-order cuts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunningGateway } from '../../src/gateway.js';
import { COMMITTED_FIXTURES, committedFixture, type CommittedFixture } from '../helpers/fixtures.js';
import { fetchBytes, fetchText, publish, startTestGateway, type Publisher } from '../helpers/gateway.js';
import { parseM3u8 } from '../helpers/m3u8.js';
import { untilUpdate } from '../helpers/events.js';
import { decodeErrors, downloadRendition, firstFrameIsKey, probe } from '../helpers/media-check.js';

/** Two small rungs below every fixture's bitrate, one frame-rate capped (decimation keeps keyframes). */
const LADDER = {
  default: [
    { name: '240p', height: 240, maxBitrate: 200_000, profile: 'baseline' },
    { name: '144p', height: 144, maxBitrate: 100_000, profile: 'baseline', fpsCap: 30 },
  ],
};

/** Segments every rung must have before the comparison (the 8.3 s-GOP source gets fewer). */
const SEGMENTS: Partial<Record<CommittedFixture, number>> = { 'obs-auto-keyint': 2 };

let gw: RunningGateway;
beforeAll(async () => {
  gw = await startTestGateway({ transcode: true, transcodePreset: 'ultrafast', maxTranscodes: 1, ladder: LADDER });
});
afterAll(async () => {
  await gw?.stop();
});

describe('the ladder with awkward real-world sources', () => {
  for (const name of Object.keys(COMMITTED_FIXTURES) as CommittedFixture[]) {
    it(`${name}: every rung listed and cut with the source's numbers and durations`, async () => {
      const key = name.replace(/[^a-z0-9]/gi, '');
      const base = `http://127.0.0.1:${gw.httpPort}/live/${key}`;
      const live = new Promise<void>((resolve) => gw.streams.on('publish', (s) => s.key === key && resolve()));
      const publisher: Publisher = publish(committedFixture(name), `rtmp://127.0.0.1:${gw.rtmpPort}/live/${key}`, {
        loop: true,
        extra: COMMITTED_FIXTURES[name].publishArgs,
      });
      try {
        await live;
        const output = gw.outputs.get('live', key)!;
        const src = output.videos.get('src')!;
        const wanted = SEGMENTS[name] ?? 3;
        // Done when every rendition has its segments, or as soon as one is reported misaligned.
        await untilUpdate(src, () => output.renditionProblems.size > 0 || (output.videos.size === 3 && [...output.videos.values()].every((v) => v.segments.filter((s) => !s.gap).length >= wanted)));
        expect(Object.fromEntries(output.renditionProblems)).toEqual({});

        const master = parseM3u8((await fetchText(`${base}/index.m3u8`)).text);
        expect(master.playlists!.map((p) => p.uri)).toEqual(['src/index.m3u8', '240p/index.m3u8', '144p/index.m3u8']);
        const source = parseM3u8((await fetchText(`${base}/src/index.m3u8`)).text);
        const fps = output.stream.video?.fps ?? 30;
        const bySequence = new Map(source.segments.map((s, i) => [source.mediaSequence! + i, s]));
        for (const rungName of ['240p', '144p']) {
          const rung = parseM3u8((await fetchText(`${base}/${rungName}/index.m3u8`)).text);
          let compared = 0;
          rung.segments.forEach((s, i) => {
            const twin = bySequence.get(rung.mediaSequence! + i);
            if (!twin) return;
            compared++;
            expect(Math.abs(s.duration - twin.duration), `${rungName} segment ${rung.mediaSequence! + i}`).toBeLessThanOrEqual(1 / fps + 0.001);
          });
          expect(compared).toBeGreaterThanOrEqual(wanted);
          // The rung's segments start on keyframes, and its numbers start where the source's do.
          const dir = mkdtempSync(join(tmpdir(), 'sg-src-'));
          const init = await fetchBytes(`${base}/${rungName}/${rung.segments[0]!.map!.uri}`);
          const last = rung.segments[rung.segments.length - 1]!;
          const media = await fetchBytes(`${base}/${rungName}/${last.uri}`);
          expect(media.status).toBe(200);
          const file = join(dir, 'last.mp4');
          writeFileSync(file, Buffer.concat([init.bytes, media.bytes]));
          expect((await probe(file)).streams[0]!.codec_name).toBe('h264');
          expect(await firstFrameIsKey(file)).toBe(true);
          // The whole listed rendition decodes: no GOP lost its keyframe to the decode-time shift.
          // (ffmpeg's null muxer also warns when a frame-rate-capped rung keeps a source keyframe
          // closer to the previous frame than the output frame interval: not a decoding problem.)
          const errors = (await decodeErrors((await downloadRendition(`${base}/${rungName}/index.m3u8`)).file))
            .split('\n')
            .filter((line) => line.trim() !== '' && !/non monotonically increasing dts to muxer/.test(line));
          expect(errors, `${rungName} decodes`).toEqual([]);
        }
        // The audio rendition keeps the source's rate and channels.
        const audio = output.audio.track;
        expect(audio?.kind).toBe('audio');
        if (name === 'ntsc2997-mono44k' && audio?.kind === 'audio') expect([audio.sampleRate, audio.channels]).toEqual([44_100, 1]);
      } finally {
        publisher.process.kill('SIGKILL');
        await publisher.done;
      }
    }, 90_000);
  }
});
