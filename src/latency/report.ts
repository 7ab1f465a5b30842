/**
 * The latency report: per-protocol frame arrival latency statistics and the glass-to-glass
 * latency a default player would have. `LatencyReportSchema` documents and validates the JSON.
 *
 * JSON shape (`--json`):
 * ```
 * { startedAt: ISO string, durationSeconds, rtmpUrl, httpBase, formula,
 *   protocols: [{ protocol, frames, firstFrameSeconds|null, p50Ms|null, p95Ms|null, maxMs|null,
 *                 bufferRule, bufferSeconds, glassToGlassMs|null, error?,
 *                 samples: [{ atSeconds, latencyMs }] }] }
 * ```
 */
import { z } from 'zod';

export const PROTOCOLS = ['rtmp', 'http-flv', 'hls', 'hls-ts', 'll-hls', 'dash'] as const;
export type Protocol = (typeof PROTOCOLS)[number];

export const GLASS_TO_GLASS_FORMULA =
  'default-player glass-to-glass = p50 frame arrival latency (arrival wall clock - SEI send time) + the ' +
  "player's buffer rule: HLS (fMP4 and TS) 3 x EXT-X-TARGETDURATION hold-back; LL-HLS PART-HOLD-BACK; " +
  'DASH suggestedPresentationDelay; RTMP and HTTP-FLV 0 (they play what arrives)';

const nullableMs = z.number().nonnegative().nullable();

export const ProtocolRowSchema = z.object({
  protocol: z.enum(PROTOCOLS),
  frames: z.number().int().nonnegative(),
  /** Player start to first frame with a timestamp SEI. */
  firstFrameSeconds: z.number().nonnegative().nullable(),
  p50Ms: z.number().nullable(),
  p95Ms: z.number().nullable(),
  maxMs: z.number().nullable(),
  bufferRule: z.string(),
  bufferSeconds: z.number().nonnegative(),
  glassToGlassMs: nullableMs,
  error: z.string().optional(),
  /** Frame arrival latency over time (seconds since the measurement started). */
  samples: z.array(z.object({ atSeconds: z.number(), latencyMs: z.number() })),
});
export type ProtocolRow = z.infer<typeof ProtocolRowSchema>;

export const LatencyReportSchema = z.object({
  startedAt: z.string(),
  durationSeconds: z.number().positive(),
  rtmpUrl: z.string(),
  httpBase: z.string(),
  formula: z.string(),
  protocols: z.array(ProtocolRowSchema),
});
export type LatencyReport = z.infer<typeof LatencyReportSchema>;

/** Nearest-rank percentile (p in 0..100) of an unsorted list; null when empty. */
export function percentile(values: readonly number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1]!;
}

export interface FrameSample {
  readonly sendMs: number;
  readonly arrivalMs: number;
}

export interface ProtocolMeasurement {
  readonly protocol: Protocol;
  readonly startedMs: number;
  readonly frames: FrameSample[];
  bufferRule: string;
  bufferSeconds: number;
  error?: string;
}

const round = (v: number | null): number | null => (v === null ? null : Math.round(v * 10) / 10);

export function summarize(m: ProtocolMeasurement, measurementStartMs: number): ProtocolRow {
  const latencies = m.frames.map((f) => f.arrivalMs - f.sendMs);
  const first = m.frames.length > 0 ? Math.min(...m.frames.map((f) => f.arrivalMs)) : undefined;
  const p50 = percentile(latencies, 50);
  return {
    protocol: m.protocol,
    frames: m.frames.length,
    firstFrameSeconds: first === undefined ? null : Math.round(first - m.startedMs) / 1000,
    p50Ms: round(p50),
    p95Ms: round(percentile(latencies, 95)),
    maxMs: round(latencies.length ? Math.max(...latencies) : null),
    bufferRule: m.bufferRule,
    bufferSeconds: m.bufferSeconds,
    glassToGlassMs: p50 === null ? null : round(Math.max(0, p50 + m.bufferSeconds * 1000)),
    ...(m.error !== undefined ? { error: m.error } : {}),
    samples: m.frames.map((f) => ({ atSeconds: Math.round(f.arrivalMs - measurementStartMs) / 1000, latencyMs: Math.round((f.arrivalMs - f.sendMs) * 10) / 10 })),
  };
}
