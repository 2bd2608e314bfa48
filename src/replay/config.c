/* SPDX-License-Identifier: MIT */
/*
 * Replay configuration: the `key=value` parser shared by every model's knob
 * table, the engine's own keys, and the model registry.
 *
 * Data structure. A knob describes one field of a configuration structure by
 * offset and type (struct replay_knob); a model (struct replay_model) owns a
 * table of them over its own structure. Nothing here knows any vendor: the
 * registry is the X-macro list config_models.h, one line per model.
 *
 * Key resolution: an exact engine key first (`inval`, `fq.size`, ...), then
 * the text before the first dot names a model (`vtd.iotlb` -> model "vtd",
 * knob "vtd.iotlb"). Applying text to one unit skips the keys of other
 * known models (they were checked when the text was set) and rejects
 * everything unknown.
 *
 * No state; static const tables only.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <iommusim/fault.h>
#include <iommusim/replay.h>

#include "replay/engine.h"
#include "replay/rt_schema.h"

/* ------------------------------------------------------------ registry */

#define REPLAY_MODEL(sym) extern const struct replay_model sym;
#include "replay/config_models.h"
#undef REPLAY_MODEL

static const struct replay_model *const models[] = {
#define REPLAY_MODEL(sym) &sym,
#include "replay/config_models.h"
#undef REPLAY_MODEL
};

const struct replay_model *const *replay_models(size_t *n)
{
	*n = sizeof(models) / sizeof(models[0]);
	return models;
}

const struct replay_model *replay_model_find(const char *name)
{
	for (size_t i = 0; i < sizeof(models) / sizeof(models[0]); i++)
		if (!strcmp(models[i]->name, name))
			return models[i];
	return NULL;
}

static const struct replay_model *model_find_n(const char *name, size_t n)
{
	for (size_t i = 0; i < sizeof(models) / sizeof(models[0]); i++)
		if (strlen(models[i]->name) == n && !memcmp(models[i]->name, name, n))
			return models[i];
	return NULL;
}

/* ------------------------------------------------------------ engine keys */

static const char *const inval_names[] = { "strict", "lazy", NULL };
static const char *const pgsize_names[] = { "1g", "2m", "4k", NULL };

#define S_OFF(f) offsetof(struct replay_settings, f)

static const struct replay_knob engine_knobs[] = {
	{ "inval", REPLAY_KNOB_ENUM, S_OFF(lazy), 0, 1, inval_names, NULL, NULL, NULL,
	  "IOTLB invalidation on unmap: strict (synchronous) or lazy (flush queue)" },
	{ "fq.size", REPLAY_KNOB_U32, S_OFF(fq_size), 1, 65536, NULL, NULL, NULL, NULL,
	  "lazy mode: flush-queue entries before a domain-selective flush" },
	{ "fq.timeout_ns", REPLAY_KNOB_U64, S_OFF(fq_timeout_ns), 1, UINT64_MAX, NULL, NULL, NULL,
	  NULL, "lazy mode: age of the oldest queued unmap that forces a flush (simulated ns)" },
	{ "pgsize", REPLAY_KNOB_ENUM, S_OFF(pgsize), 0, 2, pgsize_names, NULL, NULL, NULL,
	  "page-size policy: the largest IOMMU page size the driver may use" },
	{ "seed", REPLAY_KNOB_U64, S_OFF(seed), 0, UINT64_MAX, NULL, NULL, NULL, NULL,
	  "seed of the machine and of random cache replacement" },
	{ "mem", REPLAY_KNOB_U64, S_OFF(mem), 0, 1ULL << 46, NULL, NULL, NULL, NULL,
	  "machine memory in bytes (0: the trace's machine event, else 4 GiB)" },
	{ "stale.list", REPLAY_KNOB_U32, S_OFF(stale_list), 0, 1000000, NULL, NULL, NULL, NULL,
	  "stale windows listed in the report (all are counted)" },
};

const struct replay_knob *replay_engine_knobs(size_t *n)
{
	*n = sizeof(engine_knobs) / sizeof(engine_knobs[0]);
	return engine_knobs;
}

void replay_settings_default(struct replay_settings *s)
{
	memset(s, 0, sizeof(*s));
	s->lazy = 0;
	s->fq_size = 256;
	s->fq_timeout_ns = 10ULL * 1000 * 1000;
	s->pgsize = REPLAY_PGSIZE_1G;
	s->seed = 1;
	s->mem = 0;
	s->stale_list = 100;
}

/* ------------------------------------------------------------ values */

static void seterr(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/*
 * The trace reader's number rules (rt_parse_u64): decimal or 0x hex, never
 * octal, so "010" is ten here as in a trace; plus the K/M/G/T suffixes.
 */
int rp_parse_u64(const char *s, uint64_t *out)
{
	return rt_parse_u64(s, strlen(s), 1, out) ? -EINVAL : 0;
}

static const char *const repl_names[] = { "lru", "rr", "random", NULL };

static int parse_geom(struct hwm_cache_geom *g, const char *val, char *err, size_t errlen)
{
	struct hwm_cache_geom n = *g;
	const char *x = strchr(val, 'x'), *colon = strchr(val, ':');
	char num[32];
	uint64_t a, b;
	size_t len;

	if (x && strncmp(val, "0x", 2) == 0 && x == val + 1)
		x = strchr(x + 1, 'x');
	len = x ? (size_t)(x - val) : colon ? (size_t)(colon - val) : strlen(val);
	if (len == 0 || len >= sizeof(num))
		goto bad;
	memcpy(num, val, len);
	num[len] = 0;
	if (rp_parse_u64(num, &a) || a == 0 || a > (1u << 20))
		goto bad;
	if (x) {
		const char *w = x + 1;

		len = colon ? (size_t)(colon - w) : strlen(w);
		if (len == 0 || len >= sizeof(num))
			goto bad;
		memcpy(num, w, len);
		num[len] = 0;
		if (rp_parse_u64(num, &b) || b == 0 || b > 1024)
			goto bad;
		n.sets = (uint32_t)a;
		n.ways = (uint32_t)b;
	} else {
		/* Total entries, keeping the associativity when it fits. */
		if (a <= n.ways) {
			n.sets = 1;
			n.ways = (uint32_t)a;
		} else {
			if (a % n.ways)
				goto bad;
			n.sets = (uint32_t)(a / n.ways);
		}
	}
	if (n.sets & (n.sets - 1)) {
		seterr(err, errlen, "'%s': sets (%u) must be a power of two", val, n.sets);
		return -EINVAL;
	}
	if (colon) {
		unsigned i;

		for (i = 0; repl_names[i]; i++)
			if (!strcmp(colon + 1, repl_names[i]))
				break;
		if (!repl_names[i])
			goto bad;
		n.repl = (enum hwm_repl)i;
	}
	*g = n;
	return 0;
bad:
	seterr(err, errlen, "'%s': expected SETSxWAYS[:lru|rr|random] or ENTRIES", val);
	return -EINVAL;
}

int replay_knob_parse(const struct replay_knob *k, void *cfg, const char *val, char *err,
		      size_t errlen)
{
	char *p = (char *)cfg + k->off;
	uint64_t v;

	switch (k->type) {
	case REPLAY_KNOB_BOOL:
		if (!strcmp(val, "1") || !strcmp(val, "true") || !strcmp(val, "on") ||
		    !strcmp(val, "yes"))
			*(bool *)p = true;
		else if (!strcmp(val, "0") || !strcmp(val, "false") || !strcmp(val, "off") ||
			 !strcmp(val, "no"))
			*(bool *)p = false;
		else {
			seterr(err, errlen, "%s: '%s' is not a boolean (0/1)", k->key, val);
			return -EINVAL;
		}
		return 0;
	case REPLAY_KNOB_U8:
	case REPLAY_KNOB_U16:
	case REPLAY_KNOB_U32:
	case REPLAY_KNOB_U64:
		if (rp_parse_u64(val, &v)) {
			seterr(err, errlen, "%s: '%s' is not a number", k->key, val);
			return -EINVAL;
		}
		if (v < k->min || v > k->max) {
			seterr(err, errlen, "%s: %s is out of range %" PRIu64 "..%" PRIu64, k->key,
			       val, k->min, k->max);
			return -EINVAL;
		}
		if (k->type == REPLAY_KNOB_U8)
			*(uint8_t *)p = (uint8_t)v;
		else if (k->type == REPLAY_KNOB_U16)
			*(uint16_t *)p = (uint16_t)v;
		else if (k->type == REPLAY_KNOB_U32)
			*(uint32_t *)p = (uint32_t)v;
		else
			memcpy(p, &v, sizeof(v));
		return 0;
	case REPLAY_KNOB_GEOM: {
		char e2[160];

		if (parse_geom((struct hwm_cache_geom *)p, val, e2, sizeof(e2))) {
			seterr(err, errlen, "%s: %s", k->key, e2);
			return -EINVAL;
		}
		return 0;
	}
	case REPLAY_KNOB_ENUM:
		for (uint32_t i = 0; k->names[i]; i++)
			if (!strcmp(val, k->names[i])) {
				*(uint32_t *)p = i;
				return 0;
			}
		{
			char r[128];

			replay_knob_range(k, r, sizeof(r));
			seterr(err, errlen, "%s: '%s' is not one of %s", k->key, val, r);
		}
		return -EINVAL;
	case REPLAY_KNOB_CUSTOM: {
		char e2[160] = "";

		if (k->parse(cfg, val, e2, sizeof(e2))) {
			seterr(err, errlen, "%s: %s", k->key, e2);
			return -EINVAL;
		}
		return 0;
	}
	}
	return -EINVAL;
}

void replay_knob_format(const struct replay_knob *k, const void *cfg, char *buf, size_t len)
{
	const char *p = (const char *)cfg + k->off;
	uint64_t v = 0;

	switch (k->type) {
	case REPLAY_KNOB_BOOL:
		snprintf(buf, len, "%d", *(const bool *)p ? 1 : 0);
		return;
	case REPLAY_KNOB_U8:
		v = *(const uint8_t *)p;
		break;
	case REPLAY_KNOB_U16:
		v = *(const uint16_t *)p;
		break;
	case REPLAY_KNOB_U32:
		v = *(const uint32_t *)p;
		break;
	case REPLAY_KNOB_U64:
		memcpy(&v, p, sizeof(v));
		break;
	case REPLAY_KNOB_GEOM: {
		const struct hwm_cache_geom *g = (const struct hwm_cache_geom *)p;

		snprintf(buf, len, "%ux%u:%s", g->sets, g->ways,
			 (unsigned)g->repl <= 2 ? repl_names[g->repl] : "?");
		return;
	}
	case REPLAY_KNOB_ENUM: {
		uint32_t i = *(const uint32_t *)p;

		snprintf(buf, len, "%s", i <= k->max ? k->names[i] : "?");
		return;
	}
	case REPLAY_KNOB_CUSTOM:
		k->format(cfg, buf, len);
		return;
	}
	snprintf(buf, len, "%" PRIu64, v);
}

void replay_knob_range(const struct replay_knob *k, char *buf, size_t len)
{
	size_t o = 0;

	switch (k->type) {
	case REPLAY_KNOB_BOOL:
		snprintf(buf, len, "0|1");
		return;
	case REPLAY_KNOB_GEOM:
		snprintf(buf, len, "SETSxWAYS[:lru|rr|random] | ENTRIES");
		return;
	case REPLAY_KNOB_ENUM:
		buf[0] = 0;
		for (unsigned i = 0; k->names[i] && o < len; i++)
			o += (size_t)snprintf(buf + o, len - o, "%s%s", i ? "|" : "", k->names[i]);
		return;
	case REPLAY_KNOB_CUSTOM:
		snprintf(buf, len, "%s", k->range ? k->range : "");
		return;
	default:
		if (k->max == UINT64_MAX)
			snprintf(buf, len, "%" PRIu64 "..2^64-1", k->min);
		else
			snprintf(buf, len, "%" PRIu64 "..%" PRIu64, k->min, k->max);
		return;
	}
}

/* ------------------------------------------------------------ text */

/*
 * Walk "key=value ..." calling @fn per pair. Tokens are separated by blanks
 * (or commas between pairs, never inside values: geometry values have none).
 */
typedef int (*kv_fn)(void *arg, const char *key, const char *val, char *err, size_t errlen);

static int kv_walk(const char *text, kv_fn fn, void *arg, char *err, size_t errlen)
{
	const char *s = text ? text : "";

	while (*s) {
		char tok[256], *eq;
		size_t n = 0;
		int rc;

		while (*s == ' ' || *s == '\t' || *s == '\n')
			s++;
		if (!*s)
			break;
		while (s[n] && s[n] != ' ' && s[n] != '\t' && s[n] != '\n')
			n++;
		if (n >= sizeof(tok)) {
			seterr(err, errlen, "setting too long: '%.40s...'", s);
			return -EINVAL;
		}
		memcpy(tok, s, n);
		tok[n] = 0;
		s += n;
		eq = strchr(tok, '=');
		if (!eq || eq == tok) {
			seterr(err, errlen, "'%s': expected key=value", tok);
			return -EINVAL;
		}
		*eq = 0;
		rc = fn(arg, tok, eq + 1, err, errlen);
		if (rc)
			return rc;
	}
	return 0;
}

const struct replay_knob *rp_knob_find(const struct replay_knob *t, size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(t[i].key, key))
			return &t[i];
	return NULL;
}

/* Which table a key belongs to: engine (model NULL, knob set) or a model. */
static int key_resolve(const char *key, const struct replay_model **model,
		       const struct replay_knob **knob, char *err, size_t errlen)
{
	const char *dot;

	*model = NULL;
	*knob = rp_knob_find(engine_knobs, sizeof(engine_knobs) / sizeof(engine_knobs[0]), key);
	if (*knob)
		return 0;
	dot = strchr(key, '.');
	if (dot)
		*model = model_find_n(key, (size_t)(dot - key));
	if (!*model) {
		seterr(err, errlen, "%s: unknown key (see `iommusim info`)", key);
		return -EINVAL;
	}
	*knob = rp_knob_find((*model)->knobs, (*model)->nknobs, key);
	if (!*knob) {
		seterr(err, errlen, "%s: unknown key for model %s (see `iommusim info %s`)", key,
		       (*model)->name, (*model)->name);
		return -EINVAL;
	}
	return 0;
}

struct check_arg {
	struct replay_settings s;
	unsigned char scratch[4096];
};

static int check_one(void *arg, const char *key, const char *val, char *err, size_t errlen)
{
	struct check_arg *a = arg;
	const struct replay_model *m;
	const struct replay_knob *k;
	int rc = key_resolve(key, &m, &k, err, errlen);

	if (rc)
		return rc;
	if (!m)
		return replay_knob_parse(k, &a->s, val, err, errlen);
	if (m->cfg_size > sizeof(a->scratch))
		return -EINVAL;
	m->cfg_default(a->scratch);
	return replay_knob_parse(k, a->scratch, val, err, errlen);
}

int replay_config_check(const char *text, char *err, size_t errlen)
{
	struct check_arg *a = fault_zalloc(NULL, "replay.config_check", sizeof(*a));
	int rc;

	if (!a)
		return -ENOMEM;
	replay_settings_default(&a->s);
	rc = kv_walk(text, check_one, a, err, errlen);
	fault_free(a);
	return rc;
}

struct apply_arg {
	const struct replay_model *m;
	void *mcfg;
	struct replay_settings *s;
};

static int apply_one(void *arg, const char *key, const char *val, char *err, size_t errlen)
{
	struct apply_arg *a = arg;
	const struct replay_model *m;
	const struct replay_knob *k;
	int rc = key_resolve(key, &m, &k, err, errlen);

	if (rc)
		return rc;
	if (!m)
		return a->s ? replay_knob_parse(k, a->s, val, err, errlen) : 0;
	if (m != a->m || !a->mcfg)
		return 0; /* another model's key: checked when set, not ours */
	return replay_knob_parse(k, a->mcfg, val, err, errlen);
}

int rp_config_apply(const struct replay_model *m, void *mcfg, struct replay_settings *s,
		    const char *text, char *err, size_t errlen)
{
	struct apply_arg a = { m, mcfg, s };

	return kv_walk(text, apply_one, &a, err, errlen);
}

void rp_config_canonical(const struct replay_model *m, const void *mcfg,
			 const struct replay_settings *s, char *buf, size_t len)
{
	struct replay_settings ds;
	unsigned char dm[4096];
	size_t o = 0;
	char a[128], b[128];

	buf[0] = 0;
	replay_settings_default(&ds);
	for (size_t i = 0; i < sizeof(engine_knobs) / sizeof(engine_knobs[0]); i++) {
		replay_knob_format(&engine_knobs[i], s, a, sizeof(a));
		replay_knob_format(&engine_knobs[i], &ds, b, sizeof(b));
		if (strcmp(a, b) && o < len)
			o += (size_t)snprintf(buf + o, len - o, "%s%s=%s", o ? " " : "",
					      engine_knobs[i].key, a);
	}
	if (!m || m->cfg_size > sizeof(dm))
		return;
	m->cfg_default(dm);
	for (size_t i = 0; i < m->nknobs; i++) {
		replay_knob_format(&m->knobs[i], mcfg, a, sizeof(a));
		replay_knob_format(&m->knobs[i], dm, b, sizeof(b));
		if (strcmp(a, b) && o < len)
			o += (size_t)snprintf(buf + o, len - o, "%s%s=%s", o ? " " : "",
					      m->knobs[i].key, a);
	}
}

/* ------------------------------------------------------------ replay_config */

void replay_config_init(struct replay_config *c)
{
	memset(c, 0, sizeof(*c));
}

void replay_config_free(struct replay_config *c)
{
	fault_free(c->settings);
	memset(c, 0, sizeof(*c));
}

int replay_config_set(struct replay_config *c, const char *text, char *err, size_t errlen)
{
	size_t old = c->settings ? strlen(c->settings) : 0, add = strlen(text);
	char *n;
	int rc;

	rc = replay_config_check(text, err, errlen);
	if (rc)
		return rc;
	n = fault_realloc(NULL, "replay.config_set", c->settings, old + add + 2);
	if (!n)
		return -ENOMEM;
	if (old)
		n[old++] = ' ';
	memcpy(n + old, text, add + 1);
	c->settings = n;
	return 0;
}

int replay_config_copy(struct replay_config *dst, const struct replay_config *src)
{
	*dst = *src;
	dst->settings = NULL;
	if (src->settings) {
		dst->settings = rp_strdup(src->settings);
		if (!dst->settings)
			return -ENOMEM;
	}
	return 0;
}
