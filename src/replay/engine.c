/* SPDX-License-Identifier: MIT */
/*
 * The replay engine: one run of a trace on a private machine.
 *
 * Data structures (all owned by one struct engine, which lives for one
 * replay_run() call):
 *   units[]        the IOMMU instances of the trace (model + configuration +
 *                  the hardware and driver the model's hooks brought up);
 *   dev_by_str[]   trace string id -> struct rp_dev, so the per-DMA lookup
 *                  of a device is one array load;
 *   pts[]          trace IOAS/HWPT ids -> the iommufd ids and the reference
 *                  address space (struct rp_as) behind them; pt_idx (sparse
 *                  array) maps a trace id to its live entry (index + 1), so
 *                  a lookup costs the same however many ids a trace uses.
 *                  Destroyed entries stay in pts[], unindexed;
 *   struct rp_as   the engine's reference map of one IOAS (or of the Linux
 *                  domain): an interval tree of live mappings, updated only
 *                  after the stack accepted the operation, plus a 4-entry
 *                  lookup cache. Invariant: nodes never overlap.
 *   tags[]         trace tags -> (IOAS, IOVA, length) of the tagged mapping,
 *                  dense; tag_idx (sparse array) maps a tag to its entry
 *                  (index + 1), so traces that tag every mapping look tags
 *                  up in constant time. A tag outlives the unmap of its
 *                  mapping (a DMA through it is a use after unmap) until
 *                  another mapping takes it or its IOAS is destroyed.
 *
 * The per-DMA path (dma_event) allocates nothing and formats nothing unless
 * an event trace is being written: array lookups, one plat_dev_translate per
 * page, a reference lookup per page that is usually a cache hit.
 *
 * Native events use the iommufd uAPI of one context (one simulated process,
 * the first pid the trace names); devices are bound through the iommufd
 * core's in-kernel bind (iommufd_device_bind, src/iommufd/device.h), since
 * no uAPI binds a platform device. Linux-derived events drive one paging
 * domain of the iommu core that every Linux-named device attaches to
 * (engine_linux.c). See docs/replay.md for what each event does.
 *
 * Locking: none; one engine per thread.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <iommusim/fault.h>
#include <iommusim/iommufd.h>
#include <iommusim/iommufd_ctx.h>
#include <iommusim/machine.h>
#include <iommusim/platform.h>
#include <iommusim/trace.h>

#include "replay/engine_int.h"

/* ------------------------------------------------------------ helpers */

void rp_err(struct engine *e, const char *fmt, ...)
{
	va_list ap;

	if (!e->err || !e->errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(e->err, e->errlen, fmt, ap);
	va_end(ap);
}

char *rp_strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = fault_malloc(NULL, "replay.strdup", n);

	if (p)
		memcpy(p, s, n);
	return p;
}

static void op_error(struct engine *e, int rc)
{
	struct replay_result *r = e->res;

	r->op_errors++;
	r->op_errors_by_kind[e->cur->kind]++;
	if (!r->first_op_error) {
		r->first_op_error = rc;
		r->first_op_error_event = e->ev_index;
	}
}

static void skipped(struct engine *e)
{
	e->res->skipped++;
	e->res->skipped_by_kind[e->cur->kind]++;
}

static int ioctl_rc(struct engine *e, unsigned long cmd, void *arg)
{
	if (!iommufd_ioctl(e->ictx, cmd, arg))
		return 0;
	return errno ? -errno : -EIO;
}

/* ------------------------------------------------------------ latency */

unsigned rp_lat_bucket(uint64_t ns)
{
	unsigned msb, b;

	if (ns < 512)
		return (unsigned)ns;
	msb = 63u - (unsigned)__builtin_clzll(ns);
	b = 512 + (msb - 9) * 64 + (unsigned)((ns >> (msb - 6)) & 63);
	return b < REPLAY_LAT_BUCKETS ? b : REPLAY_LAT_BUCKETS - 1;
}

uint64_t rp_lat_bucket_floor(unsigned b)
{
	unsigned octave, sub;

	if (b < 512)
		return b;
	octave = (b - 512) / 64 + 9;
	sub = (b - 512) % 64;
	return (1ULL << octave) + ((uint64_t)sub << (octave - 6));
}

/* ------------------------------------------------------------ reference map */

void rp_as_init(struct rp_as *as)
{
	memset(as, 0, sizeof(*as));
	itree_init(&as->ref);
}

static void as_cache_clear(struct rp_as *as)
{
	memset(as->cache, 0, sizeof(as->cache));
}

int rp_ref_add(struct engine *e, struct rp_as *as, uint64_t iova, uint64_t len, uint32_t perms,
	       uint64_t pa)
{
	struct rp_ref *r;

	if (!len || iova + len - 1 < iova)
		return -EINVAL;
	r = fault_malloc(NULL, "replay.ref", sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->node.start = iova;
	r->node.last = iova + len - 1;
	r->perms = perms;
	r->pa = pa;
	itree_insert(&as->ref, &r->node);
	as->nrefs++;
	e->live_maps++;
	return 0;
}

/* Remove [start, last] from the reference, trimming or splitting nodes. */
int rp_ref_remove(struct engine *e, struct rp_as *as, uint64_t start, uint64_t last)
{
	struct itree_node *n, *next;
	int rc = 0;

	as_cache_clear(as);
	for (n = itree_iter_first(&as->ref, start, last); n; n = next) {
		struct rp_ref *r = (struct rp_ref *)n;
		uint64_t s = n->start, l = n->last;

		next = itree_iter_next(n, start, last);
		itree_remove(&as->ref, n);
		as->nrefs--;
		e->live_maps--;
		if (s < start) {
			rc |= rp_ref_add(e, as, s, start - s, r->perms, r->pa);
		}
		if (l > last) {
			rc |= rp_ref_add(e, as, last + 1, l - last, r->perms,
					 r->pa ? r->pa + (last + 1 - s) : 0);
		}
		fault_free(r);
	}
	return rc ? -ENOMEM : 0;
}

void rp_ref_clear(struct engine *e, struct rp_as *as)
{
	struct itree_node *n;

	as_cache_clear(as);
	while ((n = itree_first(&as->ref))) {
		itree_remove(&as->ref, n);
		fault_free(n);
		as->nrefs--;
		e->live_maps--;
	}
}

struct rp_ref *rp_ref_lookup(struct rp_as *as, uint64_t iova)
{
	struct itree_node *n;
	unsigned i;

	for (i = 0; i < RP_AS_CACHE; i++) {
		struct rp_ref *r = as->cache[i];

		if (r && iova >= r->node.start && iova <= r->node.last)
			return r;
	}
	n = itree_iter_first(&as->ref, iova, iova);
	if (!n)
		return NULL;
	as->cache[as->cache_next++ % RP_AS_CACHE] = (struct rp_ref *)n;
	return (struct rp_ref *)n;
}

/* ------------------------------------------------------------ tables */

static struct rp_pt *pt_find(struct engine *e, uint32_t trace_id)
{
	uint64_t slot = sparse_load(&e->pt_idx, trace_id);

	return slot ? &e->pts[slot - 1] : NULL;
}

static struct rp_as *ioas_find(struct engine *e, uint32_t trace_id)
{
	struct rp_pt *pt = pt_find(e, trace_id);

	return pt && !pt->hwpt ? pt->as : NULL;
}

/* A new entry for @trace_id, indexed as its live one (the caller checked pt_find). */
static struct rp_pt *pt_new(struct engine *e, uint32_t trace_id)
{
	struct rp_pt *pt;

	if (e->npts == e->cappts) {
		unsigned cap = e->cappts ? e->cappts * 2 : 8;
		struct rp_pt *n = fault_realloc(NULL, "replay.pts", e->pts, cap * sizeof(*n));

		if (!n)
			return NULL;
		e->pts = n;
		e->cappts = cap;
	}
	if (sparse_store(&e->pt_idx, trace_id, (uint64_t)e->npts + 1))
		return NULL;
	pt = &e->pts[e->npts++];
	memset(pt, 0, sizeof(*pt));
	pt->trace_id = trace_id;
	return pt;
}

/* The id is destroyed: the entry stays (pts[] only grows), unreachable. */
static void pt_kill(struct engine *e, struct rp_pt *pt)
{
	sparse_erase(&e->pt_idx, pt->trace_id);
}

static struct rp_tag *tag_find(struct engine *e, uint32_t tag)
{
	uint64_t slot = sparse_load(&e->tag_idx, tag);

	return slot ? &e->tags[slot - 1] : NULL;
}

static int tag_set(struct engine *e, uint32_t tag, struct rp_as *as, uint64_t iova, uint64_t len)
{
	struct rp_tag *t = tag_find(e, tag);

	if (!t) {
		if (e->ntags == e->captags) {
			unsigned cap = e->captags ? e->captags * 2 : 16;
			struct rp_tag *n =
				fault_realloc(NULL, "replay.tags", e->tags, cap * sizeof(*n));

			if (!n)
				return -ENOMEM;
			e->tags = n;
			e->captags = cap;
		}
		if (sparse_store(&e->tag_idx, tag, (uint64_t)e->ntags + 1))
			return -ENOMEM;
		t = &e->tags[e->ntags++];
		t->tag = tag;
	}
	t->as = as;
	t->iova = iova;
	t->len = len;
	return 0;
}

/* Forget every tag naming a mapping of @as (its IOAS is gone): swap-remove. */
static void tag_drop_as(struct engine *e, struct rp_as *as)
{
	unsigned i = 0;

	while (i < e->ntags) {
		if (e->tags[i].as != as) {
			i++;
			continue;
		}
		sparse_erase(&e->tag_idx, e->tags[i].tag);
		if (i != --e->ntags) {
			e->tags[i] = e->tags[e->ntags];
			/* Overwrites a present entry: allocates nothing, cannot fail. */
			(void)sparse_store(&e->tag_idx, e->tags[i].tag, (uint64_t)i + 1);
		}
	}
}

/* An address relative to @tag (0: absolute). -ENOENT for an unknown tag. */
static int tag_addr(struct engine *e, uint32_t tag, uint64_t off, uint64_t *iova)
{
	struct rp_tag *t;

	if (!tag) {
		*iova = off;
		return 0;
	}
	t = tag_find(e, tag);
	if (!t)
		return -ENOENT;
	*iova = t->iova + off;
	return 0;
}

/* ------------------------------------------------------------ setup */

int rp_machine(struct engine *e, uint64_t mem)
{
	struct mach_config mc = { 0 };
	int rc;

	if (e->m)
		return 0;
	mc.mem_size = e->s.mem ? e->s.mem : mem ? mem : 4ULL << 30;
	mc.backing = MACH_BACKING_OWNED;
	mc.seed = e->s.seed;
	rc = mach_create(&mc, &e->m);
	if (rc) {
		rp_err(e, "cannot create a machine of %" PRIu64 " bytes: %s", mc.mem_size,
		       strerror(-rc));
		return rc;
	}
	rc = rp_trace_start(e);
	if (rc)
		e->failed = true; /* no trace the caller asked for: stop, even without err */
	return rc;
}

static struct rp_proc *proc_get(struct engine *e, uint32_t pid, int *rc)
{
	struct rp_proc *p;

	for (unsigned i = 0; i < e->nprocs; i++)
		if (e->procs[i].pid == pid)
			return &e->procs[i];
	if (e->nprocs == RP_MAX_PROCS) {
		*rc = -ENOSPC;
		return NULL;
	}
	*rc = rp_machine(e, 0);
	if (*rc)
		return NULL;
	if (!e->user) {
		*rc = mach_user_get(e->m, 1000, &e->user);
		if (*rc)
			return NULL;
	}
	p = &e->procs[e->nprocs];
	p->pid = pid;
	*rc = mach_proc_create(e->m, e->user, &p->p);
	if (*rc)
		return NULL;
	mach_proc_set_rlimit_memlock(p->p, MACH_RLIM_INFINITY);
	mach_proc_set_cap_ipc_lock(p->p, true);
	e->nprocs++;
	return p;
}

/* The iommufd context, opened for the first process (pid 1 when none was named). */
static int ctx_get(struct engine *e)
{
	struct rp_proc *p;
	int rc;

	if (e->ictx)
		return 0;
	p = e->nprocs ? &e->procs[0] : proc_get(e, 1, &rc);
	if (!p)
		return rc;
	rc = iommufd_ctx_open(p->p, &e->ictx);
	if (rc)
		return rc;
	e->ctx_pid = p->pid;
	return 0;
}

/* Configure and bring up one IOMMU instance. */
int rp_unit_add(struct engine *e, uint32_t name, const char *vendor, const char *cfgtext,
		struct rp_unit **out)
{
	const struct replay_model *m = e->c->model;
	struct rp_unit *u;
	char e2[256];
	int rc;

	if (e->nunits == RP_MAX_UNITS) {
		rp_err(e, "more than %d IOMMU instances", RP_MAX_UNITS);
		return -ENOSPC;
	}
	if (!m) {
		m = replay_model_find(vendor);
		if (!m) {
			size_t n;
			const struct replay_model *const *all = replay_models(&n);

			rp_err(e,
			       "event %" PRIu64
			       ": IOMMU model '%s' is not available (models: %s%s)",
			       e->ev_index + 1, vendor, n ? all[0]->name : "none",
			       n > 1 ? ", ..." : "");
			return -EINVAL;
		}
	} else if (strcmp(vendor, m->name)) {
		cfgtext = NULL; /* the trace's configuration is for another model */
	}
	rc = rp_machine(e, 0);
	if (rc)
		return rc;
	u = &e->units[e->nunits];
	memset(u, 0, sizeof(*u));
	u->name = name;
	u->model = m;
	u->cfg = fault_zalloc(NULL, "replay.unit_cfg", m->cfg_size);
	if (!u->cfg)
		return -ENOMEM;
	m->cfg_default(u->cfg);
	replay_settings_default(&u->s);
	rc = rp_config_apply(m, u->cfg, &u->s, cfgtext, e2, sizeof(e2));
	if (rc) {
		rp_err(e, "event %" PRIu64 " (iommu config): %s", e->ev_index + 1, e2);
		goto err_cfg;
	}
	rc = rp_config_apply(m, u->cfg, &u->s, e->c->settings, e2, sizeof(e2));
	if (!rc)
		rc = m->cfg_finish(u->cfg, &u->s, e2, sizeof(e2));
	if (rc) {
		rp_err(e, "%s", e2);
		goto err_cfg;
	}
	rc = m->unit_create(e->m, u->cfg, &u->s, &u->hw);
	if (rc) {
		rp_err(e, "cannot bring up a %s unit with '%s': %s", m->name,
		       e->c->settings ? e->c->settings : "", strerror(-rc));
		goto err_cfg;
	}
	if (!e->nunits) {
		snprintf(e->res->model, sizeof(e->res->model), "%s", m->name);
		rp_config_canonical(m, u->cfg, &u->s, e->res->config, sizeof(e->res->config));
	}
	e->nunits++;
	*out = u;
	return 0;

err_cfg:
	fault_free(u->cfg);
	u->cfg = NULL;
	return rc;
}

struct rp_unit *rp_unit_find(struct engine *e, uint32_t name)
{
	for (unsigned i = 0; i < e->nunits; i++)
		if (e->units[i].name == name)
			return &e->units[i];
	return NULL;
}

/* A device behind @u: platform function + driver endpoint. */
int rp_dev_add(struct engine *e, struct rp_unit *u, uint32_t name, const struct plat_dev_config *dc,
	       struct rp_dev **out)
{
	struct rp_dev *d;
	int rc;

	if (name && name < e->t->str.n && e->dev_by_str[name])
		return -EEXIST;
	d = fault_zalloc(NULL, "replay.dev", sizeof(*d));
	if (!d)
		return -ENOMEM;
	if (!u->ndevs)
		plat_iommu_set_segment(u->hw.pi, dc->seg);
	rc = plat_dev_add(u->hw.pi, dc, &d->pd);
	if (rc)
		goto err_free;
	rc = u->model->probe_device(&u->hw, d->pd, &d->idev);
	if (rc)
		goto err_plat;
	d->name = name;
	d->unit = u;
	d->track = e->ndevs + 1;
	d->next = e->devs;
	e->devs = d;
	e->ndevs++;
	u->ndevs++;
	if (name && name < e->t->str.n)
		e->dev_by_str[name] = d;
	rp_trace_track(e, d);
	*out = d;
	return 0;

err_plat:
	plat_dev_remove(d->pd);
err_free:
	fault_free(d);
	return rc;
}

/* ------------------------------------------------------------ native events */

static int ev_device(struct engine *e, const struct rt_event *ev)
{
	const struct rt_trace *t = e->t;
	struct plat_dev_config dc = { 0 };
	struct rp_unit *u = rp_unit_find(e, ev->u.device.iommu);
	struct rp_dev *d;
	int rc, err = 0;

	if (!u) {
		rp_err(e, "event %" PRIu64 ": device '%s' behind unknown IOMMU '%s'",
		       e->ev_index + 1, rt_str(t, ev->u.device.name),
		       rt_str(t, ev->u.device.iommu));
		return -EINVAL;
	}
	dc.seg = ev->u.device.segment;
	dc.bus = ev->u.device.bus;
	dc.dev = ev->u.device.devfn >> 3;
	dc.fn = ev->u.device.devfn & 7;
	dc.pasid_width = ev->u.device.pasid_bits;
	dc.ats = ev->flags & RT_DEV_ATS;
	dc.pri = ev->flags & RT_DEV_PRI;
	rc = rp_dev_add(e, u, ev->u.device.name, &dc, &d);
	if (rc) {
		rp_err(e, "event %" PRIu64 ": device '%s': %s", e->ev_index + 1,
		       rt_str(t, ev->u.device.name), strerror(-rc));
		return rc;
	}
	rc = ctx_get(e);
	if (rc)
		return rc;
	d->fdev = iommufd_device_bind(e->ictx, d->idev, &d->fd_id, &err);
	if (!d->fdev) {
		rp_err(e, "event %" PRIu64 ": binding device '%s' to iommufd: %s", e->ev_index + 1,
		       rt_str(t, ev->u.device.name), strerror(-err));
		return err ? err : -EIO;
	}
	return 0;
}

static int ev_mmap(struct engine *e, const struct rt_event *ev)
{
	struct rp_proc *p;
	unsigned flags = MACH_MAP_FIXED;
	uint64_t out;
	int rc;

	p = proc_get(e, ev->u.mmap.pid, &rc);
	if (!p)
		return rc;
	if (ev->kind == RT_EV_MUNMAP)
		return mach_munmap(p->p, ev->u.mmap.va, ev->u.mmap.len);
	if (ev->flags & RT_MMAP_SHARED)
		flags |= MACH_MAP_SHARED;
	if (ev->flags & RT_MMAP_HUGE_2M)
		flags |= MACH_MAP_HUGE_2M;
	if (ev->flags & RT_MMAP_HUGE_1G)
		flags |= MACH_MAP_HUGE_1G;
	if (ev->flags & RT_MMAP_POPULATE)
		flags |= MACH_MAP_POPULATE;
	return mach_mmap(p->p, ev->u.mmap.va, ev->u.mmap.len,
			 ev->u.mmap.prot & (MACH_PROT_READ | MACH_PROT_WRITE), flags, NULL, 0,
			 &out);
}

static int ev_memfd(struct engine *e, const struct rt_event *ev)
{
	struct rp_file *f;
	int rc;

	if (e->nfiles == RP_MAX_FILES)
		return -ENOSPC;
	rc = ctx_get(e);
	if (rc)
		return rc;
	f = &e->files[e->nfiles];
	rc = mach_file_create(e->m, ev->u.memfd.size, &f->f);
	if (rc)
		return rc;
	rc = iommufd_ctx_install_file(e->ictx, f->f);
	if (rc < 0) {
		mach_file_put(f->f);
		return rc;
	}
	f->fd = rc;
	f->name = ev->u.memfd.name;
	e->nfiles++;
	return 0;
}

static int ev_ioas_alloc(struct engine *e, const struct rt_event *ev)
{
	struct iommu_ioas_alloc a = { .size = sizeof(a) };
	struct rp_pt *pt;
	struct rp_as *as;
	int rc;

	if (pt_find(e, ev->u.ioas.id))
		return -EEXIST;
	rc = ctx_get(e);
	if (rc)
		return rc;
	as = fault_malloc(NULL, "replay.as", sizeof(*as));
	if (!as)
		return -ENOMEM;
	rp_as_init(as);
	rc = ioctl_rc(e, IOMMU_IOAS_ALLOC, &a);
	if (rc) {
		fault_free(as);
		return rc;
	}
	pt = pt_new(e, ev->u.ioas.id);
	if (!pt) {
		fault_free(as);
		return -ENOMEM;
	}
	as->trace_id = ev->u.ioas.id;
	as->fd_id = a.out_ioas_id;
	as->next = e->ases;
	e->ases = as;
	pt->fd_id = a.out_ioas_id;
	pt->as = as;
	return 0;
}

static uint32_t map_flags(uint16_t f)
{
	return ((f & RT_MAP_READ) ? IOMMU_IOAS_MAP_READABLE : 0) |
	       ((f & RT_MAP_WRITE) ? IOMMU_IOAS_MAP_WRITEABLE : 0);
}

static uint32_t map_perms(uint16_t f)
{
	return ((f & RT_MAP_READ) ? HWM_ACC_READ : 0) | ((f & RT_MAP_WRITE) ? HWM_ACC_WRITE : 0);
}

/*
 * The stack accepted a new mapping of [iova, iova + len) in @as (map,
 * map_file, copy): count it, record it in the reference, name it by @tag
 * (0: untagged) and update the live-mappings counter.
 */
static int map_done(struct engine *e, struct rp_as *as, uint64_t iova, uint64_t len, uint16_t flags,
		    uint32_t tag)
{
	int rc;

	e->res->maps++;
	rc = rp_ref_add(e, as, iova, len, map_perms(flags), 0);
	if (!rc && tag)
		rc = tag_set(e, tag, as, iova, len);
	rp_trace_depth(e);
	return rc;
}

static int ev_map(struct engine *e, const struct rt_event *ev)
{
	struct rp_as *as = ioas_find(e, ev->u.map.ioas);
	struct iommu_ioas_map a = { .size = sizeof(a) };
	int rc;

	if (!as)
		return -ENOENT;
	if (ev->u.map.pid != e->ctx_pid)
		return -EOPNOTSUPP; /* one iommufd context, for the first process */
	a.flags = map_flags(ev->flags);
	if (ev->u.map.iova != RT_IOVA_AUTO) {
		a.flags |= IOMMU_IOAS_MAP_FIXED_IOVA;
		a.iova = ev->u.map.iova;
	}
	a.ioas_id = as->fd_id;
	a.user_va = ev->u.map.va;
	a.length = ev->u.map.len;
	rc = ioctl_rc(e, IOMMU_IOAS_MAP, &a);
	if (rc)
		return rc;
	return map_done(e, as, a.iova, a.length, ev->flags, ev->u.map.tag);
}

static int ev_map_file(struct engine *e, const struct rt_event *ev)
{
	struct rp_as *as = ioas_find(e, ev->u.map_file.ioas);
	struct iommu_ioas_map_file a = { .size = sizeof(a) };
	struct rp_file *f = NULL;
	int rc;

	if (!as)
		return -ENOENT;
	for (unsigned i = 0; i < e->nfiles; i++)
		if (e->files[i].name == ev->u.map_file.file)
			f = &e->files[i];
	if (!f)
		return -EBADF;
	a.flags = map_flags(ev->flags);
	if (ev->u.map_file.iova != RT_IOVA_AUTO) {
		a.flags |= IOMMU_IOAS_MAP_FIXED_IOVA;
		a.iova = ev->u.map_file.iova;
	}
	a.ioas_id = as->fd_id;
	a.fd = f->fd;
	a.start = ev->u.map_file.offset;
	a.length = ev->u.map_file.len;
	rc = ioctl_rc(e, IOMMU_IOAS_MAP_FILE, &a);
	if (rc)
		return rc;
	return map_done(e, as, a.iova, a.length, ev->flags, ev->u.map_file.tag);
}

static int ev_unmap(struct engine *e, const struct rt_event *ev)
{
	struct rp_as *as = ioas_find(e, ev->u.unmap.ioas);
	struct iommu_ioas_unmap a = { .size = sizeof(a) };
	bool all = !ev->u.unmap.iova && !ev->u.unmap.len && !ev->u.unmap.tag;
	uint64_t iova;
	int rc;

	if (!as)
		return -ENOENT;
	rc = tag_addr(e, ev->u.unmap.tag, ev->u.unmap.iova, &iova);
	if (rc)
		return rc;
	a.ioas_id = as->fd_id;
	a.iova = all ? 0 : iova;
	a.length = all ? UINT64_MAX : ev->u.unmap.len;
	rc = ioctl_rc(e, IOMMU_IOAS_UNMAP, &a);
	if (rc)
		return rc;
	e->res->unmaps++;
	if (all)
		rp_ref_clear(e, as);
	else if (a.length)
		rc = rp_ref_remove(e, as, iova, iova + ev->u.unmap.len - 1);
	rp_trace_depth(e);
	return rc;
}

static int ev_copy(struct engine *e, const struct rt_event *ev)
{
	struct rp_as *dst = ioas_find(e, ev->u.copy.dst_ioas);
	struct rp_as *src = ioas_find(e, ev->u.copy.src_ioas);
	struct iommu_ioas_copy a = { .size = sizeof(a) };
	uint64_t src_iova;
	int rc;

	if (!dst || !src)
		return -ENOENT;
	rc = tag_addr(e, ev->u.copy.src_tag, ev->u.copy.src_iova, &src_iova);
	if (rc)
		return rc;
	a.flags = map_flags(ev->flags);
	if (ev->u.copy.dst_iova != RT_IOVA_AUTO) {
		a.flags |= IOMMU_IOAS_MAP_FIXED_IOVA;
		a.dst_iova = ev->u.copy.dst_iova;
	}
	a.dst_ioas_id = dst->fd_id;
	a.src_ioas_id = src->fd_id;
	a.src_iova = src_iova;
	a.length = ev->u.copy.len;
	rc = ioctl_rc(e, IOMMU_IOAS_COPY, &a);
	if (rc)
		return rc;
	return map_done(e, dst, a.dst_iova, a.length, ev->flags, ev->u.copy.dst_tag);
}

static int ev_hwpt_alloc(struct engine *e, const struct rt_event *ev)
{
	struct rp_dev *d = ev->u.hwpt.dev < e->t->str.n ? e->dev_by_str[ev->u.hwpt.dev] : NULL;
	struct rp_pt *parent = pt_find(e, ev->u.hwpt.pt), *pt;
	struct iommu_hwpt_alloc a = { .size = sizeof(a) };
	int rc;

	if (!d || !d->fdev || !parent)
		return -ENOENT;
	if (pt_find(e, ev->u.hwpt.id))
		return -EEXIST;
	a.dev_id = d->fd_id;
	a.pt_id = parent->fd_id;
	a.flags = ((ev->flags & RT_HWPT_NEST_PARENT) ? IOMMU_HWPT_ALLOC_NEST_PARENT : 0) |
		  ((ev->flags & RT_HWPT_DIRTY) ? IOMMU_HWPT_ALLOC_DIRTY_TRACKING : 0) |
		  ((ev->flags & RT_HWPT_PASID) ? IOMMU_HWPT_ALLOC_PASID : 0);
	a.data_type = IOMMU_HWPT_DATA_NONE;
	rc = ioctl_rc(e, IOMMU_HWPT_ALLOC, &a);
	if (rc)
		return rc;
	pt = pt_new(e, ev->u.hwpt.id);
	if (!pt)
		return -ENOMEM;
	parent = pt_find(e, ev->u.hwpt.pt); /* pt_new may have moved the array */
	pt->fd_id = a.out_hwpt_id;
	pt->as = parent->as;
	pt->hwpt = true;
	return 0;
}

static int ev_attach(struct engine *e, const struct rt_event *ev)
{
	struct rp_dev *d = ev->u.attach.dev < e->t->str.n ? e->dev_by_str[ev->u.attach.dev] : NULL;
	struct rp_pt *pt;
	uint32_t id;
	int rc;

	if (!d || !d->fdev)
		return -ENOENT;
	if (ev->u.attach.pasid != RT_PASID_NONE) {
		skipped(e); /* the iommufd core has no PASID attach yet */
		return 0;
	}
	if (ev->kind == RT_EV_DETACH) {
		if (!d->fdev->hwpt)
			return -EINVAL;
		iommufd_device_detach(d->fdev);
		d->as = NULL;
		return 0;
	}
	pt = pt_find(e, ev->u.attach.pt);
	if (!pt)
		return -ENOENT;
	id = pt->fd_id;
	rc = iommufd_device_attach(d->fdev, &id);
	if (rc)
		return rc;
	d->as = pt->as;
	return 0;
}

static int ev_ioas_destroy(struct engine *e, const struct rt_event *ev)
{
	struct rp_pt *pt = pt_find(e, ev->u.ioas.id);
	struct iommu_destroy a = { .size = sizeof(a) };
	int rc;

	if (!pt)
		return -ENOENT;
	a.id = pt->fd_id;
	rc = ioctl_rc(e, IOMMU_DESTROY, &a);
	if (rc)
		return rc;
	pt_kill(e, pt);
	if (!pt->hwpt) {
		rp_ref_clear(e, pt->as);
		tag_drop_as(e, pt->as);
		rp_trace_depth(e);
	}
	return 0;
}

/* Flush the IOTLB of every domain in use by the selected devices (a sync point). */
static int ev_flush(struct engine *e, const struct rt_event *ev)
{
	struct iommu_domain *done[16];
	unsigned ndone = 0;
	struct rp_as *as = NULL;

	if (ev->u.flush.ioas) {
		struct rp_pt *pt = pt_find(e, ev->u.flush.ioas);

		if (!pt)
			return -ENOENT;
		as = pt->as;
	}
	for (struct rp_dev *d = e->devs; d; d = d->next) {
		struct iommu_domain *dom = rp_dev_domain(d);
		unsigned i;

		if (!dom || (ev->u.flush.dev && d->name != ev->u.flush.dev) || (as && d->as != as))
			continue;
		for (i = 0; i < ndone; i++)
			if (done[i] == dom)
				break;
		if (i < ndone)
			continue;
		if (ndone < 16)
			done[ndone++] = dom;
		if (dom->ops->flush_iotlb_all)
			dom->ops->flush_iotlb_all(dom);
	}
	return 0;
}

struct iommu_domain *rp_dev_domain(struct rp_dev *d)
{
	if (d->lx_dom)
		return d->lx_dom;
	if (d->fdev && d->fdev->hwpt)
		return d->fdev->hwpt->domain;
	return NULL;
}

/* ------------------------------------------------------------ DMA */

static void fault_count(struct engine *e, struct rp_unit *u, uint32_t reason)
{
	struct replay_result *r = e->res;
	unsigned i;

	for (i = 0; i < r->nreasons; i++)
		if (r->reasons[i].reason == reason) {
			r->reasons[i].count++;
			return;
		}
	if (r->nreasons == REPLAY_MAX_REASONS) {
		r->reasons[REPLAY_MAX_REASONS - 1].count++;
		return;
	}
	/* Keep the list sorted by reason code: the JSON is then order-independent. */
	for (i = r->nreasons; i > 0 && r->reasons[i - 1].reason > reason; i--)
		r->reasons[i] = r->reasons[i - 1];
	r->reasons[i].reason = reason;
	r->reasons[i].name =
		u->model->fault_reason_name ? u->model->fault_reason_name(reason) : NULL;
	r->reasons[i].count = 1;
	r->nreasons++;
}

/*
 * One device access of [iova, iova + len) (len 0: one byte) in @access
 * through the device's IOMMU. The hot path.
 */
int rp_dma(struct engine *e, struct rp_dev *d, struct rp_as *as, uint32_t pasid, uint64_t iova,
	   uint64_t len, uint32_t access)
{
	struct replay_result *r = e->res;
	uint64_t end = iova + (len ? len : 1), cost = 0, mem = 0;
	uint32_t ppasid = pasid == RT_PASID_NONE ? PLAT_NO_PASID : pasid;
	struct rp_ref *ref = NULL;
	bool stale = false, faulted = false;
	struct hwm_xlate x;
	uint64_t a = iova;

	if (end < iova)
		end = UINT64_MAX;
	r->dma_events++;
	for (;;) {
		uint64_t psz;
		int rc = plat_dev_translate(d->pd, a, access, ppasid, &x);

		if (__builtin_expect(rc, 0))
			return rc;
		r->translations++;
		cost += x.cost.ns;
		mem += x.cost.mem_accesses;
		if (__builtin_expect(e->tracing, 0))
			rp_trace_xlate(e, d, a, &x, cost - x.cost.ns);
		if (x.status != HWM_XLATE_OK) {
			struct rp_ref *rr = as ? rp_ref_lookup(as, a) : NULL;

			faulted = true;
			r->faults++;
			if (rr && (rr->perms & access) == access)
				r->unexpected_faults++;
			fault_count(e, d->unit, x.fault.reason);
			break;
		}
		/* No reference (a PASID the engine could not attach): nothing to check. */
		if (as && (!ref || a < ref->node.start || a > ref->node.last)) {
			ref = rp_ref_lookup(as, a);
			if (!ref)
				stale = true;
		}
		psz = x.page_size ? x.page_size : 4096;
		psz -= a & (psz - 1);
		if (end - a <= psz)
			break;
		r->bytes += psz;
		a += psz;
	}
	if (!faulted)
		r->bytes += end - a;
	r->mem_accesses += mem;
	r->modelled_ns += cost;
	r->lat_hist[rp_lat_bucket(cost)]++;
	r->lat_count++;
	if (cost > r->lat_max)
		r->lat_max = cost;
	if (faulted) {
		r->dma_faulted++;
		if (r->first_fault_event == UINT64_MAX)
			r->first_fault_event = e->ev_index;
	} else {
		r->dma_ok++;
	}
	if (stale) {
		if (r->stale < e->s.stale_list) {
			struct replay_stale *s = &r->stale_list[r->nstale_list++];

			s->dev = d->name;
			s->pasid = pasid;
			s->iova = iova;
			s->time_ns = mach_now(e->m);
			s->event = e->ev_index;
		}
		if (r->first_stale_event == UINT64_MAX)
			r->first_stale_event = e->ev_index;
		r->stale++;
	}
	if (__builtin_expect(e->tracing, 0))
		rp_trace_dma(e, d, pasid, iova, len, access, cost, faulted ? &x : NULL, stale);
	return 0;
}

static int ev_dma(struct engine *e, const struct rt_event *ev)
{
	struct rp_dev *d = ev->u.dma.dev < e->t->str.n ? e->dev_by_str[ev->u.dma.dev] : NULL;
	struct rp_as *as;
	uint64_t iova = ev->u.dma.iova;

	if (__builtin_expect(!d, 0))
		return -ENODEV;
	if (ev->u.dma.tag && tag_addr(e, ev->u.dma.tag, ev->u.dma.iova, &iova))
		return -ENOENT;
	if (ev->u.dma.pasid == RT_PASID_NONE)
		as = d->as;
	else
		as = NULL; /* no PASID attach: a successful translation is not ours to explain */
	return rp_dma(e, d, as, ev->u.dma.pasid, iova, ev->u.dma.len, rp_dir_access(ev->dir));
}

/* ------------------------------------------------------------ dispatch */

static int dispatch(struct engine *e, const struct rt_event *ev)
{
	switch ((enum rt_kind)ev->kind) {
	case RT_EV_DMA:
		return ev_dma(e, ev);
	case RT_EV_TIME:
		if (!e->m)
			return rp_machine(e, 0);
		mach_clock_advance(e->m, ev->u.time.ns);
		return 0;
	case RT_EV_MACHINE:
		if (e->m)
			return -EEXIST;
		return rp_machine(e, ev->u.machine.mem_size);
	case RT_EV_IOMMU: {
		struct rp_unit *u;

		if (rp_unit_find(e, ev->u.iommu.name))
			return -EEXIST;
		return rp_unit_add(e, ev->u.iommu.name, rt_str(e->t, ev->u.iommu.vendor),
				   rt_str(e->t, ev->u.iommu.config), &u);
	}
	case RT_EV_DEVICE:
		return ev_device(e, ev);
	case RT_EV_MMAP:
	case RT_EV_MUNMAP:
		return ev_mmap(e, ev);
	case RT_EV_MEMFD:
		return ev_memfd(e, ev);
	case RT_EV_IOAS_ALLOC:
		return ev_ioas_alloc(e, ev);
	case RT_EV_MAP:
		return ev_map(e, ev);
	case RT_EV_MAP_FILE:
		return ev_map_file(e, ev);
	case RT_EV_UNMAP:
		return ev_unmap(e, ev);
	case RT_EV_COPY:
		return ev_copy(e, ev);
	case RT_EV_HWPT_ALLOC:
		return ev_hwpt_alloc(e, ev);
	case RT_EV_ATTACH:
	case RT_EV_DETACH:
		return ev_attach(e, ev);
	case RT_EV_IOAS_DESTROY:
		return ev_ioas_destroy(e, ev);
	case RT_EV_FLUSH:
		return ev_flush(e, ev);
	case RT_EV_INVALID:
	case RT_EV_NR_KINDS:
		return -EINVAL;
	default:
		return rp_linux_event(e, ev);
	}
}

/* Setup failures that make the rest meaningless stop the run. */
static bool fatal_kind(unsigned kind)
{
	return kind == RT_EV_MACHINE || kind == RT_EV_IOMMU || kind == RT_EV_DEVICE;
}

static uint64_t wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void collect_stats(struct engine *e)
{
	struct replay_result *r = e->res;

	for (unsigned i = 0; i < e->nunits; i++) {
		struct rp_unit *u = &e->units[i];
		struct replay_unit_stats st;
		unsigned j, k;

		u->model->unit_stats(&u->hw, &st);
		r->hw.hw.translations += st.hw.translations;
		r->hw.hw.iotlb_hits += st.hw.iotlb_hits;
		r->hw.hw.iotlb_misses += st.hw.iotlb_misses;
		r->hw.hw.iotlb_fills += st.hw.iotlb_fills;
		r->hw.hw.iotlb_evictions += st.hw.iotlb_evictions;
		r->hw.hw.iotlb_invalidations += st.hw.iotlb_invalidations;
		r->hw.hw.walks += st.hw.walks;
		r->hw.hw.walk_mem_accesses += st.hw.walk_mem_accesses;
		r->hw.hw.faults += st.hw.faults;
		r->hw.hw.faults_recorded += st.hw.faults_recorded;
		r->hw.hw.commands += st.hw.commands;
		r->hw.hw.checker_warnings += st.hw.checker_warnings;
		r->hw.hw.injected += st.hw.injected;
		r->hw.checker_warnings += st.checker_warnings;
		for (j = 0; j < st.ncaches; j++) {
			for (k = 0; k < r->hw.ncaches; k++)
				if (!strcmp(r->hw.caches[k].name, st.caches[j].name))
					break;
			if (k == r->hw.ncaches) {
				if (k == REPLAY_MAX_NAMED)
					continue;
				r->hw.caches[k] = (struct replay_named){ st.caches[j].name, 0, 0 };
				r->hw.ncaches++;
			}
			r->hw.caches[k].a += st.caches[j].a;
			r->hw.caches[k].b += st.caches[j].b;
		}
		for (j = 0; j < st.ninval; j++) {
			for (k = 0; k < r->hw.ninval; k++)
				if (!strcmp(r->hw.inval[k].name, st.inval[j].name))
					break;
			if (k == r->hw.ninval) {
				if (k == REPLAY_MAX_NAMED)
					continue;
				r->hw.inval[k] =
					(struct replay_named){ st.inval[j].name, 0, st.inval[j].b };
				r->hw.ninval++;
			}
			r->hw.inval[k].a += st.inval[j].a;
		}
		if (i == 0 && u->model->checker_rule_name) {
			for (j = 0; j < 32 && u->model->checker_rule_name(j); j++)
				r->checker_rules[j] = u->model->checker_count(&u->hw, j);
			r->nchecker_rules = j;
		}
	}
	if (e->m)
		r->sim_time_ns = mach_now(e->m);
}

static void teardown(struct engine *e)
{
	struct rp_dev *d, *next;

	rp_trace_stop(e);
	/* Endpoints leave their domains first, then the context goes. */
	for (d = e->devs; d; d = d->next) {
		if (d->fdev) {
			if (d->fdev->hwpt)
				iommufd_device_detach(d->fdev);
			iommufd_device_unbind(d->fdev);
			d->fdev = NULL;
		}
	}
	rp_linux_teardown(e);
	if (e->ictx)
		iommufd_ctx_close(e->ictx);
	for (d = e->devs; d; d = next) {
		next = d->next;
		d->unit->model->release_device(d->idev);
		plat_dev_remove(d->pd);
		fault_free(d);
	}
	for (unsigned i = 0; i < e->nunits; i++) {
		e->units[i].model->unit_destroy(&e->units[i].hw);
		fault_free(e->units[i].cfg);
	}
	for (unsigned i = 0; i < e->nfiles; i++)
		mach_file_put(e->files[i].f);
	while (e->ases) {
		struct rp_as *as = e->ases;

		e->ases = as->next;
		rp_ref_clear(e, as);
		fault_free(as);
	}
	rp_ref_clear(e, &e->lx_as);
	for (unsigned i = 0; i < e->nprocs; i++)
		mach_proc_destroy(e->procs[i].p);
	if (e->user)
		mach_user_put(e->user);
	if (e->m)
		mach_destroy(e->m);
	sparse_destroy(&e->pt_idx);
	sparse_destroy(&e->tag_idx);
	fault_free(e->pts);
	fault_free(e->tags);
	fault_free(e->dev_by_str);
}

int replay_run(const struct rt_trace *t, const struct replay_config *c, const struct replay_opts *o,
	       struct replay_result *res, char *err, size_t errlen)
{
	static const struct replay_opts no_opts;
	struct engine *e;
	char e2[256];
	uint64_t t0 = wall_ns();
	int rc = 0;

	if (!o)
		o = &no_opts;
	memset(res, 0, sizeof(*res));
	res->first_stale_event = UINT64_MAX;
	res->first_fault_event = UINT64_MAX;
	res->first_op_error_event = UINT64_MAX;
	res->trace = t;
	e = fault_zalloc(NULL, "replay.engine", sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->t = t;
	e->c = c;
	e->o = o;
	e->res = res;
	e->err = err;
	e->errlen = errlen;
	if (err && errlen)
		err[0] = 0;
	rp_as_init(&e->lx_as);
	sparse_init(&e->pt_idx, NULL);
	sparse_init(&e->tag_idx, NULL);
	replay_settings_default(&e->s);
	rc = rp_config_apply(NULL, NULL, &e->s, c->settings, e2, sizeof(e2));
	if (rc) {
		rp_err(e, "%s", e2);
		goto out;
	}
	res->seed = e->s.seed;
	if (e->s.stale_list) {
		res->stale_list = fault_calloc(NULL, "replay.stale_list", e->s.stale_list,
					       sizeof(*res->stale_list));
		if (!res->stale_list) {
			rc = -ENOMEM;
			goto out;
		}
	}
	e->dev_by_str =
		fault_calloc(NULL, "replay.devs", t->str.n ? t->str.n : 1, sizeof(*e->dev_by_str));
	if (!e->dev_by_str) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < t->n; i++) {
		const struct rt_event *ev = &t->ev[i];

		e->ev_index = i;
		e->cur = ev;
		rc = dispatch(e, ev);
		if (__builtin_expect(rc, 0)) {
			if (rc == -ENOMEM || fatal_kind(ev->kind) || e->failed ||
			    (e->err && e->err[0])) {
				if (!e->err || !e->err[0])
					rp_err(e, "event %zu (%s): %s", i + 1,
					       rt_kind_name(ev->kind), strerror(-rc));
				res->events = i;
				goto out;
			}
			op_error(e, rc);
			rc = 0;
		}
		if (__builtin_expect((i & 0xffff) == 0xffff, 0)) {
			if (o->progress && o->progress(o->progress_arg, i + 1, t->n)) {
				rc = -ECANCELED;
				goto out;
			}
			if (e->tracing)
				rp_trace_drain(e);
		}
		if (__builtin_expect(o->stop_at, 0) &&
		    (((o->stop_at & REPLAY_STOP_STALE) && res->first_stale_event != UINT64_MAX) ||
		     ((o->stop_at & REPLAY_STOP_FAULT) && res->first_fault_event != UINT64_MAX))) {
			res->events = i + 1;
			goto done;
		}
	}
	res->events = t->n;
done:
	collect_stats(e);
out:
	if (rc && !e->nunits && e->m == NULL && !(err && err[0]))
		rp_err(e, "%s", strerror(-rc));
	teardown(e);
	fault_free(e);
	res->wall_ns = wall_ns() - t0;
	return rc;
}

void replay_result_free(struct replay_result *r)
{
	fault_free(r->stale_list);
	r->stale_list = NULL;
}

uint64_t replay_latency_percentile(const struct replay_result *r, double p)
{
	uint64_t rank, cum = 0;

	if (!r->lat_count)
		return 0;
	if (p >= 100.0)
		return r->lat_max;
	rank = (uint64_t)(p / 100.0 * (double)r->lat_count);
	if (rank < 1)
		rank = 1;
	for (unsigned b = 0; b < REPLAY_LAT_BUCKETS; b++) {
		cum += r->lat_hist[b];
		if (cum >= rank)
			return rp_lat_bucket_floor(b);
	}
	return r->lat_max;
}

double replay_iotlb_hit_rate(const struct replay_result *r)
{
	uint64_t n = r->hw.hw.iotlb_hits + r->hw.hw.iotlb_misses;

	return n ? (double)r->hw.hw.iotlb_hits / (double)n : 0.0;
}
