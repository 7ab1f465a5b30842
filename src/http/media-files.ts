/**
 * The one lookup of a CMAF media file (init segment, segment, part) by its URL name: the live
 * window of the rendition's TrackOutput first, then the LRU cache. The fast path and the express
 * route both answer from it.
 */
import type { SegmentCache } from '../cache/segment-cache.js';
import type { OutputRegistry } from '../packager/output-registry.js';
import type { TrackOutput } from '../packager/track-output.js';

/** `init-S-N.mp4`, `seg-S-N.m4s`, `part-S-N.I.m4s` (S: the publish session, see TrackOutput). */
export const MEDIA_FILE = /^(init|seg|part)-([0-9a-z]{1,16})-(\d{1,12})(?:\.(\d{1,6}))?\.(mp4|m4s)$/;

export interface MediaFile {
  readonly chunks: readonly Uint8Array[];
  readonly byteLength: number;
  readonly contentType: string;
}

export interface MediaFileName {
  readonly type: 'init' | 'seg' | 'part';
  readonly session: string;
  readonly number: number;
  /** Part index (part files only). */
  readonly part: number | undefined;
  readonly ext: 'mp4' | 'm4s';
}

export function parseMediaFileName(file: string): MediaFileName | undefined {
  const m = MEDIA_FILE.exec(file);
  if (!m) return undefined;
  return { type: m[1] as MediaFileName['type'], session: m[2]!, number: Number(m[3]), part: m[4] === undefined ? undefined : Number(m[4]), ext: m[5] as MediaFileName['ext'] };
}

/** The bytes of `name` in `track`'s live window (whole segments, parts, inits), if it is there. */
export function liveMediaFile(track: TrackOutput, name: MediaFileName): MediaFile | undefined {
  if (track.session !== name.session) return undefined;
  if (name.type === 'init' && name.ext === 'mp4' && name.part === undefined) {
    const bytes = track.init(name.number);
    return bytes ? { chunks: [bytes], byteLength: bytes.byteLength, contentType: track.initContentType } : undefined;
  }
  if (name.type === 'seg' && name.ext === 'm4s' && name.part === undefined) {
    const s = track.segment(name.number);
    return s ? { chunks: s.chunks, byteLength: s.byteLength, contentType: track.contentType } : undefined;
  }
  if (name.type === 'part' && name.ext === 'm4s' && name.part !== undefined) {
    const bytes = track.hintedPart(name.number, name.part);
    return bytes ? { chunks: [bytes], byteLength: bytes.byteLength, contentType: track.contentType } : undefined;
  }
  return undefined;
}

/** `app/key/rendition/file`: from the live window, else from the cache (it left the window, or the stream ended). */
export function findMediaFile(
  outputs: Pick<OutputRegistry, 'get'>,
  cache: SegmentCache,
  app: string,
  key: string,
  rendition: string,
  file: string,
  name: MediaFileName,
): MediaFile | undefined {
  const track = outputs.get(app, key)?.rendition(rendition);
  return (track && liveMediaFile(track, name)) ?? cache.get(`${app}/${key}/${rendition}/${file}`);
}
