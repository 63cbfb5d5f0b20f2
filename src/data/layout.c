/* layout.c: the feature layout tables (see layout.h, docs/features.md). */
#include "coldstart/layout.h"

#include <stdio.h>
#include <string.h>

const char *const cs_feature_blocks[CS_N_BLOCKS] = {
    "age",
    "country",
    "favorite_songs",
    "favorite_artists",
    "favorite_albums",
    "favorite_playlists",
    "onboarding_like_artists",
    "skipped_songs",
    "skipped_artists",
    "skipped_albums",
    "streamed_songs",
    "streamed_artists",
    "streamed_albums",
    "banned_songs",
    "banned_artists",
    "banned_albums",
    "search_songs",
    "search_artists",
    "search_albums",
    "search_playlists",
};

const char *const cs_feature_counts[CS_N_COUNTS] = {
    "nb_favorite_songs",   "nb_favorite_albums",  "nb_favorite_artists",
    "nb_favorite_playlists", "nb_skipped_songs",  "nb_skipped_artists",
    "nb_skipped_albums",   "nb_banned_songs",     "nb_banned_artists",
    "nb_banned_albums",    "nb_streamed_songs",   "nb_streamed_artists",
    "nb_streamed_albums",  "nb_search_songs",     "nb_search_albums",
    "nb_search_artists",   "nb_search_playlists", "nb_onboarding_like_artists",
};

static const char *const action_names[CS_N_ACTIONS] = {
    "stream", "skip", "favorite", "ban", "search", "onboarding_like"};
static const char *const kind_names[CS_N_KINDS] = {"song", "artist", "album",
                                                   "playlist"};

/* Block of (action, kind), cs_feature_blocks indices. */
static const signed char block_of[CS_N_ACTIONS][CS_N_KINDS] = {
    /* stream */ {10, 11, 12, -1},
    /* skip */ {7, 8, 9, -1},
    /* favorite */ {2, 3, 4, 5},
    /* ban */ {13, 14, 15, -1},
    /* search */ {16, 17, 18, 19},
    /* onboarding_like */ {-1, 6, -1, -1},
};

/* Block feeding each count, in the release's count order. */
static const signed char count_block[CS_N_COUNTS] = {2,  4,  3,  5,  7,  8,
                                                     9,  13, 14, 15, 10, 11,
                                                     12, 16, 18, 17, 19, 6};

int cs_feature_column_name(int dim, int col, char *buf, size_t cap) {
  if (dim <= 0 || col < 0 || col >= cs_n_features(dim)) return -1;
  if (col < CS_N_BLOCKS * dim)
    return snprintf(buf, cap, "%s_embedding%d", cs_feature_blocks[col / dim],
                    col % dim);
  if (col == cs_feature_age_column(dim)) return snprintf(buf, cap, "age_value");
  return snprintf(buf, cap, "%s", cs_feature_counts[col - CS_N_BLOCKS * dim - 1]);
}

const char *cs_action_name(int action) {
  return action >= 0 && action < CS_N_ACTIONS ? action_names[action] : "?";
}

const char *cs_kind_name(int kind) {
  return kind >= 0 && kind < CS_N_KINDS ? kind_names[kind] : "?";
}

static int parse_word(const char *const *names, int n, const char *s,
                      size_t len) {
  for (int i = 0; i < n; i++)
    if (strlen(names[i]) == len && memcmp(names[i], s, len) == 0) return i;
  return -1;
}

int cs_action_parse(const char *s, size_t len) {
  return s ? parse_word(action_names, CS_N_ACTIONS, s, len) : -1;
}

int cs_kind_parse(const char *s, size_t len) {
  return s ? parse_word(kind_names, CS_N_KINDS, s, len) : -1;
}

int cs_feature_block_of(int action, int kind) {
  if (action < 0 || action >= CS_N_ACTIONS || kind < 0 || kind >= CS_N_KINDS)
    return -1;
  return block_of[action][kind];
}

int cs_feature_song_adds_artist_album(int action) {
  return action == CS_ACTION_STREAM || action == CS_ACTION_SKIP ||
         action == CS_ACTION_BAN;
}

int cs_feature_count_block(int count) {
  return count >= 0 && count < CS_N_COUNTS ? count_block[count] : -1;
}
