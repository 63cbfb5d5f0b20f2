/* http_test.c: the request-head parser on good and hostile heads (known
 * answers: status, framing fields), the head writer and the JSON error
 * body. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serve/http.h"

static int parse(const char *head, cs_http_req_t *req) {
  cs_http_limits_t lim;
  cs_http_limits_default(&lim);
  size_t scan = 0, len = strlen(head);
  size_t hl = cs_http_head_end(head, len, &scan);
  if (!hl) return -1;
  const char *why = NULL;
  return cs_http_parse_head(head, hl, &lim, req, &why);
}

static void test_good(void **state) {
  (void)state;
  cs_http_req_t r;
  assert_int_equal(parse("POST /recommend?x=1 HTTP/1.1\r\nHost: a\r\nContent-Length: 12\r\n"
                         "X-Request-Id: abc-123\r\nExpect: 100-continue\r\n\r\n", &r), 0);
  assert_int_equal(r.method, CS_HTTP_POST);
  assert_int_equal((int)r.path_len, 10);
  assert_memory_equal(r.path, "/recommend", 10);
  assert_int_equal(r.content_length, 12);
  assert_int_equal(r.keep_alive, 1);
  assert_int_equal(r.expect_continue, 1);
  assert_string_equal(r.request_id, "abc-123");
  /* bare LF line ends, HTTP/1.0 keep-alive, unknown method token */
  assert_int_equal(parse("FOO /health HTTP/1.0\nConnection: Keep-Alive\n\n", &r), 0);
  assert_int_equal(r.method, CS_HTTP_OTHER);
  assert_int_equal(r.keep_alive, 1);
  assert_int_equal(r.content_length, -1);
  assert_int_equal(parse("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", &r), 0);
  assert_int_equal(r.keep_alive, 0);
  /* identical repeated Content-Length is one value */
  assert_int_equal(parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-length: 5\r\n\r\n", &r), 0);
  assert_int_equal(r.content_length, 5);
  /* a bad X-Request-Id is dropped, not echoed */
  assert_int_equal(parse("GET / HTTP/1.1\r\nHost: a\r\nX-Request-Id: a\"b\r\n\r\n", &r), 0);
  assert_string_equal(r.request_id, "");
}

static void test_bad(void **state) {
  (void)state;
  cs_http_req_t r;
  assert_int_equal(parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", &r), 400);
  assert_int_equal(parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -5\r\n\r\n", &r), 400);
  assert_int_equal(parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5x\r\n\r\n", &r), 400);
  assert_int_equal(parse("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n", &r), 411);
  assert_int_equal(parse("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n", &r), 400);
  assert_int_equal(parse("GET / HTTP/2.0\r\nHost: a\r\n\r\n", &r), 505);
  assert_int_equal(parse("GET / HTTX/1.1\r\nHost: a\r\n\r\n", &r), 400);
  assert_int_equal(parse("GET / HTTP/1.1\r\n\r\n", &r), 400); /* no Host */
  assert_int_equal(parse("GET http://a/ HTTP/1.1\r\nHost: a\r\n\r\n", &r), 400);
  assert_int_equal(parse("GET / HTTP/1.1\r\nHost : a\r\n\r\n", &r), 400);
  assert_int_equal(parse("GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n", &r), 400);
  assert_int_equal(parse("GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n", &r), 400);
  assert_int_equal(parse("GET  / HTTP/1.1\r\nHost: a\r\n\r\n", &r), 400);
  assert_int_equal(parse("G(T / HTTP/1.1\r\nHost: a\r\n\r\n", &r), 400);
  assert_int_equal(parse("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", &r), 400);
}

static void test_limits(void **state) {
  (void)state;
  cs_http_limits_t lim;
  cs_http_limits_default(&lim);
  size_t n = 20000;
  char *big = malloc(n + 64);
  memcpy(big, "GET /", 5);
  memset(big + 5, 'a', n);
  big[5 + n] = '\0';
  const char *why = NULL;
  /* no end of line yet, already longer than a request line may be */
  assert_int_equal(cs_http_check_partial(big, strlen(big), &lim, &why), 414);
  /* short request line, headers past the head limit */
  snprintf(big, 64, "GET / HTTP/1.1\r\nX: ");
  memset(big + strlen(big), 'b', n - 64);
  big[n - 40] = '\0';
  assert_int_equal(cs_http_check_partial(big, strlen(big), &lim, &why), 431);
  strcat(big, "\r\n\r\n");
  cs_http_req_t r;
  assert_int_equal(parse(big, &r), 431);
  free(big);
  /* the terminator split across reads is still found */
  size_t scan = 0;
  const char *h = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
  size_t len = strlen(h);
  assert_int_equal((int)cs_http_head_end(h, len - 1, &scan), 0);
  assert_int_equal((int)cs_http_head_end(h, len, &scan), (int)len);
}

static void test_writer(void **state) {
  (void)state;
  char buf[512];
  size_t n = cs_http_write_head(buf, sizeof buf, 405, "application/json", 42, NULL, "id-1",
                                "Allow: POST\r\n", 1, 1);
  buf[n] = '\0';
  assert_string_equal(buf, "HTTP/1.1 405 Method Not Allowed\r\nContent-Type: application/json\r\n"
                           "Content-Length: 42\r\nX-Request-Id: id-1\r\nAllow: POST\r\n\r\n");
  n = cs_http_write_head(buf, sizeof buf, 200, NULL, 0, NULL, NULL, NULL, 1, 0);
  buf[n] = '\0';
  assert_string_equal(buf, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: keep-alive\r\n\r\n");
  assert_int_equal((int)cs_http_write_head(buf, 20, 200, NULL, 0, NULL, NULL, NULL, 0, 1), 0);
  n = cs_http_error_body(buf, sizeof buf, "EFORMAT", "bad \"x\"\n\\");
  buf[n] = '\0';
  assert_string_equal(buf, "{\"error\": \"EFORMAT\", \"message\": \"bad \\\"x\\\"\\u000a\\\\\"}");
  /* a message too long for the buffer is cut, the JSON stays whole */
  char msg[400];
  memset(msg, '"', sizeof msg - 1);
  msg[sizeof msg - 1] = '\0';
  char small[128];
  n = cs_http_error_body(small, sizeof small, "EFORMAT", msg);
  assert_true(n <= sizeof small);
  assert_memory_equal(small + n - 2, "\"}", 2);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_good), cmocka_unit_test(test_bad),
                                     cmocka_unit_test(test_limits), cmocka_unit_test(test_writer)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
