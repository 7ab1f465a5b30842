import { describe, expect, it } from 'vitest';
import { parseCliArgs } from '../../src/latency/args.js';
import { renderSvg, renderTable } from '../../src/latency/render.js';
import { LatencyReportSchema, PROTOCOLS, percentile, summarize, type LatencyReport } from '../../src/latency/report.js';

function fakeReport(): LatencyReport {
  const start = 1_000_000;
  return {
    startedAt: new Date(start).toISOString(),
    durationSeconds: 10,
    rtmpUrl: 'rtmp://127.0.0.1:1935/live/latency',
    httpBase: 'http://127.0.0.1:8000',
    formula: 'f',
    protocols: PROTOCOLS.map((protocol, i) =>
      summarize(
        {
          protocol,
          startedMs: start,
          frames: [1, 2, 3, 4].map((k) => ({ sendMs: start + k * 1000, arrivalMs: start + k * 1000 + (i + 1) * 100 + k })),
          bufferRule: 'rule',
          bufferSeconds: i,
        },
        start,
      ),
    ),
  };
}

describe('report', () => {
  it('nearest-rank percentiles', () => {
    expect(percentile([], 50)).toBeNull();
    expect(percentile([5, 1, 3, 2, 4], 50)).toBe(3);
    expect(percentile([5, 1, 3, 2, 4], 95)).toBe(5);
    expect(percentile([7], 95)).toBe(7);
  });

  it('summarize: stats, first frame, glass-to-glass = p50 + buffer', () => {
    const r = fakeReport();
    expect(LatencyReportSchema.safeParse(r).success).toBe(true);
    const hls = r.protocols.find((p) => p.protocol === 'hls')!;
    expect(hls.frames).toBe(4);
    expect(hls.p50Ms).toBe(302);
    expect(hls.maxMs).toBe(304);
    expect(hls.firstFrameSeconds).toBe(1.301);
    expect(hls.glassToGlassMs).toBe(302 + 2000);
    const empty = summarize({ protocol: 'dash', startedMs: 0, frames: [], bufferRule: 'x', bufferSeconds: 3 }, 0);
    expect([empty.p50Ms, empty.glassToGlassMs, empty.firstFrameSeconds]).toEqual([null, null, null]);
    expect(LatencyReportSchema.safeParse({ ...r, protocols: [{ ...hls, protocol: 'webrtc' }] }).success).toBe(false);
  });

  it('table has a row per protocol; SVG has a polyline per protocol', () => {
    const r = fakeReport();
    const table = renderTable(r);
    for (const p of PROTOCOLS) expect(table).toMatch(new RegExp(`^\\| ${p} `, 'm'));
    const svg = renderSvg(r);
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.match(/<polyline /g)).toHaveLength(PROTOCOLS.length);
    for (const p of PROTOCOLS) expect(svg).toContain(`data-protocol="${p}"`);
  });
});

describe('CLI args', () => {
  it('defaults and flags', () => {
    expect(parseCliArgs([])).toEqual({ url: undefined, http: undefined, seconds: 30, json: false, svg: 'latency.svg', flv: undefined });
    expect(parseCliArgs(['--json'])).toMatchObject({ json: true, svg: undefined });
    expect(parseCliArgs(['--url', 'rtmp://h:1/a/k', '--http', 'http://h:2', '--seconds', '5', '--svg', 'x.svg', '--json'])).toEqual({
      url: 'rtmp://h:1/a/k',
      http: 'http://h:2',
      seconds: 5,
      json: true,
      svg: 'x.svg',
      flv: undefined,
    });
    expect(() => parseCliArgs(['--seconds', '0'])).toThrow();
    expect(() => parseCliArgs(['--bogus'])).toThrow();
  });
});
