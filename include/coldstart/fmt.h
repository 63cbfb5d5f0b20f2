/* fmt.h: number formatting for the JSON we write a lot of. */
#ifndef COLDSTART_FMT_H
#define COLDSTART_FMT_H

/* x as printf's "%.9g" writes it (9 significant digits: strtof reads back
 * the same float), byte for byte, into out (at least 32 bytes, NUL-
 * terminated); returns the length. About 10x faster than snprintf for the
 * magnitudes scores and distances have (1e-13 to 1e13); outside them, and
 * in the rare near-tie roundings double arithmetic cannot settle, it calls
 * snprintf. Non-finite values are written as snprintf does ("nan", "inf"). */
int cs_fmt_float9(char *out, float x);

#endif
