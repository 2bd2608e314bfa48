/* SPDX-License-Identifier: MIT */
/*
 * Replay traces: the in-memory event model, its two file formats (text and
 * binary), the Linux ftrace importer, redaction and the workload generators.
 *
 * Data structure. A trace is a flat array of fixed-size events (struct
 * rt_event, 48 bytes, no pointers) plus one string table. Everything an event
 * names (device, IOMMU instance, vendor, configuration text, file, driver)
 * is a uint32_t index into that table; index 0 is always the empty string,
 * so a zeroed field means "none". Appending grows the array geometrically:
 * no allocation per event, and the engine walks the array linearly.
 *
 * Invariants:
 *  - ev[0..n) are valid events of a known kind; every string index in them is
 *    < str.n.
 *  - The string table holds each distinct string once (interned).
 *  - Per-kind fields live in the union member named after the kind (see the
 *    table below); unused bytes are zero, so two equal traces compare equal
 *    with memcmp after rt_trace_canonicalise().
 *
 * Conventions inside events: `len`/`size` are byte counts, `iova`/`va`/`phys`
 * are start addresses, RT_PASID_NONE means "no PASID", RT_IOVA_AUTO means
 * "let the IOAS choose", IOAS/HWPT ids are the trace's own numbering (the
 * engine maps them to the ids its iommufd context hands out), ids are never 0.
 *
 * Tags: an IOAS map may carry a non-zero tag naming that mapping. A DMA,
 * unmap or copy that carries the same tag gives its IOVA as an offset into
 * the tagged mapping. That is how traces use auto-allocated IOVAs.
 *
 * Locking: none. A trace belongs to one thread at a time; once built it may be
 * read by many threads concurrently.
 *
 * The library never prints: readers return an rt_error the caller formats;
 * writers write to the FILE the caller passes.
 */
#ifndef IOMMUSIM_REPLAY_TRACE_H
#define IOMMUSIM_REPLAY_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

struct fault_ctx;

#define RT_PASID_NONE UINT32_MAX
#define RT_IOVA_AUTO UINT64_MAX
#define RT_TEXT_MAGIC "iommusim-trace v1"
#define RT_BIN_MAGIC "IOMMUTRC" /* 8 bytes, no terminator in the file */
#define RT_BIN_VERSION 1

/*
 * Event kinds. The comment names the union member and the text keyword; the
 * text and binary layouts are specified in docs/trace-format.md. Values are
 * part of the binary format: append only, never renumber.
 */
enum rt_kind {
	RT_EV_INVALID = 0,
	/* setup */
	RT_EV_MACHINE = 1, /* machine:  "machine"    physical memory size */
	RT_EV_IOMMU = 2, /* iommu:    "iommu"      instance name, vendor, config text */
	RT_EV_DEVICE = 3, /* device:   "device"     name, iommu, s:b:d.f, PASID bits, ATS/PRI */
	RT_EV_MMAP = 4, /* mmap:     "mmap"       process memory region */
	RT_EV_MUNMAP = 5, /* mmap:     "munmap"     (pid, va, len; prot/flags zero) */
	RT_EV_MEMFD = 6, /* memfd:    "memfd"      a named file for map_file */
	/* iommufd */
	RT_EV_IOAS_ALLOC = 7, /* ioas:     "ioas_alloc" */
	RT_EV_MAP = 8, /* map:      "map"        IOMMU_IOAS_MAP */
	RT_EV_MAP_FILE = 9, /* map_file: "map_file"   IOMMU_IOAS_MAP_FILE */
	RT_EV_UNMAP = 10, /* unmap:    "unmap"      IOMMU_IOAS_UNMAP (len 0 + iova 0: all) */
	RT_EV_COPY = 11, /* copy:     "copy"       IOMMU_IOAS_COPY */
	RT_EV_HWPT_ALLOC = 12, /* hwpt:     "hwpt_alloc" IOMMU_HWPT_ALLOC */
	RT_EV_ATTACH = 13, /* attach:   "attach"     device (+PASID) to an IOAS or HWPT id */
	RT_EV_DETACH = 14, /* attach:   "detach"     (pt unused) */
	RT_EV_IOAS_DESTROY = 15, /* ioas:   "ioas_destroy" IOAS or HWPT id */
	/* data path and time */
	RT_EV_DMA = 16, /* dma:      "dma"        one device access */
	RT_EV_FLUSH = 17, /* flush:    "flush"      explicit invalidation + sync point */
	RT_EV_TIME = 18, /* time:     "time"       advance the simulated clock */
	/* Linux-derived (iommu:* tracepoints) */
	RT_EV_LX_MAP = 19, /* lx_map:   "lx_map"            iommu:map */
	RT_EV_LX_UNMAP = 20, /* lx_unmap: "lx_unmap"          iommu:unmap */
	RT_EV_LX_FAULT = 21, /* lx_fault: "lx_io_page_fault"  iommu:io_page_fault */
	RT_EV_LX_ATTACH = 22, /* lx_dev:   "lx_attach"         attach_device_to_domain */
	RT_EV_LX_DETACH = 23, /* lx_dev:   "lx_detach"         detach_device_from_domain */
	RT_EV_LX_ADD_GROUP = 24, /* lx_dev:   "lx_add_group"      add_device_to_group */
	RT_EV_LX_REMOVE_GROUP = 25, /* lx_dev:   "lx_remove_group"   remove_device_from_group */
	/* Linux-derived (dma:* tracepoints); the keyword is "lx_" + the kernel name */
	RT_EV_LX_DMA_MAP_PAGE = 26, /* lx_dma */
	RT_EV_LX_DMA_MAP_RESOURCE = 27, /* lx_dma */
	RT_EV_LX_DMA_MAP_PHYS = 28, /* lx_dma */
	RT_EV_LX_DMA_UNMAP_PAGE = 29, /* lx_dma (phys unused) */
	RT_EV_LX_DMA_UNMAP_RESOURCE = 30,
	RT_EV_LX_DMA_UNMAP_PHYS = 31,
	RT_EV_LX_DMA_ALLOC = 32, /* lx_dma: virt, gfp */
	RT_EV_LX_DMA_ALLOC_PAGES = 33, /* lx_dma */
	RT_EV_LX_DMA_FREE = 34, /* lx_dma: virt */
	RT_EV_LX_DMA_FREE_PAGES = 35, /* lx_dma */
	RT_EV_LX_DMA_ALLOC_SGT = 36, /* lx_dma + lx_sg_ent children (phys only) */
	RT_EV_LX_DMA_ALLOC_SGT_ERR = 37,
	RT_EV_LX_DMA_FREE_SGT = 38, /* lx_dma + children */
	RT_EV_LX_DMA_MAP_SG = 39, /* lx_sg + children */
	RT_EV_LX_DMA_MAP_SG_ERR = 40, /* lx_sg (err) + children (phys only) */
	RT_EV_LX_DMA_UNMAP_SG = 41, /* lx_sg + children (phys only) */
	RT_EV_LX_DMA_SYNC_SINGLE_FOR_CPU = 42, /* lx_dma */
	RT_EV_LX_DMA_SYNC_SINGLE_FOR_DEVICE = 43, /* lx_dma */
	RT_EV_LX_DMA_SYNC_SG_FOR_CPU = 44, /* lx_sg + children (dma, len) */
	RT_EV_LX_DMA_SYNC_SG_FOR_DEVICE = 45, /* lx_sg + children */
	RT_EV_LX_SG_ENT = 46, /* lx_sg_ent: "lx_sg" one scatterlist entry of the parent */
	RT_EV_NR_KINDS
};

/*
 * Direction. For RT_EV_DMA: READ = the device reads memory (the kernel's
 * DMA_TO_DEVICE), WRITE = the device writes memory (DMA_FROM_DEVICE). The
 * Linux kinds carry the kernel's direction with the same encoding.
 */
enum rt_dir {
	RT_DIR_NONE = 0,
	RT_DIR_READ = 1, /* text "read";  Linux TO_DEVICE */
	RT_DIR_WRITE = 2, /* text "write"; Linux FROM_DEVICE */
	RT_DIR_BIDIR = 3, /* text "rw";    Linux BIDIRECTIONAL */
};

/* rt_event.flags, per kind. */
enum {
	/* RT_EV_DEVICE */
	RT_DEV_ATS = 1u << 0,
	RT_DEV_PRI = 1u << 1,
	/* RT_EV_MMAP / RT_EV_MEMFD */
	RT_MMAP_SHARED = 1u << 0,
	RT_MMAP_HUGE_2M = 1u << 1,
	RT_MMAP_HUGE_1G = 1u << 2,
	RT_MMAP_POPULATE = 1u << 3,
	RT_MMAP_LOCKED = 1u << 4,
	/* RT_EV_MAP / RT_EV_MAP_FILE / RT_EV_COPY: IOMMU_IOAS_MAP_* semantics */
	RT_MAP_READ = 1u << 0,
	RT_MAP_WRITE = 1u << 1,
	/* RT_EV_HWPT_ALLOC: IOMMU_HWPT_ALLOC_* semantics */
	RT_HWPT_NEST_PARENT = 1u << 0,
	RT_HWPT_DIRTY = 1u << 1,
	RT_HWPT_PASID = 1u << 2,
	/* RT_EV_FLUSH */
	RT_FLUSH_DEVTLB = 1u << 0, /* also flush ATS device TLBs */
	/* RT_EV_LX_SG_ENT: which of the columns the kernel printed for this entry */
	RT_SG_HAS_DMA = 1u << 0,
	RT_SG_HAS_PHYS = 1u << 1,
	RT_SG_HAS_LEN = 1u << 2,
	/* RT_EV_LX_MAP / RT_EV_LX_UNMAP: the line had no "- end" column (pre-6.x) */
	RT_LX_NO_END = 1u << 0,
};

/*
 * Linux DMA attributes (decode_dma_attrs() names) as our own bit numbers,
 * stored in lx_dma.attrs / lx_sg.attrs. Unknown names set RT_ATTR_OTHER.
 */
enum {
	RT_ATTR_WEAK_ORDERING = 1u << 0,
	RT_ATTR_WRITE_COMBINE = 1u << 1,
	RT_ATTR_NO_KERNEL_MAPPING = 1u << 2,
	RT_ATTR_SKIP_CPU_SYNC = 1u << 3,
	RT_ATTR_FORCE_CONTIGUOUS = 1u << 4,
	RT_ATTR_ALLOC_SINGLE_PAGES = 1u << 5,
	RT_ATTR_NO_WARN = 1u << 6,
	RT_ATTR_PRIVILEGED = 1u << 7,
	RT_ATTR_MMIO = 1u << 8,
	RT_ATTR_CACHELINES_OVERLAP = 1u << 9,
	RT_ATTR_REQUIRE_COHERENT = 1u << 10,
	RT_ATTR_CC_SHARED = 1u << 11,
	RT_ATTR_ALLOC_CC_SHARED = 1u << 12,
	RT_ATTR_OTHER = 1u << 15,
};

/* One event: 48 bytes, no pointers. */
struct rt_event {
	uint8_t kind; /* enum rt_kind */
	uint8_t dir; /* enum rt_dir, for kinds that have one, else 0 */
	uint16_t flags; /* per-kind bits above */
	uint32_t src_line; /* line in the text it came from; 0 if none. Not serialised. */
	union {
		struct {
			uint64_t mem_size; /* bytes */
		} machine;
		struct {
			uint32_t name; /* instance name, e.g. "iommu0" */
			uint32_t vendor; /* model name, e.g. "vtd" */
			uint32_t config; /* "key=value ..." text for that model */
		} iommu;
		struct {
			uint32_t name; /* device name, e.g. "nic0" */
			uint32_t iommu; /* the IOMMU instance it sits behind */
			uint16_t segment;
			uint8_t bus;
			uint8_t devfn; /* dev << 3 | fn */
			uint8_t pasid_bits; /* 0: no PASID capability */
		} device;
		struct {
			uint32_t pid;
			uint32_t prot; /* PROT_READ 1 | PROT_WRITE 2 | PROT_EXEC 4 */
			uint64_t va;
			uint64_t len;
		} mmap;
		struct {
			uint32_t name;
			uint64_t size;
		} memfd;
		struct {
			uint32_t id;
		} ioas;
		struct {
			uint32_t ioas;
			uint32_t pid; /* whose address space va is in */
			uint32_t tag; /* 0: untagged */
			uint64_t iova; /* RT_IOVA_AUTO: chosen by the IOAS */
			uint64_t va;
			uint64_t len;
		} map;
		struct {
			uint32_t ioas;
			uint32_t file; /* memfd name */
			uint32_t tag;
			uint64_t iova;
			uint64_t offset;
			uint64_t len;
		} map_file;
		struct {
			uint32_t ioas;
			uint32_t tag; /* non-zero: iova is an offset into that mapping */
			uint64_t iova;
			uint64_t len;
		} unmap;
		struct {
			uint32_t dst_ioas;
			uint32_t src_ioas;
			uint32_t dst_tag; /* names the new mapping */
			uint32_t src_tag; /* non-zero: src_iova is an offset into it */
			uint64_t dst_iova; /* RT_IOVA_AUTO allowed */
			uint64_t src_iova;
			uint64_t len;
		} copy;
		struct {
			uint32_t id;
			uint32_t dev;
			uint32_t pt; /* parent IOAS or HWPT id */
		} hwpt;
		struct {
			uint32_t dev;
			uint32_t pt; /* IOAS or HWPT id (attach only) */
			uint32_t pasid; /* RT_PASID_NONE: the device's RID */
		} attach;
		struct {
			uint32_t dev;
			uint32_t pasid;
			uint32_t tag;
			uint64_t iova;
			uint64_t len;
		} dma;
		struct {
			uint32_t ioas; /* 0: every IOAS */
			uint32_t dev; /* 0: every device */
			uint64_t iova;
			uint64_t len; /* 0: the whole address space */
		} flush;
		struct {
			uint64_t ns; /* advance by this much */
		} time;
		struct {
			uint64_t iova;
			uint64_t paddr;
			uint64_t size;
		} lx_map;
		struct {
			uint64_t iova;
			uint64_t size;
			uint64_t unmapped;
		} lx_unmap;
		struct {
			uint32_t dev;
			uint32_t driver;
			uint32_t fault_flags; /* IOMMU_FAULT_READ 0 / IOMMU_FAULT_WRITE 1 */
			uint64_t iova;
		} lx_fault;
		struct {
			uint32_t dev;
			int32_t group; /* add/remove_group only */
		} lx_dev;
		struct {
			uint32_t dev;
			uint32_t gfp; /* string: the kernel's show_gfp_flags() text */
			uint64_t dma;
			uint64_t phys;
			uint64_t size;
			uint64_t virt; /* alloc/free: the (hashed) kernel pointer */
		} lx_dma;
		struct {
			uint32_t dev;
			uint32_t nents; /* entries that follow as RT_EV_LX_SG_ENT */
			uint32_t full_nents;
			uint32_t full_ents;
			int32_t err; /* map_sg_err only */
		} lx_sg;
		struct {
			uint64_t dma;
			uint64_t phys;
			uint64_t len;
		} lx_sg_ent;
		uint64_t raw[5];
	} u;
};

/*
 * For the lx_dma and lx_sg kinds rt_event.flags holds the RT_ATTR_* bits, plus
 * RT_LX_SG_TRUNCATED for a map_sg whose arrays the kernel cut at 128 entries.
 */
#define RT_LX_SG_TRUNCATED (1u << 14)
#define rt_lx_attrs(ev) ((uint16_t)((ev)->flags & ~RT_LX_SG_TRUNCATED))

_Static_assert(sizeof(struct rt_event) == 48, "rt_event must stay 48 bytes");

/* Interned strings; id 0 is "". */
struct rt_strtab {
	char *buf; /* NUL-terminated strings back to back */
	size_t len, cap;
	uint32_t *off; /* off[id]: offset of string id in buf */
	uint32_t n, cap_ids;
	uint32_t *hash; /* open addressing, hcap slots, value id + 1 (0: empty) */
	uint32_t hcap;
};

struct rt_trace {
	struct rt_event *ev;
	size_t n, cap;
	struct rt_strtab str;
	struct fault_ctx *fc; /* allocations pass "replay.trace*" points; may be NULL */
};

/* Lifecycle. rt_trace_init() allocates nothing until the first append. */
void rt_trace_init(struct rt_trace *t, struct fault_ctx *fc);
void rt_trace_free(struct rt_trace *t);
int rt_trace_reserve(struct rt_trace *t, size_t n);

/* Slow path of rt_trace_push(). */
struct rt_event *rt_trace_push_slow(struct rt_trace *t);

/* A zeroed slot at the end of the trace, or NULL (out of memory). */
static inline struct rt_event *rt_trace_push(struct rt_trace *t)
{
	struct rt_event *e;

	if (__builtin_expect(t->n == t->cap, 0))
		return rt_trace_push_slow(t);
	e = &t->ev[t->n++];
	*e = (struct rt_event){ 0 };
	return e;
}

static inline int rt_trace_append(struct rt_trace *t, const struct rt_event *ev)
{
	struct rt_event *e = rt_trace_push(t);

	if (!e)
		return -12; /* -ENOMEM */
	*e = *ev;
	return 0;
}

/* Intern @s (@len bytes, may contain no NUL); *id receives its index. */
int rt_str_intern(struct rt_trace *t, const char *s, size_t len, uint32_t *id);
int rt_str_intern_cstr(struct rt_trace *t, const char *s, uint32_t *id);

static inline const char *rt_str(const struct rt_trace *t, uint32_t id)
{
	return id < t->str.n ? t->str.buf + t->str.off[id] : "";
}

/* Kind <-> text keyword; NULL / RT_EV_INVALID when unknown. */
const char *rt_kind_name(unsigned kind);
enum rt_kind rt_kind_from_name(const char *s, size_t len);

/* True for DMA-carrying kinds that the engine counts as "DMA events". */
static inline bool rt_kind_is_dma(unsigned kind)
{
	return kind == RT_EV_DMA;
}

/*
 * Canonical form: string table renumbered in order of first use (unused
 * strings dropped), src_line cleared. Two traces that mean the same thing have
 * identical canonical forms, whichever format they were read from.
 */
int rt_trace_canonicalise(struct rt_trace *t);
/* Deep equality of canonical traces (events and the strings they name). */
bool rt_trace_equal(const struct rt_trace *a, const struct rt_trace *b);

/* ---- errors ---- */

/*
 * What a reader found wrong. rt_error_format() renders
 * "FILE:LINE: field 'x': message" (no field part when field is empty; for
 * binary input LINE is the record number and the text says so).
 */
struct rt_error {
	int code; /* negative errno: -EINVAL bad input, -ENOMEM, -EIO */
	uint64_t line; /* 1-based line (text) or record (binary); 0: whole file */
	bool binary; /* line is a record number */
	char file[128]; /* name the caller gave, truncated */
	char field[32]; /* field name, or "" */
	char msg[160];
	uint64_t skipped; /* lines skipped when skip_bad was set */
};

/* Writes at most @size bytes including the NUL; returns what snprintf does. */
int rt_error_format(const struct rt_error *e, char *buf, size_t size);

struct rt_read_opts {
	const char *name; /* for messages: the file name; NULL: "<input>" */
	bool skip_bad; /* skip (and count) bad lines instead of stopping */
};

/* ---- formats ---- */

enum rt_format {
	RT_FMT_AUTO = 0,
	RT_FMT_TEXT,
	RT_FMT_BINARY,
	RT_FMT_LINUX, /* ftrace / trace-cmd report text; import only */
	RT_FMT_TRACEDAT, /* trace-cmd binary trace.dat; import only, needs libtracecmd */
};

/* The first bytes of a trace-cmd trace.dat file. */
#define RT_TRACEDAT_MAGIC "\x17\x08\x44tracing"
#define RT_TRACEDAT_MAGIC_LEN 10

/* Guess from the first bytes: binary or trace.dat magic, our text header, else Linux. */
enum rt_format rt_format_detect(const void *data, size_t len);
/* From a file name: .trace/.txt(ours if header) .rtb/.bin → binary. */
enum rt_format rt_format_from_name(const char *path);

/*
 * Readers append to @out (which the caller initialised) and return 0 or a
 * negative errno with @err filled. With skip_bad, malformed lines are
 * counted in err->skipped, the first one is described in @err, and the
 * return is 0. @data need not be NUL-terminated.
 */
int rt_text_read(const char *data, size_t len, const struct rt_read_opts *opts,
		 struct rt_trace *out, struct rt_error *err);
int rt_bin_read(const void *data, size_t len, const struct rt_read_opts *opts, struct rt_trace *out,
		struct rt_error *err);

/* Linux importer statistics: every input line lands in exactly one bucket. */
struct rt_linux_stats {
	uint64_t lines; /* all lines */
	uint64_t parsed; /* became events */
	uint64_t header; /* comments, blank lines, trace-cmd "cpus=" / "version =" headers */
	uint64_t unrelated; /* other tracepoints or text: skipped */
	uint64_t bad; /* malformed iommu/dma lines (skip_bad), else 0 */
	uint64_t events; /* events appended (sg entries and time advances included) */
};

int rt_linux_read(const char *data, size_t len, const struct rt_read_opts *opts,
		  struct rt_trace *out, struct rt_linux_stats *stats, struct rt_error *err);

/*
 * A trace-cmd trace.dat file at @path: its iommu:* and dma:* records, in time
 * order, are rendered with each event's own print format (what `trace-cmd
 * report -t` prints) and imported by rt_linux_read(), so the trace equals the
 * one read from that report text. @stats counts the rendered lines. Without
 * libtracecmd in the build this returns -EOPNOTSUPP and says so in @err.
 */
int rt_tracedat_read(const char *path, const struct rt_read_opts *opts, struct rt_trace *out,
		     struct rt_linux_stats *stats, struct rt_error *err);
/* True when the library was built with libtracecmd (rt_tracedat_read works). */
bool rt_tracedat_supported(void);

/* Writers: 0 or -EIO (the stream failed). */
int rt_text_write(const struct rt_trace *t, FILE *out);
/* The binary writer writes the canonical string order; @t is not changed. */
int rt_bin_write(const struct rt_trace *t, FILE *out);

/* Whole files: read by @fmt (AUTO detects), write by @fmt (AUTO: by name). */
int rt_read_file(const char *path, enum rt_format fmt, const struct rt_read_opts *opts,
		 struct rt_trace *out, struct rt_linux_stats *stats, struct rt_error *err);
int rt_write_file(const struct rt_trace *t, const char *path, enum rt_format fmt);

/*
 * Redaction: replace user VAs (mmap/map va), physical addresses (lx paddr,
 * phys, virt) with pseudonyms from a keyed permutation. The same @key and
 * address always give the same pseudonym; page offsets are kept (the low 12
 * bits), so alignment and contiguity within a page survive, and distinct
 * pages stay distinct. IOVAs, lengths and device names are kept.
 */
int rt_redact(struct rt_trace *t, uint64_t key);

/* ---- workload generators ---- */

enum rt_gen_kind {
	RT_GEN_NIC_RING, /* persistent ring mappings, DMA into them */
	RT_GEN_NIC_PERPACKET, /* map/unmap per packet buffer */
	RT_GEN_NVME, /* 4 KiB random I/O, map per I/O */
	RT_GEN_GPU, /* bulk buffers on huge pages */
	RT_GEN_MIX, /* random/adversarial mix */
};

struct rt_gen_params {
	uint64_t seed;
	uint64_t count; /* DMA operations (packets / I/Os / transfers) */
	const char *vendor; /* IOMMU model name, default "vtd" */
	const char *config; /* model configuration text, default "" */
	uint32_t queues; /* rings / submission queues / GPU streams (default 1) */
	uint32_t depth; /* ring entries / queue depth (default 256 / 32) */
	uint32_t size; /* packet / I/O / chunk size in bytes (0: kind default) */
	uint64_t buf_size; /* GPU buffer size, mix working set (0: kind default) */
	uint64_t rate_ns; /* simulated time between operations (0: kind default) */
	uint32_t rx_percent; /* NIC: share of RX packets; NVMe: share of reads */
	bool strict_flush; /* emit a flush after each unmap */
};

void rt_gen_defaults(struct rt_gen_params *p);
int rt_gen_kind_from_name(const char *s, enum rt_gen_kind *out);
const char *rt_gen_kind_name(enum rt_gen_kind k);
/* Append the generated trace to @out. Deterministic in (kind, params). */
int rt_gen(enum rt_gen_kind kind, const struct rt_gen_params *p, struct rt_trace *out);

#ifdef __cplusplus
}
#endif

#endif /* IOMMUSIM_REPLAY_TRACE_H */
