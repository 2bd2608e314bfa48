// SPDX-License-Identifier: MIT
/*
 * IOMMUSIM_CONFIG: the shim's configuration, in the project's key=value
 * vocabulary (CONVENTIONS.md: unknown keys are errors).
 *
 * The value is read as a file when it names one that exists (or starts with
 * '/' or "./" and so can only be a path); otherwise it is the text itself.
 * Pairs are separated by whitespace, newlines or ';'; '#' comments to the
 * end of the line. Sizes take K, M, G, T suffixes (powers of 1024).
 *
 * Keys (default in brackets):
 *   mem_size=SIZE            simulated RAM [the machine's default, 1 GiB]
 *   backing=owned|dataless   [owned]
 *   seed=N                   [0]
 *   vfio.dma_entry_limit=N|on|off   type1's mapping count limit [off];
 *                            "on" means 65535, type1's default
 *   cap_ipc_lock=0|1|host    may the process lock memory past
 *                            RLIMIT_MEMLOCK [0, so setrlimit is honoured
 *                            even when the real process runs as root]
 *   privileged=0|1           CAP_SYS_RESOURCE of each context, needed to
 *                            set IOMMU_OPTION_RLIMIT_MODE [1]
 *   trace.events=PATTERN     events IOMMUSIM_TRACE records [*]
 *
 * No state: the caller owns the struct; pure parsing, no allocation beyond
 * the file buffer.
 */
#include "preload/shim.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "iommufd/vfio_compat.h"

#define CONFIG_FILE_MAX (1u << 20)

static int parse_u64(const char *v, uint64_t *out, bool size_suffix)
{
	unsigned long long x;
	char *end;

	if (!*v || *v == '-')
		return -EINVAL;
	errno = 0;
	x = strtoull(v, &end, 0);
	if (errno)
		return -EINVAL;
	if (size_suffix && *end) {
		unsigned shift;

		switch (toupper((unsigned char)*end)) {
		case 'K':
			shift = 10;
			break;
		case 'M':
			shift = 20;
			break;
		case 'G':
			shift = 30;
			break;
		case 'T':
			shift = 40;
			break;
		default:
			return -EINVAL;
		}
		end++;
		if (x > (UINT64_MAX >> shift))
			return -EINVAL;
		x <<= shift;
	}
	if (*end)
		return -EINVAL;
	*out = x;
	return 0;
}

static int parse_bool(const char *v, bool *out)
{
	if (!strcmp(v, "1") || !strcmp(v, "on") || !strcmp(v, "true") || !strcmp(v, "yes"))
		*out = true;
	else if (!strcmp(v, "0") || !strcmp(v, "off") || !strcmp(v, "false") || !strcmp(v, "no"))
		*out = false;
	else
		return -EINVAL;
	return 0;
}

static int apply(struct shim_config *cfg, const char *key, const char *val, char *err,
		 size_t errlen)
{
	uint64_t x;
	bool b;

	if (!strcmp(key, "mem_size")) {
		if (parse_u64(val, &x, true) || (x & 4095))
			goto bad_value;
		cfg->mem_size = x;
	} else if (!strcmp(key, "backing")) {
		if (!strcmp(val, "owned"))
			cfg->dataless = false;
		else if (!strcmp(val, "dataless"))
			cfg->dataless = true;
		else
			goto bad_value;
	} else if (!strcmp(key, "seed")) {
		if (parse_u64(val, &x, false))
			goto bad_value;
		cfg->seed = x;
	} else if (!strcmp(key, "vfio.dma_entry_limit")) {
		if (!strcmp(val, "on"))
			x = IOMMUFD_VFIO_DMA_ENTRY_LIMIT_DEFAULT;
		else if (!strcmp(val, "off"))
			x = 0;
		else if (parse_u64(val, &x, false) || x > UINT32_MAX)
			goto bad_value;
		cfg->dma_entry_limit = (uint32_t)x;
	} else if (!strcmp(key, "cap_ipc_lock")) {
		if (!strcmp(val, "host"))
			cfg->cap_ipc_lock = SHIM_CAP_HOST;
		else if (!parse_bool(val, &b))
			cfg->cap_ipc_lock = b ? SHIM_CAP_ON : SHIM_CAP_OFF;
		else
			goto bad_value;
	} else if (!strcmp(key, "privileged")) {
		if (parse_bool(val, &b))
			goto bad_value;
		cfg->privileged = b;
	} else if (!strcmp(key, "trace.events")) {
		if (!*val || strlen(val) >= sizeof(cfg->trace_events))
			goto bad_value;
		strcpy(cfg->trace_events, val);
	} else {
		snprintf(err, errlen, "unknown key '%s'", key);
		return -EINVAL;
	}
	return 0;

bad_value:
	snprintf(err, errlen, "bad value '%s' for key '%s'", val, key);
	return -EINVAL;
}

/* Parse @buf in place. */
static int parse_text(char *buf, struct shim_config *cfg, char *err, size_t errlen)
{
	char *p = buf;

	while (*p) {
		char *tok, *eq;

		if (isspace((unsigned char)*p) || *p == ';') {
			p++;
			continue;
		}
		if (*p == '#') {
			while (*p && *p != '\n')
				p++;
			continue;
		}
		tok = p;
		while (*p && !isspace((unsigned char)*p) && *p != ';' && *p != '#')
			p++;
		if (*p && *p != '#')
			*p++ = '\0';
		else if (*p == '#') {
			/* a comment glued to a value: end the token, skip the comment */
			*p++ = '\0';
			while (*p && *p != '\n')
				p++;
		}
		eq = strchr(tok, '=');
		if (!eq || eq == tok) {
			snprintf(err, errlen, "expected key=value, got '%s'", tok);
			return -EINVAL;
		}
		*eq = '\0';
		if (apply(cfg, tok, eq + 1, err, errlen))
			return -EINVAL;
	}
	return 0;
}

static bool looks_like_path(const char *text)
{
	struct stat st;

	if (text[0] == '/' || !strncmp(text, "./", 2) || !strncmp(text, "../", 3))
		return true;
	return !strchr(text, '=') || (stat(text, &st) == 0 && S_ISREG(st.st_mode));
}

static int read_file(const char *path, char **out, char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");
	char *buf;
	size_t n;
	int rc;

	if (!f) {
		rc = errno ? -errno : -EIO;
		snprintf(err, errlen, "cannot read '%s': %s", path, strerror(-rc));
		return rc;
	}
	buf = malloc(CONFIG_FILE_MAX + 1);
	if (!buf) {
		fclose(f);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	n = fread(buf, 1, CONFIG_FILE_MAX + 1, f);
	rc = ferror(f) ? -EIO : 0;
	fclose(f);
	if (!rc && n > CONFIG_FILE_MAX)
		rc = -EFBIG;
	if (rc) {
		free(buf);
		snprintf(err, errlen, "cannot read '%s': %s", path, strerror(-rc));
		return rc;
	}
	buf[n] = '\0';
	*out = buf;
	return 0;
}

int shim_config_parse(const char *text, struct shim_config *cfg, char *err, size_t errlen)
{
	char *buf = NULL;
	int rc;

	memset(cfg, 0, sizeof(*cfg));
	cfg->privileged = true;
	strcpy(cfg->trace_events, "*");
	err[0] = '\0';
	if (!text || !*text)
		return 0;

	if (looks_like_path(text)) {
		rc = read_file(text, &buf, err, errlen);
		if (rc)
			return rc;
	} else {
		buf = strdup(text);
		if (!buf) {
			snprintf(err, errlen, "out of memory");
			return -ENOMEM;
		}
	}
	rc = parse_text(buf, cfg, err, errlen);
	free(buf);
	return rc;
}
