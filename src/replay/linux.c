/* SPDX-License-Identifier: MIT */
/*
 * Importer for the Linux ftrace text layout: /sys/kernel/tracing/trace and
 * `trace-cmd report` output of the iommu:* and dma:* tracepoints. The
 * TP_printk formats it understands are listed in docs/trace-format.md.
 *
 * A line is
 *
 *   [TASK-PID] [CPU] [FLAGS] TIMESTAMP: [SYSTEM:]EVENT: PAYLOAD
 *
 * where the task, flags column and subsystem prefix are optional and the CPU
 * is "[nnn]". Lines with no prefix at all ("EVENT: PAYLOAD") are accepted too
 * (they carry no time). Each input line lands in exactly one bucket of
 * struct rt_linux_stats: header (comments, blank, trace-cmd headers),
 * unrelated (any other event or text), parsed, or bad.
 *
 * Timestamps become RT_EV_TIME events carrying the advance since the
 * previous timestamp (never negative: merged per-CPU buffers can step back
 * by a little, which we clamp). Scatterlists become one parent event
 * followed by one RT_EV_LX_SG_ENT per entry.
 *
 * No state outside the call; the parser reads only inside [data, data+len).
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include <iommusim/fault.h>

#include "rt_schema.h"

struct tok {
	const char *k, *v; /* k NULL: a bare word in v */
	size_t kl, vl;
};

#define MAX_TOKS 24

struct lrd {
	const struct rt_read_opts *opts;
	struct rt_error *err;
	struct rt_trace *t;
	uint64_t line;
	struct tok tk[MAX_TOKS];
	unsigned ntk;
};

#define LBAD(r, field, ...) \
	(rt_err_set((r)->err, (r)->opts, -EINVAL, (r)->line, field, __VA_ARGS__), -EINVAL)

static int sp(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* Split a payload into bare words and key=value tokens. */
static int tokenize(struct lrd *r, const char *p, const char *end)
{
	r->ntk = 0;
	for (;;) {
		struct tok *t;
		const char *s, *eq;

		while (p < end && sp(*p))
			p++;
		if (p >= end)
			return 0;
		if (r->ntk == MAX_TOKS)
			return LBAD(r, NULL, "too many fields");
		t = &r->tk[r->ntk++];
		s = p;
		while (p < end && !sp(*p))
			p++;
		eq = memchr(s, '=', (size_t)(p - s));
		if (eq) {
			t->k = s;
			t->kl = (size_t)(eq - s);
			t->v = eq + 1;
			t->vl = (size_t)(p - eq - 1);
		} else {
			t->k = NULL;
			t->kl = 0;
			t->v = s;
			t->vl = (size_t)(p - s);
		}
	}
}

static const struct tok *find(const struct lrd *r, const char *key)
{
	size_t kl = strlen(key);

	for (unsigned i = 0; i < r->ntk; i++)
		if (r->tk[i].k && r->tk[i].kl == kl && !memcmp(r->tk[i].k, key, kl))
			return &r->tk[i];
	return NULL;
}

static int need(struct lrd *r, const char *key, const struct tok **out)
{
	*out = find(r, key);
	if (!*out)
		return LBAD(r, key, "missing");
	return 0;
}

/* Hex with or without 0x (the dma events print %llx). */
static int parse_hex(const char *s, size_t len, uint64_t *out)
{
	uint64_t v = 0;

	if (len > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2, len -= 2;
	if (!len || len > 16)
		return len ? -ERANGE : -EINVAL;
	for (size_t i = 0; i < len; i++) {
		int d = rt_hexval(s[i]);

		if (d < 0)
			return -EINVAL;
		v = v << 4 | (unsigned)d;
	}
	*out = v;
	return 0;
}

static int hex_field(struct lrd *r, const char *key, uint64_t *out)
{
	const struct tok *t;
	char sh[48];
	int ret = need(r, key, &t);

	if (ret)
		return ret;
	if (parse_hex(t->v, t->vl, out))
		return LBAD(r, key, "not a hex number: '%s'",
			    rt_shown(sh, sizeof(sh), t->v, t->vl));
	return 0;
}

static int dec_field(struct lrd *r, const char *key, uint64_t *out)
{
	const struct tok *t;
	char sh[48];
	int ret = need(r, key, &t);

	if (ret)
		return ret;
	if (!t->vl || (t->vl > 1 && t->v[0] == '0' && t->v[1] != 'x') ||
	    rt_parse_u64(t->v, t->vl, 0, out))
		return LBAD(r, key, "not a number: '%s'", rt_shown(sh, sizeof(sh), t->v, t->vl));
	return 0;
}

/* %p: hashed hex without 0x, 0x... from trace-cmd, "(null)", "(____ptrval____)". */
static int ptr_field(struct lrd *r, const char *key, uint64_t *out)
{
	const struct tok *t = find(r, key);
	char sh[48];

	*out = 0;
	if (!t)
		return LBAD(r, key, "missing");
	if (t->vl && t->v[0] == '(' && t->v[t->vl - 1] == ')')
		return 0;
	if (parse_hex(t->v, t->vl, out))
		return LBAD(r, key, "not a pointer: '%s'", rt_shown(sh, sizeof(sh), t->v, t->vl));
	return 0;
}

static int dir_field(struct lrd *r, uint8_t *dir)
{
	static const char *const names[] = { "NONE", "TO_DEVICE", "FROM_DEVICE", "BIDIRECTIONAL" };
	static const uint8_t vals[] = { RT_DIR_NONE, RT_DIR_READ, RT_DIR_WRITE, RT_DIR_BIDIR };
	const struct tok *t;
	char sh[48];
	int ret = need(r, "dir", &t);

	if (ret)
		return ret;
	for (unsigned i = 0; i < 4; i++)
		if (strlen(names[i]) == t->vl && !memcmp(names[i], t->v, t->vl)) {
			*dir = vals[i];
			return 0;
		}
	return LBAD(r, "dir", "unknown direction '%s'", rt_shown(sh, sizeof(sh), t->v, t->vl));
}

/* decode_dma_attrs(): '|'-separated names, possibly empty. */
static int attrs_field(struct lrd *r, uint16_t *flags)
{
	const struct tok *t;
	const char *v;
	size_t len;
	int ret = need(r, "attrs", &t);

	if (ret)
		return ret;
	v = t->v;
	len = t->vl;
	while (len) {
		const char *c = memchr(v, '|', len);
		size_t n = c ? (size_t)(c - v) : len;
		const struct rt_flagname *nm;
		uint16_t bit = RT_ATTR_OTHER;

		for (nm = rt_attr_names; nm->name; nm++)
			if (nm->bit != RT_LX_SG_TRUNCATED && strlen(nm->name) == n &&
			    !memcmp(nm->name, v, n))
				bit = nm->bit;
		*flags |= bit;
		if (!c)
			break;
		len -= n + 1;
		v = c + 1;
	}
	return 0;
}

/* __print_array(): "{0x1,0x2}" or "{}". Fills up to @max values; *n gets the count. */
static int array_field(struct lrd *r, const char *key, uint64_t *vals, uint32_t max, uint32_t *n)
{
	const struct tok *t;
	const char *p, *end;
	char sh[48];
	int ret = need(r, key, &t);

	if (ret)
		return ret;
	*n = 0;
	if (t->vl < 2 || t->v[0] != '{' || t->v[t->vl - 1] != '}')
		return LBAD(r, key, "not an array: '%s'", rt_shown(sh, sizeof(sh), t->v, t->vl));
	p = t->v + 1;
	end = t->v + t->vl - 1;
	while (p < end) {
		const char *c = memchr(p, ',', (size_t)(end - p));
		size_t len = c ? (size_t)(c - p) : (size_t)(end - p);
		uint64_t v;

		if (len > 2 && p[0] == '0' && p[1] == 'x' ? parse_hex(p, len, &v)
							  : rt_parse_u64(p, len, 0, &v))
			return LBAD(r, key, "bad array element '%s'",
				    rt_shown(sh, sizeof(sh), p, len));
		if (*n == max)
			return LBAD(r, key, "more than %u elements", max);
		vals[(*n)++] = v;
		p = c ? c + 1 : end;
		if (c && p == end)
			return LBAD(r, key, "trailing ',' in array");
	}
	return 0;
}

static struct rt_event *push(struct lrd *r, unsigned kind)
{
	struct rt_event *e = rt_trace_push(r->t);

	if (!e) {
		rt_err_set(r->err, r->opts, -ENOMEM, r->line, NULL, "out of memory");
		return NULL;
	}
	e->kind = (uint8_t)kind;
	e->src_line = r->line > UINT32_MAX ? 0 : (uint32_t)r->line;
	return e;
}

static int intern(struct lrd *r, const char *s, size_t len, uint32_t *id)
{
	int ret = rt_str_intern(r->t, s, len, id);

	if (ret)
		rt_err_set(r->err, r->opts, ret, r->line, NULL, "out of memory");
	return ret;
}

/* ---- iommu:* ---- */

enum { IO_MAP, IO_UNMAP, IO_FAULT, IO_ATTACH, IO_DETACH, IO_ADD_GROUP, IO_REMOVE_GROUP };

static const struct {
	const char *name;
	uint8_t op, kind;
} iommu_events[] = {
	{ "map", IO_MAP, RT_EV_LX_MAP },
	{ "unmap", IO_UNMAP, RT_EV_LX_UNMAP },
	{ "io_page_fault", IO_FAULT, RT_EV_LX_FAULT },
	{ "attach_device_to_domain", IO_ATTACH, RT_EV_LX_ATTACH },
	{ "detach_device_from_domain", IO_DETACH, RT_EV_LX_DETACH },
	{ "add_device_to_group", IO_ADD_GROUP, RT_EV_LX_ADD_GROUP },
	{ "remove_device_from_group", IO_REMOVE_GROUP, RT_EV_LX_REMOVE_GROUP },
};

/* "iova=0x... - 0x..." : the end column, if present, must be iova + size. */
static int iova_range(struct lrd *r, uint64_t *iova, uint64_t size, uint16_t *flags)
{
	const struct tok *t;
	unsigned i;
	uint64_t end;
	int ret = hex_field(r, "iova", iova);

	if (ret)
		return ret;
	t = find(r, "iova");
	i = (unsigned)(t - r->tk);
	if (i + 2 < r->ntk && !r->tk[i + 1].k && r->tk[i + 1].vl == 1 && r->tk[i + 1].v[0] == '-' &&
	    !r->tk[i + 2].k) {
		if (parse_hex(r->tk[i + 2].v, r->tk[i + 2].vl, &end))
			return LBAD(r, "iova", "bad end address");
		if (end != *iova + size)
			return LBAD(r, "iova", "end 0x%" PRIx64 " is not iova + size", end);
	} else {
		*flags |= RT_LX_NO_END;
	}
	return 0;
}

static int parse_iommu(struct lrd *r, unsigned idx, const char *p, const char *end)
{
	struct rt_event *e;
	uint64_t v = 0;
	int ret;

	/* every iommu TP_printk starts with "IOMMU:" */
	if (end - p < 6 || memcmp(p, "IOMMU:", 6))
		return LBAD(r, NULL, "payload does not start with 'IOMMU:'");
	p += 6;
	if (iommu_events[idx].op == IO_FAULT) {
		/* "IOMMU:%s %s iova=... flags=..." : driver glued to the colon, may be empty */
		const char *drv = p, *dev;
		size_t dl;
		uint32_t did, vid;

		while (p < end && !sp(*p))
			p++;
		dl = (size_t)(p - drv);
		ret = tokenize(r, p, end);
		if (ret)
			return ret;
		if (!r->ntk || r->tk[0].k)
			return LBAD(r, "device", "missing");
		dev = r->tk[0].v;
		ret = intern(r, drv, dl, &vid);
		if (!ret)
			ret = intern(r, dev, r->tk[0].vl, &did);
		if (ret)
			return ret;
		e = push(r, RT_EV_LX_FAULT);
		if (!e)
			return -ENOMEM;
		e->u.lx_fault.dev = did;
		e->u.lx_fault.driver = vid;
		ret = hex_field(r, "iova", &e->u.lx_fault.iova);
		if (!ret)
			ret = hex_field(r, "flags", &v);
		if (!ret && v > UINT32_MAX)
			ret = LBAD(r, "flags", "out of range");
		e->u.lx_fault.fault_flags = (uint32_t)v;
		return ret;
	}
	ret = tokenize(r, p, end);
	if (ret)
		return ret;
	e = push(r, iommu_events[idx].kind);
	if (!e)
		return -ENOMEM;
	switch (iommu_events[idx].op) {
	case IO_MAP:
		ret = dec_field(r, "size", &e->u.lx_map.size);
		if (!ret)
			ret = hex_field(r, "paddr", &e->u.lx_map.paddr);
		if (!ret)
			ret = iova_range(r, &e->u.lx_map.iova, e->u.lx_map.size, &e->flags);
		return ret;
	case IO_UNMAP:
		ret = dec_field(r, "size", &e->u.lx_unmap.size);
		if (!ret)
			ret = dec_field(r, "unmapped_size", &e->u.lx_unmap.unmapped);
		if (!ret)
			ret = iova_range(r, &e->u.lx_unmap.iova, e->u.lx_unmap.size, &e->flags);
		return ret;
	case IO_ADD_GROUP:
	case IO_REMOVE_GROUP: {
		const struct tok *g;
		int neg;

		ret = need(r, "groupID", &g);
		if (ret)
			return ret;
		neg = g->vl && g->v[0] == '-';
		if (rt_parse_u64(g->v + neg, g->vl - (size_t)neg, 0, &v) || v > INT32_MAX)
			return LBAD(r, "groupID", "not a number");
		e->u.lx_dev.group = neg ? -(int32_t)v : (int32_t)v;
	}
		/* fall through */
	default: {
		const struct tok *d;

		ret = need(r, "device", &d);
		if (!ret)
			ret = intern(r, d->v, d->vl, &e->u.lx_dev.dev);
		return ret;
	}
	}
}

/* ---- dma:* ---- */

enum {
	C_MAP,
	C_UNMAP,
	C_ALLOC,
	C_FREE,
	C_ALLOC_SGT,
	C_FREE_SGT,
	C_MAP_SG,
	C_MAP_SG_ERR,
	C_UNMAP_SG,
	C_SYNC_SINGLE,
	C_SYNC_SG
};

static const struct {
	const char *name;
	uint8_t cls, kind;
} dma_events[] = {
	{ "dma_map_page", C_MAP, RT_EV_LX_DMA_MAP_PAGE },
	{ "dma_map_resource", C_MAP, RT_EV_LX_DMA_MAP_RESOURCE },
	{ "dma_map_phys", C_MAP, RT_EV_LX_DMA_MAP_PHYS },
	{ "dma_unmap_page", C_UNMAP, RT_EV_LX_DMA_UNMAP_PAGE },
	{ "dma_unmap_resource", C_UNMAP, RT_EV_LX_DMA_UNMAP_RESOURCE },
	{ "dma_unmap_phys", C_UNMAP, RT_EV_LX_DMA_UNMAP_PHYS },
	{ "dma_alloc", C_ALLOC, RT_EV_LX_DMA_ALLOC },
	{ "dma_alloc_pages", C_ALLOC, RT_EV_LX_DMA_ALLOC_PAGES },
	{ "dma_alloc_sgt_err", C_ALLOC, RT_EV_LX_DMA_ALLOC_SGT_ERR },
	{ "dma_free", C_FREE, RT_EV_LX_DMA_FREE },
	{ "dma_free_pages", C_FREE, RT_EV_LX_DMA_FREE_PAGES },
	{ "dma_alloc_sgt", C_ALLOC_SGT, RT_EV_LX_DMA_ALLOC_SGT },
	{ "dma_free_sgt", C_FREE_SGT, RT_EV_LX_DMA_FREE_SGT },
	{ "dma_map_sg", C_MAP_SG, RT_EV_LX_DMA_MAP_SG },
	{ "dma_map_sg_err", C_MAP_SG_ERR, RT_EV_LX_DMA_MAP_SG_ERR },
	{ "dma_unmap_sg", C_UNMAP_SG, RT_EV_LX_DMA_UNMAP_SG },
	{ "dma_sync_single_for_cpu", C_SYNC_SINGLE, RT_EV_LX_DMA_SYNC_SINGLE_FOR_CPU },
	{ "dma_sync_single_for_device", C_SYNC_SINGLE, RT_EV_LX_DMA_SYNC_SINGLE_FOR_DEVICE },
	{ "dma_sync_sg_for_cpu", C_SYNC_SG, RT_EV_LX_DMA_SYNC_SG_FOR_CPU },
	{ "dma_sync_sg_for_device", C_SYNC_SG, RT_EV_LX_DMA_SYNC_SG_FOR_DEVICE },
};

#define SG_MAX 4096

struct sgbuf {
	uint64_t dma[SG_MAX], len[SG_MAX], phys[SG_MAX];
};

/* "nents=%d/%d" (newer kernels): a/b */
static int frac_field(struct lrd *r, const char *key, uint32_t *full)
{
	const struct tok *t = find(r, key);
	const char *slash;
	uint64_t a, b;

	if (!t)
		return 0;
	slash = memchr(t->v, '/', t->vl);
	if (!slash || rt_parse_u64(t->v, (size_t)(slash - t->v), 0, &a) ||
	    rt_parse_u64(slash + 1, t->vl - (size_t)(slash - t->v) - 1, 0, &b) || b > INT32_MAX ||
	    a > b)
		return LBAD(r, key, "expected N/M");
	*full = (uint32_t)b;
	return 0;
}

static int parse_dma(struct lrd *r, unsigned idx, const char *p, const char *end, struct sgbuf *sg)
{
	unsigned cls = dma_events[idx].cls;
	struct rt_event *e;
	uint32_t dev, nd = 0, nl = 0, np = 0, n;
	int ret;

	ret = tokenize(r, p, end);
	if (ret)
		return ret;
	if (!r->ntk || r->tk[0].k)
		return LBAD(r, "device", "missing");
	ret = intern(r, r->tk[0].v, r->tk[0].vl, &dev);
	if (ret)
		return ret;
	/* arrays first: they decide how many children follow */
	switch (cls) {
	case C_ALLOC_SGT:
	case C_FREE_SGT:
	case C_UNMAP_SG:
		ret = array_field(r, "phys_addrs", sg->phys, SG_MAX, &np);
		break;
	case C_MAP_SG_ERR:
		/* the kernel labels the physical addresses "dma_addrs" here */
		ret = array_field(r, "dma_addrs", sg->phys, SG_MAX, &np);
		break;
	case C_MAP_SG:
		ret = array_field(r, "phys_addrs", sg->phys, SG_MAX, &np);
		/* fall through */
	case C_SYNC_SG:
		if (!ret)
			ret = array_field(r, "dma_addrs", sg->dma, SG_MAX, &nd);
		if (!ret)
			ret = array_field(r, "sizes", sg->len, SG_MAX, &nl);
		if (!ret && nd != nl)
			ret = LBAD(r, "sizes", "%u sizes for %u dma_addrs", nl, nd);
		break;
	}
	if (ret)
		return ret;
	e = push(r, dma_events[idx].kind);
	if (!e)
		return -ENOMEM;
	ret = dir_field(r, &e->dir);
	if (ret)
		return ret;
	switch (cls) {
	case C_MAP:
	case C_UNMAP:
	case C_ALLOC:
	case C_FREE:
	case C_ALLOC_SGT:
	case C_FREE_SGT:
	case C_SYNC_SINGLE:
		e->u.lx_dma.dev = dev;
		ret = hex_field(r, "dma_addr", &e->u.lx_dma.dma);
		if (!ret)
			ret = dec_field(r, "size", &e->u.lx_dma.size);
		if (!ret && cls == C_MAP)
			ret = hex_field(r, "phys_addr", &e->u.lx_dma.phys);
		if (!ret && (cls == C_ALLOC || cls == C_FREE))
			ret = ptr_field(r, "virt_addr", &e->u.lx_dma.virt);
		if (!ret && (cls == C_ALLOC || cls == C_ALLOC_SGT)) {
			const struct tok *g;

			ret = need(r, "flags", &g);
			if (!ret)
				ret = intern(r, g->v, g->vl, &e->u.lx_dma.gfp);
		}
		if (!ret && cls != C_SYNC_SINGLE && cls != C_FREE_SGT)
			ret = attrs_field(r, &e->flags);
		break;
	default:
		e->u.lx_sg.dev = dev;
		if (cls != C_SYNC_SG)
			ret = attrs_field(r, &e->flags);
		if (!ret && cls == C_MAP_SG_ERR) {
			const struct tok *t;

			ret = need(r, "err", &t);
			if (!ret) {
				int neg = t->vl && t->v[0] == '-';
				uint64_t v;

				if (rt_parse_u64(t->v + neg, t->vl - (size_t)neg, 0, &v) ||
				    v > INT32_MAX)
					ret = LBAD(r, "err", "not a number");
				else
					e->u.lx_sg.err = neg ? -(int32_t)v : (int32_t)v;
			}
		}
		e->u.lx_sg.full_nents = np;
		e->u.lx_sg.full_ents = nd;
		if (!ret)
			ret = frac_field(r, "nents", &e->u.lx_sg.full_nents);
		if (!ret)
			ret = frac_field(r, "ents", &e->u.lx_sg.full_ents);
		for (unsigned i = 0; i < r->ntk; i++)
			if (!r->tk[i].k && r->tk[i].vl == 11 &&
			    !memcmp(r->tk[i].v, "[TRUNCATED]", 11))
				e->flags |= RT_LX_SG_TRUNCATED;
		break;
	}
	if (ret)
		return ret;
	n = np > nd ? np : nd;
	if (cls <= C_FREE || cls == C_SYNC_SINGLE)
		return 0;
	if (cls != C_ALLOC_SGT && cls != C_FREE_SGT)
		e->u.lx_sg.nents = n;
	for (uint32_t i = 0; i < n; i++) {
		struct rt_event *c = push(r, RT_EV_LX_SG_ENT);

		if (!c)
			return -ENOMEM;
		if (i < nd) {
			c->u.lx_sg_ent.dma = sg->dma[i];
			c->u.lx_sg_ent.len = sg->len[i];
			c->flags |= RT_SG_HAS_DMA | RT_SG_HAS_LEN;
		}
		if (i < np) {
			c->u.lx_sg_ent.phys = sg->phys[i];
			c->flags |= RT_SG_HAS_PHYS;
		}
	}
	return 0;
}

/* ---- the line prefix ---- */

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* "SSSS.UUUUUU:" at p: returns the end (after ':') and the time in ns, or NULL. */
static const char *timestamp(const char *p, const char *end, uint64_t *ns)
{
	uint64_t sec = 0, frac = 0;
	unsigned fd = 0;
	const char *s = p;

	while (p < end && is_digit(*p)) {
		if (sec > UINT64_MAX / 10 / 1000000000ull)
			return NULL;
		sec = sec * 10 + (uint64_t)(*p++ - '0');
	}
	if (p == s || p >= end || *p != '.')
		return NULL;
	p++;
	while (p < end && is_digit(*p)) {
		if (fd < 9) {
			frac = frac * 10 + (uint64_t)(*p - '0');
			fd++;
		}
		p++;
	}
	if (!fd || p >= end || *p != ':')
		return NULL;
	while (fd < 9)
		frac *= 10, fd++;
	*ns = sec * 1000000000ull + frac;
	return p + 1;
}

static int header_line(const char *p, const char *end)
{
	size_t n = (size_t)(end - p);

	if (p >= end || *p == '#')
		return 1;
	return (n >= 5 && !memcmp(p, "cpus=", 5)) || (n >= 9 && !memcmp(p, "version =", 9)) ||
	       (n >= 4 && !memcmp(p, "CPU ", 4)) || (n >= 4 && !memcmp(p, "CPU:", 4)) ||
	       (n >= 14 && !memcmp(p, "trace-cmd: ", 11));
}

/*
 * Find "[SYSTEM:]EVENT: " at p. Returns 1 with name/system filled and *pay at
 * the payload, 0 when p does not look like an event name.
 */
static int event_name(const char *p, const char *end, const char **sys, size_t *sysl,
		      const char **name, size_t *namel, const char **pay)
{
	const char *s = p;

	while (p < end &&
	       (is_digit(*p) || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_'))
		p++;
	if (p == s || p >= end || *p != ':')
		return 0;
	*sys = NULL;
	*sysl = 0;
	*name = s;
	*namel = (size_t)(p - s);
	p++;
	if (p < end && !sp(*p)) {
		/* "iommu:map:" : a subsystem prefix */
		const char *n = p;

		while (p < end && (is_digit(*p) || (*p >= 'a' && *p <= 'z') ||
				   (*p >= 'A' && *p <= 'Z') || *p == '_'))
			p++;
		if (p == n || p >= end || *p != ':')
			return 0;
		*sys = s;
		*sysl = *namel;
		*name = n;
		*namel = (size_t)(p - n);
		p++;
	}
	while (p < end && sp(*p))
		p++;
	*pay = p;
	return 1;
}

/* Locate the event after "TASK-PID [CPU] [FLAGS] TS:"; returns 0 if absent. */
static int prefix(const char *p, const char *end, uint64_t *ns, int *has_ts, const char **ev)
{
	const char *q = p;

	*has_ts = 0;
	/* the CPU column: the first "[digits]" token */
	for (; q < end; q++) {
		const char *r = q + 1;

		if (*q != '[' || (q > p && !sp(q[-1])))
			continue;
		while (r < end && is_digit(*r))
			r++;
		if (r > q + 1 && r < end && *r == ']' && (r + 1 == end || sp(r[1]))) {
			q = r + 1;
			break;
		}
	}
	if (q >= end)
		return 0;
	/* optional flags column, then the timestamp */
	for (int tries = 0; tries < 2; tries++) {
		const char *t;

		while (q < end && sp(*q))
			q++;
		t = timestamp(q, end, ns);
		if (t) {
			*has_ts = 1;
			*ev = t;
			while (*ev < end && sp(**ev))
				(*ev)++;
			return 1;
		}
		while (q < end && !sp(*q))
			q++;
	}
	return 0;
}

int rt_linux_read(const char *data, size_t len, const struct rt_read_opts *opts,
		  struct rt_trace *out, struct rt_linux_stats *stats, struct rt_error *err)
{
	struct rt_read_opts defopts = { 0 };
	struct rt_linux_stats dstats;
	struct rt_error dummy, scratch;
	const char *p = data, *end = data + len;
	struct lrd r = { .t = out };
	struct sgbuf *sg;
	uint64_t last_ns = 0;
	int have_ns = 0, ret = 0;

	if (!opts)
		opts = &defopts;
	if (!err)
		err = &dummy;
	if (!stats)
		stats = &dstats;
	memset(err, 0, sizeof(*err));
	memset(stats, 0, sizeof(*stats));
	r.opts = opts;
	sg = fault_malloc(out->fc, "replay.linux_sg", sizeof(*sg));
	if (!sg) {
		rt_err_set(err, opts, -ENOMEM, 0, NULL, "out of memory");
		return -ENOMEM;
	}
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *ls = p, *le = nl ? nl : end, *evp, *sys, *name, *pay;
		size_t sysl, namel, n0 = out->n;
		uint64_t ns = 0;
		int has_ts = 0, known = 0;

		p = nl ? nl + 1 : end;
		r.line = ++stats->lines;
		r.err = err->skipped ? &scratch : err;
		while (ls < le && sp(*ls))
			ls++;
		while (le > ls && sp(le[-1]))
			le--;
		if (header_line(ls, le)) {
			stats->header++;
			continue;
		}
		if (!prefix(ls, le, &ns, &has_ts, &evp))
			evp = ls;
		if (!event_name(evp, le, &sys, &sysl, &name, &namel, &pay)) {
			stats->unrelated++;
			continue;
		}
		/* time first, so the event is replayed at its timestamp */
		if (has_ts) {
			if (have_ns && ns > last_ns) {
				struct rt_event *te = push(&r, RT_EV_TIME);

				if (!te) {
					ret = -ENOMEM;
					break;
				}
				te->u.time.ns = ns - last_ns;
			}
		}
		ret = 0;
		if (!sys || (sysl == 5 && !memcmp(sys, "iommu", 5))) {
			for (unsigned i = 0; i < sizeof(iommu_events) / sizeof(iommu_events[0]);
			     i++) {
				if (strlen(iommu_events[i].name) != namel ||
				    memcmp(iommu_events[i].name, name, namel))
					continue;
				/* without the subsystem, "map: ..." from another system is unrelated */
				if (!sys && (le - pay < 6 || memcmp(pay, "IOMMU:", 6)))
					break;
				known = 1;
				ret = parse_iommu(&r, i, pay, le);
				break;
			}
		}
		if (!known && (!sys || (sysl == 3 && !memcmp(sys, "dma", 3)))) {
			for (unsigned i = 0; i < sizeof(dma_events) / sizeof(dma_events[0]); i++) {
				if (strlen(dma_events[i].name) != namel ||
				    memcmp(dma_events[i].name, name, namel))
					continue;
				known = 1;
				ret = parse_dma(&r, i, pay, le, sg);
				break;
			}
		}
		if (!known) {
			out->n = n0;
			stats->unrelated++;
			continue;
		}
		if (ret) {
			out->n = n0;
			if (ret == -EINVAL && opts->skip_bad) {
				stats->bad++;
				err->skipped++;
				ret = 0;
				continue;
			}
			if (r.err != err) {
				uint64_t n = err->skipped;

				*err = scratch;
				err->skipped = n;
			}
			break;
		}
		if (has_ts) {
			if (!have_ns || ns > last_ns)
				last_ns = ns;
			have_ns = 1;
		}
		stats->parsed++;
		stats->events += out->n - n0;
	}
	fault_free(sg);
	return ret;
}
