/**
 * What every live media playlist of a rendition (CMAF, MPEG-TS, subtitles) derives alike from
 * its segments: the listed window, its EXT-X-DISCONTINUITY-SEQUENCE and its EXT-X-TARGETDURATION.
 */

/**
 * The newest `window` segments, and the discontinuity sequence number of the first of them
 * (RFC 8216bis §4.4.3.3): the discontinuities that left the list before, plus those among the
 * segments not listed.
 */
export function listedWindow<T extends { readonly discontinuity: boolean }>(
  all: readonly T[],
  window: number,
  droppedDiscontinuities: number,
): { listed: readonly T[]; discontinuitySequence: number } {
  const listed = all.slice(Math.max(0, all.length - window));
  let discontinuitySequence = droppedDiscontinuities;
  for (let i = 0; i < all.length - listed.length; i++) if (all[i]!.discontinuity) discontinuitySequence++;
  return { listed, discontinuitySequence };
}

/** §4.4.3.1: every EXTINF rounded to the nearest integer is at most the target. */
export function targetDurationOf(rendition: { readonly maxSegmentDuration: number }, segmentDuration: number): number {
  return Math.max(Math.ceil(segmentDuration), Math.round(rendition.maxSegmentDuration));
}
