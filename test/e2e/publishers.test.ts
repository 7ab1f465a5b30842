/**
 * Real publishers besides ffmpeg: GStreamer's `rtmp2sink` and `rtmpsink` (librtmp, the RTMP
 * library OBS uses) publish committed fixtures; every rendition the gateway makes from them
 * decodes cleanly and spans the file.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import type { RunningGateway } from '../../src/gateway.js';
import { clientTool } from '../helpers/tools.js';
import { committedFixture, type CommittedFixture } from '../helpers/fixtures.js';
import { startTestGateway } from '../helpers/gateway.js';
import { untilUpdate } from '../helpers/events.js';
import { decodeErrors, downloadRendition } from '../helpers/media-check.js';
import { exited } from '../helpers/process.js';

const gst = clientTool('gst-launch-1.0');

let gw: RunningGateway;
beforeAll(async () => {
  gw = await startTestGateway();
});
afterAll(async () => {
  await gw?.stop();
});

/** The FLV file demuxed and muxed again by GStreamer, sent in real time (the sink syncs on the clock). */
function gstPublish(sink: 'rtmpsink' | 'rtmp2sink', file: string, url: string): Promise<number | null> {
  const pipeline = [
    'filesrc', `location=${file}`, '!', 'flvdemux', 'name=d',
    'd.video', '!', 'queue', '!', 'h264parse', '!', 'flvmux', 'name=m', 'streamable=true', '!', sink, `location=${url}`,
    'd.audio', '!', 'queue', '!', 'aacparse', '!', 'm.',
  ];
  // Bounded: the 6-9 s file plays out in real time; -k because gst-launch can hang on a signal.
  const child = spawn('timeout', ['-k', '5', '40', gst!, '-q', ...pipeline], { stdio: ['ignore', 'ignore', 'pipe'] });
  return exited(child);
}

describe.runIf(gst)('GStreamer publishers', () => {
  const cases: [sink: 'rtmpsink' | 'rtmp2sink', fixture: CommittedFixture][] = [
    ['rtmpsink', 'bframes3-720p30'],
    ['rtmp2sink', 'bframes3-720p30'],
    ['rtmpsink', 'ntsc2997-mono44k'],
    ['rtmp2sink', 'ntsc2997-mono44k'],
  ];
  it.each(cases)('%s publishing %s: every rendition decodes and spans the file', async (sink, name) => {
    const key = `${sink}${name.replace(/[^a-z0-9]/gi, '')}`;
    const live = new Promise<void>((resolve) => gw.streams.on('publish', (s) => s.key === key && resolve()));
    const code = gstPublish(sink, committedFixture(name), `rtmp://127.0.0.1:${gw.rtmpPort}/live/${key}`);
    await live;
    expect(await code).toBe(0);
    const output = gw.outputs.get('live', key)!;
    await untilUpdate(output.videos.get('src')!, () => output.ended);
    const base = `http://127.0.0.1:${gw.httpPort}/live/${key}`;
    for (const id of ['src', 'audio']) {
      const r = await downloadRendition(`${base}/${id}/index.m3u8`);
      expect(await decodeErrors(r.file), `${id} decodes`).toBe('');
      // The 6 s file, less at most the part of a GOP a joiner can lose at the start.
      expect(r.extinfTotal, `${id} EXTINF total`).toBeGreaterThan(3.9);
    }
    const track = output.audio.track;
    if (name === 'ntsc2997-mono44k' && track?.kind === 'audio') expect([track.sampleRate, track.channels]).toEqual([44_100, 1]);
  }, 60_000);
});
