/**
 * The HEVC codec string of a file as ffmpeg's own bitstream reader sees it, independent of the
 * gateway's hvcC/SPS parsing: `ffmpeg -bsf:v trace_headers` prints every field of the first SPS's
 * profile_tier_level() (ITU-T H.265 §7.3.3) with its bits, and ISO/IEC 14496-15 Annex E.3 builds
 * `hvc1.P.C.TL.CC…` from them:
 *   P  general_profile_space (A/B/C prefix when not 0) + general_profile_idc, decimal;
 *   C  the 32 general_profile_compatibility_flags in reverse bit order, hex, no leading zeros;
 *   TL general_tier_flag (L or H) + general_level_idc, decimal;
 *   CC the 6 bytes of constraint flags (progressive_source … inbld), hex, trailing zero bytes left out.
 */
import { run } from './process.js';
import { ffmpegPath } from './tools.js';

interface PtlBits {
  profileSpace: number;
  tier: number;
  profileIdc: number;
  /** general_profile_compatibility_flag[0..31], as '0'/'1'. */
  compat: string;
  /** The 48 bits between the compatibility flags and general_level_idc. */
  constraints: string;
  levelIdc: number;
}

/** Reads the first SPS's general profile_tier_level fields from `ffmpeg -bsf:v trace_headers` output. */
function readPtl(trace: string): PtlBits {
  const sps = trace.indexOf('Sequence Parameter Set');
  if (sps < 0) throw new Error('trace_headers printed no Sequence Parameter Set');
  // "[trace_headers @ 0x…] 27          general_profile_idc                                     00001 = 1"
  const fields = [...trace.slice(sps).matchAll(/\]\s+\d+\s+(general_\w+(?:\[\d+\])?)\s+([01]+) = \d+/g)].map((m) => ({ name: m[1]!, bits: m[2]! }));
  const value = (name: string): string => {
    const f = fields.find((x) => x.name === name);
    if (!f) throw new Error(`trace_headers printed no ${name}`);
    return f.bits;
  };
  const compatEnd = fields.findIndex((f) => f.name === 'general_profile_compatibility_flag[31]');
  const levelAt = fields.findIndex((f) => f.name === 'general_level_idc');
  const compat = fields.filter((f) => f.name.startsWith('general_profile_compatibility_flag[')).slice(0, 32).map((f) => f.bits).join('');
  const constraints = fields.slice(compatEnd + 1, levelAt).map((f) => f.bits).join('');
  if (compat.length !== 32 || constraints.length !== 48) throw new Error(`unexpected profile_tier_level layout (${compat.length} compat bits, ${constraints.length} constraint bits)`);
  return {
    profileSpace: parseInt(value('general_profile_space'), 2),
    tier: parseInt(value('general_tier_flag'), 2),
    profileIdc: parseInt(value('general_profile_idc'), 2),
    compat,
    constraints,
    levelIdc: parseInt(value('general_level_idc'), 2),
  };
}

/** ISO/IEC 14496-15 Annex E.3 from the profile_tier_level bits. */
export function annexECodecString(ptl: PtlBits, sampleEntry = 'hvc1'): string {
  const space = ['', 'A', 'B', 'C'][ptl.profileSpace]!;
  // Flag j is the j-th bit read; "in reverse bit order" puts flag j at bit j of the number.
  const compat = [...ptl.compat].reduce((n, bit, j) => (bit === '1' ? n + 2 ** j : n), 0).toString(16).toUpperCase();
  const bytes = [0, 1, 2, 3, 4, 5].map((i) => parseInt(ptl.constraints.slice(i * 8, i * 8 + 8), 2));
  while (bytes.length > 0 && bytes[bytes.length - 1] === 0) bytes.pop();
  const constraints = bytes.map((b) => b.toString(16).toUpperCase()).join('.');
  return [sampleEntry, `${space}${ptl.profileIdc}`, compat, `${ptl.tier ? 'H' : 'L'}${ptl.levelIdc}`, ...(constraints ? [constraints] : [])].join('.');
}

/** The Annex E codec string of the first HEVC video stream of `file` (an MP4, init + segments). */
export async function hevcCodecStringOf(file: string): Promise<string> {
  const r = await run(ffmpegPath(), ['-v', 'trace', '-nostdin', '-i', file, '-map', '0:v:0', '-c:v', 'copy', '-bsf:v', 'trace_headers', '-frames:v', '1', '-f', 'null', '-'], 60_000);
  if (r.code !== 0) throw new Error(`ffmpeg trace_headers failed: ${r.stderr.slice(-2000)}`);
  return annexECodecString(readPtl(r.stderr));
}
