/* request.c: one online request: parse the JSON body (raw events or a
 * feature vector), featurize, recommend, and write the response JSON. The
 * same JSON writer serves `coldstart recommend`. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coldstart/featurize.h"
#include "coldstart/mat.h"
#include "coldstart/serve.h"

struct cs_handler {
  const cs_model_t *model;
  cs_handler_params_t params;
  cs_rec_ws_t *ws;
  float *features;    /* [n_features] */
  cs_event_t *events; /* [max_events] */
  char *out;          /* response buffer */
  size_t cap_out;
};

/* A bounded output buffer; `full` latches when anything did not fit. */
typedef struct {
  char *buf;
  size_t cap, pos;
  int full;
} out_t;

static void put_str(out_t *o, const char *str, size_t len) {
  if (o->full || len > o->cap - o->pos) {
    o->full = 1;
    return;
  }
  memcpy(o->buf + o->pos, str, len);
  o->pos += len;
}
#define PUT_LIT(o, lit) put_str(o, lit, sizeof(lit) - 1)

static void put_i64(out_t *o, int64_t v) {
  char tmp[24];
  int n = 0;
  uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
  do {
    tmp[sizeof tmp - 1 - n++] = (char)('0' + u % 10);
    u /= 10;
  } while (u);
  if (v < 0) tmp[sizeof tmp - 1 - n++] = '-';
  put_str(o, tmp + sizeof tmp - n, (size_t)n);
}

/* A float as JSON: 9 significant digits read back to the same float;
 * non-finite values (never produced) are written as 0. */
static void put_float(out_t *o, float x) {
  char tmp[32];
  if (!isfinite(x)) x = 0.0f;
  int n = snprintf(tmp, sizeof tmp, "%.9g", (double)x);
  put_str(o, tmp, (size_t)n);
}

int64_t cs_rec_write_json(const cs_model_t *m, int64_t user_id,
                          const cs_rec_t *rec, char *buf, size_t cap) {
  out_t o = {buf, cap, 0, 0};
  const char *name = cs_strategy_name(rec->strategy);
  PUT_LIT(&o, "{\"user_id\": ");
  put_i64(&o, user_id);
  PUT_LIT(&o, ", \"strategy\": \"");
  put_str(&o, name, strlen(name));
  PUT_LIT(&o, "\", \"memberships\": [");
  for (int j = 0; j < rec->n_members; j++) {
    if (j) PUT_LIT(&o, ", ");
    PUT_LIT(&o, "{\"cluster\": ");
    put_i64(&o, rec->member_cluster[j]);
    PUT_LIT(&o, ", \"weight\": ");
    put_float(&o, rec->member_weight[j]);
    PUT_LIT(&o, ", \"distance\": ");
    put_float(&o, rec->member_dist[j]);
    PUT_LIT(&o, "}");
  }
  PUT_LIT(&o, "], \"items\": [");
  for (int i = 0; i < rec->n_items; i++) {
    if (i) PUT_LIT(&o, ", ");
    PUT_LIT(&o, "{\"song_id\": ");
    put_i64(&o, m->song_ids[rec->songs[i]]);
    PUT_LIT(&o, ", \"score\": ");
    put_float(&o, rec->scores[i]);
    PUT_LIT(&o, ", \"clusters\": [");
    int first = 1;
    for (int j = 0; j < rec->n_members; j++) {
      if (!(rec->item_mask[i] >> j & 1u)) continue;
      if (!first) PUT_LIT(&o, ", ");
      put_i64(&o, rec->member_cluster[j]);
      first = 0;
    }
    PUT_LIT(&o, "]}");
  }
  PUT_LIT(&o, "]}");
  return o.full ? -1 : (int64_t)o.pos;
}

void cs_handler_params_default(cs_handler_params_t *p) {
  cs_strategy_params_default(&p->strat);
  p->default_strategy = CS_STRAT_SOFT;
  p->max_events = 10000;
  p->max_k = 1000;
}

int cs_handler_create(cs_handler_t **out, const cs_model_t *m,
                      const cs_handler_params_t *p, cs_err_t *err) {
  *out = NULL;
  cs_handler_t *h = calloc(1, sizeof *h);
  if (!h) return cs_err_set(err, CS_ENOMEM, "out of memory");
  h->model = m;
  h->params = *p;
  /* the default k must fit the workspace like any requested k */
  if (h->params.max_k < p->strat.k) h->params.max_k = p->strat.k;
  if (h->params.max_k > m->n_songs) h->params.max_k = (int)m->n_songs;
  /* The workspace is sized for the largest k a request may ask for. */
  cs_strategy_params_t sized = p->strat;
  sized.k = h->params.max_k;
  int rc = cs_strategy_params_check(&p->strat, m, err);
  if (rc == CS_OK) rc = cs_rec_ws_create(&h->ws, m, &sized, err);
  h->features = malloc((size_t)m->n_features * sizeof *h->features);
  h->events = malloc((size_t)(p->max_events > 0 ? p->max_events : 1) * sizeof *h->events);
  /* worst case per item: ids, score and a cluster list of m members */
  h->cap_out = 4096 + (size_t)h->params.max_k * (96 + 12 * (size_t)CS_SOFT_M_MAX);
  h->out = malloc(h->cap_out);
  if (rc == CS_OK && (!h->features || !h->events || !h->out))
    rc = cs_err_set(err, CS_ENOMEM, "out of memory");
  if (rc != CS_OK) {
    cs_handler_free(h);
    return rc;
  }
  *out = h;
  return CS_OK;
}

void cs_handler_free(cs_handler_t *h) {
  if (!h) return;
  cs_rec_ws_free(h->ws);
  free(h->features);
  free(h->events);
  free(h->out);
  free(h);
}

static int parse_events(cs_handler_t *h, json_t *arr, int64_t *n_out,
                        cs_err_t *err) {
  if (!json_is_array(arr))
    return cs_err_set(err, CS_EFORMAT, "request: \"events\" must be an array");
  size_t n = json_array_size(arr);
  if (n > (size_t)h->params.max_events)
    return cs_err_set(err, CS_ETOOBIG, "request: %zu events, at most %d allowed",
                      n, h->params.max_events);
  for (size_t i = 0; i < n; i++) {
    json_t *ev = json_array_get(arr, i);
    json_t *ja = json_object_get(ev, "action"), *jk = json_object_get(ev, "kind"),
           *ji = json_object_get(ev, "item_id");
    if (!json_is_string(ja) || !json_is_string(jk) || !json_is_integer(ji))
      return cs_err_set(err, CS_EFORMAT,
                        "request: events[%zu] needs string \"action\", string "
                        "\"kind\" and integer \"item_id\"", i);
    const char *as = json_string_value(ja), *ks = json_string_value(jk);
    int action = cs_action_parse(as, strlen(as)), kind = cs_kind_parse(ks, strlen(ks));
    if (action < 0)
      return cs_err_set(err, CS_EFORMAT, "request: events[%zu]: unknown action '%s'", i, as);
    if (kind < 0)
      return cs_err_set(err, CS_EFORMAT, "request: events[%zu]: unknown kind '%s'", i, ks);
    json_int_t id = json_integer_value(ji);
    if (id < 0)
      return cs_err_set(err, CS_EFORMAT, "request: events[%zu]: negative item_id %lld",
                        i, (long long)id);
    h->events[i] = (cs_event_t){(uint8_t)action, (uint8_t)kind, (int64_t)id};
  }
  *n_out = (int64_t)n;
  return CS_OK;
}

static int parse_features(cs_handler_t *h, json_t *arr, cs_err_t *err) {
  int n_features = h->model->n_features;
  if (!json_is_array(arr) || json_array_size(arr) != (size_t)n_features)
    return cs_err_set(err, CS_EFORMAT,
                      "request: \"features\" must be an array of %d numbers", n_features);
  for (int i = 0; i < n_features; i++) {
    json_t *v = json_array_get(arr, (size_t)i);
    if (!json_is_number(v))
      return cs_err_set(err, CS_EFORMAT, "request: features[%d] is not a number", i);
    h->features[i] = (float)json_number_value(v);
  }
  return CS_OK;
}

/* Fill h->features from the request; returns the user id through *user_id. */
static int request_features(cs_handler_t *h, json_t *root, int64_t *user_id,
                            cs_err_t *err) {
  json_t *juid = json_object_get(root, "user_id");
  if (juid && !json_is_integer(juid))
    return cs_err_set(err, CS_EFORMAT, "request: \"user_id\" must be an integer");
  *user_id = juid ? (int64_t)json_integer_value(juid) : -1;
  json_t *jfeat = json_object_get(root, "features");
  if (jfeat) return parse_features(h, jfeat, err);
  if (!h->model->featurizer)
    return cs_err_set(err, CS_EINVAL,
                      "request: this model has no featurizer tables (trained on "
                      "imported data): send \"features\"");
  json_t *jage = json_object_get(root, "age"), *jcountry = json_object_get(root, "country");
  if (jage && !json_is_null(jage) && !json_is_integer(jage))
    return cs_err_set(err, CS_EFORMAT, "request: \"age\" must be an integer or null");
  if (jcountry && !json_is_null(jcountry) && !json_is_string(jcountry))
    return cs_err_set(err, CS_EFORMAT, "request: \"country\" must be a string or null");
  int32_t age = json_is_integer(jage) ? (int32_t)json_integer_value(jage) : -1;
  if (age < -1 || age > 150)
    return cs_err_set(err, CS_ERANGE, "request: age %d out of range", age);
  const char *country = json_is_string(jcountry) ? json_string_value(jcountry) : NULL;
  int64_t n_events = 0;
  json_t *jev = json_object_get(root, "events");
  if (jev) {
    int rc = parse_events(h, jev, &n_events, err);
    if (rc != CS_OK) return rc;
  }
  return cs_featurizer_user(h->model->featurizer, age, country, h->events,
                            n_events, h->features, NULL);
}

int cs_handler_recommend(cs_handler_t *h, const char *body, size_t len,
                         const char **out, size_t *out_len, cs_err_t *err) {
  json_error_t jerr;
  json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
  if (!root)
    return cs_err_set(err, CS_EFORMAT, "request body:%d:%d: %s", jerr.line,
                      jerr.column, jerr.text);
  int rc = CS_OK;
  int64_t user_id = -1;
  cs_strategy_params_t sp = h->params.strat;
  int strategy = h->params.default_strategy;
  if (!json_is_object(root)) {
    rc = cs_err_set(err, CS_EFORMAT, "request body: expected a JSON object");
    goto done;
  }
  json_t *js = json_object_get(root, "strategy"), *jk = json_object_get(root, "k");
  if (js) {
    strategy = json_is_string(js) ? cs_strategy_parse(json_string_value(js)) : -1;
    if (strategy < 0) {
      rc = cs_err_set(err, CS_EINVAL, "request: unknown strategy %s%s%s",
                      json_is_string(js) ? "'" : "",
                      json_is_string(js) ? json_string_value(js) : "(not a string)",
                      json_is_string(js) ? "'" : "");
      goto done;
    }
  }
  if (jk) {
    json_int_t k = json_is_integer(jk) ? json_integer_value(jk) : 0;
    if (k < 1 || k > h->params.max_k) {
      rc = cs_err_set(err, CS_ERANGE, "request: \"k\" must be an integer in [1, %d]",
                      h->params.max_k);
      goto done;
    }
    sp.k = (int)k;
  }
  rc = request_features(h, root, &user_id, err);
  if (rc != CS_OK) goto done;
  const cs_rec_t *rec = NULL;
  rc = cs_recommend(h->model, strategy, &sp, h->features, NULL, h->ws, &rec, err);
  if (rc != CS_OK) goto done;
  int64_t n = cs_rec_write_json(h->model, user_id, rec, h->out, h->cap_out);
  if (n < 0) {
    rc = cs_err_set(err, CS_EINTERNAL, "response larger than %zu bytes", h->cap_out);
    goto done;
  }
  *out = h->out;
  *out_len = (size_t)n;
done:
  json_decref(root);
  return rc;
}
