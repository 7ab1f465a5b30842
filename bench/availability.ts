/**
 * Segment and part availability delay: from the arrival of the frame that closes a segment
 * (or part) to a blocked LL-HLS playlist request returning it to a client over loopback HTTP,
 * while a real ffmpeg publishes in real time.
 */
import http from 'node:http';
import type { RunningGateway } from '../src/gateway.js';
import type { CmafPart } from '../src/segmenter/types.js';
import { publish, startTestGateway } from '../test/helpers/gateway.js';
import { median, percentile } from './fixtures.js';

export interface AvailabilityResult {
  segmentSamples: number;
  segmentMedianMs: number;
  segmentP95Ms: number;
  partSamples: number;
  partMedianMs: number;
  partP95Ms: number;
  firstPlaylistAfterPublishMs: number;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });

function get(url: string): Promise<{ status: number; body: string; at: number }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, at: performance.timeOrigin + performance.now() }));
      })
      .on('error', reject);
  });
}

export async function benchAvailability(file: string, seconds: number): Promise<AvailabilityResult> {
  const gw: RunningGateway = await startTestGateway();
  const base = `http://127.0.0.1:${gw.httpPort}/live/avail`;
  const live = new Promise<number>((resolve) => gw.streams.on('publish', () => resolve(performance.timeOrigin + performance.now())));
  const publisher = publish(file, `rtmp://127.0.0.1:${gw.rtmpPort}/live/avail`);
  const publishStart = await live;
  const output = gw.outputs.get('live', 'avail')!;
  const video = output.videos.get('src')!;

  // Arrival time of the first frame of each part: it is the frame that closes the part before.
  const partStarts = new Map<string, number>();
  video.on('part', (p: CmafPart) => partStarts.set(`${p.segment}.${p.index}`, p.frames[0]!.wallclock));

  const first = await get(`${base}/index.m3u8`);
  const firstPlaylistAfterPublishMs = first.at - publishStart;
  const session = output.session;
  void session;

  // Responses are matched to the closing frames after the run: a segment's closing frame is the
  // first frame of the next one, whose part event only fires when that part completes.
  const segmentAnswers: { key: string; at: number }[] = [];
  const partAnswers: { keys: string[]; at: number }[] = [];
  const deadline = performance.now() + seconds * 1000;

  // Segments: ask (blocking) for the segment after the last listed one.
  const segmentLoop = (async () => {
    let next = (video.lastSegment?.sequence ?? -1) + 1;
    while (performance.now() < deadline) {
      const r = await get(`${base}/src/index.m3u8?_HLS_msn=${next}`);
      if (r.status !== 200) continue;
      if (r.body.includes(`seg-${output.session}-${next}.m4s`)) segmentAnswers.push({ key: `${next + 1}.0`, at: r.at });
      next++;
    }
  })();
  // Parts: ask for the part after the newest one.
  const partLoop = (async () => {
    while (performance.now() < deadline) {
      const msn = video.openSequence ?? 0;
      const part = video.openParts.length;
      const r = await get(`${base}/src/index.m3u8?_HLS_msn=${msn}&_HLS_part=${part}`);
      if (r.status !== 200) continue;
      // Part `part` of `msn` closes when the next part's first frame arrives.
      partAnswers.push({ keys: [`${msn}.${part + 1}`, `${msn + 1}.0`], at: r.at });
    }
  })();
  await Promise.all([segmentLoop, partLoop]);
  const segmentDelays: number[] = [];
  const partDelays: number[] = [];
  for (const a of segmentAnswers) {
    const closing = partStarts.get(a.key);
    if (closing !== undefined && closing <= a.at) segmentDelays.push(a.at - closing);
  }
  for (const a of partAnswers) {
    const closing = partStarts.get(a.keys[0]!) ?? partStarts.get(a.keys[1]!);
    if (closing !== undefined && closing <= a.at) partDelays.push(a.at - closing);
  }
  publisher.process.kill('SIGKILL');
  await publisher.done;
  await gw.stop();
  agent.destroy();
  return {
    segmentSamples: segmentDelays.length,
    segmentMedianMs: median(segmentDelays),
    segmentP95Ms: percentile(segmentDelays, 95),
    partSamples: partDelays.length,
    partMedianMs: median(partDelays),
    partP95Ms: percentile(partDelays, 95),
    firstPlaylistAfterPublishMs,
  };
}
