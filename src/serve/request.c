/* request.c: online requests: parse and range-check the JSON body (raw
 * events or a feature vector), featurize into a batch row, then one
 * regressor pass over the batch and one recommendation per row, written as
 * the response JSON. The same JSON writer serves `coldstart recommend`. */
#include <float.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coldstart/featurize.h"
#include "coldstart/fmt.h"
#include "coldstart/mat.h"
#include "coldstart/serve.h"

/* What one parsed request of a batch needs to be answered. */
typedef struct {
  int64_t user_id;
  int strategy;
  cs_strategy_params_t sp;
} slot_t;

struct cs_handler {
  const cs_model_t *model;
  cs_handler_params_t params;
  cs_rec_ws_t *ws;
  float *features;    /* [batch_max x n_features] */
  float *preds;       /* [batch_max x dim] */
  slot_t *slots;      /* [batch_max] */
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
  int n = cs_fmt_float9(tmp, x);
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
  p->batch_max = 32;
}

int cs_handler_create(cs_handler_t **out, const cs_model_t *m,
                      const cs_handler_params_t *p, cs_err_t *err) {
  *out = NULL;
  if (p->batch_max < 1 || p->batch_max > CS_BATCH_MAX_LIMIT || p->max_events < 0)
    return cs_err_set(err, CS_EINVAL, "serve: batch size %d not in [1, %d]",
                      p->batch_max, CS_BATCH_MAX_LIMIT);
  cs_handler_t *h = calloc(1, sizeof *h);
  if (!h) return cs_err_set(err, CS_ENOMEM, "out of memory");
  h->model = m;
  h->params = *p;
  /* a tuned model's strategy and parameters, unless given (per model: a
   * reload to another tuned model takes its own) */
  if (!p->strategy_given)
    h->params.default_strategy = cs_strategy_model_default(m, p->default_strategy);
  cs_strategy_params_from_model(&h->params.strat, m);
  p = &h->params;
  /* the default k must fit the workspace like any requested k */
  if (h->params.max_k < p->strat.k) h->params.max_k = p->strat.k;
  if (h->params.max_k > m->n_songs) h->params.max_k = (int)m->n_songs;
  /* The workspace is sized for the largest k a request may ask for. */
  cs_strategy_params_t sized = p->strat;
  sized.k = h->params.max_k;
  int rc = cs_strategy_params_check(&p->strat, m, err);
  if (rc == CS_OK) rc = cs_rec_ws_create(&h->ws, m, &sized, err);
  size_t rows = (size_t)p->batch_max;
  h->features = cs_alloc_aligned(rows * (size_t)m->n_features * sizeof *h->features);
  h->preds = cs_alloc_aligned(rows * (size_t)m->dim * sizeof *h->preds);
  h->slots = calloc(rows, sizeof *h->slots);
  h->events = malloc((size_t)(p->max_events > 0 ? p->max_events : 1) * sizeof *h->events);
  /* worst case per item: ids, score and a cluster list of m members */
  h->cap_out = 4096 + (size_t)h->params.max_k * (96 + 12 * (size_t)CS_SOFT_M_MAX);
  h->out = malloc(h->cap_out);
  if (rc == CS_OK && (!h->features || !h->preds || !h->slots || !h->events || !h->out))
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
  free(h->preds);
  free(h->slots);
  free(h->events);
  free(h->out);
  free(h);
}

const cs_model_t *cs_handler_model(const cs_handler_t *h) { return h->model; }

/* Every key of `obj` must be one of the NULL-terminated `allowed`. */
static int check_keys(json_t *obj, const char *const *allowed, const char *where,
                      cs_err_t *err) {
  const char *key;
  json_t *val;
  json_object_foreach(obj, key, val) {
    int ok = 0;
    for (int i = 0; allowed[i] && !ok; i++) ok = strcmp(key, allowed[i]) == 0;
    if (!ok) {
      char allowed_list[256];
      size_t pos = 0;
      for (int i = 0; allowed[i]; i++)
        pos += (size_t)snprintf(allowed_list + pos, sizeof allowed_list - pos,
                                "%s%s", i ? ", " : "", allowed[i]);
      return cs_err_set(err, CS_EFORMAT, "request: %sunknown field \"%.64s\" (known: %s)",
                        where, key, allowed_list);
    }
  }
  return CS_OK;
}

static const char *const event_keys[] = {"action", "kind", "item_id", NULL};
static const char *const request_keys[] = {"user_id", "age", "country", "events",
                                           "features", "strategy", "k", NULL};

static int parse_events(cs_handler_t *h, json_t *arr, int64_t *n_out,
                        cs_err_t *err) {
  if (!json_is_array(arr))
    return cs_err_set(err, CS_EFORMAT, "request: \"events\" must be an array");
  size_t n = json_array_size(arr);
  if (n > (size_t)h->params.max_events)
    return cs_err_set(err, CS_ETOOBIG, "request: \"events\" has %zu entries, at most %d allowed",
                      n, h->params.max_events);
  for (size_t i = 0; i < n; i++) {
    json_t *ev = json_array_get(arr, i);
    if (!json_is_object(ev))
      return cs_err_set(err, CS_EFORMAT, "request: events[%zu] must be an object", i);
    char where[48];
    snprintf(where, sizeof where, "events[%zu]: ", i);
    int rc = check_keys(ev, event_keys, where, err);
    if (rc != CS_OK) return rc;
    json_t *ja = json_object_get(ev, "action"), *jk = json_object_get(ev, "kind"),
           *ji = json_object_get(ev, "item_id");
    if (!json_is_string(ja) || !json_is_string(jk) || !json_is_integer(ji))
      return cs_err_set(err, CS_EFORMAT,
                        "request: events[%zu] needs string \"action\", string "
                        "\"kind\" and integer \"item_id\"", i);
    const char *as = json_string_value(ja), *ks = json_string_value(jk);
    int action = cs_action_parse(as, json_string_length(ja));
    int kind = cs_kind_parse(ks, json_string_length(jk));
    if (action < 0)
      return cs_err_set(err, CS_EFORMAT, "request: events[%zu]: unknown action '%.64s'", i, as);
    if (kind < 0)
      return cs_err_set(err, CS_EFORMAT, "request: events[%zu]: unknown kind '%.64s'", i, ks);
    /* jansson refuses integers outside int64 at parse time */
    json_int_t id = json_integer_value(ji);
    if (id < 0)
      return cs_err_set(err, CS_ERANGE, "request: events[%zu].item_id %lld is negative",
                        i, (long long)id);
    h->events[i] = (cs_event_t){(uint8_t)action, (uint8_t)kind, (int64_t)id};
  }
  *n_out = (int64_t)n;
  return CS_OK;
}

static int parse_features(cs_handler_t *h, json_t *arr, float *row, cs_err_t *err) {
  int n_features = h->model->n_features;
  if (!json_is_array(arr) || json_array_size(arr) != (size_t)n_features)
    return cs_err_set(err, CS_EFORMAT,
                      "request: \"features\" must be an array of %d numbers", n_features);
  for (int i = 0; i < n_features; i++) {
    json_t *v = json_array_get(arr, (size_t)i);
    if (!json_is_number(v))
      return cs_err_set(err, CS_EFORMAT, "request: features[%d] is not a number", i);
    /* range-check the double before narrowing: 1e39 would become inf */
    double x = json_number_value(v);
    if (!isfinite(x) || fabs(x) > FLT_MAX)
      return cs_err_set(err, CS_ERANGE, "request: features[%d] = %g is outside the float32 range",
                        i, x);
    row[i] = (float)x;
  }
  return CS_OK;
}

/* Fill one feature row from the request; the user id through *user_id. */
static int request_features(cs_handler_t *h, json_t *root, float *row,
                            int64_t *user_id, cs_err_t *err) {
  json_t *juid = json_object_get(root, "user_id");
  if (juid && !json_is_null(juid)) {
    if (!json_is_integer(juid) || json_integer_value(juid) < 0)
      return cs_err_set(err, CS_ERANGE, "request: \"user_id\" must be a non-negative integer");
    *user_id = (int64_t)json_integer_value(juid);
  } else {
    *user_id = -1;
  }
  json_t *jfeat = json_object_get(root, "features");
  json_t *jage = json_object_get(root, "age"), *jcountry = json_object_get(root, "country");
  json_t *jev = json_object_get(root, "events");
  if (jfeat) {
    if (jage || jcountry || jev)
      return cs_err_set(err, CS_EFORMAT, "request: \"features\" replaces \"age\", "
                        "\"country\" and \"events\": send one or the other");
    return parse_features(h, jfeat, row, err);
  }
  if (!h->model->featurizer)
    return cs_err_set(err, CS_EINVAL,
                      "request: this model has no featurizer tables (trained on "
                      "imported data): send \"features\"");
  int32_t age = -1;
  if (jage && !json_is_null(jage)) {
    /* check the JSON integer itself: casting first turns 4294967321 into 25 */
    if (!json_is_integer(jage))
      return cs_err_set(err, CS_EFORMAT, "request: \"age\" must be an integer or null");
    json_int_t a = json_integer_value(jage);
    if (a < 0 || a > CS_AGE_MAX)
      return cs_err_set(err, CS_ERANGE, "request: \"age\" %lld is outside [0, %d]",
                        (long long)a, CS_AGE_MAX);
    age = (int32_t)a;
  }
  const char *country = NULL;
  if (jcountry && !json_is_null(jcountry)) {
    if (!json_is_string(jcountry))
      return cs_err_set(err, CS_EFORMAT, "request: \"country\" must be a string or null");
    if (json_string_length(jcountry) > CS_COUNTRY_REQUEST_MAX)
      return cs_err_set(err, CS_ERANGE, "request: \"country\" longer than %d bytes",
                        CS_COUNTRY_REQUEST_MAX);
    country = json_string_value(jcountry);
    if (strlen(country) != json_string_length(jcountry))
      return cs_err_set(err, CS_EFORMAT, "request: \"country\" contains a NUL character");
  }
  int64_t n_events = 0;
  if (jev) {
    int rc = parse_events(h, jev, &n_events, err);
    if (rc != CS_OK) return rc;
  }
  return cs_featurizer_user(h->model->featurizer, age, country, h->events,
                            n_events, row, NULL);
}

int cs_handler_parse(cs_handler_t *h, int slot, const char *body, size_t len,
                     cs_err_t *err) {
  if (slot < 0 || slot >= h->params.batch_max)
    return cs_err_set(err, CS_EINVAL, "serve: batch slot %d out of range", slot);
  json_error_t jerr;
  json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
  if (!root)
    return cs_err_set(err, CS_EFORMAT, "request body:%d:%d: %s", jerr.line,
                      jerr.column, jerr.text);
  slot_t *s = &h->slots[slot];
  s->sp = h->params.strat;
  s->strategy = h->params.default_strategy;
  s->user_id = -1;
  int rc = CS_OK;
  if (!json_is_object(root)) {
    rc = cs_err_set(err, CS_EFORMAT, "request body: expected a JSON object");
    goto done;
  }
  if ((rc = check_keys(root, request_keys, "", err)) != CS_OK) goto done;
  json_t *js = json_object_get(root, "strategy"), *jk = json_object_get(root, "k");
  if (js) {
    s->strategy = json_is_string(js) ? cs_strategy_parse(json_string_value(js)) : -1;
    if (s->strategy < 0) {
      rc = cs_err_set(err, CS_EINVAL, "request: unknown strategy %s%.64s%s",
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
    s->sp.k = (int)k;
  }
  float *row = h->features + (size_t)slot * (size_t)h->model->n_features;
  rc = request_features(h, root, row, &s->user_id, err);
done:
  json_decref(root);
  return rc;
}

void cs_handler_run(cs_handler_t *h, int n, cs_reply_fn reply, void *ctx) {
  const cs_model_t *m = h->model;
  cs_err_t err;
  cs_err_clear(&err);
  int need_pred = 0;
  for (int i = 0; i < n; i++) need_pred |= cs_strategy_needs_embedding(h->slots[i].strategy);
  /* One forward pass over every row of the batch; the kernel gives a row
   * the same result alone or in any batch, so batching changes no answer. */
  int rc = CS_OK;
  if (need_pred) rc = cs_regressor_predict(m->regressor, h->features, n, h->preds, &err);
  for (int i = 0; i < n; i++) {
    const slot_t *s = &h->slots[i];
    const cs_rec_t *rec = NULL;
    int r = rc;
    if (r == CS_OK) {
      cs_err_clear(&err);
      r = cs_recommend(m, s->strategy, &s->sp,
                       h->features + (size_t)i * (size_t)m->n_features,
                       h->preds + (size_t)i * (size_t)m->dim, h->ws, &rec, &err);
    }
    int64_t len = 0;
    if (r == CS_OK) {
      len = cs_rec_write_json(m, s->user_id, rec, h->out, h->cap_out);
      if (len < 0)
        r = cs_err_set(&err, CS_EINTERNAL, "response larger than %zu bytes", h->cap_out);
    }
    reply(ctx, i, r, r == CS_OK ? h->out : NULL, r == CS_OK ? (size_t)len : 0, &err);
  }
}

typedef struct {
  const char **out;
  size_t *out_len;
  cs_err_t *err;
  int rc;
} one_reply_t;

static void keep_one(void *ctx, int slot, int rc, const char *json, size_t len,
                     const cs_err_t *err) {
  one_reply_t *o = ctx;
  (void)slot;
  o->rc = rc;
  if (rc == CS_OK) {
    *o->out = json;
    *o->out_len = len;
  } else if (o->err) {
    *o->err = *err;
  }
}

int cs_handler_recommend(cs_handler_t *h, const char *body, size_t len,
                         const char **out, size_t *out_len, cs_err_t *err) {
  int rc = cs_handler_parse(h, 0, body, len, err);
  if (rc != CS_OK) return rc;
  one_reply_t o = {out, out_len, err, CS_OK};
  cs_handler_run(h, 1, keep_one, &o);
  return o.rc;
}
