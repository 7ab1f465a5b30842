/**
 * NetConnection commands (Adobe RTMP spec §7.2.1), parsed and built side by side: `connect`,
 * `createStream`, call results and errors. Bytes in, values out: AMF0 bodies of command messages.
 */
import { GatewayError } from '../core/errors.js';
import { splitQuery } from '../core/publish.js';
import { encodeAmf0, type Amf0Object, type Amf0Value } from '../flv/amf0.js';

export interface ConnectCommand {
  readonly txn: number;
  /** The application name without its `?query`, trailing slashes removed. */
  readonly app: string;
  /** The query of the app name (`live?token=…`): tokens, never logged. */
  readonly appQuery: string;
  /** tcUrl without its query. */
  readonly tcUrl: string;
  /** The client speaks Enhanced RTMP (it sent `fourCcList` or a FourCC info map). */
  readonly enhanced: boolean;
}

/** Longest connect app accepted before any parsing of it (hostile clients send megabytes). */
const MAX_APP_LENGTH = 1024;

export function isAmf0Object(v: Amf0Value | undefined): v is Amf0Object {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

/** `connect` (§7.2.1.1): [ "connect", txn, commandObject, optionalUserArguments? ]. */
export function parseConnect(values: readonly Amf0Value[]): ConnectCommand {
  const txn = typeof values[1] === 'number' ? values[1] : 0;
  const obj = isAmf0Object(values[2]) ? values[2] : {};
  const appRaw = typeof obj['app'] === 'string' ? obj['app'] : '';
  if (appRaw.length > MAX_APP_LENGTH) throw new GatewayError('rtmp.session', `connect app of ${appRaw.length} characters`, {});
  const appParts = splitQuery(appRaw);
  // Trailing slashes trimmed by a loop: a regex here was quadratic on hostile input.
  let end = appParts.name.length;
  while (end > 0 && appParts.name.charCodeAt(end - 1) === 0x2f) end--;
  return {
    txn,
    app: appParts.name.slice(0, end),
    appQuery: appParts.query,
    tcUrl: typeof obj['tcUrl'] === 'string' ? splitQuery(obj['tcUrl']).name : '',
    enhanced: Array.isArray(obj['fourCcList']) || isAmf0Object(obj['videoFourCcInfoMap']) || isAmf0Object(obj['audioFourCcInfoMap']),
  };
}

/**
 * Enhanced RTMP v2 "Enhancing NetConnection connect Command": the server answers an enhanced
 * client with what it takes. FourCcInfoMask: CanDecode 0x01, CanEncode 0x02, CanForward 0x04.
 * We forward (package and relay) every codec listed; H.264 is also decoded (the ladder).
 * capsEx: Multitrack 0x02 (further video tracks become renditions, further audio tracks
 * alternative audio renditions: flv/ingest.ts), ModEx 0x04 (ModEx packets are read; their
 * TimestampOffsetNano is not needed at 90 kHz).
 */
const FOURCC_CAN_DECODE = 0x01;
const FOURCC_CAN_FORWARD = 0x04;
const CAPS_EX_MULTITRACK = 0x02;
const CAPS_EX_MODEX = 0x04;
export const ENHANCED_CAPABILITIES: Amf0Object = {
  fourCcList: ['avc1', 'hvc1', 'av01', 'vp09', 'mp4a', 'Opus', 'fLaC', 'ac-3', 'ec-3'],
  videoFourCcInfoMap: { avc1: FOURCC_CAN_DECODE | FOURCC_CAN_FORWARD, hvc1: FOURCC_CAN_FORWARD, av01: FOURCC_CAN_FORWARD, vp09: FOURCC_CAN_FORWARD },
  audioFourCcInfoMap: { mp4a: FOURCC_CAN_DECODE | FOURCC_CAN_FORWARD, Opus: FOURCC_CAN_FORWARD, fLaC: FOURCC_CAN_FORWARD, 'ac-3': FOURCC_CAN_FORWARD, 'ec-3': FOURCC_CAN_FORWARD },
  capsEx: CAPS_EX_MULTITRACK | CAPS_EX_MODEX,
};

/**
 * `_result` of `connect`: the FMS 3.5 properties encoders and players expect, and for an Enhanced
 * RTMP client the codecs we take (older clients are not shown properties they do not know).
 */
export function connectResult(txn: number, enhanced = false): Uint8Array {
  return encodeAmf0(
    '_result',
    txn,
    { fmsVer: 'FMS/3,5,7,7009', capabilities: 31, mode: 1, ...(enhanced ? ENHANCED_CAPABILITIES : {}) },
    { level: 'status', code: 'NetConnection.Connect.Success', description: 'Connection succeeded.', objectEncoding: 0 },
  );
}

/** `_result` of any call: [ "_result", txn, null, value ]. */
export function callResult(txn: number, value?: Amf0Value): Uint8Array {
  return encodeAmf0('_result', txn, null, value);
}

/** `_error` of a call, with a NetConnection status object. */
export function callError(txn: number, code: string, description: string): Uint8Array {
  return encodeAmf0('_error', txn, null, { level: 'error', code, description });
}

/** `onBWDone`, which librtmp-based clients (OBS) wait for after connect. */
export function onBwDone(): Uint8Array {
  return encodeAmf0('onBWDone', 0, null);
}
