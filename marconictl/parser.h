/*
 * Copyright (c) 2026 The marconid developers
 *
 * Permission to use, copy, modify, and distribute this software for any
 * purpose with or without fee is hereby granted, provided that the above
 * copyright notice and this permission notice appear in all copies.
 *
 * THE SOFTWARE IS PROVIDED "AS IS" AND THE AUTHOR DISCLAIMS ALL WARRANTIES
 * WITH REGARD TO THIS SOFTWARE INCLUDING ALL IMPLIED WARRANTIES OF
 * MERCHANTABILITY AND FITNESS. IN NO EVENT SHALL THE AUTHOR BE LIABLE FOR
 * ANY SPECIAL, DIRECT, INDIRECT, OR CONSEQUENTIAL DAMAGES OR ANY DAMAGES
 * WHATSOEVER RESULTING FROM LOSS OF USE, DATA OR PROFITS, WHETHER IN AN
 * ACTION OF CONTRACT, NEGLIGENCE OR OTHER TORTIOUS ACTION, ARISING OUT OF
 * OR IN CONNECTION WITH THE USE OR PERFORMANCE OF THIS SOFTWARE.
 */

#ifndef PARSER_H
#define PARSER_H

#include <stddef.h>
#include <stdint.h>

#include "ctl.h"

/* what the command line asks for; each maps to one request */
enum actions {
	NONE,
	SHOW_SUMMARY,
	SHOW_INTERFACES,
	SHOW_PIPES,
	SHOW_PIPES_DETAIL,	/* same request, one block per pipe */
	SHOW_PEERS,
	SHOW_ROUTES,
	SHOW_MACS,
	SHOW_VERSION,		/* the summary request, its release only */
	SHOW_METRICS,		/* the four show requests, as OpenMetrics */
	RELOAD,
	LOG_VERBOSE,
	LOG_BRIEF,
	PREFER,
	PIPE_DOWN,
	PIPE_UP,
	PIPE_PREFERENCE,
	SET_MODE_FAILOVER,	/* one action per mode, as for log */
	SET_MODE_DUPLICATE,
	SET_MODE_BALANCE,
	RESET,
	MONITOR,
};

enum token_type {
	ENDTOKEN,		/* closes every table */
	NOTOKEN,		/* the command may stop here */
	KEYWORD,
	PEERNAME,
	UPLINKNAME,
	PREFERENCE,		/* a number, 0 to PREFERENCE_MAX */
};

#define PREFERENCE_MAX		65535

/*
 * One word of the grammar.  A KEYWORD matches any prefix of itself,
 * as long as the prefix matches no other keyword of the same table;
 * abbrev, if set, is a short form that wins over that ambiguity
 * ("show p" is "show pipes" although "peers" starts with p too).
 * value, if not NONE, becomes the action; next is the table of what
 * may follow.
 */
struct token {
	enum token_type		 type;
	const char		*keyword;
	int			 value;
	const struct token	*next;
	const char		*abbrev;
};

struct parse_result {
	enum actions		 action;
	uint32_t		 verbose;	/* LOG_VERBOSE, LOG_BRIEF */
	int32_t			 value;		/* as in struct ctl_request */
	char			 peer[MARCONID_NAMELEN];
	char			 uplink[MARCONID_NAMELEN];
	char			 command[128];	/* keywords in full */
};

#define PARSE_ERRLEN		256

int	parse(int, char *[], struct parse_result *, char *, size_t);
int	parse_table(const struct token *, int, char *[],
	    struct parse_result *, char *, size_t);

#endif /* PARSER_H */
