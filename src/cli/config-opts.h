/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Options that shape a VE's config: shared by run, create and set. */
#ifndef VERT_CLI_CONFIG_OPTS_H
#define VERT_CLI_CONFIG_OPTS_H

#include <getopt.h>

#include "vert/ve.h"

#define CLI_CFG_SHORTOPTS "e:v:w:u:p:"

/* Fills opts (room for n_base + CLI_CFG_OPTIONS_MAX) with a command's own
 * options, then the shared ones, and terminates the array.  getopt_long
 * returns '?' for an unknown option, which cli_cfg_parse says is not one
 * of its own (0). */
void cli_cfg_options(struct option *opts, const struct option *base, size_t n_base);
#define CLI_CFG_OPTIONS_MAX 40

/* 1: handled (cfg and *fields updated), 0: not one of ours, <0: error. */
int cli_cfg_parse(int opt, const char *arg, struct ve_config *cfg, unsigned *fields,
		  vert_error_t *err);

extern const char *cli_cfg_help;

#endif
