/**
 * The adaptive bitrate ladder: which renditions a stream gets. Pure: a source description in,
 * a list of renditions out. The first rendition is always the source itself (passthrough,
 * untouched); the others are rungs the transcoder makes.
 *
 * Selection rules (a rung is used only when all hold):
 *   - never upscale: the rung's height is strictly below the source's SHORT side;
 *   - never waste bits: rung.maxBitrate < source bitrate * bitrateMargin (0.8 by default), when
 *     the source bitrate is known (unknown bitrate: resolution alone decides);
 *   - keep the aspect ratio. The rung's `height` is the short side of the output:
 *       landscape/square WxH (W >= H): out = even(height * W / H) x height
 *       portrait       WxH (W <  H): out = height x even(height * H / W)
 *     so a 720x1280 phone stream gets 480x854, 360x640, ... just like 1280x720 gets 854x480.
 *     `even(x)` rounds to the nearest even integer: 4:2:0 chroma needs even dimensions.
 *   - frame rate: capped at the source's and at `rung.fpsCap`, or at `lowFpsCap` (30) for rungs
 *     under 720 lines when the rung sets no cap of its own.
 */
import { z } from 'zod';
import { GatewayError } from '../core/errors.js';

export type H264Profile = 'baseline' | 'main' | 'high';

export interface Rung {
  /** Rendition id, used in URLs: `[A-Za-z0-9_-]+`, not `src` or `audio`. */
  name: string;
  /** Lines of the output's short side (the height for landscape sources). */
  height: number;
  /** Peak bitrate in bit/s (`-maxrate`; `-bufsize` is twice it). */
  maxBitrate: number;
  /** Upper bound on the output frame rate. */
  fpsCap?: number;
  profile: H264Profile;
  /** H.264 level, e.g. `3.1`; left to x264 when absent. */
  level?: string;
}

export const DEFAULT_LADDER: readonly Rung[] = Object.freeze([
  { name: '1080p', height: 1080, maxBitrate: 6_000_000, profile: 'high', level: '4.2' },
  { name: '720p', height: 720, maxBitrate: 3_000_000, profile: 'high', level: '4.0' },
  { name: '480p', height: 480, maxBitrate: 1_200_000, profile: 'main', level: '3.1' },
  { name: '360p', height: 360, maxBitrate: 700_000, profile: 'main', level: '3.0' },
  { name: '240p', height: 240, maxBitrate: 400_000, profile: 'baseline', level: '3.0' },
]);

/** Rendition id of the untouched source (same as the packager's SOURCE_RENDITION). */
export const SOURCE_RENDITION_NAME = 'src';

export interface LadderSource {
  width: number;
  height: number;
  fps?: number;
  /** Video bit/s, from metadata `videodatarate` or measured. */
  bitrate?: number;
  hasVideo: boolean;
}

export interface PassthroughRendition {
  readonly kind: 'passthrough';
  readonly name: string;
  readonly width: number;
  readonly height: number;
  readonly fps?: number;
  readonly bitrate?: number;
}

export interface TranscodedRendition {
  readonly kind: 'transcode';
  readonly name: string;
  readonly width: number;
  readonly height: number;
  /** The frame-rate ceiling of the output; undefined = the source's rate, untouched. */
  readonly fps?: number;
  /** True when frames must be dropped to respect `fps` (source faster or of unknown rate). */
  readonly decimate: boolean;
  readonly maxBitrate: number;
  readonly profile: H264Profile;
  readonly level?: string;
}

export type SelectedRendition = PassthroughRendition | TranscodedRendition;

export interface SelectLadderOptions {
  /** Frame-rate cap for rungs under 720 lines without their own `fpsCap`. Default 30. */
  lowFpsCap?: number;
  /** A rung must be below source bitrate * this. Default 0.8. */
  bitrateMargin?: number;
  /** Only the source, no rungs. */
  passthroughOnly?: boolean;
}

const LOW_RUNG_HEIGHT = 720;
const FPS_EPSILON = 0.01;

/** Nearest even integer, at least 2. */
export function roundToEven(x: number): number {
  return Math.max(2, Math.round(x / 2) * 2);
}

export function selectLadder(
  source: LadderSource,
  ladder: readonly Rung[] = DEFAULT_LADDER,
  opts: SelectLadderOptions = {},
): SelectedRendition[] {
  const passthrough: PassthroughRendition = {
    kind: 'passthrough',
    name: SOURCE_RENDITION_NAME,
    width: source.width,
    height: source.height,
    ...(source.fps !== undefined ? { fps: source.fps } : {}),
    ...(source.bitrate !== undefined ? { bitrate: source.bitrate } : {}),
  };
  const out: SelectedRendition[] = [passthrough];
  if (!source.hasVideo || opts.passthroughOnly || source.width <= 0 || source.height <= 0) return out;
  const margin = opts.bitrateMargin ?? 0.8;
  const lowFpsCap = opts.lowFpsCap ?? 30;
  const portrait = source.width < source.height;
  const shortSide = portrait ? source.width : source.height;
  const longSide = portrait ? source.height : source.width;
  const sorted = [...ladder].sort((a, b) => b.height - a.height);
  for (const rung of sorted) {
    if (rung.height >= shortSide) continue;
    if (source.bitrate !== undefined && !(rung.maxBitrate < source.bitrate * margin)) continue;
    const short = roundToEven(rung.height);
    const long = roundToEven((rung.height * longSide) / shortSide);
    const cap = rung.fpsCap ?? (rung.height < LOW_RUNG_HEIGHT ? lowFpsCap : undefined);
    let fps: number | undefined;
    let decimate = false;
    if (cap !== undefined) {
      if (source.fps === undefined) {
        fps = cap;
        decimate = true;
      } else if (source.fps > cap + FPS_EPSILON) {
        fps = cap;
        decimate = true;
      } else {
        fps = source.fps;
      }
    } else {
      fps = source.fps;
    }
    out.push({
      kind: 'transcode',
      name: rung.name,
      width: portrait ? short : long,
      height: portrait ? long : short,
      ...(fps !== undefined ? { fps } : {}),
      decimate,
      maxBitrate: rung.maxBitrate,
      profile: rung.profile,
      ...(rung.level !== undefined ? { level: rung.level } : {}),
    });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Per-app / per-key configuration

const RESERVED_NAMES = new Set([SOURCE_RENDITION_NAME, 'audio']);

export const rungSchema = z.object({
  name: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,32}$/, 'rung name must be 1-32 of [A-Za-z0-9_-]')
    .refine((n) => !RESERVED_NAMES.has(n), 'rung name is reserved'),
  height: z.number().int().min(16).max(4320),
  maxBitrate: z.number().int().min(16_000).max(100_000_000),
  fpsCap: z.number().positive().max(240).optional(),
  profile: z.enum(['baseline', 'main', 'high']),
  level: z
    .string()
    .regex(/^[1-6](\.[0-3])?$|^1b$/, 'H.264 level like 3.1')
    .optional(),
});

const ladderSchema = z.union([
  z.literal('passthrough'),
  z
    .array(rungSchema)
    .max(16)
    .refine((rungs) => new Set(rungs.map((r) => r.name)).size === rungs.length, 'rung names must be unique'),
]);

export const ladderConfigSchema = z.object({
  default: ladderSchema.optional(),
  apps: z.record(z.string(), ladderSchema).optional(),
  /** Keyed by `app/key`. */
  keys: z.record(z.string(), ladderSchema).optional(),
});

export type LadderSpec = Rung[] | 'passthrough';
export type LadderConfig = z.infer<typeof ladderConfigSchema>;

/** Validates a ladder configuration (e.g. from a JSON file); throws GatewayError('config'). */
export function parseLadderConfig(input: unknown): LadderConfig {
  const r = ladderConfigSchema.safeParse(input);
  if (!r.success) {
    const issue = r.error.issues[0];
    const path = issue ? issue.path.map(String).join('.') : '';
    throw new GatewayError('config', `invalid ladder config: ${issue?.message ?? 'unknown'}`, { path });
  }
  return r.data;
}

export interface ResolvedLadder {
  /** Rungs to consider; empty means passthrough only. */
  readonly rungs: readonly Rung[];
  readonly passthroughOnly: boolean;
  /** Which entry decided: the most specific one wins (key > app > default > built-in). */
  readonly from: 'key' | 'app' | 'default' | 'builtin';
}

export function resolveLadderConfig(config: LadderConfig, app: string, key: string): ResolvedLadder {
  const byKey = config.keys?.[`${app}/${key}`];
  if (byKey !== undefined) return resolved(byKey, 'key');
  const byApp = config.apps?.[app];
  if (byApp !== undefined) return resolved(byApp, 'app');
  if (config.default !== undefined) return resolved(config.default, 'default');
  return { rungs: DEFAULT_LADDER, passthroughOnly: false, from: 'builtin' };
}

function resolved(spec: LadderSpec, from: ResolvedLadder['from']): ResolvedLadder {
  if (spec === 'passthrough') return { rungs: [], passthroughOnly: true, from };
  return { rungs: spec, passthroughOnly: spec.length === 0, from };
}
