/* SPDX-License-Identifier: MIT */
/*
 * Private helpers shared by the replay engine's files (config*.c, engine*.c,
 * metrics.c, sweep.c, shrink.c). Nothing here is public API.
 */
#ifndef IOMMUSIM_REPLAY_ENGINE_H
#define IOMMUSIM_REPLAY_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include <iommusim/replay.h>

/*
 * Decimal or 0x number with an optional K/M/G/T (binary) suffix: the trace
 * reader's rt_parse_u64() rules, so a leading 0 is not octal ("010" is 10).
 */
int rp_parse_u64(const char *s, uint64_t *out);
const struct replay_knob *rp_knob_find(const struct replay_knob *t, size_t n, const char *key);
/*
 * Apply "key=value ..." to one unit: engine keys to @s (skipped when NULL),
 * keys of model @m to @mcfg (skipped when NULL), other models' keys ignored.
 */
int rp_config_apply(const struct replay_model *m, void *mcfg, struct replay_settings *s,
		    const char *text, char *err, size_t errlen);
/* The non-default keys of @s and @mcfg, in table order: "inval=lazy vtd.iotlb=16x8:lru". */
void rp_config_canonical(const struct replay_model *m, const void *mcfg,
			 const struct replay_settings *s, char *buf, size_t len);
/* strdup through the fallible allocator. */
char *rp_strdup(const char *s);

/* Latency histogram bucket of @ns, and the lower bound of bucket @b. */
unsigned rp_lat_bucket(uint64_t ns);
uint64_t rp_lat_bucket_floor(unsigned b);

#endif /* IOMMUSIM_REPLAY_ENGINE_H */
