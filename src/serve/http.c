/* http.c: the HTTP/1.1 message layer: a strict request-head parser and the
 * response-head writer (RFC 9110/9112 subset: origin-form targets,
 * Content-Length bodies, keep-alive, pipelining).
 *
 * Why our own and not libmicrohttpd (the service used MHD 0.9.75 before):
 * MHD writes the bodies of its own protocol errors (400 malformed request,
 * 414, 431 "request too big", 505) as compiled-in HTML strings that no
 * option changes, while the serving contract wants every error body to be
 * JSON; it has no whole-request deadline (its timeout is idle-only, so a
 * client sending a byte a second holds a connection forever); and micro-
 * batching requests that arrive together needs the event loop to hand a
 * group of complete requests to one batched forward pass, which MHD's
 * one-callback-per-request model (with suspend/resume) does not give
 * cheaply. The parser below is small, has strict limits (request line,
 * head size, field count), rejects what could desynchronize framing
 * (conflicting Content-Length, Transfer-Encoding, obs-fold, whitespace
 * before a colon) and is tested on its own (http_test.c). */
#include "serve/http.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

void cs_http_limits_default(cs_http_limits_t *l) {
  l->max_line = 8192;
  l->max_head = 16384;
  l->max_fields = 100;
}

size_t cs_http_head_end(const char *buf, size_t len, size_t *scan) {
  /* The head ends at the first empty line: "\n\n" or "\n\r\n". */
  size_t i = *scan;
  for (; i < len; i++) {
    if (buf[i] != '\n' || i == 0) continue;
    if (buf[i - 1] == '\n') return i + 1;
    if (buf[i - 1] == '\r' && i >= 2 && buf[i - 2] == '\n') return i + 1;
  }
  /* resume one byte back so a terminator split across reads is seen */
  *scan = len > 2 ? len - 2 : 0;
  return 0;
}

static int is_tchar(unsigned char c) {
  if (c >= 'a' && c <= 'z') return 1;
  if (c >= 'A' && c <= 'Z') return 1;
  if (c >= '0' && c <= '9') return 1;
  return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* Printable target characters (RFC 3986 plus '%'); no spaces or controls. */
static int is_target_char(unsigned char c) { return c > 0x20 && c < 0x7f; }

static const struct {
  const char *name;
  int id;
} methods[] = {{"GET", CS_HTTP_GET},         {"HEAD", CS_HTTP_HEAD},
               {"POST", CS_HTTP_POST},       {"PUT", CS_HTTP_PUT},
               {"DELETE", CS_HTTP_DELETE},   {"PATCH", CS_HTTP_PATCH},
               {"OPTIONS", CS_HTTP_OPTIONS}, {"TRACE", CS_HTTP_TRACE},
               {"CONNECT", CS_HTTP_CONNECT}};

static int method_id(const char *s, size_t len) {
  for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
    if (strlen(methods[i].name) == len && memcmp(methods[i].name, s, len) == 0)
      return methods[i].id;
  return CS_HTTP_OTHER;
}

/* Length of the line at p (up to but excluding CRLF or LF); *next is set
 * past the terminator. Returns -1 for a bare CR inside the line. */
static long line_at(const char *p, const char *end, const char **next) {
  const char *q = memchr(p, '\n', (size_t)(end - p));
  if (!q) return -1;
  *next = q + 1;
  const char *e = (q > p && q[-1] == '\r') ? q - 1 : q;
  if (memchr(p, '\r', (size_t)(e - p))) return -1;
  return (long)(e - p);
}

static int name_is(const char *name, size_t len, const char *want) {
  return strlen(want) == len && strncasecmp(name, want, len) == 0;
}

/* A comma-separated token list contains `tok` (case-insensitive). */
static int list_has(const char *v, size_t len, const char *tok) {
  size_t n_tok = strlen(tok), i = 0;
  while (i < len) {
    while (i < len && (v[i] == ' ' || v[i] == '\t' || v[i] == ',')) i++;
    size_t start = i;
    while (i < len && v[i] != ',') i++;
    size_t end = i;
    while (end > start && (v[end - 1] == ' ' || v[end - 1] == '\t')) end--;
    if (end - start == n_tok && strncasecmp(v + start, tok, n_tok) == 0) return 1;
  }
  return 0;
}

static int parse_content_length(const char *v, size_t len, int64_t *out) {
  if (len == 0 || len > 18) return -1;
  int64_t x = 0;
  for (size_t i = 0; i < len; i++) {
    if (v[i] < '0' || v[i] > '9') return -1;
    x = x * 10 + (v[i] - '0');
  }
  *out = x;
  return 0;
}

static int request_id_ok(const char *v, size_t len) {
  if (len == 0 || len > CS_HTTP_ID_MAX) return 0;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)v[i];
    if (!(is_tchar(c) || c == ':' || c == '/' || c == '=' || c == '@')) return 0;
  }
  return 1;
}

int cs_http_check_partial(const char *buf, size_t len,
                          const cs_http_limits_t *lim, const char **why) {
  const char *nl = memchr(buf, '\n', len);
  size_t line = nl ? (size_t)(nl - buf) : len;
  if (line > lim->max_line + 1) {
    *why = "request line too long";
    return 414;
  }
  if (len > lim->max_head) {
    *why = "request head (request line and header fields) too large";
    return 431;
  }
  return 0;
}

int cs_http_parse_head(const char *buf, size_t head_len,
                       const cs_http_limits_t *lim, cs_http_req_t *req,
                       const char **why) {
  memset(req, 0, sizeof *req);
  req->content_length = -1;
  req->head_len = head_len;
  const char *p = buf, *end = buf + head_len, *next = NULL;
  /* RFC 9112 2.2: ignore at least one empty line before the request line */
  if (p < end && (*p == '\n' || (*p == '\r' && p + 1 < end && p[1] == '\n')))
    p += *p == '\n' ? 1 : 2;
  long n = line_at(p, end, &next);
  if (n < 0) {
    *why = "bare CR in the request line";
    return 400;
  }
  if ((size_t)n > lim->max_line) {
    *why = "request line too long";
    return 414;
  }
  if (head_len > lim->max_head) {
    *why = "request head (request line and header fields) too large";
    return 431;
  }
  /* request-line = method SP request-target SP HTTP-version */
  const char *line = p, *le = p + n;
  const char *sp1 = memchr(line, ' ', (size_t)n);
  if (!sp1 || sp1 == line) {
    *why = "malformed request line";
    return 400;
  }
  for (const char *c = line; c < sp1; c++)
    if (!is_tchar((unsigned char)*c)) {
      *why = "malformed method";
      return 400;
    }
  const char *tgt = sp1 + 1;
  const char *sp2 = memchr(tgt, ' ', (size_t)(le - tgt));
  if (!sp2 || sp2 == tgt) {
    *why = "malformed request line";
    return 400;
  }
  const char *ver = sp2 + 1;
  size_t ver_len = (size_t)(le - ver);
  if (ver_len != 8 || memcmp(ver, "HTTP/", 5) != 0 || ver[5] < '0' ||
      ver[5] > '9' || ver[6] != '.' || ver[7] < '0' || ver[7] > '9') {
    *why = "malformed HTTP version";
    return 400;
  }
  if (ver[5] != '1' || ver[7] > '1') {
    *why = "only HTTP/1.0 and HTTP/1.1 are supported";
    return 505;
  }
  req->minor = ver[7] - '0';
  req->method_str = line;
  req->method_len = (size_t)(sp1 - line);
  req->method = method_id(line, req->method_len);
  for (const char *c = tgt; c < sp2; c++)
    if (!is_target_char((unsigned char)*c)) {
      *why = "malformed request target";
      return 400;
    }
  if (*tgt != '/') {
    *why = "request target must be a path (origin-form, starting with '/')";
    return 400;
  }
  req->path = tgt;
  const char *q = memchr(tgt, '?', (size_t)(sp2 - tgt));
  req->path_len = (size_t)((q ? q : sp2) - tgt);

  int keep_alive = req->minor == 1, has_close = 0, has_keep = 0, has_host = 0;
  int n_fields = 0;
  p = next;
  for (;;) {
    n = line_at(p, end, &next);
    if (n < 0) {
      *why = "bare CR in a header field";
      return 400;
    }
    if (n == 0) break;
    if (++n_fields > lim->max_fields) {
      *why = "too many header fields";
      return 431;
    }
    if (*p == ' ' || *p == '\t') {
      *why = "obsolete line folding in a header field";
      return 400;
    }
    const char *colon = memchr(p, ':', (size_t)n);
    if (!colon || colon == p) {
      *why = "malformed header field";
      return 400;
    }
    for (const char *c = p; c < colon; c++)
      if (!is_tchar((unsigned char)*c)) {
        *why = "malformed header field name (or whitespace before ':')";
        return 400;
      }
    const char *v = colon + 1, *ve = p + n;
    while (v < ve && (*v == ' ' || *v == '\t')) v++;
    while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t')) ve--;
    for (const char *c = v; c < ve; c++) {
      unsigned char ch = (unsigned char)*c;
      if ((ch < 0x20 && ch != '\t') || ch == 0x7f) {
        *why = "control character in a header field value";
        return 400;
      }
    }
    size_t name_len = (size_t)(colon - p), vlen = (size_t)(ve - v);
    if (name_is(p, name_len, "content-length")) {
      int64_t cl;
      if (parse_content_length(v, vlen, &cl) != 0) {
        *why = "malformed Content-Length";
        return 400;
      }
      if (req->content_length >= 0 && req->content_length != cl) {
        *why = "conflicting Content-Length header fields";
        return 400;
      }
      req->content_length = cl;
    } else if (name_is(p, name_len, "transfer-encoding")) {
      req->chunked = 1;
    } else if (name_is(p, name_len, "connection")) {
      if (list_has(v, vlen, "close")) has_close = 1;
      if (list_has(v, vlen, "keep-alive")) has_keep = 1;
    } else if (name_is(p, name_len, "expect")) {
      if (vlen == 12 && strncasecmp(v, "100-continue", 12) == 0)
        req->expect_continue = 1;
    } else if (name_is(p, name_len, "host")) {
      if (has_host) {
        *why = "more than one Host header field";
        return 400;
      }
      has_host = 1;
    } else if (name_is(p, name_len, "x-request-id")) {
      if (request_id_ok(v, vlen)) {
        memcpy(req->request_id, v, vlen);
        req->request_id[vlen] = '\0';
      }
    }
    p = next;
  }
  if (req->minor == 1 && !has_host) {
    *why = "HTTP/1.1 request without a Host header field";
    return 400;
  }
  if (req->chunked) {
    *why = req->content_length >= 0
               ? "both Transfer-Encoding and Content-Length"
               : "Transfer-Encoding bodies are not accepted: send Content-Length";
    return req->content_length >= 0 ? 400 : 411;
  }
  if (has_close) keep_alive = 0;
  else if (req->minor == 0 && has_keep) keep_alive = 1;
  req->keep_alive = keep_alive;
  return 0;
}

const char *cs_http_reason(int status) {
  switch (status) {
  case 100: return "Continue";
  case 200: return "OK";
  case 400: return "Bad Request";
  case 404: return "Not Found";
  case 405: return "Method Not Allowed";
  case 408: return "Request Timeout";
  case 409: return "Conflict";
  case 411: return "Length Required";
  case 413: return "Content Too Large";
  case 414: return "URI Too Long";
  case 431: return "Request Header Fields Too Large";
  case 500: return "Internal Server Error";
  case 501: return "Not Implemented";
  case 503: return "Service Unavailable";
  case 505: return "HTTP Version Not Supported";
  default: return "Unknown";
  }
}

/* Bounded appends; pos latches past cap on overflow. */
static void put(char *buf, size_t cap, size_t *pos, const char *s, size_t len) {
  if (*pos + len > cap) {
    *pos = cap + 1;
    return;
  }
  memcpy(buf + *pos, s, len);
  *pos += len;
}
#define PUTS(s) put(buf, cap, &pos, s, strlen(s))

static void put_u64(char *buf, size_t cap, size_t *pos, uint64_t v) {
  char tmp[24];
  int n = 0;
  do {
    tmp[sizeof tmp - 1 - n++] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  put(buf, cap, pos, tmp + sizeof tmp - n, (size_t)n);
}

size_t cs_http_write_head(char *buf, size_t cap, int status,
                          const char *content_type, size_t content_length,
                          const char *date, const char *request_id,
                          const char *extra, int keep_alive, int minor) {
  size_t pos = 0;
  PUTS("HTTP/1.1 ");
  put_u64(buf, cap, &pos, (uint64_t)status);
  PUTS(" ");
  PUTS(cs_http_reason(status));
  PUTS("\r\n");
  if (content_type) {
    PUTS("Content-Type: ");
    PUTS(content_type);
    PUTS("\r\n");
  }
  PUTS("Content-Length: ");
  put_u64(buf, cap, &pos, content_length);
  PUTS("\r\n");
  if (date) {
    PUTS("Date: ");
    PUTS(date);
    PUTS("\r\n");
  }
  if (request_id && *request_id) {
    PUTS("X-Request-Id: ");
    PUTS(request_id);
    PUTS("\r\n");
  }
  if (extra) PUTS(extra);
  if (!keep_alive) PUTS("Connection: close\r\n");
  else if (minor == 0) PUTS("Connection: keep-alive\r\n");
  PUTS("\r\n");
  return pos > cap ? 0 : pos;
}

size_t cs_json_escape(char *buf, size_t cap, const char *s, size_t len) {
  static const char hex[] = "0123456789abcdef";
  size_t pos = 0;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    char tmp[8];
    size_t n = 0;
    if (c == '"' || c == '\\') {
      tmp[n++] = '\\';
      tmp[n++] = (char)c;
    } else if (c < 0x20 || c == 0x7f) {
      tmp[n++] = '\\';
      tmp[n++] = 'u';
      tmp[n++] = '0';
      tmp[n++] = '0';
      tmp[n++] = hex[c >> 4];
      tmp[n++] = hex[c & 15];
    } else {
      tmp[n++] = (char)c;
    }
    if (pos + n > cap) return 0;
    memcpy(buf + pos, tmp, n);
    pos += n;
  }
  return pos;
}

/* Keep a UTF-8 prefix whole: cut before a continuation byte sequence. */
static size_t utf8_cut(const char *s, size_t len) {
  while (len > 0 && ((unsigned char)s[len] & 0xc0) == 0x80) len--;
  return len;
}

size_t cs_http_error_body(char *buf, size_t cap, const char *name,
                          const char *message) {
  size_t pos = 0;
  PUTS("{\"error\": \"");
  PUTS(name);
  PUTS("\", \"message\": \"");
  size_t room = cap > pos + 3 ? cap - pos - 3 : 0, len = strlen(message), n = 0;
  /* escaping at most sextuples a byte: shrink until it fits */
  while (len > 0 && (n = cs_json_escape(buf + pos, room, message, len)) == 0)
    len = utf8_cut(message, len > room / 6 ? room / 6 : len - 1);
  pos += n;
  PUTS("\"}");
  return pos > cap ? cap : pos;
}
