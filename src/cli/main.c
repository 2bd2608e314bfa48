/* SPDX-License-Identifier: MIT */
/*
 * iommusim: the command-line front end. It only dispatches to subcommands;
 * everything it shows comes from the library.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const struct cli_command commands[] = {
	{ "demo", "a short end-to-end demonstration of the simulated stack", cli_demo },
	{ "gen", "generate a workload trace (NIC, NVMe, GPU, mix)", cli_gen },
	{ "convert", "convert traces: text, binary, Linux ftrace text", cli_convert },
	{ "replay", "replay a trace on an IOMMU model: one run, or a sweep", cli_replay },
	{ "info", "list the models, their features and configuration keys", cli_info },
	{ "merge", "join the JSON rows of emitted sweep jobs", cli_merge },
	{ "shrink", "reduce a trace to a minimal one still showing a condition", cli_shrink },
};

static void usage(FILE *out)
{
	fprintf(out, "usage: iommusim <command> [options]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(out, "\n`iommusim <command> --help` describes a command's options.\n"
		     "\nexit codes:\n"
		     "  0  success\n"
		     "  1  the job ran and found a failure\n"
		     "  2  bad command line\n"
		     "  3  bad input file or configuration\n"
		     "  4  the simulator itself failed\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return CLI_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return CLI_EXIT_OK;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("iommusim 0.1.0\n");
		return CLI_EXIT_OK;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "iommusim: unknown command '%s' (try 'iommusim --help')\n", argv[1]);
	return CLI_EXIT_USAGE;
}
