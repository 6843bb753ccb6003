%{
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
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <netinet/in.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <netdb.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "marconid.h"

/* sane limits: each uplink is a process, each pipe a session */
#define MAX_UPLINKS		16
#define MAX_PEERS		64
#define MAC_TIMEOUT_MIN		1000	/* ms */
#define MAC_MAX_MIN		16
#define MAC_MAX_MAX		65536	/* 3 MB of table in the engine */
#define MAX_PIPES		MAX_UPLINKS	/* per peer */
#define MAX_IFACE_ADDRS		8	/* must fit ctl_iface.addrs */
#define MAX_PEER_NETWORKS	32	/* KROUTE_MAX / MAX_PEERS */
#define MAX_INCLUDE_DEPTH	16	/* an include loop ends here */
#define MAX_ERRBUF		(16 * 1024)

/* probe limits, in milliseconds */
#define INTERVAL_MIN		10
#define INTERVAL_MAX		10000
#define TIMEOUT_MAX		60000
#define HOLDDOWN_MIN		10
#define HOLDDOWN_MAX		3600000
#define REKEY_MIN		1000
#define REKEY_MAX		86400000
#define REKEY_PACKETS_MIN	1000
#define RESOLVE_MIN		1000
#define RESOLVE_MAX		86400000
#define TIME_MAX		86400000	/* longer is a typo */
#define PREFERENCE_MAX		65535

static TAILQ_HEAD(files, file)	 files = TAILQ_HEAD_INITIALIZER(files);
static struct file {
	TAILQ_ENTRY(file)	 entry;
	FILE			*stream;
	char			*name;
	int			 lineno;
	int			 eof;	/* its last newline was sent */
	dev_t			 dev;
	ino_t			 ino;
} *file, *topfile;

static struct file	*pushfile(const char *, int);
static int		 popfile(void);
static int		 include_loop(const char *);
static int		 check_file_secrecy(int, const char *);
int			 yyparse(void);
static int		 yylex(void);
int			 yyerror(const char *, ...)
			    __attribute__((__format__ (printf, 1, 2)));
static void		 yyerror_at(int, const char *, ...)
			    __attribute__((__format__ (printf, 2, 3)));
static void		 error_in(const char *, const char *, ...)
			    __attribute__((__format__ (printf, 2, 3)));
static int		 kw_cmp(const void *, const void *);
static int		 lookup(const char *);
static int		 igetc(void);
static int		 lgetc(int);
static int		 lungetc(int);
static int		 findeol(void);

static TAILQ_HEAD(symhead, sym)	 symhead =
				    TAILQ_HEAD_INITIALIZER(symhead);
struct sym {
	TAILQ_ENTRY(sym)	 entry;
	int			 used;
	int			 persist;
	char			*nam;
	char			*val;
};
static int		 symset(const char *, const char *, int);
static char		*symget(const char *);

/*
 * Where each object was written, for the checks that can only be made
 * once the whole file is read (a pipe may name an uplink defined after
 * its peer).  Keyed by the object's address.
 */
struct where {
	TAILQ_ENTRY(where)	 entry;
	const void		*obj;
	char			*file;
	int			 line;
};
static TAILQ_HEAD(, where)	 wheres = TAILQ_HEAD_INITIALIZER(wheres);
static void		 where_set(const void *, int);
static struct where	*where_get(const void *);
static void		 where_del(const void *);
static void		 where_clear(void);

static void		 verror(const char *, int, int, const char *,
			    va_list) __attribute__((__format__ (printf, 4, 0)));
static void		 conf_error(const void *, const char *, ...)
			    __attribute__((__format__ (printf, 2, 3)));
static void		 conf_warn(const void *, const char *, ...)
			    __attribute__((__format__ (printf, 2, 3)));

static int		 name_ok(const char *, size_t);
static int		 hostname_ok(const char *, size_t);
static int		 fingerprint_ok(const char *);
static int64_t		 parse_time(const char *);
static int		 time_check(const char *, int64_t, int64_t, int64_t,
			    int);
static void		 iface_begin(const char *, int);
static void		 iface_address(const char *, int);
static void		 iface_end(void);
static void		 uplink_begin(const char *, int);
static void		 uplink_end(void);
static void		 peer_begin(const char *, int);
static void		 peer_end(void);
static void		 peer_network(const char *, int);
static void		 conf_check_networks(void);
static void		 pipe_begin(const char *, int);
static void		 pipe_end(void);
static void		 discard_current(void);
static void		 conf_check(void);
static int		 path_absolute(char *, const char *, size_t);
static void		 check_readable(const void *, const char *,
			    const char *);
static void		 check_key(const char *);

static struct marconid_conf	*conf;
static int			 errors;
static int			 expanding;	/* a macro's text */
static int			 lexerror;	/* the lexer said why */
static char			*errbuf;
static size_t			 errlen;

/* what the statement being parsed fills in */
static struct iface_conf	*curiface;
static struct uplink_conf	*curuplink;
static struct peer_conf		*curpeer;
static struct pipe_conf		*curpipe;
static struct probe_conf	*curprobe;
static int			 cur_keep;	/* iface or uplink */
static int			 peer_keep, peer_mode_set, peer_npipes;
static int			 pipe_keep;

/* the single-valued options given so far in the block being parsed */
#define OPT_TYPE		0x0001
#define OPT_MTU			0x0002
#define OPT_LOCAL		0x0004
#define OPT_INTERFACE		0x0008
#define OPT_RDOMAIN		0x0010
#define OPT_PORT		0x0020
#define OPT_HOLDDOWN		0x0040
#define OPT_REMOTE		0x0080
#define OPT_PREFERENCE		0x0100
static unsigned int		 cur_set, peer_set, pipe_set;
static void			 opt_once(unsigned int *, unsigned int,
				    const char *, int);
static long long		 pipe_port;
static int			 nuplinks, npeers;

typedef struct {
	union {
		int64_t		 number;
		char		*string;
	} v;
	int lineno;
} YYSTYPE;

%}

%token	ADDRESS BALANCE CERTIFICATE DUPLICATE FAILOVER FINGERPRINT GROUP
%token	HOLDDOWN INCLUDE INTERFACE INTERVAL KEY LOCAL LOSS MAC MAX MODE MTU
%token	NETWORK PEER PIPE RTT
%token	PACKETS PORT PREFERENCE PROBE RDOMAIN REKEY RELAY REMOTE RESOLVE
%token	RESTRICTED SOCKET SUSPECT TAP
%token	TIMEOUT
%token	TUN TYPE
%token	UPLINK USER
%token	ERROR
%token	<v.string>	STRING
%token	<v.number>	NUMBER
%type	<v.string>	name rgroup
%type	<v.number>	port time mode yesno
/* strings the parser throws away when it recovers from an error */
%destructor	{ free($$); }	STRING name

%%

grammar		: /* empty */
		| grammar include '\n'
		| grammar '\n'
		| grammar varset '\n'
		| grammar main '\n'
		| grammar interface '\n'
		| grammar uplink '\n'
		| grammar peer '\n'
		| grammar error '\n'		{ discard_current(); }
		;

include		: INCLUDE STRING		{
			struct file	*nfile;
			struct file	*f;
			int		 depth = 0;

			TAILQ_FOREACH(f, &files, entry)
				depth++;
			/* on YYERROR, the %destructor frees $2 */
			if (depth >= MAX_INCLUDE_DEPTH) {
				yyerror_at($<lineno>1, "include \"%s\": "
				    "nested too deep", $2);
				YYERROR;
			}
			if (include_loop($2)) {
				yyerror_at($<lineno>1, "include \"%s\": "
				    "includes itself", $2);
				YYERROR;
			}
			if ((nfile = pushfile($2, 1)) == NULL) {
				yyerror_at($<lineno>1, "failed to include "
				    "\"%s\"", $2);
				YYERROR;
			}
			free($2);

			file = nfile;
			lungetc('\n');
		}
		;

name		: STRING
		| NUMBER			{
			if (asprintf(&$$, "%lld", (long long)$1) == -1)
				fatal("%s", __func__);
		}
		;

varset		: STRING '=' STRING		{
			const char	*s;

			for (s = $1; *s != '\0'; s++)
				if (!isalnum((unsigned char)*s) && *s != '_')
					break;
			if (*s != '\0' || s == $1)
				yyerror_at($<lineno>1,
				    "bad macro name \"%s\"", $1);
			else if (symset($1, $3, 0) == -1)
				fatal("cannot store variable");
			free($1);
			free($3);
		}
		| STRING '=' NUMBER		{
			char	*val;

			if (asprintf(&val, "%lld", (long long)$3) == -1)
				fatal("%s", __func__);
			if (strspn($1, "abcdefghijklmnopqrstuvwxyz"
			    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") !=
			    strlen($1))
				yyerror_at($<lineno>1,
				    "bad macro name \"%s\"", $1);
			else if (symset($1, val, 0) == -1)
				fatal("cannot store variable");
			free($1);
			free(val);
		}
		;

port		: NUMBER			{
			if ($1 < 1 || $1 > 65535) {
				yyerror_at($<lineno>1,
				    "port %lld out of range (1-65535)",
				    (long long)$1);
				$$ = 0;
			} else
				$$ = $1;
		}
		;

time		: NUMBER			{
			if ($1 < 0 || $1 > TIME_MAX / 1000) {
				yyerror_at($<lineno>1, "bad time %lld",
				    (long long)$1);
				$$ = -1;
			} else
				$$ = $1 * 1000;
		}
		| STRING			{
			if (($$ = parse_time($1)) == -1)
				yyerror_at($<lineno>1, "bad time \"%s\": "
				    "a number with ms, s or m", $1);
			free($1);
		}
		;

/* the group that may use the restricted socket, or everybody */
rgroup		: /* empty */			{ $$ = NULL; }
		| GROUP STRING			{
			/* checked now, to say where: the parent asks again */
			if (strlen($2) == 0 || strlen($2) >=
			    sizeof(conf->rsock_group))
				yyerror_at($<lineno>2,
				    "bad group name \"%s\"", $2);
			else if (getgrnam($2) == NULL)
				yyerror_at($<lineno>2,
				    "unknown group \"%s\"", $2);
			else {
				$$ = $2;
				break;
			}
			free($2);
			$$ = NULL;
		}
		;

main		: PORT port			{
			if ($2 != 0)
				conf->port = $2;
		}
		| USER STRING			{
			if (strlen($2) == 0 || strlcpy(conf->user, $2,
			    sizeof(conf->user)) >= sizeof(conf->user))
				yyerror_at($<lineno>2, "bad user \"%s\"", $2);
			where_set(conf->user, $<lineno>1);
			free($2);
		}
		| SOCKET STRING			{
			if (strlen($2) == 0 || strlcpy(conf->csock, $2,
			    sizeof(conf->csock)) >= sizeof(conf->csock))
				yyerror_at($<lineno>2,
				    "bad socket path \"%s\"", $2);
			free($2);
		}
		| SOCKET STRING RESTRICTED rgroup	{
			/* one, as in bgpd: it is for every local user */
			if (strlen($2) == 0 || strlen($2) >=
			    sizeof(conf->rsock))
				yyerror_at($<lineno>2,
				    "bad socket path \"%s\"", $2);
			else if (conf->rsock[0] != '\0')
				yyerror_at($<lineno>1, "restricted socket "
				    "given twice: only one is supported");
			else {
				strlcpy(conf->rsock, $2, sizeof(conf->rsock));
				where_set(conf->rsock, $<lineno>1);
				if ($4 != NULL)
					strlcpy(conf->rsock_group, $4,
					    sizeof(conf->rsock_group));
			}
			free($2);
			free($4);
		}
		| CERTIFICATE STRING		{
			if (strlen($2) == 0 || strlcpy(conf->cert, $2,
			    sizeof(conf->cert)) >= sizeof(conf->cert))
				yyerror_at($<lineno>2,
				    "bad certificate path \"%s\"", $2);
			where_set(conf->cert, $<lineno>1);
			free($2);
		}
		| KEY STRING			{
			if (strlen($2) == 0 || strlcpy(conf->key, $2,
			    sizeof(conf->key)) >= sizeof(conf->key))
				yyerror_at($<lineno>2,
				    "bad key path \"%s\"", $2);
			where_set(conf->key, $<lineno>1);
			free($2);
		}
		| PROBE				{
			curprobe = &conf->probe;
		} probeopts
		| HOLDDOWN time			{
			if (time_check("holddown", $2, HOLDDOWN_MIN,
			    HOLDDOWN_MAX, $<lineno>1) == 0)
				conf->probe.holddown = $2;
		}
		| REKEY rekeyopts
		| RESOLVE INTERVAL time		{
			if (time_check("resolve interval", $3, RESOLVE_MIN,
			    RESOLVE_MAX, $<lineno>1) == 0)
				conf->resolve_interval = $3;
		}
		| RELAY yesno			{
			conf->relay = $2;
			where_set(&conf->relay, $<lineno>1);
		}
		| MAC macopts
		;

macopts		: macopts macopt
		| macopt
		;

macopt		: TIMEOUT time			{
			if (time_check("mac timeout", $2, MAC_TIMEOUT_MIN,
			    TIME_MAX, $<lineno>1) == 0)
				conf->mac_timeout = $2;
		}
		| MAX NUMBER			{
			if ($2 < MAC_MAX_MIN || $2 > MAC_MAX_MAX)
				yyerror_at($<lineno>2, "mac max %lld out of "
				    "range (%d-%d)", (long long)$2,
				    MAC_MAX_MIN, MAC_MAX_MAX);
			else
				conf->mac_max = $2;
		}
		;

rekeyopts	: rekeyopts rekeyopt
		| rekeyopt
		;

rekeyopt	: INTERVAL time			{
			if (time_check("rekey interval", $2, REKEY_MIN,
			    REKEY_MAX, $<lineno>1) == 0)
				conf->rekey_interval = $2;
		}
		| PACKETS NUMBER		{
			if ($2 < REKEY_PACKETS_MIN || $2 > UINT32_MAX)
				yyerror_at($<lineno>2, "rekey packets %lld out "
				    "of range (%d-%u)", (long long)$2,
				    REKEY_PACKETS_MIN, UINT32_MAX);
			else
				conf->rekey_packets = $2;
		}
		;

probeopts	: probeopts_l
		| '{' probeopts_b '}'
		| '{' probeopts_b error '}'
		;

probeopts_l	: probeopts_l probeopt
		| probeopt
		;

probeopts_b	: /* empty */
		| probeopts_b probeopt
		| probeopts_b '\n'
		| probeopts_b error '\n'
		;

probeopt	: INTERVAL time			{
			if (time_check("probe interval", $2, INTERVAL_MIN,
			    INTERVAL_MAX, $<lineno>1) == 0)
				curprobe->interval = $2;
			where_set(curprobe, $<lineno>1);
		}
		| TIMEOUT time			{
			if (time_check("probe timeout", $2, INTERVAL_MIN,
			    TIMEOUT_MAX, $<lineno>1) == 0)
				curprobe->timeout = $2;
			where_set(curprobe, $<lineno>1);
		}
		| TIMEOUT time MAX time		{
			if (time_check("probe timeout", $2, INTERVAL_MIN,
			    TIMEOUT_MAX, $<lineno>1) == 0 &&
			    time_check("probe timeout max", $4, INTERVAL_MIN,
			    TIMEOUT_MAX, $<lineno>1) == 0) {
				if ($4 < $2)
					yyerror_at($<lineno>1, "probe timeout "
					    "max %lldms below its least, %lldms",
					    (long long)$4, (long long)$2);
				else {
					curprobe->timeout = $2;
					curprobe->timeout_max = $4;
				}
			}
			where_set(curprobe, $<lineno>1);
		}
		| SUSPECT yesno			{
			curprobe->suspect = $2 ? PROBE_SUSPECT_YES :
			    PROBE_SUSPECT_NO;
		}
		| LOSS NUMBER			{
			if ($2 < 1 || $2 > 99)
				yyerror_at($<lineno>2, "probe loss %lld out of "
				    "range (1-99 percent)", (long long)$2);
			else
				curprobe->max_loss = $2;
		}
		| RTT time			{
			if (time_check("probe rtt", $2, 1, TIMEOUT_MAX,
			    $<lineno>1) == 0)
				curprobe->max_rtt = $2;
		}
		;

yesno		: STRING			{
			if (strcmp($1, "yes") == 0)
				$$ = 1;
			else if (strcmp($1, "no") == 0)
				$$ = 0;
			else {
				yyerror("\"%s\": yes or no", $1);
				$$ = 1;
			}
			free($1);
		}
		;

interface	: ifacehead ifacebody		{ iface_end(); }
		;

ifacehead	: INTERFACE name		{
			iface_begin($2, $<lineno>1);
			free($2);
		}
		;

ifacebody	: ifaceopts_i
		| '{' ifaceopts_b '}'
		| '{' ifaceopts_b error '}'
		;

ifaceopts_i	: /* empty */
		| ifaceopts_i ifaceopt
		;

ifaceopts_b	: /* empty */
		| ifaceopts_b ifaceopt
		| ifaceopts_b '\n'
		| ifaceopts_b error '\n'
		;

ifaceopt	: TYPE TAP		{
			opt_once(&cur_set, OPT_TYPE, "type", $<lineno>1);
			curiface->type = IFACE_TAP;
		}
		| TYPE TUN		{
			opt_once(&cur_set, OPT_TYPE, "type", $<lineno>1);
			curiface->type = IFACE_TUN;
		}
		| ADDRESS STRING		{
			iface_address($2, $<lineno>2);
			free($2);
		}
		| MTU NUMBER			{
			opt_once(&cur_set, OPT_MTU, "mtu", $<lineno>1);
			if ($2 < MARCONID_MINMTU || $2 > MARCONID_MAXMTU)
				yyerror_at($<lineno>2,
				    "mtu %lld out of range (%d-%d)",
				    (long long)$2, MARCONID_MINMTU,
				    MARCONID_MAXMTU);
			else
				curiface->mtu = $2;
		}
		;

uplink		: uplinkhead uplinkbody		{ uplink_end(); }
		;

uplinkhead	: UPLINK name			{
			uplink_begin($2, $<lineno>1);
			free($2);
		}
		;

uplinkbody	: uplinkopts_i
		| '{' uplinkopts_b '}'
		| '{' uplinkopts_b error '}'
		;

uplinkopts_i	: /* empty */
		| uplinkopts_i uplinkopt
		;

uplinkopts_b	: /* empty */
		| uplinkopts_b uplinkopt
		| uplinkopts_b '\n'
		| uplinkopts_b error '\n'
		;

uplinkopt	: LOCAL STRING			{
			opt_once(&cur_set, OPT_LOCAL, "local", $<lineno>1);
			if (host_parse($2, &curuplink->local, NULL) == -1)
				yyerror_at($<lineno>2,
				    "bad address \"%s\"", $2);
			free($2);
		}
		| INTERFACE name		{
			opt_once(&cur_set, OPT_INTERFACE, "interface",
			    $<lineno>1);
			if (!name_ok($2, sizeof(curuplink->ifname)))
				yyerror_at($<lineno>2,
				    "bad interface name \"%s\"", $2);
			else
				strlcpy(curuplink->ifname, $2,
				    sizeof(curuplink->ifname));
			free($2);
		}
		| RDOMAIN NUMBER		{
			opt_once(&cur_set, OPT_RDOMAIN, "rdomain", $<lineno>1);
			if ($2 < 0 || $2 > INT32_MAX)
				yyerror_at($<lineno>2, "rdomain %lld out of "
				    "range (0-%d)", (long long)$2, INT32_MAX);
			else
				curuplink->rdomain = $2;
		}
		| PORT port			{
			opt_once(&cur_set, OPT_PORT, "port", $<lineno>1);
			curuplink->port = $2;
		}
		| MTU NUMBER			{
			opt_once(&cur_set, OPT_MTU, "mtu", $<lineno>1);
			if ($2 < UPLINK_MINMTU || $2 > MARCONID_MAXMTU)
				yyerror_at($<lineno>2, "uplink mtu %lld out of "
				    "range (%d-%d)", (long long)$2,
				    UPLINK_MINMTU, MARCONID_MAXMTU);
			else
				curuplink->mtu = $2;
		}
		;

peer		: peerhead peerbody		{ peer_end(); }
		;

peerhead	: PEER name			{
			peer_begin($2, $<lineno>1);
			free($2);
		}
		;

peerbody	: peeropts_i
		| '{' peeropts_b '}'
		| '{' peeropts_b error '}'
		;

peeropts_i	: /* empty */
		| peeropts_i peeropt
		;

peeropts_b	: /* empty */
		| peeropts_b peeropt
		| peeropts_b '\n'
		| peeropts_b error '\n'
		;

peeropt		: FINGERPRINT STRING		{
			if (curpeer->fingerprint[0] != '\0')
				yyerror_at($<lineno>1, "fingerprint given "
				    "twice in peer \"%s\"", curpeer->name);
			if (!fingerprint_ok($2))
				yyerror_at($<lineno>2, "bad fingerprint "
				    "\"%s\": SHA256: and 64 lowercase hex "
				    "digits", $2);
			/* even a bad one: "no fingerprint" would be noise */
			strlcpy(curpeer->fingerprint, $2,
			    sizeof(curpeer->fingerprint));
			where_set(curpeer->fingerprint, $<lineno>1);
			free($2);
		}
		| MODE mode			{
			if (peer_mode_set)
				yyerror_at($<lineno>1, "mode given twice in "
				    "peer \"%s\"", curpeer->name);
			peer_mode_set = 1;
			curpeer->mode = $2;
		}
		| HOLDDOWN time			{
			opt_once(&peer_set, OPT_HOLDDOWN, "holddown",
			    $<lineno>1);
			if (time_check("holddown", $2, HOLDDOWN_MIN,
			    HOLDDOWN_MAX, $<lineno>1) == 0)
				curpeer->probe.holddown = $2;
		}
		| PROBE				{
			curprobe = &curpeer->probe;
		} probeopts			{
			curprobe = &conf->probe;
		}
		| NETWORK STRING		{
			peer_network($2, $<lineno>2);
			free($2);
		}
		| pipe
		;

mode		: FAILOVER			{ $$ = MODE_FAILOVER; }
		| DUPLICATE			{ $$ = MODE_DUPLICATE; }
		| BALANCE			{ $$ = MODE_BALANCE; }
		;

pipe		: pipehead pipeopts		{ pipe_end(); }
		;

pipehead	: PIPE name			{
			pipe_begin($2, $<lineno>1);
			free($2);
		}
		;

pipeopts	: /* empty */
		| pipeopts pipeopt
		;

pipeopt		: REMOTE STRING			{
			opt_once(&pipe_set, OPT_REMOTE, "remote", $<lineno>1);
			/* an address, or a name the parent looks up */
			if (host_parse($2, &curpipe->remote, NULL) == -1 &&
			    !hostname_ok($2, sizeof(curpipe->remote_name)))
				yyerror_at($<lineno>2,
				    "bad address or host name \"%s\"", $2);
			else if (curpipe->remote.ss_family == AF_UNSPEC)
				strlcpy(curpipe->remote_name, $2,
				    sizeof(curpipe->remote_name));
			free($2);
		}
		| PORT port			{
			opt_once(&pipe_set, OPT_PORT, "port", $<lineno>1);
			pipe_port = $2;
		}
		| PREFERENCE NUMBER		{
			opt_once(&pipe_set, OPT_PREFERENCE, "preference",
			    $<lineno>1);
			if ($2 < 0 || $2 > PREFERENCE_MAX)
				yyerror_at($<lineno>2, "preference %lld out "
				    "of range (0-%d)", (long long)$2,
				    PREFERENCE_MAX);
			else
				curpipe->preference = $2;
		}
		;

%%

struct keywords {
	const char	*k_name;
	int		 k_val;
};

/*
 * Every error goes to the log as "file:line: message" and into the
 * buffer parse_errors() returns, for marconictl reload to show.
 */
static void
verror(const char *fname, int line, int warning, const char *fmt,
    va_list ap)
{
	char	*msg, *nline, *nbuf;
	size_t	 len;

	if (vasprintf(&msg, fmt, ap) == -1)
		fatal("%s", __func__);
	if (line > 0) {
		if (asprintf(&nline, "%s:%d: %s%s", fname, line,
		    warning ? "warning: " : "", msg) == -1)
			fatal("%s", __func__);
	} else if (asprintf(&nline, "%s: %s%s", fname,
	    warning ? "warning: " : "", msg) == -1)
		fatal("%s", __func__);
	free(msg);
	log_warnx("%s", nline);

	if (!warning) {
		errors++;
		len = strlen(nline) + 1;
		if (errlen + len < MAX_ERRBUF) {
			if ((nbuf = realloc(errbuf, errlen + len + 1)) == NULL)
				fatal("%s", __func__);
			errbuf = nbuf;
			snprintf(errbuf + errlen, len + 1, "%s\n", nline);
			errlen += len;
		}
	}
	free(nline);
}

/*
 * At the line of the token the parser choked on.  When that token is
 * the ERROR the lexer returned, the lexer has already said what was
 * wrong and yacc's "syntax error" would only repeat it.
 */
int
yyerror(const char *fmt, ...)
{
	va_list	 ap;

	if (lexerror) {
		lexerror = 0;
		return (0);
	}
	if (yychar == 0) {
		/* every line ends before the end: only a { can be open */
		error_in(file->name, "unexpected end of file: missing }");
		return (0);
	}
	va_start(ap, fmt);
	verror(file->name, yylval.lineno, 0, fmt, ap);
	va_end(ap);
	return (0);
}

static void
yyerror_at(int line, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	verror(file->name, line, 0, fmt, ap);
	va_end(ap);
}

/* about a whole file: it cannot be opened, or is not safe */
static void
error_in(const char *fname, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	verror(fname, 0, 0, fmt, ap);
	va_end(ap);
}

/* after the parse: at the place obj was written, if it was */
static void
conf_error(const void *obj, const char *fmt, ...)
{
	struct where	*w;
	va_list		 ap;

	va_start(ap, fmt);
	if (obj != NULL && (w = where_get(obj)) != NULL)
		verror(w->file, w->line, 0, fmt, ap);
	else
		verror(conf->conffile, 0, 0, fmt, ap);
	va_end(ap);
}

static void
conf_warn(const void *obj, const char *fmt, ...)
{
	struct where	*w;
	va_list		 ap;

	va_start(ap, fmt);
	if (obj != NULL && (w = where_get(obj)) != NULL)
		verror(w->file, w->line, 1, fmt, ap);
	else
		verror(conf->conffile, 0, 1, fmt, ap);
	va_end(ap);
}

const char *
parse_errors(void)
{
	return (errbuf != NULL ? errbuf : "");
}

static int
kw_cmp(const void *k, const void *e)
{
	return (strcmp(k, ((const struct keywords *)e)->k_name));
}

static int
lookup(const char *s)
{
	/* keep sorted: looked up with bsearch() */
	static const struct keywords keywords[] = {
		{ "address",		ADDRESS },
		{ "balance",		BALANCE },
		{ "certificate",	CERTIFICATE },
		{ "duplicate",		DUPLICATE },
		{ "failover",		FAILOVER },
		{ "fingerprint",	FINGERPRINT },
		{ "group",		GROUP },
		{ "holddown",		HOLDDOWN },
		{ "include",		INCLUDE },
		{ "interface",		INTERFACE },
		{ "interval",		INTERVAL },
		{ "key",		KEY },
		{ "local",		LOCAL },
		{ "loss",		LOSS },
		{ "mac",		MAC },
		{ "max",		MAX },
		{ "mode",		MODE },
		{ "mtu",		MTU },
		{ "network",		NETWORK },
		{ "packets",		PACKETS },
		{ "peer",		PEER },
		{ "pipe",		PIPE },
		{ "port",		PORT },
		{ "preference",		PREFERENCE },
		{ "probe",		PROBE },
		{ "rdomain",		RDOMAIN },
		{ "rekey",		REKEY },
		{ "relay",		RELAY },
		{ "remote",		REMOTE },
		{ "resolve",		RESOLVE },
		{ "restricted",		RESTRICTED },
		{ "rtt",		RTT },
		{ "socket",		SOCKET },
		{ "suspect",		SUSPECT },
		{ "tap",		TAP },
		{ "timeout",		TIMEOUT },
		{ "tun",		TUN },
		{ "type",		TYPE },
		{ "uplink",		UPLINK },
		{ "user",		USER },
	};
	const struct keywords	*p;

	p = bsearch(s, keywords, sizeof(keywords) / sizeof(keywords[0]),
	    sizeof(keywords[0]), kw_cmp);

	if (p != NULL)
		return (p->k_val);
	return (STRING);
}

#define START_EXPAND	1
#define DONE_EXPAND	2


/*
 * Characters come from the file, or from pushed back ones, which are
 * either the text of a macro being expanded (between START_EXPAND and
 * DONE_EXPAND, so that a macro cannot expand into another one) or
 * what the lexer read too far.
 */
#define MAXPUSHBACK	1024

static char	 pushback_buffer[MAXPUSHBACK];
static int	 pushback_index;

static int
igetc(void)
{
	int	c;

	for (;;) {
		if (pushback_index > 0)
			c = (unsigned char)pushback_buffer[--pushback_index];
		else
			c = getc(file->stream);

		if (c == START_EXPAND)
			expanding = 1;
		else if (c == DONE_EXPAND)
			expanding = 0;
		else
			break;
	}
	return (c);
}

static int
lgetc(int quotec)
{
	int	c, next;

	if (quotec) {
		if ((c = igetc()) == EOF) {
			yyerror("reached end of file while parsing "
			    "quoted string");
			if (file == topfile || popfile() == EOF)
				return (EOF);
			return (quotec);
		}
		return (c);
	}

	while ((c = igetc()) == '\\') {
		next = igetc();
		if (next != '\n') {
			c = next;
			break;
		}
		yylval.lineno = file->lineno;
		file->lineno++;
	}
	/*
	 * The end of a file ends its last line, newline or not, while the
	 * file is still the current one (the parser finishes a statement
	 * on that newline and says where it was).  Then reading goes on
	 * where the include was.
	 */
	while (c == EOF) {
		if (!file->eof) {
			file->eof = 1;
			return ('\n');
		}
		if (file == topfile || popfile() == EOF)
			return (EOF);
		c = igetc();
	}
	return (c);
}

static int
lungetc(int c)
{
	if (c == EOF)
		return (EOF);
	if (pushback_index + 1 >= MAXPUSHBACK)
		return (EOF);
	pushback_buffer[pushback_index++] = c;
	return (c);
}

/*
 * After an error in the lexer: skip the rest of the line, but leave its
 * newline for the parser, which resumes at the next statement (or the
 * next line of a block) with it.
 */
static int
findeol(void)
{
	int	c;

	for (;;) {
		c = lgetc(0);
		if (c == '\n') {
			lungetc(c);
			break;
		}
		if (c == EOF)
			break;
	}
	lexerror = 1;
	return (ERROR);
}

static int
yylex(void)
{
	char		 buf[8096];
	char		*p, *val;
	int		 quotec, next, c;
	int		 token;

	lexerror = 0;
 top:
	p = buf;
	while ((c = lgetc(0)) == ' ' || c == '\t')
		; /* nothing */

	yylval.lineno = file->lineno;
	if (c == '#')
		while ((c = lgetc(0)) != '\n' && c != EOF)
			; /* nothing */
	if (c == '$' && !expanding) {
		for (;;) {
			c = lgetc(0);
			if (p + 1 >= buf + sizeof(buf) - 1) {
				yyerror("string too long");
				return (findeol());
			}
			if (isalnum(c) || c == '_') {
				*p++ = c;
				continue;
			}
			*p = '\0';
			lungetc(c);
			break;
		}
		val = symget(buf);
		if (val == NULL) {
			/* the parser skips the rest of the statement */
			yyerror("macro '%s' not defined", buf);
			lexerror = 1;
			return (ERROR);
		}
		if (pushback_index + strlen(val) + 2 >= MAXPUSHBACK) {
			yyerror("macro '%s' too long", buf);
			return (findeol());
		}
		p = val + strlen(val) - 1;
		lungetc(DONE_EXPAND);
		while (p >= val) {
			lungetc((unsigned char)*p);
			p--;
		}
		lungetc(START_EXPAND);
		goto top;
	}

	switch (c) {
	case '\'':
	case '"':
		quotec = c;
		for (;;) {
			if ((c = lgetc(quotec)) == EOF)
				return (0);
			if (c == '\n') {
				file->lineno++;
				continue;
			} else if (c == '\\') {
				if ((next = lgetc(quotec)) == EOF)
					return (0);
				if (next == quotec || next == ' ' ||
				    next == '\t')
					c = next;
				else if (next == '\n') {
					file->lineno++;
					continue;
				} else
					lungetc(next);
			} else if (c == quotec) {
				*p = '\0';
				break;
			} else if (c == '\0') {
				yyerror("syntax error");
				return (findeol());
			}
			if (p + 1 >= buf + sizeof(buf) - 1) {
				yyerror("string too long");
				return (findeol());
			}
			*p++ = c;
		}
		yylval.v.string = strdup(buf);
		if (yylval.v.string == NULL)
			fatal("%s", __func__);
		return (STRING);
	}

#define allowed_to_end_number(x) \
	(isspace(x) || x == '}' || x == '=' || x == '#')

	if (c == '-' || isdigit(c)) {
		do {
			*p++ = c;
			if ((size_t)(p - buf) >= sizeof(buf)) {
				yyerror("string too long");
				return (findeol());
			}
		} while ((c = lgetc(0)) != EOF && isdigit(c));
		lungetc(c);
		if (p == buf + 1 && buf[0] == '-')
			goto nodigits;
		if (c == EOF || allowed_to_end_number(c)) {
			const char *errstr = NULL;

			*p = '\0';
			yylval.v.number = strtonum(buf, LLONG_MIN,
			    LLONG_MAX, &errstr);
			if (errstr) {
				yyerror("\"%s\" invalid number: %s",
				    buf, errstr);
				lexerror = 1;
				return (ERROR);
			}
			return (NUMBER);
		} else {
 nodigits:
			while (p > buf + 1)
				lungetc((unsigned char)*--p);
			c = (unsigned char)*--p;
			if (c == '-')
				return (c);
		}
	}

#define allowed_in_string(x) \
	(isalnum(x) || (ispunct(x) && x != '(' && x != ')' && \
	x != '{' && x != '}' && x != '"' && x != '\'' && \
	x != '!' && x != '=' && x != '#' && x != ','))

	if (isalnum(c) || c == ':' || c == '_' || c == '.' || c == '/') {
		do {
			*p++ = c;
			if ((size_t)(p - buf) >= sizeof(buf)) {
				yyerror("string too long");
				return (findeol());
			}
		} while ((c = lgetc(0)) != EOF && (allowed_in_string(c)));
		lungetc(c);
		*p = '\0';
		if ((token = lookup(buf)) == STRING)
			if ((yylval.v.string = strdup(buf)) == NULL)
				fatal("%s", __func__);
		return (token);
	}
	if (c == '\n') {
		yylval.lineno = file->lineno;
		file->lineno++;
	}
	if (c == EOF)
		return (0);
	return (c);
}

/*
 * Key paths are no secret, but the file may hold the whole layout of
 * the network: the same rule as every daemon's configuration.
 */
static int
check_file_secrecy(int fd, const char *fname)
{
	struct stat	st;

	if (fstat(fd, &st)) {
		error_in(fname, "%s", strerror(errno));
		return (-1);
	}
	if (!S_ISREG(st.st_mode)) {
		error_in(fname, "not a regular file");
		return (-1);
	}
	if (st.st_uid != 0 && st.st_uid != getuid()) {
		error_in(fname, "owner not root or current user");
		return (-1);
	}
	if (st.st_mode & (S_IWGRP | S_IXGRP | S_IRWXO)) {
		error_in(fname, "group writable or world read/writable");
		return (-1);
	}
	return (0);
}

static struct file *
pushfile(const char *name, int secret)
{
	struct file	*nfile;
	struct stat	 st;

	if ((nfile = calloc(1, sizeof(struct file))) == NULL)
		fatal("%s", __func__);
	if ((nfile->name = strdup(name)) == NULL)
		fatal("%s", __func__);
	if ((nfile->stream = fopen(nfile->name, "r")) == NULL) {
		error_in(nfile->name, "%s", strerror(errno));
		free(nfile->name);
		free(nfile);
		return (NULL);
	} else if (secret &&
	    check_file_secrecy(fileno(nfile->stream), nfile->name)) {
		fclose(nfile->stream);
		free(nfile->name);
		free(nfile);
		return (NULL);
	}
	if (fstat(fileno(nfile->stream), &st) == 0) {
		nfile->dev = st.st_dev;
		nfile->ino = st.st_ino;
	}
	/* an include starts with the newline the include rule pushed */
	nfile->lineno = TAILQ_EMPTY(&files) ? 1 : 0;
	TAILQ_INSERT_TAIL(&files, nfile, entry);
	return (nfile);
}

/* is name one of the files being read? */
static int
include_loop(const char *name)
{
	struct file	*f;
	struct stat	 st;

	if (stat(name, &st) == -1)
		return (0);	/* pushfile() will say why */
	TAILQ_FOREACH(f, &files, entry)
		if (f->dev == st.st_dev && f->ino == st.st_ino)
			return (1);
	return (0);
}

static int
popfile(void)
{
	struct file	*prev;

	prev = TAILQ_PREV(file, files, entry);
	TAILQ_REMOVE(&files, file, entry);
	fclose(file->stream);
	free(file->name);
	free(file);
	file = prev;
	return (file != NULL ? 0 : EOF);
}

/*
 * Parses filename into a new configuration.  Every error is reported;
 * if there was any, NULL, and parse_errors() has them.
 */
struct marconid_conf *
parse_config(const char *filename, int opts)
{
	struct marconid_conf	*nconf;
	struct sym		*sym, *next;

	free(errbuf);
	errbuf = NULL;
	errlen = 0;
	errors = 0;
	lexerror = 0;
	expanding = 0;
	pushback_index = 0;
	nuplinks = npeers = 0;
	TAILQ_FOREACH(sym, &symhead, entry)
		sym->used = 0;

	conf = config_new_empty();
	conf->opts = opts;
	curprobe = &conf->probe;
	if (strlcpy(conf->conffile, filename, sizeof(conf->conffile)) >=
	    sizeof(conf->conffile)) {
		log_warnx("%s: path too long", filename);
		config_free(conf);
		conf = NULL;
		return (NULL);
	}

	if ((file = pushfile(filename, 1)) == NULL) {
		config_free(conf);
		conf = NULL;
		return (NULL);
	}
	topfile = file;

	yyparse();
	while (file != NULL)
		popfile();
	discard_current();

	conf_check();

	/* Free macros and check which have not been used. */
	TAILQ_FOREACH_SAFE(sym, &symhead, entry, next) {
		if ((conf->opts & MARCONID_OPT_VERBOSE) && !sym->used)
			log_warnx("warning: macro '%s' not used", sym->nam);
		if (!sym->persist) {
			free(sym->nam);
			free(sym->val);
			TAILQ_REMOVE(&symhead, sym, entry);
			free(sym);
		}
	}
	where_clear();

	nconf = conf;
	conf = NULL;
	if (errors) {
		config_free(nconf);
		return (NULL);
	}
	return (nconf);
}

static int
symset(const char *nam, const char *val, int persist)
{
	struct sym	*sym;

	TAILQ_FOREACH(sym, &symhead, entry) {
		if (strcmp(nam, sym->nam) == 0)
			break;
	}

	if (sym != NULL) {
		if (sym->persist)
			return (0);
		free(sym->nam);
		free(sym->val);
		TAILQ_REMOVE(&symhead, sym, entry);
		free(sym);
	}
	if ((sym = calloc(1, sizeof(*sym))) == NULL)
		return (-1);

	sym->nam = strdup(nam);
	if (sym->nam == NULL) {
		free(sym);
		return (-1);
	}
	sym->val = strdup(val);
	if (sym->val == NULL) {
		free(sym->nam);
		free(sym);
		return (-1);
	}
	sym->used = 0;
	sym->persist = persist;
	TAILQ_INSERT_TAIL(&symhead, sym, entry);
	return (0);
}

/* -D name=value: wins over a definition in the file */
int
cmdline_symset(const char *s)
{
	char	*sym;
	const char *val;
	int	 ret;

	if ((val = strrchr(s, '=')) == NULL || val == s)
		return (-1);
	if ((sym = strndup(s, val - s)) == NULL)
		fatal("%s", __func__);
	ret = symset(sym, val + 1, 1);
	free(sym);

	return (ret);
}

static char *
symget(const char *nam)
{
	struct sym	*sym;

	TAILQ_FOREACH(sym, &symhead, entry) {
		if (strcmp(nam, sym->nam) == 0) {
			sym->used = 1;
			return (sym->val);
		}
	}
	return (NULL);
}

static void
where_set(const void *obj, int line)
{
	struct where	*w;

	if ((w = where_get(obj)) == NULL) {
		if ((w = calloc(1, sizeof(*w))) == NULL)
			fatal("%s", __func__);
		w->obj = obj;
		TAILQ_INSERT_TAIL(&wheres, w, entry);
	} else
		free(w->file);
	if ((w->file = strdup(file->name)) == NULL)
		fatal("%s", __func__);
	w->line = line;
}

static struct where *
where_get(const void *obj)
{
	struct where	*w;

	TAILQ_FOREACH(w, &wheres, entry)
		if (w->obj == obj)
			return (w);
	return (NULL);
}

static void
where_del(const void *obj)
{
	struct where	*w;

	if ((w = where_get(obj)) != NULL) {
		TAILQ_REMOVE(&wheres, w, entry);
		free(w->file);
		free(w);
	}
}

static void
where_clear(void)
{
	struct where	*w;

	while ((w = TAILQ_FIRST(&wheres)) != NULL) {
		TAILQ_REMOVE(&wheres, w, entry);
		free(w->file);
		free(w);
	}
}

/* uplink, peer and interface names: [A-Za-z0-9_.-], at least one */
static int
name_ok(const char *s, size_t size)
{
	size_t	len = strlen(s);

	return (len > 0 && len < size &&
	    strspn(s, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == len);
}

/*
 * A host name for a remote: labels of letters, digits and hyphens, none
 * empty, longer than 63 or starting or ending with a hyphen, and a last
 * label not all digits, so that a mistyped address ("198.18.1.300") is
 * not taken for a name (RFC 1123 2.1, RFC 3696 2).
 */
static int
hostname_ok(const char *s, size_t size)
{
	const char	*label, *end;
	size_t		 len = strlen(s), n;
	int		 alpha = 0;

	if (len == 0 || len >= size || len > 253)
		return (0);
	for (label = s; ; label = end + 1) {
		if ((end = strchr(label, '.')) == NULL)
			end = label + strlen(label);
		n = end - label;
		if (n == 0 && *end == '\0' && label != s)
			break;	/* a trailing dot: fully qualified */
		if (n == 0 || n > 63 || label[0] == '-' || end[-1] == '-' ||
		    strspn(label, "abcdefghijklmnopqrstuvwxyz"
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-") < n)
			return (0);
		alpha = strspn(label, "0123456789") < n;
		if (*end == '\0')
			break;
	}
	return (alpha);
}

/* as tls_peer_cert_hash() gives it: "SHA256:" and 64 lowercase hex */
static int
fingerprint_ok(const char *s)
{
	const char	*prefix = "SHA256:";

	if (strncmp(s, prefix, strlen(prefix)) != 0)
		return (0);
	s += strlen(prefix);
	return (strlen(s) == 64 && strspn(s, "0123456789abcdef") == 64);
}

/* "100ms", "5s", "1m", or a bare number of seconds; -1 if none */
static int64_t
parse_time(const char *s)
{
	const char	*errstr;
	char		*num;
	size_t		 n;
	int64_t		 t, unit;

	n = strspn(s, "0123456789");
	if (n == 0 || n > 9)
		return (-1);
	if (strcmp(s + n, "ms") == 0)
		unit = 1;
	else if (strcmp(s + n, "s") == 0 || s[n] == '\0')
		unit = 1000;
	else if (strcmp(s + n, "m") == 0)
		unit = 60000;
	else
		return (-1);
	if ((num = strndup(s, n)) == NULL)
		fatal("%s", __func__);
	t = strtonum(num, 0, TIME_MAX, &errstr);
	free(num);
	if (errstr != NULL || t * unit > TIME_MAX)
		return (-1);
	return (t * unit);
}

/* 0 if t is within [min, max]; a bad time (-1) was reported already */
static int
time_check(const char *what, int64_t t, int64_t min, int64_t max, int line)
{
	char	t1[16], t2[16], t3[16];

	if (t == -1)
		return (-1);
	if (t < min || t > max) {
		yyerror_at(line, "%s %s out of range (%s-%s)", what,
		    print_ms(t, t1, sizeof(t1)),
		    print_ms(min, t2, sizeof(t2)),
		    print_ms(max, t3, sizeof(t3)));
		return (-1);
	}
	return (0);
}

static void
iface_begin(const char *name, int line)
{
	discard_current();
	if ((curiface = calloc(1, sizeof(*curiface))) == NULL)
		fatal("%s", __func__);
	curiface->type = IFACE_TAP;
	curiface->mtu = MARCONID_MTU;
	TAILQ_INIT(&curiface->addrs);
	where_set(curiface, line);
	cur_keep = 0;
	cur_set = 0;

	if (!name_ok(name, sizeof(curiface->name)))
		yyerror_at(line, "bad interface name \"%s\"", name);
	else if (config_find_iface(conf, name) != NULL)
		yyerror_at(line, "duplicate interface \"%s\"", name);
	else if (!TAILQ_EMPTY(&conf->ifaces))
		yyerror_at(line, "interface \"%s\": only one interface is "
		    "supported", name);
	else
		cur_keep = 1;
	strlcpy(curiface->name, name, sizeof(curiface->name));
}

static void
iface_address(const char *s, int line)
{
	struct iface_addr	*ia, *oia;
	struct sockaddr_storage	 ss;
	char			*a;
	int			 n = 0;

	if ((ia = calloc(1, sizeof(*ia))) == NULL)
		fatal("%s", __func__);
	if (host_parse(s, &ia->ss, &ia->prefixlen) == -1 ||
	    ia->prefixlen == 0) {
		/* say which half is wrong */
		if ((a = strdup(s)) == NULL)
			fatal("%s", __func__);
		if (strchr(a, '/') != NULL)
			*strchr(a, '/') = '\0';
		if (host_parse(a, &ss, NULL) == 0)
			yyerror_at(line, "bad prefix length in \"%s\"", s);
		else
			yyerror_at(line, "bad address \"%s\"", s);
		free(a);
		free(ia);
		return;
	}
	TAILQ_FOREACH(oia, &curiface->addrs, entry) {
		if (sa_cmp(&oia->ss, &ia->ss) == 0) {
			yyerror_at(line, "duplicate address \"%s\" on "
			    "interface \"%s\"", s, curiface->name);
			free(ia);
			return;
		}
		n++;
	}
	if (n >= MAX_IFACE_ADDRS) {
		yyerror_at(line, "too many addresses on interface \"%s\" "
		    "(at most %d)", curiface->name, MAX_IFACE_ADDRS);
		free(ia);
		return;
	}
	TAILQ_INSERT_TAIL(&curiface->addrs, ia, entry);
}

/*
 * A network of the peer being read: an address with a prefix length,
 * without host bits (198.19.2.1/24 is refused: it reads as an address
 * of a host, not as the network, and guessing which was meant could
 * route a network to the wrong site).
 */
static void
peer_network(const char *s, int line)
{
	struct iface_addr	*ia, *oia;
	uint8_t			 a[16], b[16];
	int			 af, n = 0;

	if ((ia = calloc(1, sizeof(*ia))) == NULL)
		fatal("%s", __func__);
	if (strchr(s, '/') == NULL ||
	    host_parse(s, &ia->ss, &ia->prefixlen) == -1 ||
	    (af = route_sa_addr(&ia->ss, a)) == -1) {
		yyerror_at(line, "bad network \"%s\": an address and a "
		    "prefix length, as 198.19.2.0/24 or 2001:db8:2::/64", s);
		free(ia);
		return;
	}
	if (route_hostbits(af, a, ia->prefixlen)) {
		yyerror_at(line, "network \"%s\": host bits set", s);
		free(ia);
		return;
	}
	TAILQ_FOREACH(oia, &curpeer->networks, entry) {
		route_sa_addr(&oia->ss, b);
		if (oia->ss.ss_family == ia->ss.ss_family &&
		    oia->prefixlen == ia->prefixlen &&
		    memcmp(a, b, sizeof(a)) == 0) {
			yyerror_at(line, "network \"%s\" given twice in peer "
			    "\"%s\"", s, curpeer->name);
			free(ia);
			return;
		}
		n++;
	}
	if (n >= MAX_PEER_NETWORKS) {
		yyerror_at(line, "too many networks in peer \"%s\" (at most "
		    "%d)", curpeer->name, MAX_PEER_NETWORKS);
		free(ia);
		return;
	}
	where_set(ia, line);
	TAILQ_INSERT_TAIL(&curpeer->networks, ia, entry);
}

/*
 * The networks of the peers, once the interface is known: only on a
 * tun, each owned by one peer.  A network inside another's (a /25 in
 * a /24) is allowed: the longest match decides.  With several peers
 * on a tun every peer needs one, or a packet would have nowhere to go;
 * a single peer without any keeps the behaviour of a two-site tunnel,
 * every packet to it.
 */
static void
conf_check_networks(void)
{
	struct iface_conf	*ifc = TAILQ_FIRST(&conf->ifaces);
	struct peer_conf	*peer, *other;
	struct iface_addr	*ia, *oia;
	uint8_t			 a[16], b[16];
	char			 h[NI_MAXHOST];
	int			 nsites = 0;

	TAILQ_FOREACH(peer, &conf->peers, entry)
		nsites++;
	TAILQ_FOREACH(peer, &conf->peers, entry) {
		if (ifc != NULL && ifc->type == IFACE_TAP) {
			TAILQ_FOREACH(ia, &peer->networks, entry) {
				conf_error(ia, "peer \"%s\": network %s/%u: "
				    "networks are for a tun interface, and "
				    "interface \"%s\" is a tap", peer->name,
				    print_host(&ia->ss, h, sizeof(h)),
				    ia->prefixlen, ifc->name);
				break;
			}
			continue;
		}
		if (ifc != NULL && nsites > 1 &&
		    TAILQ_EMPTY(&peer->networks))
			conf_error(peer, "peer \"%s\" has no network: with "
			    "several peers on a tun interface each needs one",
			    peer->name);
		TAILQ_FOREACH(ia, &peer->networks, entry) {
			route_sa_addr(&ia->ss, a);
			TAILQ_FOREACH(other, &conf->peers, entry) {
				if (other == peer)
					break;
				TAILQ_FOREACH(oia, &other->networks, entry) {
					route_sa_addr(&oia->ss, b);
					if (oia->ss.ss_family ==
					    ia->ss.ss_family &&
					    oia->prefixlen == ia->prefixlen &&
					    memcmp(a, b, sizeof(a)) == 0)
						break;
				}
				if (oia != NULL) {
					conf_error(ia, "peer \"%s\": network "
					    "%s/%u already belongs to peer "
					    "\"%s\"", peer->name,
					    print_host(&ia->ss, h, sizeof(h)),
					    ia->prefixlen, other->name);
					break;
				}
			}
		}
	}
}

static void
iface_end(void)
{
	if (curiface == NULL)
		return;
	if (cur_keep)
		TAILQ_INSERT_TAIL(&conf->ifaces, curiface, entry);
	else
		discard_current();
	curiface = NULL;
}

static void
uplink_begin(const char *name, int line)
{
	discard_current();
	if ((curuplink = calloc(1, sizeof(*curuplink))) == NULL)
		fatal("%s", __func__);
	curuplink->rdomain = -1;
	where_set(curuplink, line);
	cur_keep = 0;
	cur_set = 0;

	if (!name_ok(name, sizeof(curuplink->name)))
		yyerror_at(line, "bad uplink name \"%s\"", name);
	else if (config_find_uplink(conf, name) != NULL)
		yyerror_at(line, "duplicate uplink \"%s\"", name);
	else if (++nuplinks == MAX_UPLINKS + 1)
		yyerror_at(line, "too many uplinks (at most %d)",
		    MAX_UPLINKS);
	else if (nuplinks <= MAX_UPLINKS)
		cur_keep = 1;
	strlcpy(curuplink->name, name, sizeof(curuplink->name));
}

/*
 * A single-valued option given twice in a block is an error, as a
 * second mode is: which of the two was meant cannot be told.
 */
static void
opt_once(unsigned int *set, unsigned int opt, const char *kw, int line)
{
	if ((*set & opt) == 0) {
		*set |= opt;
		return;
	}
	if (set == &pipe_set)
		yyerror_at(line, "%s given twice in pipe \"%s\" of peer "
		    "\"%s\"", kw, curpipe->uplink, curpeer->name);
	else if (set == &peer_set)
		yyerror_at(line, "%s given twice in peer \"%s\"", kw,
		    curpeer->name);
	else if (curuplink != NULL)
		yyerror_at(line, "%s given twice in uplink \"%s\"", kw,
		    curuplink->name);
	else
		yyerror_at(line, "%s given twice in interface \"%s\"", kw,
		    curiface->name);
}

static void
uplink_end(void)
{
	if (curuplink == NULL)
		return;
	if (cur_keep)
		TAILQ_INSERT_TAIL(&conf->uplinks, curuplink, entry);
	else
		discard_current();
	curuplink = NULL;
}

static void
peer_begin(const char *name, int line)
{
	discard_current();
	if ((curpeer = calloc(1, sizeof(*curpeer))) == NULL)
		fatal("%s", __func__);
	curpeer->mode = MODE_FAILOVER;
	TAILQ_INIT(&curpeer->pipes);
	TAILQ_INIT(&curpeer->networks);
	where_set(curpeer, line);
	peer_keep = 0;
	peer_mode_set = 0;
	peer_set = 0;
	peer_npipes = 0;

	if (!name_ok(name, sizeof(curpeer->name)))
		yyerror_at(line, "bad peer name \"%s\"", name);
	else if (config_find_peer(conf, name) != NULL)
		yyerror_at(line, "duplicate peer \"%s\"", name);
	else if (++npeers == MAX_PEERS + 1)
		yyerror_at(line, "too many peers (at most %d)", MAX_PEERS);
	else if (npeers <= MAX_PEERS)
		peer_keep = 1;
	strlcpy(curpeer->name, name, sizeof(curpeer->name));
}

static void
peer_end(void)
{
	if (curpeer == NULL)
		return;
	if (peer_keep)
		TAILQ_INSERT_TAIL(&conf->peers, curpeer, entry);
	else
		discard_current();
	curpeer = NULL;
	curprobe = &conf->probe;
}

static void
pipe_begin(const char *name, int line)
{
	struct pipe_conf	*pc;

	if (curpipe != NULL) {
		/* left over by a syntax error */
		where_del(curpipe);
		free(curpipe);
	}
	if ((curpipe = calloc(1, sizeof(*curpipe))) == NULL)
		fatal("%s", __func__);
	curpipe->preference = PREFERENCE_DEFAULT;
	where_set(curpipe, line);
	pipe_keep = 0;
	pipe_port = 0;
	pipe_set = 0;

	if (!name_ok(name, sizeof(curpipe->uplink))) {
		yyerror_at(line, "bad uplink name \"%s\"", name);
		return;
	}
	strlcpy(curpipe->uplink, name, sizeof(curpipe->uplink));
	TAILQ_FOREACH(pc, &curpeer->pipes, entry) {
		if (strcmp(pc->uplink, name) == 0) {
			yyerror_at(line, "duplicate pipe on uplink \"%s\" "
			    "in peer \"%s\"", name, curpeer->name);
			return;
		}
	}
	if (++peer_npipes == MAX_PIPES + 1)
		yyerror_at(line, "too many pipes in peer \"%s\" (at most %d)",
		    curpeer->name, MAX_PIPES);
	else if (peer_npipes <= MAX_PIPES)
		pipe_keep = 1;
}

static void
pipe_end(void)
{
	struct where	*w;

	if (curpipe == NULL)
		return;
	if (pipe_port != 0) {
		if (curpipe->remote_name[0] != '\0')
			curpipe->remote_port = pipe_port;
		else if (curpipe->remote.ss_family == AF_UNSPEC) {
			w = where_get(curpipe);
			yyerror_at(w != NULL ? w->line : 0, "port without "
			    "remote in pipe \"%s\"", curpipe->uplink);
		} else
			sa_set_port(&curpipe->remote, pipe_port);
	}
	/* a remote without a port gets the global one in conf_check() */
	if (pipe_keep)
		TAILQ_INSERT_TAIL(&curpeer->pipes, curpipe, entry);
	else {
		where_del(curpipe);
		free(curpipe);
	}
	curpipe = NULL;
}

/* whatever a statement cut short by an error or a duplicate left */
static void
discard_current(void)
{
	struct iface_addr	*ia;
	struct pipe_conf	*pc;

	if (curiface != NULL) {
		while ((ia = TAILQ_FIRST(&curiface->addrs)) != NULL) {
			TAILQ_REMOVE(&curiface->addrs, ia, entry);
			free(ia);
		}
		where_del(curiface);
		free(curiface);
		curiface = NULL;
	}
	if (curuplink != NULL) {
		where_del(curuplink);
		free(curuplink);
		curuplink = NULL;
	}
	if (curpipe != NULL) {
		where_del(curpipe);
		free(curpipe);
		curpipe = NULL;
	}
	if (curpeer != NULL) {
		while ((pc = TAILQ_FIRST(&curpeer->pipes)) != NULL) {
			TAILQ_REMOVE(&curpeer->pipes, pc, entry);
			where_del(pc);
			free(pc);
		}
		while ((ia = TAILQ_FIRST(&curpeer->networks)) != NULL) {
			TAILQ_REMOVE(&curpeer->networks, ia, entry);
			where_del(ia);
			free(ia);
		}
		where_del(&curpeer->probe);
		where_del(curpeer->fingerprint);
		where_del(curpeer);
		free(curpeer);
		curpeer = NULL;
	}
	curprobe = &conf->probe;
}

/* what can only be checked with the whole file read */
static void
conf_check(void)
{
	struct uplink_conf	*up, *oup;
	struct peer_conf	*peer, *other;
	struct pipe_conf	*pc;
	char			 h1[NI_MAXHOST], h2[NI_MAXHOST];
	char			 t1[16], t2[16];
	uint32_t		 interval, timeout;
	int			 nerrors;

	if (conf->probe.timeout <= conf->probe.interval)
		conf_error(&conf->probe, "probe timeout %s must be longer "
		    "than the interval %s",
		    print_ms(conf->probe.timeout, t1, sizeof(t1)),
		    print_ms(conf->probe.interval, t2, sizeof(t2)));
	/* a least silence given above the default most raises the most */
	if (conf->probe.timeout_max < conf->probe.timeout)
		conf->probe.timeout_max = conf->probe.timeout;
	/* marconid -s may still make them meet: marconid.c checks again */
	if (conf->rsock[0] != '\0' && strcmp(conf->rsock, conf->csock) == 0)
		conf_error(conf->rsock, "restricted socket \"%s\" is also the "
		    "control socket", conf->rsock);
	if (TAILQ_EMPTY(&conf->ifaces))
		conf_error(NULL, "no interface defined");
	if (TAILQ_EMPTY(&conf->uplinks))
		conf_error(NULL, "no uplink defined");
	/*
	 * A hub relays by the Ethernet addresses it has learned (tap) or
	 * by the networks of its peers (tun: conf_check_networks() makes
	 * sure that with several peers each has one).
	 */
	if (conf->relay && npeers < 2 && errors == 0)
		conf_warn(&conf->relay, "relay yes with fewer than two peers "
		    "relays nothing");

	TAILQ_FOREACH(peer, &conf->peers, entry) {
		if (peer->fingerprint[0] == '\0')
			conf_error(peer, "peer \"%s\" has no fingerprint",
			    peer->name);
		/*
		 * The pipe process finds the peer of an incoming session
		 * by its fingerprint alone: a second peer with the same
		 * one would never be found, and its passive pipes would
		 * wait for ever.
		 */
		TAILQ_FOREACH(other, &conf->peers, entry) {
			if (other == peer)
				break;
			if (peer->fingerprint[0] != '\0' && strcmp(
			    other->fingerprint, peer->fingerprint) == 0) {
				conf_error(peer->fingerprint, "peer \"%s\": "
				    "fingerprint already used by peer \"%s\"",
				    peer->name, other->name);
				break;
			}
		}
		if (TAILQ_EMPTY(&peer->pipes))
			conf_error(peer, "peer \"%s\" has no pipes",
			    peer->name);
		TAILQ_FOREACH(pc, &peer->pipes, entry) {
			if (pc->remote.ss_family != AF_UNSPEC &&
			    sa_port(&pc->remote) == 0)
				sa_set_port(&pc->remote, conf->port);
			if (pc->remote_name[0] != '\0' && pc->remote_port == 0)
				pc->remote_port = conf->port;
			if ((up = config_find_uplink(conf,
			    pc->uplink)) == NULL) {
				conf_error(pc, "pipe on unknown uplink \"%s\"",
				    pc->uplink);
				continue;
			}
			if (pc->remote.ss_family != AF_UNSPEC &&
			    up->local.ss_family != AF_UNSPEC &&
			    pc->remote.ss_family != up->local.ss_family)
				conf_error(pc, "pipe on uplink \"%s\": remote "
				    "%s and local %s are of different "
				    "families", pc->uplink,
				    print_host(&pc->remote, h1, sizeof(h1)),
				    print_host(&up->local, h2, sizeof(h2)));
		}
		if (peer->probe.interval == 0 && peer->probe.timeout == 0)
			continue;	/* the global check covers it */
		interval = peer->probe.interval != 0 ?
		    peer->probe.interval : conf->probe.interval;
		timeout = peer->probe.timeout != 0 ?
		    peer->probe.timeout : conf->probe.timeout;
		if (timeout <= interval)
			conf_error(&peer->probe, "peer \"%s\": probe timeout "
			    "%s must be longer than the interval %s",
			    peer->name, print_ms(timeout, t1, sizeof(t1)),
			    print_ms(interval, t2, sizeof(t2)));
	}

	conf_check_networks();

	/*
	 * Each uplink binds its own listener: two with the same local
	 * address, interface, routing domain and port would fight over
	 * it at start, the second failing with EADDRINUSE.  After an
	 * error a bad local address reads as "any": no noise then.
	 */
	nerrors = errors;
	TAILQ_FOREACH(up, &conf->uplinks, entry) {
		if (nerrors != 0)
			break;
		TAILQ_FOREACH(oup, &conf->uplinks, entry) {
			if (oup == up)
				break;
			if (sa_cmp(&oup->local, &up->local) == 0 &&
			    strcmp(oup->ifname, up->ifname) == 0 &&
			    oup->rdomain == up->rdomain &&
			    (oup->port != 0 ? oup->port : conf->port) ==
			    (up->port != 0 ? up->port : conf->port)) {
				conf_error(up, "uplink \"%s\": same local "
				    "address, interface, rdomain and port as "
				    "uplink \"%s\"", up->name, oup->name);
				break;
			}
		}
	}

	/* after an error, a peer may be missing: no noise then */
	TAILQ_FOREACH(up, &conf->uplinks, entry)
		if (errors == 0 && !uplink_uses(conf, up->name))
			conf_warn(up, "uplink \"%s\" is not used by any peer",
			    up->name);

	if (path_absolute(conf->cert, "certificate", sizeof(conf->cert)) == 0)
		check_readable(conf->cert, "certificate", conf->cert);
	if (path_absolute(conf->key, "key", sizeof(conf->key)) == 0)
		check_key(conf->key);

	/* the start would fail on it, after -n said OK */
	if (getpwnam(conf->user) == NULL)
		conf_error(conf->user, "unknown user \"%s\"", conf->user);
}

/*
 * A relative path is taken from the directory of the configuration
 * file: the daemon runs from / and reloads from there, so the path is
 * made absolute once, here, and means the same at every reload.
 */
static int
path_absolute(char *path, const char *what, size_t size)
{
	char	 dir[PATH_MAX], *p, *slash;
	char	 res[PATH_MAX];

	if (path[0] == '/')
		return (0);
	if (strlcpy(dir, conf->conffile, sizeof(dir)) >= sizeof(dir))
		goto toolong;
	if ((slash = strrchr(dir, '/')) != NULL)
		*slash = '\0';
	else
		strlcpy(dir, ".", sizeof(dir));
	if ((p = realpath(dir, NULL)) == NULL) {
		conf_error(path, "%s \"%s\": directory of %s: %s", what,
		    path, conf->conffile, strerror(errno));
		return (-1);
	}
	if ((size_t)snprintf(res, sizeof(res), "%s%s%s", p,
	    strcmp(p, "/") == 0 ? "" : "/", path) >= sizeof(res) ||
	    strlcpy(path, res, size) >= size) {
		free(p);
		goto toolong;
	}
	free(p);
	return (0);
 toolong:
	conf_error(path, "%s \"%s\": path too long", what, path);
	return (-1);
}

/*
 * The parent reads the certificate and key at startup and at every
 * reload: better to hear now that they are not there.
 */
/*
 * The private key, as sshd treats a host key: the same rule as the
 * configuration file's, but not even the group may read it.
 */
static void
check_key(const char *path)
{
	struct stat	st;
	int		fd;

	if ((fd = open(path, O_RDONLY)) == -1) {
		conf_error(path, "key \"%s\": %s", path, strerror(errno));
		return;
	}
	if (fstat(fd, &st) == -1)
		conf_error(path, "key \"%s\": %s", path, strerror(errno));
	else if (!S_ISREG(st.st_mode))
		conf_error(path, "key \"%s\": not a regular file", path);
	else if (st.st_uid != 0 && st.st_uid != getuid())
		conf_error(path, "key \"%s\": owner not root or current "
		    "user", path);
	else if (st.st_mode & (S_IRWXG | S_IRWXO))
		conf_error(path, "key \"%s\": group or world accessible",
		    path);
	close(fd);
}

static void
check_readable(const void *obj, const char *what, const char *path)
{
	int	fd;

	if ((fd = open(path, O_RDONLY)) == -1) {
		conf_error(obj, "%s \"%s\": %s", what, path, strerror(errno));
		return;
	}
	close(fd);
}
