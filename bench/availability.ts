/**
 * Segment and part availability delay: from the arrival of the frame that closes a segment
 * (or part) to a blocked LL-HLS playlist request returning it to a client over loopback HTTP,
 * while a real ffmpeg publishes in real time.
 */
import { spawn } from 'node:child_process';
import type { RunningGateway } from '../src/gateway.js';
import type { CmafPart } from '../src/mux/fmp4/cmaf.js';
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

  // The master playlist is answered once the first segment exists: that is when a player can start.
  await (await fetch(`${base}/index.m3u8`)).text();
  const firstPlaylistAfterPublishMs = performance.timeOrigin + performance.now() - publishStart;
  // The client runs in another process: its clock reading is not delayed by the gateway's work.
  const client = spawn(process.execPath, ['--import', 'tsx', 'bench/availability-client.ts', base, output.session, String(seconds), String((video.lastSegment?.sequence ?? -1) + 1)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  client.stdout.on('data', (d: Buffer) => (out += d.toString()));
  await new Promise((resolve) => client.on('exit', resolve));
  const segmentAnswers: { key: string; at: number }[] = [];
  const partAnswers: { keys: string[]; at: number }[] = [];
  for (const line of out.split('\n')) {
    if (!line.trim()) continue;
    const a = JSON.parse(line) as { kind: string; key?: string; msn?: number; part?: number; at: number };
    if (a.kind === 'segment') segmentAnswers.push({ key: a.key!, at: a.at });
    else {
      // The part that answered: the one asked for, or (past the end of its segment) the next
      // segment's part 0. It closes when the part after it starts.
      const [m, p] = partStarts.has(`${a.msn}.${a.part}`) ? [a.msn!, a.part!] : [a.msn! + 1, 0];
      partAnswers.push({ keys: [`${m}.${p + 1}`, `${m + 1}.0`], at: a.at });
    }
  }
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
