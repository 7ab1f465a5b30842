/**
 * Every failure the gateway reports carries the stage it happened in and enough context
 * (stream, message type, byte offset) to find the cause without a debugger.
 */
export type ErrorStage =
  | 'rtmp.handshake'
  | 'rtmp.chunk'
  | 'rtmp.amf'
  | 'rtmp.session'
  | 'flv'
  | 'codec.avc'
  | 'codec.hevc'
  | 'codec.av1'
  | 'codec.vp9'
  | 'codec.aac'
  | 'codec.opus'
  | 'codec.flac'
  | 'codec.ac3'
  | 'codec.colour'
  | 'mux.fmp4'
  | 'mux.ts'
  | 'metadata'
  | 'segmenter'
  | 'packager'
  | 'http'
  | 'config'
  | 'ladder'
  | 'srt';

export class GatewayError extends Error {
  readonly stage: ErrorStage;
  readonly context: Record<string, unknown>;

  constructor(stage: ErrorStage, message: string, context: Record<string, unknown> = {}) {
    const where = Object.entries(context)
      .map(([k, v]) => `${k}=${String(v)}`)
      .join(' ');
    super(`${stage}: ${message}${where ? ` (${where})` : ''}`);
    this.name = 'GatewayError';
    this.stage = stage;
    this.context = context;
  }
}
