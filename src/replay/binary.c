/* SPDX-License-Identifier: MIT */
/*
 * The binary trace format (docs/trace-format.md):
 *
 *   offset  size  field
 *        0     8  magic "IOMMUTRC"
 *        8     4  byte-order mark 0x01020304 in the writer's byte order
 *       12     2  version (1)
 *       14     2  header size in bytes (32; readers skip anything beyond)
 *       16     4  flags (0)
 *       20     4  number of strings, including the implicit empty string 0
 *       24     8  number of event records
 *       32        strings 1..n-1: LEB128 length, bytes (no NUL)
 *                 records: LEB128 kind, then the kind's fields in schema order
 *
 * Only the fixed-width header fields have a byte order; everything after is
 * LEB128 or single bytes, so a big-endian writer differs only in the header.
 * We write little-endian and read both. Fields: u64/u32 values and string ids
 * as LEB128; IOVA and PASID as value+1 (so "auto"/"none" cost one byte); i32
 * zig-zag; direction and u8 one byte; a PCI address as LEB128 segment, bus
 * byte, devfn byte. The writer renumbers strings in order of first use, so
 * its output is canonical: binary -> text -> binary reproduces the bytes.
 *
 * The reader never trusts a count: the event array is reserved from the
 * bytes that remain, and every id and value is range-checked.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include <iommusim/fault.h>

#include "rt_schema.h"

#define HDR_SIZE 32
#define BOM 0x01020304u

/* ---- writer ---- */

static void put_varint(FILE *out, uint64_t v)
{
	unsigned char b[10];
	int n = 0;

	do {
		b[n] = v & 0x7f;
		v >>= 7;
		if (v)
			b[n] |= 0x80;
		n++;
	} while (v);
	fwrite(b, 1, (size_t)n, out);
}

static void put_le(FILE *out, uint64_t v, int bytes)
{
	for (int i = 0; i < bytes; i++)
		fputc((int)((v >> (8 * i)) & 0xff), out);
}

static void put_field(FILE *out, const struct rt_event *e, const struct rt_field *f,
		      const uint32_t *map)
{
	switch (f->type) {
	case RT_F_HEX64:
	case RT_F_DEC64:
		put_varint(out, rt_get_u64(e, f->off));
		break;
	case RT_F_IOVA:
		put_varint(out, rt_get_u64(e, f->off) + 1);
		break;
	case RT_F_U32:
	case RT_F_HEX32:
	case RT_F_PROT:
		put_varint(out, rt_get_u32(e, f->off));
		break;
	case RT_F_STR:
		put_varint(out, map[rt_get_u32(e, f->off)]);
		break;
	case RT_F_PASID:
		put_varint(out, (uint32_t)(rt_get_u32(e, f->off) + 1));
		break;
	case RT_F_I32: {
		int32_t v = (int32_t)rt_get_u32(e, f->off);

		put_varint(out, (uint32_t)((uint32_t)v << 1) ^ (uint32_t)(v >> 31));
		break;
	}
	case RT_F_U8:
		fputc(*((const uint8_t *)e + f->off), out);
		break;
	case RT_F_DIR:
	case RT_F_LXDIR:
		fputc(e->dir, out);
		break;
	case RT_F_FLAGS:
	case RT_F_ATTRS:
		put_varint(out, e->flags);
		break;
	case RT_F_BDF:
		put_varint(out, e->u.device.segment);
		fputc(e->u.device.bus, out);
		fputc(e->u.device.devfn, out);
		break;
	}
}

int rt_bin_write(const struct rt_trace *t, FILE *out)
{
	uint32_t *map = NULL, *order = NULL, nstr = 1;
	size_t nids = t->str.n ? t->str.n : 1;
	int ret = 0;

	/* map[old id] = new id (0 for ""/unused until seen); order[new] = old */
	map = fault_calloc(t->fc, "replay.bin_map", nids, sizeof(*map));
	order = fault_calloc(t->fc, "replay.bin_order", nids + 1, sizeof(*order));
	if (!map || !order) {
		ret = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < t->n; i++) {
		const struct rt_event *e = &t->ev[i];
		const struct rt_kind_desc *d;

		if (e->kind == RT_EV_INVALID || e->kind >= RT_EV_NR_KINDS) {
			ret = -EINVAL;
			goto out;
		}
		d = &rt_kinds[e->kind];
		for (unsigned f = 0; f < d->nfields; f++) {
			uint32_t id;

			if (d->f[f].type != RT_F_STR)
				continue;
			id = rt_get_u32(e, d->f[f].off);
			if (id >= nids) {
				ret = -EINVAL;
				goto out;
			}
			if (id && !map[id]) {
				map[id] = nstr;
				order[nstr++] = id;
			}
		}
	}
	fwrite(RT_BIN_MAGIC, 1, 8, out);
	put_le(out, BOM, 4);
	put_le(out, RT_BIN_VERSION, 2);
	put_le(out, HDR_SIZE, 2);
	put_le(out, 0, 4);
	put_le(out, nstr, 4);
	put_le(out, t->n, 8);
	for (uint32_t s = 1; s < nstr; s++) {
		const char *str = rt_str(t, order[s]);
		size_t len = strlen(str);

		put_varint(out, len);
		fwrite(str, 1, len, out);
	}
	for (size_t i = 0; i < t->n; i++) {
		const struct rt_event *e = &t->ev[i];
		const struct rt_kind_desc *d = &rt_kinds[e->kind];

		put_varint(out, e->kind);
		for (unsigned f = 0; f < d->nfields; f++)
			put_field(out, e, &d->f[f], map);
	}
	if (ferror(out))
		ret = -EIO;
out:
	fault_free(map);
	fault_free(order);
	return ret;
}

/* ---- reader ---- */

struct brd {
	const uint8_t *base, *p, *end;
	const struct rt_read_opts *opts;
	struct rt_error *err;
	uint64_t rec; /* 1-based record number, 0 in the header */
	const uint32_t *map;
	uint32_t nstr;
};

static int bad(struct brd *b, const char *field, const char *msg)
{
	rt_err_set(b->err, b->opts, -EINVAL, b->rec, field, "%s (offset %zu)", msg,
		   (size_t)(b->p - b->base));
	b->err->binary = true;
	return -EINVAL;
}

static int get_varint(struct brd *b, const char *field, uint64_t *out)
{
	uint64_t v = 0;

	for (unsigned shift = 0;; shift += 7) {
		uint8_t c;

		if (b->p >= b->end)
			return bad(b, field, "truncated");
		c = *b->p++;
		if (shift == 63 && (c & 0x7e))
			return bad(b, field, "varint overflows 64 bits");
		v |= (uint64_t)(c & 0x7f) << shift;
		if (!(c & 0x80))
			break;
		if (shift == 63)
			return bad(b, field, "varint longer than 10 bytes");
	}
	*out = v;
	return 0;
}

static int get_byte(struct brd *b, const char *field, uint8_t *out)
{
	if (b->p >= b->end)
		return bad(b, field, "truncated");
	*out = *b->p++;
	return 0;
}

static int get_field(struct brd *b, struct rt_event *e, const struct rt_field *f)
{
	uint64_t v;
	uint8_t c;
	int ret;

	switch (f->type) {
	case RT_F_U8:
		ret = get_byte(b, f->key, &c);
		if (!ret)
			*((uint8_t *)e + f->off) = c;
		return ret;
	case RT_F_DIR:
	case RT_F_LXDIR:
		ret = get_byte(b, f->key, &c);
		if (ret)
			return ret;
		if (c > RT_DIR_BIDIR)
			return bad(b, f->key, "direction out of range");
		e->dir = c;
		return 0;
	case RT_F_BDF:
		ret = get_varint(b, f->key, &v);
		if (ret)
			return ret;
		if (v > 0xffff)
			return bad(b, f->key, "segment out of range");
		e->u.device.segment = (uint16_t)v;
		ret = get_byte(b, f->key, &e->u.device.bus);
		return ret ? ret : get_byte(b, f->key, &e->u.device.devfn);
	default:
		break;
	}
	ret = get_varint(b, f->key, &v);
	if (ret)
		return ret;
	switch (f->type) {
	case RT_F_HEX64:
	case RT_F_DEC64:
		rt_set_u64(e, f->off, v);
		return 0;
	case RT_F_IOVA:
		if (v == 0)
			rt_set_u64(e, f->off, RT_IOVA_AUTO);
		else
			rt_set_u64(e, f->off, v - 1);
		return 0;
	case RT_F_U32:
	case RT_F_HEX32:
	case RT_F_PROT:
		if (v > UINT32_MAX)
			return bad(b, f->key, "value out of range");
		rt_set_u32(e, f->off, (uint32_t)v);
		return 0;
	case RT_F_STR:
		if (v >= b->nstr)
			return bad(b, f->key, "string id out of range");
		rt_set_u32(e, f->off, b->map[v]);
		return 0;
	case RT_F_PASID:
		if (v > UINT32_MAX)
			return bad(b, f->key, "PASID out of range");
		rt_set_u32(e, f->off, (uint32_t)v - 1);
		return 0;
	case RT_F_I32:
		if (v > UINT32_MAX)
			return bad(b, f->key, "value out of range");
		rt_set_u32(e, f->off, (uint32_t)(v >> 1) ^ (uint32_t)(0u - (uint32_t)(v & 1)));
		return 0;
	case RT_F_FLAGS:
	case RT_F_ATTRS:
		if (v > 0xffff)
			return bad(b, f->key, "flags out of range");
		e->flags = (uint16_t)v;
		return 0;
	default:
		return bad(b, f->key, "internal: unknown field type");
	}
}

static uint64_t get_fixed(const uint8_t *p, int bytes, bool swap)
{
	uint64_t v = 0;

	for (int i = 0; i < bytes; i++)
		v |= (uint64_t)p[swap ? bytes - 1 - i : i] << (8 * i);
	return v;
}

int rt_bin_read(const void *data, size_t len, const struct rt_read_opts *opts, struct rt_trace *out,
		struct rt_error *err)
{
	struct rt_read_opts defopts = { 0 };
	struct rt_error dummy;
	const uint8_t *d = data;
	struct brd b = { .base = d, .p = d, .end = d + len };
	uint32_t *map = NULL;
	uint64_t nev, nstr64;
	unsigned hsize, version;
	bool swap;
	int ret;

	if (!opts)
		opts = &defopts;
	if (!err)
		err = &dummy;
	memset(err, 0, sizeof(*err));
	b.opts = opts;
	b.err = err;
	if (len < HDR_SIZE || memcmp(d, RT_BIN_MAGIC, 8))
		return bad(&b, "magic",
			   len < 8 ? "file too short" : "not an iommusim binary trace");
	if (get_fixed(d + 8, 4, false) == BOM)
		swap = false;
	else if (get_fixed(d + 8, 4, true) == BOM)
		swap = true;
	else
		return bad(&b, "byte_order", "bad byte-order mark");
	version = (unsigned)get_fixed(d + 12, 2, swap);
	hsize = (unsigned)get_fixed(d + 14, 2, swap);
	if (version != RT_BIN_VERSION) {
		rt_err_set(err, opts, -EINVAL, 0, "version",
			   "unsupported version %u (this build reads %u)", version, RT_BIN_VERSION);
		err->binary = true;
		return -EINVAL;
	}
	if (hsize < HDR_SIZE || hsize > len)
		return bad(&b, "header_size", "bad header size");
	if (get_fixed(d + 16, 4, swap))
		return bad(&b, "flags", "unknown header flags");
	nstr64 = get_fixed(d + 20, 4, swap);
	nev = get_fixed(d + 24, 8, swap);
	b.p = d + hsize;
	if (nstr64 == 0 || nstr64 - 1 > (size_t)(b.end - b.p))
		return bad(&b, "strings", "string count does not fit the file");
	b.nstr = (uint32_t)nstr64;
	map = fault_calloc(out->fc, "replay.bin_read_map", b.nstr, sizeof(*map));
	if (!map) {
		rt_err_set(err, opts, -ENOMEM, 0, NULL, "out of memory");
		return -ENOMEM;
	}
	b.map = map;
	ret = rt_str_intern(out, "", 0, &map[0]);
	for (uint32_t s = 1; !ret && s < b.nstr; s++) {
		uint64_t sl;

		ret = get_varint(&b, "strings", &sl);
		if (ret)
			break;
		if (sl > (size_t)(b.end - b.p)) {
			ret = bad(&b, "strings", "string runs past the end");
			break;
		}
		if (memchr(b.p, 0, sl)) {
			ret = bad(&b, "strings", "NUL byte in string");
			break;
		}
		ret = rt_str_intern(out, (const char *)b.p, sl, &map[s]);
		if (ret)
			rt_err_set(err, opts, ret, 0, NULL, "out of memory");
		b.p += sl;
	}
	if (ret)
		goto out;
	/* every record takes at least two bytes: bound the reservation by the file */
	if (nev > (size_t)(b.end - b.p) / 2) {
		ret = bad(&b, "events", "event count does not fit the file");
		goto out;
	}
	ret = rt_trace_reserve(out, out->n + nev);
	if (ret) {
		rt_err_set(err, opts, ret, 0, NULL, "out of memory");
		goto out;
	}
	for (uint64_t i = 0; i < nev; i++) {
		const struct rt_kind_desc *kd;
		struct rt_event *e;
		uint64_t k;

		b.rec = i + 1;
		ret = get_varint(&b, "kind", &k);
		if (ret)
			break;
		if (k == 0 || k >= RT_EV_NR_KINDS || !rt_kinds[k].name) {
			ret = bad(&b, "kind", "unknown event kind");
			break;
		}
		kd = &rt_kinds[k];
		e = rt_trace_push(out);
		e->kind = (uint8_t)k;
		for (unsigned f = 0; !ret && f < kd->nfields; f++)
			ret = get_field(&b, e, &kd->f[f]);
		if (ret) {
			out->n--;
			break;
		}
	}
	if (!ret && b.p != b.end) {
		b.rec = 0;
		ret = bad(&b, NULL, "trailing bytes after the last record");
	}
out:
	fault_free(map);
	return ret;
}
