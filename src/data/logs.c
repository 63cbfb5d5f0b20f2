/* logs.c: reader for the raw-log folder (docs/data.md): mmap'ed TSV files,
 * hand-written field splitting and integer parsing, one error per malformed
 * line naming file, line, field and value. */
#include "coldstart/logs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "coldstart/dist.h"
#include "coldstart/io.h"
#include "data/idmap.h"

enum { F_CATALOG, F_PLAYLISTS, F_USERS, F_EVENTS };
static const char *const file_names[4] = {"catalog.tsv", "playlists.tsv",
                                          "users.tsv", "events.tsv"};

#define MAX_FIELDS 8

typedef struct {
  const char *s;
  size_t len;
} field_t;

/* A cursor over one mmap'ed file. */
typedef struct {
  const char *path;
  const char *p, *end;
  int64_t line; /* 1-based number of the line last returned */
} reader_t;

/* Next line [*ls, *le) without its "\n" / "\r\n"; 0 at end of file. */
static int next_line(reader_t *r, const char **ls, const char **le) {
  if (r->p >= r->end) return 0;
  const char *s = r->p;
  const char *nl = memchr(s, '\n', (size_t)(r->end - s));
  const char *e = nl ? nl : r->end;
  r->p = nl ? nl + 1 : r->end;
  if (e > s && e[-1] == '\r') e--;
  r->line++;
  *ls = s;
  *le = e;
  return 1;
}

static int64_t count_lines(const char *p, const char *end) {
  int64_t n = 0;
  while (p < end) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    n++;
    if (!nl) break;
    p = nl + 1;
  }
  return n;
}

/* Split on tabs; returns the number of fields (at most MAX_FIELDS + 1, the
 * extra one meaning "too many"). */
static int split(const char *s, const char *e, field_t *f) {
  int n = 0;
  for (;;) {
    const char *t = memchr(s, '\t', (size_t)(e - s));
    const char *fe = t ? t : e;
    if (n <= MAX_FIELDS) {
      f[n].s = s;
      f[n].len = (size_t)(fe - s);
    }
    n++;
    if (!t) break;
    s = t + 1;
  }
  return n > MAX_FIELDS + 1 ? MAX_FIELDS + 1 : n;
}

/* Non-negative decimal id that fits int64. */
static int parse_id(field_t f, int64_t *out) {
  if (f.len == 0 || f.len > 19) return -1;
  uint64_t v = 0;
  for (size_t i = 0; i < f.len; i++) {
    unsigned c = (unsigned char)f.s[i] - '0';
    if (c > 9) return -1;
    v = v * 10 + c;
  }
  if (v > (uint64_t)INT64_MAX) return -1;
  *out = (int64_t)v;
  return 0;
}

/* Signed decimal that fits int32. */
static int parse_i32(field_t f, int32_t *out) {
  size_t i = 0;
  int neg = 0;
  if (f.len && (f.s[0] == '-' || f.s[0] == '+')) {
    neg = f.s[0] == '-';
    i = 1;
  }
  if (i == f.len || f.len - i > 10) return -1;
  int64_t v = 0;
  for (; i < f.len; i++) {
    unsigned c = (unsigned char)f.s[i] - '0';
    if (c > 9) return -1;
    v = v * 10 + c;
  }
  if (neg) v = -v;
  if (v < INT32_MIN || v > INT32_MAX) return -1;
  *out = (int32_t)v;
  return 0;
}

static int bad_field(cs_err_t *err, const reader_t *r, const char *field,
                     const char *what, field_t f) {
  int show = f.len > 60 ? 60 : (int)f.len;
  return cs_err_set(err, CS_EFORMAT, "%s:%lld: %s: %s, got '%.*s'%s", r->path,
                    (long long)r->line, field, what, show, f.s,
                    f.len > 60 ? "..." : "");
}

/* Open a file, check its header line; fills the reader and the number of
 * data lines (an upper bound: the count of line starts after the header). */
static int open_table(cs_mmap_t *m, reader_t *r, const char *dir, int which,
                      const char *header, char *path_buf, size_t cap,
                      int64_t *n_lines, cs_err_t *err) {
  snprintf(path_buf, cap, "%s/%s", dir, file_names[which]);
  int rc = cs_mmap_open(m, path_buf, err);
  if (rc) return rc;
  if (m->size > 0)
    (void)madvise((void *)m->data, m->size, MADV_SEQUENTIAL);
  r->path = path_buf;
  r->p = (const char *)m->data;
  r->end = r->p + m->size;
  r->line = 0;
  const char *ls, *le;
  if (!next_line(r, &ls, &le))
    return cs_err_set(err, CS_EFORMAT, "%s:1: empty file (expected header '%s')",
                      path_buf, header);
  size_t hl = strlen(header);
  if ((size_t)(le - ls) != hl || memcmp(ls, header, hl) != 0) {
    int show = le - ls > 120 ? 120 : (int)(le - ls);
    char want[160];
    snprintf(want, sizeof want, "%s", header);
    for (char *c = want; *c; c++)
      if (*c == '\t') *c = ',';
    return cs_err_set(err, CS_EFORMAT,
                      "%s:1: bad header '%.*s' (expected the tab-separated "
                      "columns %s)",
                      path_buf, show, ls, want);
  }
  if (n_lines) *n_lines = count_lines(r->p, r->end);
  return 0;
}

/* Fetch the next data line split into exactly n_expect fields; 0 at end of
 * file, 1 with fields, or a negative error code. */
static int next_record(reader_t *r, field_t *f, int n_expect, cs_err_t *err) {
  const char *ls, *le;
  if (!next_line(r, &ls, &le)) return 0;
  if (ls == le) {
    /* a final empty line (file ending in "\n\n") is still an error: it
     * would be a silently ignored record in other readers */
    return cs_err_set(err, CS_EFORMAT, "%s:%lld: empty line", r->path,
                      (long long)r->line);
  }
  int n = split(ls, le, f);
  if (n != n_expect)
    return cs_err_set(err, CS_EFORMAT, "%s:%lld: expected %d tab-separated "
                      "fields, got %s%d",
                      r->path, (long long)r->line, n_expect,
                      n > MAX_FIELDS ? "more than " : "",
                      n > MAX_FIELDS ? MAX_FIELDS : n);
  return 1;
}

static void *alloc_n(int64_t n, size_t size) {
  return malloc((size_t)(n > 0 ? n : 1) * size);
}

typedef struct {
  cs__idmap_t users, songs, artists, albums, playlists;
} maps_t;

static void maps_free(maps_t *mp) {
  cs__idmap_free(&mp->users);
  cs__idmap_free(&mp->songs);
  cs__idmap_free(&mp->artists);
  cs__idmap_free(&mp->albums);
  cs__idmap_free(&mp->playlists);
}

static int read_catalog(cs_logs_t *L, const char *dir, maps_t *mp,
                        cs_err_t *err) {
  cs_mmap_t m;
  reader_t r;
  char path[4096];
  int64_t n_lines = 0;
  int rc = open_table(&m, &r, dir, F_CATALOG, "song_id\tartist_id\talbum_id",
                      path, sizeof path, &n_lines, err);
  if (rc) return rc;
  L->bytes[F_CATALOG] = (int64_t)m.size;
  L->song_ids = alloc_n(n_lines, sizeof(int64_t));
  L->song_artist = alloc_n(n_lines, sizeof(int64_t));
  L->song_album = alloc_n(n_lines, sizeof(int64_t));
  if (!L->song_ids || !L->song_artist || !L->song_album ||
      cs__idmap_init(&mp->songs, n_lines) ||
      cs__idmap_init(&mp->artists, 1024) || cs__idmap_init(&mp->albums, 1024)) {
    cs_mmap_close(&m);
    return cs_err_set(err, CS_ENOMEM, "%s: %lld lines", path,
                      (long long)n_lines);
  }
  field_t f[MAX_FIELDS + 1];
  int64_t n = 0;
  while ((rc = next_record(&r, f, 3, err)) == 1) {
    int64_t id = 0, artist = -1, album = -1;
    if (parse_id(f[0], &id))
      rc = bad_field(err, &r, "song_id", "expected a non-negative integer", f[0]);
    else if (f[1].len && parse_id(f[1], &artist))
      rc = bad_field(err, &r, "artist_id",
                     "expected a non-negative integer or empty", f[1]);
    else if (f[2].len && parse_id(f[2], &album))
      rc = bad_field(err, &r, "album_id",
                     "expected a non-negative integer or empty", f[2]);
    if (rc < 0) break;
    if (n >= INT32_MAX) {
      rc = cs_err_set(err, CS_ETOOBIG, "%s: more than %d songs", path, INT32_MAX);
      break;
    }
    int64_t got = cs__idmap_put(&mp->songs, id, (int32_t)n);
    if (got < 0) {
      rc = cs_err_set(err, CS_ENOMEM, "%s", path);
      break;
    }
    if (got != n) {
      rc = cs_err_set(err, CS_EFORMAT, "%s:%lld: song_id %lld already defined "
                      "(song row %lld)",
                      path, (long long)r.line, (long long)id, (long long)got);
      break;
    }
    if ((artist >= 0 && cs__idmap_put(&mp->artists, artist, 0) < 0) ||
        (album >= 0 && cs__idmap_put(&mp->albums, album, 0) < 0)) {
      rc = cs_err_set(err, CS_ENOMEM, "%s", path);
      break;
    }
    L->song_ids[n] = id;
    L->song_artist[n] = artist;
    L->song_album[n] = album;
    n++;
  }
  cs_mmap_close(&m);
  if (rc < 0) return rc;
  if (n == 0)
    return cs_err_set(err, CS_EFORMAT, "%s: no songs", path);
  L->n_songs = n;
  return 0;
}

static int read_playlists(cs_logs_t *L, const char *dir, maps_t *mp,
                          cs_err_t *err) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, file_names[F_PLAYLISTS]);
  if (cs__idmap_init(&mp->playlists, 1024))
    return cs_err_set(err, CS_ENOMEM, "%s", path);
  if (!cs_path_exists(path)) return 0;
  cs_mmap_t m;
  reader_t r;
  int64_t n_lines = 0;
  int rc = open_table(&m, &r, dir, F_PLAYLISTS, "playlist_id\tsong_id", path,
                      sizeof path, &n_lines, err);
  if (rc) return rc;
  L->has_playlists = 1;
  L->bytes[F_PLAYLISTS] = (int64_t)m.size;
  L->playlist_ids = alloc_n(n_lines, sizeof(int64_t));
  L->playlist_song_rows = alloc_n(n_lines, sizeof(int32_t));
  if (!L->playlist_ids || !L->playlist_song_rows) {
    cs_mmap_close(&m);
    return cs_err_set(err, CS_ENOMEM, "%s", path);
  }
  field_t f[MAX_FIELDS + 1];
  int64_t n = 0;
  while ((rc = next_record(&r, f, 2, err)) == 1) {
    int64_t pl = 0, song = 0;
    if (parse_id(f[0], &pl))
      rc = bad_field(err, &r, "playlist_id", "expected a non-negative integer",
                     f[0]);
    else if (parse_id(f[1], &song))
      rc = bad_field(err, &r, "song_id", "expected a non-negative integer", f[1]);
    if (rc < 0) break;
    if (cs__idmap_put(&mp->playlists, pl, 0) < 0) {
      rc = cs_err_set(err, CS_ENOMEM, "%s", path);
      break;
    }
    int32_t row = cs__idmap_get(&mp->songs, song);
    if (row < 0) {
      L->n_playlist_unknown_songs++;
      continue;
    }
    L->playlist_ids[n] = pl;
    L->playlist_song_rows[n] = row;
    n++;
  }
  cs_mmap_close(&m);
  if (rc < 0) return rc;
  L->n_playlist_entries = n;
  return 0;
}

static int read_users(cs_logs_t *L, const char *dir, maps_t *mp,
                      cs_err_t *err) {
  cs_mmap_t m;
  reader_t r;
  char path[4096];
  int64_t n_lines = 0;
  int rc = open_table(&m, &r, dir, F_USERS,
                      "user_id\tregistration_day\tage\tcountry", path,
                      sizeof path, &n_lines, err);
  if (rc) return rc;
  L->bytes[F_USERS] = (int64_t)m.size;
  L->user_ids = alloc_n(n_lines, sizeof(int64_t));
  L->user_reg_day = alloc_n(n_lines, sizeof(int32_t));
  L->user_age = alloc_n(n_lines, sizeof(int32_t));
  L->user_country = alloc_n(n_lines, sizeof *L->user_country);
  if (!L->user_ids || !L->user_reg_day || !L->user_age || !L->user_country ||
      cs__idmap_init(&mp->users, n_lines)) {
    cs_mmap_close(&m);
    return cs_err_set(err, CS_ENOMEM, "%s", path);
  }
  field_t f[MAX_FIELDS + 1];
  int64_t n = 0;
  while ((rc = next_record(&r, f, 4, err)) == 1) {
    int64_t id = 0;
    int32_t day = 0, age = -1;
    if (parse_id(f[0], &id))
      rc = bad_field(err, &r, "user_id", "expected a non-negative integer", f[0]);
    else if (parse_i32(f[1], &day))
      rc = bad_field(err, &r, "registration_day", "expected an integer day",
                     f[1]);
    else if (f[2].len && (parse_i32(f[2], &age) || age < 0 || age > 150))
      rc = bad_field(err, &r, "age", "expected an integer in [0, 150] or empty",
                     f[2]);
    else if (f[3].len > CS_COUNTRY_MAX)
      rc = bad_field(err, &r, "country", "expected a code of at most 8 bytes",
                     f[3]);
    if (rc < 0) break;
    for (size_t i = 0; i < f[3].len && rc >= 0; i++)
      if ((unsigned char)f[3].s[i] < 0x20)
        rc = bad_field(err, &r, "country", "control character in code", f[3]);
    if (rc < 0) break;
    if (n >= INT32_MAX) {
      rc = cs_err_set(err, CS_ETOOBIG, "%s: more than %d users", path, INT32_MAX);
      break;
    }
    int64_t got = cs__idmap_put(&mp->users, id, (int32_t)n);
    if (got < 0) {
      rc = cs_err_set(err, CS_ENOMEM, "%s", path);
      break;
    }
    if (got != n) {
      rc = cs_err_set(err, CS_EFORMAT, "%s:%lld: user_id %lld already defined",
                      path, (long long)r.line, (long long)id);
      break;
    }
    L->user_ids[n] = id;
    L->user_reg_day[n] = day;
    L->user_age[n] = age;
    memset(L->user_country[n], 0, sizeof L->user_country[n]);
    memcpy(L->user_country[n], f[3].s, f[3].len);
    n++;
  }
  cs_mmap_close(&m);
  if (rc < 0) return rc;
  L->n_users = n;
  return 0;
}

/* events.tsv is parsed in parallel: the data is cut into one chunk per
 * thread at line boundaries, each chunk's lines are counted (so every chunk
 * knows its first line number and output row), then parsed into its rows.
 * The reported error is the first bad line of the file. */
typedef struct {
  const char *begin, *end;
  int64_t first_line; /* file line number of the chunk's first line */
  int64_t first_row;
  int64_t n_lines;
  int64_t unknown_users;
  int64_t unknown_items[CS_N_KINDS];
} events_chunk_t;

typedef struct {
  const char *path;
  events_chunk_t *chunks; /* [n_threads] */
  const maps_t *mp;
  cs_logs_t *L;
} events_job_t;

static int count_chunk(void *arg, int64_t begin, int64_t end, int tid,
                       cs_err_t *err) {
  events_job_t *J = arg;
  for (int64_t c = begin; c < end; c++)
    J->chunks[c].n_lines = count_lines(J->chunks[c].begin, J->chunks[c].end);
  return 0;
}

static int parse_chunk(void *arg, int64_t begin, int64_t end, int tid, cs_err_t *err) {
  events_job_t *J = arg;
  const maps_t *mp = J->mp;
  cs_logs_t *L = J->L;
  const cs__idmap_t *kind_map[CS_N_KINDS] = {&mp->songs, &mp->artists,
                                             &mp->albums, &mp->playlists};
  for (int64_t c = begin; c < end; c++) {
    events_chunk_t *C = &J->chunks[c];
    reader_t r = {J->path, C->begin, C->end, C->first_line - 1};
    field_t f[MAX_FIELDS + 1];
    int64_t n = C->first_row;
    int rc;
    while ((rc = next_record(&r, f, 5, err)) == 1) {
      int64_t user = 0, item = 0;
      int32_t day = 0;
      int action = -1, kind = -1;
      if (parse_id(f[0], &user))
        rc = bad_field(err, &r, "user_id", "expected a non-negative integer",
                       f[0]);
      else if (parse_i32(f[1], &day))
        rc = bad_field(err, &r, "day", "expected an integer day", f[1]);
      else if ((action = cs_action_parse(f[2].s, f[2].len)) < 0)
        rc = cs_err_set(err, CS_EFORMAT,
                        "%s:%lld: unknown action '%.*s' (stream, skip, "
                        "favorite, ban, search, onboarding_like)",
                        r.path, (long long)r.line,
                        f[2].len > 60 ? 60 : (int)f[2].len, f[2].s);
      else if ((kind = cs_kind_parse(f[3].s, f[3].len)) < 0)
        rc = cs_err_set(err, CS_EFORMAT,
                        "%s:%lld: unknown kind '%.*s' (song, artist, album, "
                        "playlist)",
                        r.path, (long long)r.line,
                        f[3].len > 60 ? 60 : (int)f[3].len, f[3].s);
      else if (parse_id(f[4], &item))
        rc = bad_field(err, &r, "item_id", "expected a non-negative integer",
                       f[4]);
      if (rc < 0) break;
      int32_t urow = cs__idmap_get(&mp->users, user);
      if (urow < 0) C->unknown_users++;
      int32_t irow = cs__idmap_get(kind_map[kind], item);
      if (irow < 0) C->unknown_items[kind]++;
      L->ev_user[n] = urow;
      L->ev_day[n] = day;
      L->ev_action[n] = (uint8_t)action;
      L->ev_kind[n] = (uint8_t)kind;
      L->ev_item[n] = item;
      L->ev_song[n] = kind == CS_KIND_SONG ? irow : -1;
      n++;
    }
    if (rc < 0) return rc;
  }
  return 0;
}

/* The first line start at or after p (a line starts at `begin` or after a
 * newline). */
static const char *line_start_at(const char *begin, const char *end,
                                 const char *p) {
  if (p <= begin) return begin;
  if (p >= end) return end;
  if (p[-1] == '\n') return p;
  const char *nl = memchr(p, '\n', (size_t)(end - p));
  return nl ? nl + 1 : end;
}

/* Under MPI (docs/mpi.md) rank r of N parses only bytes [r/N, (r+1)/N) of
 * the data lines, cut at line starts (pages outside its range are never
 * read); its first line number comes from the others' line counts. */
static int read_events(cs_logs_t *L, const char *dir, maps_t *mp,
                       const cs_ctx_t *ctx, cs_err_t *err) {
  const cs_dist_t *d = cs_dist_of(ctx);
  cs_mmap_t m;
  reader_t r;
  char path[4096];
  memset(&m, 0, sizeof m);
  int rc = open_table(&m, &r, dir, F_EVENTS,
                      "user_id\tday\taction\tkind\titem_id", path, sizeof path,
                      NULL, err);
  if ((rc = cs_dist_agree(d, rc, err))) {
    cs_mmap_close(&m);
    return rc;
  }
  L->bytes[F_EVENTS] = (int64_t)m.size;
  size_t all = (size_t)(r.end - r.p);
  const char *lo = line_start_at(r.p, r.end, r.p + all / (size_t)d->size *
                                                       (size_t)d->rank);
  const char *hi = d->rank + 1 == d->size
                       ? r.end
                       : line_start_at(r.p, r.end,
                                       r.p + all / (size_t)d->size *
                                                 (size_t)(d->rank + 1));
  int nt = cs_ctx_threads(ctx);
  size_t body = (size_t)(hi - lo);
  if (body < ((size_t)1 << 20)) nt = 1;
  events_chunk_t *chunks = calloc((size_t)nt, sizeof *chunks);
  int64_t *lines_of = malloc((size_t)d->size * sizeof *lines_of);
  rc = chunks && lines_of ? 0 : cs_err_set(err, CS_ENOMEM, "%s", path);
  if ((rc = cs_dist_agree(d, rc, err))) {
    cs_mmap_close(&m);
    free(chunks);
    free(lines_of);
    return rc;
  }
  events_job_t job = {path, chunks, mp, L};
  const char *at = lo;
  for (int c = 0; c < nt; c++) {
    const char *e = c + 1 == nt ? hi : lo + body / (size_t)nt * (size_t)(c + 1);
    if (e < at) e = at;
    if (c + 1 < nt && e < hi) {
      const char *nl = memchr(e, '\n', (size_t)(hi - e));
      e = nl ? nl + 1 : hi;
    }
    chunks[c].begin = at;
    chunks[c].end = e;
    at = e;
  }
  cs_parallel_for(nt, nt, count_chunk, &job, NULL);
  int64_t n_lines = 0, first = 0;
  for (int c = 0; c < nt; c++) n_lines += chunks[c].n_lines;
  cs_dist_allgather_i64(d, n_lines, lines_of);
  L->n_events_total = 0;
  for (int q = 0; q < d->size; q++) {
    if (q < d->rank) first += lines_of[q];
    L->n_events_total += lines_of[q];
  }
  free(lines_of);
  n_lines = 0;
  for (int c = 0; c < nt; c++) {
    chunks[c].first_line = 2 + first + n_lines; /* line 1 is the header */
    chunks[c].first_row = n_lines;
    n_lines += chunks[c].n_lines;
  }
  L->ev_user = alloc_n(n_lines, sizeof(int32_t));
  L->ev_day = alloc_n(n_lines, sizeof(int32_t));
  L->ev_action = alloc_n(n_lines, 1);
  L->ev_kind = alloc_n(n_lines, 1);
  L->ev_item = alloc_n(n_lines, sizeof(int64_t));
  L->ev_song = alloc_n(n_lines, sizeof(int32_t));
  if (!L->ev_user || !L->ev_day || !L->ev_action || !L->ev_kind ||
      !L->ev_item || !L->ev_song)
    rc = cs_err_set(err, CS_ENOMEM, "%s: %lld lines", path,
                    (long long)n_lines);
  /* chunks (and ranks) are in file order, so the lowest failing one holds
   * the file's first bad line */
  if (!rc) rc = cs_parallel_for(nt, nt, parse_chunk, &job, err);
  cs_mmap_close(&m);
  int64_t unknown[1 + CS_N_KINDS] = {0};
  for (int c = 0; c < nt && !rc; c++) {
    unknown[0] += chunks[c].unknown_users;
    for (int k = 0; k < CS_N_KINDS; k++)
      unknown[1 + k] += chunks[c].unknown_items[k];
  }
  free(chunks);
  if ((rc = cs_dist_agree(d, rc, err))) return rc;
  /* the counters are the whole file's */
  cs_dist_sum_i64(d, unknown, 1 + CS_N_KINDS);
  L->n_unknown_user_events += unknown[0];
  for (int k = 0; k < CS_N_KINDS; k++) L->n_unknown_items[k] += unknown[1 + k];
  L->n_events = n_lines;
  return 0;
}

int cs_logs_read(cs_logs_t *L, const char *dir, const cs_ctx_t *ctx,
                 cs_err_t *err) {
  memset(L, 0, sizeof *L);
  maps_t mp;
  memset(&mp, 0, sizeof mp);
  double t0 = cs_now();
  int rc = read_catalog(L, dir, &mp, err);
  double t1 = cs_now();
  L->seconds[F_CATALOG] = t1 - t0;
  if (!rc) rc = read_playlists(L, dir, &mp, err);
  double t2 = cs_now();
  L->seconds[F_PLAYLISTS] = t2 - t1;
  if (!rc) rc = read_users(L, dir, &mp, err);
  double t3 = cs_now();
  L->seconds[F_USERS] = t3 - t2;
  /* under MPI every rank reads the three small files whole; an error there
   * is every rank's (checked so that no rank enters read_events alone) */
  rc = cs_dist_agree(cs_dist_of(ctx), rc, err);
  if (!rc) rc = read_events(L, dir, &mp, ctx, err);
  L->seconds[F_EVENTS] = cs_now() - t3;
  maps_free(&mp);
  if (rc) {
    cs_logs_free(L);
    return rc;
  }
  if (ctx) {
    for (int i = 0; i < 4; i++)
      if (L->bytes[i])
        cs_log(ctx, CS_LOG_INFO, "read %s: %.1f MB in %.2fs (%.0f MB/s)",
               file_names[i], L->bytes[i] / 1e6, L->seconds[i],
               L->bytes[i] / 1e6 / (L->seconds[i] > 1e-9 ? L->seconds[i] : 1e-9));
  }
  return 0;
}

int64_t cs_logs_n_unknown(const cs_logs_t *L) {
  int64_t n = L->n_unknown_user_events + L->n_playlist_unknown_songs;
  for (int k = 0; k < CS_N_KINDS; k++) n += L->n_unknown_items[k];
  return n;
}

void cs_logs_free_events(cs_logs_t *L) {
  if (!L) return;
  free(L->ev_user);
  free(L->ev_day);
  free(L->ev_action);
  free(L->ev_kind);
  free(L->ev_item);
  free(L->ev_song);
  L->ev_user = L->ev_day = L->ev_song = NULL;
  L->ev_action = L->ev_kind = NULL;
  L->ev_item = NULL;
}

void cs_logs_free(cs_logs_t *L) {
  if (!L) return;
  free(L->song_ids);
  free(L->song_artist);
  free(L->song_album);
  free(L->playlist_ids);
  free(L->playlist_song_rows);
  free(L->user_ids);
  free(L->user_reg_day);
  free(L->user_age);
  free(L->user_country);
  free(L->ev_user);
  free(L->ev_day);
  free(L->ev_action);
  free(L->ev_kind);
  free(L->ev_item);
  free(L->ev_song);
  memset(L, 0, sizeof *L);
}
