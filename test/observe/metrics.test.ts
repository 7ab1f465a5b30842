import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { SegmentCache } from '../../src/cache/segment-cache.js';
import { StreamRegistry } from '../../src/core/stream.js';
import { metricsRoutes } from '../../src/http/metrics-routes.js';
import { OutputRegistry } from '../../src/packager/output-registry.js';
import { AvailabilityTracker } from '../../src/observe/availability.js';
import { SlidingByteRate } from '../../src/observe/byte-rate.js';
import { GatewayMetrics, type PushTargetSample } from '../../src/observe/metrics.js';
import { ViewerTracker } from '../../src/observe/viewers.js';
import { AUDIO, fabricateAv, VIDEO } from './media.js';

/** Prometheus text exposition 0.0.4, strictly: HELP/TYPE comments, then `name{labels} value` samples. */
function parseExposition(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const comment = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
    if (comment) {
      if (comment[1] === 'TYPE') {
        expect(['counter', 'gauge', 'histogram', 'summary', 'untyped']).toContain(comment[3]);
        types.set(comment[2]!, comment[3]!);
      }
      continue;
    }
    // prom-client writes NaN as "Nan" (an event-loop gauge before its first sample); Prometheus
    // reads values with Go's strconv.ParseFloat, which takes any case.
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*",?)*\})? (-?[0-9.e+-]+|[Nn]a[Nn]|\+Inf|-Inf)( -?\d+)?$/.exec(line);
    if (!m) throw new Error(`not exposition format: ${JSON.stringify(line)}`);
    samples.set(`${m[1]}${m[2] ?? ''}`, Number(m[3]));
  }
  expect(types.size).toBeGreaterThan(10);
  return samples;
}

let server: http.Server | undefined;
afterEach(() => server?.close());

function gatewayParts() {
  const streams = new StreamRegistry();
  const cache = new SegmentCache(1 << 24);
  const outputs = new OutputRegistry(streams, { segmentDuration: 2, partDuration: 0.5, playlistWindow: 4, endedStreamTtl: 60 }, cache);
  return { streams, cache, outputs };
}

describe('GatewayMetrics', () => {
  it('counts frames, bytes, segments and availability delays of a real LiveStream + StreamOutput', async () => {
    const { streams, cache, outputs } = gatewayParts();
    let now = 0;
    const viewers = new ViewerTracker({ now: () => 5, relays: { playerCount: () => 2 } });
    const metrics = new GatewayMetrics({ now: () => now, defaultMetrics: false }).attach({ streams, outputs, cache, viewers, relays: { playerCount: () => 2 } });
    const stream = streams.publish('live', 'cam')!;
    stream.pushTrack(VIDEO);
    stream.pushTrack(AUDIO);
    const frames = fabricateAv({ seconds: 9, gop: 2, t0: 1_000_000 });
    for (const f of frames) {
      // Every event fires 3 ms after the frame that caused it arrived.
      now = f.wallclock + 3;
      stream.pushFrame(f);
    }
    viewers.observe({ path: '/live/cam/index.mpd', query: {}, ip: '1', userAgent: 'x' });
    const s = parseExposition(await metrics.text());
    // What the playlists list (segments, open parts) plus the inits: the bytes the windows pin.
    const output = outputs.get('live', 'cam')!;
    const listed = [output.videos.get('src')!, output.audio]
      .map((t) => t.segments.reduce((n, x) => n + x.byteLength, 0) + t.openParts.reduce((n, x) => n + x.byteLength, 0) + t.init(t.currentInitId)!.byteLength)
      .reduce((a, b) => a + b, 0);
    expect(s.get('streamgate_live_window_bytes')).toBe(listed);
    // The open segment's parts are dropped at the end (never listed as a segment).
    const openPartBytes = [output.videos.get('src')!, output.audio].reduce((n, t) => n + t.openParts.reduce((m, x) => m + x.byteLength, 0), 0);
    outputs.close();
    const video = frames.filter((f) => f.kind === 'video');
    expect(s.get('streamgate_ingest_frames_total{app="live",kind="video"}')).toBe(video.length);
    expect(s.get('streamgate_ingest_bytes_total{app="live",kind="video"}')).toBe(video.reduce((n, f) => n + f.data.byteLength, 0));
    expect(s.get('streamgate_streams_live')).toBe(1);
    expect(s.get('streamgate_publishers{app="live"}')).toBe(1);
    // 9 s of 2 s GOPs: segments 0..3 complete (the 5th is open).
    expect(s.get('streamgate_segments_total{kind="video"}')).toBe(4);
    expect(s.get('streamgate_segments_total{kind="audio"}')).toBe(4);
    expect(s.get('streamgate_parts_total{kind="video"}')).toBeGreaterThanOrEqual(16);
    // Each settled delay is 3 ms: every observation lands in the 0.005 bucket, none in 0.0025.
    const segCount = s.get('streamgate_segment_availability_delay_seconds_count{kind="video"}')!;
    expect(segCount).toBeGreaterThanOrEqual(3);
    expect(s.get('streamgate_segment_availability_delay_seconds_bucket{le="0.005",kind="video"}')).toBe(segCount);
    expect(s.get('streamgate_segment_availability_delay_seconds_bucket{le="0.0025",kind="video"}')).toBe(0);
    expect(s.get('streamgate_segment_availability_delay_seconds_sum{kind="video"}')).toBeCloseTo(segCount * 0.003, 6);
    const partCount = s.get('streamgate_part_availability_delay_seconds_count{kind="video"}')!;
    expect(partCount).toBeGreaterThanOrEqual(15);
    expect(s.get('streamgate_part_availability_delay_seconds_bucket{le="0.005",kind="video"}')).toBe(partCount);
    // Ingest bitrate over the last 5 s: (30 fps video + 46.875 fps AAC) at the fabricated sizes.
    const bitrate = s.get('streamgate_ingest_bitrate_bits_per_second{stream="live/cam"}')!;
    expect(bitrate).toBeGreaterThan(1_000_000);
    expect(bitrate).toBeLessThan(2_000_000);
    expect(s.get('streamgate_viewers{protocol="dash"}')).toBe(1);
    expect(s.get('streamgate_viewers{protocol="rtmp"}')).toBe(2);
    expect(s.get('streamgate_cache_entries')).toBe(0);
    expect(s.get('streamgate_cache_hit_ratio')).toBe(0);
    metrics.transcoderRestarted('live');
    const after = parseExposition(await metrics.text());
    expect(after.get('streamgate_transcoder_restarts_total{app="live"}')).toBe(1);
    // Ended streams leave the live gauges and the per-stream series.
    expect(after.get('streamgate_streams_live')).toBe(1);
    streams.unpublish(stream);
    const ended = parseExposition(await metrics.text());
    expect(ended.get('streamgate_streams_live')).toBe(0);
    expect([...ended.keys()].some((k) => k.includes('live/cam'))).toBe(false);
    // The ended stream's segments and inits moved to the cache: the same bytes, not copies.
    expect(ended.get('streamgate_cache_entries')).toBeGreaterThan(0);
    // At the end the open segment is closed with the frames not yet in a part: that adds a little;
    // a copy of the window would double it.
    const before = s.get('streamgate_live_window_bytes')!;
    const grown = ended.get('streamgate_cache_bytes')! + ended.get('streamgate_live_window_bytes')! - before;
    expect(openPartBytes).toBeGreaterThan(0);
    expect(grown).toBeGreaterThanOrEqual(0);
    expect(grown).toBeLessThan(0.2 * before);
    metrics.detach();
  });

  it('bounds the app label: later apps share "other"', async () => {
    const { streams, cache, outputs } = gatewayParts();
    const metrics = new GatewayMetrics({ defaultMetrics: false, maxAppLabels: 2 }).attach({ streams, outputs, cache });
    for (const app of ['a', 'b', 'c', 'd']) {
      const s = streams.publish(app, 'k')!;
      s.pushTrack(AUDIO);
      s.pushFrame({ kind: 'audio', dts: 0, pts: 0, key: true, data: new Uint8Array(10), wallclock: 0 });
    }
    const s = parseExposition(await metrics.text());
    expect(s.get('streamgate_ingest_frames_total{app="a",kind="audio"}')).toBe(1);
    expect(s.get('streamgate_ingest_frames_total{app="other",kind="audio"}')).toBe(2);
    expect(s.get('streamgate_publishers{app="other"}')).toBe(2);
    outputs.close();
    metrics.detach();
  });

  it('shows each push target: bytes, bitrate, drops, reconnects and state, labelled by stream and redacted URL', async () => {
    const { streams, cache, outputs } = gatewayParts();
    const sample = (over: Partial<PushTargetSample>): PushTargetSample => ({ stream: 'live/cam', id: '1', url: 'rtmp://a.example/live2/…', rendition: 'src', state: 'live', bytes: 0, bitrate: 0, dropped: 0, reconnects: 0, ...over });
    let targets: PushTargetSample[] = [
      sample({ id: '1', bytes: 123_456, bitrate: 2_500_000, dropped: 7, reconnects: 2 }),
      // Same server, another key: the same redacted URL, told apart by id.
      sample({ id: '2', rendition: '480p', state: 'retrying', bytes: 10, dropped: 0, reconnects: 5 }),
      sample({ stream: 'live/other', id: '3', url: 'srt://b.example:9000?…', state: 'waiting' }),
    ];
    const metrics = new GatewayMetrics({ defaultMetrics: false, maxStreamLabels: 1 }).attach({ streams, outputs, cache, push: { all: () => targets } });
    const s = parseExposition(await metrics.text());
    const one = 'stream="live/cam",id="1",target="rtmp://a.example/live2/…"';
    const two = 'stream="live/cam",id="2",target="rtmp://a.example/live2/…"';
    expect(s.get(`streamgate_push_target_bytes_total{${one}}`)).toBe(123_456);
    expect(s.get(`streamgate_push_target_bitrate_bits_per_second{${one}}`)).toBe(2_500_000);
    expect(s.get(`streamgate_push_target_dropped_total{${one}}`)).toBe(7);
    expect(s.get(`streamgate_push_target_reconnects_total{${one}}`)).toBe(2);
    expect(s.get(`streamgate_push_target_info{${one},rendition="src",state="live"}`)).toBe(1);
    expect(s.get(`streamgate_push_target_reconnects_total{${two}}`)).toBe(5);
    expect(s.get(`streamgate_push_target_info{${two},rendition="480p",state="retrying"}`)).toBe(1);
    // The per-state count covers every target; per-target series only the first maxStreamLabels streams.
    expect(s.get('streamgate_push_targets{state="live"}')).toBe(1);
    expect(s.get('streamgate_push_targets{state="retrying"}')).toBe(1);
    expect(s.get('streamgate_push_targets{state="waiting"}')).toBe(1);
    expect([...s.keys()].some((k) => k.includes('live/other'))).toBe(false);
    // A state change replaces the info series; a removed target's series go.
    targets = [sample({ id: '1', bytes: 200_000, state: 'retrying', reconnects: 3 })];
    const after = parseExposition(await metrics.text());
    expect(after.get(`streamgate_push_target_bytes_total{${one}}`)).toBe(200_000);
    expect(after.get(`streamgate_push_target_info{${one},rendition="src",state="live"}`)).toBeUndefined();
    expect(after.get(`streamgate_push_target_info{${one},rendition="src",state="retrying"}`)).toBe(1);
    expect([...after.keys()].some((k) => k.includes('id="2"'))).toBe(false);
    outputs.close();
    metrics.detach();
  });

  it('serves /metrics and counts requests by route and status (private registries: two gateways side by side)', async () => {
    const { streams, cache, outputs } = gatewayParts();
    const metrics = new GatewayMetrics().attach({ streams, outputs, cache });
    const other = new GatewayMetrics().attach({ streams, outputs, cache });
    const app = express();
    app.use(metrics.middleware());
    app.use(metricsRoutes(metrics));
    app.get('/live/k/index.m3u8', (_req, res) => void res.status(404).send('no'));
    server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server!.once('listening', r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    await (await fetch(`${base}/live/k/index.m3u8`)).text();
    await (await fetch(`${base}/live/k/src/seg-a-1.m4s`)).text();
    const res = await fetch(`${base}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const s = parseExposition(await res.text());
    expect(s.get('streamgate_http_requests_total{route="master",status="404"}')).toBe(1);
    expect(s.get('streamgate_http_requests_total{route="segment",status="404"}')).toBe(1);
    expect(s.get('process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(await other.text()).not.toMatch(/route="master"/);
    outputs.close();
  });
});

describe('AvailabilityTracker', () => {
  it('settles part N with part N+1 first frame arrival, segments with the next segment first part', () => {
    const a = new AvailabilityTracker();
    // Part (0,0) is announced when the frame at 500 ms arrives, (0,1) and segment 0 when the one at 1000 does.
    expect(a.onPart({ segment: 0, index: 0, wallclock: 0 }, 503)).toEqual({});
    expect(a.onPart({ segment: 0, index: 1, wallclock: 500 }, 1007)).toEqual({ part: 0.003 });
    a.onSegment({ sequence: 0 }, 1008);
    expect(a.onPart({ segment: 1, index: 0, wallclock: 1000 }, 1600)).toEqual({ part: 0.007, segment: 0.008 });
    expect(a.onPart({ segment: 1, index: 1, wallclock: 1700 }, 2100)).toEqual({ part: 0 }); // announced before: clamped
    a.reset();
    expect(a.onPart({ segment: 2, index: 0, wallclock: 2000 }, 2001)).toEqual({});
  });
});

describe('SlidingByteRate', () => {
  it('averages over the window, and over the time so far when shorter', () => {
    const r = new SlidingByteRate(2000, 250);
    for (let t = 0; t < 4000; t += 100) r.add(1000, t); // 10 kB/s = 80 kbit/s
    expect(r.bitsPerSecond(3999)).toBeCloseTo(80_000, -3);
    expect(r.bitsPerSecond(10_000)).toBe(0);
    const young = new SlidingByteRate(5000);
    young.add(1000, 0);
    young.add(1000, 900);
    expect(young.bitsPerSecond(1000)).toBe(16_000);
  });
});
