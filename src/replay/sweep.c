/* SPDX-License-Identifier: MIT */
/*
 * Sweeps: the cartesian product of axes (a key and its values), one replay
 * per configuration, on a pool of threads.
 *
 * Job numbering: job j takes, for each axis, value (j / stride) % n where
 * the last axis has stride 1 (varies fastest). The numbering is what
 * `--emit-jobs` and `--job` share, so one emitted command reproduces one row
 * of the sweep byte for byte.
 *
 * Threads: each worker takes the next job number with an atomic increment
 * and runs it on its own machine (replay_run shares nothing but the trace,
 * which is only read). Rows are stored by job number, so the output order
 * does not depend on scheduling.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <iommusim/fault.h>

#include "replay/engine.h"

void replay_sweep_init(struct replay_sweep *s)
{
	memset(s, 0, sizeof(*s));
}

void replay_sweep_free(struct replay_sweep *s)
{
	for (unsigned i = 0; i < s->naxes; i++) {
		for (unsigned j = 0; j < s->axes[i].nvalues; j++)
			fault_free(s->axes[i].values[j]);
		fault_free(s->axes[i].values);
		fault_free(s->axes[i].key);
	}
	memset(s, 0, sizeof(*s));
}

int replay_sweep_add(struct replay_sweep *s, const char *kv, char *err, size_t errlen)
{
	const char *eq = strchr(kv, '=');
	struct replay_axis *a;
	const char *p;

	if (!eq || eq == kv || !eq[1]) {
		snprintf(err, errlen, "'%s': expected key=v1,v2,...", kv);
		return -EINVAL;
	}
	if (s->naxes == REPLAY_MAX_AXES) {
		snprintf(err, errlen, "more than %d swept keys", REPLAY_MAX_AXES);
		return -EINVAL;
	}
	a = &s->axes[s->naxes];
	memset(a, 0, sizeof(*a));
	a->key = fault_malloc(NULL, "replay.sweep", (size_t)(eq - kv) + 1);
	if (!a->key)
		return -ENOMEM;
	memcpy(a->key, kv, (size_t)(eq - kv));
	a->key[eq - kv] = 0;
	for (unsigned i = 0; i < s->naxes; i++)
		if (!strcmp(s->axes[i].key, a->key)) {
			snprintf(err, errlen, "%s: swept twice", a->key);
			fault_free(a->key);
			return -EINVAL;
		}
	s->naxes++; /* from here replay_sweep_free() cleans up */
	for (p = eq + 1; *p;) {
		const char *c = strchr(p, ',');
		size_t n = c ? (size_t)(c - p) : strlen(p);
		char one[512];
		char **nv;
		int rc;

		if (!n || n + strlen(a->key) + 2 > sizeof(one)) {
			snprintf(err, errlen, "%s: empty or too long value in '%s'", a->key,
				 eq + 1);
			return -EINVAL;
		}
		snprintf(one, sizeof(one), "%s=%.*s", a->key, (int)n, p);
		rc = replay_config_check(one, err, errlen);
		if (rc)
			return rc;
		nv = fault_realloc(NULL, "replay.sweep", a->values,
				   (a->nvalues + 1) * sizeof(*a->values));
		if (!nv)
			return -ENOMEM;
		a->values = nv;
		a->values[a->nvalues] = fault_malloc(NULL, "replay.sweep", n + 1);
		if (!a->values[a->nvalues])
			return -ENOMEM;
		memcpy(a->values[a->nvalues], p, n);
		a->values[a->nvalues][n] = 0;
		a->nvalues++;
		p += n;
		if (*p == ',')
			p++;
	}
	return 0;
}

unsigned replay_sweep_jobs(const struct replay_sweep *s)
{
	unsigned n = 1;

	for (unsigned i = 0; i < s->naxes; i++)
		n *= s->axes[i].nvalues;
	return n;
}

void replay_sweep_job(const struct replay_sweep *s, unsigned j, const char **values)
{
	for (unsigned i = s->naxes; i-- > 0;) {
		values[i] = s->axes[i].values[j % s->axes[i].nvalues];
		j /= s->axes[i].nvalues;
	}
}

int replay_sweep_config(const struct replay_sweep *s, unsigned j, const struct replay_config *base,
			struct replay_config *out, char *err, size_t errlen)
{
	const char *values[REPLAY_MAX_AXES];
	int rc;

	rc = replay_config_copy(out, base);
	if (rc)
		return rc;
	replay_sweep_job(s, j, values);
	for (unsigned i = 0; i < s->naxes; i++) {
		char one[512];

		snprintf(one, sizeof(one), "%s=%s", s->axes[i].key, values[i]);
		rc = replay_config_set(out, one, err, errlen);
		if (rc) {
			replay_config_free(out);
			return rc;
		}
	}
	return 0;
}

struct sweep_run {
	const struct rt_trace *t;
	const char *trace_name;
	const struct replay_config *base;
	const struct replay_sweep *s;
	unsigned first, count, next, total;
	char **rows;
	int *rcs;
	char (*errs)[256];
};

static int run_job(struct sweep_run *w, unsigned i)
{
	const char *values[REPLAY_MAX_AXES];
	const char *keys[REPLAY_MAX_AXES];
	unsigned j = w->first + i;
	struct replay_row_info info = { 0 };
	struct replay_result res;
	struct replay_config c;
	struct replay_buf b = { 0 };
	int rc;

	rc = replay_sweep_config(w->s, j, w->base, &c, w->errs[i], sizeof(w->errs[i]));
	if (rc)
		return rc;
	rc = replay_run(w->t, &c, NULL, &res, w->errs[i], sizeof(w->errs[i]));
	replay_config_free(&c);
	if (rc) {
		replay_result_free(&res);
		return rc;
	}
	replay_sweep_job(w->s, j, values);
	for (unsigned k = 0; k < w->s->naxes; k++)
		keys[k] = w->s->axes[k].key;
	info.trace_name = w->trace_name;
	info.job = j;
	info.jobs = w->total;
	info.nparams = w->s->naxes;
	info.param_keys = keys;
	info.param_values = values;
	rc = replay_result_json(&res, &info, &b);
	replay_result_free(&res);
	if (rc) {
		replay_buf_free(&b);
		return rc;
	}
	w->rows[i] = b.s;
	return 0;
}

static void *worker(void *arg)
{
	struct sweep_run *w = arg;
	unsigned i;

	while ((i = __atomic_fetch_add(&w->next, 1, __ATOMIC_RELAXED)) < w->count)
		w->rcs[i] = run_job(w, i);
	return NULL;
}

int replay_sweep_run(const struct rt_trace *t, const char *trace_name,
		     const struct replay_config *base, const struct replay_sweep *s, unsigned first,
		     unsigned count, unsigned threads, char **rows, char *err, size_t errlen)
{
	struct sweep_run w = { t, trace_name,		base, s,    first, count,
			       0, replay_sweep_jobs(s), rows, NULL, NULL };
	pthread_t *tids;
	unsigned n = 0;
	int rc = 0;

	if (first + count > w.total || count == 0) {
		snprintf(err, errlen, "jobs %u..%u outside 0..%u", first, first + count - 1,
			 w.total - 1);
		return -EINVAL;
	}
	memset(rows, 0, count * sizeof(*rows));
	if (!threads) {
		long nc = sysconf(_SC_NPROCESSORS_ONLN);

		threads = nc > 0 ? (unsigned)nc : 1;
	}
	if (threads > count)
		threads = count;
	w.rcs = fault_calloc(NULL, "replay.sweep_run", count, sizeof(*w.rcs));
	w.errs = fault_calloc(NULL, "replay.sweep_run", count, sizeof(*w.errs));
	tids = fault_calloc(NULL, "replay.sweep_run", threads, sizeof(*tids));
	if (!w.rcs || !w.errs || !tids) {
		rc = -ENOMEM;
		goto out;
	}
	if (threads == 1) {
		worker(&w);
	} else {
		for (n = 0; n < threads; n++)
			if (pthread_create(&tids[n], NULL, worker, &w))
				break;
		if (n == 0)
			worker(&w);
		for (unsigned i = 0; i < n; i++)
			pthread_join(tids[i], NULL);
	}
	for (unsigned i = 0; i < count; i++)
		if (w.rcs[i]) {
			rc = w.rcs[i];
			snprintf(err, errlen, "job %u: %s", first + i,
				 w.errs[i][0] ? w.errs[i] : strerror(-rc));
			break;
		}
	if (rc)
		for (unsigned i = 0; i < count; i++) {
			fault_free(rows[i]);
			rows[i] = NULL;
		}
out:
	fault_free(w.rcs);
	fault_free(w.errs);
	fault_free(tids);
	return rc;
}
