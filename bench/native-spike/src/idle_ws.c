// A measurement prototype, not a product: how little memory an idle WebSocket connection can cost
// when the transport lives outside Node's net.Socket/libuv stream layers. One thread runs its own
// epoll loop; it accepts TCP connections, performs the RFC 6455 §4.2 server handshake itself, then
// holds the connections with a 16-byte record each, answering pings with pongs and closes with
// closes (RFC 6455 §5.5). Data frames are read and discarded: nothing is delivered to JavaScript.
//
// JavaScript API (plain N-API, no C++):
//   listen(host, port) -> bound port (starts the loop thread)
//   clients()          -> connections past the handshake
//   close()            -> stops the thread and closes every socket
//   stateBytes         -> bytes of the per-connection record
//   mallinfo()         -> the C heap of the whole process (glibc mallinfo2, every arena): bytes in
//                         use, bytes free but held, bytes in mmap'd chunks; the driver loads the
//                         addon into every server it measures to split RSS into V8 heap and C heap
#define _GNU_SOURCE
#include <node_api.h>

#include <arpa/inet.h>
#include <errno.h>
#include <malloc.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

enum { FREE = 0, HANDSHAKE = 1, OPEN = 2 };
enum { MAX_HEAD = 8192, MAX_PAYLOAD = 1 << 20, READ_SIZE = 16384 };

// The whole per-connection state, in a table indexed by file descriptor. `pend` is NULL while a
// connection is idle: it holds bytes only while a handshake or a frame header is incomplete.
typedef struct {
  uint8_t *pend;   // bytes of an incomplete handshake or frame, malloc'd
  uint32_t skip;   // payload bytes of a data frame still to discard
  uint16_t plen;   // bytes in pend
  uint8_t state;   // FREE, HANDSHAKE or OPEN
  uint8_t spare;
} conn_t;

static conn_t *table;
static size_t table_cap;
static int listen_fd = -1, epoll_fd = -1, stop_fd = -1;
static pthread_t loop_thread;
static int running;
static int open_count; // read from JavaScript, written by the loop thread (atomics)
static uint8_t read_buf[READ_SIZE]; // one buffer for every read: idle sockets own none

// ---------------------------------------------------------------- SHA-1 (FIPS 180-4 §6.1) and base64 (RFC 4648 §4)

static uint32_t rol(uint32_t x, int n) { return (x << n) | (x >> (32 - n)); }

static void sha1_block(uint32_t h[5], const uint8_t *p) {
  uint32_t w[80];
  for (int t = 0; t < 16; t++) w[t] = (uint32_t)p[4 * t] << 24 | (uint32_t)p[4 * t + 1] << 16 | (uint32_t)p[4 * t + 2] << 8 | p[4 * t + 3];
  for (int t = 16; t < 80; t++) w[t] = rol(w[t - 3] ^ w[t - 8] ^ w[t - 14] ^ w[t - 16], 1);
  uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
  for (int t = 0; t < 80; t++) {
    uint32_t f, k;
    if (t < 20) { f = (b & c) | (~b & d); k = 0x5a827999; }
    else if (t < 40) { f = b ^ c ^ d; k = 0x6ed9eba1; }
    else if (t < 60) { f = (b & c) | (b & d) | (c & d); k = 0x8f1bbcdc; }
    else { f = b ^ c ^ d; k = 0xca62c1d6; }
    uint32_t tmp = rol(a, 5) + f + e + k + w[t];
    e = d; d = c; c = rol(b, 30); b = a; a = tmp;
  }
  h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e;
}

// One-shot SHA-1 of a short message (the handshake's is 60 bytes).
static void sha1(const uint8_t *msg, size_t len, uint8_t out[20]) {
  uint32_t h[5] = {0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0};
  size_t i = 0;
  for (; i + 64 <= len; i += 64) sha1_block(h, msg + i);
  // Padding (§5.1.1): 0x80, zeros, then the length in bits as a 64-bit big-endian number.
  uint8_t tail[128] = {0};
  size_t rest = len - i;
  memcpy(tail, msg + i, rest);
  tail[rest] = 0x80;
  size_t blocks = rest + 9 <= 64 ? 1 : 2;
  uint64_t bits = (uint64_t)len * 8;
  for (int b = 0; b < 8; b++) tail[blocks * 64 - 1 - b] = (uint8_t)(bits >> (8 * b));
  for (size_t b = 0; b < blocks; b++) sha1_block(h, tail + 64 * b);
  for (int j = 0; j < 5; j++) {
    out[4 * j] = h[j] >> 24; out[4 * j + 1] = h[j] >> 16; out[4 * j + 2] = h[j] >> 8; out[4 * j + 3] = h[j];
  }
}

static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void base64(const uint8_t *in, size_t len, char *out) {
  size_t i = 0;
  for (; i + 3 <= len; i += 3) {
    uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
    *out++ = B64[v >> 18]; *out++ = B64[(v >> 12) & 63]; *out++ = B64[(v >> 6) & 63]; *out++ = B64[v & 63];
  }
  if (len - i == 1) {
    uint32_t v = (uint32_t)in[i] << 16;
    *out++ = B64[v >> 18]; *out++ = B64[(v >> 12) & 63]; *out++ = '='; *out++ = '=';
  } else if (len - i == 2) {
    uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
    *out++ = B64[v >> 18]; *out++ = B64[(v >> 12) & 63]; *out++ = B64[(v >> 6) & 63]; *out++ = '=';
  }
  *out = 0;
}

// ---------------------------------------------------------------- connections

static void drop(int fd) {
  conn_t *c = &table[fd];
  if (c->state == OPEN) __atomic_sub_fetch(&open_count, 1, __ATOMIC_RELAXED);
  free(c->pend);
  memset(c, 0, sizeof *c);
  close(fd); // also leaves the epoll set: nothing else holds this descriptor
}

// Replies are a few dozen bytes on a socket that has nothing else queued, so the kernel takes them
// whole; a connection whose send buffer is full anyway is dropped rather than given a queue.
static int send_all(int fd, const void *buf, size_t len) {
  ssize_t n;
  do n = send(fd, buf, len, MSG_NOSIGNAL); while (n < 0 && errno == EINTR);
  return n == (ssize_t)len ? 0 : -1;
}

// Close with a status code (RFC 6455 §5.5.1, §7.4.1), then close the TCP connection: the server
// closes first (§7.1.1), so lingering for the client's close frame would only hold memory.
static void fail(int fd, uint16_t code) {
  uint8_t f[4] = {0x88, 2, code >> 8, code & 0xff};
  send_all(fd, f, sizeof f);
  drop(fd);
}

static void http_error(int fd, const char *status, const char *extra) {
  char buf[256];
  int n = snprintf(buf, sizeof buf, "HTTP/1.1 %s\r\nConnection: close\r\nContent-Length: 0\r\n%s\r\n", status, extra);
  send_all(fd, buf, (size_t)n);
  drop(fd);
}

// Whether a comma-separated header value lists `token` (case-insensitive, RFC 7230 §7).
static int has_token(const char *v, size_t len, const char *token) {
  size_t tl = strlen(token);
  size_t i = 0;
  while (i < len) {
    while (i < len && (v[i] == ' ' || v[i] == '\t' || v[i] == ',')) i++;
    size_t s = i;
    while (i < len && v[i] != ',') i++;
    size_t e = i;
    while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t')) e--;
    if (e - s == tl && strncasecmp(v + s, token, tl) == 0) return 1;
  }
  return 0;
}

static int is_b64(char ch) {
  return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '+' || ch == '/';
}

// The opening handshake (RFC 6455 §4.2.1 checks, §4.2.2 response). Returns 0 when the connection is
// open, -1 when it was refused and closed.
static int handshake(int fd, char *head, size_t len) {
  char *end = head + len;
  char *eol = memmem(head, len, "\r\n", 2);
  // Request line: GET <request-target> HTTP/1.1 (§4.2.1 item 1; a higher 1.x minor version is fine).
  if (len < 14 || memcmp(head, "GET ", 4) != 0 || eol - head < 14 || memcmp(eol - 8, "HTTP/1.", 7) != 0 || eol[-1] < '1' || eol[-1] > '9') {
    http_error(fd, "400 Bad Request", "");
    return -1;
  }
  int host = 0, upgrade = 0, connection = 0, version = 0;
  const char *key = NULL;
  size_t key_len = 0;
  for (char *line = eol + 2; line < end; ) {
    char *next = memmem(line, (size_t)(end - line), "\r\n", 2);
    if (!next || next == line) break; // the empty line that ends the head
    char *colon = memchr(line, ':', (size_t)(next - line));
    if (colon) {
      size_t nlen = (size_t)(colon - line);
      char *v = colon + 1, *ve = next;
      while (v < ve && (*v == ' ' || *v == '\t')) v++;
      while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t')) ve--;
      size_t vlen = (size_t)(ve - v);
#define IS(name) (nlen == sizeof(name) - 1 && strncasecmp(line, name, nlen) == 0)
      if (IS("Host")) host = 1;
      else if (IS("Upgrade")) upgrade = has_token(v, vlen, "websocket");
      else if (IS("Connection")) connection = has_token(v, vlen, "upgrade");
      else if (IS("Sec-WebSocket-Key")) { key = v; key_len = vlen; }
      else if (IS("Sec-WebSocket-Version")) version = vlen == 2 && v[0] == '1' && v[1] == '3';
#undef IS
    }
    line = next + 2;
  }
  // The key must be base64 of 16 bytes (§4.2.1 item 5): 22 characters and "==".
  int key_ok = key && key_len == 24 && key[22] == '=' && key[23] == '=';
  for (size_t i = 0; key_ok && i < 22; i++) key_ok = is_b64(key[i]);
  if (!host || !upgrade || !connection || !key_ok) {
    http_error(fd, "400 Bad Request", "");
    return -1;
  }
  if (!version) { // §4.2.2 item 4 / §4.4: say which version this server speaks
    http_error(fd, "426 Upgrade Required", "Sec-WebSocket-Version: 13\r\n");
    return -1;
  }
  // Sec-WebSocket-Accept = base64(SHA-1(key + GUID)) (§4.2.2 item 5.4; GUID from §1.3).
  uint8_t msg[24 + 36], digest[20];
  memcpy(msg, key, 24);
  memcpy(msg + 24, "258EAFA5-E914-47DA-95CA-C5AB0DC85B11", 36);
  sha1(msg, sizeof msg, digest);
  char accept[29];
  base64(digest, 20, accept);
  char resp[160];
  int n = snprintf(resp, sizeof resp,
                   "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n", accept);
  if (send_all(fd, resp, (size_t)n) < 0) { drop(fd); return -1; }
  table[fd].state = OPEN;
  __atomic_add_fetch(&open_count, 1, __ATOMIC_RELAXED);
  return 0;
}

// Valid close codes a peer may send (RFC 6455 §7.4.1, §7.4.2; 1004-1006 and 1015 are reserved).
static int valid_close_code(unsigned code) {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
}

// Bytes of one connection. Returns 0 to keep reading, -1 once the connection is gone.
static int process(int fd, uint8_t *p, size_t n) {
  conn_t *c = &table[fd];
  size_t off = 0;
  if (c->state == HANDSHAKE) {
    uint8_t *e = memmem(p, n, "\r\n\r\n", 4);
    if (!e) {
      if (n > MAX_HEAD) { http_error(fd, "431 Request Header Fields Too Large", ""); return -1; }
      off = 0;
      goto keep;
    }
    off = (size_t)(e - p) + 4;
    if (off > MAX_HEAD) { http_error(fd, "431 Request Header Fields Too Large", ""); return -1; }
    if (handshake(fd, (char *)p, off) < 0) return -1;
  }
  while (off < n) {
    if (c->skip) { // the rest of a data frame's payload: read and discarded
      size_t take = n - off < c->skip ? n - off : c->skip;
      c->skip -= (uint32_t)take;
      off += take;
      continue;
    }
    if (n - off < 2) break;
    uint8_t b0 = p[off], b1 = p[off + 1];
    unsigned op = b0 & 0x0f, len7 = b1 & 0x7f;
    // Client frames must be masked (§5.1); no extension was negotiated, so RSV must be 0 (§5.2).
    if (!(b1 & 0x80) || (b0 & 0x70)) { fail(fd, 1002); return -1; }
    size_t hlen = 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0) + 4;
    if (n - off < hlen) break;
    uint64_t len = len7;
    if (len7 == 126) len = (uint64_t)p[off + 2] << 8 | p[off + 3];
    else if (len7 == 127) { len = 0; for (int i = 0; i < 8; i++) len = len << 8 | p[off + 2 + i]; }
    const uint8_t *mask = p + off + hlen - 4;
    if (op >= 8) {
      // Control frames: not fragmented, at most 125 bytes (§5.5); opcodes 0xB-0xF are reserved.
      if (!(b0 & 0x80) || len > 125 || op > 0xa) { fail(fd, 1002); return -1; }
      if (n - off < hlen + len) break;
      uint8_t out[2 + 125];
      for (size_t i = 0; i < len; i++) out[2 + i] = p[off + hlen + i] ^ mask[i & 3];
      off += hlen + len;
      if (op == 0x9) { // ping → pong with the same application data (§5.5.2, §5.5.3)
        out[0] = 0x8a; out[1] = (uint8_t)len;
        if (send_all(fd, out, 2 + len) < 0) { drop(fd); return -1; }
      } else if (op == 0x8) { // close → echo the status code, then close the connection (§5.5.1)
        if (len == 1) { fail(fd, 1002); return -1; }
        if (len >= 2) {
          unsigned code = (unsigned)out[2] << 8 | out[3];
          if (!valid_close_code(code)) { fail(fd, 1002); return -1; }
          out[0] = 0x88; out[1] = 2;
          send_all(fd, out, 4);
        } else {
          uint8_t empty[2] = {0x88, 0};
          send_all(fd, empty, 2);
        }
        drop(fd);
        return -1;
      } // a pong needs no answer
    } else if (op <= 2) {
      // Data frames are not delivered anywhere in this prototype; only their size is bounded.
      if (len > MAX_PAYLOAD) { fail(fd, 1009); return -1; }
      off += hlen;
      c->skip = (uint32_t)len;
    } else { // reserved data opcodes 3-7
      fail(fd, 1002);
      return -1;
    }
  }
keep:
  if (off < n) { // an incomplete head or frame header: keep its bytes until the next read
    c->pend = malloc(n - off);
    if (!c->pend) { drop(fd); return -1; }
    memcpy(c->pend, p + off, n - off);
    c->plen = (uint16_t)(n - off);
  }
  return 0;
}

static void on_readable(int fd) {
  ssize_t n;
  do n = recv(fd, read_buf, sizeof read_buf, 0); while (n < 0 && errno == EINTR);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
  if (n <= 0) { drop(fd); return; }
  conn_t *c = &table[fd];
  if (!c->pend) { process(fd, read_buf, (size_t)n); return; }
  // Rare: the previous read ended inside a head or frame header. Join and parse again.
  size_t total = c->plen + (size_t)n;
  uint8_t *joined = realloc(c->pend, total);
  if (!joined) { drop(fd); return; }
  memcpy(joined + c->plen, read_buf, (size_t)n);
  c->pend = NULL;
  c->plen = 0;
  process(fd, joined, total);
  free(joined);
}

static void on_acceptable(void) {
  for (;;) {
    int fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return; // EAGAIN, or out of descriptors: the backlog keeps the rest
    if ((size_t)fd >= table_cap) {
      size_t cap = table_cap ? table_cap : 1024;
      while (cap <= (size_t)fd) cap *= 2;
      conn_t *t = realloc(table, cap * sizeof *t);
      if (!t) { close(fd); continue; }
      memset(t + table_cap, 0, (cap - table_cap) * sizeof *t);
      table = t;
      table_cap = cap;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.fd = fd};
    if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &ev) < 0) { close(fd); continue; }
    table[fd].state = HANDSHAKE;
  }
}

static void *loop(void *arg) {
  (void)arg;
  struct epoll_event evs[256];
  for (;;) {
    int n = epoll_wait(epoll_fd, evs, 256, -1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return NULL;
    for (int i = 0; i < n; i++) {
      int fd = evs[i].data.fd;
      if (fd == stop_fd) return NULL;
      if (fd == listen_fd) on_acceptable();
      else if (table[fd].state == FREE) continue; // dropped earlier in this batch
      else if (evs[i].events & (EPOLLERR | EPOLLHUP)) drop(fd);
      else on_readable(fd); // EPOLLRDHUP included: recv returns 0 then, after any data left
    }
  }
}

// ---------------------------------------------------------------- N-API

static void stop_loop(void) {
  if (!running) return;
  uint64_t one = 1;
  if (write(stop_fd, &one, sizeof one) < 0) { /* the thread then runs until exit */ }
  pthread_join(loop_thread, NULL);
  running = 0;
  for (size_t fd = 0; fd < table_cap; fd++) if (table[fd].state != FREE) drop((int)fd);
  free(table);
  table = NULL;
  table_cap = 0;
  close(listen_fd); close(epoll_fd); close(stop_fd);
  listen_fd = epoll_fd = stop_fd = -1;
}

static void cleanup_hook(void *arg) { (void)arg; stop_loop(); }

static napi_value throw_errno(napi_env env, const char *what) {
  char msg[160];
  snprintf(msg, sizeof msg, "%s: %s", what, strerror(errno));
  napi_throw_error(env, NULL, msg);
  return NULL;
}

static napi_value js_listen(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  char host[64] = "127.0.0.1";
  int32_t port = 0;
  if (argc >= 1) napi_get_value_string_utf8(env, argv[0], host, sizeof host, NULL);
  if (argc >= 2) napi_get_value_int32(env, argv[1], &port);
  if (running) { napi_throw_error(env, NULL, "already listening"); return NULL; }

  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) { napi_throw_error(env, NULL, "host must be an IPv4 address"); return NULL; }
  listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (listen_fd < 0) return throw_errno(env, "socket");
  int one = 1;
  setsockopt(listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(listen_fd, (struct sockaddr *)&addr, sizeof addr) < 0) return throw_errno(env, "bind");
  if (listen(listen_fd, 4096) < 0) return throw_errno(env, "listen");
  socklen_t alen = sizeof addr;
  getsockname(listen_fd, (struct sockaddr *)&addr, &alen);

  epoll_fd = epoll_create1(EPOLL_CLOEXEC);
  stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (epoll_fd < 0 || stop_fd < 0) return throw_errno(env, "epoll");
  struct epoll_event ev = {.events = EPOLLIN, .data.fd = listen_fd};
  epoll_ctl(epoll_fd, EPOLL_CTL_ADD, listen_fd, &ev);
  ev.data.fd = stop_fd;
  epoll_ctl(epoll_fd, EPOLL_CTL_ADD, stop_fd, &ev);

  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 256 * 1024);
  int err = pthread_create(&loop_thread, &attr, loop, NULL);
  pthread_attr_destroy(&attr);
  if (err) { errno = err; return throw_errno(env, "pthread_create"); }
  running = 1;
  napi_add_env_cleanup_hook(env, cleanup_hook, NULL);

  napi_value result;
  napi_create_int32(env, ntohs(addr.sin_port), &result);
  return result;
}

static napi_value js_clients(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value result;
  napi_create_int32(env, __atomic_load_n(&open_count, __ATOMIC_RELAXED), &result);
  return result;
}

static napi_value js_close(napi_env env, napi_callback_info info) {
  (void)info;
  stop_loop();
  napi_remove_env_cleanup_hook(env, cleanup_hook, NULL);
  return NULL;
}

static napi_value js_mallinfo(napi_env env, napi_callback_info info) {
  (void)info;
  struct mallinfo2 m = mallinfo2();
  napi_value result, v;
  napi_create_object(env, &result);
  napi_create_double(env, (double)m.uordblks, &v);
  napi_set_named_property(env, result, "inUse", v);
  napi_create_double(env, (double)m.fordblks, &v);
  napi_set_named_property(env, result, "free", v);
  napi_create_double(env, (double)m.hblkhd, &v);
  napi_set_named_property(env, result, "mmapped", v);
  return result;
}

NAPI_MODULE_INIT() {
  napi_value fn, size;
  napi_create_function(env, "listen", NAPI_AUTO_LENGTH, js_listen, NULL, &fn);
  napi_set_named_property(env, exports, "listen", fn);
  napi_create_function(env, "clients", NAPI_AUTO_LENGTH, js_clients, NULL, &fn);
  napi_set_named_property(env, exports, "clients", fn);
  napi_create_function(env, "close", NAPI_AUTO_LENGTH, js_close, NULL, &fn);
  napi_set_named_property(env, exports, "close", fn);
  napi_create_function(env, "mallinfo", NAPI_AUTO_LENGTH, js_mallinfo, NULL, &fn);
  napi_set_named_property(env, exports, "mallinfo", fn);
  napi_create_uint32(env, sizeof(conn_t), &size);
  napi_set_named_property(env, exports, "stateBytes", size);
  return exports;
}
