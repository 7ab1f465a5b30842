/**
 * Colour boxes of a VisualSampleEntry, from a track's ColourInfo (codec/colour.ts):
 *  - `colr` of type `nclx` (ISO/IEC 14496-12 §12.1.5): H.273 colour_primaries,
 *    transfer_characteristics, matrix_coefficients, full_range_flag (0: video range);
 *  - `mdcv` (ISO/IEC 23001-8 / SMPTE ST 2086 as in HEVC's mastering_display_colour_volume SEI,
 *    ITU-T H.265 §D.3.28): display_primaries in G, B, R order, x and y in units of 0.00002,
 *    white point likewise, max and min luminance in units of 0.0001 cd/m²;
 *  - `clli` (ISO/IEC 23001-8, H.265 §D.3.35 content_light_level_info): MaxCLL, MaxFALL in cd/m².
 * Players (ffmpeg's mov demuxer, Chromium, Safari) take HDR signalling from these boxes.
 */
import type { ColourInfo } from '../../codec/colour.js';
import { containerBox } from './boxes.js';

const CHROMATICITY_UNIT = 0.000_02;
const LUMINANCE_UNIT = 0.0001;

function u16(v: number): number {
  return Math.max(0, Math.min(0xffff, Math.round(v)));
}
function u32(v: number): number {
  return Math.max(0, Math.min(0xffff_ffff, Math.round(v)));
}

export function colrNclx(colour: ColourInfo): Uint8Array {
  const p = new Uint8Array(11);
  const view = new DataView(p.buffer);
  p.set([0x6e, 0x63, 0x6c, 0x78]); // 'nclx'
  view.setUint16(4, colour.colourPrimaries);
  view.setUint16(6, colour.transferCharacteristics);
  view.setUint16(8, colour.matrixCoefficients);
  p[10] = 0; // full_range_flag 0, reserved 7 bits
  return containerBox('colr', [p]);
}

export function mdcv(display: NonNullable<ColourInfo['masteringDisplay']>): Uint8Array {
  const p = new Uint8Array(24);
  const view = new DataView(p.buffer);
  let at = 0;
  for (const [x, y] of [display.green, display.blue, display.red, display.whitePoint]) {
    view.setUint16(at, u16(x / CHROMATICITY_UNIT));
    view.setUint16(at + 2, u16(y / CHROMATICITY_UNIT));
    at += 4;
  }
  view.setUint32(16, u32(display.maxLuminance / LUMINANCE_UNIT));
  view.setUint32(20, u32(display.minLuminance / LUMINANCE_UNIT));
  return containerBox('mdcv', [p]);
}

export function clli(light: NonNullable<ColourInfo['contentLight']>): Uint8Array {
  const p = new Uint8Array(4);
  const view = new DataView(p.buffer);
  view.setUint16(0, u16(light.maxCll));
  view.setUint16(2, u16(light.maxFall));
  return containerBox('clli', [p]);
}

/** The colour boxes to append after a sample entry's configuration box (none without a description). */
export function colourBoxes(colour: ColourInfo | undefined): Uint8Array[] {
  if (!colour) return [];
  const boxes = [colrNclx(colour)];
  if (colour.masteringDisplay) boxes.push(mdcv(colour.masteringDisplay));
  if (colour.contentLight) boxes.push(clli(colour.contentLight));
  return boxes;
}
