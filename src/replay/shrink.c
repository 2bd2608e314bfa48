/* SPDX-License-Identifier: MIT */
/*
 * `iommusim shrink`: delta debugging of a trace down to a minimal one that
 * still shows a condition (a fault, a stale window, a checker finding, a
 * crash).
 *
 * Units: event groups (an lx_sg parent and the lx_sg entries after it move
 * together; every other event is its own group). Algorithm: Zeller's ddmin
 * in its complement form: split the groups into n chunks, try dropping each
 * chunk, keep the first candidate that still shows the condition (n shrinks
 * by one), else double n; stop when n exceeds the groups. The result is
 * 1-minimal: dropping any single group loses the condition. Before ddmin,
 * for faults and stale windows without a detail, the trace is cut after the
 * first event that showed the condition (nothing later can be needed).
 *
 * Candidates share the input's string table (read-only) and use one event
 * buffer; each test is one replay_run(). Crash tests run in a forked child,
 * so a crashing candidate costs the child, not the shrinker.
 *
 * No state beyond one call.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <iommusim/fault.h>

#include "replay/engine.h"

int replay_until_parse(const char *s, struct replay_until *out, char *err, size_t errlen)
{
	static const char *const names[] = { "fault", "stale", "checker", "crash" };
	const char *colon = strchr(s, ':');
	size_t n = colon ? (size_t)(colon - s) : strlen(s);

	memset(out, 0, sizeof(*out));
	for (unsigned i = 0; i < 4; i++)
		if (strlen(names[i]) == n && !strncmp(s, names[i], n)) {
			out->cond = (enum replay_cond)i;
			if (colon) {
				if (strlen(colon + 1) >= sizeof(out->detail) || !colon[1])
					break;
				snprintf(out->detail, sizeof(out->detail), "%s", colon + 1);
			}
			return 0;
		}
	snprintf(err, errlen,
		 "'%s': expected fault[:REASON], stale[:DEVICE], checker[:RULE] or crash", s);
	return -EINVAL;
}

static bool result_shows(const struct replay_result *r, const struct replay_until *u,
			 const struct replay_config *c)
{
	switch (u->cond) {
	case REPLAY_COND_FAULT: {
		uint64_t code;

		if (!u->detail[0])
			return r->faults > 0;
		for (unsigned i = 0; i < r->nreasons; i++) {
			if (r->reasons[i].name && !strcmp(r->reasons[i].name, u->detail))
				return true;
			if (!rp_parse_u64(u->detail, &code) && r->reasons[i].reason == code)
				return true;
		}
		return false;
	}
	case REPLAY_COND_STALE:
		if (!u->detail[0])
			return r->stale > 0;
		for (unsigned i = 0; i < r->nstale_list; i++)
			if (!strcmp(rt_str(r->trace, r->stale_list[i].dev), u->detail))
				return true;
		return false;
	case REPLAY_COND_CHECKER: {
		const struct replay_model *m = c->model;

		if (!u->detail[0])
			return r->hw.checker_warnings > 0;
		if (!m)
			m = replay_model_find(r->model);
		for (unsigned i = 0; m && m->checker_rule_name && i < r->nchecker_rules; i++)
			if (r->checker_rules[i] && !strcmp(m->checker_rule_name(i), u->detail))
				return true;
		return false;
	}
	case REPLAY_COND_CRASH:
		return false;
	}
	return false;
}

static int check_crash(const struct rt_trace *t, const struct replay_config *c)
{
	pid_t pid;
	int status;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		struct replay_result r;
		int rc = replay_run(t, c, NULL, &r, NULL, 0);

		/* A configuration the model refuses is not a crash. */
		_exit(rc == 0 || rc == -EINVAL ? 0 : 3);
	}
	if (waitpid(pid, &status, 0) < 0)
		return -errno;
	return !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* 1: shows, 0: does not; *cut gets the first event showing it (or UINT64_MAX). */
static int check(const struct rt_trace *t, const struct replay_config *c,
		 const struct replay_until *u, uint64_t *cut)
{
	struct replay_opts o = { 0 };
	struct replay_result r;
	int rc, shows;

	if (cut)
		*cut = UINT64_MAX;
	if (u->cond == REPLAY_COND_CRASH)
		return check_crash(t, c);
	if (!u->detail[0])
		o.stop_at = u->cond == REPLAY_COND_FAULT   ? REPLAY_STOP_FAULT
			    : u->cond == REPLAY_COND_STALE ? REPLAY_STOP_STALE
							   : 0;
	rc = replay_run(t, c, &o, &r, NULL, 0);
	if (rc == -ENOMEM) {
		replay_result_free(&r);
		return rc;
	}
	shows = !rc && result_shows(&r, u, c);
	if (shows && cut && !u->detail[0])
		*cut = u->cond == REPLAY_COND_FAULT   ? r.first_fault_event
		       : u->cond == REPLAY_COND_STALE ? r.first_stale_event
						      : UINT64_MAX;
	replay_result_free(&r);
	return shows;
}

/* The configuration for checker conditions: the model's checker switched on. */
static int until_config(const struct rt_trace *t, const struct replay_config *c,
			const struct replay_until *u, struct replay_config *out)
{
	const struct replay_model *m = c->model;
	char err[256], one[128];
	int rc = replay_config_copy(out, c);

	if (rc || u->cond != REPLAY_COND_CHECKER)
		return rc;
	for (size_t i = 0; !m && i < t->n; i++)
		if (t->ev[i].kind == RT_EV_IOMMU)
			m = replay_model_find(rt_str(t, t->ev[i].u.iommu.vendor));
	if (!m) {
		size_t n;

		m = replay_models(&n)[0];
	}
	if (m->checker_key) {
		snprintf(one, sizeof(one), "%s=1", m->checker_key);
		rc = replay_config_set(out, one, err, sizeof(err));
	}
	return rc;
}

int replay_until_check(const struct rt_trace *t, const struct replay_config *c,
		       const struct replay_until *u)
{
	struct replay_config cc;
	int rc = until_config(t, c, u, &cc);

	if (rc)
		return rc;
	rc = check(t, &cc, u, NULL);
	replay_config_free(&cc);
	return rc;
}

struct shrinker {
	const struct rt_trace *t;
	const struct replay_config *c;
	const struct replay_until *u;
	struct rt_trace cand; /* shares t's strings; ev is our buffer */
	size_t *gstart, *glen;
	uint64_t tests;
};

/* Build the candidate from groups @g[0..n) minus [skip_from, skip_to). */
static int test_groups(struct shrinker *s, const size_t *g, size_t n, size_t skip_from,
		       size_t skip_to)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		if (i >= skip_from && i < skip_to)
			continue;
		memcpy(&s->cand.ev[k], &s->t->ev[s->gstart[g[i]]],
		       s->glen[g[i]] * sizeof(struct rt_event));
		k += s->glen[g[i]];
	}
	s->cand.n = k;
	s->tests++;
	return check(&s->cand, s->c, s->u, NULL);
}

int replay_shrink(const struct rt_trace *t, const struct replay_config *c,
		  const struct replay_until *u, struct rt_trace *out,
		  struct replay_shrink_stats *st)
{
	struct shrinker s = { 0 };
	struct replay_config cc;
	size_t ng = 0, n, *g = NULL, limit = t->n;
	uint64_t cut = UINT64_MAX;
	int rc;

	memset(st, 0, sizeof(*st));
	st->before = t->n;
	rc = until_config(t, c, u, &cc);
	if (rc)
		return rc;
	s.t = t;
	s.c = &cc;
	s.u = u;
	rc = check(t, &cc, u, &cut);
	st->tests++;
	if (rc <= 0) {
		rc = rc ? rc : -ENOENT;
		goto out_cfg;
	}
	if (cut != UINT64_MAX) {
		limit = cut + 1;
		while (limit < t->n && t->ev[limit].kind == RT_EV_LX_SG_ENT)
			limit++;
	}
	s.cand = *t;
	s.cand.ev = fault_calloc(NULL, "replay.shrink", limit ? limit : 1, sizeof(struct rt_event));
	s.gstart = fault_calloc(NULL, "replay.shrink", limit ? limit : 1, sizeof(size_t));
	s.glen = fault_calloc(NULL, "replay.shrink", limit ? limit : 1, sizeof(size_t));
	g = fault_calloc(NULL, "replay.shrink", limit ? limit : 1, sizeof(size_t));
	if (!s.cand.ev || !s.gstart || !s.glen || !g) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < limit;) {
		size_t j = i + 1;

		while (j < limit && t->ev[j].kind == RT_EV_LX_SG_ENT)
			j++;
		s.gstart[ng] = i;
		s.glen[ng] = j - i;
		g[ng] = ng;
		ng++;
		i = j;
	}
	/* The truncated trace must still show it (a stop-early run can differ). */
	if (cut != UINT64_MAX && test_groups(&s, g, ng, 0, 0) <= 0) {
		rc = -EIO;
		goto out;
	}
	n = 2;
	while (ng >= 2) {
		size_t chunk = (ng + n - 1) / n;
		bool reduced = false;

		for (size_t i = 0; i < n && i * chunk < ng; i++) {
			size_t from = i * chunk, to = from + chunk < ng ? from + chunk : ng;

			rc = test_groups(&s, g, ng, from, to);
			if (rc < 0)
				goto out;
			if (rc) {
				memmove(&g[from], &g[to], (ng - to) * sizeof(*g));
				ng -= to - from;
				n = n > 2 ? n - 1 : 2;
				reduced = true;
				break;
			}
		}
		if (!reduced) {
			if (n >= ng)
				break;
			n = n * 2 < ng ? n * 2 : ng;
		}
	}
	/* The result: a trace of its own, strings renumbered. */
	rc = 0;
	for (uint32_t i = 1; i < t->str.n && !rc; i++) {
		uint32_t id;

		rc = rt_str_intern_cstr(out, rt_str(t, i), &id);
		if (!rc && id != i)
			rc = -EIO;
	}
	for (size_t i = 0; i < ng && !rc; i++)
		for (size_t k = 0; k < s.glen[g[i]] && !rc; k++) {
			struct rt_event ev = t->ev[s.gstart[g[i]] + k];

			ev.src_line = 0;
			rc = rt_trace_append(out, &ev);
		}
	if (!rc)
		rc = rt_trace_canonicalise(out);
	st->after = out->n;
out:
	st->tests += s.tests;
	fault_free(s.cand.ev);
	fault_free(s.gstart);
	fault_free(s.glen);
	fault_free(g);
out_cfg:
	replay_config_free(&cc);
	return rc;
}
