/**
 * Player latency measured from outside: the real gateway started as `npm start` does (its own
 * process, built `dist/cli.js`), a real ffmpeg publishing in real time (its own process), and
 * hls.js (`lowLatencyMode: true`, otherwise its default config) and dash.js (default settings:
 * it turns low-latency mode on from the MPD) in headless Chromium. Each run opens a fresh page
 * after the stream has been live a few seconds, plays `seconds`, and reports the latency the
 * player itself computes over the last half of the run (its steady state).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { DASH_JS_PATH, HLS_JS_PATH, openBrowser } from '../test/helpers/browser.js';
import { ffmpegPath } from '../test/helpers/tools.js';
import { freePort, median } from './fixtures.js';
import { startNodeFlags } from './start-flags.js';

export interface PlayerLatency {
  readonly player: string;
  /** Median of each run's steady-state latency, seconds, and the range over runs. */
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly runs: number[];
  readonly stalls: number[];
}

async function startGatewayProcess(rtmpPort: number, httpPort: number): Promise<ChildProcess> {
  const child = spawn('timeout', ['-k', '5', '600', process.execPath, ...startNodeFlags(), 'dist/cli.js', '--rtmp-port', String(rtmpPort), '--http-port', String(httpPort), '--host', '127.0.0.1', '--transcode', 'false'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  while (!/listening/.test(out)) {
    if (child.exitCode !== null) throw new Error(`gateway exited: ${out}`);
    await once(child.stdout!, 'data');
  }
  return child;
}

/** In the page: play, then resolve with the median latency of the second half and the stall count. */
function pageScript(kind: 'hls' | 'dash', url: string, seconds: number): string {
  const make =
    kind === 'hls'
      ? `const p = new Hls({ lowLatencyMode: true }); p.on(Hls.Events.ERROR, (_e, d) => errors.push(d.details)); p.loadSource(URL); p.attachMedia(video); video.play().catch(() => {}); const latency = () => p.latency;`
      : `const p = dashjs.MediaPlayer().create(); p.initialize(video, URL, true); const latency = () => p.getCurrentLiveLatency();`;
  return `new Promise((resolve) => {
    const URL = ${JSON.stringify(url)};
    const video = document.createElement('video'); video.muted = true; document.body.appendChild(video);
    const errors = [];
    ${make}
    const samples = []; let stalls = 0; const t0 = performance.now();
    video.addEventListener('waiting', () => stalls++);
    const timer = setInterval(() => {
      const t = (performance.now() - t0) / 1000;
      const l = latency();
      if (t > ${seconds / 2} && video.currentTime > 0 && Number.isFinite(l) && l > 0) samples.push(l);
      if (t > ${seconds}) {
        clearInterval(timer);
        samples.sort((a, b) => a - b);
        resolve({ latency: samples.length ? samples[samples.length >> 1] : null, stalls, errors: errors.slice(0, 8) });
      }
    }, 250);
  })`;
}

export async function benchPlayers(seconds: number, repeats: number): Promise<PlayerLatency[]> {
  const build = spawn('npx', ['tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
  const [code] = (await once(build, 'exit')) as [number | null];
  if (code !== 0) throw new Error('npm run build failed');
  const [rtmpPort, httpPort] = [await freePort(), await freePort()];
  const gateway = await startGatewayProcess(rtmpPort, httpPort);
  // A live encoder, as OBS is: a looped file has timestamp seams (audio and video lengths differ)
  // that players see as holes, which is not what a publisher sends.
  const publisher = spawn(
    'timeout',
    ['-k', '5', '900', ffmpegPath(), '-v', 'error', '-re', '-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=30', '-re', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
      '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-g', '60', '-keyint_min', '60', '-sc_threshold', '0', '-b:v', '2000k', '-pix_fmt', 'yuv420p',
      '-c:a', 'aac', '-b:a', '128k', '-f', 'flv', `rtmp://127.0.0.1:${rtmpPort}/live/bench`],
    { stdio: 'ignore' },
  );
  const browser = await openBrowser();
  const origin = `http://127.0.0.1:${httpPort}`;
  try {
    // Live for a few segments before anyone watches, as a viewer would find it.
    await new Promise((r) => setTimeout(r, 8000));
    const results: PlayerLatency[] = [];
    for (const [player, kind, url, lib] of [
      ['hls.js lowLatencyMode (LL-HLS)', 'hls', `${origin}/live/bench/index.m3u8`, HLS_JS_PATH],
      ['dash.js default (LL-DASH from the MPD)', 'dash', `${origin}/live/bench/index.mpd`, DASH_JS_PATH],
    ] as const) {
      const runs: number[] = [];
      const stalls: number[] = [];
      for (let i = 0; i < repeats; i++) {
        const page = await browser.context.newPage();
        await page.goto(`${origin}/healthz`);
        await page.addScriptTag({ path: lib });
        const r = (await page.evaluate(pageScript(kind, url, seconds))) as { latency: number | null; stalls: number; errors: string[] };
        if (process.env['BENCH_DEBUG']) console.error(player, r);
        await page.close();
        if (r.latency !== null) runs.push(r.latency);
        stalls.push(r.stalls);
      }
      results.push({ player, median: median(runs), min: Math.min(...runs), max: Math.max(...runs), runs, stalls });
    }
    return results;
  } finally {
    await browser.close();
    publisher.kill('SIGKILL');
    gateway.kill('SIGTERM');
    await once(gateway, 'exit');
  }
}
