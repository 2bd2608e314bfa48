/* SPDX-License-Identifier: MIT */
/*
 * The event schema: for each event kind, its text keyword and the ordered
 * list of its fields (key, type, where it lives in struct rt_event, whether
 * it may be omitted). The text reader and writer and the binary reader and
 * writer are all driven by this one table, so the two formats cannot drift
 * apart: a field added here appears in both. The order of fields is the
 * text writer's order and the binary record layout.
 *
 * Internal to src/replay/.
 */
#ifndef IOMMUSIM_REPLAY_SCHEMA_H
#define IOMMUSIM_REPLAY_SCHEMA_H

#include <stddef.h>
#include <stdint.h>

#include <iommusim/replay_trace.h>

enum rt_ftype {
	RT_F_HEX64, /* u64, text 0x%llx */
	RT_F_DEC64, /* u64, text %llu (sizes, lengths, ns) */
	RT_F_IOVA, /* u64, hex or "auto" (RT_IOVA_AUTO) */
	RT_F_U32, /* u32 decimal (ids, pids, tags, counts) */
	RT_F_I32, /* i32 decimal */
	RT_F_U8, /* u8 decimal */
	RT_F_STR, /* u32 string id */
	RT_F_PASID, /* u32 decimal or "none" (RT_PASID_NONE) */
	RT_F_DIR, /* rt_event.dir: read / write / rw / none */
	RT_F_LXDIR, /* rt_event.dir: TO_DEVICE / FROM_DEVICE / BIDIRECTIONAL / NONE */
	RT_F_FLAGS, /* rt_event.flags as a ','-separated list of names */
	RT_F_ATTRS, /* rt_event.flags as a '|'-separated list of DMA attr names */
	RT_F_PROT, /* u32 PROT_* bits as letters "rwx" or "none" */
	RT_F_BDF, /* device segment/bus/devfn as ssss:bb:dd.f */
	RT_F_HEX32, /* u32, text 0x%x */
};

struct rt_flagname {
	uint16_t bit;
	const char *name;
};

struct rt_field {
	const char *key;
	uint8_t type; /* enum rt_ftype */
	uint8_t optional; /* may be omitted; the writer omits it when default */
	uint16_t off; /* offsetof(struct rt_event, ...) */
	const struct rt_flagname *names; /* RT_F_FLAGS: NULL-name terminated */
};

#define RT_MAX_FIELDS 8

struct rt_kind_desc {
	const char *name; /* text keyword; NULL: no such kind */
	uint8_t nfields;
	struct rt_field f[RT_MAX_FIELDS];
};

extern const struct rt_kind_desc rt_kinds[RT_EV_NR_KINDS];
extern const struct rt_flagname rt_attr_names[];

/* Set the fields whose default is not zero (PASID fields: RT_PASID_NONE). */
void rt_event_defaults(struct rt_event *e);
/* True when the field holds its default value (what the writer may omit). */
int rt_field_is_default(const struct rt_event *e, const struct rt_field *f);

static inline uint64_t rt_get_u64(const struct rt_event *e, unsigned off)
{
	uint64_t v;

	__builtin_memcpy(&v, (const char *)e + off, sizeof(v));
	return v;
}

static inline void rt_set_u64(struct rt_event *e, unsigned off, uint64_t v)
{
	__builtin_memcpy((char *)e + off, &v, sizeof(v));
}

static inline uint32_t rt_get_u32(const struct rt_event *e, unsigned off)
{
	uint32_t v;

	__builtin_memcpy(&v, (const char *)e + off, sizeof(v));
	return v;
}

static inline void rt_set_u32(struct rt_event *e, unsigned off, uint32_t v)
{
	__builtin_memcpy((char *)e + off, &v, sizeof(v));
}

/* Error helpers shared by the readers. */
void rt_err_set(struct rt_error *err, const struct rt_read_opts *opts, int code, uint64_t line,
		const char *field, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/*
 * A printable, bounded copy of @len bytes at @s for an error message, in @buf
 * (@size >= 5): non-printable bytes become '?', a cut-off copy ends in "...".
 */
const char *rt_shown(char *buf, size_t size, const char *s, size_t len);

/* Parse a number: decimal, 0x hex; @suffix allows K/M/G/T (binary). */
int rt_parse_u64(const char *s, size_t len, int suffix, uint64_t *out);

/* The value of one hex digit (either case), or -1 if @c is not one. */
static inline int rt_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Keyed 64-bit mix (splitmix64 finaliser) used by redaction and generators. */
static inline uint64_t rt_mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

#endif /* IOMMUSIM_REPLAY_SCHEMA_H */
