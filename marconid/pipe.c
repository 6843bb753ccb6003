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

#include <errno.h>
#include <event.h>
#include <imsg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "marconid.h"

/*
 * An uplink process: one per uplink, holding the sockets bound to it.
 * It reports the state of each of its pipes (one per peer reachable
 * over this uplink) to the engine.  Sessions and data come with the
 * pipes work; until then every pipe is down and what arrives on the
 * sockets is counted as dropped.
 */

#define PIPE_REPORT_INTERVAL	1	/* seconds between state reports */

struct pipe_peer {
	TAILQ_ENTRY(pipe_peer)	 entry;
	struct pipe_conf	 conf;
	struct pipe_state	 st;
	int			 dirty;	/* to report */
};

static void	 pipe_sig(int, short, void *);
static void	 pipe_dispatch_parent(int, short, void *);
static void	 pipe_dispatch_engine(int, short, void *);
static void	 pipe_apply_config(struct marconid_conf *);
static void	 pipe_report(int);
static void	 pipe_report_timeout(int, short, void *);
static void	 udp_read(int, short, void *);
static void	 tcp_accept(int, short, void *);
static void	 pipe_shutdown(void) __attribute__((__noreturn__));

static struct imsgev		 iev_parent;
static struct imsgev		 iev_engine;
static struct marconid_conf	*conf, *nconf;
static TAILQ_HEAD(, pipe_peer)	 ppeers = TAILQ_HEAD_INITIALIZER(ppeers);
static const char		*uplink;
static int			 udp_fd = -1, tcp_fd = -1;
static struct event		 udp_ev, tcp_ev, report_ev;

void
pipe_main(int debug, int verbose, const char *user, const char *name)
{
	struct event	 ev_sigint, ev_sigterm;
	static char	 procname[MARCONID_NAMELEN + 8];

	uplink = name;
	snprintf(procname, sizeof(procname), "pipe %s", uplink);
	log_init(debug, LOG_DAEMON);
	log_setverbose(verbose);
	log_procinit(procname);
	setproctitle("%s", procname);

	event_init();
	child_privdrop(user);
	sandbox_init(PROC_PIPE);

	signal_set(&ev_sigint, SIGINT, pipe_sig, NULL);
	signal_set(&ev_sigterm, SIGTERM, pipe_sig, NULL);
	signal_add(&ev_sigint, NULL);
	signal_add(&ev_sigterm, NULL);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);

	imsgev_init(&iev_parent, PARENT_SOCK_FILENO, pipe_dispatch_parent,
	    NULL);
	/* the channel to the engine and the uplink's sockets */
	imsgbuf_allow_fdpass(&iev_parent.ibuf);
	evtimer_set(&report_ev, pipe_report_timeout, NULL);

	event_dispatch();
	pipe_shutdown();
}

static void
pipe_sig(int sig, short event, void *arg)
{
	pipe_shutdown();
}

static void
pipe_shutdown(void)
{
	log_debug("exiting");
	exit(0);
}

static void
pipe_dispatch_parent(int fd, short event, void *arg)
{
	struct imsgev		*iev = arg;
	struct imsg		 imsg;
	struct uplink_sock	 us;
	struct ctl_request	 req;
	char			 name[MARCONID_NAMELEN];
	char			 host[NI_MAXHOST];
	ssize_t			 n;
	int			 newfd, r;

	if (imsgev_read(iev, event) == 0)
		pipe_shutdown();	/* the parent is gone */

	for (;;) {
		if ((n = imsg_get(&iev->ibuf, &imsg)) == -1)
			fatal("%s: imsg_get", __func__);
		if (n == 0)
			break;

		switch (imsg_get_type(&imsg)) {
		case IMSG_CFG_GLOBAL:
		case IMSG_CFG_IFACE:
		case IMSG_CFG_IFACE_ADDR:
		case IMSG_CFG_UPLINK:
		case IMSG_CFG_PEER:
		case IMSG_CFG_PIPE:
		case IMSG_CFG_DONE:
			if ((r = config_recv(&nconf, &imsg)) == -1)
				fatalx("%s: bad %s", __func__,
				    imsg_type_name(imsg_get_type(&imsg)));
			if (r == 1) {
				pipe_apply_config(nconf);
				nconf = NULL;
			}
			break;
		case IMSG_PIPE_CHANNEL:
			if (imsg_get_data(&imsg, name, sizeof(name)) == -1)
				fatalx("%s: bad IMSG_PIPE_CHANNEL", __func__);
			if ((newfd = imsg_get_fd(&imsg)) == -1)
				fatalx("%s: IMSG_PIPE_CHANNEL without a "
				    "descriptor", __func__);
			imsgev_clear(&iev_engine);
			imsgev_init(&iev_engine, newfd, pipe_dispatch_engine,
			    NULL);
			pipe_report(1);
			break;
		case IMSG_UPLINK_SOCKET:
			if (imsg_get_data(&imsg, &us, sizeof(us)) == -1)
				fatalx("%s: bad IMSG_UPLINK_SOCKET", __func__);
			if ((newfd = imsg_get_fd(&imsg)) == -1)
				fatalx("%s: IMSG_UPLINK_SOCKET without a "
				    "descriptor", __func__);
			if (us.kind == UPLINK_SOCK_UDP && udp_fd == -1) {
				udp_fd = newfd;
				event_set(&udp_ev, udp_fd, EV_READ | EV_PERSIST,
				    udp_read, NULL);
				event_add(&udp_ev, NULL);
			} else if (us.kind == UPLINK_SOCK_TCP && tcp_fd == -1) {
				tcp_fd = newfd;
				event_set(&tcp_ev, tcp_fd, EV_READ | EV_PERSIST,
				    tcp_accept, NULL);
				event_add(&tcp_ev, NULL);
			} else
				fatalx("%s: unexpected uplink socket",
				    __func__);
			log_info("%s on %s port %u",
			    us.kind == UPLINK_SOCK_UDP ? "data" : "sessions",
			    print_host(&us.ss, host, sizeof(host)),
			    sa_port(&us.ss));
			break;
		case IMSG_CTL_LOG_VERBOSE:
			if (imsg_get_data(&imsg, &req, sizeof(req)) == -1)
				fatalx("%s: bad IMSG_CTL_LOG_VERBOSE",
				    __func__);
			log_setverbose(req.verbose);
			break;
		case IMSG_SHUTDOWN:
			log_info("uplink removed or changed, exiting");
			pipe_shutdown();
		default:
			fatalx("%s: unexpected %s from the parent", __func__,
			    imsg_type_name(imsg_get_type(&imsg)));
		}
		imsg_free(&imsg);
	}
	imsg_event_add(iev);
}

static void
pipe_dispatch_engine(int fd, short event, void *arg)
{
	struct imsgev	*iev = arg;
	struct imsg	 imsg;
	ssize_t		 n;

	if (imsgev_read(iev, event) == 0) {
		/* the engine dropped us or died: the parent sorts it out */
		log_warnx("engine closed the channel, exiting");
		pipe_shutdown();
	}

	for (;;) {
		if ((n = imsg_get(&iev->ibuf, &imsg)) == -1)
			fatal("%s: imsg_get", __func__);
		if (n == 0)
			break;
		/* the engine sends nothing to a pipe yet */
		fatalx("%s: unexpected %s from the engine", __func__,
		    imsg_type_name(imsg_get_type(&imsg)));
	}
	imsg_event_add(iev);
}

/* Keep the pipes on this uplink; the counters of those that stay. */
static void
pipe_apply_config(struct marconid_conf *c)
{
	TAILQ_HEAD(, pipe_peer)	 nlist = TAILQ_HEAD_INITIALIZER(nlist);
	struct peer_conf	*pc;
	struct pipe_conf	*pic;
	struct pipe_peer	*pp, *opp;

	TAILQ_FOREACH(pc, &c->peers, entry) {
		TAILQ_FOREACH(pic, &pc->pipes, entry) {
			if (strcmp(pic->uplink, uplink) != 0)
				continue;
			if ((pp = calloc(1, sizeof(*pp))) == NULL)
				fatal("%s", __func__);
			pp->conf = *pic;
			strlcpy(pp->st.peer, pc->name, sizeof(pp->st.peer));
			strlcpy(pp->st.uplink, uplink, sizeof(pp->st.uplink));
			pp->st.state = PIPE_STATE_DOWN;
			TAILQ_FOREACH(opp, &ppeers, entry)
				if (strcmp(opp->st.peer, pc->name) == 0) {
					pp->st = opp->st;
					break;
				}
			if (sa_port(&pp->conf.remote) == 0 &&
			    pp->conf.remote.ss_family != AF_UNSPEC)
				sa_set_port(&pp->conf.remote, c->port);
			pp->dirty = 1;
			TAILQ_INSERT_TAIL(&nlist, pp, entry);
		}
	}
	while ((opp = TAILQ_FIRST(&ppeers)) != NULL) {
		TAILQ_REMOVE(&ppeers, opp, entry);
		free(opp);
	}
	TAILQ_CONCAT(&ppeers, &nlist, entry);

	if (conf != NULL)
		config_free(conf);
	conf = c;
	pipe_report(1);
}

/* Tell the engine what changed, or everything when asked to. */
static void
pipe_report(int all)
{
	struct pipe_peer	*pp;
	struct timeval		 tv = { PIPE_REPORT_INTERVAL, 0 };

	if (iev_engine.handler == NULL)
		return;
	TAILQ_FOREACH(pp, &ppeers, entry) {
		if (!all && !pp->dirty)
			continue;
		imsg_compose_event(&iev_engine, IMSG_PIPE_STATE, 0, 0, -1,
		    &pp->st, sizeof(pp->st));
		pp->dirty = 0;
	}
	if (!evtimer_pending(&report_ev, NULL))
		evtimer_add(&report_ev, &tv);
}

static void
pipe_report_timeout(int fd, short event, void *arg)
{
	pipe_report(0);
}

/*
 * Datagrams: no session exists yet to open them, so each is dropped,
 * counted against the peer it came from when it is one of ours.
 */
static void
udp_read(int fd, short event, void *arg)
{
	struct sockaddr_storage	 ss;
	struct pipe_peer	*pp;
	socklen_t		 slen;
	char			 buf[MARCONID_MAXMTU + 128];
	ssize_t			 n;
	int			 i;

	for (i = 0; i < 64; i++) {
		slen = sizeof(ss);
		if ((n = recvfrom(fd, buf, sizeof(buf), 0,
		    (struct sockaddr *)&ss, &slen)) == -1) {
			if (errno != EAGAIN && errno != EINTR)
				log_warn("%s: recvfrom", __func__);
			return;
		}
		TAILQ_FOREACH(pp, &ppeers, entry) {
			if (sa_cmp(&ss, &pp->conf.remote) == 0) {
				pp->st.drops++;
				pp->dirty = 1;
				break;
			}
		}
	}
}

static void
tcp_accept(int fd, short event, void *arg)
{
	int	 s;

	if ((s = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK)) ==
	    -1) {
		if (errno != EAGAIN && errno != EINTR &&
		    errno != ECONNABORTED)
			log_warn("%s: accept", __func__);
		return;
	}
	/* no TLS sessions yet: refuse politely rather than hang */
	log_debug("session attempt refused: sessions not implemented");
	close(s);
}
