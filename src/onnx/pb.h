/* pb.h: a small Protocol Buffers (proto2/proto3 wire format) encoder, just
 * what the ONNX export writes: varints, 64-bit integers, fixed32 floats,
 * length-delimited bytes/strings/sub-messages and packed repeated int64.
 * Not public: used by src/onnx/ and its test.
 *
 * Wire format (protobuf encoding spec): a field is a key varint
 * (field_number << 3 | wire_type) then its value; wire types used here are
 * 0 (varint), 2 (length-delimited: varint length then bytes) and 5
 * (fixed32, little-endian). A varint is 7 bits per byte, least significant
 * group first, high bit set on every byte but the last; a negative int64
 * is encoded as its two's-complement uint64 (10 bytes).
 *
 * A buffer grows as needed. Allocation failure or a message that would
 * pass protobuf's 2 GiB limit sets `failed`; later calls do nothing, so a
 * builder checks once at the end. */
#ifndef COLDSTART_ONNX_PB_H
#define COLDSTART_ONNX_PB_H

#include <stddef.h>
#include <stdint.h>

#define CS__PB_WIRE_VARINT 0
#define CS__PB_WIRE_LEN 2
#define CS__PB_WIRE_FIXED32 5
#define CS__PB_MAX_SIZE ((size_t)INT32_MAX) /* protobuf's 2 GiB limit */

typedef struct cs__pb {
  uint8_t *data; /* owned (cs__pb_free) */
  size_t len, cap;
  int failed;    /* 1 after an allocation failure or size overflow */
} cs__pb_t;

void cs__pb_init(cs__pb_t *b);
void cs__pb_free(cs__pb_t *b);
/* Hand the bytes over to the caller (free() them); the buffer is reset. */
uint8_t *cs__pb_take(cs__pb_t *b, size_t *len);

/* Raw pieces. */
void cs__pb_raw(cs__pb_t *b, const void *data, size_t n);
void cs__pb_varint(cs__pb_t *b, uint64_t v);
void cs__pb_key(cs__pb_t *b, int field, int wire_type);
/* Bytes a varint of v takes (1..10). */
size_t cs__pb_varint_size(uint64_t v);

/* Fields. int64 and int32/enum fields are varints (negative: 10 bytes). */
void cs__pb_int64(cs__pb_t *b, int field, int64_t v);
void cs__pb_float(cs__pb_t *b, int field, float v);
void cs__pb_bytes(cs__pb_t *b, int field, const void *data, size_t n);
void cs__pb_string(cs__pb_t *b, int field, const char *s);
/* A nested message whose encoding is `child` (it stays owned by the
 * caller). */
void cs__pb_message(cs__pb_t *b, int field, const cs__pb_t *child);
/* packed repeated int64: one length-delimited field of varints. */
void cs__pb_packed_int64(cs__pb_t *b, int field, const int64_t *v, size_t n);
/* `n` floats as little-endian IEEE 754 bytes in one length-delimited field
 * (ONNX TensorProto.raw_data). */
void cs__pb_floats_le(cs__pb_t *b, int field, const float *v, size_t n);

#endif
