/**
 * HLS AES-128 encryption (RFC 8216bis §4.4.4.4, §5.2): per app or app/key in the config, each
 * stream's segments and parts are encrypted whole with AES-128-CBC and PKCS7 padding, the key
 * changing every `rotate` segments. Keys are derived, never stored: HMAC-SHA-256 of the stream,
 * its session and the key's index under the gateway's encryption secret (random per process
 * unless configured, so keys also change with a restart). The playlists name each segment's key
 * URI and IV (the segment's media sequence number, §5.2), the key route serves the 16 bytes
 * behind the same playback token as the media, and nothing here is ever logged.
 *
 * Init segments stay clear (EXT-X-KEY METHOD=NONE before each EXT-X-MAP): they hold codec
 * configuration, not media.
 */
import { createCipheriv, createHmac, randomBytes } from 'node:crypto';

export interface EncryptionRule {
  readonly method: 'aes-128';
  /** Segments per key; 0: one key per publish session. */
  readonly rotate: number;
}

/** `key-SESSION-INDEX.key`, beside the stream's playlists. */
const KEY_FILE = /^key-([0-9a-z]{1,16})-(\d{1,12})\.key$/;

export function keyFileName(session: string, index: number): string {
  return `key-${session}-${index}.key`;
}

export function parseKeyFileName(file: string): { session: string; index: number } | undefined {
  const m = KEY_FILE.exec(file);
  return m ? { session: m[1]!, index: Number(m[2]) } : undefined;
}

/** §5.2: without an IV attribute the IV is the media sequence number, big-endian in 16 bytes; we state it. */
export function ivOf(sequence: number): Buffer {
  const iv = Buffer.alloc(16);
  iv.writeUInt32BE(Math.floor(sequence / 2 ** 32), 8);
  iv.writeUInt32BE(sequence % 2 ** 32, 12);
  return iv;
}

/** AES-128-CBC with PKCS7 padding of `chunks` as one resource (§4.4.4.4: the whole segment or part). */
export function encryptResource(chunks: readonly Uint8Array[], key: Uint8Array, iv: Uint8Array): Buffer {
  const cipher = createCipheriv('aes-128-cbc', key, iv);
  const out: Buffer[] = [];
  for (const c of chunks) out.push(cipher.update(c));
  out.push(cipher.final());
  return Buffer.concat(out);
}

export class MediaKeys {
  private readonly rules: ReadonlyMap<string, EncryptionRule>;
  private readonly secret: Buffer;

  /** `rules` by "APP/KEY" or "APP" (every stream of the app); `secret` ≥ 16 bytes, random when absent. */
  constructor(rules: Readonly<Record<string, EncryptionRule>>, secret?: string) {
    this.rules = new Map(Object.entries(rules));
    this.secret = secret !== undefined ? Buffer.from(secret, 'utf8') : randomBytes(32);
  }

  get enabled(): boolean {
    return this.rules.size > 0;
  }

  /** The rule of a stream: its own, else its app's, else none (clear). */
  ruleFor(app: string, key: string): EncryptionRule | undefined {
    return this.rules.get(`${app}/${key}`) ?? this.rules.get(app);
  }

  keyIndex(rule: EncryptionRule, sequence: number): number {
    return rule.rotate > 0 ? Math.floor(sequence / rule.rotate) : 0;
  }

  /** The 16-byte key `index` of a stream's session. */
  key(app: string, key: string, session: string, index: number): Buffer {
    return createHmac('sha256', this.secret).update(`aes-128\0${app}/${key}\0${session}\0${index}`).digest().subarray(0, 16);
  }

  /** EXT-X-KEY of segment `sequence`: its key's URI (absolute path) and IV. */
  keyTagOf(app: string, key: string, session: string, rule: EncryptionRule, sequence: number): { uri: string; iv: string } {
    return { uri: `/${app}/${key}/${keyFileName(session, this.keyIndex(rule, sequence))}`, iv: `0x${ivOf(sequence).toString('hex')}` };
  }

  /** The bytes of segment or part of segment `sequence`, encrypted as its playlist says. */
  encrypt(app: string, key: string, session: string, rule: EncryptionRule, sequence: number, chunks: readonly Uint8Array[]): Buffer {
    return encryptResource(chunks, this.key(app, key, session, this.keyIndex(rule, sequence)), ivOf(sequence));
  }
}
