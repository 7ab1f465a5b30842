/**
 * NetStream commands (Adobe RTMP spec §7.2.2), parsed and built side by side: `publish`, `play`,
 * `deleteStream`/`closeStream`, FMLE's `releaseStream`/`FCPublish`/`FCUnpublish`, and the
 * `onStatus` answers. Bytes in, values out: AMF0 bodies of command messages.
 */
import { splitQuery } from '../core/publish.js';
import { encodeAmf0, type Amf0Value } from '../flv/amf0.js';

export interface StreamNameCommand {
  readonly txn: number;
  /** The stream name without its `?query`. */
  readonly name: string;
  /** The name's query (`KEY?key=SECRET`, `?token=`): never logged. */
  readonly query: string;
}

/** `publish` (§7.2.2.6) and `play` (§7.2.2.1): [ name, txn, null, streamName, … ]. */
export function parseStreamNameCommand(values: readonly Amf0Value[]): StreamNameCommand {
  const txn = typeof values[1] === 'number' ? values[1] : 0;
  const { name, query } = splitQuery(typeof values[3] === 'string' ? values[3] : '');
  return { txn, name, query };
}

export type StatusLevel = 'status' | 'error' | 'warning';

/** `onStatus` (§7.2.2): [ "onStatus", 0, null, { level, code, description, details } ]. */
export function onStatus(level: StatusLevel, code: string, description: string): Uint8Array {
  return encodeAmf0('onStatus', 0, null, { level, code, description, details: description });
}

/** FMLE's answer to `FCPublish`, which some encoders wait for. */
export function onFcPublish(): Uint8Array {
  return encodeAmf0('onFCPublish', 0, null, { code: 'NetStream.Publish.Start', description: 'FCPublish' });
}

/** `|RtmpSampleAccess` data message sent to players before media (Flash-era players expect it). */
export function sampleAccess(): Uint8Array {
  return encodeAmf0('|RtmpSampleAccess', false, false);
}
