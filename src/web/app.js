// streamgate operator page: stream list (/) and player (/watch/APP/KEY[?protocol=ID][&embed=1]).
// Plain ES module, no build step, no framework. Data is only ever put in the DOM as text.

const $ = (id) => document.getElementById(id);
const meta = (name) => document.querySelector(`meta[name="${name}"]`)?.getAttribute('content') ?? '';
const LIBS = { hls: meta('streamgate-lib-hls'), dash: meta('streamgate-lib-dash'), mpegts: meta('streamgate-lib-mpegts') };
const RTMP_PORT = Number(meta('streamgate-rtmp-port')) || 1935;
const REFRESH_MS = 2000;

// ---- small helpers ---------------------------------------------------------------------------

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') node.className = v;
    else if (k === 'text') node.textContent = v;
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) if (c !== undefined && c !== null) node.append(c);
  return node;
}

function kbps(bits) {
  if (!Number.isFinite(bits) || bits <= 0) return '–';
  return bits >= 1e6 ? `${(bits / 1e6).toFixed(1)} Mbit/s` : `${Math.round(bits / 1000)} kbit/s`;
}

function byteSize(n) {
  if (!Number.isFinite(n) || n <= 0) return '0 B';
  if (n < 1024) return `${n} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v >= 100 ? Math.round(v) : v.toFixed(1)} ${units[i]}`;
}

function duration(seconds) {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  return h > 0 ? `${h}h ${String(m).padStart(2, '0')}m` : m > 0 ? `${m}m ${String(r).padStart(2, '0')}s` : `${r}s`;
}

const scripts = new Map();
function loadScript(url) {
  if (!url) return Promise.reject(new Error('player library not installed on the server'));
  if (!scripts.has(url)) {
    scripts.set(url, new Promise((resolve, reject) => {
      const s = el('script', { src: url });
      s.onload = () => resolve();
      s.onerror = () => reject(new Error(`cannot load ${url}`));
      document.head.append(s);
    }));
  }
  return scripts.get(url);
}

/** Server clock offset (ms, server minus browser) from /api/time, half the round trip assumed each way. */
let clockOffsetMs = 0;
async function syncClock() {
  try {
    const t0 = Date.now();
    const res = await fetch('/api/time', { cache: 'no-store' });
    const text = (await res.text()).trim();
    const t1 = Date.now();
    const server = Date.parse(text);
    if (Number.isFinite(server)) {
      clockOffsetMs = server - (t0 + t1) / 2;
      $('clock').textContent = `clock offset ${clockOffsetMs >= 0 ? '+' : ''}${Math.round(clockOffsetMs)} ms`;
    }
  } catch {
    /* keep the last offset */
  }
}
const serverNow = () => Date.now() + clockOffsetMs;

// ---- tokens ----------------------------------------------------------------------------------
// A playback token in the page's URL (/watch/APP/KEY?token=...) goes on every request for that
// stream: its API data, its thumbnail, the players' URLs. An API token (--api-token) is asked for
// when the stream list needs it and kept for this tab only.

const PLAYBACK_TOKEN = new URLSearchParams(location.search).get('token') ?? '';
const API_TOKEN_STORE = 'streamgate-api-token';

function withPlaybackToken(url) {
  if (!PLAYBACK_TOKEN) return url;
  const u = new URL(url, location.origin);
  u.searchParams.set('token', PLAYBACK_TOKEN);
  return u.origin === location.origin && !/^https?:/.test(url) ? `${u.pathname}${u.search}` : u.href;
}

function apiHeaders() {
  const token = sessionStorage.getItem(API_TOKEN_STORE);
  return token ? { Authorization: `Bearer ${token}` } : {};
}

class NeedsToken extends Error {}

async function fetchStreams() {
  const res = await fetch('/api/streams', { cache: 'no-store', headers: apiHeaders() });
  if (res.status === 401) throw new NeedsToken('the stream list needs the API token');
  if (!res.ok) throw new Error(`/api/streams: HTTP ${res.status}`);
  const body = await res.json();
  return Array.isArray(body.streams) ? body.streams : [];
}

/** One stream's data, or undefined when it is not live; throws NeedsToken when it is protected. */
async function fetchStream(app, key) {
  const res = await fetch(withPlaybackToken(`/api/streams/${encodeURIComponent(app)}/${encodeURIComponent(key)}`), { cache: 'no-store', headers: apiHeaders() });
  if (res.status === 404) return undefined;
  if (res.status === 401 || res.status === 403) throw new NeedsToken('this stream needs its playback token in the page URL (?token=...)');
  if (!res.ok) throw new Error(`stream info: HTTP ${res.status}`);
  return res.json();
}

function urlsOf(app, key, stream) {
  const base = `/${encodeURIComponent(app)}/${encodeURIComponent(key)}`;
  const u = stream?.urls ?? { hls: `${base}/index.m3u8`, dash: `${base}/index.mpd`, hlsTs: `${base}/ts.m3u8`, flv: `${base}.flv` };
  const abs = (p) => withPlaybackToken(new URL(p, location.origin).href);
  // A Common Encryption stream's licence: the gateway's ClearKey route (with the token) or a DRM's.
  const license = u.license ? (/^https?:/.test(u.license) && !u.license.startsWith(location.origin) ? u.license : abs(u.license)) : undefined;
  return { hls: abs(u.hls), dash: abs(u.dash), hlsTs: abs(u.hlsTs), flv: abs(u.flv), license };
}

/** A small form in the list's status line for the API token (kept in sessionStorage). */
function askApiToken(message) {
  const input = el('input', { type: 'password', autocomplete: 'off', 'aria-label': 'API token', placeholder: 'API token' });
  const form = el(
    'form',
    {
      class: 'token-form',
      onsubmit: (e) => {
        e.preventDefault();
        if (input.value) sessionStorage.setItem(API_TOKEN_STORE, input.value.trim());
        void refreshList();
      },
    },
    el('span', { text: `${message}: ` }),
    input,
    el('button', { type: 'submit', text: 'Show streams' }),
  );
  $('list-status').replaceChildren(form);
}

function rtmpServer(app) {
  return `rtmp://${location.hostname}${RTMP_PORT === 1935 ? '' : `:${RTMP_PORT}`}/${app}`;
}

function viewersOf(stream) {
  return typeof stream.viewers === 'number' ? stream.viewers : Number(stream.viewers?.total ?? 0);
}

let snippetSeq = 0;
function snippet(label, value, multiline = false) {
  const id = `snippet-${++snippetSeq}`;
  const field = multiline ? el('textarea', { id, readonly: true, rows: 3, spellcheck: 'false' }) : el('input', { id, readonly: true, type: 'text', spellcheck: 'false' });
  field.value = value;
  const button = el('button', {
    type: 'button',
    text: 'Copy',
    'aria-label': `Copy ${label}`,
    onclick: async () => {
      try {
        await navigator.clipboard.writeText(field.value);
      } catch {
        field.select();
        document.execCommand?.('copy');
      }
      button.textContent = 'Copied';
      setTimeout(() => (button.textContent = 'Copy'), 1500);
    },
  });
  return el('div', { class: 'snippet' }, el('label', { for: id, text: label }), el('div', { class: 'row' }, field, button));
}

// ---- list view -------------------------------------------------------------------------------

function streamCard(s) {
  const video = s.renditions.filter((r) => r.kind === 'video');
  const audio = s.renditions.find((r) => r.kind === 'audio');
  const top = video[0];
  const total = s.renditions.reduce((sum, r) => sum + (r.bitrate || 0), 0);
  const warnings = Array.isArray(s.warnings) ? s.warnings : [];
  const href = `/watch/${encodeURIComponent(s.app)}/${encodeURIComponent(s.key)}`;
  const dl = el('dl');
  const row = (k, v) => dl.append(el('dt', { text: k }), el('dd', { text: v }));
  row('Codecs', [top?.codec, audio?.codec].filter(Boolean).join(', ') || '–');
  if (top) row('Video', `${top.width}×${top.height}${top.fps ? ` @ ${Math.round(top.fps * 100) / 100} fps` : ''}`);
  if (audio) row('Audio', `${audio.sampleRate / 1000} kHz, ${audio.channels} ch`);
  row('Bitrate', kbps(total));
  row('Renditions', video.length ? video.map((r) => `${r.height}p`).join(' · ') : audio ? 'audio only' : '–');
  row('Viewers', String(viewersOf(s)));
  row('Uptime', duration(s.uptimeSeconds));
  return el(
    'li',
    { class: 'card', 'data-stream': `${s.app}/${s.key}` },
    el('h2', {}, `${s.app}/${s.key}`, el('span', { class: s.live ? 'badge live' : 'badge', text: s.live ? 'LIVE' : 'ended' }), warnings.length ? el('span', { class: 'badge warn', text: `${warnings.length} warning${warnings.length > 1 ? 's' : ''}` }) : null),
    top && s.urls?.thumbnail ? thumbnail(s) : null,
    dl,
    el('a', { class: 'button watch-link', href, text: 'Watch', 'aria-label': `Watch ${s.app}/${s.key}` }),
  );
}

/** The stream's latest keyframe; a placeholder instead of a broken image when there is none. */
function thumbnail(s) {
  const placeholder = () => el('div', { class: 'thumb thumb-none', role: 'img', 'aria-label': `No picture of ${s.app}/${s.key}`, text: s.live ? 'No picture yet' : 'Stream ended' });
  const img = el('img', {
    class: 'thumb',
    // An ended stream's picture no longer changes: no cache-busting for it.
    src: withPlaybackToken(s.live ? `${s.urls.thumbnail}?t=${Math.floor(Date.now() / 10000)}` : s.urls.thumbnail),
    alt: `Latest keyframe of ${s.app}/${s.key}`,
    width: '320',
    loading: 'lazy',
    onerror: () => img.replaceWith(placeholder()),
  });
  return img;
}

async function refreshList() {
  try {
    const streams = await fetchStreams();
    const list = $('stream-list');
    list.replaceChildren(...streams.map(streamCard));
    $('list-status').textContent = streams.length ? `${streams.length} stream${streams.length > 1 ? 's' : ''}` : 'No live streams. Publish one with the settings below.';
  } catch (err) {
    if (err instanceof NeedsToken) {
      $('stream-list').replaceChildren();
      // A stored token that was refused is dropped and said so; a form being typed in is kept.
      const refused = sessionStorage.getItem(API_TOKEN_STORE) !== null;
      sessionStorage.removeItem(API_TOKEN_STORE);
      if (refused || !$('list-status').querySelector('form')) askApiToken(refused ? 'That API token was refused' : 'The stream list needs the API token');
      return;
    }
    $('list-status').textContent = `Cannot load streams: ${err.message}`;
  }
}

function showList() {
  $('list-view').hidden = false;
  const box = $('publish-snippets');
  box.replaceChildren(
    snippet('OBS: Settings > Stream > Server', rtmpServer('live')),
    snippet('OBS: Stream Key', 'YOUR-STREAM-KEY'),
    snippet('ffmpeg', `ffmpeg -re -i input.mp4 -c:v libx264 -g 60 -bf 0 -c:a aac -f flv ${rtmpServer('live')}/YOUR-STREAM-KEY`),
  );
  void refreshList();
  setInterval(refreshList, REFRESH_MS);
}

// ---- players ---------------------------------------------------------------------------------
// Each adapter: { qualities(): [{value,label}], setQuality(v), latency(): seconds|null, destroy() }.

const PROTOCOLS = [
  { id: 'llhls', label: 'LL-HLS', url: (u) => u.hls, make: (video, url, ui, urls) => hlsPlayer(video, url, true, ui, urls.license), method: 'EXT-X-PROGRAM-DATE-TIME of the playing position (hls.js playingDate) vs the server clock' },
  { id: 'hls', label: 'HLS', url: (u) => u.hls, make: (video, url, ui, urls) => hlsPlayer(video, url, false, ui, urls.license), method: 'EXT-X-PROGRAM-DATE-TIME of the playing position (hls.js playingDate) vs the server clock' },
  { id: 'hlsts', label: 'HLS-TS', url: (u) => u.hlsTs, make: (video, url, ui) => hlsPlayer(video, url, false, ui), method: 'EXT-X-PROGRAM-DATE-TIME of the playing position (hls.js playingDate) vs the server clock' },
  { id: 'dash', label: 'DASH', url: (u) => u.dash, make: (video, url, ui) => dashPlayer(video, url, ui), method: 'dash.js getCurrentLiveLatency() (availabilityStartTime + playing position vs the UTCTiming-synced clock)' },
  { id: 'flv', label: 'HTTP-FLV', url: (u) => u.flv, make: (video, url, ui) => flvPlayer(video, url, ui), method: 'buffered end minus currentTime: the player buffer only (FLV carries no wall clock), a lower bound' },
];

async function hlsPlayer(video, url, lowLatency, ui, license) {
  await loadScript(LIBS.hls);
  const Hls = window.Hls;
  if (!Hls.isSupported()) {
    if (video.canPlayType('application/vnd.apple.mpegurl')) {
      // Safari: native HLS; getStartDate() is the PROGRAM-DATE-TIME of currentTime 0.
      video.src = url;
      return {
        qualities: () => [],
        setQuality: () => undefined,
        latency: () => {
          const start = video.getStartDate?.()?.getTime();
          return Number.isFinite(start) && video.currentTime > 0 ? (serverNow() - (start + video.currentTime * 1000)) / 1000 : null;
        },
        destroy: () => video.removeAttribute('src'),
      };
    }
    throw new Error('this browser has no Media Source Extensions');
  }
  // Start at the live edge and stay there: a player that fell behind (a slow start, a stall)
  // plays up to 1.5x until it is back at the target latency (PART-HOLD-BACK / HOLD-BACK).
  // SAMPLE-AES (Common Encryption): hls.js opens it with EME ClearKey, the licence from the API.
  const drm = license ? { emeEnabled: true, drmSystems: { 'org.w3.clearkey': { licenseUrl: license } } } : {};
  const hls = new Hls({ lowLatencyMode: lowLatency, backBufferLength: 30, maxLiveSyncPlaybackRate: 1.5, ...drm });
  hls.on(Hls.Events.MANIFEST_PARSED, () => ui.qualitiesChanged());
  hls.on(Hls.Events.LEVEL_SWITCHED, (_e, d) => ui.status(`playing level ${d.level}`));
  let recoveries = 0;
  hls.on(Hls.Events.ERROR, (_e, d) => {
    if (!d.fatal) return;
    ui.status(`error: ${d.type}/${d.details}`);
    if (recoveries++ > 5) return;
    if (d.type === Hls.ErrorTypes.NETWORK_ERROR) hls.startLoad();
    else if (d.type === Hls.ErrorTypes.MEDIA_ERROR) hls.recoverMediaError();
  });
  hls.loadSource(url);
  hls.attachMedia(video);
  return {
    qualities: () => hls.levels.map((l, i) => ({ value: i, label: `${l.height ? `${l.height}p` : `level ${i}`} · ${kbps(l.bitrate)}` })),
    setQuality: (v) => (hls.currentLevel = v),
    latency: () => {
      const date = hls.playingDate;
      return date ? (serverNow() - date.getTime()) / 1000 : null;
    },
    destroy: () => hls.destroy(),
  };
}

async function dashPlayer(video, url, ui) {
  await loadScript(LIBS.dash);
  const dashjs = window.dashjs;
  const player = dashjs.MediaPlayer().create();
  // dash.js 5 plays low-latency from the MPD alone (chunked segments, ServiceDescription target
  // latency); catch up to that target by playback rate after a slow start or a stall.
  player.updateSettings({
    streaming: {
      liveCatchup: { enabled: true, maxDrift: 2, playbackRate: { min: -0.3, max: 0.5 } },
      abr: { autoSwitchBitrate: { video: true } },
    },
  });
  player.on(dashjs.MediaPlayer.events.STREAM_INITIALIZED, () => ui.qualitiesChanged());
  player.on(dashjs.MediaPlayer.events.ERROR, (e) => ui.status(`error: ${e.error?.code ?? ''} ${e.error?.message ?? ''}`));
  player.initialize(video, url, true);
  return {
    qualities: () => {
      try {
        return player.getRepresentationsByType('video').map((r, i) => ({ value: i, label: `${r.height ? `${r.height}p` : r.id} · ${kbps(r.bandwidth)}` }));
      } catch {
        return [];
      }
    },
    setQuality: (v) => {
      const auto = v < 0;
      player.updateSettings({ streaming: { abr: { autoSwitchBitrate: { video: auto } } } });
      if (!auto) player.setRepresentationForTypeByIndex('video', v, true);
    },
    latency: () => {
      const l = player.getCurrentLiveLatency();
      return Number.isFinite(l) && l > 0 ? l : null;
    },
    destroy: () => (player.destroy ? player.destroy() : player.reset()),
    // dash.js starts playback itself (initialize(…, autoplay = true)). A video.play() from the
    // page before dash.js listens to the element spends the element's only 'play' event: dash.js
    // then never sees playback start and never refreshes the MPD (its ManifestUpdater waits for
    // PLAYBACK_STARTED), so the player stalls at the end of the first MPD's segments.
    playsItself: true,
  };
}

async function flvPlayer(video, url, ui) {
  await loadScript(LIBS.mpegts);
  const mpegts = window.mpegts;
  if (!mpegts.getFeatureList().mseLivePlayback) throw new Error('this browser cannot play live FLV (no MSE)');
  const player = mpegts.createPlayer(
    { type: 'flv', isLive: true, url },
    { enableWorker: false, lazyLoad: false, liveBufferLatencyChasing: true, liveBufferLatencyMaxLatency: 1.5, liveBufferLatencyMinRemain: 0.3 },
  );
  player.on(mpegts.Events.ERROR, (type, detail) => ui.status(`error: ${type} ${detail}`));
  player.attachMediaElement(video);
  player.load();
  void Promise.resolve(player.play()).catch(() => undefined);
  return {
    qualities: () => [],
    setQuality: () => undefined,
    latency: () => {
      const b = video.buffered;
      if (!b.length || video.currentTime <= 0) return null;
      return Math.max(0, b.end(b.length - 1) - video.currentTime);
    },
    destroy: () => {
      player.pause();
      player.unload();
      player.detachMediaElement();
      player.destroy();
    },
  };
}

// ---- watch view ------------------------------------------------------------------------------

function parseWatchPath() {
  const m = /^\/watch\/([^/]+)\/([^/]+)\/?$/.exec(location.pathname);
  if (m) return { app: decodeURIComponent(m[1]), key: decodeURIComponent(m[2]) };
  const q = new URLSearchParams(location.search).get('stream');
  const parts = q?.split('/');
  if (parts?.length === 2 && parts[0] && parts[1]) return { app: parts[0], key: parts[1] };
  return undefined;
}

function showWatch({ app, key }) {
  const params = new URLSearchParams(location.search);
  if (params.get('embed') === '1') document.body.classList.add('embed');
  $('list-view').hidden = true;
  $('watch-view').hidden = false;
  $('watch-title').textContent = `${app}/${key}`;
  document.title = `${app}/${key} · streamgate`;

  let urls = urlsOf(app, key);
  let active; // { protocol, adapter, video, token }
  // Last read-out per protocol, kept across reloads of this tab so protocols can be compared.
  const storageKey = `streamgate-latency:${app}/${key}`;
  const lastLatency = new Map(Object.entries(JSON.parse(sessionStorage.getItem(storageKey) ?? '{}'))); // protocol id -> { seconds, at }
  const tabs = $('tabs');
  const quality = $('quality');

  const latencyRows = new Map();
  for (const p of PROTOCOLS) {
    const value = el('td', { text: '–', 'data-seconds': '' });
    const at = el('td', { class: 'muted', text: '' });
    const tr = el('tr', { 'data-protocol': p.id }, el('th', { scope: 'row', text: p.label }), value, at);
    latencyRows.set(p.id, { tr, value, at });
    const previous = lastLatency.get(p.id);
    if (previous && Number.isFinite(previous.seconds)) {
      value.textContent = `${previous.seconds.toFixed(2)} s`;
      at.textContent = new Date(previous.at).toLocaleTimeString();
    }
    $('latency-rows').append(tr);
  }

  const buttons = PROTOCOLS.map((p, i) =>
    el('button', {
      type: 'button',
      role: 'tab',
      id: `tab-${p.id}`,
      'data-protocol': p.id,
      'aria-controls': 'panel',
      'aria-selected': 'false',
      tabindex: '-1',
      text: p.label,
      onclick: () => select(i),
      onkeydown: (e) => {
        // WAI-ARIA tabs pattern: arrows move between tabs (activation follows focus), Home/End jump.
        const n = PROTOCOLS.length;
        const to = e.key === 'ArrowRight' ? (i + 1) % n : e.key === 'ArrowLeft' ? (i - 1 + n) % n : e.key === 'Home' ? 0 : e.key === 'End' ? n - 1 : -1;
        if (to < 0) return;
        e.preventDefault();
        select(to);
        buttons[to].focus();
      },
    }),
  );
  tabs.replaceChildren(...buttons);

  const ui = (token) => ({
    status: (text) => {
      if (active?.token === token) $('player-status').textContent = text;
    },
    qualitiesChanged: () => {
      if (active?.token !== token) return;
      const options = [el('option', { value: '-1', text: 'Auto' })];
      for (const q of active.adapter?.qualities() ?? []) options.push(el('option', { value: String(q.value), text: q.label }));
      quality.replaceChildren(...options);
      quality.disabled = options.length <= 2;
    },
  });
  quality.addEventListener('change', () => active?.adapter?.setQuality(Number(quality.value)));

  let tokenSeq = 0;
  async function select(index) {
    const p = PROTOCOLS[index];
    buttons.forEach((b, i) => {
      b.setAttribute('aria-selected', String(i === index));
      b.tabIndex = i === index ? 0 : -1;
    });
    $('panel').setAttribute('aria-labelledby', `tab-${p.id}`);
    for (const [id, row] of latencyRows) row.tr.classList.toggle('current', id === p.id);
    if (active) {
      try {
        active.adapter?.destroy();
      } catch {
        /* a player that failed half-way */
      }
    }
    const video = el('video', { controls: true, muted: true, playsinline: true, autoplay: true, 'aria-label': `${p.label} player` });
    video.muted = true;
    $('video-box').replaceChildren(video);
    const token = ++tokenSeq;
    active = { protocol: p, adapter: undefined, video, token };
    $('latency').textContent = '–';
    $('latency').dataset.seconds = '';
    $('latency-method').textContent = `Latency method: ${p.method}.`;
    $('player-status').textContent = 'loading…';
    quality.replaceChildren(el('option', { value: '-1', text: 'Auto' }));
    quality.disabled = true;
    const params = new URLSearchParams(location.search);
    params.set('protocol', p.id);
    history.replaceState(null, '', `${location.pathname}?${params}`);
    try {
      const adapter = await p.make(video, p.url(urls), ui(token), urls);
      if (active.token !== token) {
        adapter.destroy();
        return;
      }
      active.adapter = adapter;
      ui(token).qualitiesChanged();
      if (!adapter.playsItself) void video.play().catch(() => undefined);
      video.addEventListener('playing', () => ui(token).status('playing'), { once: true });
    } catch (err) {
      ui(token).status(`cannot play: ${err.message}`);
    }
  }

  setInterval(() => {
    const a = active;
    if (!a?.adapter) return;
    let seconds = null;
    try {
      seconds = a.adapter.latency();
    } catch {
      seconds = null;
    }
    if (seconds === null || !Number.isFinite(seconds)) return;
    const text = `${seconds.toFixed(2)} s`;
    $('latency').textContent = text;
    $('latency').dataset.seconds = seconds.toFixed(3);
    lastLatency.set(a.protocol.id, { seconds, at: Date.now() });
    try {
      sessionStorage.setItem(storageKey, JSON.stringify(Object.fromEntries(lastLatency)));
    } catch {
      /* storage disabled: the table still works for this page view */
    }
    const row = latencyRows.get(a.protocol.id);
    row.value.textContent = text;
    row.value.dataset.seconds = seconds.toFixed(3);
    row.at.textContent = new Date().toLocaleTimeString();
  }, 500);

  const renderInfo = (s) => {
    const info = $('stream-info');
    if (!s) {
      info.replaceChildren(el('dt', { text: 'State' }), el('dd', { text: 'not live' }));
      return;
    }
    const rows = [['State', s.live ? 'live' : 'ended'], ['Uptime', duration(s.uptimeSeconds)], ['Viewers', String(viewersOf(s))]];
    const byProtocol = s.viewersByProtocol ?? s.viewers?.byProtocol;
    if (byProtocol) rows.push(['By protocol', Object.entries(byProtocol).filter(([, n]) => n > 0).map(([k, n]) => `${k} ${n}`).join(', ') || '–']);
    for (const r of s.renditions) {
      rows.push([r.kind === 'video' ? `Video ${r.id}` : 'Audio', r.kind === 'video' ? `${r.codec}, ${r.width}×${r.height}${r.fps ? ` @ ${Math.round(r.fps * 100) / 100}` : ''}, ${kbps(r.bitrate)}` : `${r.codec}, ${r.sampleRate / 1000} kHz ${r.channels} ch, ${kbps(r.bitrate)}`]);
    }
    info.replaceChildren(...rows.flatMap(([k, v]) => [el('dt', { text: k }), el('dd', { text: v })]));
    const warnings = Array.isArray(s.warnings) ? s.warnings : [];
    $('warnings').replaceChildren(
      ...(warnings.length
        ? warnings.map((w) => el('li', {}, el('strong', { text: w.code }), ` ${w.message}`, el('span', { class: 'obs', text: `OBS: ${w.obs}` })))
        : [el('li', { class: 'muted', text: 'None' })]),
    );
  };

  // Push targets (restreaming): listed with their state, added and removed through the API
  // (from loopback, or with the API token this tab was given).
  const pushApi = `/api/streams/${encodeURIComponent(app)}/${encodeURIComponent(key)}/push`;
  const pushCall = async (method, url, body) => {
    const res = await fetch(url, { method, headers: { ...apiHeaders(), ...(body ? { 'Content-Type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined });
    if (res.ok) return res.status === 204 ? undefined : res.json();
    const reason = await res.json().then((b) => b.error, () => res.statusText);
    throw new Error(res.status === 401 || res.status === 403 ? `not allowed (${reason})` : reason);
  };
  const renderPush = (targets) => {
    const list = Array.isArray(targets) ? targets : [];
    $('push-list').replaceChildren(
      ...(list.length
        ? list.map((t) =>
            el(
              'li',
              { 'data-push': t.id },
              el('span', { class: `push-state push-${t.state}`, text: t.state }),
              ` ${t.url}${t.rendition && t.rendition !== 'src' ? ` (${t.rendition})` : ''} · ${kbps(t.bitrate)} · `,
              el('span', { class: 'push-bytes', 'data-bytes': String(t.bytes ?? 0), text: `sent ${byteSize(t.bytes)}` }),
              ' · ',
              // Messages (frames) skipped while the target could not keep up: it lagged.
              el('span', { class: t.dropped > 0 ? 'push-dropped push-lagging' : 'push-dropped', 'data-dropped': String(t.dropped ?? 0), text: `${t.dropped ?? 0} dropped` }),
              `${t.lastError ? ` · ${t.lastError}` : ''} `,
              t.source === 'api'
                ? el('button', {
                    type: 'button',
                    text: 'Remove',
                    'aria-label': `Remove push target ${t.url}`,
                    onclick: async () => {
                      try {
                        await pushCall('DELETE', `${pushApi}/${encodeURIComponent(t.id)}`);
                        void refresh();
                      } catch (err) {
                        $('push-status').textContent = `Cannot remove: ${err.message}`;
                      }
                    },
                  })
                : el('span', { class: 'muted', text: '(config)' }),
            ),
          )
        : [el('li', { class: 'muted', text: 'No push targets' })]),
    );
  };
  // The rendition a new target sends: the source or one of the stream's video renditions (ladder
  // rungs, further tracks of a multitrack publish), as /api/streams lists them. The choice is
  // kept across refreshes while it still exists.
  const renderPushRenditions = (s) => {
    const select = $('push-rendition');
    const chosen = select.value || 'src';
    const names = ['src', ...(s?.renditions ?? []).filter((r) => r.kind === 'video' && r.id !== 'src').map((r) => r.id)];
    if (names.join('\n') === [...select.options].map((o) => o.value).join('\n')) return;
    select.replaceChildren(...names.map((name) => el('option', { value: name, text: name === 'src' ? 'source (as published)' : name, selected: name === chosen })));
  };
  $('push-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const input = $('push-url');
    try {
      await pushCall('POST', pushApi, { url: input.value.trim(), rendition: $('push-rendition').value || 'src' });
      input.value = '';
      $('push-status').textContent = 'Added.';
      void refresh();
    } catch (err) {
      $('push-status').textContent = `Cannot add: ${err.message}`;
    }
  });

  const renderSnippets = () => {
    const embedUrl = `${location.origin}/watch/${encodeURIComponent(app)}/${encodeURIComponent(key)}?embed=1`;
    $('watch-snippets').replaceChildren(
      snippet('OBS: Server', rtmpServer(app)),
      snippet('OBS: Stream Key', key),
      snippet('HLS (LL-HLS capable)', urls.hls),
      snippet('DASH', urls.dash),
      snippet('HLS with MPEG-TS', urls.hlsTs),
      snippet('HTTP-FLV', urls.flv),
      snippet('Embed', `<iframe src="${embedUrl}" width="960" height="600" allow="autoplay; fullscreen" allowfullscreen style="border:0;max-width:100%"></iframe>`, true),
    );
  };

  const refresh = async () => {
    try {
      const s = await fetchStream(app, key);
      if (s) urls = urlsOf(app, key, s);
      $('watch-status').textContent = s ? (s.live ? '' : 'The stream has ended.') : 'This stream is not live.';
      renderInfo(s);
      renderPush(s?.push);
      renderPushRenditions(s);
    } catch (err) {
      $('watch-status').textContent = `Cannot load stream info: ${err.message}`;
    }
  };

  renderSnippets();
  const first = refresh();
  setInterval(refresh, REFRESH_MS);
  const wanted = PROTOCOLS.findIndex((p) => p.id === params.get('protocol'));
  // After the stream's info: an encrypted stream's players need its licence URL from it.
  void first.then(() => select(wanted >= 0 ? wanted : 0));
}

// ---- start -----------------------------------------------------------------------------------

void syncClock();
setInterval(syncClock, 60_000);
const target = parseWatchPath();
if (target) showWatch(target);
else showList();
