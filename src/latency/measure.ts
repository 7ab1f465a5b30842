/**
 * measureLatency: publish a SEI-stamped synthetic stream and play it concurrently over RTMP,
 * HTTP-FLV, HLS (fMP4), HLS (TS), LL-HLS and DASH, recording per-frame arrival latency.
 * Without `url` a gateway is started in-process for the measurement.
 */
import { defaultConfig } from '../config.js';
import { silentLogger } from '../core/logger.js';
import { startGateway, type RunningGateway } from '../gateway.js';
import { wallClockMs } from './clock.js';
import { PLAYERS } from './players.js';
import { startPublisher, type Publisher } from './publisher.js';
import { GLASS_TO_GLASS_FORMULA, PROTOCOLS, summarize, type LatencyReport, type ProtocolMeasurement } from './report.js';
import { parseRtmpUrl } from '../rtmp/client.js';

export interface MeasureOptions {
  /** rtmp://HOST:PORT/APP/KEY of a running server; omitted: an in-process gateway. */
  readonly url?: string;
  /** HTTP base of that server; default http://HOST:8000. */
  readonly http?: string;
  /** Measurement length once players start. Default 30. */
  readonly seconds?: number;
  /** Longest wait for the stream to appear in its HLS playlist before players start. Default 20 s. */
  readonly liveTimeoutSeconds?: number;
  /** Replay this FLV file (looped, real time) instead of encoding with ffmpeg. */
  readonly sourceFlv?: string;
}

async function waitForLive(playlistUrl: string, timeoutMs: number, publisher: Publisher): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const res = await fetch(playlistUrl).catch(() => undefined);
    if (res?.ok && (await res.text()).includes('#EXTINF')) return;
    else await res?.body?.cancel();
    await Promise.race([new Promise((r) => setTimeout(r, 200)), publisher.failed]);
  }
  throw new Error(`stream not live at ${playlistUrl} within ${timeoutMs} ms`);
}

export async function measureLatency(opts: MeasureOptions = {}): Promise<LatencyReport> {
  const seconds = opts.seconds ?? 30;
  let gateway: RunningGateway | undefined;
  let publisher: Publisher | undefined;
  try {
    let rtmpUrl = opts.url;
    let httpBase = opts.http;
    if (rtmpUrl === undefined) {
      gateway = await startGateway(defaultConfig({ rtmpPort: 0, httpPort: 0, host: '127.0.0.1', transcode: false, logLevel: 'silent' }), silentLogger());
      rtmpUrl = `rtmp://127.0.0.1:${gateway.rtmpPort}/live/latency`;
      httpBase = `http://127.0.0.1:${gateway.httpPort}`;
    }
    const target = parseRtmpUrl(rtmpUrl);
    httpBase = (httpBase ?? `http://${target.host}:8000`).replace(/\/$/, '');
    publisher = await startPublisher(target, { flvFile: opts.sourceFlv });
    await waitForLive(`${httpBase}/${target.app}/${target.key}/src/index.m3u8`, (opts.liveTimeoutSeconds ?? 20) * 1000, publisher);

    const controller = new AbortController();
    const startedMs = wallClockMs();
    const measurements: ProtocolMeasurement[] = PROTOCOLS.map((protocol) => ({
      protocol,
      startedMs,
      frames: [],
      bufferRule: PLAYERS[protocol].bufferRule,
      bufferSeconds: 0,
    }));
    const runs = measurements.map((m) =>
      PLAYERS[m.protocol]
        .play({ rtmp: target, httpBase: httpBase!, signal: controller.signal, measurement: m })
        .catch((e: unknown) => {
          if (!controller.signal.aborted) m.error = e instanceof Error ? e.message : String(e);
        }),
    );
    const timer = new Promise<void>((resolve) => setTimeout(resolve, seconds * 1000));
    await Promise.race([timer, publisher.failed]);
    controller.abort();
    await Promise.all(runs);
    return {
      startedAt: new Date(startedMs).toISOString(),
      durationSeconds: seconds,
      rtmpUrl,
      httpBase,
      formula: GLASS_TO_GLASS_FORMULA,
      protocols: measurements.map((m) => summarize(m, startedMs)),
    };
  } finally {
    publisher?.stop();
    await gateway?.stop();
  }
}
