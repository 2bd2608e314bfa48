/* SPDX-License-Identifier: MIT */
/*
 * The text trace format (docs/trace-format.md): a header line
 * "iommusim-trace v1", then one event a line, "kind key=value ...", with
 * '#' comments and blank lines allowed anywhere. Both directions are driven
 * by the schema in trace.c; the writer always produces the canonical
 * spelling (fixed field order, optional fields omitted at their default,
 * addresses in lower-case hex, sizes in decimal), so reading and writing a
 * canonical file reproduces it byte for byte.
 *
 * The reader works on a buffer that need not be NUL-terminated and never
 * reads past it; it keeps no state beyond the current line.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include <iommusim/fault.h>

#include "rt_schema.h"

/* ---- writer ---- */

static int needs_quotes(const char *s)
{
	if (!*s)
		return 1;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c <= ' ' || c >= 0x7f || c == '"' || c == '\\' || c == '#' || c == '=')
			return 1;
	}
	return 0;
}

static void write_str(FILE *out, const char *s)
{
	if (!needs_quotes(s)) {
		fputs(s, out);
		return;
	}
	fputc('"', out);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(out, "\\%c", c);
		else if (c < ' ' || c >= 0x7f)
			fprintf(out, "\\x%02x", c);
		else
			fputc(c, out);
	}
	fputc('"', out);
}

static void write_names(FILE *out, uint32_t v, const struct rt_flagname *names, char sep)
{
	int first = 1;

	for (const struct rt_flagname *n = names; n->name; n++) {
		if (v & n->bit) {
			fprintf(out, "%s%s", first ? "" : (char[]){ sep, 0 }, n->name);
			v &= ~(uint32_t)n->bit;
			first = 0;
		}
	}
	if (v || first)
		fprintf(out, "%s0x%" PRIx32, first ? "" : (char[]){ sep, 0 }, v);
}

static const char *const dir_names[] = { "none", "read", "write", "rw" };
static const char *const lxdir_names[] = { "NONE", "TO_DEVICE", "FROM_DEVICE", "BIDIRECTIONAL" };

static void write_field(FILE *out, const struct rt_trace *t, const struct rt_event *e,
			const struct rt_field *f)
{
	fprintf(out, " %s=", f->key);
	switch (f->type) {
	case RT_F_HEX64:
		fprintf(out, "0x%" PRIx64, rt_get_u64(e, f->off));
		break;
	case RT_F_DEC64:
		fprintf(out, "%" PRIu64, rt_get_u64(e, f->off));
		break;
	case RT_F_IOVA:
		if (rt_get_u64(e, f->off) == RT_IOVA_AUTO)
			fputs("auto", out);
		else
			fprintf(out, "0x%" PRIx64, rt_get_u64(e, f->off));
		break;
	case RT_F_U32:
		fprintf(out, "%" PRIu32, rt_get_u32(e, f->off));
		break;
	case RT_F_HEX32:
		fprintf(out, "0x%" PRIx32, rt_get_u32(e, f->off));
		break;
	case RT_F_I32:
		fprintf(out, "%" PRId32, (int32_t)rt_get_u32(e, f->off));
		break;
	case RT_F_U8:
		fprintf(out, "%u", *((const uint8_t *)e + f->off));
		break;
	case RT_F_STR:
		write_str(out, rt_str(t, rt_get_u32(e, f->off)));
		break;
	case RT_F_PASID:
		if (rt_get_u32(e, f->off) == RT_PASID_NONE)
			fputs("none", out);
		else
			fprintf(out, "%" PRIu32, rt_get_u32(e, f->off));
		break;
	case RT_F_DIR:
		fputs(dir_names[e->dir & 3], out);
		break;
	case RT_F_LXDIR:
		fputs(lxdir_names[e->dir & 3], out);
		break;
	case RT_F_FLAGS:
		write_names(out, e->flags, f->names, ',');
		break;
	case RT_F_ATTRS:
		write_names(out, e->flags, f->names, '|');
		break;
	case RT_F_PROT: {
		uint32_t p = rt_get_u32(e, f->off);

		if (!p)
			fputs("none", out);
		else if (p & ~7u)
			fprintf(out, "0x%" PRIx32, p);
		else
			fprintf(out, "%s%s%s", p & 1 ? "r" : "", p & 2 ? "w" : "",
				p & 4 ? "x" : "");
		break;
	}
	case RT_F_BDF:
		fprintf(out, "%04x:%02x:%02x.%x", e->u.device.segment, e->u.device.bus,
			e->u.device.devfn >> 3, e->u.device.devfn & 7);
		break;
	}
}

int rt_text_write(const struct rt_trace *t, FILE *out)
{
	fputs(RT_TEXT_MAGIC "\n", out);
	for (size_t i = 0; i < t->n; i++) {
		const struct rt_event *e = &t->ev[i];
		const struct rt_kind_desc *d;

		if (e->kind == RT_EV_INVALID || e->kind >= RT_EV_NR_KINDS)
			return -EINVAL;
		d = &rt_kinds[e->kind];
		fputs(d->name, out);
		for (unsigned f = 0; f < d->nfields; f++)
			if (!d->f[f].optional || !rt_field_is_default(e, &d->f[f]))
				write_field(out, t, e, &d->f[f]);
		fputc('\n', out);
	}
	return ferror(out) ? -EIO : 0;
}

/* ---- reader ---- */

struct line {
	const char *p, *end;
	uint64_t no;
};

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

static void skip_space(struct line *l)
{
	while (l->p < l->end && is_space(*l->p))
		l->p++;
}

struct rd {
	const struct rt_read_opts *opts;
	struct rt_error *err;
	struct rt_trace *t;
	struct rt_error scratch;
	char tmp[4096]; /* unescaped string values */
};

#define BAD(rd, l, field, ...) \
	(rt_err_set((rd)->err, (rd)->opts, -EINVAL, (l)->no, field, __VA_ARGS__), -EINVAL)

/*
 * Read a value at l->p: quoted (unescaped into rd->tmp) or bare. Returns its
 * bytes in *v and *vlen and leaves l->p after it.
 */
static int read_value(struct rd *rd, struct line *l, const char *key, const char **v, size_t *vlen)
{
	if (l->p < l->end && *l->p == '"') {
		size_t n = 0;

		l->p++;
		for (;;) {
			char c;

			if (l->p >= l->end)
				return BAD(rd, l, key, "unterminated string");
			c = *l->p++;
			if (c == '"')
				break;
			if (c == '\\') {
				if (l->p >= l->end)
					return BAD(rd, l, key, "unterminated string");
				c = *l->p++;
				if (c == 'x') {
					int h, lo;

					if (l->end - l->p < 2 || (h = rt_hexval(l->p[0])) < 0 ||
					    (lo = rt_hexval(l->p[1])) < 0)
						return BAD(rd, l, key, "bad \\x escape");
					c = (char)(h << 4 | lo);
					l->p += 2;
					if (!c)
						return BAD(rd, l, key, "NUL byte in string");
				} else if (c == 'n') {
					c = '\n';
				} else if (c == 't') {
					c = '\t';
				} else if (c != '"' && c != '\\') {
					return BAD(rd, l, key, "unknown escape '\\%c'",
						   (c >= ' ' && c < 0x7f) ? c : '?');
				}
			}
			if (n >= sizeof(rd->tmp))
				return BAD(rd, l, key, "string longer than %zu bytes",
					   sizeof(rd->tmp));
			rd->tmp[n++] = c;
		}
		if (l->p < l->end && !is_space(*l->p))
			return BAD(rd, l, key, "junk after closing quote");
		*v = rd->tmp;
		*vlen = n;
		return 0;
	}
	*v = l->p;
	while (l->p < l->end && !is_space(*l->p))
		l->p++;
	*vlen = (size_t)(l->p - *v);
	return 0;
}

static int parse_names(struct rd *rd, struct line *l, const struct rt_field *f, const char *v,
		       size_t len, char sep, uint16_t *out)
{
	uint32_t acc = 0;
	char sh[48];

	while (len) {
		const char *c = memchr(v, sep, len);
		size_t n = c ? (size_t)(c - v) : len;
		const struct rt_flagname *nm;
		uint64_t num;

		for (nm = f->names; nm->name; nm++)
			if (strlen(nm->name) == n && !memcmp(nm->name, v, n))
				break;
		if (nm->name)
			acc |= nm->bit;
		else if (n && !rt_parse_u64(v, n, 0, &num) && num <= 0xffff)
			acc |= (uint32_t)num;
		else
			return BAD(rd, l, f->key, "unknown flag '%s'",
				   rt_shown(sh, sizeof(sh), v, n));
		if (!c)
			break;
		len -= n + 1;
		v = c + 1;
	}
	*out = (uint16_t)acc;
	return 0;
}

static int parse_field(struct rd *rd, struct line *l, struct rt_event *e, const struct rt_field *f,
		       const char *v, size_t len)
{
	char sh[48];
	uint64_t x;
	int ret;

#define NUM(sfx)                                                               \
	do {                                                                   \
		ret = rt_parse_u64(v, len, sfx, &x);                           \
		if (ret == -ERANGE)                                            \
			return BAD(rd, l, f->key, "number out of range: '%s'", \
				   rt_shown(sh, sizeof(sh), v, len));          \
		if (ret)                                                       \
			return BAD(rd, l, f->key, "not a number: '%s'",        \
				   rt_shown(sh, sizeof(sh), v, len));          \
	} while (0)

	switch (f->type) {
	case RT_F_HEX64:
	case RT_F_DEC64:
		NUM(1);
		rt_set_u64(e, f->off, x);
		return 0;
	case RT_F_IOVA:
		if (len == 4 && !memcmp(v, "auto", 4)) {
			rt_set_u64(e, f->off, RT_IOVA_AUTO);
			return 0;
		}
		NUM(1);
		if (x == RT_IOVA_AUTO)
			return BAD(rd, l, f->key, "0x%" PRIx64 " is reserved for 'auto'", x);
		rt_set_u64(e, f->off, x);
		return 0;
	case RT_F_U32:
	case RT_F_HEX32:
		NUM(0);
		if (x > UINT32_MAX)
			return BAD(rd, l, f->key, "number out of range: '%s'",
				   rt_shown(sh, sizeof(sh), v, len));
		rt_set_u32(e, f->off, (uint32_t)x);
		return 0;
	case RT_F_PASID:
		if (len == 4 && !memcmp(v, "none", 4)) {
			rt_set_u32(e, f->off, RT_PASID_NONE);
			return 0;
		}
		NUM(0);
		if (x >= RT_PASID_NONE)
			return BAD(rd, l, f->key, "PASID out of range: '%s'",
				   rt_shown(sh, sizeof(sh), v, len));
		rt_set_u32(e, f->off, (uint32_t)x);
		return 0;
	case RT_F_I32: {
		int neg = len && v[0] == '-';

		v += neg;
		len -= (size_t)neg;
		NUM(0);
		if (x > (neg ? (uint64_t)INT32_MAX + 1 : (uint64_t)INT32_MAX))
			return BAD(rd, l, f->key, "number out of range");
		rt_set_u32(e, f->off, (uint32_t)(neg ? -(int64_t)x : (int64_t)x));
		return 0;
	}
	case RT_F_U8:
		NUM(0);
		if (x > 255)
			return BAD(rd, l, f->key, "number out of range: '%s'",
				   rt_shown(sh, sizeof(sh), v, len));
		*((uint8_t *)e + f->off) = (uint8_t)x;
		return 0;
	case RT_F_STR: {
		uint32_t id;

		if (memchr(v, 0, len))
			return BAD(rd, l, f->key, "NUL byte in string");
		ret = rt_str_intern(rd->t, v, len, &id);
		if (ret) {
			rt_err_set(rd->err, rd->opts, ret, l->no, f->key, "cannot store string");
			return ret;
		}
		rt_set_u32(e, f->off, id);
		return 0;
	}
	case RT_F_DIR:
	case RT_F_LXDIR: {
		const char *const *names = f->type == RT_F_DIR ? dir_names : lxdir_names;

		for (unsigned i = 0; i < 4; i++)
			if (strlen(names[i]) == len && !memcmp(names[i], v, len)) {
				e->dir = (uint8_t)i;
				return 0;
			}
		return BAD(rd, l, f->key, "unknown direction '%s'",
			   rt_shown(sh, sizeof(sh), v, len));
	}
	case RT_F_FLAGS:
		return parse_names(rd, l, f, v, len, ',', &e->flags);
	case RT_F_ATTRS:
		return parse_names(rd, l, f, v, len, '|', &e->flags);
	case RT_F_PROT: {
		uint32_t p = 0;

		if (len == 4 && !memcmp(v, "none", 4)) {
			rt_set_u32(e, f->off, 0);
			return 0;
		}
		if (len > 2 && v[0] == '0') {
			NUM(0);
			if (x > UINT32_MAX)
				return BAD(rd, l, f->key, "number out of range");
			rt_set_u32(e, f->off, (uint32_t)x);
			return 0;
		}
		for (size_t i = 0; i < len; i++) {
			uint32_t b = v[i] == 'r'   ? 1
				     : v[i] == 'w' ? 2
				     : v[i] == 'x' ? 4
				     : v[i] == '-' ? 0
						   : 8;

			if (b == 8 || (b & p))
				return BAD(rd, l, f->key,
					   "bad protection '%s' (use r, w, x or none)",
					   rt_shown(sh, sizeof(sh), v, len));
			p |= b;
		}
		if (!len)
			return BAD(rd, l, f->key, "empty protection");
		rt_set_u32(e, f->off, p);
		return 0;
	}
	case RT_F_BDF: {
		/* [ssss:]bb:dd.f, hex */
		unsigned part[4], np = 0;
		size_t i = 0;

		while (np < 4) {
			size_t st = i;
			unsigned val = 0;

			while (i < len && rt_hexval(v[i]) >= 0 && i - st < 4)
				val = val << 4 | (unsigned)rt_hexval(v[i++]);
			if (i == st)
				break;
			part[np++] = val;
			if (i < len && (v[i] == ':' || v[i] == '.'))
				i++;
			else
				break;
		}
		if (i != len || (np != 3 && np != 4))
			return BAD(rd, l, f->key, "not a PCI address (ssss:bb:dd.f): '%s'",
				   rt_shown(sh, sizeof(sh), v, len));
		if (np == 3)
			memmove(part + 1, part, 3 * sizeof(part[0])), part[0] = 0;
		if (part[1] > 0xff || part[2] > 0x1f || part[3] > 7)
			return BAD(rd, l, f->key, "PCI address out of range: '%s'",
				   rt_shown(sh, sizeof(sh), v, len));
		e->u.device.segment = (uint16_t)part[0];
		e->u.device.bus = (uint8_t)part[1];
		e->u.device.devfn = (uint8_t)(part[2] << 3 | part[3]);
		return 0;
	}
	}
#undef NUM
	return BAD(rd, l, f->key, "internal: unknown field type");
}

/* Parse one event line (header already seen, not blank). */
static int parse_line(struct rd *rd, struct line *l)
{
	const char *kw = l->p;
	const struct rt_kind_desc *d;
	struct rt_event *e;
	unsigned seen = 0;
	enum rt_kind k;
	char sh[48];
	int ret;

	while (l->p < l->end && !is_space(*l->p))
		l->p++;
	k = rt_kind_from_name(kw, (size_t)(l->p - kw));
	if (k == RT_EV_INVALID)
		return BAD(rd, l, NULL, "unknown event kind '%s'",
			   rt_shown(sh, sizeof(sh), kw, (size_t)(l->p - kw)));
	d = &rt_kinds[k];
	e = rt_trace_push(rd->t);
	if (!e) {
		rt_err_set(rd->err, rd->opts, -ENOMEM, l->no, NULL, "out of memory");
		return -ENOMEM;
	}
	e->kind = (uint8_t)k;
	e->src_line = l->no > UINT32_MAX ? 0 : (uint32_t)l->no;
	rt_event_defaults(e);
	for (;;) {
		const char *key, *v;
		size_t klen, vlen;
		unsigned fi;

		skip_space(l);
		if (l->p >= l->end || *l->p == '#')
			break;
		key = l->p;
		while (l->p < l->end && *l->p != '=' && !is_space(*l->p))
			l->p++;
		klen = (size_t)(l->p - key);
		if (l->p >= l->end || *l->p != '=') {
			ret = BAD(rd, l, NULL, "expected key=value, got '%s'",
				  rt_shown(sh, sizeof(sh), key, klen));
			goto err;
		}
		l->p++;
		for (fi = 0; fi < d->nfields; fi++)
			if (strlen(d->f[fi].key) == klen && !memcmp(d->f[fi].key, key, klen))
				break;
		if (fi == d->nfields) {
			ret = BAD(rd, l, rt_shown(sh, sizeof(sh), key, klen),
				  "unknown field for '%s'", d->name);
			goto err;
		}
		if (seen & (1u << fi)) {
			ret = BAD(rd, l, d->f[fi].key, "given twice");
			goto err;
		}
		seen |= 1u << fi;
		ret = read_value(rd, l, d->f[fi].key, &v, &vlen);
		if (ret)
			goto err;
		ret = parse_field(rd, l, e, &d->f[fi], v, vlen);
		if (ret)
			goto err;
	}
	for (unsigned fi = 0; fi < d->nfields; fi++) {
		if (!d->f[fi].optional && !(seen & (1u << fi))) {
			ret = BAD(rd, l, d->f[fi].key, "missing (required by '%s')", d->name);
			goto err;
		}
	}
	return 0;
err:
	rd->t->n--;
	return ret;
}

int rt_text_read(const char *data, size_t len, const struct rt_read_opts *opts,
		 struct rt_trace *out, struct rt_error *err)
{
	struct rd *rd;
	struct line l = { .no = 0 };
	const char *p = data, *end = data + len;
	bool header = false;
	struct rt_error dummy;
	struct rt_read_opts defopts = { 0 };
	int ret = 0;

	if (!opts)
		opts = &defopts;
	if (!err)
		err = &dummy;
	memset(err, 0, sizeof(*err));
	rd = fault_malloc(out->fc, "replay.text_reader", sizeof(*rd));
	if (!rd) {
		rt_err_set(err, opts, -ENOMEM, 0, NULL, "out of memory");
		return -ENOMEM;
	}
	rd->opts = opts;
	rd->err = err;
	rd->t = out;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));

		l.p = p;
		l.end = nl ? nl : end;
		l.no++;
		p = nl ? nl + 1 : end;
		skip_space(&l);
		if (l.p >= l.end || *l.p == '#')
			continue;
		if (!header) {
			const char *h = l.p;
			size_t hl;
			char sh[48];

			while (l.end > h && is_space(l.end[-1]))
				l.end--;
			hl = (size_t)(l.end - h);
			if (hl > 15 && !memcmp(h, "iommusim-trace ", 15) &&
			    strncmp(h, RT_TEXT_MAGIC, hl) != 0) {
				rt_err_set(err, opts, -EINVAL, l.no, NULL,
					   "unsupported version '%s' (this build reads v1)",
					   rt_shown(sh, sizeof(sh), h + 15, hl - 15));
				ret = -EINVAL;
				break;
			}
			if (hl != strlen(RT_TEXT_MAGIC) || memcmp(h, RT_TEXT_MAGIC, hl)) {
				rt_err_set(err, opts, -EINVAL, l.no, NULL,
					   "expected the header line '" RT_TEXT_MAGIC "'");
				ret = -EINVAL;
				break;
			}
			header = true;
			continue;
		}
		/* after the first skipped line, later errors go to a scratch record */
		rd->err = err->skipped ? &rd->scratch : err;
		ret = parse_line(rd, &l);
		if (ret == -EINVAL && opts->skip_bad) {
			err->skipped++;
			ret = 0;
			continue;
		}
		if (ret) {
			if (rd->err != err) {
				uint64_t n = err->skipped;

				*err = rd->scratch;
				err->skipped = n;
			}
			break;
		}
	}
	if (!ret && !header) {
		rt_err_set(err, opts, -EINVAL, 0, NULL,
			   "empty input: no '" RT_TEXT_MAGIC "' header");
		ret = -EINVAL;
	}
	fault_free(rd);
	return ret;
}
