/* SPDX-License-Identifier: MIT */
/*
 * `iommusim shrink`: reduce a trace to a minimal one that still shows a
 * condition (delta debugging, src/replay/shrink.c), for bug reports.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <iommusim/replay.h>
#include <iommusim/replay_trace.h>

#include "cli.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: iommusim shrink [options] TRACE --until COND -o OUT\n"
		"\n"
		"Delta debugging: remove events from TRACE while the replay still shows COND,\n"
		"until removing any single event loses it; write the result to OUT (text, or\n"
		"binary when OUT ends in .rtb/.bin).\n"
		"\n"
		"conditions:\n"
		"  fault[:REASON]    a DMA translation fault (REASON: the vendor's code, 6 or\n"
		"                    0x6, or its name as the report prints it, no_read)\n"
		"  stale[:DEVICE]    a stale-translation window (optionally on DEVICE)\n"
		"  checker[:RULE]    a protocol-checker finding (the model's checker is turned\n"
		"                    on; RULE as `hw:checker` names it)\n"
		"  crash             the replay crashes or fails internally (each test runs in\n"
		"                    a child process)\n"
		"\n"
		"options:\n"
		"  -u, --until COND       the condition (required)\n"
		"  -o, --output OUT       where the reduced trace goes (required)\n"
		"  -m, --model NAME       replay on NAME instead of the trace's vendor\n"
		"  -s, --set KEY=VALUE    a setting, as for `iommusim replay` (repeatable)\n"
		"  -f, --format FMT       input format: auto (default), text, binary, linux\n"
		"  -h, --help             this text\n"
		"\n"
		"exit codes: 0 reduced, 1 TRACE does not show COND, 2 bad command line,\n"
		"3 bad trace or configuration, 4 the simulator failed.\n");
}

int cli_shrink(int argc, char **argv)
{
	static const struct option opts[] = { { "until", required_argument, NULL, 'u' },
					      { "output", required_argument, NULL, 'o' },
					      { "model", required_argument, NULL, 'm' },
					      { "set", required_argument, NULL, 's' },
					      { "format", required_argument, NULL, 'f' },
					      { "help", no_argument, NULL, 'h' },
					      { NULL, 0, NULL, 0 } };
	const char *until = NULL, *out_path = NULL;
	struct replay_shrink_stats st;
	enum rt_format fmt = RT_FMT_AUTO;
	struct replay_config cfg;
	struct replay_until u;
	struct rt_trace t, out;
	char err[512];
	int c, rc, ret;

	replay_config_init(&cfg);
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":u:o:m:s:f:h", opts, NULL)) != -1) {
		switch (c) {
		case 'u':
			until = optarg;
			break;
		case 'o':
			out_path = optarg;
			break;
		case 'm':
			cfg.model = replay_model_find(optarg);
			if (!cfg.model) {
				fprintf(stderr, "iommusim shrink: unknown model '%s'\n", optarg);
				ret = CLI_EXIT_USAGE;
				goto out_cfg;
			}
			break;
		case 's':
			rc = replay_config_set(&cfg, optarg, err, sizeof(err));
			if (rc) {
				fprintf(stderr, "iommusim shrink: %s\n", err);
				ret = CLI_EXIT_INPUT;
				goto out_cfg;
			}
			break;
		case 'f':
			if (cli_parse_format(optarg, &fmt)) {
				fprintf(stderr,
					"iommusim shrink: --format: expected auto, text, binary "
					"or linux\n");
				ret = CLI_EXIT_USAGE;
				goto out_cfg;
			}
			break;
		case 'h':
			usage(stdout);
			ret = CLI_EXIT_OK;
			goto out_cfg;
		default:
			fprintf(stderr,
				"iommusim shrink: bad option '%s' (try 'iommusim shrink --help')\n",
				argv[optind - 1]);
			ret = CLI_EXIT_USAGE;
			goto out_cfg;
		}
	}
	if (optind + 1 != argc || !until || !out_path) {
		fprintf(stderr, "iommusim shrink: expected TRACE, --until COND and -o OUT (try "
				"'iommusim shrink --help')\n");
		ret = CLI_EXIT_USAGE;
		goto out_cfg;
	}
	if (replay_until_parse(until, &u, err, sizeof(err))) {
		fprintf(stderr, "iommusim shrink: --until %s\n", err);
		ret = CLI_EXIT_USAGE;
		goto out_cfg;
	}
	ret = cli_load_trace("shrink", argv[optind], fmt, false, &t, NULL);
	if (ret)
		goto out_cfg;
	rt_trace_init(&out, NULL);
	rc = replay_shrink(&t, &cfg, &u, &out, &st);
	if (rc == -ENOENT) {
		fprintf(stderr, "iommusim shrink: %s does not show '%s'\n", argv[optind], until);
		ret = CLI_EXIT_FAILURE;
	} else if (rc) {
		fprintf(stderr, "iommusim shrink: %s\n", strerror(-rc));
		ret = rc == -ENOMEM ? CLI_EXIT_INTERNAL : CLI_EXIT_INPUT;
	} else {
		rc = rt_write_file(&out, out_path, RT_FMT_AUTO);
		if (rc) {
			fprintf(stderr, "iommusim shrink: %s: %s\n", out_path, strerror(-rc));
			ret = CLI_EXIT_INTERNAL;
		} else {
			fprintf(stderr, "iommusim shrink: %zu -> %zu events in %llu replays: %s\n",
				st.before, st.after, (unsigned long long)st.tests, out_path);
		}
	}
	rt_trace_free(&out);
	rt_trace_free(&t);
out_cfg:
	replay_config_free(&cfg);
	return ret;
}
