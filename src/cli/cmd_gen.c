/* SPDX-License-Identifier: MIT */
/*
 * `iommusim gen KIND [options] -o FILE`: write a generated workload trace.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include <iommusim/replay_trace.h>

#include "cli.h"

static void gen_usage(FILE *out)
{
	fprintf(out, "usage: iommusim gen KIND [options] -o FILE\n"
		     "\n"
		     "Generate a workload trace. KIND is one of:\n"
		     "  nic-ring       NIC RX/TX rings, persistent ring and buffer mappings\n"
		     "  nic-perpacket  NIC RX/TX rings, one map/unmap per packet buffer\n"
		     "  nvme           NVMe-style 4 KiB random I/O, one mapping per I/O\n"
		     "  gpu            GPU-style bulk buffers on huge pages\n"
		     "  mix            random/adversarial mix (faults, stale windows, copies)\n"
		     "\n"
		     "options (0 or absent: the kind's default):\n"
		     "  -o, --output FILE     output file ('-': stdout)\n"
		     "      --to text|binary  output format (default: by extension, .rtb/.bin = "
		     "binary)\n"
		     "  -s, --seed N          random seed (default 1)\n"
		     "  -n, --count N         packets / I/Os / transfers / steps (default 10000)\n"
		     "  -q, --queues N        rings / queues / GPU streams\n"
		     "  -d, --depth N         ring entries / queue depth / GPU buffers\n"
		     "      --size BYTES      packet / I/O / chunk size\n"
		     "      --buf-size BYTES  GPU buffer size, NVMe data region, mix region\n"
		     "      --rate NS         mean simulated time between operations\n"
		     "      --rx-percent P    NIC: share of RX packets; NVMe: share of reads\n"
		     "      --strict-flush    emit a flush after every unmap\n"
		     "      --vendor NAME     IOMMU model named in the trace (default vtd)\n"
		     "      --config TEXT     model configuration text (\"key=value ...\")\n"
		     "  -h, --help            this text\n"
		     "\nSizes accept K, M, G suffixes. Same kind, options and seed: same bytes.\n");
}

static int num(const char *opt, const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (end != s && *end && !end[1]) {
		unsigned sh = *end == 'K' || *end == 'k'   ? 10
			      : *end == 'M' || *end == 'm' ? 20
			      : *end == 'G' || *end == 'g' ? 30
							   : 0;

		if (sh && v <= (~0ull >> sh)) {
			v <<= sh;
			end++;
		}
	}
	if (errno || end == s || *end || s[0] == '-') {
		fprintf(stderr, "iommusim gen: %s: not a number: '%s'\n", opt, s);
		return -1;
	}
	*out = v;
	return 0;
}

int cli_gen(int argc, char **argv)
{
	enum { O_TO = 256, O_SIZE, O_BUF, O_RATE, O_RX, O_STRICT, O_VENDOR, O_CONFIG };
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "to", required_argument, NULL, O_TO },
		{ "seed", required_argument, NULL, 's' },
		{ "count", required_argument, NULL, 'n' },
		{ "queues", required_argument, NULL, 'q' },
		{ "depth", required_argument, NULL, 'd' },
		{ "size", required_argument, NULL, O_SIZE },
		{ "buf-size", required_argument, NULL, O_BUF },
		{ "rate", required_argument, NULL, O_RATE },
		{ "rx-percent", required_argument, NULL, O_RX },
		{ "strict-flush", no_argument, NULL, O_STRICT },
		{ "vendor", required_argument, NULL, O_VENDOR },
		{ "config", required_argument, NULL, O_CONFIG },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct rt_gen_params p;
	enum rt_format fmt = RT_FMT_AUTO;
	enum rt_gen_kind kind;
	const char *outpath = NULL;
	struct rt_trace t;
	uint64_t v;
	int c, ret;

	rt_gen_defaults(&p);
	optind = 1;
	while ((c = getopt_long(argc, argv, "o:s:n:q:d:h", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			outpath = optarg;
			break;
		case O_TO:
			if (!strcmp(optarg, "text"))
				fmt = RT_FMT_TEXT;
			else if (!strcmp(optarg, "binary"))
				fmt = RT_FMT_BINARY;
			else {
				fprintf(stderr, "iommusim gen: --to: expected text or binary\n");
				return CLI_EXIT_USAGE;
			}
			break;
		case 's':
			if (num("--seed", optarg, &p.seed))
				return CLI_EXIT_USAGE;
			break;
		case 'n':
			if (num("--count", optarg, &p.count))
				return CLI_EXIT_USAGE;
			break;
		case 'q':
		case 'd':
		case O_SIZE:
		case O_RX:
			if (num(c == 'q'      ? "--queues"
				: c == 'd'    ? "--depth"
				: c == O_SIZE ? "--size"
					      : "--rx-percent",
				optarg, &v))
				return CLI_EXIT_USAGE;
			if (v > UINT32_MAX) {
				fprintf(stderr, "iommusim gen: value too large: '%s'\n", optarg);
				return CLI_EXIT_USAGE;
			}
			if (c == 'q')
				p.queues = (uint32_t)v;
			else if (c == 'd')
				p.depth = (uint32_t)v;
			else if (c == O_SIZE)
				p.size = (uint32_t)v;
			else
				p.rx_percent = (uint32_t)v;
			break;
		case O_BUF:
			if (num("--buf-size", optarg, &p.buf_size))
				return CLI_EXIT_USAGE;
			break;
		case O_RATE:
			if (num("--rate", optarg, &p.rate_ns))
				return CLI_EXIT_USAGE;
			break;
		case O_STRICT:
			p.strict_flush = true;
			break;
		case O_VENDOR:
			p.vendor = optarg;
			break;
		case O_CONFIG:
			p.config = optarg;
			break;
		case 'h':
			gen_usage(stdout);
			return CLI_EXIT_OK;
		default:
			gen_usage(stderr);
			return CLI_EXIT_USAGE;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "iommusim gen: expected one KIND (try 'iommusim gen --help')\n");
		return CLI_EXIT_USAGE;
	}
	if (rt_gen_kind_from_name(argv[optind], &kind)) {
		fprintf(stderr, "iommusim gen: unknown kind '%s' (try 'iommusim gen --help')\n",
			argv[optind]);
		return CLI_EXIT_USAGE;
	}
	if (!outpath) {
		fprintf(stderr, "iommusim gen: -o FILE is required\n");
		return CLI_EXIT_USAGE;
	}
	rt_trace_init(&t, NULL);
	ret = rt_gen(kind, &p, &t);
	if (ret == -EINVAL) {
		fprintf(stderr, "iommusim gen: %s: parameters out of range (see --help)\n",
			argv[optind]);
		rt_trace_free(&t);
		return CLI_EXIT_USAGE;
	}
	if (!ret)
		ret = rt_write_file(&t, outpath, fmt);
	rt_trace_free(&t);
	if (ret) {
		fprintf(stderr, "iommusim gen: %s: %s\n", outpath, strerror(-ret));
		return ret == -ENOMEM ? CLI_EXIT_INTERNAL : CLI_EXIT_FAILURE;
	}
	return CLI_EXIT_OK;
}
