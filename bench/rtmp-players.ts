/**
 * A separate process of N RTMP players (so their CPU is not the server's): each connects,
 * plays `app/key`, and counts bytes. Prints one JSON line with totals when `seconds` elapsed.
 * Usage: tsx bench/rtmp-players.ts PORT APP KEY N SECONDS
 */
import net from 'node:net';
import { ClientHandshake } from '../src/rtmp/handshake.js';
import { ChunkReader, ChunkWriter } from '../src/rtmp/chunk.js';
import { encodeAmf0 } from '../src/flv/amf0.js';
import { MessageType } from '../src/rtmp/messages.js';

const [portText, app, key, nText, secondsText] = process.argv.slice(2);
const port = Number(portText);
const n = Number(nText);
const seconds = Number(secondsText);
let bytes = 0;
let videoMessages = 0;
let connected = 0;
const sockets: net.Socket[] = [];

function player(): void {
  const socket = net.connect(port, '127.0.0.1');
  sockets.push(socket);
  const hs = new ClientHandshake();
  const reader = new ChunkReader({ maxMessageSize: 16 * 1024 * 1024 });
  const writer = new ChunkWriter();
  let done = false;
  const send = (type: number, streamId: number, payload: Uint8Array): void => {
    socket.write(writer.encode({ csid: 3, type, streamId, timestamp: 0, payload }));
  };
  socket.on('connect', () => socket.write(hs.start()));
  socket.on('error', () => undefined);
  socket.on('data', (data: Buffer) => {
    bytes += data.byteLength;
    let rest: Uint8Array = data;
    if (!done) {
      const step = hs.push(data);
      for (const out of step.send) socket.write(out);
      if (!step.done) return;
      done = true;
      connected++;
      rest = step.rest;
      send(MessageType.CommandAMF0, 0, encodeAmf0('connect', 1, { app, tcUrl: `rtmp://127.0.0.1:${port}/${app}` }));
      send(MessageType.CommandAMF0, 0, encodeAmf0('createStream', 2, null));
      send(MessageType.CommandAMF0, 1, encodeAmf0('play', 0, null, key, -1000));
    }
    for (const m of reader.push(rest)) if (m.type === MessageType.Video) videoMessages++;
  });
}

for (let i = 0; i < n; i++) player();
setTimeout(() => {
  process.stdout.write(JSON.stringify({ players: n, connected, bytes, videoMessages }) + '\n');
  for (const s of sockets) s.destroy();
  process.exit(0);
}, seconds * 1000);
