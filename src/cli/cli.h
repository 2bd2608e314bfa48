/* SPDX-License-Identifier: MIT */
/*
 * The iommusim command: one entry per subcommand. Each subcommand parses its
 * own options with getopt_long, prints its own --help, and returns an exit
 * code from the table below (also printed by `iommusim --help`).
 */
#ifndef IOMMUSIM_CLI_H
#define IOMMUSIM_CLI_H

#include <stdio.h>

enum cli_exit {
	CLI_EXIT_OK = 0,
	CLI_EXIT_FAILURE = 1, /* the job ran and found a failure */
	CLI_EXIT_USAGE = 2, /* bad command line */
	CLI_EXIT_INPUT = 3, /* bad input file or configuration */
	CLI_EXIT_INTERNAL = 4 /* the simulator itself failed (out of memory, ...) */
};

struct cli_command {
	const char *name;
	const char *summary;
	int (*run)(int argc, char **argv);
};

int cli_demo(int argc, char **argv);
int cli_gen(int argc, char **argv);
int cli_convert(int argc, char **argv);
int cli_replay(int argc, char **argv);
int cli_info(int argc, char **argv);
int cli_merge(int argc, char **argv);
int cli_shrink(int argc, char **argv);

#endif /* IOMMUSIM_CLI_H */
