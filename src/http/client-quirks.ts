/**
 * Players that need the live presentation listed from the stream's first segment, recognised by
 * User-Agent. GStreamer (souphttpsrc: "GStreamer souphttpsrc 1.22.0 libsoup/3.2.3"; hlsdemux,
 * hlsdemux2, dashdemux and dashdemux2 all fetch with it) starts its timeline at the first entry
 * of the first playlist / SegmentTimeline it loads:
 *  - DASH (dashdemux, dashdemux2): gst_mpd_client_stream_seek() adds the first S's start time to
 *    the live-edge position, so it waits for a segment far in the future
 *    (packager/dash/mpd.ts, timelineHead);
 *  - HLS (legacy hlsdemux, what `playbin` uses): the TIME segment starts at 0 at the first listed
 *    segment (EXT-X-PROGRAM-DATE-TIME is ignored) while qtdemux stamps samples from tfdt, so the
 *    sinks wait (tfdt - position) before the first frame (packager/hls/playlists.ts, fromStart).
 * Everyone else gets the plain sliding window. Responses that depend on it carry Vary: User-Agent.
 */
export const LISTS_FROM_START_CLIENTS = /\bGStreamer\b/i;

export function listsFromStart(userAgent: string | undefined): boolean {
  return LISTS_FROM_START_CLIENTS.test(userAgent ?? '');
}
