/**
 * A hostile RTMP client built from our own pieces (ClientHandshake, ChunkWriter, ChunkReader):
 * it completes the handshake honestly, then lets a test write whatever bytes it likes and
 * observe whether the server drops the connection. Everything stays on 127.0.0.1.
 */
import net from 'node:net';
import { ClientHandshake } from '../../src/rtmp/handshake.js';
import { ChunkReader, ChunkWriter } from '../../src/rtmp/chunk.js';
import { decodeAmf0 } from '../../src/flv/amf0.js';
import { MessageType } from '../../src/rtmp/messages.js';

export interface RawRtmpClient {
  readonly socket: net.Socket;
  /** Resolves once the socket is closed; `byServer` is false when the test destroyed it. */
  readonly closed: Promise<{ byServer: boolean }>;
  /** Command names and onStatus codes received, in order (e.g. `_result`, `NetStream.Publish.BadName`). */
  readonly received: string[];
  /** Sends one message through the client's ChunkWriter (chunked at its current chunk size). */
  send(type: number, streamId: number, payload: Uint8Array, csid?: number): void;
  /** Writes raw bytes (forged chunk headers). */
  write(bytes: Uint8Array): void;
  destroy(): void;
}

/**
 * Attackers connect from their own loopback addresses (127.0.0.0/8 is all loopback on Linux), so
 * per-address limits see them as the distinct clients they would be, and the live publisher and
 * the test's own checks (from 127.0.0.1) are never throttled together with them.
 */
export function attackerAddress(i: number, spread = 40): string {
  return `127.0.0.${10 + (i % spread)}`;
}

/** Connects and completes the handshake; resolves with the client ready for chunk bytes. */
export function connectRtmp(port: number, localAddress = '127.0.0.1', timeoutMs = 10_000): Promise<RawRtmpClient> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: '127.0.0.1', localAddress });
    const handshake = new ClientHandshake();
    // Only our own replies are parsed here: the server's messages are small.
    const reader = new ChunkReader({ maxMessageSize: 1 << 20 });
    const writer = new ChunkWriter();
    const received: string[] = [];
    let destroyedByUs = false;
    let ready = false;
    const closed = new Promise<{ byServer: boolean }>((done) => socket.once('close', () => done({ byServer: !destroyedByUs })));
    const timer = setTimeout(() => {
      destroyedByUs = true;
      socket.destroy();
      reject(new Error('handshake timed out'));
    }, timeoutMs);
    const client: RawRtmpClient = {
      socket,
      closed,
      received,
      send: (type, streamId, payload, csid = 3) => {
        if (!socket.destroyed) socket.write(writer.encode({ csid, type, streamId, timestamp: 0, payload }));
      },
      write: (bytes) => {
        if (!socket.destroyed) socket.write(bytes);
      },
      destroy: () => {
        destroyedByUs = true;
        socket.destroy();
      },
    };
    // Writes after the server dropped us fail with EPIPE/ECONNRESET: expected here.
    socket.on('error', () => undefined);
    socket.once('close', () => {
      clearTimeout(timer);
      if (!ready) reject(new Error('closed during handshake'));
    });
    socket.on('connect', () => socket.write(handshake.start()));
    socket.on('data', (data: Buffer) => {
      let rest: Uint8Array = data;
      if (!ready) {
        const step = handshake.push(data);
        for (const out of step.send) socket.write(out);
        if (!step.done) return;
        ready = true;
        clearTimeout(timer);
        rest = step.rest;
        resolve(client);
      }
      try {
        for (const m of reader.push(rest)) {
          if (m.type !== MessageType.CommandAMF0) continue;
          const [name, , , info] = decodeAmf0(m.payload);
          if (typeof name === 'string') received.push(name);
          if (name === 'onStatus' && typeof info === 'object' && info !== null && !Array.isArray(info)) {
            received.push(String((info as Record<string, unknown>)['code']));
          }
        }
      } catch {
        received.push('unparseable reply');
      }
    });
  });
}

/**
 * Opens a TCP connection, writes `bytes` (possibly empty) without ending our side, and resolves
 * when the server closes it. Rejects when the connection cannot be made.
 */
export function openAndWrite(port: number, bytes: Uint8Array, localAddress = '127.0.0.1'): Promise<{ socket: net.Socket; closed: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: '127.0.0.1', localAddress });
    const closed = new Promise<void>((done) => socket.once('close', () => done()));
    socket.on('error', () => undefined);
    // Read (and discard) what the server answers: a paused socket never sees the server's FIN.
    socket.resume();
    socket.once('connect', () => {
      if (bytes.byteLength > 0) socket.write(bytes);
      resolve({ socket, closed });
    });
    socket.once('close', () => reject(new Error('closed before connect')));
  });
}

/** Resolves true when `p` settles within `ms`, false otherwise (the timer never outlives it). */
export function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    p.then(
      () => {
        clearTimeout(timer);
        resolve(true);
      },
      () => {
        clearTimeout(timer);
        resolve(true);
      },
    );
  });
}
