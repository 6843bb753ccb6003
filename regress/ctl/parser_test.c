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
	CHECK_OK("show routes", SHOW_ROUTES);
	ATF_CHECK_STREQ(res.peer, "");
	CHECK_OK("show routes peer site-b", SHOW_ROUTES);
	ATF_CHECK_STREQ(res.peer, "site-b");
	CHECK_OK("s r", SHOW_ROUTES);
	ATF_CHECK_STREQ(res.command, "show routes");
	CHECK_OK("show macs", SHOW_MACS);
	ATF_CHECK_STREQ(res.peer, "");
	CHECK_OK("show macs peer site-b", SHOW_MACS);
	ATF_CHECK_STREQ(res.peer, "site-b");
	ATF_CHECK_STREQ(res.command, "show macs peer site-b");
	CHECK_OK("show version", SHOW_VERSION);
	ATF_CHECK_STREQ(res.command, "show version");
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
	CHECK_OK("s ma", SHOW_MACS);
	ATF_CHECK_STREQ(res.command, "show macs");
	CHECK_OK("s su", SHOW_SUMMARY);
	CHECK_OK("s v", SHOW_VERSION);
	ATF_CHECK_STREQ(res.command, "show version");
	CHECK_OK("show metrics", SHOW_METRICS);
	ATF_CHECK_STREQ(res.command, "show metrics");
	CHECK_OK("s me", SHOW_METRICS);
	ATF_CHECK_STREQ(res.command, "show metrics");
	CHECK_ERR("s m", "ambiguous argument \"m\" after \"show\"; "
	    "it could be: macs, metrics");
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
 * A grammar of its own, with a keyword that is a prefix of another
 * (pipe, pipes), which the real one does not have.
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
	    "unknown command \"foo\"; valid commands: log, monitor, "
	    "peer, pipe, prefer, reload, reset, show");
	CHECK_ERR("shows",
	    "unknown command \"shows\"; valid commands: log, monitor, "
	    "peer, pipe, prefer, reload, reset, show");
	CHECK_ERR("show foo", "unknown argument \"foo\" after \"show\"; "
	    "valid arguments: interfaces, macs, metrics, peers, pipes, routes, "
	    "summary, version");
	CHECK_ERR("s x", "unknown argument \"x\" after \"show\"; "
	    "valid arguments: interfaces, macs, metrics, peers, pipes, routes, "
	    "summary, version");
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
	CHECK_ERR("", "missing command; valid commands: log, monitor, "
	    "peer, pipe, prefer, reload, reset, show");
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

ATF_TC(control_full_words);
ATF_TC_HEAD(control_full_words, tc)
{
	atf_tc_set_md_var(tc, "descr", "The commands that change the "
	    "daemon at run time, and monitor, spelled out");
}
ATF_TC_BODY(control_full_words, tc)
{
	CHECK_OK("prefer site-b isp1", PREFER);
	ATF_CHECK_STREQ(res.peer, "site-b");
	ATF_CHECK_STREQ(res.uplink, "isp1");
	ATF_CHECK_EQ(res.value, 1);
	ATF_CHECK_STREQ(res.command, "prefer site-b isp1");

	CHECK_OK("pipe site-b isp1 down", PIPE_DOWN);
	ATF_CHECK_STREQ(res.peer, "site-b");
	ATF_CHECK_STREQ(res.uplink, "isp1");
	ATF_CHECK_EQ(res.value, 0);
	ATF_CHECK_STREQ(res.command, "pipe site-b isp1 down");
	CHECK_OK("pipe site-b isp1 up", PIPE_UP);
	ATF_CHECK_STREQ(res.uplink, "isp1");
	CHECK_OK("pipe site-b isp2 preference 5", PIPE_PREFERENCE);
	ATF_CHECK_STREQ(res.peer, "site-b");
	ATF_CHECK_STREQ(res.uplink, "isp2");
	ATF_CHECK_EQ(res.value, 5);
	ATF_CHECK_STREQ(res.command, "pipe site-b isp2 preference 5");
	CHECK_OK("pipe site-b isp2 preference 0", PIPE_PREFERENCE);
	ATF_CHECK_EQ(res.value, 0);
	CHECK_OK("pipe site-b isp2 preference 65535", PIPE_PREFERENCE);
	ATF_CHECK_EQ(res.value, 65535);

	CHECK_OK("peer site-b mode failover", SET_MODE_FAILOVER);
	ATF_CHECK_STREQ(res.peer, "site-b");
	ATF_CHECK_EQ(res.value, CTL_MODE_FAILOVER);
	ATF_CHECK_STREQ(res.command, "peer site-b mode failover");
	CHECK_OK("peer site-b mode duplicate", SET_MODE_DUPLICATE);
	ATF_CHECK_EQ(res.value, CTL_MODE_DUPLICATE);
	CHECK_OK("peer site-b mode balance", SET_MODE_BALANCE);
	ATF_CHECK_EQ(res.value, CTL_MODE_BALANCE);

	CHECK_OK("reset site-b", RESET);
	ATF_CHECK_STREQ(res.peer, "site-b");
	ATF_CHECK_STREQ(res.uplink, "");
	ATF_CHECK_STREQ(res.command, "reset site-b");
	CHECK_OK("monitor", MONITOR);
	ATF_CHECK_STREQ(res.peer, "");
	ATF_CHECK_STREQ(res.command, "monitor");
}

ATF_TC(control_prefixes);
ATF_TC_HEAD(control_prefixes, tc)
{
	atf_tc_set_md_var(tc, "descr", "Prefixes of the new commands; r "
	    "stays reload and s p stays show pipes");
}
ATF_TC_BODY(control_prefixes, tc)
{
	CHECK_OK("pr site-b isp1", PREFER);
	ATF_CHECK_STREQ(res.command, "prefer site-b isp1");
	ATF_CHECK_EQ(res.value, 1);
	CHECK_OK("pi site-b isp1 d", PIPE_DOWN);
	ATF_CHECK_STREQ(res.command, "pipe site-b isp1 down");
	CHECK_OK("pip site-b isp1 u", PIPE_UP);
	ATF_CHECK_STREQ(res.command, "pipe site-b isp1 up");
	CHECK_OK("pi site-b isp1 p 20", PIPE_PREFERENCE);
	ATF_CHECK_STREQ(res.command, "pipe site-b isp1 preference 20");
	ATF_CHECK_EQ(res.value, 20);
	CHECK_OK("pe site-b m d", SET_MODE_DUPLICATE);
	ATF_CHECK_STREQ(res.command, "peer site-b mode duplicate");
	ATF_CHECK_EQ(res.value, CTL_MODE_DUPLICATE);
	CHECK_OK("pe site-b mo b", SET_MODE_BALANCE);
	CHECK_OK("pee site-b m f", SET_MODE_FAILOVER);
	ATF_CHECK_EQ(res.value, CTL_MODE_FAILOVER);
	CHECK_OK("res site-b", RESET);
	ATF_CHECK_STREQ(res.command, "reset site-b");
	CHECK_OK("m", MONITOR);
	ATF_CHECK_STREQ(res.command, "monitor");
	CHECK_OK("mon", MONITOR);

	/* the short forms in use before these commands keep working */
	CHECK_OK("r", RELOAD);
	CHECK_OK("rel", RELOAD);
	CHECK_OK("s p", SHOW_PIPES);
	CHECK_OK("s pe", SHOW_PEERS);

	/* names are never expanded nor taken for keywords */
	CHECK_OK("pipe d u d", PIPE_DOWN);
	ATF_CHECK_STREQ(res.peer, "d");
	ATF_CHECK_STREQ(res.uplink, "u");
	CHECK_OK("prefer mode down", PREFER);
	ATF_CHECK_STREQ(res.peer, "mode");
	ATF_CHECK_STREQ(res.uplink, "down");
	CHECK_OK("peer mode mode f", SET_MODE_FAILOVER);
	ATF_CHECK_STREQ(res.peer, "mode");
}

ATF_TC(control_ambiguous);
ATF_TC_HEAD(control_ambiguous, tc)
{
	atf_tc_set_md_var(tc, "descr", "Prefixes the new commands made "
	    "ambiguous");
}
ATF_TC_BODY(control_ambiguous, tc)
{
	CHECK_ERR("p site-b isp1", "ambiguous command \"p\"; it could be: "
	    "peer, pipe, prefer");
	CHECK_ERR("re site-b", "ambiguous command \"re\"; it could be: "
	    "reload, reset");
}

ATF_TC(control_missing);
ATF_TC_HEAD(control_missing, tc)
{
	atf_tc_set_md_var(tc, "descr", "The new commands cut short");
}
ATF_TC_BODY(control_missing, tc)
{
	CHECK_ERR("prefer", "missing peer name after \"prefer\"");
	CHECK_ERR("prefer site-b",
	    "missing uplink name after \"prefer site-b\"");
	CHECK_ERR("pipe", "missing peer name after \"pipe\"");
	CHECK_ERR("pipe site-b", "missing uplink name after \"pipe site-b\"");
	CHECK_ERR("pipe site-b isp1", "missing argument after "
	    "\"pipe site-b isp1\"; valid arguments: down, preference, up");
	CHECK_ERR("pi site-b isp1 p", "missing preference after "
	    "\"pipe site-b isp1 preference\"");
	CHECK_ERR("peer", "missing peer name after \"peer\"");
	CHECK_ERR("peer site-b", "missing argument after \"peer site-b\"; "
	    "valid arguments: mode");
	CHECK_ERR("peer site-b mode", "missing argument after "
	    "\"peer site-b mode\"; valid arguments: balance, duplicate, "
	    "failover");
	CHECK_ERR("reset", "missing peer name after \"reset\"");
}

ATF_TC(control_invalid);
ATF_TC_HEAD(control_invalid, tc)
{
	atf_tc_set_md_var(tc, "descr", "Preferences out of range or not "
	    "numbers, unknown modes and operations, long uplink names");
}
ATF_TC_BODY(control_invalid, tc)
{
	char	 name[MARCONID_NAMELEN + 1], line[128];

	CHECK_ERR("pipe site-b isp1 preference 70000", "preference \"70000\" "
	    "is too large (valid: 0 to 65535)");
	CHECK_ERR("pipe site-b isp1 preference 65536", "preference \"65536\" "
	    "is too large (valid: 0 to 65535)");
	CHECK_ERR("pipe site-b isp1 preference -1", "preference \"-1\" "
	    "is too small (valid: 0 to 65535)");
	CHECK_ERR("pipe site-b isp1 preference ten", "preference \"ten\" "
	    "is invalid (valid: 0 to 65535)");
	CHECK_ERR("pipe site-b isp1 preference 10ms", "preference \"10ms\" "
	    "is invalid (valid: 0 to 65535)");
	CHECK_ERR("peer site-b mode foo", "unknown argument \"foo\" after "
	    "\"peer site-b mode\"; valid arguments: balance, duplicate, "
	    "failover");
	CHECK_ERR("peer site-b speed fast", "unknown argument \"speed\" "
	    "after \"peer site-b\"; valid arguments: mode");
	CHECK_ERR("pipe site-b isp1 sideways", "unknown argument "
	    "\"sideways\" after \"pipe site-b isp1\"; valid arguments: "
	    "down, preference, up");

	memset(name, 'u', sizeof(name));
	name[MARCONID_NAMELEN - 1] = '\0';
	snprintf(line, sizeof(line), "prefer site-b %s", name);
	CHECK_OK(line, PREFER);
	ATF_CHECK_STREQ(res.uplink, name);
	name[MARCONID_NAMELEN - 1] = 'u';
	name[MARCONID_NAMELEN] = '\0';
	snprintf(line, sizeof(line), "pipe site-b %s down", name);
	ATF_CHECK_EQ(run(line), -1);
	ATF_CHECK_MSG(strstr(errbuf, "uplink name too long") != NULL, "%s",
	    errbuf);
}

ATF_TC(control_extra);
ATF_TC_HEAD(control_extra, tc)
{
	atf_tc_set_md_var(tc, "descr", "Words after a complete new command "
	    "are an error");
}
ATF_TC_BODY(control_extra, tc)
{
	CHECK_ERR("prefer site-b isp1 now", "unexpected argument \"now\" "
	    "after \"prefer site-b isp1\"");
	CHECK_ERR("pipe site-b isp1 down now", "unexpected argument \"now\" "
	    "after \"pipe site-b isp1 down\"");
	CHECK_ERR("pipe site-b isp1 preference 10 20", "unexpected argument "
	    "\"20\" after \"pipe site-b isp1 preference 10\"");
	CHECK_ERR("peer site-b mode balance now", "unexpected argument "
	    "\"now\" after \"peer site-b mode balance\"");
	CHECK_ERR("reset site-b isp1", "unexpected argument \"isp1\" after "
	    "\"reset site-b\"");
	CHECK_ERR("monitor site-b", "unexpected argument \"site-b\" after "
	    "\"monitor\"");
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
	ATF_TP_ADD_TC(tp, control_full_words);
	ATF_TP_ADD_TC(tp, control_prefixes);
	ATF_TP_ADD_TC(tp, control_ambiguous);
	ATF_TP_ADD_TC(tp, control_missing);
	ATF_TP_ADD_TC(tp, control_invalid);
	ATF_TP_ADD_TC(tp, control_extra);
	return (atf_no_error());
}
