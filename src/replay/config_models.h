/* SPDX-License-Identifier: MIT */
/*
 * The models the replay engine knows: one REPLAY_MODEL(symbol) line per
 * vendor, naming the `const struct replay_model` its config_<vendor>.c
 * defines. An X-macro list (no include guard), read by config.c only. The
 * order is the order `iommusim info` and `make demo` use.
 */
REPLAY_MODEL(replay_model_vtd)
