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

#include <atf-c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parser.h"

#define MAXWORDS	16

static struct parse_result	 res;
static char			 errbuf[PARSE_ERRLEN];

/* Parses line, split at spaces, with table (the real grammar if NULL). */
static int
run_table(const struct token *table, const char *line)
{
	char	*copy, *p, *w, *argv[MAXWORDS];
	int	 argc = 0, rv;

	if ((copy = strdup(line)) == NULL)
		atf_tc_fail("strdup");
	p = copy;
	while ((w = strsep(&p, " ")) != NULL && argc < MAXWORDS)
		if (*w != '\0')
			argv[argc++] = w;

	if (table == NULL)
		rv = parse(argc, argv, &res, errbuf, sizeof(errbuf));
	else
		rv = parse_table(table, argc, argv, &res, errbuf,
		    sizeof(errbuf));
	free(copy);
	return (rv);
}

static int
run(const char *line)
{
	return (run_table(NULL, line));
}

#define CHECK_OK(line, act) do {					\
	ATF_CHECK_MSG(run(line) == 0, "\"%s\": %s", line, errbuf);	\
	ATF_CHECK_EQ_MSG(res.action, act, "\"%s\": action %d", line,	\
	    res.action);						\
} while (0)

#define CHECK_ERR(line, msg) do {					\
	ATF_CHECK_MSG(run(line) == -1, "\"%s\" was accepted", line);	\
	ATF_CHECK_STREQ_MSG(errbuf, msg, "\"%s\": %s", line, errbuf);	\
} while (0)

ATF_TC(full_words);
ATF_TC_HEAD(full_words, tc)
{
	atf_tc_set_md_var(tc, "descr", "Every command spelled out");
}
ATF_TC_BODY(full_words, tc)
{
	CHECK_OK("show", SHOW_SUMMARY);
	ATF_CHECK_STREQ(res.command, "show");
	CHECK_OK("show summary", SHOW_SUMMARY);
	CHECK_OK("show interfaces", SHOW_INTERFACES);
	CHECK_OK("show pipes", SHOW_PIPES);
	ATF_CHECK_STREQ(res.peer, "");
	CHECK_OK("show pipes peer site-b", SHOW_PIPES);
	ATF_CHECK_STREQ(res.peer, "site-b");
	ATF_CHECK_STREQ(res.command, "show pipes peer site-b");
	CHECK_OK("show pipes detail", SHOW_PIPES_DETAIL);
	ATF_CHECK_STREQ(res.peer, "");
	ATF_CHECK_STREQ(res.command, "show pipes detail");
	CHECK_OK("show pipes peer site-b detail", SHOW_PIPES_DETAIL);
	ATF_CHECK_STREQ(res.peer, "site-b");
	ATF_CHECK_STREQ(res.command, "show pipes peer site-b detail");
	CHECK_OK("show peers", SHOW_PEERS);
	CHECK_OK("reload", RELOAD);
	ATF_CHECK_STREQ(res.command, "reload");
	CHECK_OK("log verbose", LOG_VERBOSE);
	ATF_CHECK_EQ(res.verbose, 1);
	CHECK_OK("log brief", LOG_BRIEF);
	ATF_CHECK_EQ(res.verbose, 0);
}

ATF_TC(prefixes);
ATF_TC_HEAD(prefixes, tc)
{
	atf_tc_set_md_var(tc, "descr", "Unambiguous prefixes, the short "
	    "form p for pipes, and the full words they stand for");
}
ATF_TC_BODY(prefixes, tc)
{
	CHECK_OK("s", SHOW_SUMMARY);
	CHECK_OK("s p", SHOW_PIPES);
	ATF_CHECK_STREQ(res.command, "show pipes");
	CHECK_OK("sh pi", SHOW_PIPES);
	CHECK_OK("sho pipe", SHOW_PIPES);
	CHECK_OK("s pe", SHOW_PEERS);
	ATF_CHECK_STREQ(res.command, "show peers");
	CHECK_OK("s i", SHOW_INTERFACES);
	CHECK_OK("s su", SHOW_SUMMARY);
	CHECK_OK("s p p site-b", SHOW_PIPES);
	ATF_CHECK_STREQ(res.peer, "site-b");
	ATF_CHECK_STREQ(res.command, "show pipes peer site-b");
	CHECK_OK("r", RELOAD);
	ATF_CHECK_STREQ(res.command, "reload");
	CHECK_OK("l v", LOG_VERBOSE);
	ATF_CHECK_STREQ(res.command, "log verbose");
	CHECK_OK("lo b", LOG_BRIEF);
	CHECK_OK("s p d", SHOW_PIPES_DETAIL);
	ATF_CHECK_STREQ(res.command, "show pipes detail");
	CHECK_OK("s p det", SHOW_PIPES_DETAIL);
	CHECK_OK("s p p site-b d", SHOW_PIPES_DETAIL);
	ATF_CHECK_STREQ(res.peer, "site-b");
	ATF_CHECK_STREQ(res.command, "show pipes peer site-b detail");
	/* a value is taken as it is, never expanded */
	CHECK_OK("s p peer s", SHOW_PIPES);
	ATF_CHECK_STREQ(res.peer, "s");
	/* nor taken for a keyword: a peer may be called detail */
	CHECK_OK("s p p detail", SHOW_PIPES);
	ATF_CHECK_STREQ(res.peer, "detail");
	CHECK_OK("s p p d d", SHOW_PIPES_DETAIL);
	ATF_CHECK_STREQ(res.peer, "d");
}

/*
 * A grammar with the words the next commands will add at the top:
 * the real one has no ambiguous prefix yet.
 */
static const struct token t_test_end[] = {
	{ NOTOKEN,	"",		NONE,		NULL,		NULL },
	{ ENDTOKEN,	"",		NONE,		NULL,		NULL }
};
static const struct token t_test_show[] = {
	{ KEYWORD,	"peers",	SHOW_PEERS,	t_test_end,	NULL },
	{ KEYWORD,	"pipes",	SHOW_PIPES,	t_test_end,	NULL },
	{ ENDTOKEN,	"",		NONE,		NULL,		NULL }
};
static const struct token t_test_main[] = {
	{ KEYWORD,	"monitor",	RELOAD,		t_test_end,	NULL },
	{ KEYWORD,	"pipe",		LOG_BRIEF,	t_test_end,	NULL },
	{ KEYWORD,	"pipes",	SHOW_PIPES,	t_test_end,	NULL },
	{ KEYWORD,	"prefer",	LOG_VERBOSE,	t_test_end,	NULL },
	{ KEYWORD,	"show",		NONE,		t_test_show,	NULL },
	{ ENDTOKEN,	"",		NONE,		NULL,		NULL }
};

ATF_TC(ambiguous);
ATF_TC_HEAD(ambiguous, tc)
{
	atf_tc_set_md_var(tc, "descr", "A prefix of several keywords is an "
	    "error that lists them; a keyword in full wins over longer ones");
}
ATF_TC_BODY(ambiguous, tc)
{
	ATF_CHECK_EQ(run_table(t_test_main, "p"), -1);
	ATF_CHECK_STREQ(errbuf,
	    "ambiguous command \"p\"; it could be: pipe, pipes, prefer");
	ATF_CHECK_EQ(run_table(t_test_main, "pi"), -1);
	ATF_CHECK_STREQ(errbuf,
	    "ambiguous command \"pi\"; it could be: pipe, pipes");
	ATF_CHECK_EQ(run_table(t_test_main, "show p"), -1);
	ATF_CHECK_STREQ(errbuf, "ambiguous argument \"p\" after \"show\"; "
	    "it could be: peers, pipes");

	ATF_CHECK_EQ(run_table(t_test_main, "pipe"), 0);
	ATF_CHECK_EQ(res.action, LOG_BRIEF);
	ATF_CHECK_EQ(run_table(t_test_main, "pipes"), 0);
	ATF_CHECK_EQ(res.action, SHOW_PIPES);
	ATF_CHECK_EQ(run_table(t_test_main, "pr"), 0);
	ATF_CHECK_EQ(res.action, LOG_VERBOSE);
	ATF_CHECK_EQ(run_table(t_test_main, "m"), 0);
	ATF_CHECK_EQ(res.action, RELOAD);
	ATF_CHECK_EQ(run_table(t_test_main, "s pi"), 0);
	ATF_CHECK_EQ(res.action, SHOW_PIPES);
}

ATF_TC(unknown_word);
ATF_TC_HEAD(unknown_word, tc)
{
	atf_tc_set_md_var(tc, "descr", "An unknown word is an error that "
	    "lists the valid words at that point");
}
ATF_TC_BODY(unknown_word, tc)
{
	CHECK_ERR("foo",
	    "unknown command \"foo\"; valid commands: log, reload, show");
	CHECK_ERR("shows",
	    "unknown command \"shows\"; valid commands: log, reload, show");
	CHECK_ERR("show foo", "unknown argument \"foo\" after \"show\"; "
	    "valid arguments: interfaces, peers, pipes, summary");
	CHECK_ERR("s x", "unknown argument \"x\" after \"show\"; "
	    "valid arguments: interfaces, peers, pipes, summary");
	CHECK_ERR("log loud", "unknown argument \"loud\" after \"log\"; "
	    "valid arguments: brief, verbose");
	CHECK_ERR("show pipes site-b", "unknown argument \"site-b\" after "
	    "\"show pipes\"; valid arguments: detail, peer");
	CHECK_ERR("show pipes peer site-b x", "unknown argument \"x\" "
	    "after \"show pipes peer site-b\"; valid arguments: detail");
	CHECK_ERR("s p dx", "unknown argument \"dx\" after \"show pipes\"; "
	    "valid arguments: detail, peer");
}

ATF_TC(missing_argument);
ATF_TC_HEAD(missing_argument, tc)
{
	atf_tc_set_md_var(tc, "descr", "A command cut short says what "
	    "is missing");
}
ATF_TC_BODY(missing_argument, tc)
{
	CHECK_ERR("", "missing command; valid commands: log, reload, show");
	CHECK_ERR("log", "missing argument after \"log\"; "
	    "valid arguments: brief, verbose");
	CHECK_ERR("show pipes peer",
	    "missing peer name after \"show pipes peer\"");
	CHECK_ERR("s p p", "missing peer name after \"show pipes peer\"");
}

ATF_TC(extra_arguments);
ATF_TC_HEAD(extra_arguments, tc)
{
	atf_tc_set_md_var(tc, "descr", "Words after a complete command are "
	    "an error");
}
ATF_TC_BODY(extra_arguments, tc)
{
	CHECK_ERR("reload now", "unexpected argument \"now\" after "
	    "\"reload\"");
	CHECK_ERR("show peers all", "unexpected argument \"all\" after "
	    "\"show peers\"");
	CHECK_ERR("log verbose 2", "unexpected argument \"2\" after "
	    "\"log verbose\"");
	CHECK_ERR("show pipes peer a detail b", "unexpected argument \"b\" "
	    "after \"show pipes peer a detail\"");
	/* the filter comes before the form, as in the synopsis */
	CHECK_ERR("show pipes detail peer a", "unexpected argument \"peer\" "
	    "after \"show pipes detail\"");
}

ATF_TC(peer_name);
ATF_TC_HEAD(peer_name, tc)
{
	atf_tc_set_md_var(tc, "descr", "Peer names must fit the protocol");
}
ATF_TC_BODY(peer_name, tc)
{
	char	 name[MARCONID_NAMELEN + 1], line[128];
	char	 w0[] = "show", w1[] = "pipes", w2[] = "peer", w3[] = "";
	char	*argv[] = { w0, w1, w2, w3 };

	memset(name, 'a', sizeof(name));
	name[MARCONID_NAMELEN - 1] = '\0';
	snprintf(line, sizeof(line), "show pipes peer %s", name);
	CHECK_OK(line, SHOW_PIPES);
	ATF_CHECK_STREQ(res.peer, name);

	name[MARCONID_NAMELEN - 1] = 'a';
	name[MARCONID_NAMELEN] = '\0';
	snprintf(line, sizeof(line), "show pipes peer %s", name);
	ATF_CHECK_EQ(run(line), -1);
	ATF_CHECK_MSG(strstr(errbuf, "peer name too long") != NULL, "%s",
	    errbuf);

	ATF_CHECK_EQ(parse(4, argv, &res, errbuf, sizeof(errbuf)), -1);
	ATF_CHECK_STREQ(errbuf, "empty peer name after \"show pipes peer\"");
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, full_words);
	ATF_TP_ADD_TC(tp, prefixes);
	ATF_TP_ADD_TC(tp, ambiguous);
	ATF_TP_ADD_TC(tp, unknown_word);
	ATF_TP_ADD_TC(tp, missing_argument);
	ATF_TP_ADD_TC(tp, extra_arguments);
	ATF_TP_ADD_TC(tp, peer_name);
	return (atf_no_error());
}
