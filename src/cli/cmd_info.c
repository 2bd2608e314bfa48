/* SPDX-License-Identifier: MIT */
/*
 * `iommusim info`: the models the replay engine knows, their features, and
 * every configuration key with its default and range (the engine keys
 * first, then each model's knob table), straight from the tables.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <iommusim/fault.h>
#include <iommusim/replay.h>

#include "cli.h"

static void usage(FILE *out)
{
	fprintf(out, "usage: iommusim info [MODEL]\n"
		     "\n"
		     "List the IOMMU models, their features and every configuration key with its\n"
		     "default and range (all models, or only MODEL). Keys are set with\n"
		     "`iommusim replay --set KEY=VALUE` or in a trace's iommu config=\"...\".\n"
		     "\n"
		     "options:\n"
		     "  -h, --help   this text\n"
		     "\n"
		     "exit codes: 0 done, 2 bad command line or unknown model.\n");
}

static void knob_table(const struct replay_knob *k, size_t n, const void *defaults)
{
	char def[96], range[96];

	for (size_t i = 0; i < n; i++) {
		replay_knob_format(&k[i], defaults, def, sizeof(def));
		replay_knob_range(&k[i], range, sizeof(range));
		printf("  %-22s %-12s %-26s %s\n", k[i].key, def, range, k[i].help);
	}
}

int cli_info(int argc, char **argv)
{
	static const struct option opts[] = { { "help", no_argument, NULL, 'h' },
					      { NULL, 0, NULL, 0 } };
	const struct replay_model *const *models;
	struct replay_settings s;
	const struct replay_knob *ek;
	size_t n, nek;
	int c, shown = 0;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'h') {
			usage(stdout);
			return CLI_EXIT_OK;
		}
		fprintf(stderr, "iommusim info: unknown option '%s' (try 'iommusim info --help')\n",
			argv[optind - 1]);
		return CLI_EXIT_USAGE;
	}
	if (argc - optind > 1) {
		fprintf(stderr, "iommusim info: at most one MODEL\n");
		return CLI_EXIT_USAGE;
	}
	models = replay_models(&n);
	if (optind == argc) {
		printf("models:");
		for (size_t i = 0; i < n; i++)
			printf(" %s", models[i]->name);
		printf("\n\nengine and driver keys (any model):\n");
		printf("  %-22s %-12s %-26s %s\n", "KEY", "DEFAULT", "RANGE", "MEANING");
		ek = replay_engine_knobs(&nek);
		replay_settings_default(&s);
		knob_table(ek, nek, &s);
	}
	for (size_t i = 0; i < n; i++) {
		const struct replay_model *m = models[i];
		void *cfg;

		if (optind < argc && strcmp(argv[optind], m->name))
			continue;
		shown++;
		cfg = fault_zalloc(NULL, "cli.info", m->cfg_size);
		if (!cfg)
			return CLI_EXIT_INTERNAL;
		m->cfg_default(cfg);
		printf("\nmodel %s: %s\n  features: %s\n  `--iotlb` sets %s%s%s\n", m->name,
		       m->description, m->features, m->iotlb_key,
		       m->checker_key ? "; the protocol checker is " : "",
		       m->checker_key ? m->checker_key : "");
		printf("  %-22s %-12s %-26s %s\n", "KEY", "DEFAULT", "RANGE", "MEANING");
		knob_table(m->knobs, m->nknobs, cfg);
		fault_free(cfg);
	}
	if (optind < argc && !shown) {
		fprintf(stderr, "iommusim info: unknown model '%s'\n", argv[optind]);
		return CLI_EXIT_USAGE;
	}
	return CLI_EXIT_OK;
}
