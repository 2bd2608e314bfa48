/* SPDX-License-Identifier: MIT */
/*
 * The Intel VT-d model as the replay engine sees it: the `vtd.*` knob table
 * over struct vtd_config (include/iommusim/hw_vtd.h), and the hooks that
 * bring a unit up (the model through the platform, the Intel driver of
 * src/iommu/intel/ on top, strict or lazy per the engine settings).
 *
 * Everything vendor-specific the engine needs lives here; another vendor
 * writes the same table over its own configuration structure and adds one
 * line to config_models.h.
 *
 * No state: static const tables and functions of their arguments.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <iommusim/hw_vtd.h>
#include <iommusim/platform.h>
#include <iommusim/replay.h>

#include "iommu/intel/intel.h"

#define V_OFF(f) offsetof(struct vtd_config, f)

/* vtd.levels: 3, 4 or 5-level second-stage tables, as SAGAW (one bit) + MGAW. */
static int levels_parse(void *cfg, const char *val, char *err, size_t errlen)
{
	struct vtd_config *c = cfg;
	static const uint8_t mgaw[] = { 39, 48, 57 };

	if (strlen(val) != 1 || val[0] < '3' || val[0] > '5') {
		snprintf(err, errlen, "'%s': levels are 3, 4 or 5", val);
		return -EINVAL;
	}
	c->sagaw = (uint8_t)(1u << (val[0] - '2'));
	c->mgaw = mgaw[val[0] - '3'];
	return 0;
}

static void levels_format(const void *cfg, char *buf, size_t len)
{
	const struct vtd_config *c = cfg;
	unsigned l = 0;

	for (unsigned b = 1; b <= 3; b++)
		if (c->sagaw & (1u << b))
			l = b + 2;
	snprintf(buf, len, "%u", l);
}

#define B(key, f, help)                                                             \
	{                                                                           \
		key, REPLAY_KNOB_BOOL, V_OFF(f), 0, 1, NULL, NULL, NULL, NULL, help \
	}
#define N(key, t, f, lo, hi, help)                                     \
	{                                                              \
		key, t, V_OFF(f), lo, hi, NULL, NULL, NULL, NULL, help \
	}
#define G(key, f, help)                                                             \
	{                                                                           \
		key, REPLAY_KNOB_GEOM, V_OFF(f), 0, 0, NULL, NULL, NULL, NULL, help \
	}

static const struct replay_knob vtd_knobs[] = {
	{ "vtd.levels", REPLAY_KNOB_CUSTOM, 0, 3, 5, NULL, levels_parse, levels_format, "3|4|5",
	  "second-stage table depth (sets CAP.SAGAW to that one level and MGAW 39/48/57)" },
	N("vtd.sagaw", REPLAY_KNOB_U8, sagaw, 1, 15,
	  "CAP.SAGAW bitmap: bit 1 3-level, 2 4-level, 3 5-level"),
	N("vtd.mgaw", REPLAY_KNOB_U8, mgaw, 30, 64, "CAP.MGAW: maximum guest address width, bits"),
	N("vtd.haw", REPLAY_KNOB_U8, haw, 32, 52, "host address width, bits"),
	N("vtd.sllps", REPLAY_KNOB_U8, sllps, 0, 3,
	  "CAP.SLLPS: bit 0 2 MiB, bit 1 1 GiB second-stage pages"),
	N("vtd.nd", REPLAY_KNOB_U8, nd, 0, 6, "CAP.ND: 2^(4+2*nd) domain ids"),
	N("vtd.nfr", REPLAY_KNOB_U16, nfr, 1, 256, "CAP.NFR: fault recording registers"),
	N("vtd.mamv", REPLAY_KNOB_U8, mamv, 0, 63,
	  "CAP.MAMV: largest page-selective invalidation mask"),
	B("vtd.psi", psi, "CAP.PSI: page-selective invalidation"),
	B("vtd.cm", cm, "CAP.CM: caching mode (not-present entries may be cached)"),
	B("vtd.fl1gp", fl1gp, "CAP.FL1GP: first-stage 1 GiB pages"),
	B("vtd.fl5lp", fl5lp, "CAP.FL5LP: first-stage 5-level paging"),
	B("vtd.rwbf", rwbf, "CAP.RWBF: write-buffer flushing required"),
	B("vtd.qi", qi, "ECAP.QI: queued invalidation (the driver requires it)"),
	B("vtd.dt", dt, "ECAP.DT: device-TLB (ATS)"),
	B("vtd.pt", pt, "ECAP.PT: pass-through"),
	B("vtd.sc", sc, "ECAP.SC: snoop control"),
	B("vtd.scalable", scalable, "ECAP.SMTS: scalable-mode translation"),
	B("vtd.pasid", pasid, "ECAP.PASID: PASID support (scalable mode)"),
	N("vtd.pss", REPLAY_KNOB_U8, pss, 0, 19, "ECAP.PSS: PASID width - 1"),
	B("vtd.flts", flts, "ECAP.FLTS: first-stage translation"),
	B("vtd.slts", slts, "ECAP.SLTS: second-stage translation in scalable mode"),
	B("vtd.nest", nest, "ECAP.NEST: nested translation"),
	B("vtd.ssads", ssads, "ECAP.SSADS: second-stage A/D bits"),
	B("vtd.prs", prs, "ECAP.PRS: page requests"),
	G("vtd.iotlb", iotlb, "IOTLB geometry and replacement"),
	G("vtd.ctx", ctx, "context-cache geometry"),
	G("vtd.pasid_cache", pasid_c, "PASID-cache geometry"),
	G("vtd.pwc", pwc, "paging-structure (walk) caches, every level"),
	G("vtd.devtlb", devtlb, "device TLBs of ATS devices"),
	B("vtd.qi_sync", qi_sync, "process the invalidation queue on each tail write"),
	B("vtd.checker", checker, "protocol checker (re-reads cached PTEs on every hit: slow)"),
	N("vtd.seed", REPLAY_KNOB_U64, seed, 0, UINT64_MAX,
	  "random replacement seed (the engine's seed= sets it too)"),
	N("vtd.cost.iotlb_hit", REPLAY_KNOB_U32, cost.iotlb_hit_cycles, 0, 1000000,
	  "cost model: cycles of an IOTLB hit"),
	N("vtd.cost.cache_hit", REPLAY_KNOB_U32, cost.cache_hit_cycles, 0, 1000000,
	  "cost model: cycles of another cache hit"),
	N("vtd.cost.mem", REPLAY_KNOB_U32, cost.mem_access_cycles, 0, 1000000,
	  "cost model: cycles of one memory access"),
	N("vtd.cost.ps_per_cycle", REPLAY_KNOB_U32, cost.ps_per_cycle, 1, 1000000,
	  "cost model: picoseconds per cycle"),
};

static void vtd_cfg_default(void *cfg)
{
	*(struct vtd_config *)cfg = vtd_config_default();
}

static int vtd_cfg_finish(void *cfg, const struct replay_settings *s, char *err, size_t errlen)
{
	struct vtd_config *c = cfg;
	static const uint8_t max_sllps[] = {
		[REPLAY_PGSIZE_1G] = 3, [REPLAY_PGSIZE_2M] = 1, [REPLAY_PGSIZE_4K] = 0
	};

	if (s->pgsize <= REPLAY_PGSIZE_4K)
		c->sllps &= max_sllps[s->pgsize];
	if (s->seed != 1 && c->seed == 1)
		c->seed = s->seed;
	if (!c->qi) {
		snprintf(err, errlen, "vtd.qi=0: the Intel driver needs queued invalidation");
		return -EINVAL;
	}
	if (!(c->sagaw & 0xe)) {
		snprintf(err, errlen, "vtd.sagaw=%u: no 3-, 4- or 5-level support", c->sagaw);
		return -EINVAL;
	}
	return 0;
}

static int vtd_unit_create(struct mach *m, const void *cfg, const struct replay_settings *s,
			   struct replay_unit_hw *out)
{
	struct intel_iommu_options o;
	struct intel_iommu *drv;
	struct plat_iommu *pi;
	int rc;

	rc = plat_iommu_add_vtd(m, cfg, &pi);
	if (rc)
		return rc;
	intel_iommu_options_default(&o);
	o.lazy = s->lazy != 0;
	o.fq_size = s->fq_size;
	o.fq_timeout_ns = s->fq_timeout_ns;
	rc = intel_iommu_probe(pi, &o, &drv);
	if (rc) {
		plat_iommu_remove(pi);
		return rc;
	}
	out->pi = pi;
	out->drv = drv;
	return 0;
}

static void vtd_unit_destroy(struct replay_unit_hw *u)
{
	intel_iommu_remove(u->drv);
	plat_iommu_remove(u->pi);
}

static int vtd_probe_device(struct replay_unit_hw *u, struct plat_dev *pd, struct iommu_dev **out)
{
	return intel_iommu_probe_device(u->drv, pd, out);
}

static void vtd_release_device(struct iommu_dev *dev)
{
	intel_iommu_release_device(dev);
}

static const char *const desc_names[16] = {
	[1] = "qi.cc",	 [2] = "qi.iotlb",  [3] = "qi.devtlb", [4] = "qi.iec",
	[5] = "qi.wait", [6] = "qi.piotlb", [7] = "qi.pc",     [8] = "qi.pdevtlb",
};

static void vtd_unit_stats(struct replay_unit_hw *u, struct replay_unit_stats *out)
{
	struct intel_iommu_stats is;
	struct vtd_stats vs;
	unsigned i;

	memset(out, 0, sizeof(*out));
	if (vtd_get_stats(plat_iommu_hw(u->pi), &vs))
		return;
	intel_iommu_get_stats(u->drv, &is);
	out->hw = vs.common;
	out->caches[0] = (struct replay_named){ "ctx", vs.ctx.hits, vs.ctx.misses };
	out->caches[1] = (struct replay_named){ "pasid", vs.pasid_c.hits, vs.pasid_c.misses };
	out->caches[2] = (struct replay_named){ "pwc", vs.pwc.hits, vs.pwc.misses };
	out->caches[3] = (struct replay_named){ "devtlb", vs.devtlb.hits, vs.devtlb.misses };
	out->ncaches = 4;
	/* The driver's view: what it asked for. */
	out->inval[0] = (struct replay_named){ "iotlb_psi", is.iotlb_psi, 1 };
	out->inval[1] = (struct replay_named){ "iotlb_dsi", is.iotlb_dsi, 1 };
	out->inval[2] = (struct replay_named){ "iotlb_global", is.iotlb_global, 1 };
	out->inval[3] = (struct replay_named){ "context", is.cc_invalidations, 1 };
	out->inval[4] = (struct replay_named){ "devtlb", is.devtlb_invalidations, 1 };
	out->inval[5] = (struct replay_named){ "fq_flushes", is.fq_flushes, 0 };
	out->inval[6] = (struct replay_named){ "qi_waits", is.qi_waits, 0 };
	out->ninval = 7;
	/* The hardware's view: descriptors processed, by type (VT-d 3.4 §6.5.2). */
	for (i = 1; i < 16 && out->ninval < REPLAY_MAX_NAMED; i++)
		if (desc_names[i] && i != 5)
			out->inval[out->ninval++] =
				(struct replay_named){ desc_names[i], vs.descriptors[i], 0 };
	for (i = 0; i < VTD_CHK__COUNT; i++)
		out->checker_warnings += vs.checker[i];
}

/* VT-d 3.4 Appendix A: fault reason encodings (legacy and scalable mode). */
static const char *vtd_fault_reason_name(uint32_t r)
{
	switch (r) {
	case 0x1:
		return "root_not_present";
	case 0x2:
		return "context_not_present";
	case 0x3:
		return "context_invalid";
	case 0x4:
		return "address_beyond_agaw";
	case 0x5:
		return "no_write";
	case 0x6:
		return "no_read";
	case 0x7:
		return "pte_access_error";
	case 0x8:
		return "root_access_error";
	case 0x9:
		return "context_access_error";
	case 0xa:
		return "root_reserved";
	case 0xb:
		return "context_reserved";
	case 0xc:
		return "pte_reserved";
	case 0xd:
		return "translation_type_blocked";
	case 0x30:
		return "sm_root_access_error";
	case 0x31:
		return "sm_context_access_error";
	case 0x32:
		return "sm_root_reserved";
	case 0x33:
		return "sm_context_reserved";
	case 0x34:
		return "sm_context_not_present";
	case 0x35:
		return "sm_context_invalid";
	case 0x36:
		return "sm_rid_pasid_invalid";
	case 0x37:
		return "sm_pasid_disabled";
	case 0x38:
		return "sm_pasid_dir_access_error";
	case 0x39:
		return "sm_pasid_dir_not_present";
	case 0x3a:
		return "sm_pasid_dir_reserved";
	case 0x3b:
		return "sm_pasid_entry_access_error";
	case 0x3c:
		return "sm_pasid_entry_not_present";
	case 0x3d:
		return "sm_pasid_entry_reserved";
	case 0x3e:
		return "sm_pgtt_invalid";
	case 0x80:
		return "sm_fl_access_error";
	case 0x81:
		return "sm_fl_not_present";
	case 0x82:
		return "sm_fl_no_write";
	case 0x83:
		return "sm_fl_no_read";
	case 0x90:
		return "sm_sl_access_error";
	case 0x91:
		return "sm_sl_not_present";
	case 0x92:
		return "sm_sl_address_beyond_aw";
	case 0x93:
		return "sm_sl_no_write";
	case 0x94:
		return "sm_sl_no_read";
	default:
		return NULL;
	}
}

static const char *vtd_checker_rule(unsigned i)
{
	return i < VTD_CHK__COUNT ? vtd_check_rule_name((enum vtd_check_rule)i) : NULL;
}

static uint64_t vtd_checker_count(struct replay_unit_hw *u, unsigned i)
{
	struct vtd_stats vs;

	if (i >= VTD_CHK__COUNT || vtd_get_stats(plat_iommu_hw(u->pi), &vs))
		return 0;
	return vs.checker[i];
}

const struct replay_model replay_model_vtd = {
	.name = "vtd",
	.vendor = HWM_VENDOR_VTD,
	.description = "Intel VT-d (DMA remapping unit, VT-d 3.4) with the Intel driver",
	.features =
		"legacy and scalable mode, 3/4/5-level second stage, first stage, nesting, "
		"2M/1G pages, IOTLB, context/PASID/paging-structure caches, queued "
		"invalidation, fault recording, ATS device TLB, page requests, protocol checker",
	.cfg_size = sizeof(struct vtd_config),
	.knobs = vtd_knobs,
	.nknobs = sizeof(vtd_knobs) / sizeof(vtd_knobs[0]),
	.iotlb_key = "vtd.iotlb",
	.checker_key = "vtd.checker",
	.cfg_default = vtd_cfg_default,
	.cfg_finish = vtd_cfg_finish,
	.unit_create = vtd_unit_create,
	.unit_destroy = vtd_unit_destroy,
	.probe_device = vtd_probe_device,
	.release_device = vtd_release_device,
	.unit_stats = vtd_unit_stats,
	.fault_reason_name = vtd_fault_reason_name,
	.checker_rule_name = vtd_checker_rule,
	.checker_count = vtd_checker_count,
};
