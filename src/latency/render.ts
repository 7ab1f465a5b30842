/** Terminal table and hand-written SVG chart of a LatencyReport. */
import type { LatencyReport, Protocol } from './report.js';

const fmtS = (v: number | null): string => (v === null ? '-' : v.toFixed(2));
const fmtMs = (v: number | null): string => (v === null ? '-' : `${Math.round(v)} ms`);

export function renderTable(report: LatencyReport): string {
  const header = ['protocol', 'frames', 'first frame s', 'p50', 'p95', 'max', 'buffer rule', 'default-player glass-to-glass'];
  const rows = report.protocols.map((p) => [
    p.protocol,
    String(p.frames),
    fmtS(p.firstFrameSeconds),
    fmtMs(p.p50Ms),
    fmtMs(p.p95Ms),
    fmtMs(p.maxMs),
    `${p.bufferRule} = ${p.bufferSeconds.toFixed(2)} s`,
    fmtMs(p.glassToGlassMs) + (p.error ? `  (error: ${p.error})` : ''),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  const sep = `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`;
  return [line(header), sep, ...rows.map(line), '', `glass-to-glass: ${report.formula}`].join('\n');
}

const COLORS: Record<Protocol, string> = {
  rtmp: '#d62728',
  'http-flv': '#ff7f0e',
  hls: '#1f77b4',
  'hls-ts': '#17becf',
  'll-hls': '#2ca02c',
  dash: '#9467bd',
};

function escapeXml(s: string): string {
  return s.replace(/[&<>"]/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : '&quot;'));
}

/** Frame arrival latency (y, ms) over measurement time (x, s): one polyline per protocol. */
export function renderSvg(report: LatencyReport): string {
  const width = 900;
  const height = 480;
  const m = { left: 70, right: 170, top: 30, bottom: 50 };
  const plotW = width - m.left - m.right;
  const plotH = height - m.top - m.bottom;
  const all = report.protocols.flatMap((p) => p.samples);
  const maxX = Math.max(1, report.durationSeconds, ...all.map((s) => s.atSeconds));
  const maxY = Math.max(100, ...all.map((s) => s.latencyMs)) * 1.05;
  const x = (v: number): number => m.left + (v / maxX) * plotW;
  const y = (v: number): number => m.top + plotH - (Math.max(0, v) / maxY) * plotH;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${m.left}" y="18" font-size="14">Frame arrival latency per protocol (${escapeXml(report.startedAt)})</text>`,
    `<line x1="${m.left}" y1="${m.top + plotH}" x2="${m.left + plotW}" y2="${m.top + plotH}" stroke="black"/>`,
    `<line x1="${m.left}" y1="${m.top}" x2="${m.left}" y2="${m.top + plotH}" stroke="black"/>`,
  ];
  for (let i = 0; i <= 5; i++) {
    const vx = (maxX * i) / 5;
    const vy = (maxY * i) / 5;
    out.push(
      `<text x="${x(vx).toFixed(1)}" y="${m.top + plotH + 16}" text-anchor="middle">${vx.toFixed(1)}</text>`,
      `<text x="${m.left - 6}" y="${(y(vy) + 4).toFixed(1)}" text-anchor="end">${Math.round(vy)}</text>`,
      `<line x1="${m.left}" y1="${y(vy).toFixed(1)}" x2="${m.left + plotW}" y2="${y(vy).toFixed(1)}" stroke="#eee"/>`,
    );
  }
  out.push(
    `<text x="${m.left + plotW / 2}" y="${height - 12}" text-anchor="middle">time since start (s)</text>`,
    `<text x="16" y="${m.top + plotH / 2}" text-anchor="middle" transform="rotate(-90 16 ${m.top + plotH / 2})">latency (ms)</text>`,
  );
  report.protocols.forEach((p, i) => {
    const points = p.samples.map((s) => `${x(s.atSeconds).toFixed(1)},${y(s.latencyMs).toFixed(1)}`).join(' ');
    out.push(`<polyline data-protocol="${p.protocol}" fill="none" stroke="${COLORS[p.protocol]}" stroke-width="1.5" points="${points}"/>`);
    const ly = m.top + 10 + i * 20;
    const lx = m.left + plotW + 15;
    out.push(
      `<line x1="${lx}" y1="${ly}" x2="${lx + 20}" y2="${ly}" stroke="${COLORS[p.protocol]}" stroke-width="3"/>`,
      `<text x="${lx + 26}" y="${ly + 4}">${escapeXml(p.protocol)} p50 ${fmtMs(p.p50Ms)}</text>`,
    );
  });
  out.push('</svg>');
  return out.join('\n');
}
