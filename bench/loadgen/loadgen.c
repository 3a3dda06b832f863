// Lean WebSocket / Socket.IO load generator for bench/ws.mjs and bench/socketio.mjs --gen c: one
// process, one epoll loop, non-blocking sockets, so that a server on the other core is the
// bottleneck rather than the generator.
//
//   loadgen --port P --mode echo|broadcast --conns N [--window W] [--size BYTES] [--binary]
//           [--proto ws|sio] [--host 127.0.0.1]
//
// It opens N connections (RFC 6455 §4.1 opening handshake; the 101 status is checked, the
// Sec-WebSocket-Accept value is not), then takes line commands on stdin and answers each with
// one JSON line on stdout:
//   (on its own)  {"ev":"connected","failed":F}   once every connection is open or has failed
//   start         begin sending
//   mark          reset the counters: the measured window starts
//   report        {"delivered":..,"wallUs":..,"cpuUs":..,"sysUs":..,"failures":..,"hist":[..]}
//   stop          send no new messages
//   close / EOF   exit
//
// echo:      every connection keeps W messages of SIZE bytes in flight; each reply received is
//            counted and answered with a new message. "delivered" = round trips.
// broadcast: N-1 receivers and one publisher (the last connection). The publisher keeps W
//            messages in flight: each copy of its own message that comes back to it triggers the
//            next. Payloads start with 'T' and 16 digits, the send time in µs (CLOCK_MONOTONIC);
//            every receiver records the delay. "delivered" = messages received by all connections.
//
// --proto sio: Engine.IO v4 / Socket.IO v5 over the websocket transport only, with the packets of
// the Node generator's sio mode (bench/lib/loadgen.mjs) against bench/lib/server-sio.mjs. Section
// numbers (§) in the sio code refer to /work/shared/notes/socketio-protocol.md. A connection counts
// as connected once the server has answered the Socket.IO CONNECT `40` with `40{"sid":...}`.
//   echo:      the event `42<id>["echo","xx..."]`, the ack `43<id>["xx..."]` is one round trip and
//              is answered with the next event. The W events in flight on a connection carry the ack
//              ids 1..W in turn (with W = 1 the Node generator's `421[...]` exactly), and the acks
//              must come back in that order, so a lost, repeated or altered ack is a failure.
//   broadcast: the publisher emits `42["bc","T<16 digits>..."]`, which the server re-emits to all;
//              every copy received is one delivery, with its delay recorded.
// Anything else from the server (a wrong ack, an unexpected packet) fails the connection rather
// than counting; Engine.IO pings `2` are answered with pongs `3`.
//
// Client frames are masked as RFC 6455 §5.3 requires (a fixed non-zero key, so servers cannot skip
// unmasking); frames queued while one read is handled leave in one write. Server frames are parsed
// only as far as needed: header, the first 17 payload bytes, and masked ones are accepted too (the
// raw `net` echo baseline sends the client's frames back as they came). Pings are answered with
// pongs (§5.5.3); a close frame or a lost connection counts as a failure.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

enum { ST_CONNECTING, ST_HANDSHAKE, ST_OPEN, ST_DEAD };
// Socket.IO progress of an open WebSocket (--proto sio).
enum { SIO_WAIT_OPEN, SIO_WAIT_CONNECT, SIO_READY };
enum { OP_TEXT = 1, OP_BINARY = 2, OP_CLOSE = 8, OP_PING = 9, OP_PONG = 10 };
#define STAMP 17 /* 'T' + 16 digits */
#define HIST_BUCKETS 1000 /* the same log buckets as bench/lib/hist.mjs */
#define HIST_PER_E 50

typedef struct {
  int fd;
  unsigned char state, publisher;
  unsigned char connected; // counted in `finished`: WebSocket open (ws) or namespace joined (sio)
  unsigned char sio; // SIO_* (--proto sio)
  unsigned inflight; // sio echo: events sent and not acknowledged yet
  unsigned next_ack; // sio echo: index in sio_echo of the ack due next
  // frame parser
  unsigned char hdr[14], hdr_have, hdr_need, in_payload, op, fin;
  uint64_t left, at; // payload bytes still to come, bytes seen
  unsigned char cap[STAMP + 1 + 125], cap_len; // start of the payload (all of a control frame's)
  // handshake response
  char *http;
  int http_len;
  // output
  unsigned char *out;
  size_t out_len, out_off, out_cap;
  int want_out;
} conn_t;

static conn_t *conns;
static int nconns, window_ = 1, size_ = 32, binary_ = 0, broadcast_ = 0, port_ = 0, sio_ = 0;
static const char *host_ = "127.0.0.1";
static int ep;
static unsigned char mask_key[4];
static unsigned char *echo_frame; // ws echo
static size_t echo_len;
// sio echo, per ack id 1..window_ (index id - 1): the framed event and the ack it must get.
typedef struct {
  unsigned char *event, *ack;
  size_t event_len, ack_len;
} sio_echo_t;
static sio_echo_t *sio_echo;
// sio: the framed pong and CONNECT.
static unsigned char sio_pong[7], sio_connect[8];
static size_t sio_pong_len, sio_connect_len;
static int running = 0, opened = 0, finished = 0, failures = 0, announced = 0;
static uint64_t delivered = 0, mark_delivered = 0;
static double mark_us = 0, mark_cpu = 0, mark_sys = 0;
static int marked = 0;
static double hist[HIST_BUCKETS];
static unsigned char rbuf[256 * 1024];
static double read_now; // one clock reading per read, 0 until needed

static double now_us(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static void cpu_us(double *total, double *sys) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  double u = ru.ru_utime.tv_sec * 1e6 + ru.ru_utime.tv_usec;
  double s = ru.ru_stime.tv_sec * 1e6 + ru.ru_stime.tv_usec;
  *total = u + s;
  *sys = s;
}

static void die(const char *what) {
  perror(what);
  exit(1);
}

static void *grow(void *p, size_t n) {
  p = realloc(p, n);
  if (!p) die("realloc");
  return p;
}

// One masked client frame (RFC 6455 §5.2, §5.3) appended at out; returns its length.
static size_t put_frame(unsigned char *out, int op, const unsigned char *payload, size_t len) {
  size_t p = 2;
  out[0] = 0x80 | op;
  if (len < 126) out[1] = 0x80 | len;
  else if (len < 65536) { out[1] = 0x80 | 126; out[2] = len >> 8; out[3] = len; p = 4; }
  else {
    out[1] = 0x80 | 127;
    for (int i = 0; i < 8; i++) out[2 + i] = (uint64_t)len >> (56 - 8 * i);
    p = 10;
  }
  memcpy(out + p, mask_key, 4);
  p += 4;
  for (size_t i = 0; i < len; i++) out[p + i] = payload[i] ^ mask_key[i & 3];
  return p + len;
}

static void set_events(conn_t *c, int want_out) {
  if (c->want_out == want_out) return;
  c->want_out = want_out;
  struct epoll_event ev = { .events = EPOLLIN | (want_out ? EPOLLOUT : 0), .data.u32 = (uint32_t)(c - conns) };
  if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) < 0) die("epoll_ctl");
}

static void open_next(void);

static void fail(conn_t *c, const char *why) {
  if (c->state == ST_DEAD) return;
  if (++failures <= 5) fprintf(stderr, "loadgen: %s\n", why);
  if (!c->connected) finished++;
  c->state = ST_DEAD;
  close(c->fd);
  free(c->http);
  c->http = NULL;
  open_next();
}

// Room for n more bytes in the output queue.
static unsigned char *reserve(conn_t *c, size_t n) {
  if (c->out_len + n > c->out_cap) {
    c->out_cap = (c->out_len + n) * 2;
    c->out = grow(c->out, c->out_cap);
  }
  return c->out + c->out_len;
}

static void queue(conn_t *c, const unsigned char *bytes, size_t n) {
  memcpy(reserve(c, n), bytes, n);
  c->out_len += n;
}

static void flush(conn_t *c) {
  while (c->out_off < c->out_len) {
    ssize_t n = write(c->fd, c->out + c->out_off, c->out_len - c->out_off);
    if (n < 0) {
      if (errno == EAGAIN) { set_events(c, 1); return; }
      if (errno == EINTR) continue;
      fail(c, strerror(errno));
      return;
    }
    c->out_off += n;
  }
  c->out_off = c->out_len = 0;
  set_events(c, 0);
}

// The broadcast body: 'T', the send time, then '.' up to --size bytes (at least the stamp).
static size_t body_len(void) {
  size_t len = size_ > STAMP ? (size_t)size_ : STAMP;
  return len < 65536 ? len : 65536;
}

// sio: the EVENT `42["bc",<body>]` (§2.2: EIO message 4, SIO EVENT 2, no namespace, no ack id).
static const char SIO_BC_HEAD[] = "42[\"bc\",\"";
#define SIO_BC_HEAD_LEN (sizeof SIO_BC_HEAD - 1)
#define SIO_BC_TAIL_LEN 2 /* "] */

static void queue_publish(conn_t *c) {
  unsigned char packet[SIO_BC_HEAD_LEN + 65536 + SIO_BC_TAIL_LEN];
  size_t len = body_len(), head = sio_ ? SIO_BC_HEAD_LEN : 0;
  unsigned char *body = packet + head;
  char stamp[STAMP + 1];
  snprintf(stamp, sizeof stamp, "T%016llu", (unsigned long long)now_us());
  memcpy(body, stamp, STAMP);
  memset(body + STAMP, '.', len - STAMP);
  if (sio_) {
    memcpy(packet, SIO_BC_HEAD, head);
    memcpy(body + len, "\"]", SIO_BC_TAIL_LEN);
    len += head + SIO_BC_TAIL_LEN;
  }
  c->out_len += put_frame(reserve(c, len + 14), OP_TEXT, packet, len);
}

// One broadcast delivery whose payload starts with the stamp at `stamp`: its delay into the
// histogram, and the publisher's next message.
static void on_broadcast(conn_t *c, const unsigned char *stamp) {
  uint64_t ts = 0;
  for (int k = 1; k < STAMP; k++) ts = ts * 10 + (stamp[k] - '0');
  if (read_now == 0) read_now = now_us();
  if (marked) {
    double us = read_now - (double)ts;
    int i = us <= 1 ? 0 : (int)(log(us) * HIST_PER_E);
    hist[i < HIST_BUCKETS ? i : HIST_BUCKETS - 1]++;
  }
  if (c->publisher && running) queue_publish(c);
}

static void on_message(conn_t *c) {
  delivered++;
  if (!broadcast_) {
    if (running) queue(c, echo_frame, echo_len);
    return;
  }
  if (c->cap_len >= STAMP && c->cap[0] == 'T') on_broadcast(c, c->cap);
  else if (c->publisher && running) queue_publish(c);
}

static void now_connected(conn_t *c) {
  c->connected = 1;
  finished++;
  open_next();
}

static void fail_packet(conn_t *c, const char *what) {
  char why[120];
  snprintf(why, sizeof why, "%s: %.*s", what, c->cap_len < 60 ? c->cap_len : 60, (const char *)c->cap);
  fail(c, why);
}

static int has_prefix(const conn_t *c, const char *prefix, size_t n) {
  return c->cap_len >= n && memcmp(c->cap, prefix, n) == 0;
}

// sio: one Engine.IO packet (one text frame, §1.4), its first bytes in cap, c->at bytes long.
static void on_sio_packet(conn_t *c) {
  size_t len = c->at;
  if (c->op != OP_TEXT || len == 0) { fail_packet(c, "not an Engine.IO text packet"); return; }
  switch (c->cap[0]) {
  case '2': // ping (§1.3, §1.7: in v4 the server pings; a late pong closes the connection)
    if (len != 1) { fail_packet(c, "ping with a payload"); return; }
    queue(c, sio_pong, sio_pong_len);
    return;
  case '0': // open (§1.2): now join the main namespace (§2.4)
    if (c->sio != SIO_WAIT_OPEN || !has_prefix(c, "0{", 2)) { fail_packet(c, "unexpected open packet"); return; }
    c->sio = SIO_WAIT_CONNECT;
    queue(c, sio_connect, sio_connect_len);
    return;
  case '4': // message: a Socket.IO packet follows (§2.1, §2.2)
    break;
  default: // close, noop or anything else (§1.3, §1.9)
    fail_packet(c, "unexpected Engine.IO packet");
    return;
  }
  if (c->sio == SIO_WAIT_CONNECT) {
    // §2.4: success is 0{"sid":...} for the main namespace; anything else (4{...}) is a refusal.
    if (!has_prefix(c, "40{\"sid\":", 9)) { fail_packet(c, "namespace not joined"); return; }
    c->sio = SIO_READY;
    now_connected(c);
    return;
  }
  if (c->sio != SIO_READY) { fail_packet(c, "packet before the namespace was joined"); return; }
  if (!broadcast_) {
    // §2.5: the ack 3<id>[data] of the oldest event in flight, with the data it carried.
    const sio_echo_t *e = &sio_echo[c->next_ack];
    size_t cmp = c->cap_len < e->ack_len ? c->cap_len : e->ack_len;
    if (c->inflight == 0 || len != e->ack_len || memcmp(c->cap, e->ack, cmp) != 0) {
      fail_packet(c, "not the expected ack");
      return;
    }
    delivered++;
    c->inflight--;
    c->next_ack = (c->next_ack + 1) % window_;
    if (running) { queue(c, e->event, e->event_len); c->inflight++; } // its id is free again
    return;
  }
  // §2.5: EVENT ["bc", "T<16 digits>..."] as the publisher sent it.
  const unsigned char *stamp = c->cap + SIO_BC_HEAD_LEN;
  int ok = len == SIO_BC_HEAD_LEN + body_len() + SIO_BC_TAIL_LEN && has_prefix(c, SIO_BC_HEAD, SIO_BC_HEAD_LEN)
    && c->cap_len >= SIO_BC_HEAD_LEN + STAMP && stamp[0] == 'T';
  for (int k = 1; ok && k < STAMP; k++) ok = stamp[k] >= '0' && stamp[k] <= '9';
  if (!ok) { fail_packet(c, "not the broadcast event"); return; }
  delivered++;
  on_broadcast(c, stamp);
}

static void end_frame(conn_t *c) {
  c->in_payload = 0;
  c->hdr_have = 0;
  c->hdr_need = 2;
  if (c->op == OP_PING) {
    unsigned char pong[6 + 125];
    queue(c, pong, put_frame(pong, OP_PONG, c->cap, c->cap_len));
  } else if (c->op == OP_CLOSE) {
    fail(c, "server sent a close frame");
  } else if (c->op < 8 && c->fin) {
    // The servers under test do not fragment: only final frames count.
    if (sio_) on_sio_packet(c);
    else on_message(c);
  }
}

static void start_payload(conn_t *c) {
  const unsigned char *h = c->hdr;
  unsigned len7 = h[1] & 0x7f;
  uint64_t len = len7;
  if (len7 == 126) len = (h[2] << 8) | h[3];
  else if (len7 == 127) { len = 0; for (int i = 0; i < 8; i++) len = (len << 8) | h[2 + i]; }
  c->fin = h[0] >> 7;
  c->op = h[0] & 0x0f;
  c->left = len;
  c->at = 0;
  c->cap_len = 0;
  c->in_payload = 1;
  if (len == 0) end_frame(c);
}

static void parse(conn_t *c, const unsigned char *b, size_t n) {
  size_t pos = 0;
  while (pos < n && c->state == ST_OPEN) {
    if (!c->in_payload) {
      c->hdr[c->hdr_have++] = b[pos++];
      if (c->hdr_have == 2) {
        unsigned len7 = c->hdr[1] & 0x7f;
        c->hdr_need = 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0) + (c->hdr[1] & 0x80 ? 4 : 0);
      }
      if (c->hdr_have == c->hdr_need) start_payload(c);
      continue;
    }
    size_t take = n - pos < c->left ? n - pos : (size_t)c->left;
    const unsigned char *key = (c->hdr[1] & 0x80) ? c->hdr + c->hdr_need - 4 : NULL;
    size_t keep = sizeof c->cap - c->cap_len;
    if (c->at < sizeof c->cap && keep > 0) {
      if (keep > take) keep = take;
      for (size_t i = 0; i < keep; i++)
        c->cap[c->cap_len + i] = b[pos + i] ^ (key ? key[(c->at + i) & 3] : 0);
      c->cap_len += keep;
    }
    pos += take;
    c->at += take;
    c->left -= take;
    if (c->left == 0) end_frame(c);
  }
}

static void on_handshake(conn_t *c, const unsigned char *b, size_t n) {
  if (c->http_len + n > 8192) { fail(c, "handshake response too long"); return; }
  memcpy(c->http + c->http_len, b, n);
  c->http_len += n;
  c->http[c->http_len] = 0;
  char *end = strstr(c->http, "\r\n\r\n");
  if (!end) return;
  if (strncmp(c->http, "HTTP/1.1 101", 12) != 0) {
    char line[120];
    snprintf(line, sizeof line, "handshake refused: %.*s", (int)strcspn(c->http, "\r\n"), c->http);
    fail(c, line);
    return;
  }
  size_t head = end + 4 - c->http, rest = c->http_len - head;
  unsigned char extra[8192];
  memcpy(extra, c->http + head, rest);
  free(c->http);
  c->http = NULL;
  c->state = ST_OPEN;
  c->hdr_need = 2;
  if (sio_) c->sio = SIO_WAIT_OPEN; // connected once the namespace is joined
  else now_connected(c);
  if (rest) parse(c, extra, rest);
}

static void send_handshake(conn_t *c) {
  static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  char key[25];
  for (int i = 0; i < 22; i++) key[i] = b64[rand() & 63];
  key[22] = key[23] = '=';
  key[24] = 0;
  char req[512];
  int n = snprintf(req, sizeof req,
    "GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n",
    sio_ ? "/socket.io/?EIO=4&transport=websocket" : "/", host_, port_, key); // §1.1
  queue(c, (unsigned char *)req, n);
  c->state = ST_HANDSHAKE;
  c->http = malloc(8193);
  if (!c->http) die("malloc");
  c->http_len = 0;
  flush(c);
}

// Clients come from many loopback addresses (127.B.x.y), as real clients come from many hosts:
// per-address limits stay at their defaults and ephemeral ports do not run out across runs.
static void open_next(void) {
  while (opened < nconns && opened - finished < 256) {
    conn_t *c = &conns[opened];
    int i = opened++;
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (c->fd < 0) die("socket");
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(c->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    struct sockaddr_in local = { .sin_family = AF_INET };
    local.sin_addr.s_addr = htonl((127u << 24) | ((1 + getpid() % 250) << 16) | ((i / 250 % 250) << 8) | (i % 250 + 1));
    bind(c->fd, (struct sockaddr *)&local, sizeof local); // falls back to 127.0.0.1's ports if refused
    struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(port_) };
    inet_pton(AF_INET, host_, &to.sin_addr);
    c->state = ST_CONNECTING;
    c->publisher = broadcast_ && i == nconns - 1;
    c->want_out = 1;
    struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT, .data.u32 = (uint32_t)i };
    if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) < 0) die("epoll_ctl");
    if (connect(c->fd, (struct sockaddr *)&to, sizeof to) < 0 && errno != EINPROGRESS) fail(c, strerror(errno));
  }
}

static void on_event(conn_t *c, uint32_t events) {
  if (c->state == ST_CONNECTING) {
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err) { fail(c, strerror(err)); return; }
    if (!(events & EPOLLOUT)) return;
    send_handshake(c);
    return;
  }
  if (events & EPOLLOUT) flush(c);
  if (c->state == ST_DEAD || !(events & (EPOLLIN | EPOLLHUP | EPOLLERR))) return;
  ssize_t n = read(c->fd, rbuf, sizeof rbuf);
  if (n == 0) { fail(c, "server closed the connection"); return; }
  if (n < 0) {
    if (errno != EAGAIN && errno != EINTR) fail(c, strerror(errno));
    return;
  }
  if (c->state == ST_HANDSHAKE) on_handshake(c, rbuf, n);
  else parse(c, rbuf, n);
  if (c->state != ST_DEAD && c->out_len > c->out_off) flush(c);
}

static void command(const char *line) {
  if (!strcmp(line, "start")) {
    running = 1;
    for (int i = 0; i < nconns; i++) {
      conn_t *c = &conns[i];
      if (c->state != ST_OPEN || !c->connected || (broadcast_ && !c->publisher)) continue;
      for (int w = 0; w < window_; w++) {
        if (broadcast_) queue_publish(c);
        else if (sio_) { queue(c, sio_echo[w].event, sio_echo[w].event_len); c->inflight++; }
        else queue(c, echo_frame, echo_len);
      }
      flush(c);
    }
    puts("{}");
  } else if (!strcmp(line, "mark")) {
    memset(hist, 0, sizeof hist);
    marked = 1;
    mark_delivered = delivered;
    mark_us = now_us();
    cpu_us(&mark_cpu, &mark_sys);
    puts("{}");
  } else if (!strcmp(line, "report")) {
    double cpu, sys;
    cpu_us(&cpu, &sys);
    printf("{\"delivered\":%llu,\"wallUs\":%.0f,\"cpuUs\":%.0f,\"sysUs\":%.0f,\"failures\":%d,\"hist\":[",
      (unsigned long long)(delivered - mark_delivered), now_us() - mark_us, cpu - mark_cpu, sys - mark_sys, failures);
    for (int i = 0; i < HIST_BUCKETS; i++) printf(i ? ",%.0f" : "%.0f", hist[i]);
    puts("]}");
  } else if (!strcmp(line, "stop")) {
    running = 0;
    puts("{}");
  } else if (!strcmp(line, "close")) {
    exit(0);
  } else {
    printf("{\"error\":\"unknown command %s\"}\n", line);
  }
  fflush(stdout);
}

static void on_stdin(void) {
  static char line[256];
  static size_t have = 0;
  ssize_t n = read(0, line + have, sizeof line - 1 - have);
  if (n <= 0) exit(0); // the harness went away
  have += n;
  char *nl;
  while ((nl = memchr(line, '\n', have))) {
    *nl = 0;
    command(line);
    have -= nl + 1 - line;
    memmove(line, nl + 1, have);
  }
  if (have == sizeof line - 1) have = 0;
}

int main(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : "";
    if (!strcmp(a, "--port")) port_ = atoi(v), i++;
    else if (!strcmp(a, "--host")) host_ = v, i++;
    else if (!strcmp(a, "--conns")) nconns = atoi(v), i++;
    else if (!strcmp(a, "--window")) window_ = atoi(v), i++;
    else if (!strcmp(a, "--size")) size_ = atoi(v), i++;
    else if (!strcmp(a, "--mode")) broadcast_ = !strcmp(v, "broadcast"), i++;
    else if (!strcmp(a, "--binary")) binary_ = 1;
    else if (!strcmp(a, "--proto")) sio_ = !strcmp(v, "sio"), i++;
    else { fprintf(stderr, "loadgen: unknown option %s\n", a); return 2; }
  }
  if (!port_ || nconns < (broadcast_ ? 2 : 1) || window_ < 1 || size_ < 0) {
    fprintf(stderr, "usage: loadgen --port P --mode echo|broadcast --conns N [--window W] [--size BYTES] [--binary] [--proto ws|sio]\n");
    return 2;
  }
  srand(getpid() ^ (unsigned)now_us());
  do for (int i = 0; i < 4; i++) mask_key[i] = rand(); while (!(mask_key[0] | mask_key[1] | mask_key[2] | mask_key[3]));
  if (sio_) {
    // §2.2, §2.5: per ack id, the event 42<id>["echo","xx..."] and the ack 43<id>["xx..."].
    sio_echo = calloc(window_, sizeof *sio_echo);
    unsigned char *event = malloc(size_ + 32);
    if (!sio_echo || !event) die("malloc");
    for (int w = 0; w < window_; w++) {
      sio_echo_t *e = &sio_echo[w];
      char head[24];
      int n = snprintf(head, sizeof head, "42%d[\"echo\",\"", w + 1);
      memcpy(event, head, n);
      memset(event + n, 'x', size_);
      memcpy(event + n + size_, "\"]", 2);
      e->event = malloc(n + size_ + 2 + 14);
      e->ack = malloc(n + size_ + 2);
      if (!e->event || !e->ack) die("malloc");
      e->event_len = put_frame(e->event, OP_TEXT, event, n + size_ + 2);
      n = snprintf((char *)e->ack, n + 1, "43%d[\"", w + 1);
      memset(e->ack + n, 'x', size_);
      memcpy(e->ack + n + size_, "\"]", 2);
      e->ack_len = n + size_ + 2;
    }
    free(event);
    sio_pong_len = put_frame(sio_pong, OP_TEXT, (const unsigned char *)"3", 1);
    sio_connect_len = put_frame(sio_connect, OP_TEXT, (const unsigned char *)"40", 2);
  } else {
    unsigned char *filler = malloc(size_ + 1);
    memset(filler, 'x', size_);
    echo_frame = malloc(size_ + 14);
    echo_len = put_frame(echo_frame, binary_ ? OP_BINARY : OP_TEXT, filler, size_);
    free(filler);
  }

  conns = calloc(nconns, sizeof *conns);
  ep = epoll_create1(0);
  if (!conns || ep < 0) die("setup");
  fcntl(0, F_SETFL, fcntl(0, F_GETFL) | O_NONBLOCK);
  struct epoll_event sev = { .events = EPOLLIN, .data.u32 = UINT32_MAX };
  if (epoll_ctl(ep, EPOLL_CTL_ADD, 0, &sev) < 0) die("epoll_ctl stdin");
  open_next();

  struct epoll_event evs[1024];
  for (;;) {
    if (!announced && finished == nconns) {
      announced = 1;
      printf("{\"ev\":\"connected\",\"failed\":%d}\n", failures);
      fflush(stdout);
    }
    int n = epoll_wait(ep, evs, 1024, -1);
    if (n < 0 && errno != EINTR) die("epoll_wait");
    // The publisher first: its next message should not wait behind thousands of receivers' reads.
    for (int i = 0; broadcast_ && i < n; i++) {
      if (evs[i].data.u32 != (uint32_t)nconns - 1) continue;
      read_now = 0;
      if (conns[nconns - 1].state != ST_DEAD) on_event(&conns[nconns - 1], evs[i].events);
      evs[i].data.u32 = UINT32_MAX - 1;
    }
    for (int i = 0; i < n; i++) {
      uint32_t k = evs[i].data.u32;
      read_now = 0;
      if (k == UINT32_MAX) on_stdin();
      else if (k < (uint32_t)nconns && conns[k].state != ST_DEAD) on_event(&conns[k], evs[i].events);
    }
  }
}
