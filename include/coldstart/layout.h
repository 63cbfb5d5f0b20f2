/* layout.h: the feature layout every module reads (docs/features.md): the
 * release's 20 embedding blocks, age_value and 18 counts, in column order;
 * the raw-log action and kind words; which (action, kind) event feeds which
 * block; which block feeds each count. The one place these are written. */
#ifndef COLDSTART_LAYOUT_H
#define COLDSTART_LAYOUT_H

#include <stddef.h>

#define CS_N_BLOCKS 20
#define CS_N_COUNTS 18

/* Blocks 0 and 1 hold demographics (the mean target of training users
 * sharing the age / country), not events. */
enum { CS_BLOCK_AGE = 0, CS_BLOCK_COUNTRY = 1, CS_FIRST_EVENT_BLOCK = 2 };

typedef enum {
  CS_ACTION_STREAM = 0,
  CS_ACTION_SKIP = 1,
  CS_ACTION_FAVORITE = 2,
  CS_ACTION_BAN = 3,
  CS_ACTION_SEARCH = 4,
  CS_ACTION_ONBOARDING_LIKE = 5,
  CS_N_ACTIONS = 6
} cs_action_t;

typedef enum {
  CS_KIND_SONG = 0,
  CS_KIND_ARTIST = 1,
  CS_KIND_ALBUM = 2,
  CS_KIND_PLAYLIST = 3,
  CS_N_KINDS = 4
} cs_kind_t;

/* Longest country code kept (bytes, without terminator). */
#define CS_COUNTRY_MAX 8

/* Block names ("age", ..., "search_playlists") and count names
 * ("nb_favorite_songs", ..., "nb_onboarding_like_artists"), release order. */
extern const char *const cs_feature_blocks[CS_N_BLOCKS];
extern const char *const cs_feature_counts[CS_N_COUNTS];

/* F = 20 d + 19: the blocks, then age_value, then the counts. */
static inline int cs_n_features(int dim) {
  return CS_N_BLOCKS * dim + 1 + CS_N_COUNTS;
}
/* Column of age_value (-1 when unknown); the counts follow it. */
static inline int cs_feature_age_column(int dim) { return CS_N_BLOCKS * dim; }
static inline int cs_feature_count_column(int dim, int count) {
  return CS_N_BLOCKS * dim + 1 + count;
}

/* The release's name of column `col` (< cs_n_features(dim)):
 * "<block>_embedding<j>", "age_value" or a count name. Returns what
 * snprintf returns; -1 when col is out of range. */
int cs_feature_column_name(int dim, int col, char *buf, size_t cap);

/* "stream", "skip", "favorite", "ban", "search", "onboarding_like" and
 * "song", "artist", "album", "playlist"; "?" out of range. */
const char *cs_action_name(int action);
const char *cs_kind_name(int kind);
/* Parse a word of `len` bytes (not necessarily terminated); -1 if unknown. */
int cs_action_parse(const char *s, size_t len);
int cs_kind_parse(const char *s, size_t len);

/* Block an (action, kind) event contributes its own item to (block word =
 * action word mapped stream->streamed, skip->skipped, ban->banned, others
 * unchanged, plus the kind in the plural), or -1 when that block does not
 * exist (e.g. a streamed playlist). */
int cs_feature_block_of(int action, int kind);
/* 1 when an event of `action` on a SONG also contributes the song's artist
 * and album to the next two blocks (<action>_artists, <action>_albums):
 * streams, skips and bans. */
int cs_feature_song_adds_artist_album(int action);
/* Block whose contribution count is count `count` (0..17). */
int cs_feature_count_block(int count);

/* The streamed_songs block: the d0-streams strategy's user vector. */
static inline int cs_feature_streamed_songs_block(void) {
  return cs_feature_block_of(CS_ACTION_STREAM, CS_KIND_SONG);
}

#endif
