/*
 * srt-relay: a tiny SRT listener for streamgate, built on libsrt (https://github.com/Haivision/srt).
 *
 * One UDP port, many SRT callers (publishers), each selected by its SRT stream id. The gateway
 * spawns this program and talks to it over pipes:
 *
 *   stdout  binary frames, header of 9 bytes then the payload:
 *             type u8 | connection id u32 BE | payload length u32 BE | payload
 *           0 READY  conn 0, payload = the bound UDP port as decimal text (once, after srt_listen)
 *           1 OPEN   payload = {"streamid":"...","peer":"IP:PORT"} (JSON)
 *           2 DATA   payload = one SRT message as received (usually 1316 bytes = 7 TS packets)
 *           3 CLOSE  payload = a short reason ("peer closed", "closed by gateway", libsrt's error)
 *   stdin   one command per line: "close ID". EOF = the gateway is gone: close all and exit 0.
 *   stderr  diagnostics, one line each, "srt-relay: ..." ("srt-relay: warning: ..." /
 *           "srt-relay: error: ..." for problems). The passphrase is never printed.
 *
 * Usage: srt-relay --port P [--host H] [--latency MS] [--pbkeylen 16|24|32] [--max-conns N]
 * The passphrase comes from the environment (SRT_PASSPHRASE), never argv, where `ps` would show it.
 *
 * Caller (push) mode: srt-relay --connect HOST --port P [--latency MS] [--pbkeylen N]
 *   connects to an SRT listener as a caller (stream id from SRT_STREAMID and passphrase from
 *   SRT_PASSPHRASE, both in the environment: they carry stream keys), writes "CONNECTED\n" on
 *   stdout once the handshake is done, then sends stdin (MPEG-TS) as live-mode messages of 1316
 *   bytes (7 TS packets, docs/features/live-streaming.md). EOF on stdin: close and exit 0. A
 *   refused or broken connection: one "srt-relay: error: ..." line on stderr and exit 1.
 * Caller (pull) mode: the same with --receive 1: what the listener sends (MPEG-TS) is written to
 *   stdout as it arrives, nothing else; the end of the connection exits 0, stdin's EOF
 *   (the gateway is done) closes it.
 *
 * Everything runs on one thread with one SRT epoll (docs/API/API-functions.md, "srt_epoll_wait"):
 * the listener, every accepted socket, and stdin as a "system socket". libsrt itself runs its own
 * internal sender/receiver threads; the only code of ours that runs on them is the listen callback
 * and the log handler, which touch nothing but an atomic counter and stderr.
 *
 * Doc references (docs/...) are to the libsrt repository, v1.5 (Debian bookworm: libsrt 1.5.1).
 * Build: cc -O2 -Wall -o dist/native/srt-relay native/srt-relay.c $(pkg-config --cflags --libs srt)
 */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h> /* LOG_* levels for srt_setloglevel */
#include <unistd.h>

#include <srt/srt.h>
#include <srt/access_control.h> /* SRT_REJX_* reject codes */

enum { FRAME_READY = 0, FRAME_OPEN = 1, FRAME_DATA = 2, FRAME_CLOSE = 3 };
enum { HEADER = 9, MSG_MAX = 1500, STREAMID_MAX = 512, OUT_CAP = 256 * 1024 };

typedef struct {
  SRTSOCKET sock; /* SRT_INVALID_SOCK when the slot is free */
  uint32_t id;
} Conn;

static Conn *conns;
static int max_conns = 64;
static uint32_t next_id = 1;
static atomic_int live_conns; /* read by the listen callback on a libsrt thread */
static volatile sig_atomic_t stop_signal;
static int eid = -1; /* the one SRT epoll */
static unsigned char out[OUT_CAP];
static size_t out_len;

static void logf_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logf_(const char *fmt, ...) {
  char line[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  /* one fprintf per line: stdio locks the stream, so lines from libsrt threads do not interleave */
  fprintf(stderr, "srt-relay: %s\n", line);
}

/* ---- output: frames are appended to a buffer that is flushed once per loop iteration ---- */

static void write_all(const unsigned char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(STDOUT_FILENO, p, n); /* blocking: a slow gateway slows us, by design */
    if (w < 0) {
      if (errno == EINTR) continue;
      /* EPIPE (SIGPIPE is ignored): the gateway is gone, nothing left to do */
      logf_("stdout closed (%s), exiting", strerror(errno));
      _exit(errno == EPIPE ? 0 : 1);
    }
    p += w;
    n -= (size_t)w;
  }
}

static void flush_out(void) {
  write_all(out, out_len);
  out_len = 0;
}

static void put_u32(unsigned char *p, uint32_t v) {
  p[0] = (unsigned char)(v >> 24);
  p[1] = (unsigned char)(v >> 16);
  p[2] = (unsigned char)(v >> 8);
  p[3] = (unsigned char)v;
}

static void emit(int type, uint32_t conn, const void *payload, size_t len) {
  if (out_len + HEADER + len > OUT_CAP) flush_out();
  if (HEADER + len > OUT_CAP) { /* cannot happen (payloads are small), but never overflow */
    logf_("error: frame of %zu bytes dropped", len);
    return;
  }
  unsigned char *h = out + out_len;
  h[0] = (unsigned char)type;
  put_u32(h + 1, conn);
  put_u32(h + 5, (uint32_t)len);
  if (len) memcpy(h + HEADER, payload, len);
  out_len += HEADER + len;
}

/* JSON string body: quotes, backslashes and control characters escaped; other bytes verbatim. */
static size_t json_escape(char *dst, size_t cap, const char *src) {
  size_t n = 0;
  for (const unsigned char *s = (const unsigned char *)src; *s && n + 7 < cap; s++) {
    if (*s == '"' || *s == '\\') {
      dst[n++] = '\\';
      dst[n++] = (char)*s;
    } else if (*s < 0x20) {
      n += (size_t)snprintf(dst + n, cap - n, "\\u%04x", *s);
    } else {
      dst[n++] = (char)*s;
    }
  }
  dst[n] = '\0';
  return n;
}

static void format_addr(const struct sockaddr *sa, char *buf, size_t cap) {
  char ip[INET6_ADDRSTRLEN] = "?";
  if (sa->sa_family == AF_INET) {
    const struct sockaddr_in *a = (const struct sockaddr_in *)sa;
    inet_ntop(AF_INET, &a->sin_addr, ip, sizeof ip);
    snprintf(buf, cap, "%s:%u", ip, ntohs(a->sin_port));
  } else if (sa->sa_family == AF_INET6) {
    const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)sa;
    inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof ip);
    snprintf(buf, cap, "[%s]:%u", ip, ntohs(a->sin6_port));
  } else {
    snprintf(buf, cap, "unknown");
  }
}

/* ---- connections ---- */

static Conn *conn_by_sock(SRTSOCKET s) {
  for (int i = 0; i < max_conns; i++)
    if (conns[i].sock == s) return &conns[i];
  return NULL;
}

static Conn *conn_by_id(uint32_t id) {
  for (int i = 0; i < max_conns; i++)
    if (conns[i].sock != SRT_INVALID_SOCK && conns[i].id == id) return &conns[i];
  return NULL;
}

/* Unsubscribes and closes the SRT socket, then emits CLOSE. */
static void conn_close(Conn *c, const char *reason) {
  srt_epoll_remove_usock(eid, c->sock);
  srt_close(c->sock);
  emit(FRAME_CLOSE, c->id, reason, strlen(reason));
  logf_("conn %u closed: %s", c->id, reason);
  c->sock = SRT_INVALID_SOCK;
  atomic_fetch_sub(&live_conns, 1);
}

/*
 * srt_listen_callback (docs/API/API-functions.md#srt_listen_callback, docs/features/access-control.md):
 * called on a libsrt thread during the handshake, before the socket reaches srt_accept. Returning
 * -1 rejects the caller; srt_setrejectreason tells it why. The stream id is only logged and
 * length-checked here: the gateway decides (and sends "close ID") once it sees OPEN.
 */
static int on_listen(void *opaque, SRTSOCKET ns, int hsversion, const struct sockaddr *peer, const char *streamid) {
  (void)opaque;
  char addr[80];
  format_addr(peer, addr, sizeof addr);
  size_t len = streamid ? strlen(streamid) : 0;
  if (len > STREAMID_MAX) {
    logf_("warning: rejecting %s: stream id of %zu bytes", addr, len);
    srt_setrejectreason(ns, SRT_REJX_BAD_REQUEST);
    return -1;
  }
  if (atomic_load(&live_conns) >= max_conns) {
    logf_("warning: rejecting %s: %d connections already", addr, max_conns);
    srt_setrejectreason(ns, SRT_REJX_OVERLOAD);
    return -1;
  }
  /* The stream id names a stream key and may carry a token: only its length is logged. */
  logf_("caller %s (handshake v%d) with a stream id of %zu bytes", addr, hsversion, len);
  return 0;
}

/*
 * Accepts one pending caller and emits OPEN for it. One per wake-up: the epoll is level-triggered
 * and reports the listener again while callers are pending, and a non-blocking srt_accept with
 * nothing pending makes libsrt log an error line.
 */
static void accept_one(SRTSOCKET lsn) {
  struct sockaddr_storage peer;
  int plen = sizeof peer;
  SRTSOCKET s = srt_accept(lsn, (struct sockaddr *)&peer, &plen);
  if (s == SRT_INVALID_SOCK) {
    if (srt_getlasterror(NULL) != SRT_EASYNCRCV) logf_("warning: srt_accept: %s", srt_getlasterror_str());
    return;
  }
  Conn *slot = conn_by_sock(SRT_INVALID_SOCK);
  if (!slot) { /* the callback's count raced with a close: refuse rather than overflow */
    logf_("warning: no free connection slot, closing new caller");
    srt_close(s);
    return;
  }
  /* SRTO_STREAMID on an accepted socket returns the caller's stream id (docs/API/API-socket-options.md) */
  char sid[STREAMID_MAX + 1] = "";
  int sidlen = sizeof sid - 1;
  if (srt_getsockflag(s, SRTO_STREAMID, sid, &sidlen) == SRT_ERROR) sidlen = 0;
  sid[sidlen < 0 ? 0 : sidlen] = '\0';
  int no = 0; /* accepted sockets inherit the listener's options; make non-blocking explicit */
  srt_setsockflag(s, SRTO_RCVSYN, &no, sizeof no);
  int events = SRT_EPOLL_IN | SRT_EPOLL_ERR;
  if (srt_epoll_add_usock(eid, s, &events) == SRT_ERROR) {
    logf_("warning: srt_epoll_add_usock: %s", srt_getlasterror_str());
    srt_close(s);
    return;
  }
  slot->sock = s;
  slot->id = next_id++;
  if (next_id == 0) next_id = 1; /* 0 is reserved for READY */
  atomic_fetch_add(&live_conns, 1);

  char addr[80], esc[STREAMID_MAX * 6 + 8], json[STREAMID_MAX * 6 + 160];
  format_addr((struct sockaddr *)&peer, addr, sizeof addr);
  json_escape(esc, sizeof esc, sid);
  int n = snprintf(json, sizeof json, "{\"streamid\":\"%s\",\"peer\":\"%s\"}", esc, addr);
  emit(FRAME_OPEN, slot->id, json, (size_t)n);
  logf_("conn %u open from %s", slot->id, addr);
}

/* Reads what is ready on one connection; at most 64 messages per wake-up, for fairness. */
static void read_conn(Conn *c) {
  char buf[MSG_MAX];
  for (int i = 0; i < 64; i++) {
    int n = srt_recvmsg(c->sock, buf, sizeof buf);
    if (n > 0) {
      emit(FRAME_DATA, c->id, buf, (size_t)n);
      continue;
    }
    if (n == 0) return;
    int err = srt_getlasterror(NULL);
    if (err == SRT_EASYNCRCV) return; /* drained */
    conn_close(c, err == SRT_ECONNLOST ? "peer closed" : srt_getlasterror_str());
    return;
  }
}

/* ---- stdin commands ---- */

static char cmd[256];
static size_t cmd_len;
static int cmd_overflow;

static void run_command(const char *line) {
  char *end;
  if (strncmp(line, "close ", 6) == 0) {
    unsigned long id = strtoul(line + 6, &end, 10);
    Conn *c = (end != line + 6 && *end == '\0') ? conn_by_id((uint32_t)id) : NULL;
    if (c) conn_close(c, "closed by gateway");
    else logf_("close %s: no such connection", line + 6);
  } else if (line[0]) {
    logf_("warning: unknown command \"%.40s\"", line);
  }
}

/* Returns 0 on EOF (or a read error), 1 otherwise. */
static int read_stdin(void) {
  char buf[4096];
  ssize_t n = read(STDIN_FILENO, buf, sizeof buf);
  if (n < 0) return errno == EINTR || errno == EAGAIN;
  if (n == 0) return 0;
  for (ssize_t i = 0; i < n; i++) {
    char ch = buf[i];
    if (ch == '\n') {
      if (!cmd_overflow) {
        if (cmd_len && cmd[cmd_len - 1] == '\r') cmd_len--;
        cmd[cmd_len] = '\0';
        run_command(cmd);
      }
      cmd_len = 0;
      cmd_overflow = 0;
    } else if (cmd_len + 1 < sizeof cmd) {
      cmd[cmd_len++] = ch;
    } else if (!cmd_overflow) {
      cmd_overflow = 1;
      logf_("warning: command line too long, ignored");
    }
  }
  return 1;
}

/* ---- setup ---- */

/* libsrt's own log lines go to our stderr with our prefix (srt_setloghandler, logging_api.h). */
static void on_srt_log(void *opaque, int level, const char *file, int line, const char *area, const char *message) {
  (void)opaque; (void)level; (void)file; (void)line; (void)area;
  while (*message == ':' || *message == ' ') message++;
  size_t len = strlen(message);
  while (len && (message[len - 1] == '\n' || message[len - 1] == '\r')) len--;
  /* libsrt logs a rejected caller (wrong passphrase...) as an error: for us it is a warning */
  fprintf(stderr, "srt-relay: warning: libsrt: %.*s\n", (int)len, message);
}

static void on_signal(int sig) { stop_signal = sig; }

static int set_flag(SRTSOCKET s, SRT_SOCKOPT opt, const void *val, int len, const char *name) {
  if (srt_setsockflag(s, opt, val, len) != SRT_ERROR) return 0;
  logf_("error: setting %s: %s", name, srt_getlasterror_str());
  return -1;
}

static void usage(void) {
  logf_("usage: srt-relay [--connect HOST] --port P [--host H] [--latency MS] [--pbkeylen 16|24|32] [--max-conns N] "
        "(passphrase: SRT_PASSPHRASE in the environment)");
  exit(2);
}

static long arg_num(const char *v, long lo, long hi, const char *name) {
  char *end;
  long n = strtol(v, &end, 10);
  if (*v == '\0' || *end != '\0' || n < lo || n > hi) {
    logf_("error: %s must be an integer in %ld..%ld", name, lo, hi);
    exit(2);
  }
  return n;
}

/* The UDP address of HOST:PORT (AI_PASSIVE for a listener's bind); NULL after logging why not. */
static struct addrinfo *resolve_udp(const char *host, long port, int flags) {
  struct addrinfo hints, *ai = NULL;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  hints.ai_flags = flags;
  char portstr[24];
  snprintf(portstr, sizeof portstr, "%ld", port);
  int gai = getaddrinfo(host, portstr, &hints, &ai);
  if (gai != 0) {
    logf_("error: cannot resolve %s: %s", host, gai_strerror(gai));
    return NULL;
  }
  return ai;
}

/* ---- caller (push) mode ---------------------------------------------------------------------- */

enum { TS_MESSAGE = 1316 };

/* Pull: the listener's messages to stdout until the connection ends or stdin closes. */
static int receive_loop(SRTSOCKET s, const char *host, long port) {
  int no = 0;
  srt_setsockflag(s, SRTO_RCVSYN, &no, sizeof no);
  int ep = srt_epoll_create();
  int in = SRT_EPOLL_IN | SRT_EPOLL_ERR;
  srt_epoll_add_usock(ep, s, &in);
  int sys_in = SRT_EPOLL_IN | SRT_EPOLL_ERR;
  srt_epoll_add_ssock(ep, STDIN_FILENO, &sys_in);
  unsigned char msg[MSG_MAX];
  int rc = 0;
  while (!stop_signal) {
    SRTSOCKET ready[1];
    int nready = 1;
    SYSSOCKET sys[1];
    int nsys = 1;
    int n = srt_epoll_wait(ep, ready, &nready, NULL, NULL, 1000, sys, &nsys, NULL, NULL);
    if (n < 0) {
      if (srt_getlasterror(NULL) == SRT_ETIMEOUT) continue;
      break;
    }
    if (nsys > 0) {
      char drain[256];
      if (read(STDIN_FILENO, drain, sizeof drain) <= 0) break; /* the gateway is done */
    }
    if (nready > 0) {
      for (;;) {
        int got = srt_recvmsg(s, (char *)msg, sizeof msg);
        if (got == SRT_ERROR) {
          if (srt_getlasterror(NULL) == SRT_EASYNCRCV) break;
          SRT_SOCKSTATUS st = srt_getsockstate(s);
          if (st != SRTS_BROKEN && st != SRTS_CLOSED && st != SRTS_NONEXIST) logf_("error: receiving from %s:%ld failed: %s", host, port, srt_getlasterror_str());
          else logf_("the listener closed the connection");
          rc = st == SRTS_BROKEN || st == SRTS_CLOSED || st == SRTS_NONEXIST ? 0 : 1;
          goto done;
        }
        if (got == 0) continue;
        write_all(msg, (size_t)got);
      }
    }
  }
done:
  srt_epoll_release(ep);
  srt_close(s);
  return rc;
}

static int run_caller(const char *host, long port, long latency, long pbkeylen, const char *pass, int receive) {
  const char *streamid = getenv("SRT_STREAMID");
  if (streamid && strlen(streamid) > STREAMID_MAX) {
    logf_("error: SRT_STREAMID is longer than %d bytes", STREAMID_MAX);
    return 2;
  }
  struct addrinfo *ai = resolve_udp(host, port, 0);
  if (!ai) return 1;
  SRTSOCKET s = srt_create_socket();
  int live = SRTT_LIVE, lat = (int)latency, keylen = (int)pbkeylen;
  if (s == SRT_INVALID_SOCK || set_flag(s, SRTO_TRANSTYPE, &live, sizeof live, "SRTO_TRANSTYPE") ||
      set_flag(s, SRTO_LATENCY, &lat, sizeof lat, "SRTO_LATENCY")) {
    logf_("error: cannot create the socket: %s", srt_getlasterror_str());
    return 1;
  }
  if (streamid && *streamid && set_flag(s, SRTO_STREAMID, streamid, (int)strlen(streamid), "SRTO_STREAMID")) return 1;
  if (pass && (set_flag(s, SRTO_PASSPHRASE, pass, (int)strlen(pass), "SRTO_PASSPHRASE") ||
               set_flag(s, SRTO_PBKEYLEN, &keylen, sizeof keylen, "SRTO_PBKEYLEN")))
    return 1;
  /* Blocking connect (SRTO_RCVSYN is on by default), bounded by SRTO_CONNTIMEO (3 s). */
  if (srt_connect(s, ai->ai_addr, (int)ai->ai_addrlen) == SRT_ERROR) {
    int reason = srt_getrejectreason(s);
    logf_("error: connection to %s:%ld failed: %s (%s)", host, port, srt_getlasterror_str(), srt_rejectreason_str(reason));
    freeaddrinfo(ai);
    return 1;
  }
  freeaddrinfo(ai);
  /* Pull: stdout is the TS alone (ffmpeg reads it), so nothing else is written there. */
  if (receive) return receive_loop(s, host, port);
  static const char connected[] = "CONNECTED\n";
  write_all((const unsigned char *)connected, sizeof connected - 1);
  unsigned char buf[TS_MESSAGE];
  size_t have = 0;
  for (;;) {
    ssize_t r = read(STDIN_FILENO, buf + have, sizeof buf - have);
    if (r < 0 && errno == EINTR) {
      if (stop_signal) break;
      continue;
    }
    if (r <= 0) break; /* EOF (or a broken pipe): the gateway is done with this target */
    have += (size_t)r;
    if (have < sizeof buf) continue;
    if (srt_sendmsg2(s, (const char *)buf, (int)have, NULL) == SRT_ERROR) {
      logf_("error: sending to %s:%ld failed: %s", host, port, srt_getlasterror_str());
      srt_close(s);
      return 1;
    }
    have = 0;
  }
  if (have > 0) srt_sendmsg2(s, (const char *)buf, (int)have, NULL);
  srt_close(s);
  return 0;
}

int main(int argc, char **argv) {
  const char *host = "0.0.0.0";
  const char *connect_host = NULL;
  int receive = 0;
  long port = -1, latency = 120, pbkeylen = 16;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (i + 1 >= argc) usage();
    const char *v = argv[++i];
    if (!strcmp(a, "--port")) port = arg_num(v, 0, 65535, "--port");
    else if (!strcmp(a, "--host")) host = v;
    else if (!strcmp(a, "--latency")) latency = arg_num(v, 0, 60000, "--latency");
    else if (!strcmp(a, "--pbkeylen")) pbkeylen = arg_num(v, 16, 32, "--pbkeylen");
    else if (!strcmp(a, "--max-conns")) max_conns = (int)arg_num(v, 1, 100000, "--max-conns");
    else if (!strcmp(a, "--connect")) connect_host = v;
    else if (!strcmp(a, "--receive")) receive = (int)arg_num(v, 0, 1, "--receive");
    else usage();
  }
  if (port < 0) usage();
  if (pbkeylen != 16 && pbkeylen != 24 && pbkeylen != 32) {
    logf_("error: --pbkeylen must be 16, 24 or 32");
    return 2;
  }
  const char *pass = getenv("SRT_PASSPHRASE");
  if (pass && !*pass) pass = NULL;
  if (pass && (strlen(pass) < 10 || strlen(pass) > 79)) { /* libsrt's limits for SRTO_PASSPHRASE */
    logf_("error: SRT_PASSPHRASE must be 10 to 79 characters (it has %zu)", strlen(pass));
    return 2;
  }

  /* SIGPIPE ignored: a write to a closed stdout fails with EPIPE and write_all exits. */
  signal(SIGPIPE, SIG_IGN);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);

  if (connect_host) {
    srt_startup();
    srt_setloghandler(NULL, on_srt_log);
    srt_setlogflags(SRT_LOGF_DISABLE_TIME | SRT_LOGF_DISABLE_THREADNAME | SRT_LOGF_DISABLE_SEVERITY | SRT_LOGF_DISABLE_EOL);
    srt_setloglevel(LOG_ERR);
    int rc = run_caller(connect_host, port, latency, pbkeylen, pass, receive);
    srt_cleanup();
    return rc;
  }

  conns = malloc(sizeof *conns * (size_t)max_conns);
  if (!conns) return 1;
  for (int i = 0; i < max_conns; i++) conns[i].sock = SRT_INVALID_SOCK;

  srt_startup();
  srt_setloghandler(NULL, on_srt_log);
  srt_setlogflags(SRT_LOGF_DISABLE_TIME | SRT_LOGF_DISABLE_THREADNAME | SRT_LOGF_DISABLE_SEVERITY | SRT_LOGF_DISABLE_EOL);
  srt_setloglevel(LOG_ERR);

  struct addrinfo *ai = resolve_udp(host, port, AI_PASSIVE);
  if (!ai) return 1;

  /*
   * Listener options (docs/API/API-socket-options.md). SRTO_TRANSTYPE first: it resets the
   * options of its profile. Accepted sockets inherit all of these.
   */
  SRTSOCKET lsn = srt_create_socket();
  int live = SRTT_LIVE, no = 0, yes = 1, lat = (int)latency, keylen = (int)pbkeylen;
  if (lsn == SRT_INVALID_SOCK ||
      set_flag(lsn, SRTO_TRANSTYPE, &live, sizeof live, "SRTO_TRANSTYPE") ||
      set_flag(lsn, SRTO_RCVSYN, &no, sizeof no, "SRTO_RCVSYN") ||  /* non-blocking accept/recv */
      set_flag(lsn, SRTO_RCVLATENCY, &lat, sizeof lat, "SRTO_RCVLATENCY") ||
      set_flag(lsn, SRTO_PEERLATENCY, &lat, sizeof lat, "SRTO_PEERLATENCY")) {
    logf_("error: cannot create the listener: %s", srt_getlasterror_str());
    return 1;
  }
  if (pass) {
    /* With a passphrase (and SRTO_ENFORCEDENCRYPTION, on by default) libsrt's handshake rejects
     * callers with a wrong (SRT_REJ_BADSECRET) or missing (SRT_REJ_UNSECURE) passphrase. */
    if (set_flag(lsn, SRTO_PASSPHRASE, pass, (int)strlen(pass), "SRTO_PASSPHRASE") ||
        set_flag(lsn, SRTO_PBKEYLEN, &keylen, sizeof keylen, "SRTO_PBKEYLEN") ||
        set_flag(lsn, SRTO_ENFORCEDENCRYPTION, &yes, sizeof yes, "SRTO_ENFORCEDENCRYPTION"))
      return 1;
  }
  if (ai->ai_family == AF_INET6) set_flag(lsn, SRTO_IPV6ONLY, &no, sizeof no, "SRTO_IPV6ONLY"); /* required for :: */

  if (srt_bind(lsn, ai->ai_addr, (int)ai->ai_addrlen) == SRT_ERROR) {
    logf_("error: cannot bind %s:%ld: %s", host, port, srt_getlasterror_str());
    return 1;
  }
  freeaddrinfo(ai);
  if (srt_listen_callback(lsn, on_listen, NULL) == SRT_ERROR || srt_listen(lsn, 16) == SRT_ERROR) {
    logf_("error: cannot listen: %s", srt_getlasterror_str());
    return 1;
  }

  struct sockaddr_storage bound;
  int blen = sizeof bound;
  unsigned bound_port = (unsigned)port;
  if (srt_getsockname(lsn, (struct sockaddr *)&bound, &blen) != SRT_ERROR)
    bound_port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port : ((struct sockaddr_in *)&bound)->sin_port);

  /* One epoll for the listener, the connections and stdin (srt_epoll_add_ssock). */
  eid = srt_epoll_create();
  int events = SRT_EPOLL_IN | SRT_EPOLL_ERR, in_only = SRT_EPOLL_IN;
  if (eid < 0 || srt_epoll_add_usock(eid, lsn, &events) == SRT_ERROR) {
    logf_("error: srt_epoll: %s", srt_getlasterror_str());
    return 1;
  }
  if (srt_epoll_add_ssock(eid, STDIN_FILENO, &in_only) == SRT_ERROR)
    logf_("stdin is not pollable by epoll: checked with poll() only");

  char portmsg[24];
  int plen = snprintf(portmsg, sizeof portmsg, "%u", bound_port);
  emit(FRAME_READY, 0, portmsg, (size_t)plen);
  flush_out();
  logf_("listening on %s:%u (latency %ld ms, %s, max %d connections)", host, bound_port, latency,
        pass ? "encrypted" : "no passphrase", max_conns);

  int cap = max_conns + 2;
  SRTSOCKET *ready = malloc(sizeof *ready * (size_t)cap);
  if (!ready) return 1;
  const char *why = "relay stopping";
  for (;;) {
    int rnum = cap, lrnum = 1;
    SYSSOCKET lrfds[1];
    /* srt_epoll_wait: -1 with SRT_ETIMEOUT when nothing is ready; broken sockets show as readable.
     * The timeout bounds how late a signal or a stdin hang-up (pipes report EOF as EPOLLHUP,
     * which libsrt does not report for system sockets) is noticed. */
    int n = srt_epoll_wait(eid, ready, &rnum, NULL, NULL, 100, lrfds, &lrnum, NULL, NULL);
    if (n < 0 && srt_getlasterror(NULL) != SRT_ETIMEOUT) {
      logf_("error: srt_epoll_wait: %s", srt_getlasterror_str());
      why = "relay failed";
      break;
    }
    if (n > 0) {
      for (int i = 0; i < rnum; i++) {
        if (ready[i] == lsn) {
          accept_one(lsn);
        } else {
          Conn *c = conn_by_sock(ready[i]);
          if (c) read_conn(c);
        }
      }
    }
    /* stdin: a zero-timeout poll() catches both data and hang-up, whatever epoll reported */
    struct pollfd pfd = {.fd = STDIN_FILENO, .events = POLLIN};
    int eof = 0;
    if (poll(&pfd, 1, 0) > 0 && (pfd.revents & (POLLIN | POLLHUP | POLLERR | POLLNVAL))) {
      eof = (pfd.revents & POLLNVAL) || !read_stdin();
    }
    flush_out();
    if (eof) {
      logf_("stdin closed, exiting");
      why = "relay stopping";
      break;
    }
    if (stop_signal) {
      logf_("signal %d, exiting", (int)stop_signal);
      break;
    }
  }

  for (int i = 0; i < max_conns; i++)
    if (conns[i].sock != SRT_INVALID_SOCK) conn_close(&conns[i], why);
  flush_out();
  srt_close(lsn);
  srt_epoll_release(eid);
  srt_cleanup();
  free(ready);
  free(conns);
  return strcmp(why, "relay failed") == 0 ? 1 : 0;
}
