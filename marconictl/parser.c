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

#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parser.h"

/*
 * The grammar, one table per position.  A table lists its keywords in
 * alphabetical order (the error messages list them in table order),
 * may say with NOTOKEN that the command can stop there, and ends with
 * ENDTOKEN.  Tables are defined before the tables that point at them,
 * so the file reads from the last word of a command to the first.
 */

static const struct token t_end[] = {
	{ NOTOKEN,	"",		NONE,		NULL,		NULL },
	{ ENDTOKEN,	"",		NONE,		NULL,		NULL }
};

/* show routes [peer name] */
static const struct token t_routes_peer[] = {
	{ PEERNAME,	"",		NONE,		t_end,		NULL },
	{ ENDTOKEN,	"",		NONE,		NULL,		NULL }
};

static const struct token t_show_routes[] = {
	{ NOTOKEN,	"",		NONE,		NULL,		NULL },
	{ KEYWORD,	"peer",		NONE,		t_routes_peer,	NULL },
	{ ENDTOKEN,	"",		NONE,		NULL,		NULL }
};

/* show pipes [peer name] [detail]: the filter first, then the form */
static const struct token t_pipes_detail[] = {
	{ NOTOKEN,	"",		NONE,		NULL,		NULL },
	{ KEYWORD,	"detail",	SHOW_PIPES_DETAIL, t_end,	NULL },
	{ ENDTOKEN,	"",		NONE,		NULL,		NULL }
};

static const struct token t_pipes_peer[] = {
	{ PEERNAME,	"",		NONE,		t_pipes_detail,	NULL },
	{ ENDTOKEN,	"",		NONE,		NULL,		NULL }
};

static const struct token t_show_pipes[] = {
	{ NOTOKEN,	"",		NONE,		NULL,		NULL },
	{ KEYWORD,	"detail",	SHOW_PIPES_DETAIL, t_end,	NULL },
	{ KEYWORD,	"peer",		NONE,		t_pipes_peer,	NULL },
	{ ENDTOKEN,	"",		NONE,		NULL,		NULL }
};

static const struct token t_macs_peer[] = {
	{ PEERNAME,	"",		NONE,		t_end,		NULL },
	{ ENDTOKEN,	"",		NONE,		NULL,		NULL }
};

static const struct token t_show_macs[] = {
	{ NOTOKEN,	"",		NONE,		NULL,		NULL },
	{ KEYWORD,	"peer",		NONE,		t_macs_peer,	NULL },
	{ ENDTOKEN,	"",		NONE,		NULL,		NULL }
};

static const struct token t_show[] = {
	{ NOTOKEN,	"",		NONE,		NULL,		NULL },
	{ KEYWORD,	"interfaces",	SHOW_INTERFACES, t_end,		NULL },
	{ KEYWORD,	"macs",		SHOW_MACS,	t_show_macs,	NULL },
	{ KEYWORD,	"metrics",	SHOW_METRICS,	t_end,		NULL },
	{ KEYWORD,	"peers",	SHOW_PEERS,	t_end,		NULL },
	/* the command used most gets the shortest form */
	{ KEYWORD,	"pipes",	SHOW_PIPES,	t_show_pipes,	"p" },
	{ KEYWORD,	"routes",	SHOW_ROUTES,	t_show_routes,	NULL },
	{ KEYWORD,	"summary",	SHOW_SUMMARY,	t_end,		NULL },
	{ KEYWORD,	"version",	SHOW_VERSION,	t_end,		NULL },
	{ ENDTOKEN,	"",		NONE,		NULL,		NULL }
};

/* pipe peer uplink down | up | preference n */
static const struct token t_pipe_pref[] = {
	{ PREFERENCE,	"",		NONE,		t_end,		NULL },
	{ ENDTOKEN,	"",		NONE,		NULL,		NULL }
};

static const struct token t_pipe_op[] = {
	{ KEYWORD,	"down",		PIPE_DOWN,	t_end,		NULL },
	{ KEYWORD,	"preference",	PIPE_PREFERENCE, t_pipe_pref,	NULL },
	{ KEYWORD,	"up",		PIPE_UP,	t_end,		NULL },
	{ ENDTOKEN,	"",		NONE,		NULL,		NULL }
};

static const struct token t_pipe_uplink[] = {
	{ UPLINKNAME,	"",		NONE,		t_pipe_op,	NULL },
	{ ENDTOKEN,	"",		NONE,		NULL,		NULL }
};

static const struct token t_pipe[] = {
	{ PEERNAME,	"",		NONE,		t_pipe_uplink,	NULL },
	{ ENDTOKEN,	"",		NONE,		NULL,		NULL }
};

/* prefer peer uplink */
static const struct token t_prefer_uplink[] = {
	{ UPLINKNAME,	"",		NONE,		t_end,		NULL },
	{ ENDTOKEN,	"",		NONE,		NULL,		NULL }
};

static const struct token t_prefer[] = {
	{ PEERNAME,	"",		NONE,		t_prefer_uplink, NULL },
	{ ENDTOKEN,	"",		NONE,		NULL,		NULL }
};

/* peer name mode failover | duplicate | balance */
static const struct token t_peer_mode[] = {
	{ KEYWORD,	"balance",	SET_MODE_BALANCE, t_end,	NULL },
	{ KEYWORD,	"duplicate",	SET_MODE_DUPLICATE, t_end,	NULL },
	{ KEYWORD,	"failover",	SET_MODE_FAILOVER, t_end,	NULL },
	{ ENDTOKEN,	"",		NONE,		NULL,		NULL }
};

static const struct token t_peer_op[] = {
	{ KEYWORD,	"mode",		NONE,		t_peer_mode,	NULL },
	{ ENDTOKEN,	"",		NONE,		NULL,		NULL }
};

static const struct token t_peer[] = {
	{ PEERNAME,	"",		NONE,		t_peer_op,	NULL },
	{ ENDTOKEN,	"",		NONE,		NULL,		NULL }
};

/* reset peer */
static const struct token t_reset[] = {
	{ PEERNAME,	"",		NONE,		t_end,		NULL },
	{ ENDTOKEN,	"",		NONE,		NULL,		NULL }
};

static const struct token t_log[] = {
	{ KEYWORD,	"brief",	LOG_BRIEF,	t_end,		NULL },
	{ KEYWORD,	"verbose",	LOG_VERBOSE,	t_end,		NULL },
	{ ENDTOKEN,	"",		NONE,		NULL,		NULL }
};

static const struct token t_main[] = {
	{ KEYWORD,	"log",		NONE,		t_log,		NULL },
	{ KEYWORD,	"monitor",	MONITOR,	t_end,		NULL },
	{ KEYWORD,	"peer",		NONE,		t_peer,		NULL },
	{ KEYWORD,	"pipe",		NONE,		t_pipe,		NULL },
	{ KEYWORD,	"prefer",	PREFER,		t_prefer,	NULL },
	/* harmless and used often: r stays reload, never reset */
	{ KEYWORD,	"reload",	RELOAD,		t_end,		"r" },
	{ KEYWORD,	"reset",	RESET,		t_reset,	NULL },
	{ KEYWORD,	"show",		SHOW_SUMMARY,	t_show,		NULL },
	{ ENDTOKEN,	"",		NONE,		NULL,		NULL }
};

static const struct token *match_token(const char *,
		    const struct token *, int, struct parse_result *,
		    char *, size_t);
static const struct token *find_type(const struct token *,
		    enum token_type);
static const struct token *find_value(const struct token *);
static const char *value_name(enum token_type);
static void	 list_keywords(const struct token *, const char *,
		    char *, size_t);
static int	 set_value(const struct token *, const char *,
		    struct parse_result *, char *, size_t);

int
parse(int argc, char *argv[], struct parse_result *res, char *err,
    size_t errlen)
{
	return (parse_table(t_main, argc, argv, res, err, errlen));
}

/*
 * Walks argv through the tables from table.  On success fills res and
 * returns 0; on error writes one line (without the program name) to
 * err and returns -1.
 */
int
parse_table(const struct token *table, int argc, char *argv[],
    struct parse_result *res, char *err, size_t errlen)
{
	const struct token	*t;
	const char		*word;
	int			 i;

	memset(res, 0, sizeof(*res));
	if (errlen > 0)
		err[0] = '\0';

	for (i = 0; table != NULL; i++) {
		word = i < argc ? argv[i] : NULL;
		if ((t = match_token(word, table, i, res, err, errlen)) ==
		    NULL)
			return (-1);
		if (t->type == NOTOKEN)
			break;
		/* the words in full, for messages and "reload: ok" */
		if ((res->command[0] != '\0' && strlcat(res->command, " ",
		    sizeof(res->command)) >= sizeof(res->command)) ||
		    strlcat(res->command, t->type == KEYWORD ? t->keyword :
		    word, sizeof(res->command)) >= sizeof(res->command)) {
			snprintf(err, errlen, "command too long");
			return (-1);
		}
		table = t->next;
	}

	switch (res->action) {
	case NONE:
		/* only a table with NOTOKEN may end a command */
		snprintf(err, errlen, "incomplete command \"%s\"",
		    res->command);
		return (-1);
	case LOG_VERBOSE:
		res->verbose = 1;
		break;
	case LOG_BRIEF:
		res->verbose = 0;
		break;
	case PREFER:
		res->value = 1;
		break;
	case SET_MODE_FAILOVER:
		res->value = CTL_MODE_FAILOVER;
		break;
	case SET_MODE_DUPLICATE:
		res->value = CTL_MODE_DUPLICATE;
		break;
	case SET_MODE_BALANCE:
		res->value = CTL_MODE_BALANCE;
		break;
	default:
		break;
	}
	return (0);
}

static const struct token *
match_token(const char *word, const struct token *table, int pos,
    struct parse_result *res, char *err, size_t errlen)
{
	const struct token	*t, *match = NULL;
	char			 list[PARSE_ERRLEN];
	size_t			 len;
	int			 n = 0;

	if (word == NULL) {
		if ((t = find_type(table, NOTOKEN)) != NULL)
			return (t);
		if ((t = find_value(table)) != NULL) {
			snprintf(err, errlen, "missing %s after \"%s\"",
			    value_name(t->type), res->command);
			return (NULL);
		}
		list_keywords(table, NULL, list, sizeof(list));
		if (pos == 0)
			snprintf(err, errlen, "missing command; valid "
			    "commands: %s", list);
		else
			snprintf(err, errlen, "missing argument after "
			    "\"%s\"; valid arguments: %s", res->command, list);
		return (NULL);
	}

	/* a keyword in full, or the short form it was given, wins */
	for (t = table; t->type != ENDTOKEN && match == NULL; t++) {
		if (t->type != KEYWORD)
			continue;
		if (strcmp(word, t->keyword) == 0 ||
		    (t->abbrev != NULL && strcmp(word, t->abbrev) == 0))
			match = t;
	}

	/* else a prefix of exactly one keyword */
	if (match == NULL && (len = strlen(word)) > 0) {
		for (t = table; t->type != ENDTOKEN; t++) {
			if (t->type == KEYWORD &&
			    strncmp(word, t->keyword, len) == 0) {
				match = t;
				n++;
			}
		}
		if (n > 1) {
			list_keywords(table, word, list, sizeof(list));
			if (pos == 0)
				snprintf(err, errlen, "ambiguous command "
				    "\"%s\"; it could be: %s", word, list);
			else
				snprintf(err, errlen, "ambiguous argument "
				    "\"%s\" after \"%s\"; it could be: %s",
				    word, res->command, list);
			return (NULL);
		}
	}

	if (match != NULL) {
		if (match->value != NONE)
			res->action = match->value;
		return (match);
	}

	/* else a value, where the table takes one */
	if ((t = find_value(table)) != NULL) {
		if (set_value(t, word, res, err, errlen) == -1)
			return (NULL);
		return (t);
	}

	if (find_type(table, KEYWORD) == NULL) {
		snprintf(err, errlen, "unexpected argument \"%s\" after \"%s\"",
		    word, res->command);
		return (NULL);
	}
	list_keywords(table, NULL, list, sizeof(list));
	if (pos == 0)
		snprintf(err, errlen, "unknown command \"%s\"; valid "
		    "commands: %s", word, list);
	else
		snprintf(err, errlen, "unknown argument \"%s\" after \"%s\"; "
		    "valid arguments: %s", word, res->command, list);
	return (NULL);
}

static const struct token *
find_type(const struct token *table, enum token_type type)
{
	const struct token	*t;

	for (t = table; t->type != ENDTOKEN; t++)
		if (t->type == type)
			return (t);
	return (NULL);
}

/* The token of table that takes a value (a name, a number), if any. */
static const struct token *
find_value(const struct token *table)
{
	const struct token	*t;

	for (t = table; t->type != ENDTOKEN; t++)
		if (t->type != NOTOKEN && t->type != KEYWORD)
			return (t);
	return (NULL);
}

static const char *
value_name(enum token_type type)
{
	switch (type) {
	case PEERNAME:
		return ("peer name");
	case UPLINKNAME:
		return ("uplink name");
	case PREFERENCE:
		return ("preference");
	default:
		return ("argument");
	}
}

/* Keywords of table, those starting with prefix if it is not NULL. */
static void
list_keywords(const struct token *table, const char *prefix, char *buf,
    size_t len)
{
	const struct token	*t;

	buf[0] = '\0';
	for (t = table; t->type != ENDTOKEN; t++) {
		if (t->type != KEYWORD)
			continue;
		if (prefix != NULL &&
		    strncmp(prefix, t->keyword, strlen(prefix)) != 0)
			continue;
		if (buf[0] != '\0')
			strlcat(buf, ", ", len);
		strlcat(buf, t->keyword, len);
	}
}

static int
set_value(const struct token *t, const char *word, struct parse_result *res,
    char *err, size_t errlen)
{
	const char	*errstr;
	char		*name;
	size_t		 len;

	switch (t->type) {
	case PEERNAME:
	case UPLINKNAME:
		name = t->type == PEERNAME ? res->peer : res->uplink;
		len = t->type == PEERNAME ? sizeof(res->peer) :
		    sizeof(res->uplink);
		if (word[0] == '\0') {
			snprintf(err, errlen, "empty %s after \"%s\"",
			    value_name(t->type), res->command);
			return (-1);
		}
		if (strlcpy(name, word, len) >= len) {
			snprintf(err, errlen, "%s too long (at most %zu "
			    "characters): \"%s\"", value_name(t->type),
			    len - 1, word);
			return (-1);
		}
		break;
	case PREFERENCE:
		res->value = strtonum(word, 0, PREFERENCE_MAX, &errstr);
		if (errstr != NULL) {
			snprintf(err, errlen, "%s \"%s\" is %s (valid: 0 to "
			    "%d)", value_name(t->type), word, errstr,
			    PREFERENCE_MAX);
			return (-1);
		}
		break;
	default:
		snprintf(err, errlen, "%s: no value for token type %d",
		    __func__, t->type);
		return (-1);
	}
	return (0);
}
