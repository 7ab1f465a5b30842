/**
 * Passthrough ABR: a publisher that encodes its own ladder sends each rendition under a sibling
 * key (`show`, `show_720p`, `show_480p`); the gateway groups them into one multi-rendition stream
 * without transcoding. Pure: names in, groups out; keyframe lists in, a verdict out.
 *
 * Renditions only switch cleanly when their keyframes coincide (the segmenter cuts each one at
 * its first keyframe after a boundary), so a group is checked with `checkKeyframeAlignment`.
 */

/** Default sibling pattern: `<base>_<height>p`; group 1 is the base key, group 2 the label. */
export const DEFAULT_SIBLING_PATTERN = /^(.*)_(\d+p)$/;

export interface SiblingMember {
  key: string;
  /** The label from the key (`720p`), or `src` for the base key itself. */
  label: string;
  /** Lines parsed from the label; undefined for the base key. */
  height?: number;
}

export interface SiblingGroup {
  base: string;
  /** The base key first when it is published, then by height, tallest first. */
  members: SiblingMember[];
}

/**
 * Groups live keys into sibling sets. A base with a single member and no variants is not a group:
 * only sets of two or more renditions are returned, sorted by base.
 */
export function groupSiblingKeys(keys: readonly string[], pattern: RegExp = DEFAULT_SIBLING_PATTERN): SiblingGroup[] {
  const matcher = new RegExp(pattern.source, pattern.flags.replace('g', ''));
  const live = new Set(keys);
  const groups = new Map<string, SiblingMember[]>();
  for (const key of live) {
    const m = matcher.exec(key);
    if (!m || m[1] === undefined || m[2] === undefined || m[1] === '') continue;
    const base = m[1];
    const label = m[2];
    const height = Number.parseInt(label, 10);
    let members = groups.get(base);
    if (!members) groups.set(base, (members = []));
    members.push({ key, label, ...(Number.isFinite(height) ? { height } : {}) });
  }
  const out: SiblingGroup[] = [];
  for (const [base, variants] of groups) {
    variants.sort((a, b) => (b.height ?? 0) - (a.height ?? 0) || a.key.localeCompare(b.key));
    const members: SiblingMember[] = live.has(base) ? [{ key: base, label: 'src' }, ...variants] : variants;
    if (members.length >= 2) out.push({ base, members });
  }
  return out.sort((a, b) => a.base.localeCompare(b.base));
}

export interface KeyframeMisalignment {
  /** Which list the keyframe is in. */
  side: 'a' | 'b';
  dts: number;
  /** dts of the nearest keyframe in the other list, if any. */
  nearest?: number;
  /** |dts - nearest|, ticks (Infinity when the other list is empty). */
  delta: number;
}

export interface KeyframeAlignment {
  aligned: boolean;
  /** Keyframes compared (inside the time range both lists cover). */
  compared: number;
  misaligned: KeyframeMisalignment[];
}

/**
 * Compares two streams' keyframe dts lists (same timescale, ascending). Only keyframes inside the
 * range both lists cover count: one stream starting later is not misalignment. A keyframe is
 * misaligned when the other stream has none within `toleranceTicks` (one frame, e.g. 3000 at
 * 30 fps in 90 kHz; the default 1 frame at 30 fps).
 */
export function checkKeyframeAlignment(a: readonly number[], b: readonly number[], toleranceTicks = 3_000): KeyframeAlignment {
  const misaligned: KeyframeMisalignment[] = [];
  if (a.length === 0 || b.length === 0) return { aligned: a.length === b.length, compared: 0, misaligned };
  const lo = Math.max(a[0]!, b[0]!) - toleranceTicks;
  const hi = Math.min(a[a.length - 1]!, b[b.length - 1]!) + toleranceTicks;
  let compared = 0;
  const scan = (list: readonly number[], other: readonly number[], side: 'a' | 'b'): void => {
    let j = 0;
    for (const dts of list) {
      if (dts < lo || dts > hi) continue;
      compared++;
      while (j + 1 < other.length && Math.abs(other[j + 1]! - dts) < Math.abs(other[j]! - dts)) j++;
      const nearest = other[j]!;
      const delta = Math.abs(nearest - dts);
      if (delta > toleranceTicks) misaligned.push({ side, dts, nearest, delta });
    }
  };
  scan(a, b, 'a');
  scan(b, a, 'b');
  return { aligned: misaligned.length === 0, compared, misaligned };
}
