/* train_internal.h: what training shares with the tune driver (tune.c):
 * the training rows in the order k-means sees them. Not a public header. */
#ifndef COLDSTART_TRAIN_INTERNAL_H
#define COLDSTART_TRAIN_INTERNAL_H

#include <stdint.h>
#include "coldstart/dataset.h"
#include "coldstart/train.h"

/* The n_t training users with a target (split rows), in the order cs_train
 * fits k-means on them: split order, or, when the validation split has no
 * targets, the seeded held-out fraction (n_val of them) moved to the end.
 * own_val = 1 when the validation split's targets serve early stopping
 * (n_val = their count). *rows is malloc'ed. Returns 0 or CS_ENOMEM. */
int cs__train_rows(const cs_dataset_t *ds, const cs_train_params_t *p,
                   int64_t n_t, int64_t **rows, int64_t *n_val, int *own_val);

/* tune.c: the elbow of points[0..n) (k ascending): the k farthest below
 * the chord of the inertia curve, both axes scaled to [0, 1]; the first k
 * when there are fewer than 3 points or the curve does not fall. */
struct cs_tune_point;
int cs__tune_elbow(const struct cs_tune_point *points, int n);

#endif
