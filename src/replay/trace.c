/* SPDX-License-Identifier: MIT */
/*
 * struct rt_trace: the growable event array, the string table, the event
 * schema shared by both file formats, canonicalisation and error text.
 *
 * The event array doubles when full (amortised O(1) append, one realloc per
 * doubling, never one per event). The string table is a byte buffer of
 * NUL-terminated strings, an offset per id, and an open-addressing hash
 * (FNV-1a, linear probing, load <= 1/2) from contents to id+1. Strings are
 * never removed; canonicalisation rebuilds the table.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <iommusim/fault.h>

#include "rt_schema.h"

#define OFF(m) ((uint16_t)offsetof(struct rt_event, m))

static const struct rt_flagname dev_flags[] = { { RT_DEV_ATS, "ats" },
						{ RT_DEV_PRI, "pri" },
						{ 0, NULL } };
static const struct rt_flagname mmap_flags[] = {
	{ RT_MMAP_SHARED, "shared" },  { RT_MMAP_HUGE_2M, "huge2m" },
	{ RT_MMAP_HUGE_1G, "huge1g" }, { RT_MMAP_POPULATE, "populate" },
	{ RT_MMAP_LOCKED, "locked" },  { 0, NULL }
};
static const struct rt_flagname map_flags[] = { { RT_MAP_READ, "read" },
						{ RT_MAP_WRITE, "write" },
						{ 0, NULL } };
static const struct rt_flagname hwpt_flags[] = { { RT_HWPT_NEST_PARENT, "nest_parent" },
						 { RT_HWPT_DIRTY, "dirty" },
						 { RT_HWPT_PASID, "pasid" },
						 { 0, NULL } };
static const struct rt_flagname flush_flags[] = { { RT_FLUSH_DEVTLB, "devtlb" }, { 0, NULL } };
static const struct rt_flagname sg_flags[] = {
	{ RT_SG_HAS_DMA, "dma" }, { RT_SG_HAS_PHYS, "phys" }, { RT_SG_HAS_LEN, "len" }, { 0, NULL }
};
static const struct rt_flagname lx_map_flags[] = { { RT_LX_NO_END, "no_end" }, { 0, NULL } };

/* decode_dma_attrs() names from include/trace/events/dma.h, our bit numbers. */
const struct rt_flagname rt_attr_names[] = {
	{ RT_ATTR_WEAK_ORDERING, "WEAK_ORDERING" },
	{ RT_ATTR_WRITE_COMBINE, "WRITE_COMBINE" },
	{ RT_ATTR_NO_KERNEL_MAPPING, "NO_KERNEL_MAPPING" },
	{ RT_ATTR_SKIP_CPU_SYNC, "SKIP_CPU_SYNC" },
	{ RT_ATTR_FORCE_CONTIGUOUS, "FORCE_CONTIGUOUS" },
	{ RT_ATTR_ALLOC_SINGLE_PAGES, "ALLOC_SINGLE_PAGES" },
	{ RT_ATTR_NO_WARN, "NO_WARN" },
	{ RT_ATTR_PRIVILEGED, "PRIVILEGED" },
	{ RT_ATTR_MMIO, "MMIO" },
	{ RT_ATTR_CACHELINES_OVERLAP, "CACHELINES_OVERLAP" },
	{ RT_ATTR_REQUIRE_COHERENT, "REQUIRE_COHERENT" },
	{ RT_ATTR_CC_SHARED, "CC_SHARED" },
	{ RT_ATTR_ALLOC_CC_SHARED, "ALLOC_CC_SHARED" },
	{ RT_LX_SG_TRUNCATED, "TRUNCATED" },
	{ RT_ATTR_OTHER, "OTHER" },
	{ 0, NULL },
};

#define F(k, t, m)                           \
	{                                    \
		k, RT_F_##t, 0, OFF(m), NULL \
	}
#define FO(k, t, m)                          \
	{                                    \
		k, RT_F_##t, 1, OFF(m), NULL \
	}
#define FL(names)                                         \
	{                                                 \
		"flags", RT_F_FLAGS, 1, OFF(flags), names \
	}
#define FDIR                                       \
	{                                          \
		"dir", RT_F_DIR, 0, OFF(dir), NULL \
	}
#define FLXDIR                                       \
	{                                            \
		"dir", RT_F_LXDIR, 0, OFF(dir), NULL \
	}
#define FATTRS                                                    \
	{                                                         \
		"attrs", RT_F_ATTRS, 1, OFF(flags), rt_attr_names \
	}

#define LX_DMA(kname)                                                                       \
	{                                                                                   \
		kname, 5,                                                                   \
		{                                                                           \
			F("dev", STR, u.lx_dma.dev), FLXDIR, F("dma", HEX64, u.lx_dma.dma), \
				F("size", DEC64, u.lx_dma.size), FATTRS                     \
		}                                                                           \
	}
#define LX_DMA_PHYS(kname)                                                                        \
	{                                                                                         \
		kname, 6,                                                                         \
		{                                                                                 \
			F("dev", STR, u.lx_dma.dev), FLXDIR, F("dma", HEX64, u.lx_dma.dma),       \
				F("size", DEC64, u.lx_dma.size), F("phys", HEX64, u.lx_dma.phys), \
				FATTRS                                                            \
		}                                                                                 \
	}
#define LX_DMA_ALLOC(kname)                                                                        \
	{                                                                                          \
		kname, 7,                                                                          \
		{                                                                                  \
			F("dev", STR, u.lx_dma.dev), FLXDIR, F("dma", HEX64, u.lx_dma.dma),        \
				F("size", DEC64, u.lx_dma.size), FO("virt", HEX64, u.lx_dma.virt), \
				FO("gfp", STR, u.lx_dma.gfp), FATTRS                               \
		}                                                                                  \
	}
#define LX_SG(kname)                                                                             \
	{                                                                                        \
		kname, 7,                                                                        \
		{                                                                                \
			F("dev", STR, u.lx_sg.dev), FLXDIR, F("n", U32, u.lx_sg.nents),          \
				FO("nents", U32, u.lx_sg.full_nents),                            \
				FO("ents", U32, u.lx_sg.full_ents), FO("err", I32, u.lx_sg.err), \
				FATTRS                                                           \
		}                                                                                \
	}

const struct rt_kind_desc rt_kinds[RT_EV_NR_KINDS] = {
	[RT_EV_MACHINE] = { "machine", 1, { F("mem", DEC64, u.machine.mem_size) } },
	[RT_EV_IOMMU] = { "iommu",
			  3,
			  { F("name", STR, u.iommu.name), F("vendor", STR, u.iommu.vendor),
			    FO("config", STR, u.iommu.config) } },
	[RT_EV_DEVICE] = { "device",
			   5,
			   { F("name", STR, u.device.name), F("iommu", STR, u.device.iommu),
			     F("bdf", BDF, u.device), FO("pasid_bits", U8, u.device.pasid_bits),
			     FL(dev_flags) } },
	[RT_EV_MMAP] = { "mmap",
			 5,
			 { F("pid", U32, u.mmap.pid), F("va", HEX64, u.mmap.va),
			   F("len", DEC64, u.mmap.len), F("prot", PROT, u.mmap.prot),
			   FL(mmap_flags) } },
	[RT_EV_MUNMAP] = { "munmap",
			   3,
			   { F("pid", U32, u.mmap.pid), F("va", HEX64, u.mmap.va),
			     F("len", DEC64, u.mmap.len) } },
	[RT_EV_MEMFD] = { "memfd",
			  3,
			  { F("name", STR, u.memfd.name), F("size", DEC64, u.memfd.size),
			    FL(mmap_flags) } },
	[RT_EV_IOAS_ALLOC] = { "ioas_alloc", 1, { F("id", U32, u.ioas.id) } },
	[RT_EV_MAP] = { "map",
			7,
			{ F("ioas", U32, u.map.ioas), F("iova", IOVA, u.map.iova),
			  F("pid", U32, u.map.pid), F("va", HEX64, u.map.va),
			  F("len", DEC64, u.map.len), FL(map_flags), FO("tag", U32, u.map.tag) } },
	[RT_EV_MAP_FILE] = { "map_file",
			     7,
			     { F("ioas", U32, u.map_file.ioas), F("iova", IOVA, u.map_file.iova),
			       F("file", STR, u.map_file.file),
			       F("offset", DEC64, u.map_file.offset),
			       F("len", DEC64, u.map_file.len), FL(map_flags),
			       FO("tag", U32, u.map_file.tag) } },
	[RT_EV_UNMAP] = { "unmap",
			  4,
			  { F("ioas", U32, u.unmap.ioas), F("iova", HEX64, u.unmap.iova),
			    F("len", DEC64, u.unmap.len), FO("tag", U32, u.unmap.tag) } },
	[RT_EV_COPY] = { "copy",
			 8,
			 { F("dst_ioas", U32, u.copy.dst_ioas),
			   F("dst_iova", IOVA, u.copy.dst_iova),
			   F("src_ioas", U32, u.copy.src_ioas),
			   F("src_iova", HEX64, u.copy.src_iova), F("len", DEC64, u.copy.len),
			   FL(map_flags), FO("dst_tag", U32, u.copy.dst_tag),
			   FO("src_tag", U32, u.copy.src_tag) } },
	[RT_EV_HWPT_ALLOC] = { "hwpt_alloc",
			       4,
			       { F("id", U32, u.hwpt.id), F("dev", STR, u.hwpt.dev),
				 F("pt", U32, u.hwpt.pt), FL(hwpt_flags) } },
	[RT_EV_ATTACH] = { "attach",
			   3,
			   { F("dev", STR, u.attach.dev), F("pt", U32, u.attach.pt),
			     FO("pasid", PASID, u.attach.pasid) } },
	[RT_EV_DETACH] = { "detach",
			   2,
			   { F("dev", STR, u.attach.dev), FO("pasid", PASID, u.attach.pasid) } },
	[RT_EV_IOAS_DESTROY] = { "ioas_destroy", 1, { F("id", U32, u.ioas.id) } },
	/* optional fields last: the common "dma dev dir iova len" line stays short */
	[RT_EV_DMA] = { "dma",
			6,
			{ F("dev", STR, u.dma.dev), FDIR, F("iova", HEX64, u.dma.iova),
			  F("len", DEC64, u.dma.len), FO("pasid", PASID, u.dma.pasid),
			  FO("tag", U32, u.dma.tag) } },
	[RT_EV_FLUSH] = { "flush",
			  5,
			  { FO("ioas", U32, u.flush.ioas), FO("dev", STR, u.flush.dev),
			    FO("iova", HEX64, u.flush.iova), FO("len", DEC64, u.flush.len),
			    FL(flush_flags) } },
	[RT_EV_TIME] = { "time", 1, { F("ns", DEC64, u.time.ns) } },
	[RT_EV_LX_MAP] = { "lx_map",
			   4,
			   { F("iova", HEX64, u.lx_map.iova), F("paddr", HEX64, u.lx_map.paddr),
			     F("size", DEC64, u.lx_map.size), FL(lx_map_flags) } },
	[RT_EV_LX_UNMAP] = { "lx_unmap",
			     4,
			     { F("iova", HEX64, u.lx_unmap.iova), F("size", DEC64, u.lx_unmap.size),
			       F("unmapped", DEC64, u.lx_unmap.unmapped), FL(lx_map_flags) } },
	[RT_EV_LX_FAULT] = { "lx_io_page_fault",
			     4,
			     { F("dev", STR, u.lx_fault.dev), FO("driver", STR, u.lx_fault.driver),
			       F("iova", HEX64, u.lx_fault.iova),
			       F("flags", HEX32, u.lx_fault.fault_flags) } },
	[RT_EV_LX_ATTACH] = { "lx_attach", 1, { F("dev", STR, u.lx_dev.dev) } },
	[RT_EV_LX_DETACH] = { "lx_detach", 1, { F("dev", STR, u.lx_dev.dev) } },
	[RT_EV_LX_ADD_GROUP] = { "lx_add_group",
				 2,
				 { F("group", I32, u.lx_dev.group), F("dev", STR, u.lx_dev.dev) } },
	[RT_EV_LX_REMOVE_GROUP] = { "lx_remove_group",
				    2,
				    { F("group", I32, u.lx_dev.group),
				      F("dev", STR, u.lx_dev.dev) } },
	[RT_EV_LX_DMA_MAP_PAGE] = LX_DMA_PHYS("lx_dma_map_page"),
	[RT_EV_LX_DMA_MAP_RESOURCE] = LX_DMA_PHYS("lx_dma_map_resource"),
	[RT_EV_LX_DMA_MAP_PHYS] = LX_DMA_PHYS("lx_dma_map_phys"),
	[RT_EV_LX_DMA_UNMAP_PAGE] = LX_DMA("lx_dma_unmap_page"),
	[RT_EV_LX_DMA_UNMAP_RESOURCE] = LX_DMA("lx_dma_unmap_resource"),
	[RT_EV_LX_DMA_UNMAP_PHYS] = LX_DMA("lx_dma_unmap_phys"),
	[RT_EV_LX_DMA_ALLOC] = LX_DMA_ALLOC("lx_dma_alloc"),
	[RT_EV_LX_DMA_ALLOC_PAGES] = LX_DMA_ALLOC("lx_dma_alloc_pages"),
	[RT_EV_LX_DMA_FREE] = LX_DMA_ALLOC("lx_dma_free"),
	[RT_EV_LX_DMA_FREE_PAGES] = LX_DMA_ALLOC("lx_dma_free_pages"),
	[RT_EV_LX_DMA_ALLOC_SGT] = LX_DMA_ALLOC("lx_dma_alloc_sgt"),
	[RT_EV_LX_DMA_ALLOC_SGT_ERR] = LX_DMA_ALLOC("lx_dma_alloc_sgt_err"),
	[RT_EV_LX_DMA_FREE_SGT] = LX_DMA_ALLOC("lx_dma_free_sgt"),
	[RT_EV_LX_DMA_MAP_SG] = LX_SG("lx_dma_map_sg"),
	[RT_EV_LX_DMA_MAP_SG_ERR] = LX_SG("lx_dma_map_sg_err"),
	[RT_EV_LX_DMA_UNMAP_SG] = LX_SG("lx_dma_unmap_sg"),
	[RT_EV_LX_DMA_SYNC_SINGLE_FOR_CPU] = LX_DMA("lx_dma_sync_single_for_cpu"),
	[RT_EV_LX_DMA_SYNC_SINGLE_FOR_DEVICE] = LX_DMA("lx_dma_sync_single_for_device"),
	[RT_EV_LX_DMA_SYNC_SG_FOR_CPU] = LX_SG("lx_dma_sync_sg_for_cpu"),
	[RT_EV_LX_DMA_SYNC_SG_FOR_DEVICE] = LX_SG("lx_dma_sync_sg_for_device"),
	[RT_EV_LX_SG_ENT] = { "lx_sg",
			      4,
			      { FO("dma", HEX64, u.lx_sg_ent.dma),
				FO("phys", HEX64, u.lx_sg_ent.phys),
				FO("len", DEC64, u.lx_sg_ent.len), FL(sg_flags) } },
};

const char *rt_kind_name(unsigned kind)
{
	return kind < RT_EV_NR_KINDS ? rt_kinds[kind].name : NULL;
}

enum rt_kind rt_kind_from_name(const char *s, size_t len)
{
	for (unsigned k = 1; k < RT_EV_NR_KINDS; k++) {
		const char *n = rt_kinds[k].name;

		if (n && strlen(n) == len && !memcmp(n, s, len))
			return (enum rt_kind)k;
	}
	return RT_EV_INVALID;
}

void rt_event_defaults(struct rt_event *e)
{
	const struct rt_kind_desc *d = &rt_kinds[e->kind];

	for (unsigned i = 0; i < d->nfields; i++)
		if (d->f[i].type == RT_F_PASID)
			rt_set_u32(e, d->f[i].off, RT_PASID_NONE);
}

int rt_field_is_default(const struct rt_event *e, const struct rt_field *f)
{
	switch (f->type) {
	case RT_F_HEX64:
	case RT_F_DEC64:
	case RT_F_IOVA:
		return rt_get_u64(e, f->off) == 0;
	case RT_F_U32:
	case RT_F_I32:
	case RT_F_STR:
	case RT_F_PROT:
	case RT_F_HEX32:
		return rt_get_u32(e, f->off) == 0;
	case RT_F_PASID:
		return rt_get_u32(e, f->off) == RT_PASID_NONE;
	case RT_F_U8:
		return *((const uint8_t *)e + f->off) == 0;
	case RT_F_DIR:
	case RT_F_LXDIR:
		return e->dir == 0;
	case RT_F_FLAGS:
	case RT_F_ATTRS:
		return e->flags == 0;
	case RT_F_BDF:
		return !e->u.device.segment && !e->u.device.bus && !e->u.device.devfn;
	}
	return 0;
}

/* ---- the trace ---- */

void rt_trace_init(struct rt_trace *t, struct fault_ctx *fc)
{
	memset(t, 0, sizeof(*t));
	t->fc = fc;
}

void rt_trace_free(struct rt_trace *t)
{
	fault_free(t->ev);
	fault_free(t->str.buf);
	fault_free(t->str.off);
	fault_free(t->str.hash);
	rt_trace_init(t, t->fc);
}

int rt_trace_reserve(struct rt_trace *t, size_t n)
{
	struct rt_event *ev;

	if (n <= t->cap)
		return 0;
	if (n > SIZE_MAX / sizeof(*ev))
		return -ENOMEM;
	ev = fault_realloc(t->fc, "replay.trace_events", t->ev, n * sizeof(*ev));
	if (!ev)
		return -ENOMEM;
	t->ev = ev;
	t->cap = n;
	return 0;
}

struct rt_event *rt_trace_push_slow(struct rt_trace *t)
{
	size_t want = t->cap ? t->cap * 2 : 1024;
	struct rt_event *e;

	if (rt_trace_reserve(t, want))
		return NULL;
	e = &t->ev[t->n++];
	memset(e, 0, sizeof(*e));
	return e;
}

static uint32_t str_hash(const char *s, size_t len)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < len; i++)
		h = (h ^ (uint8_t)s[i]) * 16777619u;
	return h;
}

static int strtab_rehash(struct rt_trace *t, uint32_t hcap)
{
	struct rt_strtab *st = &t->str;
	uint32_t *h = fault_calloc(t->fc, "replay.trace_strhash", hcap, sizeof(*h));

	if (!h)
		return -ENOMEM;
	for (uint32_t id = 0; id < st->n; id++) {
		const char *s = st->buf + st->off[id];
		uint32_t i = str_hash(s, strlen(s)) & (hcap - 1);

		while (h[i])
			i = (i + 1) & (hcap - 1);
		h[i] = id + 1;
	}
	fault_free(st->hash);
	st->hash = h;
	st->hcap = hcap;
	return 0;
}

/* Append raw bytes as a new id (no lookup). */
static int strtab_add(struct rt_trace *t, const char *s, size_t len, uint32_t *id)
{
	struct rt_strtab *st = &t->str;

	if (len > UINT32_MAX / 2 || st->len + len + 1 > UINT32_MAX)
		return -E2BIG;
	if (st->len + len + 1 > st->cap) {
		size_t cap = st->cap ? st->cap : 256;
		char *b;

		while (cap < st->len + len + 1)
			cap *= 2;
		b = fault_realloc(t->fc, "replay.trace_strbuf", st->buf, cap);
		if (!b)
			return -ENOMEM;
		st->buf = b;
		st->cap = cap;
	}
	if (st->n == st->cap_ids) {
		uint32_t cap = st->cap_ids ? st->cap_ids * 2 : 16;
		uint32_t *o =
			fault_realloc(t->fc, "replay.trace_stroff", st->off, cap * sizeof(*o));

		if (!o)
			return -ENOMEM;
		st->off = o;
		st->cap_ids = cap;
	}
	memcpy(st->buf + st->len, s, len);
	st->buf[st->len + len] = 0;
	st->off[st->n] = (uint32_t)st->len;
	st->len += len + 1;
	*id = st->n++;
	return 0;
}

static int strtab_ensure_empty(struct rt_trace *t)
{
	uint32_t id;

	if (t->str.n)
		return 0;
	return strtab_add(t, "", 0, &id);
}

int rt_str_intern(struct rt_trace *t, const char *s, size_t len, uint32_t *id)
{
	struct rt_strtab *st = &t->str;
	uint32_t h, i;
	int ret;

	if (!len) {
		*id = 0;
		return strtab_ensure_empty(t);
	}
	if (memchr(s, 0, len))
		return -EINVAL;
	ret = strtab_ensure_empty(t);
	if (ret)
		return ret;
	if ((st->n + 1) * 2 > st->hcap) {
		ret = strtab_rehash(t, st->hcap ? st->hcap * 2 : 64);
		if (ret)
			return ret;
	}
	h = str_hash(s, len);
	for (i = h & (st->hcap - 1); st->hash[i]; i = (i + 1) & (st->hcap - 1)) {
		const char *c = st->buf + st->off[st->hash[i] - 1];

		if (!strncmp(c, s, len) && c[len] == 0) {
			*id = st->hash[i] - 1;
			return 0;
		}
	}
	ret = strtab_add(t, s, len, id);
	if (ret)
		return ret;
	st->hash[i] = *id + 1;
	return 0;
}

int rt_str_intern_cstr(struct rt_trace *t, const char *s, uint32_t *id)
{
	return rt_str_intern(t, s ? s : "", s ? strlen(s) : 0, id);
}

/* ---- canonical form ---- */

int rt_trace_canonicalise(struct rt_trace *t)
{
	struct rt_trace nt;
	uint32_t *map;
	int ret = 0;

	rt_trace_init(&nt, t->fc);
	map = fault_calloc(t->fc, "replay.trace_canon", t->str.n ? t->str.n : 1, sizeof(*map));
	if (!map)
		return -ENOMEM;
	/* map[old] = new id + 1; 0: not seen yet */
	ret = strtab_ensure_empty(&nt);
	for (size_t i = 0; !ret && i < t->n; i++) {
		struct rt_event *e = &t->ev[i];
		const struct rt_kind_desc *d = &rt_kinds[e->kind];

		e->src_line = 0;
		for (unsigned f = 0; !ret && f < d->nfields; f++) {
			uint32_t old, nid;

			if (d->f[f].type != RT_F_STR)
				continue;
			old = rt_get_u32(e, d->f[f].off);
			if (old == 0)
				continue; /* "" is id 0 in every table, even an empty one */
			if (old >= t->str.n) {
				ret = -EINVAL;
				break;
			}
			if (!map[old]) {
				const char *s = t->str.buf + t->str.off[old];

				ret = rt_str_intern(&nt, s, strlen(s), &nid);
				map[old] = nid + 1;
			}
		}
	}
	if (ret)
		goto out;
	for (size_t i = 0; i < t->n; i++) {
		struct rt_event *e = &t->ev[i];
		const struct rt_kind_desc *d = &rt_kinds[e->kind];

		for (unsigned f = 0; f < d->nfields; f++) {
			uint32_t old;

			if (d->f[f].type != RT_F_STR)
				continue;
			old = rt_get_u32(e, d->f[f].off);
			if (old)
				rt_set_u32(e, d->f[f].off, map[old] - 1);
		}
	}
	fault_free(t->str.buf);
	fault_free(t->str.off);
	fault_free(t->str.hash);
	t->str = nt.str;
	nt.str = (struct rt_strtab){ 0 };
out:
	rt_trace_free(&nt);
	fault_free(map);
	return ret;
}

static bool field_equal(const struct rt_trace *a, const struct rt_event *x,
			const struct rt_trace *b, const struct rt_event *y,
			const struct rt_field *f)
{
	switch (f->type) {
	case RT_F_STR:
		return !strcmp(rt_str(a, rt_get_u32(x, f->off)), rt_str(b, rt_get_u32(y, f->off)));
	case RT_F_HEX64:
	case RT_F_DEC64:
	case RT_F_IOVA:
		return rt_get_u64(x, f->off) == rt_get_u64(y, f->off);
	case RT_F_U8:
		return *((const uint8_t *)x + f->off) == *((const uint8_t *)y + f->off);
	case RT_F_BDF:
		return x->u.device.segment == y->u.device.segment &&
		       x->u.device.bus == y->u.device.bus && x->u.device.devfn == y->u.device.devfn;
	case RT_F_DIR:
	case RT_F_LXDIR:
	case RT_F_FLAGS:
	case RT_F_ATTRS:
		return true; /* compared in the header */
	default:
		return rt_get_u32(x, f->off) == rt_get_u32(y, f->off);
	}
}

bool rt_trace_equal(const struct rt_trace *a, const struct rt_trace *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++) {
		const struct rt_event *x = &a->ev[i], *y = &b->ev[i];
		const struct rt_kind_desc *d = &rt_kinds[x->kind];

		if (x->kind != y->kind || x->dir != y->dir || x->flags != y->flags)
			return false;
		for (unsigned f = 0; f < d->nfields; f++)
			if (!field_equal(a, x, b, y, &d->f[f]))
				return false;
	}
	return true;
}

/* ---- errors and numbers ---- */

void rt_err_set(struct rt_error *err, const struct rt_read_opts *opts, int code, uint64_t line,
		const char *field, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return;
	err->code = code;
	err->line = line;
	snprintf(err->file, sizeof(err->file), "%s", opts && opts->name ? opts->name : "<input>");
	snprintf(err->field, sizeof(err->field), "%s", field ? field : "");
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
}

const char *rt_shown(char *buf, size_t size, const char *s, size_t len)
{
	size_t i, n = len < size - 4 ? len : size - 4;

	for (i = 0; i < n; i++)
		buf[i] = (s[i] >= ' ' && s[i] < 0x7f) ? s[i] : '?';
	if (n < len)
		memcpy(buf + i, "...", 3), i += 3;
	buf[i] = 0;
	return buf;
}

int rt_error_format(const struct rt_error *e, char *buf, size_t size)
{
	char where[48] = "";

	if (e->line)
		snprintf(where, sizeof(where), e->binary ? ":record %llu" : ":%llu",
			 (unsigned long long)e->line);
	if (e->field[0])
		return snprintf(buf, size, "%s%s: field '%s': %s", e->file, where, e->field,
				e->msg);
	return snprintf(buf, size, "%s%s: %s", e->file, where, e->msg);
}

int rt_parse_u64(const char *s, size_t len, int suffix, uint64_t *out)
{
	uint64_t v = 0, mul = 1;
	unsigned base = 10;
	size_t i = 0;

	if (len && suffix) {
		switch (s[len - 1]) {
		case 'K':
		case 'k':
			mul = 1ull << 10;
			break;
		case 'M':
		case 'm':
			mul = 1ull << 20;
			break;
		case 'G':
		case 'g':
			mul = 1ull << 30;
			break;
		case 'T':
		case 't':
			mul = 1ull << 40;
			break;
		}
		if (mul != 1)
			len--;
	}
	if (len > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		i = 2;
	}
	if (i >= len)
		return -EINVAL;
	for (; i < len; i++) {
		unsigned d;
		char c = s[i];

		if (c >= '0' && c <= '9')
			d = (unsigned)(c - '0');
		else if (base == 16 && c >= 'a' && c <= 'f')
			d = (unsigned)(c - 'a' + 10);
		else if (base == 16 && c >= 'A' && c <= 'F')
			d = (unsigned)(c - 'A' + 10);
		else
			return -EINVAL;
		if (v > (UINT64_MAX - d) / base)
			return -ERANGE;
		v = v * base + d;
	}
	if (mul != 1 && v > UINT64_MAX / mul)
		return -ERANGE;
	*out = v * mul;
	return 0;
}
