/* pb.c: the Protocol Buffers wire-format encoder of pb.h. */
#include "onnx/pb.h"

#include <stdlib.h>
#include <string.h>

void cs__pb_init(cs__pb_t *b) { memset(b, 0, sizeof *b); }

void cs__pb_free(cs__pb_t *b) {
  if (!b) return;
  free(b->data);
  memset(b, 0, sizeof *b);
}

uint8_t *cs__pb_take(cs__pb_t *b, size_t *len) {
  uint8_t *data = b->data;
  *len = b->len;
  memset(b, 0, sizeof *b);
  return data;
}

/* Make room for n more bytes; returns 0 or sets failed. */
static int reserve(cs__pb_t *b, size_t n) {
  if (b->failed) return -1;
  if (n > CS__PB_MAX_SIZE - b->len) {
    b->failed = 1;
    return -1;
  }
  if (b->len + n <= b->cap) return 0;
  size_t cap = b->cap ? b->cap : 256;
  while (cap < b->len + n) cap = cap > CS__PB_MAX_SIZE / 2 ? CS__PB_MAX_SIZE : cap * 2;
  uint8_t *data = realloc(b->data, cap);
  if (!data) {
    b->failed = 1;
    return -1;
  }
  b->data = data;
  b->cap = cap;
  return 0;
}

void cs__pb_raw(cs__pb_t *b, const void *data, size_t n) {
  if (n == 0 || reserve(b, n)) return;
  memcpy(b->data + b->len, data, n);
  b->len += n;
}

size_t cs__pb_varint_size(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    n++;
  }
  return n;
}

void cs__pb_varint(cs__pb_t *b, uint64_t v) {
  uint8_t tmp[10];
  size_t n = 0;
  while (v >= 0x80) {
    tmp[n++] = (uint8_t)(v & 0x7f) | 0x80;
    v >>= 7;
  }
  tmp[n++] = (uint8_t)v;
  cs__pb_raw(b, tmp, n);
}

void cs__pb_key(cs__pb_t *b, int field, int wire_type) {
  cs__pb_varint(b, ((uint64_t)(uint32_t)field << 3) | (uint64_t)wire_type);
}

void cs__pb_int64(cs__pb_t *b, int field, int64_t v) {
  cs__pb_key(b, field, CS__PB_WIRE_VARINT);
  cs__pb_varint(b, (uint64_t)v);
}

static void put_le32(uint8_t *out, uint32_t u) {
  out[0] = (uint8_t)u;
  out[1] = (uint8_t)(u >> 8);
  out[2] = (uint8_t)(u >> 16);
  out[3] = (uint8_t)(u >> 24);
}

void cs__pb_float(cs__pb_t *b, int field, float v) {
  uint32_t u;
  memcpy(&u, &v, sizeof u);
  uint8_t le[4];
  put_le32(le, u);
  cs__pb_key(b, field, CS__PB_WIRE_FIXED32);
  cs__pb_raw(b, le, sizeof le);
}

void cs__pb_bytes(cs__pb_t *b, int field, const void *data, size_t n) {
  cs__pb_key(b, field, CS__PB_WIRE_LEN);
  cs__pb_varint(b, n);
  cs__pb_raw(b, data, n);
}

void cs__pb_string(cs__pb_t *b, int field, const char *s) {
  cs__pb_bytes(b, field, s, strlen(s));
}

void cs__pb_message(cs__pb_t *b, int field, const cs__pb_t *child) {
  if (child->failed) {
    b->failed = 1;
    return;
  }
  cs__pb_bytes(b, field, child->data, child->len);
}

void cs__pb_packed_int64(cs__pb_t *b, int field, const int64_t *v, size_t n) {
  size_t len = 0;
  for (size_t i = 0; i < n; i++) len += cs__pb_varint_size((uint64_t)v[i]);
  cs__pb_key(b, field, CS__PB_WIRE_LEN);
  cs__pb_varint(b, len);
  for (size_t i = 0; i < n; i++) cs__pb_varint(b, (uint64_t)v[i]);
}

void cs__pb_floats_le(cs__pb_t *b, int field, const float *v, size_t n) {
  if (n > CS__PB_MAX_SIZE / 4) {
    b->failed = 1;
    return;
  }
  cs__pb_key(b, field, CS__PB_WIRE_LEN);
  cs__pb_varint(b, n * 4);
  if (reserve(b, n * 4)) return;
  uint8_t *out = b->data + b->len;
  for (size_t i = 0; i < n; i++) {
    uint32_t u;
    memcpy(&u, &v[i], sizeof u);
    put_le32(out + 4 * i, u);
  }
  b->len += n * 4;
}
