/**
 * Media encryption, per app or app/key in the config, two methods:
 *
 * `cbcs`: Common Encryption of the CMAF store (ISO/IEC 23001-7 'cbcs', mux/fmp4/cenc.ts), one
 * set of encrypted segments for HLS (`METHOD=SAMPLE-AES`) and DASH (`ContentProtection`). One
 * content key per stream output (a reconnect keeps it): derived like the AES-128 keys, or asked
 * of a key server when the publish starts (`keyServer`, the hook for a real DRM: it may add its
 * own `pssh` boxes, and `licenseUrl` sends players to its licence service instead of the
 * gateway's ClearKey licence route).
 *
 * `aes-128`: HLS AES-128 encryption (RFC 8216bis §4.4.4.4, §5.2): each
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
import type { CencProtection } from '../mux/fmp4/cenc.js';

export interface Aes128Rule {
  readonly method: 'aes-128';
  /** Segments per key; 0: one key per publish session. */
  readonly rotate: number;
}

export interface CbcsRule {
  readonly method: 'cbcs';
  /**
   * A key server asked for each publish's content key: POST {"app","key"} -> {"kid","key"[, "iv"]
   * (32 hex digits each)[, "pssh": [base64 pssh boxes]]}. Absent: keys are derived here.
   */
  readonly keyServer?: string;
  /** The licence service players are sent to (a DRM's); absent: the gateway's ClearKey route. */
  readonly licenseUrl?: string;
}

export type EncryptionRule = Aes128Rule | CbcsRule;

/** What a key server answers (hex strings, base64 pssh boxes). */
interface KeyServerAnswer {
  readonly kid?: unknown;
  readonly key?: unknown;
  readonly iv?: unknown;
  readonly pssh?: unknown;
}

const HEX16 = /^[0-9a-fA-F]{32}$/;
/** How long a publish waits for the key server. */
const KEY_SERVER_TIMEOUT_MS = 5000;
/** A key, a KID, an IV and a few pssh boxes: anything larger is not an answer. */
const MAX_KEY_ANSWER_CHARS = 64 * 1024;
/** Content keys kept from the key server (the newest publishes'; an app rule may cover many keys). */
const MAX_PROVIDED_KEYS = 1024;

/**
 * The ClearKey licence route of a Common Encryption stream, beside its playlists:
 * `POST /APP/KEY/clearkey.json` with the CDM's request (W3C EME §9.1.3).
 */
export const CLEARKEY_LICENSE_FILE = 'clearkey.json';

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

  /** The AES-128 rule of a stream (HLS whole-resource encryption), if that is its method. */
  aes128For(app: string, key: string): Aes128Rule | undefined {
    const rule = this.ruleFor(app, key);
    return rule?.method === 'aes-128' ? rule : undefined;
  }

  /** The Common Encryption rule of a stream, if that is its method. */
  cbcsFor(app: string, key: string): CbcsRule | undefined {
    const rule = this.ruleFor(app, key);
    return rule?.method === 'cbcs' ? rule : undefined;
  }

  /** Whether a publish must wait for `prepare` (some rule asks a key server). */
  get needsKeyServer(): boolean {
    for (const rule of this.rules.values()) if (rule.method === 'cbcs' && rule.keyServer) return true;
    return false;
  }

  /** Content keys the key server gave, by "APP/KEY" (the newest publish's). */
  private readonly provided = new Map<string, CencProtection>();

  /**
   * Before a publish of a stream whose rule names a key server: asks it for the content key.
   * Throws when it cannot be had, so a protected stream never goes out clear or unplayable.
   */
  async prepare(app: string, key: string): Promise<void> {
    const rule = this.cbcsFor(app, key);
    if (!rule?.keyServer) return;
    const res = await fetch(rule.keyServer, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ app, key }),
      signal: AbortSignal.timeout(KEY_SERVER_TIMEOUT_MS),
    });
    if (!res.ok) throw new Error(`key server answered ${res.status}`);
    const text = await res.text();
    if (text.length > MAX_KEY_ANSWER_CHARS) throw new Error('key server answer too large');
    const answer = JSON.parse(text) as KeyServerAnswer;
    const hex = (v: unknown, what: string): Buffer => {
      if (typeof v !== 'string' || !HEX16.test(v)) throw new Error(`key server answer: ${what} must be 32 hex digits`);
      return Buffer.from(v, 'hex');
    };
    const psshBoxes = Array.isArray(answer.pssh) ? answer.pssh.map((b) => {
      if (typeof b !== 'string') throw new Error('key server answer: pssh must be base64 strings');
      const box = Buffer.from(b, 'base64');
      if (box.length < 32 || box.readUInt32BE(0) !== box.length || box.toString('latin1', 4, 8) !== 'pssh') throw new Error('key server answer: not a pssh box');
      return Uint8Array.from(box);
    }) : [];
    this.provided.delete(`${app}/${key}`);
    if (this.provided.size >= MAX_PROVIDED_KEYS) this.provided.delete(this.provided.keys().next().value!);
    this.provided.set(`${app}/${key}`, {
      kid: hex(answer.kid, 'kid'),
      key: hex(answer.key, 'key'),
      iv: answer.iv === undefined ? this.derive('cbcs-iv', app, key, '', 0) : hex(answer.iv, 'iv'),
      psshBoxes,
      licenseUrl: rule.licenseUrl,
    });
  }

  /** The content key of a stream output whose rule is `cbcs` (undefined otherwise). */
  contentKey(app: string, key: string, session: string): CencProtection | undefined {
    const rule = this.cbcsFor(app, key);
    if (!rule) return undefined;
    if (rule.keyServer) {
      const provided = this.provided.get(`${app}/${key}`);
      if (!provided) throw new Error('no content key from the key server for this publish');
      return provided;
    }
    return {
      kid: this.derive('cbcs-kid', app, key, session, 0),
      key: this.derive('cbcs-key', app, key, session, 0),
      iv: this.derive('cbcs-iv', app, key, session, 0),
      licenseUrl: rule.licenseUrl,
    };
  }

  private derive(purpose: string, app: string, key: string, session: string, index: number): Buffer {
    return createHmac('sha256', this.secret).update(`${purpose}\0${app}/${key}\0${session}\0${index}`).digest().subarray(0, 16);
  }

  keyIndex(rule: Aes128Rule, sequence: number): number {
    return rule.rotate > 0 ? Math.floor(sequence / rule.rotate) : 0;
  }

  /** The 16-byte key `index` of a stream's session. */
  key(app: string, key: string, session: string, index: number): Buffer {
    return this.derive('aes-128', app, key, session, index);
  }

  /** EXT-X-KEY of segment `sequence`: its key's URI (absolute path) and IV. */
  keyTagOf(app: string, key: string, session: string, rule: Aes128Rule, sequence: number): { uri: string; iv: string } {
    return { uri: `/${app}/${key}/${keyFileName(session, this.keyIndex(rule, sequence))}`, iv: `0x${ivOf(sequence).toString('hex')}` };
  }

  /** The bytes of segment or part of segment `sequence`, encrypted as its playlist says. */
  encrypt(app: string, key: string, session: string, rule: Aes128Rule, sequence: number, chunks: readonly Uint8Array[]): Buffer {
    return encryptResource(chunks, this.key(app, key, session, this.keyIndex(rule, sequence)), ivOf(sequence));
  }
}
