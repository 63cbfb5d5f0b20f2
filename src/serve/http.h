/* http.h: the HTTP/1.1 message layer of the service (internal to
 * src/serve/): a strict parser for a request head (request line + header
 * fields) and the writer of a response head. No I/O here: server.c owns the
 * sockets. See http.c for why this is not libmicrohttpd. */
#ifndef COLDSTART_SERVE_HTTP_H
#define COLDSTART_SERVE_HTTP_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
  CS_HTTP_GET = 0,
  CS_HTTP_HEAD,
  CS_HTTP_POST,
  CS_HTTP_PUT,
  CS_HTTP_DELETE,
  CS_HTTP_PATCH,
  CS_HTTP_OPTIONS,
  CS_HTTP_TRACE,
  CS_HTTP_CONNECT,
  CS_HTTP_OTHER /* a well-formed token we do not know (e.g. "FOO") */
} cs_http_method_t;

#define CS_HTTP_ID_MAX 128 /* longest X-Request-Id kept */

typedef struct cs_http_limits {
  size_t max_line; /* request line, bytes without CRLF (8192): else 414 */
  size_t max_head; /* request line + headers, bytes (16384): else 431 */
  int max_fields;  /* header fields (100): else 431 */
} cs_http_limits_t;

void cs_http_limits_default(cs_http_limits_t *l);

/* One parsed request head. Pointers point into the parsed buffer. */
typedef struct cs_http_req {
  int method;             /* cs_http_method_t */
  const char *method_str; /* the token as sent */
  size_t method_len;
  const char *path;       /* origin-form path, without the query */
  size_t path_len;
  int minor;              /* HTTP/1.<minor>: 0 or 1 */
  int keep_alive;         /* after this request (version + Connection) */
  int64_t content_length; /* -1 when absent */
  int chunked;            /* Transfer-Encoding present */
  int expect_continue;    /* Expect: 100-continue */
  char request_id[CS_HTTP_ID_MAX + 1]; /* X-Request-Id if well-formed, else "" */
  size_t head_len;        /* bytes of the head, final empty line included */
} cs_http_req_t;

/* Find the end of a request head in buf[0..len): returns the head length
 * (through the empty line; lines may end in CRLF or a bare LF), or 0 when
 * it is not complete yet. `*scan` (start at 0) remembers how far the
 * search got between calls, so a head arriving byte by byte costs linear
 * time. */
size_t cs_http_head_end(const char *buf, size_t len, size_t *scan);

/* Parse a complete head of `head_len` bytes (from cs_http_head_end).
 * Returns 0, or the HTTP status to refuse the request with (400 malformed,
 * 414 request line too long, 431 head too large, 505 version, 411 a body
 * framed by Transfer-Encoding, which this server does not take), with a
 * static explanation in *why. */
int cs_http_parse_head(const char *buf, size_t head_len,
                       const cs_http_limits_t *lim, cs_http_req_t *req,
                       const char **why);

/* For a head that is not complete yet: 0 while it can still become valid,
 * else the status (414 or 431) to refuse it with. */
int cs_http_check_partial(const char *buf, size_t len,
                          const cs_http_limits_t *lim, const char **why);

/* The reason phrase of a status ("Not Found"); "Unknown" when not listed. */
const char *cs_http_reason(int status);

/* Write a response head into buf (cap bytes): status line, Content-Type
 * (when not NULL), Content-Length, Date (`date`: an IMF-fixdate, may be
 * NULL), X-Request-Id (when not empty), the `extra` header lines (each
 * ending in CRLF, may be NULL), then Connection: close when !keep_alive
 * (Connection: keep-alive for a kept HTTP/1.0 client), and the empty line.
 * Returns the length, or 0 when cap is too small. */
size_t cs_http_write_head(char *buf, size_t cap, int status,
                          const char *content_type, size_t content_length,
                          const char *date, const char *request_id,
                          const char *extra, int keep_alive, int minor);

/* Write the body of an error reply, {"error": NAME, "message": TEXT} with
 * TEXT escaped as a JSON string. Returns the length (truncating the message
 * to fit; cap must be at least 64). */
size_t cs_http_error_body(char *buf, size_t cap, const char *name,
                          const char *message);

/* Append `s` as the inside of a JSON string (quotes, backslashes and
 * control characters escaped). Returns the bytes written, or 0 when it does
 * not fit in cap (nothing useful is written then). */
size_t cs_json_escape(char *buf, size_t cap, const char *s, size_t len);

#endif
