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

#include <netinet/in.h>

#include <errno.h>
#include <time.h>
#include <event.h>
#include <imsg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "endian-compat.h"
#include "marconid.h"
#include "pipe.h"

/*
 * An uplink process: one per uplink, holding the sockets bound to it.
 * For each peer with a pipe on this uplink it keeps a TLS session
 * (session.c) and the data keys agreed over it, seals the engine's
 * frames into UDP datagrams and opens what arrives.  It reports the
 * state and figures of each pipe to the engine.
 */

#define PIPE_TICK		10	/* ms between ticks while the MTU is searched */
#define PIPE_TICK_MAX		100	/* ms: the longest sleep otherwise */
#define PIPE_TICK_SLACK		2	/* ms early that a probe may go */
#define PIPE_REPORT_INTERVAL	1000	/* ms between state reports */
#define DGRAM_MAX		(FRAG_MAXFRAME + 256)
#define IPV4_UDP_OVERHEAD	28
#define UDP_BATCH		64	/* datagrams per sendmmsg, recvmmsg */
#define IPV6_UDP_OVERHEAD	48
#define SENDERR_INTERVAL	10000	/* ms between warnings of a pipe */

static void	 pipe_sig(int, short, void *);
static void	 pipe_dispatch_parent(int, short, void *);
static void	 pipe_dispatch_engine(int, short, void *);
static void	 pipe_apply_config(struct marconid_conf *);
static struct pipe_peer *pipe_peer_by_id(uint32_t);
#ifdef MARCONID_TEST_HOOKS
static void	 pipe_test_init(void);
#endif
static void	 pipe_report(int);
static void	 report_send(struct pipe_peer *, uint64_t);
static void	 report_input(struct pipe_peer *, const uint8_t *, size_t);
static void	 pipe_tick(int, short, void *);
static void	 pipe_tick_soon(void);
static void	 pipe_frame(struct pipe_peer *, const uint8_t *, size_t);
static int	 pipe_seal_send(struct pipe_peer *, uint8_t, const uint8_t *,
		    size_t);
static void	 udp_flush(void);
static void	 udp_send_error(struct pipe_peer *,
		    const struct sockaddr_storage *, int, int);
static void	 udp_read(int, short, void *);
static void	 udp_input(const uint8_t *, size_t,
		    struct sockaddr_storage *);
static void	 tcp_accept(int, short, void *);
static void	 tcp_resume(int, short, void *);
static void	 pipe_peer_free(struct pipe_peer *);
static void	 probe_send(struct pipe_peer *, int64_t, int);
static void	 probe_input(struct pipe_peer *, uint8_t, const uint8_t *,
		    size_t);
static int	 probe_echo_on(struct pipe_peer *);
static int	 pipe_rank(struct pipe_peer *);
static void	 probe_received(struct pipe_peer *, uint32_t, uint64_t, int);
static void	 probe_answer(struct pipe_peer *, uint32_t, uint64_t,
		    uint32_t);
static void	 probe_check(struct pipe_peer *, int64_t);
static void	 probe_gap(struct pipe_peer *, int64_t);
static void	 probe_thresholds(struct pipe_peer *, int64_t);
static void	 probe_window(struct pipe_peer *, int64_t);
static void	 pmtu_tick(struct pipe_peer *, int64_t);
static void	 pipe_shutdown(void) __attribute__((__noreturn__));
static void	 pipe_leaf_use(const uint8_t *, size_t, const uint8_t *,
		    size_t);
static void	 pipe_leaf_unhold(void);
static void	 pipe_move(struct pipe_peer *, const struct sockaddr_storage *);

struct pipe_peers		 ppeers = TAILQ_HEAD_INITIALIZER(ppeers);
static uint32_t			 npipes;	/* in ppeers: our rank */
uint64_t			 pipe_instance;
int64_t				 rekey_interval = REKEY_INTERVAL;
uint64_t			 rekey_packets = REKEY_PACKETS;

static struct imsgev		 iev_parent;
static struct imsgev		 iev_engine;
/* conf runs; nconf is being received, held until the parent commits */
static struct marconid_conf	*conf, *nconf, *conf_held;
static const char		*uplink;
static int			 udp_fd = -1, tcp_fd = -1;
static int			 udp_af = AF_UNSPEC;	/* udp_fd's family */
static struct event		 udp_ev, tcp_ev, tcp_pause_ev, tick_ev;
/*
 * The leaf the parent issued us (marconid.c, tlsctx.c): its chain
 * waits in leaf_chain for its key; a pair for a configuration being
 * reloaded waits in held_* for that generation's commit.
 */
static uint8_t			*leaf_chain;
static size_t			 leaf_chainlen;
static uint32_t			 leaf_gen;
static uint8_t			*held_chain, *held_key;
static size_t			 held_chainlen, held_keylen;
static uint32_t			 held_gen;
static int64_t			 last_report;

/*
 * Datagrams in flight through one system call: while the engine's
 * frames are sealed (txq.batching), the datagrams wait here and leave
 * together; everything else is sent at once.  The receiving side reads
 * up to UDP_BATCH datagrams per call into rxq.
 */
struct udp_batch {
	struct mmsghdr		 msg[UDP_BATCH];
	struct iovec		 iov[UDP_BATCH];
	struct sockaddr_storage	 ss[UDP_BATCH];
	uint8_t			 buf[UDP_BATCH][DGRAM_MAX];
	struct pipe_peer	*pp[UDP_BATCH];	/* tx: whose datagram */
	int			 padded[UDP_BATCH];	/* tx: MTU probe */
	unsigned int		 n;
	int			 batching;
};
static struct udp_batch		 txq, rxq;

void
pipe_main(int debug, int verbose, const char *user, const char *name)
{
	struct event	 ev_sigint, ev_sigterm;
	struct timeval	 tv = { 0, PIPE_TICK * 1000 };
	static char	 procname[MARCONID_NAMELEN + 8];

	uplink = name;
	snprintf(procname, sizeof(procname), "pipe %s", uplink);
	log_init(debug, LOG_DAEMON);
	log_setverbose(verbose);
	log_procinit(procname);
	proc_title(procname);

	/* a new instance id tells the peers that we restarted */
	arc4random_buf(&pipe_instance, sizeof(pipe_instance));

	event_init();
	session_init();
	child_privdrop(user);
	sandbox_init(PROC_PIPE);
#ifdef MARCONID_TEST_HOOKS
	pipe_test_init();
#endif

	signal_set(&ev_sigint, SIGINT, pipe_sig, NULL);
	signal_set(&ev_sigterm, SIGTERM, pipe_sig, NULL);
	signal_add(&ev_sigint, NULL);
	signal_add(&ev_sigterm, NULL);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);

	imsgev_init(&iev_parent, PARENT_SOCK_FILENO, pipe_dispatch_parent,
	    NULL);
	/* the channel to the engine, the uplink's sockets, connections */
	imsgbuf_allow_fdpass(&iev_parent.ibuf);
	evtimer_set(&tick_ev, pipe_tick, NULL);
	evtimer_add(&tick_ev, &tv);
	evtimer_set(&tcp_pause_ev, tcp_resume, NULL);

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
	struct pipe_peer	*pp;

	/* no key outlives the process in its memory */
	while ((pp = TAILQ_FIRST(&ppeers)) != NULL) {
		TAILQ_REMOVE(&ppeers, pp, entry);
		pipe_peer_free(pp);
	}
	log_debug("exiting");
	exit(0);
}

/* A leaf for the handshakes to come; libtls keeps its own copy. */
static void
pipe_leaf_use(const uint8_t *chain, size_t chainlen, const uint8_t *key,
    size_t keylen)
{
	if (tlsctx_set(chain, chainlen, key, keylen) == -1)
		log_warnx("certificate or key refused: sessions go on with "
		    "the one before, if any");
}

static void
pipe_leaf_unhold(void)
{
	free(held_chain);
	if (held_key != NULL) {
		explicit_bzero(held_key, held_keylen);
		free(held_key);
	}
	held_chain = held_key = NULL;
	held_chainlen = held_keylen = 0;
}

static void
pipe_dispatch_parent(int fd, short event, void *arg)
{
	struct imsgev		*iev = arg;
	struct imsg		 imsg;
	struct uplink_sock	 us;
	struct ctl_request	 req;
	struct connect_req	 cr;
	struct pipe_remote	 pr;
	struct pipe_peer	*pp;
	struct ibuf		 ib;
	char			 name[MARCONID_NAMELEN];
	char			 host[NI_MAXHOST];
	struct marconid_conf	*newconf;
	ssize_t			 n;
	int			 newfd;

	if (imsgev_read(iev, event) == 0)
		pipe_shutdown();	/* the parent is gone */

	for (;;) {
		if ((n = imsg_get(&iev->ibuf, &imsg)) == -1)
			fatal("%s: imsg_get", __func__);
		if (n == 0)
			break;

		if (config_is_cfg(imsg_get_type(&imsg))) {
			if ((newconf = config_child_recv(&nconf, &imsg)) !=
			    NULL) {
				/* held until every process has it */
				config_free(conf_held);
				conf_held = newconf;
				imsg_compose_event(&iev_parent, IMSG_CFG_ACK,
				    0, 0, -1, &conf_held->generation,
				    sizeof(conf_held->generation));
			}
			imsg_free(&imsg);
			continue;
		}

		switch (imsg_get_type(&imsg)) {
		case IMSG_CFG_COMMIT:
			pipe_apply_config(config_child_commit(&conf_held,
			    &imsg));
			/* the leaf of that generation, if it came with it */
			if (held_key != NULL && held_gen == conf->generation)
				pipe_leaf_use(held_chain, held_chainlen,
				    held_key, held_keylen);
			pipe_leaf_unhold();
			break;
		case IMSG_CFG_TLS_CERT:
			if (imsg_get_ibuf(&imsg, &ib) == -1 ||
			    ibuf_size(&ib) == 0)
				fatalx("%s: bad IMSG_CFG_TLS_CERT", __func__);
			free(leaf_chain);
			leaf_chainlen = ibuf_size(&ib);
			if ((leaf_chain = malloc(leaf_chainlen)) == NULL)
				fatal("%s", __func__);
			memcpy(leaf_chain, ibuf_data(&ib), leaf_chainlen);
			leaf_gen = imsg_get_id(&imsg);
			break;
		case IMSG_CFG_TLS_KEY:
			if (imsg_get_ibuf(&imsg, &ib) == -1 ||
			    ibuf_size(&ib) == 0 || leaf_chain == NULL ||
			    imsg_get_id(&imsg) != leaf_gen)
				fatalx("%s: bad IMSG_CFG_TLS_KEY", __func__);
			if (conf != NULL && leaf_gen == conf->generation) {
				/* a renewal: new handshakes take it now */
				pipe_leaf_use(leaf_chain, leaf_chainlen,
				    ibuf_data(&ib), ibuf_size(&ib));
				free(leaf_chain);
			} else {
				/* a reload's, or our first: at the commit */
				pipe_leaf_unhold();
				held_chain = leaf_chain;
				held_chainlen = leaf_chainlen;
				held_keylen = ibuf_size(&ib);
				if ((held_key = malloc(held_keylen)) == NULL)
					fatal("%s", __func__);
				memcpy(held_key, ibuf_data(&ib), held_keylen);
				held_gen = leaf_gen;
			}
			leaf_chain = NULL;
			explicit_bzero(ibuf_data(&ib), ibuf_size(&ib));
			break;
		case IMSG_CONNECT:
			if (imsg_get_data(&imsg, &cr, sizeof(cr)) == -1)
				fatalx("%s: bad IMSG_CONNECT", __func__);
			cr.peer[sizeof(cr.peer) - 1] = '\0';
			newfd = imsg_get_fd(&imsg);
			pp = pipe_peer_by_id(cr.peerid);
			/* a socket to where a name pointed before: none */
			if (pp != NULL && newfd != -1 &&
			    sa_cmp(&cr.remote, &pp->conf.remote) != 0) {
				close(newfd);
				newfd = -1;
			}
			if (pp == NULL || pp->sess != NULL ||
			    pp->pending != NULL) {
				if (newfd != -1)
					close(newfd);
				break;
			}
			if (newfd == -1) {
				pipe_session_down(pp);
				break;
			}
			session_connected(pp, newfd);
			break;
		case IMSG_PIPE_REMOTE:
			if (imsg_get_data(&imsg, &pr, sizeof(pr)) == -1 ||
			    (pr.remote.ss_family != AF_INET &&
			    pr.remote.ss_family != AF_INET6))
				fatalx("%s: bad IMSG_PIPE_REMOTE", __func__);
			/* a peer a reload removed meanwhile: nothing to move */
			if ((pp = pipe_peer_by_id(pr.peerid)) != NULL)
				pipe_move(pp, &pr.remote);
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
				udp_af = us.ss.ss_family;
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
	struct imsgev		*iev = arg;
	struct imsg		 imsg;
	struct pipe_peer	*pp;
	struct ibuf		 ib;
	uint32_t		 id;
	ssize_t			 n;

	if (imsgev_read(iev, event) == 0) {
		/* the engine dropped us or died: the parent sorts it out */
		log_warnx("engine closed the channel, exiting");
		pipe_shutdown();
	}

	txq.batching = 1;
	for (;;) {
		if ((n = imsg_get(&iev->ibuf, &imsg)) == -1)
			fatal("%s: imsg_get", __func__);
		if (n == 0)
			break;

		switch (imsg_get_type(&imsg)) {
		case IMSG_FRAME:
			id = imsg_get_id(&imsg);
			if (imsg_get_ibuf(&imsg, &ib) == -1)
				fatalx("%s: bad IMSG_FRAME", __func__);
			pp = pipe_peer_by_id(id);
			/*
			 * An id is one site for ever: during a reload the
			 * engine may know a peer we do not have yet, or no
			 * longer; that frame is dropped, never sealed for
			 * another site.
			 */
			if (pp != NULL)
				pipe_frame(pp, ibuf_data(&ib), ibuf_size(&ib));
			break;
		default:
			fatalx("%s: unexpected %s from the engine", __func__,
			    imsg_type_name(imsg_get_type(&imsg)));
		}
		imsg_free(&imsg);
	}
	txq.batching = 0;
	udp_flush();
	imsg_event_add(iev);
}

static void
pipe_peer_free(struct pipe_peer *pp)
{
	session_peer_gone(pp);
	aead_wipe(&pp->tx);
	aead_wipe(&pp->rx);
	aead_wipe(&pp->rx_prev);
	aead_wipe(&pp->tx_next);
	explicit_bzero(pp->rekey_random, sizeof(pp->rekey_random));
	if (pp->reasm != NULL)
		reasm_free(pp->reasm);
	free(pp);
}

/*
 * Keep the pipes on this uplink: those that stay keep their session,
 * keys and counters; a peer whose fingerprint changed starts over.
 */
static void
pipe_apply_config(struct marconid_conf *c)
{
	struct pipe_peers	 nlist = TAILQ_HEAD_INITIALIZER(nlist);
	struct peer_conf	*pc;
	struct pipe_conf	*pic;
	struct pipe_peer	*pp;
	uint32_t		 interval;

	npipes = 0;
	TAILQ_FOREACH(pc, &c->peers, entry) {
		TAILQ_FOREACH(pic, &pc->pipes, entry) {
			if (strcmp(pic->uplink, uplink) != 0)
				continue;
			/*
			 * The same id is the same name and fingerprint: a
			 * peer whose fingerprint changed is another site,
			 * and its old self (session, keys) is freed below.
			 */
			if ((pp = pipe_peer_by_id(pc->id)) != NULL)
				TAILQ_REMOVE(&ppeers, pp, entry);
			else {
				if ((pp = calloc(1, sizeof(*pp))) == NULL)
					fatal("%s", __func__);
				if ((pp->reasm = reasm_new()) == NULL)
					fatal("%s", __func__);
				strlcpy(pp->st.peer, pc->name,
				    sizeof(pp->st.peer));
				strlcpy(pp->st.uplink, uplink,
				    sizeof(pp->st.uplink));
				pp->st.state = PIPE_STATE_DOWN;
				pp->st.key_age = -1;
				pp->backoff = SESS_BACKOFF_MIN;
				pp->frame_id = arc4random();
			}
			pp->id = pc->id;
			pp->st.peerid = pc->id;
			interval = pc->probe.interval != 0 ?
			    pc->probe.interval : c->probe.interval;
			/* gaps measured at another interval mean nothing now */
			if (interval != pp->probe_interval) {
				pp->gap_avg = pp->gap_dev = 0;
				memset(pp->gap_max, 0, sizeof(pp->gap_max));
			}
			pp->probe_interval = interval;
			pp->probe_timeout = pc->probe.timeout != 0 ?
			    pc->probe.timeout : c->probe.timeout;
			pp->probe_timeout_max = pc->probe.timeout_max != 0 ?
			    pc->probe.timeout_max : c->probe.timeout_max;
			/* a least silence above the most: the least wins */
			if (pp->probe_timeout_max < pp->probe_timeout)
				pp->probe_timeout_max = pp->probe_timeout;
			pp->suspect_on = (pc->probe.suspect != 0 ?
			    pc->probe.suspect : c->probe.suspect) ==
			    PROBE_SUSPECT_YES;
			probe_thresholds(pp, getmonotime());
			pp->max_loss = pc->probe.max_loss != 0 ?
			    pc->probe.max_loss : c->probe.max_loss;
			pp->max_rtt = pc->probe.max_rtt != 0 ?
			    pc->probe.max_rtt : c->probe.max_rtt;
			strlcpy(pp->fingerprint, pc->fingerprint,
			    sizeof(pp->fingerprint));
			/*
			 * The same name: the address this process was last
			 * told (IMSG_PIPE_REMOTE) is newer than the one the
			 * parent put in a configuration sent before it.
			 */
			if (pic->remote_name[0] != '\0' &&
			    strcmp(pic->remote_name, pp->conf.remote_name) ==
			    0 && pic->remote_port == pp->conf.remote_port &&
			    pp->conf.remote.ss_family != AF_UNSPEC)
				pic->remote = pp->conf.remote;
			pp->conf = *pic;
			if (sa_port(&pp->conf.remote) == 0 &&
			    pp->conf.remote.ss_family != AF_UNSPEC)
				sa_set_port(&pp->conf.remote, c->port);
			pp->st.remote = pp->conf.remote;
			if (pp->sess == NULL)
				pp->dest = pp->conf.remote;
			pp->dirty = 1;
			TAILQ_INSERT_TAIL(&nlist, pp, entry);
			npipes++;
		}
	}
	while ((pp = TAILQ_FIRST(&ppeers)) != NULL) {
		TAILQ_REMOVE(&ppeers, pp, entry);
		pipe_peer_free(pp);
	}
	TAILQ_CONCAT(&ppeers, &nlist, entry);

	rekey_interval = c->rekey_interval;
	rekey_packets = c->rekey_packets;
	if (conf != NULL)
		config_free(conf);
	conf = c;
	pipe_report(1);
}

static struct pipe_peer *
pipe_peer_by_id(uint32_t id)
{
	struct pipe_peer	*pp;

	TAILQ_FOREACH(pp, &ppeers, entry)
		if (pp->id == id)
			return (pp);
	return (NULL);
}

struct pipe_peer *
pipe_peer_by_fpr(const char *fpr)
{
	struct pipe_peer	*pp;

	TAILQ_FOREACH(pp, &ppeers, entry)
		if (strcmp(pp->fingerprint, fpr) == 0)
			return (pp);
	return (NULL);
}

/*
 * The largest datagram we send or accept on this uplink: the underlay's
 * MTU less the IP and UDP headers of the remote's family.
 */
size_t
pipe_local_maxdgram(struct pipe_peer *pp)
{
	struct uplink_conf	*up;
	uint32_t		 mtu = UPLINK_MTU;
	int			 af = pp->dest.ss_family;

	if (conf != NULL && (up = config_find_uplink(conf, uplink)) != NULL &&
	    up->mtu != 0)
		mtu = up->mtu;
	if (af == AF_UNSPEC)
		af = pp->conf.remote.ss_family;
	return (mtu - (af == AF_INET ? IPV4_UDP_OVERHEAD :
	    IPV6_UDP_OVERHEAD));
}

void
pipe_session_up(struct pipe_peer *pp)
{
	char	 host[NI_MAXHOST];

	pp->backoff = SESS_BACKOFF_MIN;
	memset(pp->probes, 0, sizeof(pp->probes));
	pp->probe_last_rx = 0;
	pp->hold_valid = 0;
	pp->probe_prompted = 0;
	pp->probe_late = 0;
	pp->probe_quiet = 1;
	pp->peer_pipes = 0;
	pp->srtt_us = pp->jitter_us = pp->last_rtt_us = 0;
	pp->rx_data = pp->tx_data = pp->report_last = 0;
	pp->rx_dgrams = pp->rx_expected = 0;
	pp->rx_top = 0;
	pp->rx_topkey = -1;
	pp->report_idle = REPORT_IDLE;
	pp->rep_valid = 0;
	pp->st.rate_rx = pp->st.rate_tx = 0;
	pp->st.rate_gen++;
	/* up once a probe has made the round trip over the data path */
	pipe_set_state(pp, PIPE_STATE_CONNECTING, "session up, probing");
	log_info("peer %s uplink %s: session up as %s, data to %s, "
	    "datagrams up to %zu bytes", pp->st.peer, uplink,
	    pp->st.initiator ? "initiator" : "responder",
	    pp->dest.ss_family == AF_UNSPEC ? "(to be learned)" :
	    print_host(&pp->dest, host, sizeof(host)), pp->maxdgram);
	/* so that a passive side learns where we are at once */
	pipe_keepalive(pp);
	probe_send(pp, getmonotime(), 0);
	pp->pmtu_searching = 1;
	pp->pmtu_tries = 0;
	pp->pmtu_last = 0;
	pipe_report(0);
	pipe_tick_soon();
}

/* A state change goes to the engine at once: failover waits on it. */
void
pipe_set_state(struct pipe_peer *pp, int state, const char *reason)
{
	int64_t	 now;

	if (pp->st.state == state)
		return;
	now = getmonotime();
	if (pp->st.state == PIPE_STATE_SUSPECT && pp->suspect_since != 0) {
		pp->st.suspect_ms += now - pp->suspect_since;
		pp->suspect_since = 0;
	}
	if (state == PIPE_STATE_SUSPECT) {
		pp->st.suspects++;
		pp->suspect_since = now;
	}
	pp->st.state = state;
	strlcpy(pp->st.reason, reason, sizeof(pp->st.reason));
	pp->dirty = 1;
	pipe_report(0);
	if (state == PIPE_STATE_DOWN)
		pipe_ask_resolve(pp);
}

void
pipe_session_down(struct pipe_peer *pp)
{
	int64_t	 now = getmonotime();

	aead_wipe(&pp->tx);
	aead_wipe(&pp->rx);
	aead_wipe(&pp->rx_prev);
	aead_wipe(&pp->tx_next);
	explicit_bzero(pp->rekey_random, sizeof(pp->rekey_random));
	pp->rekey_pending = 0;
	pp->rekey_requested = 0;
	pp->rxid = pp->peer_rxid = 0;
	pp->dest = pp->conf.remote;
	pp->st.key_age = -1;
	pp->st.rtt_us = pp->st.jitter_us = 0;
	pipe_set_state(pp, pp->pending != NULL ? PIPE_STATE_CONNECTING :
	    PIPE_STATE_DOWN, "no session");
	if (pp->next_connect <= now) {
		pp->next_connect = now + pp->backoff;
		pp->backoff *= 2;
		if (pp->backoff > SESS_BACKOFF_MAX)
			pp->backoff = SESS_BACKOFF_MAX;
	}
	pipe_report(0);
}

/*
 * The parent looked the remote's name up and found another address: a
 * session we opened to the old one, or are opening, is closed, and the
 * pipe connects to the new one at once.  A session the peer opened to
 * us stays: the peer reached us, wherever its name points.
 */
static void
pipe_move(struct pipe_peer *pp, const struct sockaddr_storage *ss)
{
	struct sockaddr_storage	 old = pp->conf.remote;
	char			 h1[NI_MAXHOST], h2[NI_MAXHOST];

	if (pp->conf.remote_name[0] == '\0' || sa_cmp(ss, &old) == 0)
		return;
	log_info("peer %s uplink %s: remote %s moves to %s (from %s)",
	    pp->st.peer, uplink, pp->conf.remote_name,
	    print_host(ss, h1, sizeof(h1)), old.ss_family == AF_UNSPEC ?
	    "none" : print_host(&old, h2, sizeof(h2)));
	pp->conf.remote = *ss;
	pp->st.remote = *ss;
	pp->dirty = 1;
	pp->backoff = SESS_BACKOFF_MIN;
	pp->next_connect = 0;
	if (pp->pending != NULL)
		session_close(pp->pending, "remote moved");
	if (pp->sess != NULL && pp->sess->initiator)
		session_close(pp->sess, "remote moved");
	if (pp->sess == NULL) {
		pp->dest = pp->conf.remote;
		pp->next_connect = 0;
	} else if (sa_cmp(&pp->dest, &old) == 0)
		pp->dest = pp->conf.remote;
	pipe_report(0);
	pipe_tick_soon();
}

/*
 * A pipe whose remote is a name cannot reach it (down, a connection
 * retried, or the session silent for SESS_SILENT): the parent looks the
 * name up again.  Both sides keep to RESOLVE_RETRY.
 */
void
pipe_ask_resolve(struct pipe_peer *pp)
{
	struct resolve_req	 rr;
	int64_t			 now = getmonotime();

	if (pp->conf.remote_name[0] == '\0' || (pp->resolve_asked != 0 &&
	    now - pp->resolve_asked < RESOLVE_RETRY))
		return;
	pp->resolve_asked = now;
	memset(&rr, 0, sizeof(rr));
	rr.peerid = pp->id;
	imsg_compose_event(&iev_parent, IMSG_RESOLVE, 0, 0, -1, &rr,
	    sizeof(rr));
}

/* Ask the parent for a socket to the peer, bound to our uplink. */
void
pipe_request_connect(struct pipe_peer *pp)
{
	struct connect_req	 cr;

	memset(&cr, 0, sizeof(cr));
	strlcpy(cr.peer, pp->st.peer, sizeof(cr.peer));
	cr.peerid = pp->id;
	cr.remote = pp->conf.remote;
	imsg_compose_event(&iev_parent, IMSG_CONNECT, 0, 0, -1, &cr,
	    sizeof(cr));
	/* a retry: the peer may have moved */
	if (pp->backoff > SESS_BACKOFF_MIN * 2)
		pipe_ask_resolve(pp);
	pipe_set_state(pp, PIPE_STATE_CONNECTING, "connecting");
}

void
pipe_keepalive(struct pipe_peer *pp)
{
	(void)pipe_seal_send(pp, WIRE_TYPE_KEEPALIVE, NULL, 0);
}

/* A frame from the engine: in pieces that fit, each sealed and sent. */
static void
pipe_frame(struct pipe_peer *pp, const uint8_t *frame, size_t len)
{
	uint8_t	 piece[DGRAM_MAX];
	size_t	 room, count, i;
	ssize_t	 plen;
	uint32_t id;

	if (pp->sess == NULL || !pp->tx.valid ||
	    pp->dest.ss_family == AF_UNSPEC) {
		pp->st.drop[DROP_NOPIPE]++;
		pp->st.drops++;
		pp->dirty = 1;
		return;
	}
	room = pp->maxdgram - WIRE_HDRLEN - WIRE_TAGLEN;
	if ((count = frag_count(len, room)) == 0) {
		pp->st.drop[DROP_TOOBIG]++;
		pp->st.drops++;
		pp->dirty = 1;
		return;
	}
	id = pp->frame_id++;
	for (i = 0; i < count; i++) {
		if ((plen = frag_build(id, frame, len, room, i, piece,
		    sizeof(piece))) == -1)
			fatalx("%s: frag_build", __func__);
		if (pipe_seal_send(pp, WIRE_TYPE_DATA, piece, plen) == -1)
			return;
	}
	pp->st.opackets++;
	pp->st.obytes += len;
	pp->dirty = 1;
}

static int
pipe_seal_send(struct pipe_peer *pp, uint8_t type, const uint8_t *plain,
    size_t len)
{
	struct wire_hdr	 hdr;
	uint8_t		*dgram;
	ssize_t		 n;
	uint64_t	 ctr;

	if (!pp->tx.valid || pp->dest.ss_family == AF_UNSPEC ||
	    udp_fd == -1)
		return (-1);
	if (txq.n == UDP_BATCH)
		udp_flush();
	dgram = txq.buf[txq.n];
	ctr = pp->tx.counter++;
	hdr.version = WIRE_VERSION;
	hdr.type = type;
	hdr.keyid = pp->tx.id;
	hdr.reserved = 0;
	hdr.rxid = htonl(pp->peer_rxid);
	hdr.counter = htobe64(ctr);
	memcpy(dgram, &hdr, sizeof(hdr));
	if ((n = aead_seal(&pp->tx, ctr, dgram, sizeof(hdr), plain, len,
	    dgram + sizeof(hdr), DGRAM_MAX - sizeof(hdr))) == -1)
		fatalx("%s: aead_seal", __func__);
	txq.iov[txq.n].iov_base = dgram;
	txq.iov[txq.n].iov_len = n + sizeof(hdr);
	if (type == WIRE_TYPE_DATA)
		pp->tx_data += n + sizeof(hdr);
	memcpy(&txq.ss[txq.n], &pp->dest, sizeof(pp->dest));
	/* an uplink without an address: one IPv6 socket for both */
	if (udp_af == AF_INET6)
		sa_map4(&txq.ss[txq.n]);
	txq.pp[txq.n] = pp;
	txq.padded[txq.n] = (type == WIRE_TYPE_PROBE ||
	    type == WIRE_TYPE_PROBE_REPLY) && len > sizeof(struct wire_probe);
	txq.n++;
	if (!txq.batching)
		udp_flush();
	return (0);
}

/*
 * Send what is queued.  A datagram the kernel refuses is counted and
 * skipped (the uplink is down or full: the probes will tell), and the
 * rest still go.  sendmmsg() stops at the first failure and returns
 * how many went before it; sent again from there, the failed one
 * returns its error.
 */
static void
udp_flush(void)
{
	struct mmsghdr	*m;
	unsigned int	 i, off;
	int		 n;

	for (i = 0; i < txq.n; i++) {
		m = &txq.msg[i];
		memset(&m->msg_hdr, 0, sizeof(m->msg_hdr));
		m->msg_hdr.msg_name = &txq.ss[i];
		m->msg_hdr.msg_namelen = sa_len((struct sockaddr *)&txq.ss[i]);
		m->msg_hdr.msg_iov = &txq.iov[i];
		m->msg_hdr.msg_iovlen = 1;
	}
	for (off = 0; off < txq.n; ) {
		if ((n = sendmmsg(udp_fd, txq.msg + off, txq.n - off, 0)) ==
		    -1) {
			if (errno == EINTR)
				continue;
			udp_send_error(txq.pp[off], &txq.ss[off], errno,
			    txq.padded[off]);
			n = 1;
		}
		off += n;
	}
	txq.n = 0;
}

static void
udp_read(int fd, short event, void *arg)
{
	struct mmsghdr	*m;
	int		 i, n;

	/*
	 * One batch per wake-up, so that a flood cannot starve the
	 * sessions; what the datagrams make for the engine leaves in one
	 * write, and the probe replies in one sendmmsg.
	 */
	for (i = 0; i < UDP_BATCH; i++) {
		m = &rxq.msg[i];
		memset(&m->msg_hdr, 0, sizeof(m->msg_hdr));
		rxq.iov[i].iov_base = rxq.buf[i];
		rxq.iov[i].iov_len = DGRAM_MAX;
		m->msg_hdr.msg_name = &rxq.ss[i];
		m->msg_hdr.msg_namelen = sizeof(rxq.ss[i]);
		m->msg_hdr.msg_iov = &rxq.iov[i];
		m->msg_hdr.msg_iovlen = 1;
	}
	if ((n = recvmmsg(fd, rxq.msg, UDP_BATCH, 0, NULL)) == -1) {
		if (errno != EAGAIN && errno != EINTR)
			log_warn("%s: recvmmsg", __func__);
		return;
	}
	txq.batching = 1;
	for (i = 0; i < n; i++) {
		/* as configured: IPv4, whatever socket it came in on */
		sa_unmap4(&rxq.ss[i]);
		udp_input(rxq.buf[i], rxq.msg[i].msg_len, &rxq.ss[i]);
	}
	txq.batching = 0;
	udp_flush();
	imsgev_flush(&iev_engine);
}

/*
 * Who to blame for a datagram that names no session: the pipe whose
 * peer sent it, or the only pipe of this uplink.
 */
static struct pipe_peer *
pipe_peer_by_addr(struct sockaddr_storage *ss)
{
	struct pipe_peer	*pp;

	TAILQ_FOREACH(pp, &ppeers, entry)
		if (sa_cmp(ss, &pp->dest) == 0)
			return (pp);
	pp = TAILQ_FIRST(&ppeers);
	if (pp != NULL && TAILQ_NEXT(pp, entry) == NULL)
		return (pp);
	return (NULL);
}

static void
pipe_drop(struct pipe_peer *pp, int reason)
{
	if (pp == NULL)
		return;
	pp->st.drop[reason]++;
	pp->st.drops++;
	pp->dirty = 1;
}

/*
 * A datagram the kernel refused (no route, a filter, full buffers):
 * nothing may be getting through, which the operator must see without
 * -v, but a dead route refuses every probe, 40 a second.  So each is
 * counted (drop "send") and a warning goes out at most once in
 * SENDERR_INTERVAL per pipe, saying how many it did not tell of.
 * EMSGSIZE for a padded probe is the path MTU search finding the
 * interface narrower than what it tries: expected, not counted.
 */
static void
udp_send_error(struct pipe_peer *pp, const struct sockaddr_storage *to,
    int error, int padded)
{
	struct sockaddr_storage	 ss;
	char			 host[NI_MAXHOST], more[64];

	if (pp == NULL || (padded && error == EMSGSIZE))
		return;
	pipe_drop(pp, DROP_SEND);
	if (!ratelim_pass(&pp->senderr, SENDERR_INTERVAL, 1, more,
	    sizeof(more)))
		return;
	ss = *to;
	sa_unmap4(&ss);
	log_warnx("peer %s uplink %s: cannot send to %s: %s%s", pp->st.peer,
	    uplink, print_host(&ss, host, sizeof(host)), strerror(error),
	    more);
}

/*
 * Cheap checks first, the replay window before the tag and updated
 * only after it verified, and nothing unauthenticated changes state.
 */
static void
udp_input(const uint8_t *buf, size_t len, struct sockaddr_storage *ss)
{
	struct wire_hdr		 hdr;
	struct pipe_peer	*pp;
	struct aead_key		*k;
	uint8_t			 plain[DGRAM_MAX];
	const uint8_t		*frame;
	size_t			 flen;
	ssize_t			 n;
	uint64_t		 ctr;
	int			 newest;
	char			 host[NI_MAXHOST];

	if (len < WIRE_HDRLEN + WIRE_TAGLEN) {
		pipe_drop(pipe_peer_by_addr(ss), DROP_SHORT);
		return;
	}
	memcpy(&hdr, buf, sizeof(hdr));
	if (hdr.version != WIRE_VERSION || hdr.reserved != 0 ||
	    hdr.type < WIRE_TYPE_DATA || hdr.type > WIRE_TYPE_PROBE_ECHO) {
		pipe_drop(pipe_peer_by_addr(ss), DROP_BADTYPE);
		return;
	}
	TAILQ_FOREACH(pp, &ppeers, entry)
		if (pp->rxid != 0 && pp->rxid == ntohl(hdr.rxid))
			break;
	if (pp == NULL || pp->sess == NULL) {
		pipe_drop(pipe_peer_by_addr(ss), DROP_NOSESSION);
		return;
	}
	if (pp->rx.valid && hdr.keyid == pp->rx.id)
		k = &pp->rx;
	else if (pp->rx_prev.valid && hdr.keyid == pp->rx_prev.id)
		k = &pp->rx_prev;
	else {
		pipe_drop(pp, DROP_STALEKEY);
		return;
	}
	ctr = be64toh(hdr.counter);
	if (replay_check(&k->replay, ctr) == -1) {
		pipe_drop(pp, DROP_REPLAY);
		return;
	}
	if ((n = aead_open(k, ctr, buf, WIRE_HDRLEN, buf + WIRE_HDRLEN,
	    len - WIRE_HDRLEN, plain, sizeof(plain))) == -1) {
		pipe_drop(pp, DROP_AUTH);
		return;
	}
	/*
	 * Authenticated: this is where the peer is now (NAT, roaming), but
	 * only from the newest datagram of the current key.  A datagram is
	 * genuine wherever it comes from: one that an attacker kept (lost
	 * on the way, or taken off the wire) and sends again later from
	 * its own address, its counter still unseen in the window, would
	 * otherwise move the pipe's destination until the next genuine one.
	 */
	newest = k == &pp->rx && replay_newest(&k->replay, ctr);
	replay_update(&k->replay, ctr);
	/* what came and what the counters say was sent: the loss */
	pp->rx_dgrams++;
	if (k == &pp->rx) {
		if (pp->rx_topkey != k->id) {
			pp->rx_topkey = k->id;
			pp->rx_top = ctr;
			pp->rx_expected++;
		} else if (ctr > pp->rx_top) {
			pp->rx_expected += ctr - pp->rx_top;
			pp->rx_top = ctr;
		}
	} else
		pp->rx_expected++;

	if (newest && sa_cmp(ss, &pp->dest) != 0) {
		log_info("peer %s uplink %s: data now from %s", pp->st.peer,
		    uplink, print_host(ss, host, sizeof(host)));
		pp->dest = *ss;
	}
	/* where the peer's datagrams come from, with a remote or without */
	if (newest && sa_cmp(ss, &pp->st.learned) != 0) {
		pp->st.learned = *ss;
		pp->dirty = 1;
	}
	if (hdr.type == WIRE_TYPE_KEEPALIVE)
		return;
	if (hdr.type == WIRE_TYPE_PROBE || hdr.type == WIRE_TYPE_PROBE_REPLY ||
	    hdr.type == WIRE_TYPE_PROBE_ECHO) {
		probe_input(pp, hdr.type, plain, n);
		return;
	}
	if (hdr.type == WIRE_TYPE_REPORT) {
		report_input(pp, plain, n);
		return;
	}
	pp->rx_data += len;

	switch (reasm_input(pp->reasm, plain, n, getmonotime(), &frame,
	    &flen)) {
	case -1:
		pipe_drop(pp, DROP_FRAG);
		return;
	case 0:
		return;
	}
	pp->st.ipackets++;
	pp->st.ibytes += flen;
	pp->dirty = 1;
	/* queued only: udp_read() writes the batch to the engine at once */
	if (iev_engine.handler != NULL && imsg_compose(&iev_engine.ibuf,
	    IMSG_FRAME, pp->id, 0, -1, frame, flen) == -1)
		fatal("%s: imsg_compose", __func__);
}

static void
tcp_accept(int fd, short event, void *arg)
{
	struct timeval	 tv = { 1, 0 };

	/*
	 * Out of descriptors with no handshake to give one up: the
	 * listener would fire again at once.  It rests a second.
	 */
	if (session_accept(fd) == -1) {
		event_del(&tcp_ev);
		evtimer_add(&tcp_pause_ev, &tv);
	}
}

static void
tcp_resume(int fd, short event, void *arg)
{
	if (tcp_fd != -1)
		event_add(&tcp_ev, NULL);
}

/* Tell the engine what changed, or everything when asked to. */
static void
pipe_report(int all)
{
	struct pipe_peer	*pp;
	int64_t			 now = getmonotime();

	if (iev_engine.handler == NULL)
		return;
	TAILQ_FOREACH(pp, &ppeers, entry) {
		if (!all && !pp->dirty)
			continue;
		pp->st.key_age = pp->tx.valid ?
		    (now - pp->tx.installed) / 1000 : -1;
		pp->st.suspect_for = pp->suspect_since != 0 ?
		    now - pp->suspect_since : 0;
		pp->st.suspect_after_ms = pp->suspect_after;
		pp->st.down_after_ms = pp->down_after;
		pp->st.probe_rank = pipe_rank(pp);
		imsg_compose_event(&iev_engine, IMSG_PIPE_STATE, 0, 0, -1,
		    &pp->st, sizeof(pp->st));
		pp->dirty = 0;
	}
	last_report = now;
}

static void
pipe_tick(int fd, short event, void *arg)
{
	struct pipe_peer	*pp;
	struct timeval		 tv;
	int64_t			 now = getmonotime(), next, due;
	int			 late;

	/*
	 * The tick sleeps until the next thing due: a probe to send, the
	 * moment an up pipe's silence would make it down, a connection
	 * to try, a report; at most PIPE_TICK_MAX, so that reassembly,
	 * sessions and key overlap are looked at that often.  Waking
	 * only when needed keeps a pipe at rest nearly asleep.
	 */
	next = now + PIPE_TICK_MAX;
	session_tick(now);
	/* the probes due together leave in one sendmmsg */
	txq.batching = 1;
	TAILQ_FOREACH(pp, &ppeers, entry) {
		reasm_expire(pp->reasm, now);
		if (pp->sess != NULL) {
			/*
			 * Our probe went at once on the peer's: the peer's
			 * next, a little late, still gets ours with it.  A
			 * probe held is answered by PROBE_HOLD_MAX at most.
			 */
			due = probe_due(pp->probe_last_tx, pp->probe_interval,
			    pp->probe_prompted, pipe_rank(pp));
			if (pp->hold_valid)
				due = MINIMUM(due, pp->hold_at +
				    PROBE_HOLD_MAX);
			/* a timer may fire a little early: no second wake */
			if (now >= due - PIPE_TICK_SLACK) {
				late = pp->probe_prompted;
				probe_send(pp, now, 0);
				pp->probe_late = late;
				due = now + pp->probe_interval;
			}
			probe_check(pp, now);
			if (pp->pmtu_searching)
				pmtu_tick(pp, now);
			if (pp->rx_prev.valid &&
			    now - pp->rx.installed > REKEY_OVERLAP)
				aead_wipe(&pp->rx_prev);
			next = MINIMUM(next, due);
			if (pp->probe_last_rx != 0) {
				if (pp->suspect_on &&
				    pp->st.state == PIPE_STATE_UP)
					next = MINIMUM(next, pp->probe_last_rx +
					    pp->suspect_after + 1);
				next = MINIMUM(next, pp->probe_last_rx +
				    pp->down_after + 1);
			}
			if (pp->pmtu_searching)
				next = MINIMUM(next, now + PIPE_TICK);
			continue;
		}
		/* either side with a remote connects; passive ones wait */
		if (pp->pending == NULL &&
		    pp->conf.remote.ss_family != AF_UNSPEC &&
		    now >= pp->next_connect && tcp_fd != -1) {
			pp->next_connect = now + pp->backoff;
			pp->backoff *= 2;
			if (pp->backoff > SESS_BACKOFF_MAX)
				pp->backoff = SESS_BACKOFF_MAX;
			pipe_request_connect(pp);
		}
		if (pp->pending == NULL &&
		    pp->conf.remote.ss_family != AF_UNSPEC)
			next = MINIMUM(next, pp->next_connect);
	}
	txq.batching = 0;
	udp_flush();
	if (now - last_report >= PIPE_REPORT_INTERVAL)
		pipe_report(0);
	next = MINIMUM(next, last_report + PIPE_REPORT_INTERVAL);
	if (next <= now)
		next = now + 1;
	tv.tv_sec = (next - now) / 1000;
	tv.tv_usec = (next - now) % 1000 * 1000;
	evtimer_add(&tick_ev, &tv);
}

/* Run the tick at once, for what cannot wait for it to wake. */
static void
pipe_tick_soon(void)
{
	struct timeval	 tv = { 0, 0 };

	if (evtimer_initialized(&tick_ev))
		evtimer_add(&tick_ev, &tv);
}

/*
 * Probes go all the time, idle or busy, sealed like data: a black hole
 * in an ISP shows as probes that do not come back, whatever the link
 * state says.  Only the sender's clock is involved.  With the peer's
 * probe held (probe_received), ours carries its echo; prompted says
 * that ours goes at once on the peer's.
 */
static void
probe_send(struct pipe_peer *pp, int64_t now, int prompted)
{
	struct wire_probe	 pr;
	struct wire_probe_echo	 wpe;
	struct probe_echo	 pe;
	uint64_t		 now_us;
	int			 slot;

	now_us = (uint64_t)getmonotime_us();
	slot = pp->probe_seq % PROBE_SLOTS;
	pp->probes[slot].seq = pp->probe_seq;
	pp->probes[slot].sent = now;
	pp->probes[slot].answered = 0;
	pp->probe_last_tx = now;
	pp->probe_prompted = 0;
	pp->probe_late = 0;
	if (pp->hold_valid && probe_echo_on(pp)) {
		pe.seq = pp->probe_seq;
		pe.flags = prompted ? PROBE_PROMPTED : 0;
		pe.flags |= MINIMUM(npipes, PROBE_PIPES_MAX) <<
		    PROBE_PIPES_SHIFT;
		pe.sent_us = now_us;
		pe.echo_seq = pp->hold_seq;
		pe.echo_us = pp->hold_sent_us;
		pe.held_us = (int64_t)now_us - pp->hold_at_us > 0 ?
		    (uint32_t)((int64_t)now_us - pp->hold_at_us) : 0;
		pp->probe_prompted = prompted;
		probe_echo_pack(&pe, &wpe);
		(void)pipe_seal_send(pp, WIRE_TYPE_PROBE_ECHO,
		    (uint8_t *)&wpe, sizeof(wpe));
	} else {
		pr.seq = htonl(pp->probe_seq);
		pr.zero = 0;
		pr.sent_us = htobe64(now_us);
		(void)pipe_seal_send(pp, WIRE_TYPE_PROBE, (uint8_t *)&pr,
		    sizeof(pr));
	}
	pp->hold_valid = 0;
	pp->probe_seq++;
	report_send(pp, now_us);
}

/*
 * Which end of this pipe times the probes: the peer's pipe count comes
 * only with probes with echo, and a new session forgets it.
 */
static int
pipe_rank(struct pipe_peer *pp)
{
	return (probe_echo_on(pp) ? probe_rank(npipes, pp->peer_pipes) : 0);
}

/* Both HELLOs announced probes with echo. */
static int
probe_echo_on(struct pipe_peer *pp)
{
	return (pp->sess != NULL &&
	    (pp->sess->mine.caps & HELLO_CAP_PROBE_ECHO) &&
	    (pp->sess->theirs.caps & HELLO_CAP_PROBE_ECHO));
}

/*
 * With each probe, what came in on this pipe, to a peer that takes it:
 * while data comes, and a few more once it stops so that the peer sees
 * the rate fall.  The peer learns from it what the pipe carries.
 */
static void
report_send(struct pipe_peer *pp, uint64_t now_us)
{
	struct wire_report	 rp;

	if (pp->sess == NULL ||
	    !(pp->sess->theirs.caps & HELLO_CAP_REPORT))
		return;
	if (pp->rx_data != pp->report_last)
		pp->report_idle = 0;
	else if (pp->report_idle >= REPORT_IDLE)
		return;
	else
		pp->report_idle++;
	pp->report_last = pp->rx_data;
	rp.seq = htonl(pp->report_seq++);
	rp.zero = 0;
	rp.time_us = htobe64(now_us);
	rp.bytes = htobe64(pp->rx_data);
	rp.received = htonl(pp->rx_dgrams);
	rp.expected = htonl(pp->rx_expected);
	(void)pipe_seal_send(pp, WIRE_TYPE_REPORT, (uint8_t *)&rp,
	    sizeof(rp));
}

/*
 * A report from the peer: over windows of at least REPORT_WINDOW, the
 * rate it received (by its clock) and the rate we sent (by ours) go to
 * the engine, whose balance scheduler compares them (sched.c).
 */
static void
report_input(struct pipe_peer *pp, const uint8_t *buf, size_t len)
{
	struct wire_report	 rp;
	uint64_t		 t, b, dt;
	int64_t			 local, dl;
	uint32_t		 seq, rcv, exp, drcv, dexp;

	if (len != sizeof(rp)) {
		pipe_drop(pp, DROP_BADTYPE);
		return;
	}
	memcpy(&rp, buf, sizeof(rp));
	seq = ntohl(rp.seq);
	t = be64toh(rp.time_us);
	b = be64toh(rp.bytes);
	rcv = ntohl(rp.received);
	exp = ntohl(rp.expected);
	local = getmonotime_us();
	if (pp->rep_valid && (int32_t)(seq - pp->rep_seq) <= 0)
		return;		/* older than the anchor: reordered */
	if (!pp->rep_valid || t <= pp->rep_time || b < pp->rep_bytes ||
	    pp->tx_data < pp->rep_tx) {
		/* the first, or the peer's count started again */
		pp->rep_valid = 1;
		pp->rep_seq = seq;
		pp->rep_time = t;
		pp->rep_bytes = b;
		pp->rep_local = local;
		pp->rep_tx = pp->tx_data;
		pp->rep_received = rcv;
		pp->rep_expected = exp;
		return;
	}
	dt = t - pp->rep_time;
	if (dt < REPORT_WINDOW * 1000)
		return;
	dl = local - pp->rep_local;
	pp->st.rate_rx = (b - pp->rep_bytes) * 1000000 / dt;
	pp->st.rate_tx = dl > 0 ?
	    (pp->tx_data - pp->rep_tx) * 1000000 / (uint64_t)dl : 0;
	drcv = rcv - pp->rep_received;
	dexp = exp - pp->rep_expected;
	pp->st.rate_loss = dexp > drcv ?
	    (uint64_t)(dexp - drcv) * 1000000 / dexp : 0;
	pp->st.rate_gen++;
	pp->rep_received = rcv;
	pp->rep_expected = exp;
	pp->rep_seq = seq;
	pp->rep_time = t;
	pp->rep_bytes = b;
	pp->rep_local = local;
	pp->rep_tx = pp->tx_data;
	pp->dirty = 1;
	pipe_report(0);
}

static void
probe_input(struct pipe_peer *pp, uint8_t type, const uint8_t *buf,
    size_t len)
{
	struct wire_probe	 pr;
	struct wire_probe_echo	 wpe;
	struct probe_echo	 pe;
	int64_t			 now;

	if (type == WIRE_TYPE_PROBE_ECHO) {
		if (len != sizeof(wpe)) {
			pipe_drop(pp, DROP_BADTYPE);
			return;
		}
		memcpy(&wpe, buf, sizeof(wpe));
		probe_echo_unpack(&wpe, &pe);
		if (pp->peer_pipes != PROBE_PIPES(pe.flags)) {
			pp->peer_pipes = PROBE_PIPES(pe.flags);
			pp->dirty = 1;
		}
		/* the answer to ours first: what we send next is timed */
		probe_answer(pp, pe.echo_seq, pe.echo_us, pe.held_us);
		probe_received(pp, pe.seq, pe.sent_us,
		    (pe.flags & PROBE_PROMPTED) != 0);
		return;
	}
	if (len < sizeof(pr)) {
		pipe_drop(pp, DROP_BADTYPE);
		return;
	}
	memcpy(&pr, buf, sizeof(pr));
	if (type == WIRE_TYPE_PROBE) {
		if (len == sizeof(pr) && pr.zero == 0 && probe_echo_on(pp)) {
			probe_received(pp, ntohl(pr.seq), be64toh(pr.sent_us),
			    0);
			return;
		}
		/* echo it: the sender measures with its own clock */
		(void)pipe_seal_send(pp, WIRE_TYPE_PROBE_REPLY, buf, len);
		/*
		 * Send ours with it if it is half due: the two sides then
		 * probe in step, and each wakes about twice an interval
		 * instead of three times.
		 */
		now = getmonotime();
		if (len == sizeof(pr) &&
		    now - pp->probe_last_tx >= pp->probe_interval / 2)
			probe_send(pp, now, 0);
		return;
	}
	if (ntohl(pr.zero) == PROBE_PADDED) {
		/* a datagram of the size we try made it there and back */
		if (pp->pmtu_searching &&
		    len + WIRE_HDRLEN + WIRE_TAGLEN == pp->maxdgram) {
			pp->pmtu_searching = 0;
			pp->st.pmtu = pp->maxdgram;
			pp->dirty = 1;
			log_debug("peer %s uplink %s: datagrams of %zu bytes "
			    "cross", pp->st.peer, uplink, pp->maxdgram);
		}
		return;
	}
	if (len != sizeof(pr)) {
		pipe_drop(pp, DROP_BADTYPE);
		return;
	}
	probe_answer(pp, ntohl(pr.seq), be64toh(pr.sent_us), 0);
}

/*
 * The peer's probe, from a peer that takes probes with echo: held for
 * our next probe, answered by ours at once, or by a plain reply; see
 * probe_decide() for which.  A probe still held when the next comes
 * goes at once with ours, and the next gets a plain reply: holding it
 * instead, each side would answer the other's probe with one of its
 * own, which the other holds while it answers the one before, back and
 * forth for ever.
 *
 * On a path whose jitter stops the holds (probe_quiet()) every probe
 * gets a plain reply at once, and our own go on our timer: a probe and
 * its answer in two datagrams, as towards an older peer.  Were ours
 * sent at once with the echo instead, each side would send half the
 * datagrams, and a burst of loss as many datagrams long would silence
 * the pipe twice as long.
 */
static void
probe_received(struct pipe_peer *pp, uint32_t seq, uint64_t sent_us,
    int prompted)
{
	struct wire_probe	 pr;
	enum probe_action	 act;
	int64_t			 now = getmonotime();

	if (pp->hold_valid) {
		probe_send(pp, now, 0);
		act = PROBE_REPLY;
	} else if (!pp->probe_quiet)
		act = PROBE_REPLY;
	else
		act = probe_decide(prompted,
		    probe_can_hold(pp->probe_interval, pp->probe_timeout),
		    pp->probe_late, now - pp->probe_last_tx,
		    pp->probe_interval, pipe_rank(pp));
	switch (act) {
	case PROBE_HOLD:
	case PROBE_SEND:
		pp->hold_valid = 1;
		pp->hold_seq = seq;
		pp->hold_sent_us = sent_us;
		pp->hold_at_us = getmonotime_us();
		pp->hold_at = now;
		if (act == PROBE_SEND)
			probe_send(pp, now, 1);
		break;
	case PROBE_REPLY:
		pr.seq = htonl(seq);
		pr.zero = 0;
		pr.sent_us = htobe64(sent_us);
		(void)pipe_seal_send(pp, WIRE_TYPE_PROBE_REPLY,
		    (uint8_t *)&pr, sizeof(pr));
		break;
	}
}

/*
 * An answer to our probe seq, sent at sent_us by our clock, which the
 * peer held for held_us before it answered (a reply: 0): the round trip
 * without the hold makes the RTT and the jitter, and its arrival the
 * gap between answers.
 */
static void
probe_answer(struct pipe_peer *pp, uint32_t seq, uint64_t sent_us,
    uint32_t held_us)
{
	int64_t			 rtt, d, now;
	int			 slot;

	slot = seq % PROBE_SLOTS;
	if (pp->probes[slot].sent == 0 || pp->probes[slot].seq != seq ||
	    pp->probes[slot].answered)
		return;		/* too old, or a copy */
	pp->probes[slot].answered = 1;
	now = getmonotime();
	probe_gap(pp, now);
	pp->probe_last_rx = now;
	/* a pipe that was not up need not wait for the next tick */
	if (pp->st.state != PIPE_STATE_UP)
		pipe_tick_soon();

	rtt = probe_rtt((uint64_t)getmonotime_us(), sent_us, held_us);
	/* smoothed as TCP does; jitter as RTP does (RFC 3550) */
	if (pp->srtt_us == 0)
		pp->srtt_us = rtt;
	else
		pp->srtt_us += (rtt - pp->srtt_us) / 8;
	if (pp->last_rtt_us != 0) {
		d = rtt - pp->last_rtt_us;
		if (d < 0)
			d = -d;
		pp->jitter_us += (d - pp->jitter_us) / 16;
	}
	pp->last_rtt_us = rtt;
	pp->probe_quiet = probe_quiet(pp->probe_quiet, pp->jitter_us,
	    pp->probe_interval);
	pp->st.rtt_us = pp->srtt_us;
	pp->st.jitter_us = pp->jitter_us;
	pp->dirty = 1;
	probe_check(pp, pp->probe_last_rx);
}

/* Loss over the probes old enough to have come back, and the state. */
static void
probe_check(struct pipe_peer *pp, int64_t now)
{
	char		 why[64];
	uint32_t	 matured = 0, lost = 0, ppm;
	int64_t		 hold;
	int		 i;

	/* a peer that takes probes with echo may hold one PROBE_HOLD_MAX */
	hold = probe_echo_on(pp) ? PROBE_HOLD_MAX : 0;
	for (i = 0; i < PROBE_SLOTS; i++) {
		if (pp->probes[i].sent == 0 ||
		    now - pp->probes[i].sent < pp->probe_timeout + hold)
			continue;
		matured++;
		if (!pp->probes[i].answered)
			lost++;
	}
	ppm = matured ? (uint64_t)lost * 1000000 / matured : 0;
	if (ppm != pp->st.loss_ppm) {
		pp->st.loss_ppm = ppm;
		pp->dirty = 1;
	}

	if (pp->probe_last_rx != 0 &&
	    now - pp->probe_last_rx <= pp->down_after) {
		/*
		 * An answer overdue beyond what this path shows: the
		 * engine sends the peer's frames over another pipe as
		 * well, until it answers again or is found down.
		 */
		if (pp->suspect_on && now - pp->probe_last_rx >
		    pp->suspect_after && (pp->st.state == PIPE_STATE_UP ||
		    pp->st.state == PIPE_STATE_SUSPECT)) {
			snprintf(why, sizeof(why), "no answer for %lld ms",
			    (long long)(now - pp->probe_last_rx));
			pipe_set_state(pp, PIPE_STATE_SUSPECT, why);
			return;
		}
		/* answered, but worse than the operator accepts */
		if (pp->max_loss != 0 && ppm > pp->max_loss * 10000) {
			snprintf(why, sizeof(why), "loss %u.%u%% above %u%%",
			    ppm / 10000, ppm % 10000 / 1000, pp->max_loss);
			pipe_set_state(pp, PIPE_STATE_DEGRADED, why);
		} else if (pp->max_rtt != 0 &&
		    pp->srtt_us > (int64_t)pp->max_rtt * 1000) {
			snprintf(why, sizeof(why), "rtt %lld ms above %u ms",
			    (long long)(pp->srtt_us / 1000), pp->max_rtt);
			pipe_set_state(pp, PIPE_STATE_DEGRADED, why);
		} else
			pipe_set_state(pp, PIPE_STATE_UP, "probes answered");
		return;
	}
	if (pp->st.state == PIPE_STATE_UP ||
	    pp->st.state == PIPE_STATE_SUSPECT ||
	    pp->st.state == PIPE_STATE_DEGRADED) {
		snprintf(why, sizeof(why), "no probe answered for %lld ms",
		    (long long)pp->down_after);
		pipe_set_state(pp, PIPE_STATE_DOWN, why);
	}
}

/*
 * An answer came: the gap since the one before is what this path
 * shows.  The mean and deviation take the gaps of a pipe that was up
 * only: a suspect spell is a burst of loss, which the largest gap
 * keeps.  A silence that made the pipe down teaches nothing: it was an
 * outage, or an ISP that flaps, and taking it for the path's rhythm
 * would stretch the timers until no outage is ever seen.
 */
static void
probe_gap(struct pipe_peer *pp, int64_t now)
{
	int64_t	 gap, dev;

	gap = now - pp->probe_last_rx;
	if (pp->probe_last_rx == 0 || gap > pp->down_after ||
	    (pp->st.state != PIPE_STATE_UP &&
	    pp->st.state != PIPE_STATE_SUSPECT &&
	    pp->st.state != PIPE_STATE_DEGRADED)) {
		probe_thresholds(pp, now);
		return;
	}
	probe_window(pp, now);
	if (gap > pp->gap_max[pp->gap_bucket])
		pp->gap_max[pp->gap_bucket] = gap;
	/* smoothed as TCP smooths the RTT and its deviation (RFC 6298) */
	if (pp->st.state == PIPE_STATE_SUSPECT)
		;	/* a burst: the largest gap has it */
	else if (pp->gap_avg == 0) {
		pp->gap_avg = gap;
		pp->gap_dev = gap / 2;
	} else {
		dev = gap - pp->gap_avg;
		if (dev < 0)
			dev = -dev;
		pp->gap_dev += (dev - pp->gap_dev) / 4;
		pp->gap_avg += (gap - pp->gap_avg) / 8;
	}
	probe_thresholds(pp, now);
}

/*
 * How long a silence makes this pipe suspect, and how long down:
 *
 *   suspect after  max(1.25 interval, mean gap + 3 deviations)
 *   down after     max(timeout, 3 x suspect after, 2 x the largest
 *                  gap of the last minute, and on a line that loses
 *                  answers 250 ms + 4 deviations), at most timeout max
 *
 * so that on a quiet line an overdue answer is noticed within about a
 * probe interval, and a line that shows bursts of loss and jitter gets
 * the time its own record says it needs (3 x suspect after is what a
 * jittery line gets before it has shown its bursts); the window
 * forgets a burst after a minute to a minute and 4 s.
 */
static void
probe_thresholds(struct pipe_peer *pp, int64_t now)
{
	int64_t	 s, d, gmax = 0;
	int	 i;

	probe_window(pp, now);
	for (i = 0; i < GAP_BUCKETS; i++)
		if (pp->gap_max[i] > gmax)
			gmax = pp->gap_max[i];

	s = pp->probe_interval + pp->probe_interval / 4;
	if (pp->gap_avg != 0 && pp->gap_avg + 3 * pp->gap_dev > s)
		s = pp->gap_avg + 3 * pp->gap_dev;
	d = 3 * s;
	if (2 * gmax > d)
		d = 2 * gmax;
	/*
	 * A line that loses answers (any in the last 64 probes, or a gap
	 * of two intervals this minute) may lose them in bursts longer
	 * than it has shown yet, as a radio link does for a fraction of a
	 * second: PROBE_BURST at least, plus its jitter.
	 */
	if ((pp->st.loss_ppm > 0 || gmax >= 2 * (int64_t)pp->probe_interval) &&
	    d < PROBE_BURST + 4 * pp->gap_dev)
		d = PROBE_BURST + 4 * pp->gap_dev;
	if (d < pp->probe_timeout)
		d = pp->probe_timeout;
	if (d > pp->probe_timeout_max)
		d = pp->probe_timeout_max;
	if (s >= d)
		s = d;
	/* shown with the next report: they move with every answer */
	pp->suspect_after = s;
	pp->down_after = d;
}

/* The minute of largest gaps moves on: a bucket every GAP_BUCKET_MS. */
static void
probe_window(struct pipe_peer *pp, int64_t now)
{
	if (pp->gap_bucket_start == 0)
		pp->gap_bucket_start = now;
	while (now - pp->gap_bucket_start >= GAP_BUCKET_MS) {
		pp->gap_bucket = (pp->gap_bucket + 1) % GAP_BUCKETS;
		pp->gap_max[pp->gap_bucket] = 0;
		pp->gap_bucket_start += GAP_BUCKET_MS;
		/* after a long sleep, start the window afresh */
		if (now - pp->gap_bucket_start >= GAP_BUCKETS * GAP_BUCKET_MS)
			pp->gap_bucket_start = now;
	}
}

/*
 * The path MTU: a probe padded to the datagram size we use; when three
 * in a row are not answered, the path is narrower (an ISP's PPPoE or a
 * tunnel) and the next smaller usual MTU is tried.  The datagrams leave
 * with DF, so that a narrow path drops them instead of fragmenting.
 */
static void
pmtu_tick(struct pipe_peer *pp, int64_t now)
{
	static const uint32_t	 mtus[] = {
		9000, 4470, 1500, 1492, 1480, 1460, 1400, 1350, 1280
	};
	static uint8_t		 pad[DGRAM_MAX];
	struct wire_probe	 pr;
	size_t			 overhead, next, len;
	unsigned int		 i;

	if (now - pp->pmtu_last < PMTU_INTERVAL ||
	    pp->dest.ss_family == AF_UNSPEC)
		return;
	overhead = (pp->dest.ss_family == AF_INET ? IPV4_UDP_OVERHEAD :
	    IPV6_UDP_OVERHEAD);
	if (pp->pmtu_tries >= PMTU_TRIES) {
		next = 0;
		for (i = 0; i < sizeof(mtus) / sizeof(mtus[0]); i++)
			if (mtus[i] - overhead < pp->maxdgram) {
				next = mtus[i] - overhead;
				break;
			}
		if (next == 0) {
			/* at the minimum: nothing smaller to try */
			pp->pmtu_searching = 0;
			pp->st.pmtu = pp->maxdgram;
			pp->dirty = 1;
			return;
		}
		log_info("peer %s uplink %s: datagrams of %zu bytes do not "
		    "cross, trying %zu", pp->st.peer, uplink, pp->maxdgram,
		    next);
		pp->maxdgram = next;
		pp->st.pmtu = next;
		pp->dirty = 1;
		pp->pmtu_tries = 0;
	}
	len = pp->maxdgram - WIRE_HDRLEN - WIRE_TAGLEN;
	if (len < sizeof(pr) || len > sizeof(pad))
		return;
	memset(&pr, 0, sizeof(pr));
	pr.zero = htonl(PROBE_PADDED);
	memcpy(pad, &pr, sizeof(pr));
	(void)pipe_seal_send(pp, WIRE_TYPE_PROBE, pad, len);
	pp->pmtu_tries++;
	pp->pmtu_last = now;
}

#ifdef MARCONID_TEST_HOOKS
/*
 * Test builds only (regress/e2e/marconid-test): the signal SIGRTMAX - i
 * makes the process ask the parent what a compromised or confused one
 * would, so that a test sees what the parent does with it.
 */
static void
pipe_test_connect(int what)
{
	struct connect_req	 cr;
	struct pipe_peer	*pp;
	int			 i;

	TAILQ_FOREACH(pp, &ppeers, entry)
		if (pp->conf.remote.ss_family != AF_UNSPEC)
			break;
	memset(&cr, 0, sizeof(cr));
	if (pp != NULL) {
		strlcpy(cr.peer, pp->st.peer, sizeof(cr.peer));
		cr.peerid = pp->id;
		cr.remote = pp->conf.remote;
	}
	switch (what) {
	case 0:
		/* a request a reload made stale: a peer id nobody has */
		cr.peerid = UINT32_MAX;
		imsg_compose_event(&iev_parent, IMSG_CONNECT, 0, 0, -1, &cr,
		    sizeof(cr));
		break;
	case 1:
		imsg_compose_event(&iev_parent, IMSG_CONNECT, 0, 0, -1, &cr,
		    3);
		break;
	case 2:
		/* ask and ask, and never read an answer */
		iev_parent.paused = 1;
		for (i = 0; i < 2000; i++)
			imsg_compose_event(&iev_parent, IMSG_CONNECT, 0, 0, -1,
			    &cr, sizeof(cr));
		break;
	}
}

static const char *pipe_test_names[] = {
	"connect-stale",
	"connect-malformed",
	"connect-flood",
};
static struct event	 pipe_test_ev[3];

static void
pipe_test_signal(int sig, short event, void *arg)
{
	int	 what = (int)(intptr_t)arg;

	log_info("pipe test: pid %d: %s", (int)getpid(),
	    pipe_test_names[what]);
	pipe_test_connect(what);
}

static void
pipe_test_init(void)
{
	int	 i, sig;

	for (i = 0; i < 3; i++) {
		sig = SIGRTMAX - i;
		signal_set(&pipe_test_ev[i], sig, pipe_test_signal,
		    (void *)(intptr_t)i);
		signal_add(&pipe_test_ev[i], NULL);
		log_info("pipe test: signal %d: %s", sig, pipe_test_names[i]);
	}
}
#endif	/* MARCONID_TEST_HOOKS */
