/**
 * Passthrough ABR: a publisher sends its own renditions as sibling keys (KEY_360p) and they are
 * listed under KEY with no transcoding, if their keyframes line up; a misaligned one is reported.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningGateway } from '../../src/gateway.js';
import { untilUpdate } from '../helpers/events.js';
import { fixture } from '../helpers/fixtures.js';
import { fetchText, publish, startTestGateway, type Publisher } from '../helpers/gateway.js';
import { parseM3u8 } from '../helpers/m3u8.js';
import { ffmpegPath } from '../helpers/tools.js';

let gw: RunningGateway;
let both: ChildProcess | undefined;
let late: Publisher | undefined;

beforeAll(async () => {
  gw = await startTestGateway();
});
afterAll(async () => {
  both?.kill('SIGKILL');
  late?.process.kill('SIGKILL');
  await gw?.stop();
});

describe('sibling keys as renditions', () => {
  it('groups KEY_360p under KEY when published by the same encoder, and reports a misaligned sibling', async () => {
    const file = await fixture('av720p30');
    const rtmp = `rtmp://127.0.0.1:${gw.rtmpPort}/live`;
    const twoLive = new Promise<void>((resolve) => {
      const seen = new Set<string>();
      gw.streams.on('publish', (s) => {
        seen.add(s.key);
        if (seen.has('sib') && seen.has('sib_360p')) resolve();
      });
    });
    // One encoder, two outputs: the same timestamps and keyframes on both keys.
    both = spawn(
      ffmpegPath(),
      ['-v', 'error', '-nostdin', '-re', '-stream_loop', '-1', '-i', file, '-map', '0', '-c', 'copy', '-f', 'flv', `${rtmp}/sib`, '-map', '0', '-c', 'copy', '-f', 'flv', `${rtmp}/sib_360p`],
      { stdio: 'ignore' },
    );
    await twoLive;
    const output = gw.outputs.get('live', 'sib')!;
    await untilUpdate(output.videos.get('src')!, () => (output.videos.get('360p')?.segments.length ?? 0) >= 3);
    const master = parseM3u8((await fetchText(`http://127.0.0.1:${gw.httpPort}/live/sib/index.m3u8`)).text);
    expect(master.playlists!.map((p) => p.uri).sort()).toEqual(['360p/index.m3u8', 'src/index.m3u8']);
    const src = output.videos.get('src')!;
    const sib = output.videos.get('360p')!;
    const srcBySeq = new Map(src.segments.map((s) => [s.sequence, s]));
    let compared = 0;
    for (const s of sib.segments) {
      const twin = srcBySeq.get(s.sequence);
      if (!twin) continue;
      compared++;
      expect(s.startTime).toBe(twin.startTime);
    }
    expect(compared, 'sibling segments compared with the source').toBeGreaterThanOrEqual(1);

    // A sibling from another encoder, started seconds later: its timestamps restart at zero, so
    // its keyframes fall on media times the source passed long ago.
    late = publish(file, `${rtmp}/sib_240p`, { loop: true });
    await untilUpdate(src, () => output.renditionProblems.has('240p'));
    const api = (await (await fetch(`http://127.0.0.1:${gw.httpPort}/api/streams/live/sib`)).json()) as { renditionProblems?: Record<string, string> };
    expect(api.renditionProblems?.['240p']).toMatch(/keyframes do not line up/);
    const again = parseM3u8((await fetchText(`http://127.0.0.1:${gw.httpPort}/live/sib/index.m3u8`)).text);
    expect(again.playlists!.some((p) => p.uri.startsWith('240p'))).toBe(false);
  }, 60_000);
});
