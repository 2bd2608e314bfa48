/* SPDX-License-Identifier: MIT */
/*
 * The iommusim command: one entry per subcommand. Each subcommand parses its
 * own options with getopt_long, prints its own --help, and returns an exit
 * code from the table below (also printed by `iommusim --help`).
 */
#ifndef IOMMUSIM_CLI_H
#define IOMMUSIM_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include <iommusim/replay_trace.h>

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

/*
 * Shared by the commands that read traces (cmd_replay.c). cli_load_trace()
 * reads @path into @t (initialised here; freed on failure), reporting errors
 * and skipped lines on stderr as "iommusim CMD: ...", and returns an exit
 * code; @stats (may be NULL) gets the Linux importer's line counts.
 * cli_parse_format() maps auto|text|binary|linux to @out: 0 or -EINVAL.
 */
int cli_load_trace(const char *cmd, const char *path, enum rt_format fmt, bool skip_bad,
		   struct rt_trace *t, struct rt_linux_stats *stats);
int cli_parse_format(const char *s, enum rt_format *out);

#endif /* IOMMUSIM_CLI_H */
