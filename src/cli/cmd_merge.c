/* SPDX-License-Identifier: MIT */
/*
 * `iommusim merge`: join the JSON rows that `iommusim replay --emit-jobs`
 * commands wrote (one file per configuration) into the document, or the
 * table, the sweep itself would have printed. Rows are ordered by their
 * "job" number; every job of the sweep must be present exactly once.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <iommusim/replay.h>

#include "cli.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: iommusim merge [options] JOB.json...\n"
		"\n"
		"Join the JSON written by the commands `iommusim replay --emit-jobs` produced\n"
		"(each ran one configuration with --job N) into one sweep document, the same\n"
		"bytes `iommusim replay --json` prints for the whole sweep.\n"
		"\n"
		"options:\n"
		"  -o, --output FILE   write there instead of stdout\n"
		"      --table         print the sweep table instead of JSON\n"
		"      --partial       allow missing jobs (the rows present are joined)\n"
		"  -h, --help          this text\n"
		"\n"
		"exit codes: 0 done, 2 bad command line, 3 unreadable, malformed, duplicate\n"
		"or missing rows.\n");
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t len = 0, cap = 0, n;

	if (!f)
		return NULL;
	for (;;) {
		if (cap - len < 4096) {
			char *nb = realloc(buf, cap = cap ? cap * 2 : 8192);

			if (!nb) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = nb;
		}
		n = fread(buf + len, 1, cap - len - 1, f);
		len += n;
		if (n == 0)
			break;
	}
	fclose(f);
	while (len && (buf[len - 1] == '\n' || buf[len - 1] == ' ' || buf[len - 1] == '\r'))
		len--;
	buf[len] = 0;
	return buf;
}

int cli_merge(int argc, char **argv)
{
	static const struct option opts[] = { { "output", required_argument, NULL, 'o' },
					      { "table", no_argument, NULL, 't' },
					      { "partial", no_argument, NULL, 'p' },
					      { "help", no_argument, NULL, 'h' },
					      { NULL, 0, NULL, 0 } };
	const char *out_path = NULL;
	bool table = false, partial = false;
	char **rows = NULL;
	unsigned jobs = 0, nrows = 0;
	FILE *out = stdout;
	int c, ret = CLI_EXIT_OK;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			out_path = optarg;
			break;
		case 't':
			table = true;
			break;
		case 'p':
			partial = true;
			break;
		case 'h':
			usage(stdout);
			return CLI_EXIT_OK;
		default:
			fprintf(stderr,
				"iommusim merge: bad option '%s' (try 'iommusim merge --help')\n",
				argv[optind - 1]);
			return CLI_EXIT_USAGE;
		}
	}
	if (optind == argc) {
		fprintf(stderr, "iommusim merge: no input files (try 'iommusim merge --help')\n");
		return CLI_EXIT_USAGE;
	}
	for (int i = optind; i < argc; i++) {
		char *row = slurp(argv[i]);
		double job, n;

		if (!row) {
			fprintf(stderr, "iommusim merge: %s: %s\n", argv[i],
				strerror(errno ? errno : EIO));
			ret = CLI_EXIT_INPUT;
			goto out;
		}
		if (row[0] != '{' || !replay_json_number(row, "job", &job) ||
		    !replay_json_number(row, "jobs", &n) || n < 1 || job < 0 || job >= n) {
			fprintf(stderr,
				"iommusim merge: %s: not a row written by `iommusim replay "
				"--json --job N`\n",
				argv[i]);
			free(row);
			ret = CLI_EXIT_INPUT;
			goto out;
		}
		if (!rows) {
			jobs = (unsigned)n;
			rows = calloc(jobs, sizeof(*rows));
			if (!rows) {
				free(row);
				ret = CLI_EXIT_INTERNAL;
				goto out;
			}
		} else if ((unsigned)n != jobs) {
			fprintf(stderr, "iommusim merge: %s: from a sweep of %u jobs, not %u\n",
				argv[i], (unsigned)n, jobs);
			free(row);
			ret = CLI_EXIT_INPUT;
			goto out;
		}
		if (rows[(unsigned)job]) {
			fprintf(stderr, "iommusim merge: %s: job %u given twice\n", argv[i],
				(unsigned)job);
			free(row);
			ret = CLI_EXIT_INPUT;
			goto out;
		}
		rows[(unsigned)job] = row;
	}
	for (unsigned j = 0; j < jobs; j++) {
		if (rows[j]) {
			rows[nrows++] = rows[j];
			if (nrows - 1 != j)
				rows[j] = NULL;
		} else if (!partial) {
			fprintf(stderr,
				"iommusim merge: job %u of %u is missing (--partial joins "
				"what is there)\n",
				j, jobs);
			ret = CLI_EXIT_INPUT;
			goto out;
		}
	}
	if (out_path && !(out = fopen(out_path, "w"))) {
		fprintf(stderr, "iommusim merge: %s: %s\n", out_path, strerror(errno));
		out = stdout;
		ret = CLI_EXIT_INPUT;
		goto out;
	}
	if (table)
		replay_sweep_table((const char *const *)rows, nrows, out);
	else
		replay_sweep_json((const char *const *)rows, nrows, out);
	if (out != stdout && fclose(out)) {
		fprintf(stderr, "iommusim merge: %s: %s\n", out_path, strerror(errno));
		ret = CLI_EXIT_INTERNAL;
	}
out:
	for (unsigned j = 0; rows && j < jobs; j++)
		free(rows[j]);
	free(rows);
	return ret;
}
