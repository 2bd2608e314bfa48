/* SPDX-License-Identifier: MIT */
/*
 * `iommusim convert [options] IN OUT`: between the text and binary formats,
 * and from Linux ftrace / trace-cmd report text into ours.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include <iommusim/replay_trace.h>

#include "cli.h"

static void convert_usage(FILE *out)
{
	fprintf(out,
		"usage: iommusim convert [options] IN OUT\n"
		"\n"
		"Convert a trace. IN may be our text or binary format (detected) or the\n"
		"text of /sys/kernel/tracing/trace or `trace-cmd report` (iommu:* and dma:*\n"
		"events). '-' reads stdin / writes stdout.\n"
		"\n"
		"options:\n"
		"      --from auto|text|binary|linux  input format (default auto)\n"
		"      --to text|binary               output format (default: by OUT's\n"
		"                                     extension, .rtb/.bin = binary)\n"
		"      --skip-bad                     skip malformed lines, counting them\n"
		"      --redact[=KEY]                 replace user VAs and physical addresses\n"
		"                                     with stable pseudonyms (KEY default 0)\n"
		"  -v, --verbose                      print line statistics on stderr\n"
		"  -h, --help                         this text\n");
}

int cli_convert(int argc, char **argv)
{
	enum { O_FROM = 256, O_TO, O_SKIP, O_REDACT };
	static const struct option opts[] = {
		{ "from", required_argument, NULL, O_FROM },
		{ "to", required_argument, NULL, O_TO },
		{ "skip-bad", no_argument, NULL, O_SKIP },
		{ "redact", optional_argument, NULL, O_REDACT },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	enum rt_format from = RT_FMT_AUTO, to = RT_FMT_AUTO;
	struct rt_linux_stats st = { 0 };
	struct rt_trace t;
	bool redact = false, verbose = false, skip_bad = false;
	uint64_t key = 0;
	int c, ret;

	optind = 1;
	while ((c = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
		switch (c) {
		case O_FROM:
			if (cli_parse_format(optarg, &from)) {
				fprintf(stderr, "iommusim convert: --from: expected auto, text, "
						"binary or linux\n");
				return CLI_EXIT_USAGE;
			}
			break;
		case O_TO:
			if (!strcmp(optarg, "text"))
				to = RT_FMT_TEXT;
			else if (!strcmp(optarg, "binary"))
				to = RT_FMT_BINARY;
			else {
				fprintf(stderr,
					"iommusim convert: --to: expected text or binary\n");
				return CLI_EXIT_USAGE;
			}
			break;
		case O_SKIP:
			skip_bad = true;
			break;
		case O_REDACT:
			redact = true;
			if (optarg) {
				char *end;

				errno = 0;
				key = strtoull(optarg, &end, 0);
				if (errno || !*optarg || *end) {
					fprintf(stderr,
						"iommusim convert: --redact: not a number: '%s'\n",
						optarg);
					return CLI_EXIT_USAGE;
				}
			}
			break;
		case 'v':
			verbose = true;
			break;
		case 'h':
			convert_usage(stdout);
			return CLI_EXIT_OK;
		default:
			convert_usage(stderr);
			return CLI_EXIT_USAGE;
		}
	}
	if (optind != argc - 2) {
		fprintf(stderr,
			"iommusim convert: expected IN and OUT (try 'iommusim convert --help')\n");
		return CLI_EXIT_USAGE;
	}
	ret = cli_load_trace("convert", argv[optind], from, skip_bad, &t, &st);
	if (ret)
		return ret;
	if (verbose && st.lines)
		fprintf(stderr,
			"iommusim convert: %llu lines: %llu parsed, %llu header, %llu unrelated, "
			"%llu bad; %llu events\n",
			(unsigned long long)st.lines, (unsigned long long)st.parsed,
			(unsigned long long)st.header, (unsigned long long)st.unrelated,
			(unsigned long long)st.bad, (unsigned long long)st.events);
	if (redact)
		ret = rt_redact(&t, key);
	if (!ret)
		ret = rt_write_file(&t, argv[optind + 1], to);
	rt_trace_free(&t);
	if (ret) {
		fprintf(stderr, "iommusim convert: %s: %s\n", argv[optind + 1], strerror(-ret));
		return ret == -ENOMEM ? CLI_EXIT_INTERNAL : CLI_EXIT_FAILURE;
	}
	return CLI_EXIT_OK;
}
