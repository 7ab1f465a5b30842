/**
 * The ffmpeg command line of one ladder transcode: pure, so it can be checked without running it.
 *
 *   stdin (FLV, video only) ─▶ decode once ─▶ split ─┬─▶ [select] ▸ scale ▸ x264 ─▶ FLV pipe:3
 *                                                   ├─▶ [select] ▸ scale ▸ x264 ─▶ FLV pipe:4
 *                                                   └─▶ ...
 *
 * Alignment with the source (ARCHITECTURE.md "Chunking is not muxing"):
 *   - `-force_key_frames source` makes x264 emit an IDR exactly where the decoded source frame was
 *     a keyframe (the decoder's key flag survives split/scale/select). Checked on the bundled
 *     ffmpeg 4.1 and Debian's 5.1; the rungs' keyframes land on the source's keyframe PTS.
 *   - `-g` huge, `-sc_threshold 0`, `-bf 0`: no keyframes of x264's own choosing, no reordering
 *     (rung dts == pts == source pts).
 *   - `-copyts -vsync passthrough -muxdelay 0`: timestamps go through untouched, one output frame
 *     per kept input frame (`-vsync` rather than `-fps_mode` because 4.1 lacks the latter).
 * Rate control: CRF with a VBV cap (`-maxrate`, `-bufsize` = 2 x maxrate): capped VBR.
 * Frame-rate caps use `select`, not `fps`: `fps` re-times frames and may drop the keyframe, while
 * this expression always keeps keyframes and otherwise keeps a frame once 1/cap - half a source
 * frame has passed since the last kept one.
 * Not `-fflags nobuffer`: with it, the packets read while probing are discarded, i.e. the whole
 * first GOP is lost. A tiny probesize with `-analyzeduration 0` gives the low start-up latency.
 */
import type { TranscodedRendition } from './ladder.js';

export interface TranscodeArgsOptions {
  /** x264 preset. Default `veryfast`. */
  preset?: string;
  /** Threads per x264 encoder. Default 1: N rungs already run N encoders in parallel. */
  encoderThreads?: number;
  /** Decoder threads (frame threading adds a frame of delay per thread). Default 1. */
  decoderThreads?: number;
  /** Source frame rate if known: the select threshold subtracts half of its frame interval. */
  sourceFps?: number;
  /** `-loglevel`. Default `warning`. */
  logLevel?: string;
  /** What stdin carries (ladder/transcoder-input.ts). Default `flv`. */
  inputFormat?: 'flv' | 'mp4';
}

/** First extra fd of the child: rung i writes to fd RUNG_FD_BASE + i. */
export const RUNG_FD_BASE = 3;
/** GOP length that never triggers on its own; keyframes come from the source only. */
const NO_GOP = 100_000;
const PRESET_RE = /^(ultrafast|superfast|veryfast|faster|fast|medium|slow|slower|veryslow|placebo)$/;

export function selectExpression(fpsCap: number, sourceFps: number | undefined): string {
  const frame = sourceFps !== undefined && sourceFps > 0 ? 1 / sourceFps : 1 / (fpsCap * 2);
  const minGap = Math.max(0, 1 / fpsCap - frame / 2);
  return `select='isnan(prev_selected_t)+key+gte(t-prev_selected_t,${minGap.toFixed(6)})'`;
}

export function filterGraph(rungs: readonly TranscodedRendition[], sourceFps?: number): string {
  const labels = rungs.map((_, i) => `[s${i}]`).join('');
  const chains = rungs.map((r, i) => {
    const steps: string[] = [];
    if (r.decimate && r.fps !== undefined) steps.push(selectExpression(r.fps, sourceFps));
    steps.push(`scale=${r.width}:${r.height}`, 'setsar=1');
    return `[s${i}]${steps.join(',')}[v${i}]`;
  });
  return [`[0:v]split=${rungs.length}${labels}`, ...chains].join(';');
}

export function buildTranscodeArgs(rungs: readonly TranscodedRendition[], opts: TranscodeArgsOptions = {}): string[] {
  const preset = opts.preset ?? 'veryfast';
  if (!PRESET_RE.test(preset)) throw new RangeError(`unknown x264 preset ${preset}`);
  const encThreads = String(Math.max(1, Math.floor(opts.encoderThreads ?? 1)));
  const args = [
    '-hide_banner', '-nostdin', '-nostats', '-loglevel', opts.logLevel ?? 'warning',
    '-threads', String(Math.max(1, Math.floor(opts.decoderThreads ?? 1))),
    '-probesize', '4096', '-analyzeduration', '0',
    '-f', opts.inputFormat ?? 'flv', '-i', 'pipe:0',
    '-filter_complex', filterGraph(rungs, opts.sourceFps),
    '-copyts', '-vsync', 'passthrough',
  ];
  rungs.forEach((r, i) => {
    args.push(
      '-map', `[v${i}]`, '-an', '-sn', '-dn',
      '-c:v', 'libx264', '-preset', preset, '-tune', 'zerolatency',
      '-profile:v', r.profile,
      ...(r.level !== undefined ? ['-level:v', r.level] : []),
      '-pix_fmt', 'yuv420p',
      '-bf', '0', '-sc_threshold', '0', '-g', String(NO_GOP), '-forced-idr', '1',
      '-force_key_frames', 'source',
      '-maxrate', String(r.maxBitrate), '-bufsize', String(r.maxBitrate * 2),
      '-threads', encThreads,
      '-muxdelay', '0', '-flush_packets', '1',
      '-f', 'flv', `pipe:${RUNG_FD_BASE + i}`,
    );
  });
  return args;
}
