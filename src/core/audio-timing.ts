/**
 * Audio frame timing shared by the ingests (FLV/RTMP and MPEG-TS): each AAC frame lasts exactly
 * `samplesPerFrame` ticks of the sample-rate clock, so a frame continues seamlessly from the one
 * before while the container's time for it (RTMP milliseconds, a PES's PTS) is within half a frame
 * of that; it is re-anchored to the container's time otherwise. This undoes the container's
 * rounding (1024 / 44100 s is not a whole number of milliseconds) without losing sync.
 */

/** Re-anchoring by more than this is worth telling the publisher about; smaller ones are routine. */
export const AUDIO_RESYNC_WARN_MS = 100;

export interface AudioTimingState {
  lastDts: number | undefined;
  /** Where the next frame lands if it follows the previous one seamlessly. */
  nextDts: number | undefined;
  /** Inside a run of frames dropped because the container's time went back (warned once per run). */
  dropping: boolean;
}

export type AudioPlacement =
  /** The frame's decode time; `forwardMs` when it was re-anchored forward by more than the warning threshold. */
  | { readonly dts: number; readonly forwardMs?: number }
  /** Dropped: the container's time is behind audio already sent; `behindMs` on the first drop of a run worth a warning. */
  | { readonly dts?: undefined; readonly behindMs?: number };

/**
 * Places one frame whose container time is `anchor` ticks (undefined: no time, continue seamlessly)
 * and advances `state`. Decode times come out strictly increasing.
 */
export function placeAudioFrame(state: AudioTimingState, anchor: number | undefined, samplesPerFrame: number, sampleRate: number): AudioPlacement {
  const warnTicks = (AUDIO_RESYNC_WARN_MS * sampleRate) / 1000;
  const ms = (ticks: number): number => Math.round((ticks * 1000) / sampleRate);
  let dts: number;
  let forwardMs: number | undefined;
  if (anchor === undefined) {
    if (state.nextDts === undefined) return {};
    dts = state.nextDts;
  } else {
    dts = anchor;
    if (state.nextDts !== undefined) {
      const drift = anchor - state.nextDts;
      if (Math.abs(drift) * 2 <= samplesPerFrame) {
        dts = state.nextDts;
        state.dropping = false;
      } else if (drift < 0) {
        // Going back would break monotonic dts: frames are dropped until the container's clock
        // catches up (a brief gap instead of lost sync).
        const first = !state.dropping;
        state.dropping = true;
        return first && -drift > warnTicks ? { behindMs: ms(-drift) } : {};
      } else {
        state.dropping = false;
        if (drift > warnTicks) forwardMs = ms(drift);
      }
    }
  }
  if (state.lastDts !== undefined && dts <= state.lastDts) dts = state.lastDts + 1;
  state.lastDts = dts;
  state.nextDts = dts + samplesPerFrame;
  return forwardMs === undefined ? { dts } : { dts, forwardMs };
}
