/**
 * End to end: measureLatency against an in-process gateway, all six players at once.
 * The 15 s measurement replays the (cached, ffmpeg-made) av360p-short fixture in real time so the
 * numbers do not depend on encoder speed; a short second run uses the live ffmpeg publisher.
 */
import { describe, expect, it } from 'vitest';
import { resolveFfmpegPath } from '../../src/ladder/ffmpeg-path.js';
import { LatencyReportSchema, measureLatency, PROTOCOLS, renderSvg, renderTable } from '../../src/latency/index.js';
import { fixture } from '../helpers/fixtures.js';

const hasFfmpeg = resolveFfmpegPath() !== undefined;

describe.skipIf(!hasFfmpeg)('latency measurement (in-process gateway)', () => {
  it('measures all six protocols in the expected order', { timeout: 60_000 }, async () => {
    const report = await measureLatency({ seconds: 15, sourceFlv: process.env['LATENCY_TEST_FLV'] ?? (await fixture('av360p-short')) });
    expect(LatencyReportSchema.safeParse(report).success).toBe(true);
    expect(report.protocols.map((p) => p.protocol)).toEqual([...PROTOCOLS]);
    for (const row of report.protocols) {
      expect(row.error, row.protocol).toBeUndefined();
      expect(row.frames, row.protocol).toBeGreaterThan(10);
      expect(row.p50Ms, row.protocol).not.toBeNull();
      expect(row.glassToGlassMs!, row.protocol).toBeGreaterThanOrEqual(row.p50Ms!);
      // Each frame is counted once per protocol: distinct send times (arrival - latency, 1 ms rounding).
      const sendTimes = new Set(row.samples.map((s) => Math.round(s.atSeconds * 1000 - s.latencyMs)));
      expect(sendTimes.size, row.protocol).toBeGreaterThanOrEqual(Math.floor(row.frames * 0.95));
    }
    const p50 = Object.fromEntries(report.protocols.map((p) => [p.protocol, p.p50Ms!]));
    expect(p50['rtmp']).toBeLessThan(p50['hls']!);
    expect(p50['http-flv']).toBeLessThan(p50['hls']!);
    expect(p50['ll-hls']).toBeLessThan(p50['hls']!);
    const svg = renderSvg(report);
    expect(svg.startsWith('<svg')).toBe(true);
    for (const p of PROTOCOLS) expect(svg).toContain(`<polyline data-protocol="${p}"`);
    expect(renderTable(report).split('\n').filter((l) => /^\| (rtmp|http-flv|hls|hls-ts|ll-hls|dash) /.test(l))).toHaveLength(6);
  });

  it('the live ffmpeg publisher (testsrc2 + sine, -re) delivers stamped frames', { timeout: 40_000 }, async () => {
    const report = await measureLatency({ seconds: 4 });
    expect(LatencyReportSchema.safeParse(report).success).toBe(true);
    for (const protocol of ['rtmp', 'http-flv'] as const) {
      const row = report.protocols.find((p) => p.protocol === protocol)!;
      expect(row.error, protocol).toBeUndefined();
      expect(row.frames, protocol).toBeGreaterThan(30);
    }
  });
});
