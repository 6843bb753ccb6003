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
#include <sys/tree.h>
#include <sys/uio.h>

#include <errno.h>
#include <event.h>
#include <imsg.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "endian-compat.h"
#include "marconid.h"

/*
 * The engine: owns the tun/tap device and the control socket, and
 * keeps the table of every pipe (peer x uplink) with the state its
 * uplink process reports.  It is the only process that sees frames.
 */

struct eng_uplink {
	TAILQ_ENTRY(eng_uplink)	 entry;
	char			 name[MARCONID_NAMELEN];
	struct imsgev		 iev;	/* to the uplink process */
	pid_t			 pid;	/* 0: process dead */
	uint32_t		 restarts;
};

struct eng_peer;

struct eng_pipe {
	TAILQ_ENTRY(eng_pipe)	 entry;
	struct eng_peer		*peer;
	struct pipe_conf	 conf;
	struct pipe_state	 st;
	int64_t			 last_change;
	int			 state;		/* effective, as last seen */
	int64_t			 up_since;	/* ms, 0: not up */
	int			 went_down;	/* hold-down applies */
	uint32_t		 changes;	/* of state, for the metrics */
	/* run-time changes, until the next reload or reset */
	int			 admin_down;
	int			 pref_override;	/* -1: the configured one */
	int			 preferred;
	struct sched_pipe	 sp;		/* balance mode, sched.c */
	int64_t			 bal_rx_at;	/* us, last balance frame in */
	uint64_t		 bal_top;	/* highest balance frame in */
	int64_t			 suspect_at;	/* ms, the spell began */
};

struct eng_peer {
	TAILQ_ENTRY(eng_peer)	 entry;
	uint32_t		 id;	/* the parent's, stable: see peer_conf */
	char			 name[MARCONID_NAMELEN];
	char			 fingerprint[MARCONID_FPRLEN];
	enum peer_mode		 mode;
	enum peer_mode		 conf_mode;
	int			 mode_override;
	uint32_t		 holddown;	/* ms */
	TAILQ_HEAD(, eng_pipe)	 pipes;
	struct eng_pipe		*active;	/* failover: carries traffic */
	int64_t			 last_change;
	uint64_t		 tx_seq;	/* frames sent to this peer */
	uint64_t		 suspect_frames;	/* sent twice for it */
	/* failover, two pipes or more: what was sent lately, resend.c */
	struct resend		*rs;
	int			 copying;	/* to a backup, for a suspect */
	int64_t			 copied_until;	/* ms, the last spell ended */
	uint64_t		 resent_frames;	/* sent again when it began */
	size_t			 resend_credit;	/* bytes it may send again */
	uint64_t		 badsource;	/* tun: source not its own */
	uint32_t		 rx_epoch;	/* of the peer's engine */
	int			 rx_epoch_valid;
	struct replay		 dedup;		/* frames seen from it */
	uint64_t		 relayed;	/* frames relayed to it */
	/* balance mode, sending: the pipes that may carry, sched.c */
	struct eng_pipe		*bal[SCHED_MAXPIPES];
	struct sched_pipe	*bal_sp[SCHED_MAXPIPES];
	int			 nbal;		/* pipes in bal[] */
	int			 nbal_in;	/* of those, with a share */
	uint64_t		 bal_frames;	/* sent spread */
	/* balance frames from it, back in order: reorder.c */
	struct reorder		*ro;		/* NULL until the first */
	struct event		 ro_ev;
	int64_t			 ro_armed;	/* deadline, us; -1: none */
	int64_t			 ro_wait;	/* us, for its pipes' RTTs */
};

struct eng_iface {
	char			 name[IFNAMSIZ];
	int			 fd;
	struct event		 ev;
	uint64_t		 ipackets;
	uint64_t		 opackets;
	uint64_t		 ibytes;
	uint64_t		 obytes;
	uint64_t		 noroute;	/* tun: to nobody's network */
	uint64_t		 badsource;	/* tun: from a peer, not its own */
	uint64_t		 notip;		/* tun: neither IPv4 nor IPv6 */
};

static void	 engine_sig(int, short, void *);
static void	 engine_dispatch_parent(int, short, void *);
static void	 engine_dispatch_pipe(int, short, void *);
static void	 engine_apply_config(struct marconid_conf *);
static struct eng_uplink *uplink_get(const char *, int);
static struct eng_peer	*peer_find_id(uint32_t);
static struct eng_pipe	*peer_pipe(struct eng_peer *, const char *);
static void	 iface_read(int, short, void *);
static int	 pipe_effective_state(struct eng_pipe *);
static void	 uplink_touch(const char *, pid_t);
static void	 engine_shutdown(void) __attribute__((__noreturn__));

static struct imsgev			 iev_parent;
/* conf runs; nconf is being received, held until the parent commits */
static struct marconid_conf		*conf, *nconf, *conf_held;
static TAILQ_HEAD(, eng_uplink)		 uplinks =
				    TAILQ_HEAD_INITIALIZER(uplinks);
static TAILQ_HEAD(, eng_peer)		 peers = TAILQ_HEAD_INITIALIZER(peers);
static struct eng_iface			 iface = { .fd = -1 };
static int				 relay_pending;	/* to flush */

/*
 * Tun: the networks of the peers (route.c), and those of them the
 * parent installed in the kernel, as it last said.
 */
static struct rtable			 rtable;
static struct kroute			*kroutes;
static size_t				 nkroutes;
static void	 rtable_build(struct marconid_conf *);
static void	 tun_from_iface(uint8_t *, size_t);
static void	 tun_from_peer(struct eng_peer *, const uint8_t *, size_t,
		    uint32_t);
static int	 kroute_installed(const struct route *);

/*
 * Which peer an Ethernet address sits behind, learned from the frames
 * that come out of the pipes, so that unicast goes to one peer only.
 * An address is followed at once to another peer (a frame from there)
 * or to this site (a frame from the device), and forgotten when no
 * frame came from it for mac_timeout.  A full table learns nothing
 * new: frames to the addresses it could not learn are flooded, those
 * it knows still go to one peer (a flood of forged sources cannot
 * push out the addresses in use).
 */
struct mac_entry {
	RB_ENTRY(mac_entry)	 entry;
	uint8_t			 mac[6];
	uint32_t		 peer;	/* id */
	int64_t			 seen;
};
RB_HEAD(mac_tree, mac_entry);

int		 mac_cmp(struct mac_entry *, struct mac_entry *);
RB_PROTOTYPE(mac_tree, mac_entry, entry, mac_cmp);
RB_GENERATE(mac_tree, mac_entry, entry, mac_cmp)

static struct mac_tree	 macs = RB_INITIALIZER(&macs);
static uint32_t		 n_macs;
static uint32_t		 mac_timeout = MAC_TIMEOUT;
static uint32_t		 mac_max = MAC_MAX;
static uint64_t		 mac_refused;	/* not learned: table full */
static int64_t		 mac_full_logged;
static int		 relay;		/* conf->relay */
static enum iface_type	 iface_type = IFACE_TAP;

static void	 mac_flush(void);
static void	 mac_expire(int64_t);
static void	 mac_learn(const uint8_t *, uint32_t, int64_t);
static void	 mac_local(const uint8_t *);
static int	 mac_lookup(const uint8_t *, uint32_t *, int64_t);
static void	 frame_to_peer(struct eng_peer *, uint8_t *, size_t,
		    uint32_t);
static int	 frame_relay(struct eng_peer *, const uint8_t *, size_t);
static int	 frame_to_pipe(struct eng_peer *, struct eng_pipe *,
		    const uint8_t *, size_t);
static void	 frame_from_pipe(struct eng_uplink *, uint32_t,
		    const uint8_t *, size_t);
static void	 iface_flush(void);
static struct eng_pipe *pipe_choose(struct eng_peer *);
static int	 pipe_pref(struct eng_pipe *);
static struct eng_pipe *pipe_backup(struct eng_peer *, struct eng_pipe *);
static void	 pipe_refresh(struct eng_pipe *, const char *);
static void	 peer_select(struct eng_peer *, const char *);
static void	 peer_resend(struct eng_peer *);
static void	 engine_event(struct eng_peer *, struct eng_pipe *, int, int,
		    const char *);
static void	 engine_tick(int, short, void *);
static void	 peer_balance(struct eng_peer *);
static void	 frame_deliver(void *, const uint8_t *, size_t);
static void	 reorder_timer(int, short, void *);
static void	 reorder_arm(struct eng_peer *);
static void	 peer_lost_below(struct eng_peer *, int64_t);
static int64_t	 pipe_lead(struct eng_peer *, struct eng_pipe *, int64_t);
static struct event	 tick_ev;
static uint32_t		 engine_epoch;
static pid_t				 parent_pid;
static int64_t				 start_time;
static int64_t				 reload_time;
static uint32_t				 n_configs;

void
engine_main(int debug, int verbose, const char *user)
{
	struct event	 ev_sigint, ev_sigterm;

	log_init(debug, LOG_DAEMON);
	log_setverbose(verbose);
	log_procinit("engine");
	proc_title("engine");

	parent_pid = getppid();
	start_time = getmonotime();

	/* the event base is made before the sandbox forbids epoll_create */
	event_init();
	child_privdrop(user);
	sandbox_init(PROC_ENGINE);

	signal_set(&ev_sigint, SIGINT, engine_sig, NULL);
	signal_set(&ev_sigterm, SIGTERM, engine_sig, NULL);
	signal_add(&ev_sigint, NULL);
	signal_add(&ev_sigterm, NULL);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);

	/* a new epoch tells the peers to forget our frame numbers */
	engine_epoch = arc4random();
	evtimer_set(&tick_ev, engine_tick, NULL);
	{
		struct timeval	tv = { 0, 100 * 1000 };

		evtimer_add(&tick_ev, &tv);
	}

	imsgev_init(&iev_parent, PARENT_SOCK_FILENO, engine_dispatch_parent,
	    NULL);
	/* the device, the control listener and the uplink channels */
	imsgbuf_allow_fdpass(&iev_parent.ibuf);

	event_dispatch();
	engine_shutdown();
}

static void
engine_sig(int sig, short event, void *arg)
{
	/* the parent ends us on shutdown; nothing to save */
	engine_shutdown();
}

static void
engine_shutdown(void)
{
	control_shutdown();
	log_debug("exiting");
	exit(0);
}

int
engine_compose_parent(uint32_t type, uint32_t peerid, const void *data,
    size_t len)
{
	return (imsg_compose_event(&iev_parent, type, peerid, 0, -1, data,
	    len));
}

static void
engine_dispatch_parent(int fd, short event, void *arg)
{
	struct imsgev		*iev = arg;
	struct imsg		 imsg;
	struct eng_uplink	*eu;
	struct pipe_proc	 pp;
	struct ctl_request	 req;
	char			 name[MARCONID_NAMELEN];
	char			 ifname[IFNAMSIZ];
	struct marconid_conf	*newconf;
	ssize_t			 n;
	int32_t			 restricted;
	int			 newfd;

	if (imsgev_read(iev, event) == 0) {
		/* without a parent there is nobody to restart anything */
		log_warnx("parent went away");
		engine_shutdown();
	}

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
				engine_compose_parent(IMSG_CFG_ACK, 0,
				    &conf_held->generation,
				    sizeof(conf_held->generation));
			}
			imsg_free(&imsg);
			continue;
		}

		switch (imsg_get_type(&imsg)) {
		case IMSG_CFG_COMMIT:
			engine_apply_config(config_child_commit(&conf_held,
			    &imsg));
			break;
		case IMSG_IFACE_FD:
			if (imsg_get_data(&imsg, ifname, sizeof(ifname)) == -1)
				fatalx("%s: bad IMSG_IFACE_FD", __func__);
			ifname[sizeof(ifname) - 1] = '\0';
			if ((newfd = imsg_get_fd(&imsg)) == -1)
				fatalx("%s: IMSG_IFACE_FD without a descriptor",
				    __func__);
			if (iface.fd != -1) {
				event_del(&iface.ev);
				close(iface.fd);
			}
			strlcpy(iface.name, ifname, sizeof(iface.name));
			iface.fd = newfd;
			event_set(&iface.ev, iface.fd, EV_READ | EV_PERSIST,
			    iface_read, NULL);
			event_add(&iface.ev, NULL);
			log_debug("interface %s attached", iface.name);
			break;
		case IMSG_CONTROL_FD:
			if ((newfd = imsg_get_fd(&imsg)) == -1)
				fatalx("%s: IMSG_CONTROL_FD without a "
				    "descriptor", __func__);
			/* with a flag: 1 for the restricted socket */
			if (imsg_get_data(&imsg, &restricted,
			    sizeof(restricted)) == -1)
				fatalx("%s: bad IMSG_CONTROL_FD", __func__);
			control_listen(newfd, restricted != 0);
			break;
		case IMSG_PIPE_CHANNEL:
			if (imsg_get_data(&imsg, name, sizeof(name)) == -1)
				fatalx("%s: bad IMSG_PIPE_CHANNEL", __func__);
			name[sizeof(name) - 1] = '\0';
			if ((newfd = imsg_get_fd(&imsg)) == -1)
				fatalx("%s: IMSG_PIPE_CHANNEL without a "
				    "descriptor", __func__);
			eu = uplink_get(name, 1);
			imsgev_clear(&eu->iev);
			imsgev_init(&eu->iev, newfd, engine_dispatch_pipe, eu);
			break;
		case IMSG_PIPE_PROC:
			if (imsg_get_data(&imsg, &pp, sizeof(pp)) == -1)
				fatalx("%s: bad IMSG_PIPE_PROC", __func__);
			pp.uplink[sizeof(pp.uplink) - 1] = '\0';
			eu = uplink_get(pp.uplink, 1);
			eu->pid = pp.pid;
			eu->restarts = pp.restarts;
			if (eu->pid == 0) {
				imsgev_clear(&eu->iev);
				log_warnx("uplink %s: process died", eu->name);
			}
			uplink_touch(eu->name, eu->pid);
			break;
		case IMSG_CTL_RESULT:
			control_relay_result(imsg_get_id(&imsg), &imsg);
			break;
		case IMSG_ROUTE_KERNEL:
			n = imsg_get_len(&imsg);
			if (n % sizeof(struct kroute) != 0 ||
			    n / sizeof(struct kroute) > KROUTE_MAX)
				fatalx("%s: bad IMSG_ROUTE_KERNEL", __func__);
			free(kroutes);
			kroutes = NULL;
			nkroutes = n / sizeof(struct kroute);
			if (nkroutes > 0) {
				if ((kroutes = calloc(nkroutes,
				    sizeof(*kroutes))) == NULL)
					fatal("%s", __func__);
				if (imsg_get_data(&imsg, kroutes, n) == -1)
					fatalx("%s: bad IMSG_ROUTE_KERNEL",
					    __func__);
			}
			break;
		case IMSG_CTL_LOG_VERBOSE:
			if (imsg_get_data(&imsg, &req, sizeof(req)) == -1)
				fatalx("%s: bad IMSG_CTL_LOG_VERBOSE",
				    __func__);
			log_setverbose(req.verbose);
			break;
		default:
			fatalx("%s: unexpected %s from the parent", __func__,
			    imsg_type_name(imsg_get_type(&imsg)));
		}
		imsg_free(&imsg);
	}
	imsg_event_add(iev);
}

static void
engine_dispatch_pipe(int fd, short event, void *arg)
{
	struct imsgev		*iev = arg;
	struct eng_uplink	*eu = iev->data, *oeu;
	struct eng_peer		*pe;
	struct eng_pipe		*ep;
	struct pipe_state	 ps;
	struct imsg		 imsg;
	struct ibuf		 ib;
	ssize_t			 n;

	if (imsgev_read(iev, event) == 0) {
		/* the parent restarts it and sends a new channel */
		log_debug("uplink %s: channel closed", eu->name);
		imsgev_clear(iev);
		return;
	}

	/*
	 * An uplink process is the least trusted of the daemon's: what
	 * is malformed or unexpected from it is fatal to it, not to us.
	 * Dropping its channel makes it exit, and the parent restarts it.
	 */
	for (;;) {
		if ((n = imsg_get(&iev->ibuf, &imsg)) == -1) {
			log_warn("uplink %s: malformed message, dropping its "
			    "channel", eu->name);
			imsgev_clear(iev);
			iface_flush();
			return;
		}
		if (n == 0)
			break;

		switch (imsg_get_type(&imsg)) {
		case IMSG_PIPE_STATE:
			if (imsg_get_data(&imsg, &ps, sizeof(ps)) == -1) {
				log_warnx("uplink %s: bad IMSG_PIPE_STATE, "
				    "dropping its channel", eu->name);
				imsg_free(&imsg);
				imsgev_clear(iev);
				iface_flush();
				return;
			}
			ps.peer[sizeof(ps.peer) - 1] = '\0';
			ps.uplink[sizeof(ps.uplink) - 1] = '\0';
			/* a pipe process speaks for its own uplink only */
			if (strcmp(ps.uplink, eu->name) != 0) {
				log_warnx("uplink %s: state for uplink %s "
				    "refused", eu->name, ps.uplink);
				break;
			}
			/* by id: a peer renamed or replaced is another */
			if ((pe = peer_find_id(ps.peerid)) == NULL ||
			    (ep = peer_pipe(pe, ps.uplink)) == NULL) {
				log_debug("uplink %s: state for unknown peer "
				    "%s (id %u)", eu->name, ps.peer,
				    ps.peerid);
				break;
			}
			ps.reason[sizeof(ps.reason) - 1] = '\0';
			ep->st = ps;
			pipe_refresh(ep, ps.reason);
			break;
		case IMSG_FRAME:
			/* empty: nothing to deliver */
			if (imsg_get_ibuf(&imsg, &ib) == 0)
				frame_from_pipe(eu, imsg_get_id(&imsg),
				    ibuf_data(&ib), ibuf_size(&ib));
			break;
		default:
			log_warnx("uplink %s: unexpected %s, dropping its "
			    "channel", eu->name,
			    imsg_type_name(imsg_get_type(&imsg)));
			imsg_free(&imsg);
			imsgev_clear(iev);
			iface_flush();
			return;
		}
		imsg_free(&imsg);
	}
	iface_flush();
	/* what a hub relayed goes out with the batch it came in */
	if (relay_pending) {
		relay_pending = 0;
		TAILQ_FOREACH(oeu, &uplinks, entry)
			imsgev_flush(&oeu->iev);
	}
	imsg_event_add(iev);
}

static struct eng_uplink *
uplink_get(const char *name, int create)
{
	struct eng_uplink	*eu;

	TAILQ_FOREACH(eu, &uplinks, entry)
		if (strcmp(eu->name, name) == 0)
			return (eu);
	if (!create)
		return (NULL);
	if ((eu = calloc(1, sizeof(*eu))) == NULL)
		fatal("%s", __func__);
	strlcpy(eu->name, name, sizeof(eu->name));
	TAILQ_INSERT_TAIL(&uplinks, eu, entry);
	return (eu);
}

static struct eng_peer *
peer_find_id(uint32_t id)
{
	struct eng_peer	*pe;

	TAILQ_FOREACH(pe, &peers, entry)
		if (pe->id == id)
			return (pe);
	return (NULL);
}

/* The pipe of a peer over an uplink. */
static struct eng_pipe *
peer_pipe(struct eng_peer *pe, const char *uplink)
{
	struct eng_pipe	*ep;

	TAILQ_FOREACH(ep, &pe->pipes, entry)
		if (strcmp(ep->conf.uplink, uplink) == 0)
			return (ep);
	return (NULL);
}

/*
 * Take a new configuration: the pipes that stay keep their state and
 * counters, new ones start down, removed ones go.
 */
static void
engine_apply_config(struct marconid_conf *c)
{
	TAILQ_HEAD(, eng_peer)	 npeers = TAILQ_HEAD_INITIALIZER(npeers);
	struct peer_conf	*pc;
	struct pipe_conf	*pic;
	struct eng_peer		*pe, *ope;
	struct eng_pipe		*ep, *oep;
	struct eng_uplink	*eu, *neu;
	struct mac_entry	*m, *nm;
	int64_t			 now = getmonotime();

	TAILQ_FOREACH(pc, &c->peers, entry) {
		if ((pe = calloc(1, sizeof(*pe))) == NULL)
			fatal("%s", __func__);
		pe->id = pc->id;
		strlcpy(pe->name, pc->name, sizeof(pe->name));
		strlcpy(pe->fingerprint, pc->fingerprint,
		    sizeof(pe->fingerprint));
		pe->mode = pe->conf_mode = pc->mode;
		pe->holddown = pc->probe.holddown != 0 ? pc->probe.holddown :
		    c->probe.holddown;
		pe->last_change = now;
		TAILQ_INIT(&pe->pipes);
		evtimer_set(&pe->ro_ev, reorder_timer, pe);
		pe->ro_armed = -1;
		pe->ro_wait = REORDER_WAIT_MIN;
		/* the same id is the same site: name and fingerprint */
		TAILQ_FOREACH(ope, &peers, entry)
			if (ope->id == pe->id) {
				/* frame numbers go on: the peer dedups */
				pe->last_change = ope->last_change;
				pe->tx_seq = ope->tx_seq;
				pe->suspect_frames = ope->suspect_frames;
				pe->resent_frames = ope->resent_frames;
				pe->copying = ope->copying;
				pe->copied_until = ope->copied_until;
				pe->resend_credit = ope->resend_credit;
				pe->rs = ope->rs;
				ope->rs = NULL;
				pe->badsource = ope->badsource;
				pe->rx_epoch = ope->rx_epoch;
				pe->rx_epoch_valid = ope->rx_epoch_valid;
				pe->dedup = ope->dedup;
				pe->relayed = ope->relayed;
				pe->bal_frames = ope->bal_frames;
				/* frames held go on waiting, with their peer */
				if (ope->ro != NULL) {
					evtimer_del(&ope->ro_ev);
					ope->ro_armed = -1;
					pe->ro = ope->ro;
					ope->ro = NULL;
					reorder_set_arg(pe->ro, pe);
				}
				break;
			}
		TAILQ_FOREACH(pic, &pc->pipes, entry) {
			if ((ep = calloc(1, sizeof(*ep))) == NULL)
				fatal("%s", __func__);
			ep->peer = pe;
			ep->conf = *pic;
			strlcpy(ep->st.peer, pe->name, sizeof(ep->st.peer));
			strlcpy(ep->st.uplink, pic->uplink,
			    sizeof(ep->st.uplink));
			ep->st.state = PIPE_STATE_DOWN;
			ep->st.key_age = -1;
			ep->last_change = now;
			ep->state = PIPE_STATE_DOWN;
			ep->pref_override = -1;
			if (ope != NULL &&
			    (oep = peer_pipe(ope, pic->uplink)) != NULL) {
				ep->st = oep->st;
				ep->last_change = oep->last_change;
				ep->state = oep->state;
				ep->up_since = oep->up_since;
				ep->went_down = oep->went_down;
				ep->changes = oep->changes;
				ep->sp = oep->sp;
				ep->bal_rx_at = oep->bal_rx_at;
				ep->bal_top = oep->bal_top;
				ep->suspect_at = oep->suspect_at;
				if (ope != NULL && ope->active == oep)
					pe->active = ep;
			}
			TAILQ_INSERT_TAIL(&pe->pipes, ep, entry);
		}
		TAILQ_INSERT_TAIL(&npeers, pe, entry);
	}

	while ((ope = TAILQ_FIRST(&peers)) != NULL) {
		TAILQ_REMOVE(&peers, ope, entry);
		/* a peer that went: what it had held goes with it */
		if (ope->ro != NULL) {
			evtimer_del(&ope->ro_ev);
			reorder_free(ope->ro);
		}
		resend_free(ope->rs);
		while ((oep = TAILQ_FIRST(&ope->pipes)) != NULL) {
			TAILQ_REMOVE(&ope->pipes, oep, entry);
			free(oep);
		}
		free(ope);
	}
	TAILQ_CONCAT(&peers, &npeers, entry);
	/*
	 * The addresses learned behind a peer that stays are still there;
	 * flushing them would flood their frames to every peer until each
	 * host speaks again.  Those of a peer that went go with it.
	 */
	RB_FOREACH_SAFE(m, mac_tree, &macs, nm)
		if (peer_find_id(m->peer) == NULL) {
			RB_REMOVE(mac_tree, &macs, m);
			free(m);
			n_macs--;
		}
	TAILQ_FOREACH(pe, &peers, entry) {
		TAILQ_FOREACH(ep, &pe->pipes, entry)
			pipe_refresh(ep, "configuration loaded");
		/* a peer left with no pipe keeps no frames either */
		peer_resend(pe);
		reorder_arm(pe);
	}

	/* uplinks that left the configuration, once their process is gone */
	TAILQ_FOREACH_SAFE(eu, &uplinks, entry, neu) {
		if (config_find_uplink(c, eu->name) == NULL &&
		    eu->iev.handler == NULL) {
			TAILQ_REMOVE(&uplinks, eu, entry);
			free(eu);
		}
	}

	if (!TAILQ_EMPTY(&c->ifaces))
		iface_type = TAILQ_FIRST(&c->ifaces)->type;
	rtable_build(c);
	relay = c->relay;
	mac_timeout = c->mac_timeout;
	mac_max = c->mac_max;
	/* a smaller table: what has aged goes first, then all */
	if (n_macs > mac_max)
		mac_expire(now);
	if (n_macs > mac_max)
		mac_flush();
	if (conf != NULL) {
		config_free(conf);
		reload_time = now;
	}
	conf = c;
	n_configs++;
	log_debug("configuration %u applied", n_configs);
}

/*
 * Frames from the device: to the peer behind the destination address,
 * or to every peer when it is not known (broadcast, multicast); a tun's
 * packets to the peer that owns their destination, and nowhere else.
 */
static void
iface_read(int fd, short event, void *arg)
{
	struct eng_peer	*pe;
	struct eng_uplink *eu;
	uint8_t		 buf[FRAG_MAXFRAME];
	uint8_t		*frame = buf + sizeof(struct frame_hdr);
	size_t		 room = sizeof(buf) - sizeof(struct frame_hdr);
	uint32_t	 id;
	ssize_t		 n;
	int		 i;
	int64_t		 now = getmonotime();

	/* a bounded batch so that one busy device cannot starve the rest */
	for (i = 0; i < 64; i++) {
		if ((n = tun_recv(fd, iface_type, frame, room)) == -1) {
			if (errno != EAGAIN && errno != EINTR)
				log_warn("%s: read %s", __func__, iface.name);
			break;
		}
		if (n == 0)
			break;
		iface.ipackets++;
		iface.ibytes += n;

		if (iface_type == IFACE_TUN) {
			tun_from_iface(buf, n);
			continue;
		}
		if (iface_type == IFACE_TAP && n >= 14) {
			/* a source here is no longer behind a peer */
			if (n_macs > 0)
				mac_local(frame + 6);
			if (mac_lookup(frame, &id, now) == 0 &&
			    (pe = peer_find_id(id)) != NULL) {
				frame_to_peer(pe, buf, n, 0);
				continue;
			}
		}
		TAILQ_FOREACH(pe, &peers, entry)
			frame_to_peer(pe, buf, n, 0);
	}
	TAILQ_FOREACH(eu, &uplinks, entry)
		imsgev_flush(&eu->iev);
}

#define FRAME_QUEUE_MAX	4096	/* imsgs waiting for an uplink process */

static int
frame_to_pipe(struct eng_peer *pe, struct eng_pipe *ep, const uint8_t *buf,
    size_t len)
{
	struct eng_uplink	*eu;

	if ((eu = uplink_get(ep->conf.uplink, 0)) == NULL ||
	    eu->iev.handler == NULL ||
	    imsgbuf_queuelen(&eu->iev.ibuf) > FRAME_QUEUE_MAX)
		return (-1);
	/* queued only: iface_read() writes the batch to each uplink */
	if (imsg_compose(&eu->iev.ibuf, IMSG_FRAME, pe->id, 0, -1, buf,
	    len) == -1)
		fatal("%s: imsg_compose", __func__);
	return (0);
}

/*
 * buf has room for the frame header in front of the frame: numbered
 * per peer, so that in duplicate mode the far side keeps one copy.
 */
static void
frame_to_peer(struct eng_peer *pe, uint8_t *buf, size_t len, uint32_t flags)
{
	struct frame_hdr	 fh;
	struct eng_pipe		*ep;
	int			 sent = 0;

	fh.epoch = htonl(engine_epoch);
	fh.flags = htonl(flags);
	fh.seq = htobe64(pe->tx_seq);

	if (pe->mode == MODE_BALANCE && pe->nbal_in > 0) {
		/* spread by the measured shares; the far side reorders */
		int	 i;

		fh.flags = htonl(flags | FRAME_F_BALANCE);
		memcpy(buf, &fh, sizeof(fh));
		len += sizeof(fh);
		if ((i = sched_pick(pe->bal_sp, pe->nbal, len)) != -1 &&
		    frame_to_pipe(pe, pe->bal[i], buf, len) == 0) {
			pe->bal_frames++;
			pe->tx_seq++;
		}
		return;
	}
	memcpy(buf, &fh, sizeof(fh));
	len += sizeof(fh);

	if (pe->mode == MODE_DUPLICATE) {
		TAILQ_FOREACH(ep, &pe->pipes, entry)
			if (PIPE_IS_UP(ep->state) &&
			    frame_to_pipe(pe, ep, buf, len) == 0)
				sent++;
	} else if ((ep = pe->active) != NULL) {
		if (frame_to_pipe(pe, ep, buf, len) == 0) {
			sent++;
			/* for peer_resend(), should this pipe go suspect */
			if (pe->rs != NULL) {
				resend_add(pe->rs, buf, len, getmonotime());
				pe->resend_credit = MINIMUM(RESEND_BYTES,
				    pe->resend_credit + len / RESEND_SHARE);
			}
		}
		/*
		 * Its answer is overdue: the best other pipe that is up
		 * carries a copy (the far engine keeps one by its number),
		 * so that a cut costs the time to suspect it, not the
		 * time to find it down.
		 */
		if (ep->state == PIPE_STATE_SUSPECT &&
		    (ep = pipe_backup(pe, ep)) != NULL &&
		    frame_to_pipe(pe, ep, buf, len) == 0) {
			sent++;
			pe->suspect_frames++;
		}
	}
	if (sent > 0)
		pe->tx_seq++;
}

/* The frames that came together reach the device together. */
static void
iface_flush(void)
{
	if (iface.fd != -1 && tun_flush(iface.fd) == -1 && errno != EAGAIN &&
	    errno != EINVAL)
		log_warn("%s: write %s", __func__, iface.name);
}

static void
frame_from_pipe(struct eng_uplink *eu, uint32_t id, const uint8_t *buf,
    size_t len)
{
	struct frame_hdr	 fh;
	struct eng_peer		*pe;
	struct eng_pipe		*ep, *o;
	uint64_t		 seq;
	int64_t			 now;

	if (iface.fd == -1 || len <= sizeof(fh))
		return;
	/*
	 * An id names one site for ever: a frame for a peer that a reload
	 * removed (or whose fingerprint changed) finds none here.
	 */
	if ((pe = peer_find_id(id)) == NULL)
		return;
	/* an uplink process speaks for the peers it has a pipe to only */
	if ((ep = peer_pipe(pe, eu->name)) == NULL)
		return;
	memcpy(&fh, buf, sizeof(fh));
	if (!pe->rx_epoch_valid || ntohl(fh.epoch) != pe->rx_epoch) {
		/* the peer's engine started again: numbering starts over */
		memset(&pe->dedup, 0, sizeof(pe->dedup));
		pe->rx_epoch = ntohl(fh.epoch);
		pe->rx_epoch_valid = 1;
		if (pe->ro != NULL)
			reorder_flush(pe->ro);
		TAILQ_FOREACH(o, &pe->pipes, entry)
			o->bal_top = 0;
	}
	seq = be64toh(fh.seq);
	if (replay_check(&pe->dedup, seq) == -1)
		return;		/* a copy from duplicate mode */
	replay_update(&pe->dedup, seq);

	if (ntohl(fh.flags) & FRAME_F_BALANCE) {
		/*
		 * Spread over the pipes: in order, within a bounded wait.
		 * The buffer keeps the frame header with the frame, for
		 * frame_deliver() to read its flags.
		 */
		if (pe->ro == NULL) {
			if ((pe->ro = reorder_new(REORDER_FRAMES,
			    REORDER_BYTES, frame_deliver, pe)) == NULL) {
				log_warn("%s: reorder_new", __func__);
				frame_deliver(pe, buf, len);
				return;
			}
			reorder_set_wait(pe->ro, pe->ro_wait);
		}
		now = getmonotime_us();
		/* the pipes that carry the spread set the wait */
		ep->bal_rx_at = now;
		if (seq > ep->bal_top)
			ep->bal_top = seq;
		reorder_input(pe->ro, seq, buf, len, now,
		    pipe_lead(pe, ep, now));
		if (reorder_stats(pe->ro)->nheld > 0)
			peer_lost_below(pe, now);
		reorder_arm(pe);
		return;
	}
	/*
	 * The peer left balance mode, or sends as failover mode does for
	 * a while (every pipe of its spread suspect): what was held goes
	 * first, and a balance frame sent before this one is late.
	 */
	if (pe->ro != NULL) {
		reorder_skip(pe->ro, seq);
		reorder_arm(pe);
	}
	frame_deliver(pe, buf, len);
}

#if SCHED_RTT_SPREAD > REORDER_WAIT_MAX - REORDER_WAIT_MIN
#error "a hold of SCHED_RTT_SPREAD / 2 does not fit the longest wait"
#endif

/*
 * How long a balance frame from ep waits, in order or not: what the
 * longest pipe that brought one lately takes more one way, without
 * the queues (half the difference of their least RTTs), so that every
 * frame takes about as long whichever pipe carried it.  A TCP inside
 * then sees one path, not the shortest of several, and sizes its
 * window for the time its segments take (doc/wire.md section 5.5).
 * Lately is REORDER_LEAD_FOR: frames sent on a longer pipe before
 * then are in; a pipe that carried a few frames while another was
 * suspect holds nothing back for long.  A pipe more than
 * SCHED_RTT_SPREAD longer is not one the peer spreads over (sched.c):
 * it carries frames only while the shorter ones are suspect, and holds
 * nothing back.
 */
static int64_t
pipe_lead(struct eng_peer *pe, struct eng_pipe *ep, int64_t now)
{
	struct eng_pipe	*o;
	int64_t		 lead = 0;

	if (ep->sp.rtt_base == 0)
		return (0);	/* not measured yet */
	TAILQ_FOREACH(o, &pe->pipes, entry)
		if (o->sp.rtt_base > ep->sp.rtt_base && o->bal_rx_at != 0 &&
		    now - o->bal_rx_at < REORDER_LEAD_FOR &&
		    o->sp.rtt_base - ep->sp.rtt_base <= SCHED_RTT_SPREAD &&
		    (o->sp.rtt_base - ep->sp.rtt_base) / 2 > lead)
			lead = (o->sp.rtt_base - ep->sp.rtt_base) / 2;
	return (lead);
}

/*
 * What every pipe that carried the spread in the last second has gone
 * past is lost, not late: the reorder buffer need not wait for it.
 */
static void
peer_lost_below(struct eng_peer *pe, int64_t now)
{
	struct eng_pipe	*ep;
	uint64_t	 floor = UINT64_MAX;

	TAILQ_FOREACH(ep, &pe->pipes, entry)
		if (ep->bal_rx_at != 0 && now - ep->bal_rx_at < 1000000 &&
		    ep->bal_top < floor)
			floor = ep->bal_top;
	if (floor != UINT64_MAX)
		reorder_lost_below(pe->ro, floor, now);
}

/* A frame of a peer, its frame header in front, to the interface. */
static void
frame_deliver(void *arg, const uint8_t *buf, size_t len)
{
	struct eng_peer		*pe = arg;
	struct frame_hdr	 fh;
	const uint8_t		*frame;

	if (iface.fd == -1 || len <= sizeof(fh))
		return;
	memcpy(&fh, buf, sizeof(fh));
	frame = buf + sizeof(fh);
	len -= sizeof(fh);

	if (iface_type == IFACE_TUN) {
		tun_from_peer(pe, frame, len, ntohl(fh.flags));
		return;
	}
	if (iface_type == IFACE_TAP && len >= 14) {
		mac_learn(frame + 6, pe->id, getmonotime());
		/*
		 * A hub sends on what a peer sent, once: a frame some hub
		 * relayed already goes to the device only, so that hubs
		 * that peer with each other cannot make a frame go round.
		 * Without relay, a frame from a peer never goes to another
		 * (split horizon), which keeps a full mesh free of loops.
		 */
		if (relay && !(ntohl(fh.flags) & FRAME_F_RELAYED) &&
		    frame_relay(pe, frame, len) == 1)
			return;
	}
	if (tun_send(iface.fd, iface_type, frame, len) == -1) {
		if (errno != EAGAIN && errno != EINVAL)
			log_warn("%s: write %s", __func__, iface.name);
		return;
	}
	iface.opackets++;
	iface.obytes += len;
}

/*
 * The routes of a new configuration: each peer's networks; a peer
 * alone without any owns everything, as a two-site tunnel always did.
 * A prefix that stays with the same peer keeps its counters.
 */
static void
rtable_build(struct marconid_conf *c)
{
	struct rtable		 nrt, ort = rtable;
	struct peer_conf	*pc;
	struct iface_addr	*ia;
	struct route		*r, *or;
	uint8_t			 a[16];
	size_t			 i, j;
	int			 af, npeers = 0;

	rtable_init(&nrt);
	TAILQ_FOREACH(pc, &c->peers, entry)
		npeers++;
	TAILQ_FOREACH(pc, &c->peers, entry) {
		if (iface_type != IFACE_TUN)
			break;
		if (npeers == 1 && TAILQ_EMPTY(&pc->networks)) {
			memset(a, 0, sizeof(a));
			rtable_add(&nrt, AF_INET, a, 0, pc->id,
			    ROUTE_F_IMPLICIT, NULL);
			rtable_add(&nrt, AF_INET6, a, 0, pc->id,
			    ROUTE_F_IMPLICIT, NULL);
			continue;
		}
		TAILQ_FOREACH(ia, &pc->networks, entry) {
			/* the parent checked: one owner, no host bits */
			if ((af = route_sa_addr(&ia->ss, a)) == -1 ||
			    rtable_add(&nrt, af, a, ia->prefixlen, pc->id, 0,
			    NULL) != 0)
				log_warnx("peer %s: network %u bits not "
				    "routed", pc->name, ia->prefixlen);
		}
	}
	for (i = 0; i < nrt.n; i++) {
		r = &nrt.r[i];
		for (j = 0; j < ort.n; j++) {
			or = &ort.r[j];
			if (or->af == r->af && or->plen == r->plen &&
			    or->peer == r->peer &&
			    memcmp(or->addr, r->addr, sizeof(r->addr)) == 0) {
				r->packets = or->packets;
				r->bytes = or->bytes;
				break;
			}
		}
	}
	rtable_clear(&ort);
	rtable = nrt;
}

static int
kroute_installed(const struct route *r)
{
	size_t	 i;

	for (i = 0; i < nkroutes; i++)
		if (kroutes[i].af == r->af && kroutes[i].plen == r->plen &&
		    memcmp(kroutes[i].addr, r->addr, sizeof(r->addr)) == 0)
			return (1);
	return (0);
}

/*
 * A packet read from the tun, behind room for the frame header: to
 * the peer owning its destination (route_decide()), or dropped and
 * counted.
 */
static void
tun_from_iface(uint8_t *buf, size_t len)
{
	struct eng_peer	*pe;
	struct route	*r;
	uint32_t	 to;
	const uint8_t	*pkt = buf + sizeof(struct frame_hdr);

	switch (route_decide(&rtable, 0, 0, pkt, len, &to, &r)) {
	case ROUTE_PEER:
		if ((pe = peer_find_id(to)) == NULL)
			break;
		r->packets++;
		r->bytes += len;
		frame_to_peer(pe, buf, len, 0);
		return;
	case ROUTE_NOTIP:
		iface.notip++;
		return;
	}
	iface.noroute++;
}

/*
 * A packet from a peer, with the flags of its frame header: to the
 * device if its source is among the peer's networks (route_decide()),
 * else dropped and counted.  At a hub (relay yes), one whose
 * destination is another peer's goes on to that peer, marked as
 * relayed, unless it came marked already: never twice, never back.
 */
static void
tun_from_peer(struct eng_peer *pe, const uint8_t *pkt, size_t len,
    uint32_t fflags)
{
	static uint8_t	 buf[FRAG_MAXFRAME];
	struct eng_peer	*to_pe;
	struct route	*r;
	uint32_t	 to;
	int		 flags = 0;

	if (relay)
		flags |= ROUTE_RELAY_OK;
	if (fflags & FRAME_F_RELAYED)
		flags |= ROUTE_RELAYED;
	switch (route_decide(&rtable, pe->id, flags, pkt, len, &to, &r)) {
	case ROUTE_LOCAL:
		if (tun_send(iface.fd, IFACE_TUN, pkt, len) == -1) {
			if (errno != EAGAIN && errno != EINVAL)
				log_warn("%s: write %s", __func__,
				    iface.name);
			return;
		}
		iface.opackets++;
		iface.obytes += len;
		return;
	case ROUTE_RELAY:
		if ((to_pe = peer_find_id(to)) == NULL ||
		    len > sizeof(buf) - sizeof(struct frame_hdr))
			return;
		memcpy(buf + sizeof(struct frame_hdr), pkt, len);
		r->packets++;
		r->bytes += len;
		frame_to_peer(to_pe, buf, len, FRAME_F_RELAYED);
		to_pe->relayed++;
		relay_pending = 1;
		return;
	case ROUTE_NOTIP:
		iface.notip++;
		return;
	default:
		/* ROUTE_SPOOF */
		pe->badsource++;
		iface.badsource++;
		return;
	}
}

/*
 * At a hub, a frame from peer from: to the peer its destination was
 * learned behind, if another (1: the device does not get it), or for
 * a group or unknown destination to every other peer, and the device
 * too (0).  A destination learned behind from itself goes to the
 * device alone, as without relay.
 */
static int
frame_relay(struct eng_peer *from, const uint8_t *frame, size_t len)
{
	static uint8_t		 buf[FRAG_MAXFRAME];
	struct eng_peer		*pe;
	uint32_t		 id;

	if (len > sizeof(buf) - sizeof(struct frame_hdr))
		return (0);
	if (mac_lookup(frame, &id, getmonotime()) == 0) {
		if (id == from->id || (pe = peer_find_id(id)) == NULL)
			return (0);
		memcpy(buf + sizeof(struct frame_hdr), frame, len);
		frame_to_peer(pe, buf, len, FRAME_F_RELAYED);
		pe->relayed++;
		relay_pending = 1;
		return (1);
	}
	memcpy(buf + sizeof(struct frame_hdr), frame, len);
	TAILQ_FOREACH(pe, &peers, entry) {
		if (pe == from)
			continue;
		frame_to_peer(pe, buf, len, FRAME_F_RELAYED);
		pe->relayed++;
		relay_pending = 1;
	}
	return (0);
}

int
mac_cmp(struct mac_entry *a, struct mac_entry *b)
{
	return (memcmp(a->mac, b->mac, sizeof(a->mac)));
}

static void
mac_flush(void)
{
	struct mac_entry	*m;

	while ((m = RB_MIN(mac_tree, &macs)) != NULL) {
		RB_REMOVE(mac_tree, &macs, m);
		free(m);
	}
	n_macs = 0;
}

/* Forgets the addresses no frame came from for mac_timeout. */
static void
mac_expire(int64_t now)
{
	struct mac_entry	*m, *nm;

	RB_FOREACH_SAFE(m, mac_tree, &macs, nm)
		if (now - m->seen > mac_timeout) {
			RB_REMOVE(mac_tree, &macs, m);
			free(m);
			n_macs--;
		}
}

static void
mac_learn(const uint8_t *mac, uint32_t id, int64_t now)
{
	struct mac_entry	 key, *m;
	struct eng_peer		*pe, *ope;

	/* group addresses are never a source; ignore forged ones */
	if (mac[0] & 0x01)
		return;
	memcpy(key.mac, mac, sizeof(key.mac));
	if ((m = RB_FIND(mac_tree, &macs, &key)) == NULL) {
		if (n_macs >= mac_max)
			mac_expire(now);
		if (n_macs >= mac_max) {
			/* its frames are flooded, as before it spoke */
			mac_refused++;
			if (now - mac_full_logged >= 60000) {
				log_warnx("the table of Ethernet addresses is "
				    "full (mac max %u): new ones are not "
				    "learned, frames to them go to every peer",
				    mac_max);
				mac_full_logged = now;
			}
			return;
		}
		if ((m = calloc(1, sizeof(*m))) == NULL)
			return;
		memcpy(m->mac, mac, sizeof(m->mac));
		m->peer = id;
		RB_INSERT(mac_tree, &macs, m);
		n_macs++;
	} else if (m->peer != id && now - m->seen <= mac_timeout) {
		/* moved to another site: followed from this frame on */
		pe = peer_find_id(id);
		ope = peer_find_id(m->peer);
		log_debug("%02x:%02x:%02x:%02x:%02x:%02x moved from peer %s "
		    "to peer %s", mac[0], mac[1], mac[2], mac[3], mac[4],
		    mac[5], ope != NULL ? ope->name : "?",
		    pe != NULL ? pe->name : "?");
	}
	m->peer = id;
	m->seen = now;
}

/* A frame from the device: its source is here, behind no peer. */
static void
mac_local(const uint8_t *mac)
{
	struct mac_entry	 key, *m;

	memcpy(key.mac, mac, sizeof(key.mac));
	if ((m = RB_FIND(mac_tree, &macs, &key)) != NULL) {
		RB_REMOVE(mac_tree, &macs, m);
		free(m);
		n_macs--;
	}
}

static int
mac_lookup(const uint8_t *mac, uint32_t *id, int64_t now)
{
	struct mac_entry	 key, *m;

	if (mac[0] & 0x01)
		return (-1);
	memcpy(key.mac, mac, sizeof(key.mac));
	if ((m = RB_FIND(mac_tree, &macs, &key)) == NULL ||
	    now - m->seen > mac_timeout)
		return (-1);
	*id = m->peer;
	return (0);
}

/* The process of an uplink died or came back: its pipes changed state. */
static void
uplink_touch(const char *uplink, pid_t pid)
{
	struct eng_peer	*pe;
	struct eng_pipe	*ep;

	TAILQ_FOREACH(pe, &peers, entry)
		TAILQ_FOREACH(ep, &pe->pipes, entry) {
			if (strcmp(ep->conf.uplink, uplink) != 0)
				continue;
			/* a new process starts with no session */
			ep->st.state = PIPE_STATE_DOWN;
			pipe_refresh(ep, pid == 0 ? "uplink process died" :
			    "uplink process started");
		}
}

static int
pipe_effective_state(struct eng_pipe *ep)
{
	struct eng_uplink	*eu;

	if ((eu = uplink_get(ep->conf.uplink, 0)) == NULL || eu->pid == 0)
		return (PIPE_STATE_NOPROC);
	if (ep->admin_down)
		return (PIPE_STATE_DISABLED);
	return (ep->st.state);
}

static int
pipe_pref(struct eng_pipe *ep)
{
	return (ep->pref_override >= 0 ? ep->pref_override :
	    ep->conf.preference);
}

/* See whether a pipe's state changed, say so, and choose again. */
static void
pipe_refresh(struct eng_pipe *ep, const char *why)
{
	int64_t	 now = getmonotime();
	int	 state = pipe_effective_state(ep);
	int	 wasup, isup;

	if (state != ep->state) {
		wasup = PIPE_IS_UP(ep->state);
		isup = PIPE_IS_UP(state);
		/* a lossy line goes suspect and back often: not worth a line */
		if (wasup && isup)
			log_debug("peer %s uplink %s: %s -> %s (%s)",
			    ep->peer->name, ep->conf.uplink,
			    ctl_pipe_state_name(ep->state),
			    ctl_pipe_state_name(state), why);
		else
			log_info("peer %s uplink %s: %s -> %s (%s)",
			    ep->peer->name, ep->conf.uplink,
			    ctl_pipe_state_name(ep->state),
			    ctl_pipe_state_name(state), why);
		engine_event(ep->peer, ep, ep->state, state, why);
		if (wasup && !isup)
			ep->went_down = 1;
		/*
		 * Suspect is still up: the hold-down is not started again,
		 * unless the spell was as long as an outage.  A line that
		 * loses a burst of probes is suspect for a few intervals;
		 * an ISP that flaps faster than the pipe is found down
		 * keeps it suspect for longer, and must not count as
		 * healthy for the hold-down meanwhile.
		 */
		if (!isup)
			ep->up_since = 0;
		else if (!wasup)
			ep->up_since = now;
		else if (ep->state == PIPE_STATE_SUSPECT &&
		    now - ep->suspect_at >= HOLDDOWN_SPELL) {
			ep->went_down = 1;
			ep->up_since = now;
		}
		if (state == PIPE_STATE_SUSPECT)
			ep->suspect_at = now - ep->st.suspect_for;
		ep->state = state;
		ep->changes++;
		/* a suspect spell is no change for LAST-CHANGE: still up */
		if (!(wasup && isup))
			ep->last_change = now;
	}
	peer_select(ep->peer, why);
	peer_resend(ep->peer);
	peer_balance(ep->peer);
}

/*
 * Balance mode: the wait of the reorder buffer for the frames from the
 * peer follows the RTTs of our pipes to it, whatever our own mode (the
 * sender chooses to spread); and, in balance mode, the pipes that carry
 * our frames and their shares (sched.c).  A pipe that is not up, or
 * suspect, gets no share from this moment on.
 */
static void
peer_balance(struct eng_peer *pe)
{
	struct eng_pipe	*ep, *best;
	uint32_t	 rtts[SCHED_MAXPIPES], jit[SCHED_MAXPIPES];
	int64_t		 now = getmonotime_us(), lead, l;
	struct sched_pipe rtt;
	int		 n = 0, recent;

	/*
	 * The pipes up that brought balance frames in the last second:
	 * those the peer spreads over; all up if none did.
	 */
	for (recent = 1; recent >= 0 && n == 0; recent--)
		TAILQ_FOREACH(ep, &pe->pipes, entry)
			if (PIPE_IS_UP(ep->state) && n < SCHED_MAXPIPES &&
			    (!recent || (ep->bal_rx_at != 0 &&
			    now - ep->bal_rx_at < 1000000))) {
				rtts[n] = ep->st.rtt_us;
				jit[n] = ep->st.jitter_us;
				n++;
			}
	pe->ro_wait = reorder_wait_for(rtts, jit, n);
	/* over twice the longest hold: see reorder.c */
	lead = 0;
	TAILQ_FOREACH(ep, &pe->pipes, entry)
		if ((l = pipe_lead(pe, ep, now)) > lead)
			lead = l;
	if (pe->ro_wait < 2 * lead + REORDER_WAIT_MIN)
		pe->ro_wait = 2 * lead + REORDER_WAIT_MIN;
	if (pe->ro != NULL) {
		reorder_set_wait(pe->ro, pe->ro_wait);
		reorder_arm(pe);
	}

	/* the least RTT of each pipe, followed in every mode */
	TAILQ_FOREACH(ep, &pe->pipes, entry)
		sched_rtt(&ep->sp, ep->st.rtt_us, now / 1000);
	if (pe->mode != MODE_BALANCE) {
		pe->nbal = pe->nbal_in = 0;
		return;
	}
	if (pe->nbal == 0) {
		/*
		 * Into balance mode: what the pipes carried before (the
		 * copies of failover mode) says nothing of what they can.
		 */
		TAILQ_FOREACH(ep, &pe->pipes, entry) {
			rtt = ep->sp;
			memset(&ep->sp, 0, sizeof(ep->sp));
			ep->sp.seen_gen = ep->st.rate_gen;
			/* but the least RTT seen is still that */
			ep->sp.rtt_us = rtt.rtt_us;
			ep->sp.rtt_base = rtt.rtt_base;
			ep->sp.rtt_path = rtt.rtt_path;
			ep->sp.lately = rtt.lately;
			ep->sp.path = rtt.path;
		}
	}
	best = NULL;
	TAILQ_FOREACH(ep, &pe->pipes, entry)
		if (ep->state == PIPE_STATE_UP &&
		    (best == NULL || pipe_pref(ep) < pipe_pref(best)))
			best = ep;
	n = 0;
	TAILQ_FOREACH(ep, &pe->pipes, entry) {
		if (n == SCHED_MAXPIPES)
			break;
		ep->sp.usable = ep->state == PIPE_STATE_UP;
		ep->sp.suspect = ep->state == PIPE_STATE_SUSPECT;
		ep->sp.first = ep == best;
		ep->sp.rate_rx = ep->st.rate_rx;
		ep->sp.rate_tx = ep->st.rate_tx;
		ep->sp.rate_loss = ep->st.rate_loss;
		ep->sp.rate_gen = ep->st.rate_gen;
		pe->bal[n] = ep;
		pe->bal_sp[n] = &ep->sp;
		n++;
	}
	pe->nbal = n;
	pe->nbal_in = sched_update(pe->bal_sp, n, getmonotime());
}

/* The timer of a peer's reorder buffer, at its next deadline. */
static void
reorder_arm(struct eng_peer *pe)
{
	struct timeval	 tv;
	int64_t		 d, wait;

	if (pe->ro == NULL || (d = reorder_deadline(pe->ro)) == -1) {
		if (pe->ro_armed != -1) {
			evtimer_del(&pe->ro_ev);
			pe->ro_armed = -1;
		}
		return;
	}
	if (d == pe->ro_armed)
		return;
	if ((wait = d - getmonotime_us()) < 0)
		wait = 0;
	tv.tv_sec = wait / 1000000;
	tv.tv_usec = wait % 1000000;
	evtimer_add(&pe->ro_ev, &tv);
	pe->ro_armed = d;
}

/* The wait is over: the gap is given up, what follows goes out. */
static void
reorder_timer(int fd, short event, void *arg)
{
	struct eng_peer	*pe = arg;

	pe->ro_armed = -1;
	if (pe->ro == NULL)
		return;
	reorder_expire(pe->ro, getmonotime_us());
	reorder_arm(pe);
	iface_flush();
}

/*
 * Failover: the pipe the operator preferred if it is up; otherwise stay
 * on the active pipe unless a more preferred one has been up for the
 * hold-down, so that a flapping ISP does not bounce the traffic; when
 * the active pipe is gone, the best that has been up for the hold-down,
 * or failing that the best that is up at all.
 */
static struct eng_pipe *
pipe_choose(struct eng_peer *pe)
{
	struct eng_pipe	*ep, *cur, *preferred = NULL, *best = NULL;
	struct eng_pipe	*held = NULL;
	int64_t		 now = getmonotime();

	TAILQ_FOREACH(ep, &pe->pipes, entry) {
		if (ep->state != PIPE_STATE_UP)
			continue;
		if (ep->preferred)
			preferred = ep;
		if (best == NULL || pipe_pref(ep) < pipe_pref(best))
			best = ep;
		/* a pipe coming up for the first time is not flapping */
		if ((!ep->went_down || now - ep->up_since >= pe->holddown) &&
		    (held == NULL || pipe_pref(ep) < pipe_pref(held)))
			held = ep;
	}
	if (preferred != NULL)
		return (preferred);
	cur = pe->active;
	/*
	 * A suspect pipe keeps the traffic: its frames go over another
	 * pipe as well (frame_to_peer()) until it answers or is found
	 * down, so that a lossy line does not make the traffic move.
	 */
	if (cur != NULL && cur->state == PIPE_STATE_SUSPECT &&
	    (held == NULL || pipe_pref(held) >= pipe_pref(cur)))
		return (cur);
	if (best == NULL) {
		/* nothing up: a suspect one, then a degraded one, beats none */
		TAILQ_FOREACH(ep, &pe->pipes, entry)
			if (ep->state == PIPE_STATE_SUSPECT &&
			    (best == NULL || pipe_pref(ep) < pipe_pref(best)))
				best = ep;
		if (best != NULL)
			return (best);
		TAILQ_FOREACH(ep, &pe->pipes, entry)
			if (ep->state == PIPE_STATE_DEGRADED &&
			    (best == NULL || pipe_pref(ep) < pipe_pref(best)))
				best = ep;
		if (cur != NULL && cur->state == PIPE_STATE_DEGRADED)
			return (cur);
		return (best);
	}
	if (cur == NULL || cur->state != PIPE_STATE_UP)
		return (held != NULL ? held : best);
	if (held != NULL && pipe_pref(held) < pipe_pref(cur))
		return (held);
	return (cur);
}

/* The most preferred pipe that is up, other than ep. */
static struct eng_pipe *
pipe_backup(struct eng_peer *pe, struct eng_pipe *ep)
{
	struct eng_pipe	*o, *best = NULL;

	TAILQ_FOREACH(o, &pe->pipes, entry)
		if (o != ep && o->state == PIPE_STATE_UP &&
		    (best == NULL || pipe_pref(o) < pipe_pref(best)))
			best = o;
	return (best);
}

struct resend_to {
	struct eng_peer		*pe;
	struct eng_pipe		*ep;
	uint32_t		 sent;
};

static void
resend_out(void *arg, const uint8_t *buf, size_t len)
{
	struct resend_to	*rt = arg;

	if (frame_to_pipe(rt->pe, rt->ep, buf, len) == 0)
		rt->sent++;
}

/*
 * Failover mode with two pipes or more keeps the frames it sent lately
 * (RESEND_FRAMES, RESEND_BYTES).  When the active pipe goes suspect
 * and a backup is up to carry copies of the new frames, what the
 * suspect pipe carried since the probe whose answer came back last was
 * sent goes first over the backup, with the same numbers: the far
 * engine keeps what it did not have and drops the rest as copies.
 * That probe went out about suspect after + RTT before the spell began
 * (pipe.c, probe_check()); two jitters and a few ms more cover an
 * answer slower than the mean.  A cut then costs nothing but the
 * one-way delay of the backup, instead of everything sent from the
 * cut until the pipe was found suspect.
 *
 * What may go again is bounded by a credit: the whole ring to begin
 * with, then a sixteenth (RESEND_SHARE) of every byte sent over the
 * active pipe, up to the ring's size.  A real cut finds the credit
 * full; a line that goes suspect again and again under load (a deep
 * queue stretches the round trip, and with it the reach back) sends
 * again at most that share of its traffic over the backup, the newest
 * frames first, since they are the ones a cut surely lost.
 */
#define RESEND_SLACK	5	/* ms */

static void
peer_resend(struct eng_peer *pe)
{
	struct eng_pipe		*ep, *bp = NULL;
	struct eng_uplink	*eu;
	struct resend_to	 rt;
	int64_t			 since;
	size_t			 bytes;
	int			 npipes = 0, copying;

	TAILQ_FOREACH(ep, &pe->pipes, entry)
		npipes++;
	if (pe->mode != MODE_FAILOVER || npipes < 2) {
		resend_free(pe->rs);
		pe->rs = NULL;
		pe->copying = 0;
		return;
	}
	if (pe->rs == NULL) {
		if ((pe->rs = resend_new(RESEND_FRAMES, RESEND_BYTES)) == NULL)
			log_warn("peer %s: resend_new", pe->name);
		pe->resend_credit = RESEND_BYTES;
	}
	ep = pe->active;
	copying = ep != NULL && ep->state == PIPE_STATE_SUSPECT &&
	    (bp = pipe_backup(pe, ep)) != NULL;
	if (copying && !pe->copying && pe->rs != NULL) {
		since = ep->suspect_at - ep->st.suspect_after_ms -
		    (ep->st.rtt_us + 2 * (int64_t)ep->st.jitter_us) / 1000 -
		    RESEND_SLACK;
		/*
		 * What went out up to the end of the last spell is on the
		 * backup already, as a copy or sent again then: a lossy
		 * line that goes suspect often sends nothing twice.
		 */
		if (since < pe->copied_until)
			since = pe->copied_until;
		rt.pe = pe;
		rt.ep = bp;
		rt.sent = 0;
		resend_since(pe->rs, since, pe->resend_credit, resend_out,
		    &rt, &bytes);
		pe->resend_credit -= bytes;
		pe->resent_frames += rt.sent;
		if (rt.sent > 0 &&
		    (eu = uplink_get(bp->conf.uplink, 0)) != NULL)
			imsgev_flush(&eu->iev);
		log_debug("peer %s: uplink %s suspect, %u frames of the last "
		    "%lld ms sent again over %s", pe->name, ep->conf.uplink,
		    rt.sent, (long long)(getmonotime() - since),
		    bp->conf.uplink);
	}
	if (pe->copying && !copying)
		pe->copied_until = getmonotime();
	pe->copying = copying;
}

static void
peer_select(struct eng_peer *pe, const char *why)
{
	struct eng_pipe	*ep;
	char		 msg[192];

	ep = pipe_choose(pe);
	if (ep == pe->active)
		return;
	if (ep != NULL && pe->active != NULL &&
	    pe->active->state == PIPE_STATE_UP && !ep->preferred)
		why = "more preferred and up for the hold-down";
	snprintf(msg, sizeof(msg), "traffic %s -> %s (%s)",
	    pe->active != NULL ? pe->active->conf.uplink : "none",
	    ep != NULL ? ep->conf.uplink : "none", why);
	log_info("peer %s: %s", pe->name, msg);
	engine_event(pe, NULL, 0, 0, msg);
	pe->active = ep;
	pe->last_change = getmonotime();
}

static void
engine_event(struct eng_peer *pe, struct eng_pipe *ep, int old, int new,
    const char *why)
{
	struct ctl_event	 ev;
	struct timespec		 ts;

	memset(&ev, 0, sizeof(ev));
	clock_gettime(CLOCK_REALTIME, &ts);
	ev.time_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	strlcpy(ev.peer, pe->name, sizeof(ev.peer));
	if (ep != NULL)
		strlcpy(ev.uplink, ep->conf.uplink, sizeof(ev.uplink));
	ev.old_state = old;
	ev.new_state = new;
	strlcpy(ev.reason, why, sizeof(ev.reason));
	control_event(&ev);
}

/* The hold-down ends without any event: look again now and then. */
static void
engine_tick(int fd, short event, void *arg)
{
	static int	 ticks;
	struct eng_peer	*pe;
	struct timeval	 tv = { 0, 100 * 1000 };

	TAILQ_FOREACH(pe, &peers, entry) {
		peer_select(pe, "hold-down over");
		/*
		 * In every mode: the peer may spread its frames to us
		 * whatever ours, and the least RTTs are to be known when
		 * balance mode begins.
		 */
		peer_balance(pe);
	}
	/* aged addresses leave the table within a second */
	if (++ticks % 10 == 0 && n_macs > 0)
		mac_expire(getmonotime());
	evtimer_add(&tick_ev, &tv);
}

static struct eng_peer *
peer_find(const char *name)
{
	struct eng_peer	*pe;

	TAILQ_FOREACH(pe, &peers, entry)
		if (strcmp(pe->name, name) == 0)
			return (pe);
	return (NULL);
}

/* Run-time changes from marconictl; they last until a reload. */
int
engine_ctl_change(uint32_t type, struct ctl_request *req, char *msg,
    size_t msglen)
{
	struct eng_peer	*pe;
	struct eng_pipe	*ep = NULL, *o;
	const char	*why = "changed by marconictl";

	msg[0] = '\0';
	if ((pe = peer_find(req->peer)) == NULL) {
		snprintf(msg, msglen, "no peer \"%s\"", req->peer);
		return (CTL_RES_NOSUCHPEER);
	}
	if (type == IMSG_CTL_PREFER || type == IMSG_CTL_PREFERENCE ||
	    type == IMSG_CTL_PIPE_DOWN || type == IMSG_CTL_PIPE_UP) {
		if ((ep = peer_pipe(pe, req->uplink)) == NULL) {
			snprintf(msg, msglen, "peer %s has no pipe on uplink "
			    "\"%s\"", pe->name, req->uplink);
			return (CTL_RES_NOSUCHPIPE);
		}
	}

	switch (type) {
	case IMSG_CTL_PREFER:
		TAILQ_FOREACH(o, &pe->pipes, entry)
			o->preferred = 0;
		ep->preferred = req->value != 0;
		why = "preferred by marconictl";
		break;
	case IMSG_CTL_PREFERENCE:
		if (req->value < 0 || req->value > 65535) {
			snprintf(msg, msglen, "preference %d out of range "
			    "(0-65535)", req->value);
			return (CTL_RES_ERR);
		}
		ep->pref_override = req->value;
		why = "preference changed by marconictl";
		break;
	case IMSG_CTL_PIPE_DOWN:
		ep->admin_down = 1;
		why = "taken down by marconictl";
		break;
	case IMSG_CTL_PIPE_UP:
		ep->admin_down = 0;
		why = "put back by marconictl";
		break;
	case IMSG_CTL_MODE:
		if (req->value != MODE_FAILOVER &&
		    req->value != MODE_DUPLICATE &&
		    req->value != MODE_BALANCE) {
			snprintf(msg, msglen, "no mode %d", req->value);
			return (CTL_RES_ERR);
		}
		pe->mode = req->value;
		pe->mode_override = pe->mode != pe->conf_mode;
		log_info("peer %s: mode %s, set by marconictl", pe->name,
		    ctl_mode_name(pe->mode));
		break;
	case IMSG_CTL_RESET:
		pe->mode = pe->conf_mode;
		pe->mode_override = 0;
		TAILQ_FOREACH(o, &pe->pipes, entry) {
			o->preferred = 0;
			o->pref_override = -1;
			if (o->admin_down) {
				o->admin_down = 0;
				o->went_down = 1;
			}
		}
		why = "run-time changes reset";
		break;
	default:
		return (CTL_RES_ERR);
	}
	TAILQ_FOREACH(o, &pe->pipes, entry)
		pipe_refresh(o, why);
	return (CTL_RES_OK);
}

/* Answers to marconictl: rows, then IMSG_CTL_END. */

void
engine_show_summary(struct imsgev *iev, uint32_t id)
{
	struct ctl_summary	 s;
	struct iface_conf	*ifc;
	struct uplink_conf	*up;
	struct eng_peer		*pe;
	struct eng_pipe		*ep;
	int64_t			 now = getmonotime();

	memset(&s, 0, sizeof(s));
	s.version = CTL_VERSION;
	strlcpy(s.release, MARCONID_VERSION, sizeof(s.release));
	s.pid = parent_pid;
	s.uptime = (now - start_time) / 1000;
	s.since_reload = reload_time ? (now - reload_time) / 1000 : -1;
	s.reloads = n_configs > 0 ? n_configs - 1 : 0;
	s.verbose = log_getverbose();
	if (conf != NULL) {
		strlcpy(s.conffile, conf->conffile, sizeof(s.conffile));
		TAILQ_FOREACH(ifc, &conf->ifaces, entry)
			s.n_ifaces++;
		TAILQ_FOREACH(up, &conf->uplinks, entry)
			s.n_uplinks++;
	}
	TAILQ_FOREACH(pe, &peers, entry) {
		s.n_peers++;
		TAILQ_FOREACH(ep, &pe->pipes, entry) {
			s.n_pipes++;
			if (PIPE_IS_UP(ep->state))
				s.n_pipes_up++;
		}
	}
	imsg_compose_event(iev, IMSG_CTL_SHOW_SUMMARY, id, 0, -1, &s,
	    sizeof(s));
	imsg_compose_event(iev, IMSG_CTL_END, id, 0, -1, NULL, 0);
}

void
engine_show_interfaces(struct imsgev *iev, uint32_t id)
{
	struct ctl_iface	 ci;
	struct iface_conf	*ifc;
	struct iface_addr	*ia;
	char			 host[NI_MAXHOST], one[NI_MAXHOST + 8];

	if (conf == NULL)
		goto done;
	TAILQ_FOREACH(ifc, &conf->ifaces, entry) {
		memset(&ci, 0, sizeof(ci));
		strlcpy(ci.name, ifc->name, sizeof(ci.name));
		ci.type = ifc->type;
		ci.mtu = ifc->mtu;
		if (strcmp(ifc->name, iface.name) == 0 && iface.fd != -1) {
			ci.up = 1;
			ci.ipackets = iface.ipackets;
			ci.opackets = iface.opackets;
			ci.ibytes = iface.ibytes;
			ci.obytes = iface.obytes;
			ci.noroute = iface.noroute;
			ci.badsource = iface.badsource;
			ci.notip = iface.notip;
		}
		TAILQ_FOREACH(ia, &ifc->addrs, entry) {
			snprintf(one, sizeof(one), "%s%s/%u",
			    ci.addrs[0] != '\0' ? " " : "",
			    print_host(&ia->ss, host, sizeof(host)),
			    ia->prefixlen);
			strlcat(ci.addrs, one, sizeof(ci.addrs));
		}
		imsg_compose_event(iev, IMSG_CTL_SHOW_INTERFACES, id, 0, -1,
		    &ci, sizeof(ci));
	}
 done:
	imsg_compose_event(iev, IMSG_CTL_END, id, 0, -1, NULL, 0);
}

void
engine_show_pipes(struct imsgev *iev, uint32_t id, struct ctl_request *req)
{
	struct ctl_pipe		 cp;
	struct eng_peer		*pe;
	struct eng_pipe		*ep;
	struct eng_uplink	*eu;
	struct uplink_conf	*up;
	int64_t			 now = getmonotime();

	TAILQ_FOREACH(pe, &peers, entry) {
		if (req->peer[0] != '\0' && strcmp(req->peer, pe->name) != 0)
			continue;
		TAILQ_FOREACH(ep, &pe->pipes, entry) {
			if (req->uplink[0] != '\0' &&
			    strcmp(req->uplink, ep->conf.uplink) != 0)
				continue;
			memset(&cp, 0, sizeof(cp));
			strlcpy(cp.peer, pe->name, sizeof(cp.peer));
			strlcpy(cp.uplink, ep->conf.uplink,
			    sizeof(cp.uplink));
			cp.state = ep->state;
			cp.preference = pipe_pref(ep);
			cp.admin_down = ep->admin_down;
			cp.pref_override = ep->pref_override >= 0;
			cp.preferred = ep->preferred;
			cp.up_for = PIPE_IS_UP(ep->state) ?
			    (now - ep->up_since) / 1000 : -1;
			if ((eu = uplink_get(ep->conf.uplink, 0)) != NULL) {
				cp.pid = eu->pid;
				cp.restarts = eu->restarts;
			}
			if (conf != NULL && (up = config_find_uplink(conf,
			    ep->conf.uplink)) != NULL) {
				cp.local = up->local;
				if (cp.local.ss_family != AF_UNSPEC)
					sa_set_port(&cp.local, up->port ?
					    up->port : conf->port);
			}
			/* a name's address as the uplink process uses it */
			cp.remote = ep->st.remote.ss_family != AF_UNSPEC ?
			    ep->st.remote : ep->conf.remote;
			strlcpy(cp.remote_name, ep->conf.remote_name,
			    sizeof(cp.remote_name));
			cp.rtt_us = ep->st.rtt_us;
			cp.jitter_us = ep->st.jitter_us;
			cp.loss_ppm = ep->st.loss_ppm;
			cp.ipackets = ep->st.ipackets;
			cp.opackets = ep->st.opackets;
			cp.ibytes = ep->st.ibytes;
			cp.obytes = ep->st.obytes;
			cp.drops = ep->st.drops;
			memcpy(cp.drop, ep->st.drop, sizeof(cp.drop));
			cp.key_age = ep->st.key_age;
			cp.rekeys = ep->st.rekeys;
			cp.pmtu = ep->st.pmtu;
			cp.initiator = ep->st.initiator;
			cp.learned = ep->st.learned;
			cp.suspects = ep->st.suspects;
			cp.suspect_ms = ep->st.suspect_ms +
			    ep->st.suspect_for;
			cp.suspect_after_ms = ep->st.suspect_after_ms;
			cp.down_after_ms = ep->st.down_after_ms;
			cp.probe_rank = ep->st.probe_rank;
			cp.changes = ep->changes;
			if (pe->mode == MODE_DUPLICATE)
				cp.active = PIPE_IS_UP(ep->state);
			else if (pe->mode == MODE_BALANCE && pe->nbal_in > 0)
				cp.active = ep->sp.weight != 0;
			else
				cp.active = ep == pe->active;
			cp.rate_rx = ep->st.rate_rx;
			cp.rate_tx = ep->st.rate_tx;
			if (pe->mode == MODE_BALANCE) {
				cp.rate_est = ep->sp.cap;
				cp.share = pe->nbal_in > 0 ? ep->sp.share :
				    ep == pe->active ? 1000 : 0;
				cp.balance = ep->sp.excluded + CTL_BAL_IN;
			}
			cp.last_change = (now - ep->last_change) / 1000;
			imsg_compose_event(iev, IMSG_CTL_SHOW_PIPES, id, 0,
			    -1, &cp, sizeof(cp));
		}
	}
	imsg_compose_event(iev, IMSG_CTL_END, id, 0, -1, NULL, 0);
}

void
engine_show_peers(struct imsgev *iev, uint32_t id, struct ctl_request *req)
{
	struct ctl_peer		 cp;
	struct eng_peer		*pe;
	struct eng_pipe		*ep;
	int64_t			 now = getmonotime();

	TAILQ_FOREACH(pe, &peers, entry) {
		if (req->peer[0] != '\0' && strcmp(req->peer, pe->name) != 0)
			continue;
		memset(&cp, 0, sizeof(cp));
		strlcpy(cp.name, pe->name, sizeof(cp.name));
		strlcpy(cp.fingerprint, pe->fingerprint,
		    sizeof(cp.fingerprint));
		cp.mode = pe->mode;
		TAILQ_FOREACH(ep, &pe->pipes, entry) {
			cp.n_pipes++;
			if (PIPE_IS_UP(ep->state))
				cp.n_pipes_up++;
			cp.ipackets += ep->st.ipackets;
			cp.opackets += ep->st.opackets;
			cp.ibytes += ep->st.ibytes;
			cp.obytes += ep->st.obytes;
		}
		if (pe->mode == MODE_DUPLICATE)
			strlcpy(cp.active, cp.n_pipes_up > 0 ? "all up" : "",
			    sizeof(cp.active));
		else if (pe->mode == MODE_BALANCE && pe->nbal_in > 0)
			snprintf(cp.active, sizeof(cp.active), "spread over %d",
			    pe->nbal_in);
		else if (pe->active != NULL)
			strlcpy(cp.active, pe->active->conf.uplink,
			    sizeof(cp.active));
		cp.mode_override = pe->mode_override;
		cp.holddown_ms = pe->holddown;
		cp.suspect_frames = pe->suspect_frames;
		cp.resent_frames = pe->resent_frames;
		cp.last_change = (now - pe->last_change) / 1000;
		cp.balance_frames = pe->bal_frames;
		cp.reorder_wait_us = pe->ro_wait;
		if (pe->ro != NULL) {
			const struct reorder_stats *rs = reorder_stats(pe->ro);

			cp.reorder_held = rs->held;
			cp.reorder_late = rs->late;
			cp.reorder_gaps = rs->gaps;
			cp.reorder_lost = rs->lost;
			cp.reorder_timeouts = rs->timeouts;
			cp.reorder_overflows = rs->overflows;
			cp.reorder_proven = rs->proven;
			cp.reorder_now = rs->nheld;
		}
		imsg_compose_event(iev, IMSG_CTL_SHOW_PEERS, id, 0, -1, &cp,
		    sizeof(cp));
	}
	imsg_compose_event(iev, IMSG_CTL_END, id, 0, -1, NULL, 0);
}

/* Tun: each network of a peer, longest first, as the lookup sees them. */
void
engine_show_routes(struct imsgev *iev, uint32_t id, struct ctl_request *req)
{
	struct ctl_route	 cr;
	struct route		*r;
	struct eng_peer		*pe;
	struct eng_pipe		*ep;
	struct sockaddr_in	*sin;
	struct sockaddr_in6	*sin6;
	size_t			 i;

	for (i = 0; i < rtable.n; i++) {
		r = &rtable.r[i];
		if ((pe = peer_find_id(r->peer)) == NULL)
			continue;
		if (req->peer[0] != '\0' && strcmp(req->peer, pe->name) != 0)
			continue;
		memset(&cr, 0, sizeof(cr));
		strlcpy(cr.peer, pe->name, sizeof(cr.peer));
		if (r->af == AF_INET) {
			sin = (struct sockaddr_in *)&cr.prefix;
			sin->sin_family = AF_INET;
			memcpy(&sin->sin_addr, r->addr, sizeof(sin->sin_addr));
		} else {
			sin6 = (struct sockaddr_in6 *)&cr.prefix;
			sin6->sin6_family = AF_INET6;
			memcpy(&sin6->sin6_addr, r->addr,
			    sizeof(sin6->sin6_addr));
		}
		cr.prefixlen = r->plen;
		TAILQ_FOREACH(ep, &pe->pipes, entry)
			if (PIPE_IS_UP(ep->state))
				cr.peer_up = 1;
		cr.implicit = (r->flags & ROUTE_F_IMPLICIT) != 0;
		cr.kernel = kroute_installed(r);
		cr.packets = r->packets;
		cr.bytes = r->bytes;
		cr.badsource = pe->badsource;
		imsg_compose_event(iev, IMSG_CTL_SHOW_ROUTES, id, 0, -1, &cr,
		    sizeof(cr));
	}
	imsg_compose_event(iev, IMSG_CTL_END, id, 0, -1, NULL, 0);
}

void
engine_show_macs(struct imsgev *iev, uint32_t id, struct ctl_request *req)
{
	struct ctl_mac		 cm;
	struct mac_entry	*m;
	struct eng_peer		*pe;
	int64_t			 now = getmonotime();

	RB_FOREACH(m, mac_tree, &macs) {
		/* aged but not yet swept: forgotten already */
		if (now - m->seen > mac_timeout)
			continue;
		pe = peer_find_id(m->peer);
		if (req->peer[0] != '\0' &&
		    (pe == NULL || strcmp(req->peer, pe->name) != 0))
			continue;
		memset(&cm, 0, sizeof(cm));
		memcpy(cm.addr, m->mac, sizeof(cm.addr));
		strlcpy(cm.peer, pe != NULL ? pe->name : "?",
		    sizeof(cm.peer));
		cm.age_ms = now - m->seen;
		cm.timeout_ms = mac_timeout;
		cm.n_macs = n_macs;
		cm.max_macs = mac_max;
		cm.refused = mac_refused;
		imsg_compose_event(iev, IMSG_CTL_SHOW_MACS, id, 0, -1, &cm,
		    sizeof(cm));
	}
	imsg_compose_event(iev, IMSG_CTL_END, id, 0, -1, NULL, 0);
}
