/**
 * Colour description of a video track (HDR signalling): what an Enhanced RTMP publisher sends in
 * a `VideoPacketType.Metadata` packet as `["colorInfo", Object]` (veovera enhanced-rtmp v2,
 * "Metadata Frame"), and what the outputs declare from it: `colr` (nclx), `mdcv` and `clli` in
 * the CMAF sample entry, `VIDEO-RANGE` in the HLS multivariant playlist (RFC 8216bis §4.4.6.2),
 * and the CICP properties in the MPD (DASH-IF IOP §6.2.5).
 *
 * colorPrimaries / transferCharacteristics / matrixCoefficients are code points of ITU-T H.273
 * (ISO/IEC 23091-2). Mastering display chromaticities are CIE 1931 xy in 0..1 and luminances in
 * cd/m² as the E-RTMP spec gives them; the boxes scale them as SMPTE ST 2086 does.
 */
import { isAmf0Object, type Amf0Object, type Amf0Value } from '../flv/amf0.js';
import { GatewayError } from '../core/errors.js';

export interface MasteringDisplay {
  /** xy of the red, green and blue primaries and of the white point, each in 0..1. */
  readonly red: readonly [number, number];
  readonly green: readonly [number, number];
  readonly blue: readonly [number, number];
  readonly whitePoint: readonly [number, number];
  /** cd/m². */
  readonly maxLuminance: number;
  readonly minLuminance: number;
}

export interface ContentLightLevel {
  /** MaxCLL and MaxFALL, cd/m². */
  readonly maxCll: number;
  readonly maxFall: number;
}

export interface ColourInfo {
  readonly bitDepth?: number;
  /** H.273 ColourPrimaries (9 = BT.2020), TransferCharacteristics (16 = PQ, 18 = HLG), MatrixCoefficients. */
  readonly colourPrimaries: number;
  readonly transferCharacteristics: number;
  readonly matrixCoefficients: number;
  readonly masteringDisplay?: MasteringDisplay;
  readonly contentLight?: ContentLightLevel;
}

/** H.273 code point 2: "unspecified". */
const UNSPECIFIED = 2;
/** H.273 TransferCharacteristics: SMPTE ST 2084 (PQ) and ARIB STD-B67 (HLG). */
export const TRANSFER_PQ = 16;
export const TRANSFER_HLG = 18;

function bad(message: string, field: string, value: unknown): never {
  throw new GatewayError('codec.colour', `colorInfo: ${message}`, { field, value: String(value) });
}

function numberIn(o: Amf0Object, field: string, min: number, max: number, path: string): number | undefined {
  const v = o[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) bad(`${path}.${field} must be a number in [${min}, ${max}]`, `${path}.${field}`, v);
  return v;
}

function codePoint(o: Amf0Object, field: string): number {
  const v = numberIn(o, field, 0, 255, 'colorConfig');
  return v === undefined ? UNSPECIFIED : Math.round(v);
}

function xy(o: Amf0Object, prefix: string): [number, number] | undefined {
  const x = numberIn(o, `${prefix}X`, 0, 1, 'hdrMdcv');
  const y = numberIn(o, `${prefix}Y`, 0, 1, 'hdrMdcv');
  return x === undefined || y === undefined ? undefined : [x, y];
}

/**
 * The `colorInfo` value of a Metadata packet. Undefined, null or an empty object reset to "no
 * colour description" (the spec's reset forms): undefined is returned. Anything that is not an
 * object, or a field out of its range, throws a GatewayError naming the field.
 */
export function parseColorInfo(value: Amf0Value): ColourInfo | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isAmf0Object(value)) bad('must be an object', 'colorInfo', typeof value);
  if (Object.keys(value).length === 0) return undefined;
  const config = value['colorConfig'];
  const cfg: Amf0Object = config !== undefined && config !== null ? (isAmf0Object(config) ? config : bad('colorConfig must be an object', 'colorConfig', typeof config)) : {};
  const bitDepth = numberIn(cfg, 'bitDepth', 1, 16, 'colorConfig');
  let masteringDisplay: MasteringDisplay | undefined;
  const mdcv = value['hdrMdcv'];
  if (mdcv !== undefined && mdcv !== null) {
    if (!isAmf0Object(mdcv)) bad('hdrMdcv must be an object', 'hdrMdcv', typeof mdcv);
    const red = xy(mdcv, 'red');
    const green = xy(mdcv, 'green');
    const blue = xy(mdcv, 'blue');
    const whitePoint = xy(mdcv, 'whitePoint');
    const maxLuminance = numberIn(mdcv, 'maxLuminance', 0, 100_000, 'hdrMdcv');
    const minLuminance = numberIn(mdcv, 'minLuminance', 0, 100_000, 'hdrMdcv');
    if (red && green && blue && whitePoint && maxLuminance !== undefined && minLuminance !== undefined) {
      masteringDisplay = { red, green, blue, whitePoint, maxLuminance, minLuminance };
    }
  }
  let contentLight: ContentLightLevel | undefined;
  const cll = value['hdrCll'];
  if (cll !== undefined && cll !== null) {
    if (!isAmf0Object(cll)) bad('hdrCll must be an object', 'hdrCll', typeof cll);
    const maxCll = numberIn(cll, 'maxCLL', 0, 65_535, 'hdrCll');
    const maxFall = numberIn(cll, 'maxFall', 0, 65_535, 'hdrCll');
    if (maxCll !== undefined && maxFall !== undefined) contentLight = { maxCll, maxFall };
  }
  return {
    ...(bitDepth !== undefined ? { bitDepth: Math.round(bitDepth) } : {}),
    colourPrimaries: codePoint(cfg, 'colorPrimaries'),
    transferCharacteristics: codePoint(cfg, 'transferCharacteristics'),
    matrixCoefficients: codePoint(cfg, 'matrixCoefficients'),
    ...(masteringDisplay ? { masteringDisplay } : {}),
    ...(contentLight ? { contentLight } : {}),
  };
}

/**
 * The `colorInfo` pair of a Metadata packet body: a series of AMF0 [name, value] pairs, of which
 * only "colorInfo" is defined. Returns `{ present: false }` when the body has none.
 */
export function colorInfoFromMetadataValues(values: readonly Amf0Value[]): { present: true; colour: ColourInfo | undefined } | { present: false } {
  for (let i = 0; i + 1 < values.length; i += 2) {
    if (values[i] === 'colorInfo') return { present: true, colour: parseColorInfo(values[i + 1]) };
  }
  // A body that ends with the name only: the value is missing, which resets as Undefined does.
  if (values.length % 2 === 1 && values[values.length - 1] === 'colorInfo') return { present: true, colour: undefined };
  return { present: false };
}

/** HLS VIDEO-RANGE (RFC 8216bis §4.4.6.2): PQ, HLG, or SDR for everything else. */
export function videoRangeOf(colour: ColourInfo | undefined): 'SDR' | 'PQ' | 'HLG' {
  if (colour?.transferCharacteristics === TRANSFER_PQ) return 'PQ';
  if (colour?.transferCharacteristics === TRANSFER_HLG) return 'HLG';
  return 'SDR';
}

export function sameColour(a: ColourInfo | undefined, b: ColourInfo | undefined): boolean {
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
}
