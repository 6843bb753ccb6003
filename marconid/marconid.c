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
#include <sys/wait.h>

#include <arpa/inet.h>

#include <err.h>
#include <errno.h>
#include <event.h>
#include <fcntl.h>
#include <grp.h>
#include <imsg.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <tls.h>
#include <unistd.h>

#include "marconid.h"

/* A child process as the parent sees it. */
struct child {
	TAILQ_ENTRY(child)	 entry;
	enum marconid_process	 proc;
	char			 uplink[MARCONID_NAMELEN];
	pid_t			 pid;
	struct imsgev		 iev;
	struct event		 restart_ev;	/* back-off timer */
	struct event		 sock_ev;	/* retry binding the uplink */
	int			 backoff;	/* seconds before a restart */
	int64_t			 started;	/* getmonotime() at start */
	uint32_t		 restarts;
	int			 has_udp;
	int			 has_tcp;
	struct uplink_conf	 bound;		/* as the sockets were made */
	int			 removed;	/* uplink gone: no restart */
	int			 respawn;	/* uplink changed: restart now */
	/* a reload in progress: this process was sent it, and holds it */
	int			 in_reload;
	uint32_t		 acked;		/* generation */
	/* descriptors asked for: bounded, see pipe_connect() */
	struct connect_rate	*rates;
	size_t			 nrates;
};
TAILQ_HEAD(children, child);

/*
 * An uplink process gets at most one descriptor per peer per
 * CONNECT_INTERVAL (its own back-off is a second at least), and the
 * parent stops reading its channel while more than CONNECT_QUEUE_MAX
 * messages wait to be written to it: a process that asks and never
 * reads cannot make the parent hold more than that many descriptors.
 */
#define CONNECT_INTERVAL	500	/* ms */
#define CONNECT_QUEUE_MAX	32

struct connect_rate {
	uint32_t		 peerid;
	int64_t			 last;	/* getmonotime() of the last one */
};

/* How long a reload waits for every process to hold it, in seconds. */
#define RELOAD_TIMEOUT		5

static void		 usage(void) __attribute__((__noreturn__));
static void		 parent_sig(int, short, void *);
static void		 parent_dispatch_engine(int, short, void *);
static void		 parent_dispatch_pipe(int, short, void *);
static pid_t		 start_child(enum marconid_process, const char *, int);
static void		 engine_start(void);
static struct child	*pipe_find(const char *);
static void		 pipe_start(struct child *);
static void		 pipe_restart_timeout(int, short, void *);
static void		 pipe_sock_timeout(int, short, void *);
static void		 pipe_open_sockets(struct child *);
static void		 pipe_new(struct uplink_conf *);
static void		 child_reap(void);
static int		 iface_open_all(struct marconid_conf *);
static void		 iface_send(struct iface_conf *, int);
static void		 kroute_sync(struct marconid_conf *);
static void		 kroute_send(void);
static void		 parent_reload(uint32_t);
static void		 reload_ack(struct child *, struct imsg *);
static void		 reload_check(void);
static void		 reload_timeout(int, short, void *);
static void		 reload_commit(void);
static void		 child_send_config(struct child *);
static struct tlsident	*tls_load_identity(struct marconid_conf *);
static void		 pipe_send_identity(struct child *,
			    const struct tlsident *, uint32_t);
static void		 leaf_renew(int, short, void *);
static void		 leaf_renew_arm(void);
static void		 pipe_connect(struct child *, struct connect_req *);
static void		 pipe_reject(struct child *, const char *);
static int		 reload_waits_for(struct child *);
static void		 reload_reply(uint32_t, int, const char *);
static void		 parent_shutdown(int) __attribute__((__noreturn__));
static void		 remote_changed(uint32_t, const char *,
			    const struct sockaddr_storage *);
static void		 remote_carry(struct marconid_conf *,
			    struct marconid_conf *);

static struct marconid_conf	*conf;
/*
 * A reload is a transaction: the new configuration (nconf) goes to
 * every process, each answers IMSG_CFG_ACK once it holds it, and only
 * then does IMSG_CFG_COMMIT make them all switch, the parent too.
 */
static struct marconid_conf	*nconf;
static uint32_t			 nconf_ctlid;	/* who asked, 0: SIGHUP */
static int			 reload_again;	/* SIGHUP during a reload */
/* what a reload kept although the file changed it, for marconictl */
static char			 reload_note[2 * PATH_MAX + 128];
static struct event		 reload_ev;
static uint32_t			 last_peerid;
static struct child		 engine;
static struct children		 pipes = TAILQ_HEAD_INITIALIZER(pipes);
static const char		*conffile = MARCONID_CONF;
static const char		*csock;
static char			*argv0;
static int			 debug;
static int			 verbose;
static int			 iface_fd = -1;
/* the routes to the peers' networks this process put in the kernel */
static struct kroute		*kroutes;
static size_t			 nkroutes;
static int			 control_fd = -1;
static int			 rcontrol_fd = -1;	/* restricted */
static int			 shutting_down;
/*
 * The site's certificate and key, in this process only (tlsctx.c);
 * nident is that of the configuration being reloaded.
 */
static struct tlsident		*ident, *nident;
static struct event		 leaf_ev;

static void
usage(void)
{
	extern char	*__progname;

	fprintf(stderr, "usage: %s [-dnVv] [-D macro=value] [-f file] "
	    "[-s socket]\n", __progname);
	exit(1);
}

int
main(int argc, char *argv[])
{
	struct event	 ev_sigint, ev_sigterm, ev_sighup, ev_sigchld;
	struct passwd	*pw;
	struct group	*gr;
	struct uplink_conf *up;
	const char	*procname = NULL, *uplink = NULL, *user = NULL;
	gid_t		 rgid = (gid_t)-1;
	int		 ch, noaction = 0;

	log_init(1, LOG_DAEMON);	/* stderr until we know better */
	/*
	 * libevent's timers to the microsecond (a timerfd on Linux):
	 * epoll's millisecond timeout wakes a pipe early and then again,
	 * two or three times for each probe.  Every process reads it at
	 * event_init(); the children inherit it.
	 */
	if (setenv("EVENT_PRECISE_TIMER", "1", 1) == -1)
		err(1, "setenv");
	/* setproctitle() overwrites argv: keep our path for the re-exec */
	if ((argv0 = strdup(argv[0])) == NULL)
		err(1, NULL);
	proc_title_init();

	while ((ch = getopt(argc, argv, "D:df:I:nP:s:U:Vv")) != -1) {
		switch (ch) {
		case 'D':
			if (cmdline_symset(optarg) < 0)
				log_warnx("could not parse macro definition %s",
				    optarg);
			break;
		case 'd':
			debug = 1;
			break;
		case 'f':
			conffile = optarg;
			break;
		case 'I':
			uplink = optarg;
			break;
		case 'n':
			noaction = 1;
			break;
		case 'P':
			procname = optarg;
			break;
		case 's':
			csock = optarg;
			break;
		case 'U':
			user = optarg;
			break;
		case 'V':
			printf("marconid %s\n", MARCONID_VERSION);
			exit(0);
		case 'v':
			verbose++;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc > 0)
		usage();

	/* re-executed as a child: the channel to the parent is on fd 3 */
	if (procname != NULL) {
		if (user == NULL)
			fatalx("-P needs -U");
		if (strcmp(procname, "engine") == 0)
			engine_main(debug, verbose, user);
		else if (strcmp(procname, "pipe") == 0 && uplink != NULL)
			pipe_main(debug, verbose, user, uplink);
		fatalx("unknown process %s", procname);
	}

	log_setverbose(verbose);
	if ((conf = parse_config(conffile, verbose ?
	    MARCONID_OPT_VERBOSE : 0)) == NULL)
		exit(1);
	config_assign_ids(conf, NULL, &last_peerid);
	if (csock != NULL &&
	    strlcpy(conf->csock, csock, sizeof(conf->csock)) >=
	    sizeof(conf->csock))
		errx(1, "control socket path too long");
	/* the file said it apart from its own socket; -s may meet it */
	if (conf->rsock[0] != '\0' && strcmp(conf->rsock, conf->csock) == 0)
		errx(1, "the restricted control socket %s cannot also be "
		    "the control socket", conf->rsock);

	if (noaction) {
		if (verbose)
			print_config(conf);
		resolve_check(conf);
		fprintf(stderr, "configuration OK\n");
		exit(0);
	}

	if (geteuid() != 0)
		errx(1, "need root privileges");
	if ((ident = tls_load_identity(conf)) == NULL)
		exit(1);
	if ((pw = getpwnam(conf->user)) == NULL)
		errx(1, "unknown user %s (create it, see marconid(8))",
		    conf->user);
	if (argv0 == NULL || argv0[0] != '/')
		errx(1, "marconid must be started with an absolute path: "
		    "it re-executes itself for each child process");

	if (control_check(conf->csock) == -1)
		errx(1, "control socket %s is in use: is marconid already "
		    "running?", conf->csock);
	if (conf->rsock[0] != '\0' && control_check(conf->rsock) == -1)
		errx(1, "restricted control socket %s is in use: is marconid "
		    "already running?", conf->rsock);
	if (conf->rsock_group[0] != '\0') {
		if ((gr = getgrnam(conf->rsock_group)) == NULL)
			errx(1, "unknown group %s for the restricted control "
			    "socket", conf->rsock_group);
		rgid = gr->gr_gid;
	}

	log_init(debug, LOG_DAEMON);
	log_setverbose(verbose);
	if (!debug && daemon(0, 0) == -1)
		fatal("daemon");

	log_procinit("parent");
	proc_title("parent");
	log_info("startup");

	if ((control_fd = control_init(conf->csock, 0, (gid_t)-1)) == -1)
		fatalx("control socket setup failed");
	if (conf->rsock[0] != '\0' &&
	    (rcontrol_fd = control_init(conf->rsock, 1, rgid)) == -1) {
		unlink(conf->csock);
		fatalx("restricted control socket setup failed");
	}

	resolve_init(event_init(), remote_changed);
	evtimer_set(&reload_ev, reload_timeout, NULL);
	evtimer_set(&leaf_ev, leaf_renew, NULL);
	leaf_renew_arm();
	signal_set(&ev_sigint, SIGINT, parent_sig, NULL);
	signal_set(&ev_sigterm, SIGTERM, parent_sig, NULL);
	signal_set(&ev_sighup, SIGHUP, parent_sig, NULL);
	signal_set(&ev_sigchld, SIGCHLD, parent_sig, NULL);
	signal_add(&ev_sigint, NULL);
	signal_add(&ev_sigterm, NULL);
	signal_add(&ev_sighup, NULL);
	signal_add(&ev_sigchld, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (iface_open_all(conf) == -1)
		parent_shutdown(1);
	kroute_sync(conf);

	engine_start();
	TAILQ_FOREACH(up, &conf->uplinks, entry)
		pipe_new(up);
	resolve_sync(conf);

	event_dispatch();
	parent_shutdown(0);
}

static void
parent_sig(int sig, short event, void *arg)
{
	switch (sig) {
	case SIGTERM:
	case SIGINT:
		log_info("%s received, shutting down",
		    sig == SIGTERM ? "SIGTERM" : "SIGINT");
		parent_shutdown(0);
		/* NOTREACHED */
	case SIGHUP:
		log_info("SIGHUP received, reloading %s", conffile);
		parent_reload(0);
		break;
	case SIGCHLD:
		child_reap();
		break;
	default:
		fatalx("unexpected signal");
	}
}

/*
 * Fork and re-execute ourselves so that the child gets a fresh address
 * space with nothing of the parent's memory (keys, configuration) in it.
 */
static pid_t
start_child(enum marconid_process proc, const char *uplink, int fd)
{
	char	*argv[16];
	int	 argc = 0;
	pid_t	 pid;

	switch (pid = fork()) {
	case -1:
		fatal("%s: fork", __func__);
	case 0:
		break;
	default:
		close(fd);
		return (pid);
	}

	if (fd != PARENT_SOCK_FILENO) {
		if (dup2(fd, PARENT_SOCK_FILENO) == -1)
			fatal("%s: dup2", __func__);
	} else if (fcntl(fd, F_SETFD, 0) == -1)
		fatal("%s: fcntl", __func__);

	/* a short argv[0] leaves setproctitle() room without padding */
	argv[argc++] = "marconid";
	argv[argc++] = "-P";
	argv[argc++] = proc == PROC_ENGINE ? "engine" : "pipe";
	argv[argc++] = "-U";
	argv[argc++] = conf->user;
	if (proc == PROC_PIPE) {
		argv[argc++] = "-I";
		argv[argc++] = (char *)(uintptr_t)uplink;
	}
	if (debug)
		argv[argc++] = "-d";
	if (verbose)
		argv[argc++] = "-v";
	if (verbose > 1)
		argv[argc++] = "-v";
	argv[argc++] = NULL;

	execv(argv0, argv);
	fatal("%s: execv %s", __func__, argv0);
}

static void
engine_start(void)
{
	struct iface_conf	*ifc;
	int32_t			 restricted;
	int			 sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    PF_UNSPEC, sv) == -1)
		fatal("%s: socketpair", __func__);

	engine.proc = PROC_ENGINE;
	engine.pid = start_child(PROC_ENGINE, NULL, sv[1]);
	engine.started = getmonotime();
	imsgev_init(&engine.iev, sv[0], parent_dispatch_engine, &engine);
	/* as with OpenBSD's imsg, the sender must allow fd passing too */
	imsgbuf_allow_fdpass(&engine.iev.ibuf);

	child_send_config(&engine);
	if ((ifc = TAILQ_FIRST(&conf->ifaces)) != NULL && iface_fd != -1)
		iface_send(ifc, iface_fd);
	kroute_send();
	restricted = 0;
	imsg_compose_event(&engine.iev, IMSG_CONTROL_FD, 0, 0, control_fd,
	    &restricted, sizeof(restricted));
	control_fd = -1;	/* the imsg layer closes it once sent */
	if (rcontrol_fd != -1) {
		restricted = 1;
		imsg_compose_event(&engine.iev, IMSG_CONTROL_FD, 0, 0,
		    rcontrol_fd, &restricted, sizeof(restricted));
		rcontrol_fd = -1;
	}
}

static int
iface_open_all(struct marconid_conf *c)
{
	struct iface_conf	*ifc;

	TAILQ_FOREACH(ifc, &c->ifaces, entry) {
		if ((iface_fd = tun_open(ifc)) == -1)
			return (-1);
		if (tun_configure(iface_fd, ifc) == -1)
			return (-1);
		log_info("interface %s: %s, mtu %u", ifc->name,
		    ctl_iftype_name(ifc->type), ifc->mtu);
	}
	return (0);
}

/*
 * The engine gets its own copy of the device; the parent keeps one so
 * that the interface, its addresses and routes survive an engine that
 * is being replaced and can be reconfigured on reload.
 */
static void
iface_send(struct iface_conf *ifc, int fd)
{
	int	 dupfd;

	if ((dupfd = fcntl(fd, F_DUPFD_CLOEXEC, 0)) == -1)
		fatal("%s: dup", __func__);
	imsg_compose_event(&engine.iev, IMSG_IFACE_FD, 0, 0, dupfd,
	    ifc->name, sizeof(ifc->name));
}

/*
 * The kernel routes of a tun interface: one per network of a peer,
 * through the interface.  Those that c no longer has go, those it
 * adds come; the others stay untouched, and so does every route this
 * process did not make: one already there (the administrator's, or
 * another daemon's) is left alone and reported as not installed.
 * c NULL: all of ours go, at exit.
 */
static void
kroute_sync(struct marconid_conf *c)
{
	struct kroute		*want = NULL, *nk, kr;
	struct iface_conf	*ifc = NULL;
	struct peer_conf	*pc;
	struct iface_addr	*ia;
	size_t			 nwant = 0, i, j;
	int			 af, r;
	char			 abuf[INET6_ADDRSTRLEN];

	/* the running interface: a new name or type waits for a restart */
	if (conf != NULL)
		ifc = TAILQ_FIRST(&conf->ifaces);
	if (c != NULL && ifc != NULL && iface_fd != -1 &&
	    ifc->type == IFACE_TUN) {
		TAILQ_FOREACH(pc, &c->peers, entry)
			TAILQ_FOREACH(ia, &pc->networks, entry)
				nwant++;
		if (nwant > KROUTE_MAX)
			nwant = KROUTE_MAX;
		if (nwant > 0 && (want = calloc(nwant, sizeof(*want))) ==
		    NULL)
			fatal("%s", __func__);
		i = 0;
		TAILQ_FOREACH(pc, &c->peers, entry)
			TAILQ_FOREACH(ia, &pc->networks, entry) {
				if (i == nwant)
					break;
				memset(&kr, 0, sizeof(kr));
				if ((af = route_sa_addr(&ia->ss,
				    kr.addr)) == -1)
					continue;
				kr.af = af;
				kr.plen = ia->prefixlen;
				want[i++] = kr;
			}
		nwant = i;
	}

	/* ours that are no longer wanted */
	for (i = 0; i < nkroutes; ) {
		for (j = 0; j < nwant; j++)
			if (memcmp(&want[j], &kroutes[i], sizeof(kr)) == 0)
				break;
		if (j < nwant) {
			i++;
			continue;
		}
		if (ifc != NULL && tun_route(ifc, 0, &kroutes[i]) == 0)
			log_info("interface %s: route %s/%u removed",
			    ifc->name, inet_ntop(kroutes[i].af,
			    kroutes[i].addr, abuf, sizeof(abuf)),
			    kroutes[i].plen);
		kroutes[i] = kroutes[--nkroutes];
	}
	/* wanted, not ours yet */
	for (j = 0; j < nwant; j++) {
		for (i = 0; i < nkroutes; i++)
			if (memcmp(&want[j], &kroutes[i], sizeof(kr)) == 0)
				break;
		if (i < nkroutes)
			continue;
		inet_ntop(want[j].af, want[j].addr, abuf, sizeof(abuf));
		if ((r = tun_route(ifc, 1, &want[j])) == 1) {
			log_warnx("interface %s: a route to %s/%u is there "
			    "already, not ours: left alone", ifc->name, abuf,
			    want[j].plen);
			continue;
		}
		if (r == -1)
			continue;
		if ((nk = reallocarray(kroutes, nkroutes + 1,
		    sizeof(*kroutes))) == NULL)
			fatal("%s", __func__);
		kroutes = nk;
		kroutes[nkroutes++] = want[j];
		log_info("interface %s: route %s/%u added", ifc->name, abuf,
		    want[j].plen);
	}
	free(want);
}

/* The engine shows which routes are in the kernel (show routes). */
static void
kroute_send(void)
{
	if (engine.pid == 0)
		return;
	imsg_compose_event(&engine.iev, IMSG_ROUTE_KERNEL, 0, 0, -1, kroutes,
	    nkroutes * sizeof(*kroutes));
}

static struct child *
pipe_find(const char *name)
{
	struct child	*c;

	TAILQ_FOREACH(c, &pipes, entry)
		if (strcmp(c->uplink, name) == 0)
			return (c);
	return (NULL);
}

static void
pipe_new(struct uplink_conf *up)
{
	struct child	*c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		fatal("%s", __func__);
	c->proc = PROC_PIPE;
	strlcpy(c->uplink, up->name, sizeof(c->uplink));
	c->bound = *up;
	c->backoff = RESTART_MIN;
	evtimer_set(&c->restart_ev, pipe_restart_timeout, c);
	evtimer_set(&c->sock_ev, pipe_sock_timeout, c);
	TAILQ_INSERT_TAIL(&pipes, c, entry);
	pipe_start(c);
}

/*
 * One process per uplink.  It gets the configuration, a channel of its
 * own to the engine (the other end goes to the engine) and the sockets
 * bound to its uplink.
 */
static void
pipe_start(struct child *c)
{
	struct pipe_proc	 pp;
	int			 sv[2], ev[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    PF_UNSPEC, sv) == -1)
		fatal("%s: socketpair", __func__);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    PF_UNSPEC, ev) == -1)
		fatal("%s: socketpair", __func__);

	c->pid = start_child(PROC_PIPE, c->uplink, sv[1]);
	c->started = getmonotime();
	c->has_udp = c->has_tcp = 0;
	c->respawn = 0;
	free(c->rates);
	c->rates = NULL;
	c->nrates = 0;
	imsgev_init(&c->iev, sv[0], parent_dispatch_pipe, c);
	imsgbuf_allow_fdpass(&c->iev.ibuf);
	log_debug("uplink %s: process %d started", c->uplink, (int)c->pid);

	/* the running configuration; one being reloaded follows its commit */
	child_send_config(c);
	imsg_compose_event(&c->iev, IMSG_PIPE_CHANNEL, 0, 0, ev[1],
	    c->uplink, sizeof(c->uplink));
	imsg_compose_event(&engine.iev, IMSG_PIPE_CHANNEL, 0, 0, ev[0],
	    c->uplink, sizeof(c->uplink));

	memset(&pp, 0, sizeof(pp));
	strlcpy(pp.uplink, c->uplink, sizeof(pp.uplink));
	pp.pid = c->pid;
	pp.restarts = c->restarts;
	imsg_compose_event(&engine.iev, IMSG_PIPE_PROC, 0, 0, -1,
	    &pp, sizeof(pp));

	pipe_open_sockets(c);
}

/*
 * Binding may fail while the uplink has no address yet (DHCP, PPPoE):
 * keep trying rather than give up on the uplink.
 */
static void
pipe_open_sockets(struct child *c)
{
	struct uplink_conf	*up;
	struct uplink_sock	 us;
	uint16_t		 port;
	int			 fd;

	if ((up = config_find_uplink(conf, c->uplink)) == NULL)
		return;
	port = up->port != 0 ? up->port : conf->port;

	if (!c->has_udp) {
		memset(&us, 0, sizeof(us));
		us.kind = UPLINK_SOCK_UDP;
		if ((fd = uplink_socket(up, SOCK_DGRAM, port, &us.ss)) != -1) {
			imsg_compose_event(&c->iev, IMSG_UPLINK_SOCKET, 0, 0,
			    fd, &us, sizeof(us));
			c->has_udp = 1;
		}
	}
	if (!c->has_tcp) {
		memset(&us, 0, sizeof(us));
		us.kind = UPLINK_SOCK_TCP;
		if ((fd = uplink_socket(up, SOCK_STREAM, port, &us.ss)) !=
		    -1) {
			imsg_compose_event(&c->iev, IMSG_UPLINK_SOCKET, 0, 0,
			    fd, &us, sizeof(us));
			c->has_tcp = 1;
		}
	}
	if (!c->has_udp || !c->has_tcp) {
		struct timeval	tv = { 5, 0 };

		log_warnx("uplink %s: cannot bind its sockets yet, "
		    "retrying every %llds", c->uplink, (long long)tv.tv_sec);
		evtimer_add(&c->sock_ev, &tv);
	}
}

static void
pipe_sock_timeout(int fd, short event, void *arg)
{
	struct child	*c = arg;

	if (c->pid != 0)
		pipe_open_sockets(c);
}

static void
pipe_restart_timeout(int fd, short event, void *arg)
{
	struct child	*c = arg;

	if (shutting_down || c->removed)
		return;
	c->restarts++;
	log_info("uplink %s: restarting its process (restart %u)",
	    c->uplink, c->restarts);
	pipe_start(c);
}

static void
child_reap(void)
{
	struct child	*c;
	struct pipe_proc pp;
	struct timeval	 tv;
	pid_t		 pid;
	int		 status;
	char		 why[64];

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (WIFSIGNALED(status))
			snprintf(why, sizeof(why), "terminated by signal %d "
			    "(%s)", WTERMSIG(status),
			    strsignal(WTERMSIG(status)));
		else
			snprintf(why, sizeof(why), "exited with status %d",
			    WEXITSTATUS(status));

		if (pid == engine.pid) {
			engine.pid = 0;
			if (!shutting_down) {
				log_warnx("engine %s, shutting down", why);
				parent_shutdown(1);
			}
			continue;
		}
		TAILQ_FOREACH(c, &pipes, entry)
			if (c->pid == pid)
				break;
		if (c == NULL)
			continue;

		c->pid = 0;
		c->in_reload = 0;	/* a reload no longer waits for it */
		imsgev_clear(&c->iev);
		evtimer_del(&c->sock_ev);
		if (shutting_down)
			continue;
		reload_check();

		if (c->removed) {
			log_info("uplink %s: process %s, uplink removed",
			    c->uplink, why);
			TAILQ_REMOVE(&pipes, c, entry);
			evtimer_del(&c->restart_ev);
			free(c->rates);
			free(c);
			continue;
		}

		memset(&pp, 0, sizeof(pp));
		strlcpy(pp.uplink, c->uplink, sizeof(pp.uplink));
		pp.restarts = c->restarts;
		imsg_compose_event(&engine.iev, IMSG_PIPE_PROC, 0, 0, -1,
		    &pp, sizeof(pp));

		if (c->respawn) {
			/* the uplink changed on reload: no back-off */
			c->backoff = RESTART_MIN;
			pipe_start(c);
			continue;
		}
		/* a process that ran for a while gets a fresh back-off */
		if (getmonotime() - c->started > RESTART_STABLE * 1000)
			c->backoff = RESTART_MIN;
		log_warnx("uplink %s: process %d %s, restarting in %ds",
		    c->uplink, (int)pid, why, c->backoff);
		timerclear(&tv);
		tv.tv_sec = c->backoff;
		evtimer_add(&c->restart_ev, &tv);
		c->backoff *= 2;
		if (c->backoff > RESTART_MAX)
			c->backoff = RESTART_MAX;
	}
}

static void
parent_dispatch_engine(int fd, short event, void *arg)
{
	struct imsgev	*iev = arg;
	struct imsg	 imsg;
	struct ctl_request req;
	struct child	*c;
	ssize_t		 n;
	int		 i;

	if (imsgev_read(iev, event) == 0) {
		if (shutting_down) {
			/* the event persists: do not spin on end of file */
			event_del(&iev->ev);
			return;
		}
		/* the engine is on its way out: say why if we can */
		for (i = 0; i < 20 && engine.pid != 0; i++) {
			child_reap();
			if (engine.pid != 0)
				usleep(50 * 1000);
		}
		log_warnx("lost the engine, shutting down");
		parent_shutdown(1);
	}

	for (;;) {
		if ((n = imsg_get(&iev->ibuf, &imsg)) == -1)
			fatal("%s: imsg_get", __func__);
		if (n == 0)
			break;

		switch (imsg_get_type(&imsg)) {
		case IMSG_CTL_RELOAD:
			parent_reload(imsg_get_id(&imsg));
			break;
		case IMSG_CFG_ACK:
			reload_ack(&engine, &imsg);
			break;
		case IMSG_CTL_LOG_VERBOSE:
			if (imsg_get_data(&imsg, &req, sizeof(req)) == -1)
				fatalx("%s: bad IMSG_CTL_LOG_VERBOSE",
				    __func__);
			verbose = req.verbose;
			log_setverbose(verbose);
			TAILQ_FOREACH(c, &pipes, entry)
				if (c->pid != 0)
					imsg_compose_event(&c->iev,
					    IMSG_CTL_LOG_VERBOSE, 0, 0, -1,
					    &req, sizeof(req));
			break;
		default:
			fatalx("%s: unexpected %s from the engine", __func__,
			    imsg_type_name(imsg_get_type(&imsg)));
		}
		imsg_free(&imsg);
	}
	imsg_event_add(iev);
}

static void
parent_dispatch_pipe(int fd, short event, void *arg)
{
	struct imsgev	*iev = arg;
	struct child	*c = iev->data;
	struct imsg	 imsg;
	struct connect_req cr;
	struct resolve_req rr;
	ssize_t		 n;

	if (imsgev_read(iev, event) == 0) {
		/* the process is gone or going: SIGCHLD does the rest */
		imsgev_clear(iev);
		return;
	}

	if (iev->paused) {
		if (imsgbuf_queuelen(&iev->ibuf) > CONNECT_QUEUE_MAX / 2) {
			imsg_event_add(iev);
			return;
		}
		iev->paused = 0;
		log_debug("uplink %s: reads its answers again", c->uplink);
	}
	for (;;) {
		/* its answers wait to be written: stop taking its asks */
		if (imsgbuf_queuelen(&iev->ibuf) >= CONNECT_QUEUE_MAX) {
			log_warnx("uplink %s: %u answers not read, taking no "
			    "more requests until it reads them", c->uplink,
			    imsgbuf_queuelen(&iev->ibuf));
			iev->paused = 1;
			imsg_event_add(iev);
			return;
		}
		if ((n = imsg_get(&iev->ibuf, &imsg)) == -1) {
			pipe_reject(c, "malformed message");
			return;
		}
		if (n == 0) {
			imsg_event_add(iev);
			return;
		}
		switch (imsg_get_type(&imsg)) {
		case IMSG_CONNECT:
			if (imsg_get_data(&imsg, &cr, sizeof(cr)) == -1)
				goto bad;
			pipe_connect(c, &cr);
			break;
		case IMSG_RESOLVE:
			if (imsg_get_data(&imsg, &rr, sizeof(rr)) == -1)
				goto bad;
			/* unknown or too soon: nothing, it may be stale */
			resolve_again(rr.peerid, c->uplink);
			break;
		case IMSG_CFG_ACK:
			if (imsg_get_len(&imsg) != sizeof(uint32_t))
				goto bad;
			reload_ack(c, &imsg);
			break;
		default:
			goto bad;
		}
		imsg_free(&imsg);
	}
 bad:
	pipe_reject(c, imsg_type_name(imsg_get_type(&imsg)));
	imsg_free(&imsg);
}

/*
 * Anything malformed or unexpected from an uplink process means it is
 * confused or compromised: it is ended and restarted like a crashed
 * one.  A request that is only stale (made under the configuration
 * before a reload) is not that: pipe_connect() answers it without a
 * descriptor.
 */
static void
pipe_reject(struct child *c, const char *what)
{
	log_warnx("uplink %s: unexpected or bad %s, restarting its "
	    "process", c->uplink, what);
	kill(c->pid, SIGKILL);
	imsgev_clear(&c->iev);
}

/*
 * The site's certificate and key, read here as root and kept here: no
 * other process ever gets the key.  The text of the files is cleared
 * once libcrypto has parsed it.
 */
static struct tlsident *
tls_load_identity(struct marconid_conf *c)
{
	struct tlsident	*id;
	uint8_t		*cert, *key;
	size_t		 certlen, keylen;
	char		 err[256];

	if ((cert = tls_load_file(c->cert, &certlen, NULL)) == NULL) {
		log_warn("certificate %s", c->cert);
		return (NULL);
	}
	if ((key = tls_load_file(c->key, &keylen, NULL)) == NULL) {
		log_warn("key %s", c->key);
		tls_unload_file(cert, certlen);
		return (NULL);
	}
	if ((id = tlsident_load(cert, certlen, key, keylen, err,
	    sizeof(err))) == NULL)
		log_warnx("certificate %s, key %s: %s", c->cert, c->key, err);
	tls_unload_file(cert, certlen);
	tls_unload_file(key, keylen);
	return (id);
}

/*
 * A leaf of its own to an uplink process (tlsctx.c): a fresh key pair
 * and a certificate for it signed with the site's key, which the
 * process presents with the site's certificate.  The message carries
 * the generation of the configuration it belongs to: the process uses
 * a leaf of the running generation at once (a renewal) and holds one
 * of another until that generation's commit (a reload).  Should
 * libcrypto fail, the process keeps the leaf it has.
 */
static void
pipe_send_identity(struct child *c, const struct tlsident *id, uint32_t gen)
{
	uint8_t	*chain, *key;
	size_t	 chainlen, keylen;

	if (tlsident_issue(id, time(NULL), &chain, &chainlen, &key,
	    &keylen) == -1) {
		log_warnx("uplink %s: no new certificate issued", c->uplink);
		return;
	}
	imsg_compose_event(&c->iev, IMSG_CFG_TLS_CERT, gen, 0, -1, chain,
	    chainlen);
	imsg_compose_event(&c->iev, IMSG_CFG_TLS_KEY, gen, 0, -1, key,
	    keylen);
	free(chain);
	explicit_bzero(key, keylen);
	free(key);
}

/*
 * Every LEAF_RENEW, a new leaf to every uplink process, so that the
 * one each presents always has LEAF_LIFETIME - LEAF_RENEW or more to
 * run; sessions up go on with theirs (a TLS session does not look at
 * the certificate again).  A leaf of a reload under way comes with it.
 */
static void
leaf_renew(int fd, short event, void *arg)
{
	struct child	*c;

	TAILQ_FOREACH(c, &pipes, entry)
		if (c->pid != 0 && !c->respawn)
			pipe_send_identity(c, ident, conf->generation);
	leaf_renew_arm();
}

static void
leaf_renew_arm(void)
{
	struct timeval	 tv = { LEAF_RENEW, 0 };
#ifdef MARCONID_TEST_HOOKS
	const char	*errstr, *env;

	/* test builds: renewals seconds apart, so that a test sees them */
	if ((env = getenv("MARCONID_TEST_LEAF_RENEW")) != NULL) {
		tv.tv_sec = strtonum(env, 1, LEAF_RENEW, &errstr);
		if (errstr != NULL)
			fatalx("MARCONID_TEST_LEAF_RENEW is %s", errstr);
	}
#endif

	evtimer_add(&leaf_ev, &tv);
}

/*
 * An uplink process asks for a socket to a peer: only to an address
 * the running configuration gives for a pipe of that peer on that
 * uplink, and not more often than CONNECT_INTERVAL per peer.  What
 * does not qualify is answered without a descriptor: after a reload a
 * request may be stale through no fault of the process.
 */
static void
pipe_connect(struct child *c, struct connect_req *cr)
{
	struct peer_conf	*pc;
	struct pipe_conf	*pic;
	struct uplink_conf	*up;
	struct connect_rate	*r, *nr;
	int64_t			 now = getmonotime();
	size_t			 i;
	int			 fd = -1;

	cr->peer[sizeof(cr->peer) - 1] = '\0';
	if ((pc = config_find_peer_id(conf, cr->peerid)) == NULL ||
	    (up = config_find_uplink(conf, c->uplink)) == NULL)
		goto answer;
	TAILQ_FOREACH(pic, &pc->pipes, entry)
		if (strcmp(pic->uplink, c->uplink) == 0)
			break;
	if (pic == NULL || pic->remote.ss_family == AF_UNSPEC ||
	    sa_cmp(&pic->remote, &cr->remote) != 0)
		goto answer;

	for (i = 0, r = NULL; i < c->nrates; i++)
		if (c->rates[i].peerid == cr->peerid) {
			r = &c->rates[i];
			break;
		}
	if (r != NULL && now - r->last < CONNECT_INTERVAL) {
		log_debug("uplink %s: connect to peer %s again after %lld ms, "
		    "refused", c->uplink, pc->name,
		    (long long)(now - r->last));
		goto answer;
	}
	if (r == NULL) {
		/* one per peer: reload_commit() drops those of the gone */
		if ((nr = reallocarray(c->rates, c->nrates + 1,
		    sizeof(*nr))) == NULL)
			fatal("%s", __func__);
		c->rates = nr;
		r = &c->rates[c->nrates++];
		r->peerid = cr->peerid;
	}
	r->last = now;
	fd = uplink_connect(up, &cr->remote);
 answer:
	imsg_compose_event(&c->iev, IMSG_CONNECT, 0, 0, fd, cr, sizeof(*cr));
}

static void
reload_reply(uint32_t id, int code, const char *msg)
{
	struct ibuf		*buf;
	struct ctl_result	 res;
	size_t			 len = 0;

	if (id == 0)
		return;	/* SIGHUP: nobody to answer */
	if (msg != NULL)
		len = strlen(msg) + 1;
	if (len > CTL_ERRLEN)
		len = CTL_ERRLEN;
	memset(&res, 0, sizeof(res));
	res.code = code;
	if ((buf = imsg_create(&engine.iev.ibuf, IMSG_CTL_RESULT, id, 0,
	    sizeof(res) + len)) == NULL)
		fatal("%s", __func__);
	if (imsg_add(buf, &res, sizeof(res)) == -1)
		fatal("%s", __func__);
	if (len > 0) {
		if (imsg_add(buf, msg, len - 1) == -1 ||
		    imsg_add(buf, "", 1) == -1)
			fatal("%s", __func__);
	}
	imsg_close(&engine.iev.ibuf, buf);
	imsg_event_add(&engine.iev);
}

/*
 * Parse into a new configuration; on any error the running one stays.
 * Otherwise it goes to the engine and to every uplink process that
 * keeps running, and each answers once it holds it (reload_ack());
 * when all have, reload_commit() makes everybody switch at once.  The
 * children compare it with theirs, and the parent touches only what
 * changed: uplinks that came or went, uplinks bound differently, the
 * interface.
 */
static void
parent_reload(uint32_t id)
{
	struct marconid_conf	*c;
	struct iface_conf	*ifc, *oifc;
	struct timeval		 tv;
	struct child		*ch;
	char			*msg = NULL;
	char			 one[PATH_MAX + MARCONID_NAMELEN + 96];

	if (nconf != NULL) {
		if (id == 0) {
			/* a signal has nobody to answer: do it after */
			reload_again = 1;
			return;
		}
		reload_reply(id, CTL_RES_BUSY, NULL);
		return;
	}

	reload_note[0] = '\0';
	if ((c = parse_config(conffile, verbose ?
	    MARCONID_OPT_VERBOSE : 0)) == NULL) {
		log_warnx("config file %s has errors, not reloading",
		    conffile);
		if (asprintf(&msg, "config file %s has errors, not "
		    "reloading\n%s", conffile, parse_errors()) == -1)
			msg = NULL;
		reload_reply(id, CTL_RES_CONFIG, msg);
		free(msg);
		return;
	}

	/* a certificate or key that cannot be read fails the reload */
	if ((nident = tls_load_identity(c)) == NULL) {
		if (asprintf(&msg, "config file %s: certificate or key "
		    "cannot be loaded, not reloading", conffile) == -1)
			msg = NULL;
		reload_reply(id, CTL_RES_CONFIG, msg);
		free(msg);
		config_free(c);
		return;
	}

	/* what the processes were set up with cannot change under them */
	if (strcmp(c->user, conf->user) != 0)
		log_warnx("reload: user changes only at restart, "
		    "keeping %s", conf->user);
	strlcpy(c->user, conf->user, sizeof(c->user));
	/* these two are said to marconictl too: the operator asked */
	if (strcmp(c->csock, conf->csock) != 0 && csock == NULL) {
		snprintf(reload_note, sizeof(reload_note), "control socket "
		    "changes only at restart, keeping %s", conf->csock);
		log_warnx("reload: %s", reload_note);
	}
	strlcpy(c->csock, conf->csock, sizeof(c->csock));
	if (strcmp(c->rsock, conf->rsock) != 0 ||
	    strcmp(c->rsock_group, conf->rsock_group) != 0) {
		snprintf(one, sizeof(one), "restricted control socket changes "
		    "only at restart, keeping %s%s%s", conf->rsock[0] != '\0' ?
		    conf->rsock : "none", conf->rsock_group[0] != '\0' ?
		    " group " : "", conf->rsock_group);
		log_warnx("reload: %s", one);
		if (reload_note[0] != '\0')
			strlcat(reload_note, "; ", sizeof(reload_note));
		strlcat(reload_note, one, sizeof(reload_note));
	}
	strlcpy(c->rsock, conf->rsock, sizeof(c->rsock));
	strlcpy(c->rsock_group, conf->rsock_group, sizeof(c->rsock_group));

	/*
	 * The interface: a new name or type would mean a new device under
	 * a running engine; that waits for a restart.  Addresses and MTU
	 * are applied at the commit.
	 */
	ifc = TAILQ_FIRST(&c->ifaces);
	oifc = TAILQ_FIRST(&conf->ifaces);
	if (ifc != NULL && oifc != NULL && (strcmp(ifc->name,
	    oifc->name) != 0 || ifc->type != oifc->type)) {
		log_warnx("reload: interface %s (%s) changes only at "
		    "restart, keeping %s (%s)", ifc->name,
		    ctl_iftype_name(ifc->type), oifc->name,
		    ctl_iftype_name(oifc->type));
		TAILQ_REMOVE(&c->ifaces, ifc, entry);
		TAILQ_REMOVE(&conf->ifaces, oifc, entry);
		TAILQ_INSERT_HEAD(&c->ifaces, oifc, entry);
		TAILQ_INSERT_HEAD(&conf->ifaces, ifc, entry);
	}

	/* ids: the same site keeps its id, anything else gets a new one */
	config_assign_ids(c, conf, &last_peerid);
	remote_carry(c, conf);
	nconf = c;
	nconf_ctlid = id;

	/* the processes that go on with their sockets take part */
	config_send(&engine.iev, nconf);
	engine.in_reload = 1;
	TAILQ_FOREACH(ch, &pipes, entry) {
		ch->in_reload = 0;
		if (ch->removed || ch->pid == 0 || ch->respawn)
			continue;
		if (config_find_uplink(nconf, ch->uplink) == NULL)
			continue;
		config_send(&ch->iev, nconf);
		pipe_send_identity(ch, nident, nconf->generation);
		ch->in_reload = 1;
	}
	log_debug("reload: generation %u sent", nconf->generation);
	timerclear(&tv);
	tv.tv_sec = RELOAD_TIMEOUT;
	evtimer_add(&reload_ev, &tv);
	reload_check();
}

/* A child holds the configuration being reloaded. */
static void
reload_ack(struct child *c, struct imsg *imsg)
{
	uint32_t	 gen;

	if (imsg_get_data(imsg, &gen, sizeof(gen)) == -1)
		fatalx("%s: bad IMSG_CFG_ACK", __func__);
	if (nconf == NULL || !c->in_reload || gen != nconf->generation) {
		log_warnx("%s: %s acknowledged generation %u, not asked",
		    __func__, c->proc == PROC_ENGINE ? "engine" : c->uplink,
		    gen);
		return;
	}
	c->acked = gen;
	reload_check();
}

static void
reload_check(void)
{
	struct child	*c;

	if (nconf == NULL || reload_waits_for(&engine))
		return;
	TAILQ_FOREACH(c, &pipes, entry)
		if (reload_waits_for(c))
			return;
	reload_commit();
}

/* A process the reload was sent to, alive, that does not hold it yet. */
static int
reload_waits_for(struct child *c)
{
	return (c->in_reload && c->pid != 0 &&
	    c->acked != nconf->generation);
}

/*
 * A process that has not answered is slow, not wrong: its channel is
 * in order, so the commit reaches it after the configuration it will
 * hold by then.  Say who held everybody up and go on.
 */
static void
reload_timeout(int fd, short event, void *arg)
{
	struct child	*c;

	if (nconf == NULL)
		return;
	if (reload_waits_for(&engine))
		log_warnx("reload: the engine has not acknowledged generation "
		    "%u after %ds", nconf->generation, RELOAD_TIMEOUT);
	TAILQ_FOREACH(c, &pipes, entry)
		if (reload_waits_for(c))
			log_warnx("reload: uplink %s has not acknowledged "
			    "generation %u after %ds", c->uplink,
			    nconf->generation, RELOAD_TIMEOUT);
	reload_commit();
}

/* Everybody switches: the parent, then the children, then the uplinks. */
static void
reload_commit(void)
{
	struct uplink_conf	*up;
	struct iface_conf	*ifc, *oifc;
	struct child		*c;
	uint32_t		 gen = nconf->generation, id = nconf_ctlid;
	uint16_t		 oport = conf->port;
	size_t			 i, j;

	evtimer_del(&reload_ev);
	ifc = TAILQ_FIRST(&nconf->ifaces);
	oifc = TAILQ_FIRST(&conf->ifaces);
	if (ifc != NULL && oifc != NULL && iface_fd != -1 &&
	    strcmp(ifc->name, oifc->name) == 0 && ifc->type == oifc->type &&
	    tun_reconfigure(iface_fd, oifc, ifc) == -1)
		log_warnx("reload: interface %s could not be reconfigured",
		    ifc->name);
	kroute_sync(nconf);
	config_free(conf);
	conf = nconf;
	nconf = NULL;
	nconf_ctlid = 0;
	tlsident_free(ident);
	ident = nident;
	nident = NULL;
	resolve_sync(conf);

	imsg_compose_event(&engine.iev, IMSG_CFG_COMMIT, 0, 0, -1, &gen,
	    sizeof(gen));
	kroute_send();
	engine.in_reload = 0;

	TAILQ_FOREACH(c, &pipes, entry) {
		/* the rate entries of peers that are gone */
		for (i = j = 0; i < c->nrates; i++)
			if (config_find_peer_id(conf, c->rates[i].peerid) !=
			    NULL)
				c->rates[j++] = c->rates[i];
		c->nrates = j;

		if (c->removed)
			continue;
		if ((up = config_find_uplink(conf, c->uplink)) == NULL) {
			log_info("uplink %s removed, stopping its process",
			    c->uplink);
			c->removed = 1;
			c->in_reload = 0;
			evtimer_del(&c->restart_ev);
			if (c->pid != 0)
				imsg_compose_event(&c->iev, IMSG_SHUTDOWN, 0,
				    0, -1, NULL, 0);
			continue;
		}
		/* an uplink without a port of its own follows the global one */
		if (!uplink_equal(up, &c->bound) ||
		    (up->port == 0 && conf->port != oport)) {
			/* bound differently: a fresh process, new sockets */
			log_info("uplink %s changed, restarting its process",
			    c->uplink);
			c->bound = *up;
			evtimer_del(&c->restart_ev);
			if (c->pid != 0) {
				c->respawn = 1;
				imsg_compose_event(&c->iev, IMSG_SHUTDOWN, 0,
				    0, -1, NULL, 0);
			} else
				pipe_start(c);
			c->in_reload = 0;
			continue;
		}
		if (c->pid == 0 || c->respawn)
			continue;
		if (c->in_reload)
			imsg_compose_event(&c->iev, IMSG_CFG_COMMIT, 0, 0, -1,
			    &gen, sizeof(gen));
		else {
			/* started while the reload was going on */
			child_send_config(c);
		}
		c->in_reload = 0;
	}
	TAILQ_FOREACH(up, &conf->uplinks, entry) {
		if ((c = pipe_find(up->name)) == NULL || c->removed) {
			log_info("uplink %s added", up->name);
			pipe_new(up);
		}
	}
	log_info("configuration reloaded (generation %u)", gen);
	reload_reply(id, CTL_RES_OK, reload_note[0] != '\0' ? reload_note :
	    NULL);
	if (reload_again) {
		reload_again = 0;
		parent_reload(0);
	}
}

static struct pipe_conf *
remote_pipe(struct marconid_conf *c, uint32_t peerid, const char *uplink)
{
	struct peer_conf	*pc;
	struct pipe_conf	*pic;

	if (c == NULL || (pc = config_find_peer_id(c, peerid)) == NULL)
		return (NULL);
	TAILQ_FOREACH(pic, &pc->pipes, entry)
		if (strcmp(pic->uplink, uplink) == 0)
			return (pic);
	return (NULL);
}

/*
 * A reload keeps the address a name had, as long as the pipe is the
 * same (peer id, uplink) with the same name and port: the uplink
 * process goes on where it was, and the name is looked up again on
 * schedule (resolve_sync()).
 */
static void
remote_carry(struct marconid_conf *nc, struct marconid_conf *oc)
{
	struct peer_conf	*pc;
	struct pipe_conf	*pic, *opic;

	TAILQ_FOREACH(pc, &nc->peers, entry)
		TAILQ_FOREACH(pic, &pc->pipes, entry) {
			if (pic->remote_name[0] == '\0' ||
			    (opic = remote_pipe(oc, pc->id,
			    pic->uplink)) == NULL)
				continue;
			if (strcmp(opic->remote_name, pic->remote_name) == 0 &&
			    opic->remote_port == pic->remote_port)
				pic->remote = opic->remote;
		}
}

/*
 * A name has a new address: the parent's configuration (what
 * pipe_connect() allows, what a restarted process gets) and that of a
 * reload under way take it, and the uplink process moves its pipe.
 */
static void
remote_changed(uint32_t peerid, const char *uplink,
    const struct sockaddr_storage *ss)
{
	struct pipe_conf	*pic;
	struct pipe_remote	 pr;
	struct child		*c;

	if ((pic = remote_pipe(conf, peerid, uplink)) != NULL &&
	    pic->remote_name[0] != '\0')
		pic->remote = *ss;
	if ((pic = remote_pipe(nconf, peerid, uplink)) != NULL &&
	    pic->remote_name[0] != '\0')
		pic->remote = *ss;
	if ((c = pipe_find(uplink)) == NULL || c->pid == 0 || c->removed)
		return;
	memset(&pr, 0, sizeof(pr));
	pr.peerid = peerid;
	pr.remote = *ss;
	imsg_compose_event(&c->iev, IMSG_PIPE_REMOTE, 0, 0, -1, &pr,
	    sizeof(pr));
}

/* The running configuration to a process that starts, and its commit. */
static void
child_send_config(struct child *c)
{
	config_send(&c->iev, conf);
	if (c->proc == PROC_PIPE)
		pipe_send_identity(c, ident, conf->generation);
	imsg_compose_event(&c->iev, IMSG_CFG_COMMIT, 0, 0, -1,
	    &conf->generation, sizeof(conf->generation));
	c->in_reload = 0;
}

static void
parent_shutdown(int status)
{
	struct child	*c;
	struct iface_conf *ifc;
	int		 i, alive;

	shutting_down = 1;
	if (engine.pid != 0)
		kill(engine.pid, SIGTERM);
	TAILQ_FOREACH(c, &pipes, entry)
		if (c->pid != 0)
			kill(c->pid, SIGTERM);

	/* give them a second, then make sure */
	for (i = 0; i < 20; i++) {
		alive = 0;
		child_reap();
		if (engine.pid != 0)
			alive++;
		TAILQ_FOREACH(c, &pipes, entry)
			if (c->pid != 0)
				alive++;
		if (alive == 0)
			break;
		usleep(50 * 1000);
	}
	if (alive) {
		if (engine.pid != 0)
			kill(engine.pid, SIGKILL);
		TAILQ_FOREACH(c, &pipes, entry)
			if (c->pid != 0)
				kill(c->pid, SIGKILL);
		while (waitpid(-1, NULL, 0) > 0)
			;
	}

	if (conf != NULL) {
		unlink(conf->csock);
		if (conf->rsock[0] != '\0')
			unlink(conf->rsock);
		ifc = TAILQ_FIRST(&conf->ifaces);
		kroute_sync(NULL);
		if (iface_fd != -1 && ifc != NULL)
			tun_close(iface_fd, ifc);
	}
	log_info("terminating");
	exit(status);
}

/*
 * A child gives up what it inherited as root: chroot to the home of the
 * unprivileged user (nothing to open there), then the user's groups and
 * ids.  The sandbox comes after, in the child.
 */
void
child_privdrop(const char *user)
{
	struct passwd	*pw;

	if ((pw = getpwnam(user)) == NULL)
		fatalx("unknown user %s", user);
	if (chroot(pw->pw_dir) == -1)
		fatal("chroot %s", pw->pw_dir);
	if (chdir("/") == -1)
		fatal("chdir(\"/\")");
	if (setgroups(1, &pw->pw_gid) == -1 ||
	    setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) == -1 ||
	    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) == -1)
		fatal("cannot drop privileges to %s", user);
}

/* The imsg plumbing shared by every process. */

void
imsgev_init(struct imsgev *iev, int fd, void (*handler)(int, short, void *),
    void *data)
{
	if (imsgbuf_init(&iev->ibuf, fd) == -1)
		fatal("%s: imsgbuf_init", __func__);
	if (imsgbuf_set_maxsize(&iev->ibuf, MARCONID_IMSGSIZE) == -1)
		fatal("%s: imsgbuf_set_maxsize", __func__);
	iev->handler = handler;
	iev->data = data;
	iev->paused = 0;
	iev->events = EV_READ;
	event_set(&iev->ev, fd, iev->events | EV_PERSIST, iev->handler, iev);
	event_add(&iev->ev, NULL);
}

/* Forget a channel whose other end is gone. */
void
imsgev_clear(struct imsgev *iev)
{
	if (iev->handler == NULL)
		return;
	event_del(&iev->ev);
	imsgbuf_clear(&iev->ibuf);
	close(iev->ibuf.fd);
	iev->ibuf.fd = -1;
	iev->handler = NULL;
}

/*
 * Read and write what the event says.  Returns 0 when the other end
 * has closed the channel, 1 otherwise.
 */
int
imsgev_read(struct imsgev *iev, short event)
{
	int	 n;

	if (event & EV_READ) {
		if ((n = imsgbuf_read(&iev->ibuf)) == -1) {
			/* the other end died with our messages unread */
			if (errno == ECONNRESET)
				return (0);
			fatal("%s: imsgbuf_read", __func__);
		}
		if (n == 0)
			return (0);
	}
	if (event & EV_WRITE) {
		if (imsgbuf_write(&iev->ibuf) == -1) {
			if (errno == EPIPE)
				return (0);
			fatal("%s: imsgbuf_write", __func__);
		}
	}
	return (1);
}

/*
 * Wait for reading, and for writing while something is queued.  The
 * event is touched only when that changes: on the data path this runs
 * once per frame, and each change is two epoll_ctl calls.
 */
void
imsg_event_add(struct imsgev *iev)
{
	short	 events;

	if (iev->handler == NULL)
		return;
	events = iev->paused ? 0 : EV_READ;
	if (imsgbuf_queuelen(&iev->ibuf) > 0)
		events |= EV_WRITE;
	if (events == 0) {
		/* paused, all written: its owner resumes it */
		iev->events = 0;
		event_del(&iev->ev);
		return;
	}
	if (events == iev->events &&
	    event_pending(&iev->ev, EV_READ | EV_WRITE, NULL))
		return;
	iev->events = events;
	event_del(&iev->ev);
	event_set(&iev->ev, iev->ibuf.fd, iev->events | EV_PERSIST,
	    iev->handler, iev);
	event_add(&iev->ev, NULL);
}

/*
 * Write what is queued now rather than on the next turn of the event
 * loop: the data path calls it once a batch of frames is composed,
 * which spares the frames a wake-up.  What the socket does not take
 * waits for the write event; an error is the dispatcher's to find.
 */
void
imsgev_flush(struct imsgev *iev)
{
	if (iev->handler == NULL || imsgbuf_queuelen(&iev->ibuf) == 0)
		return;
	if (imsgbuf_write(&iev->ibuf) == -1 && errno != EPIPE)
		log_warn("%s: imsgbuf_write", __func__);
	imsg_event_add(iev);
}

int
imsg_compose_event(struct imsgev *iev, uint32_t type, uint32_t peerid,
    pid_t pid, int fd, const void *data, size_t datalen)
{
	int	 ret;

	if (iev->handler == NULL) {
		/* the channel is gone: drop it, but do not leak the fd */
		if (fd != -1)
			close(fd);
		return (-1);
	}
	if ((ret = imsg_compose(&iev->ibuf, type, peerid, pid, fd, data,
	    datalen)) == -1)
		fatal("%s: imsg_compose %s", __func__, imsg_type_name(type));
	imsg_event_add(iev);
	return (ret);
}

const char *
imsg_type_name(uint32_t type)
{
	static const char *names[] = {
		"IMSG_NONE",
		"IMSG_CTL_SHOW_SUMMARY",
		"IMSG_CTL_SHOW_INTERFACES",
		"IMSG_CTL_SHOW_PIPES",
		"IMSG_CTL_SHOW_PEERS",
		"IMSG_CTL_RELOAD",
		"IMSG_CTL_LOG_VERBOSE",
		"IMSG_CTL_RESULT",
		"IMSG_CTL_END",
		"IMSG_CTL_PREFER",
		"IMSG_CTL_PREFERENCE",
		"IMSG_CTL_PIPE_DOWN",
		"IMSG_CTL_PIPE_UP",
		"IMSG_CTL_MODE",
		"IMSG_CTL_MONITOR",
		"IMSG_CTL_MONITOR_EVENT",
		"IMSG_CTL_RESET",
		"IMSG_CTL_SHOW_ROUTES",
		"IMSG_CTL_SHOW_MACS",
		"IMSG_CFG_GLOBAL",
		"IMSG_CFG_IFACE",
		"IMSG_CFG_IFACE_ADDR",
		"IMSG_CFG_UPLINK",
		"IMSG_CFG_PEER",
		"IMSG_CFG_PIPE",
		"IMSG_CFG_PEER_NET",
		"IMSG_CFG_DONE",
		"IMSG_IFACE_FD",
		"IMSG_CONTROL_FD",
		"IMSG_PIPE_CHANNEL",
		"IMSG_PIPE_PROC",
		"IMSG_UPLINK_SOCKET",
		"IMSG_PIPE_STATE",
		"IMSG_SHUTDOWN",
		"IMSG_CFG_TLS_CERT",
		"IMSG_CFG_TLS_KEY",
		"IMSG_CONNECT",
		"IMSG_FRAME",
		"IMSG_CFG_ACK",
		"IMSG_CFG_COMMIT",
		"IMSG_RESOLVE",
		"IMSG_PIPE_REMOTE",
		"IMSG_ROUTE_KERNEL",
	};
	static char	 buf[32];

	if (type < sizeof(names) / sizeof(names[0]))
		return (names[type]);
	snprintf(buf, sizeof(buf), "imsg type %u", type);
	return (buf);
}
