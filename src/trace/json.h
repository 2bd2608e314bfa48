/* SPDX-License-Identifier: MIT */
/*
 * JSON string escaping, the one copy every JSON writer in the tree uses: the
 * Perfetto sink (src/trace), replay's result rows (src/replay) and the bench
 * report (bench/). It lives in src/trace because that is the lowest layer and
 * every user links it; the header is internal (src/ is on the include path of
 * replay and bench, not of library users).
 *
 * Rules: the string goes out wrapped in double quotes; '"' and '\' get a
 * backslash; control bytes below 0x20 become \u00XX (lower-case hex); every
 * other byte, UTF-8 included, is copied as is. A NULL string is written as "".
 * Output is produced in runs through a caller-supplied writer, so it can go
 * to a FILE* or to any growable buffer; escaping itself never fails and holds
 * no state.
 */
#ifndef IOMMUSIM_TRACE_JSON_H
#define IOMMUSIM_TRACE_JSON_H

#include <stddef.h>
#include <stdio.h>

/* Receives the next n bytes of output (not NUL-terminated). */
typedef void (*trace_json_put_fn)(void *ctx, const char *s, size_t n);

/* Write s as a quoted, escaped JSON string through put(ctx, ...). */
void trace_json_escape(const char *s, trace_json_put_fn put, void *ctx);

/* The same, written to f. */
void trace_json_escape_file(FILE *f, const char *s);

#endif
