/* json_list.h: the strict parser for lists stored as JSON text, the way
 * fastparquet writes list columns ("[0.0019, -0.0154, 1e-05]"): what
 * import-deezer reads from Deezer's own embedding tables. Internal to the
 * importer (prefix cs__). */
#ifndef COLDSTART_JSON_LIST_H
#define COLDSTART_JSON_LIST_H

#include <stddef.h>
#include <stdint.h>

/* Parse `len` bytes of `text` (not NUL-terminated) as one JSON array of
 * numbers: optional JSON whitespace (space, tab, CR, LF) around the brackets,
 * the commas and the numbers; numbers in strict JSON grammar
 * (-?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?), so NaN, Infinity, a
 * leading '+' or '.', hex, nested arrays, strings, trailing commas and
 * trailing bytes are errors. The first `cap` values go to out[] as float
 * (strtod, then rounded to float); *n_values = how many the array holds
 * (counted past `cap`; out may be NULL to count only). A value that
 * overflows a float is an error. Returns 0, or -1 with a reason
 * ("bad number '0.002x' at byte 9") in why[why_cap]. */
int cs__json_list_parse(const uint8_t *text, size_t len, float *out, int64_t cap,
                        int64_t *n_values, char *why, size_t why_cap);

#endif
