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

/*
 * The remotes given as host names, looked up by the parent: the uplink
 * processes have no DNS (their sandbox has no files and no sockets of
 * their own).  A name is looked up when its pipe first appears, every
 * resolve interval, and when its uplink process says that it cannot
 * reach the peer (IMSG_RESOLVE, at most every RESOLVE_RETRY); a new
 * address goes to the uplink process (IMSG_PIPE_REMOTE), which moves
 * its pipe there.  Lookups never block the event loop: the per-OS
 * resolve-*.c start them and call back (see doc/processes.md).
 */

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <netdb.h>
#include <stdlib.h>
#include <string.h>

#include "marconid.h"

struct resolve_ent {
	TAILQ_ENTRY(resolve_ent) entry;
	uint32_t		 peerid;
	char			 peer[MARCONID_NAMELEN];
	char			 uplink[MARCONID_NAMELEN];
	char			 name[MARCONID_HOSTLEN];
	uint16_t		 port;
	int			 af;	/* the uplink's, AF_UNSPEC: either */
	struct sockaddr_storage	 addr;	/* in use, AF_UNSPEC: none yet */
	int64_t			 last;	/* the last lookup started, ms */
	int			 busy;	/* a lookup under way */
	int			 gone;	/* dropped while busy: free on answer */
	int			 failed;	/* the last one failed: said so */
	void			*req;	/* resolve-*.c's, while busy */
};
TAILQ_HEAD(resolve_ents, resolve_ent);

static struct resolve_ents	 ents = TAILQ_HEAD_INITIALIZER(ents);
static struct event		 resolve_ev;
static uint32_t			 resolve_interval = RESOLVE_INTERVAL;
static void			(*resolve_cb)(uint32_t, const char *,
				    const struct sockaddr_storage *);

static void	resolve_start(struct resolve_ent *, int64_t);
static void	resolve_done(int, const struct sockaddr_storage *,
		    const char *, void *);
static void	resolve_timer(int, short, void *);
static void	resolve_ent_free(struct resolve_ent *);

void
resolve_init(struct event_base *base, void (*cb)(uint32_t, const char *,
    const struct sockaddr_storage *))
{
	resolve_cb = cb;
	resolve_os_init(base);
	evtimer_set(&resolve_ev, resolve_timer, NULL);
}

static struct resolve_ent *
resolve_find(uint32_t peerid, const char *uplink)
{
	struct resolve_ent	*e;

	TAILQ_FOREACH(e, &ents, entry)
		if (e->peerid == peerid && strcmp(e->uplink, uplink) == 0)
			return (e);
	return (NULL);
}

/*
 * The running configuration changed (start, reload): keep what is
 * known of the names that stay, look up the new ones at once.
 */
void
resolve_sync(struct marconid_conf *c)
{
	struct resolve_ents	 nlist = TAILQ_HEAD_INITIALIZER(nlist);
	struct resolve_ent	*e;
	struct peer_conf	*peer;
	struct pipe_conf	*pc;
	struct uplink_conf	*up;
	struct timeval		 tv;
	int64_t			 now = getmonotime();
	int			 af;

	TAILQ_FOREACH(peer, &c->peers, entry) {
		TAILQ_FOREACH(pc, &peer->pipes, entry) {
			if (pc->remote_name[0] == '\0')
				continue;
			up = config_find_uplink(c, pc->uplink);
			af = up != NULL ? up->local.ss_family : AF_UNSPEC;
			if ((e = resolve_find(peer->id, pc->uplink)) != NULL &&
			    strcmp(e->name, pc->remote_name) == 0 &&
			    e->port == pc->remote_port && e->af == af) {
				TAILQ_REMOVE(&ents, e, entry);
				e->addr = pc->remote;
				TAILQ_INSERT_TAIL(&nlist, e, entry);
				continue;
			}
			if ((e = calloc(1, sizeof(*e))) == NULL)
				fatal("%s", __func__);
			e->peerid = peer->id;
			strlcpy(e->peer, peer->name, sizeof(e->peer));
			strlcpy(e->uplink, pc->uplink, sizeof(e->uplink));
			strlcpy(e->name, pc->remote_name, sizeof(e->name));
			e->port = pc->remote_port;
			e->af = af;
			e->addr = pc->remote;	/* carried over by the parent */
			TAILQ_INSERT_TAIL(&nlist, e, entry);
		}
	}
	while ((e = TAILQ_FIRST(&ents)) != NULL) {
		TAILQ_REMOVE(&ents, e, entry);
		resolve_ent_free(e);
	}
	TAILQ_CONCAT(&ents, &nlist, entry);

	resolve_interval = c->resolve_interval;
	TAILQ_FOREACH(e, &ents, entry)
		if (e->last == 0)
			resolve_start(e, now);
	evtimer_del(&resolve_ev);
	if (TAILQ_EMPTY(&ents))
		return;
	tv.tv_sec = resolve_interval / 1000;
	tv.tv_usec = resolve_interval % 1000 * 1000;
	evtimer_add(&resolve_ev, &tv);
}

/* An uplink process cannot reach the peer: perhaps it moved. */
void
resolve_again(uint32_t peerid, const char *uplink)
{
	struct resolve_ent	*e;
	int64_t			 now = getmonotime();

	/* a pipe with an address, or a peer a reload removed */
	if ((e = resolve_find(peerid, uplink)) == NULL)
		return;
	if (e->busy || (e->last != 0 && now - e->last < RESOLVE_RETRY))
		return;
	log_debug("peer %s uplink %s: cannot reach %s, looking it up again",
	    e->peer, e->uplink, e->name);
	resolve_start(e, now);
}

static void
resolve_timer(int fd, short event, void *arg)
{
	struct resolve_ent	*e;
	struct timeval		 tv;
	int64_t			 now = getmonotime();

	/* resolve_start() reads the hosts file again first */
	TAILQ_FOREACH(e, &ents, entry)
		if (!e->busy)
			resolve_start(e, now);
	tv.tv_sec = resolve_interval / 1000;
	tv.tv_usec = resolve_interval % 1000 * 1000;
	evtimer_add(&resolve_ev, &tv);
}

static void
resolve_start(struct resolve_ent *e, int64_t now)
{
	void	*req;

	/* the hosts file may have changed since: read it again */
	if (e->last != 0)
		resolve_os_reload();
	e->last = now;
	e->busy = 1;
	/* the answer may come before this returns (hosts file, cache) */
	req = resolve_os_lookup(e->name, e->af, resolve_done, e);
	if (e->busy)
		e->req = req;
}

static void
resolve_done(int error, const struct sockaddr_storage *ss,
    const char *errstr, void *arg)
{
	struct resolve_ent	*e = arg;
	struct sockaddr_storage	 addr;
	char			 h1[NI_MAXHOST], h2[NI_MAXHOST];

	e->busy = 0;
	e->req = NULL;
	if (e->gone) {
		free(e);
		return;
	}
	if (error) {
		/* said once until it resolves again: the pipe keeps its */
		if (!e->failed)
			log_warnx("peer %s uplink %s: remote %s does not "
			    "resolve: %s%s", e->peer, e->uplink, e->name,
			    errstr, e->addr.ss_family != AF_UNSPEC ?
			    ", keeping the address it had" : "");
		e->failed = 1;
		return;
	}
	e->failed = 0;
	addr = *ss;
	sa_set_port(&addr, e->port);
	if (sa_cmp(&addr, &e->addr) == 0)
		return;
	if (e->addr.ss_family == AF_UNSPEC)
		log_info("peer %s uplink %s: remote %s is %s", e->peer,
		    e->uplink, e->name, print_host(&addr, h1, sizeof(h1)));
	else
		log_info("peer %s uplink %s: remote %s is now %s (was %s)",
		    e->peer, e->uplink, e->name,
		    print_host(&addr, h1, sizeof(h1)),
		    print_host(&e->addr, h2, sizeof(h2)));
	e->addr = addr;
	resolve_cb(e->peerid, e->uplink, &addr);
}

static void
resolve_ent_free(struct resolve_ent *e)
{
	if (e->busy) {
		/* freed by resolve_done(), which the cancel makes run */
		e->gone = 1;
		resolve_os_cancel(e->req);
		return;
	}
	free(e);
}

/*
 * marconid -n: say which names do not resolve now.  A warning only:
 * the daemon starts and keeps trying.  Blocking is fine here.
 */
void
resolve_check(struct marconid_conf *c)
{
	struct addrinfo		 hints, *res;
	struct peer_conf	*peer;
	struct pipe_conf	*pc;
	struct uplink_conf	*up;
	int			 error;

	TAILQ_FOREACH(peer, &c->peers, entry) {
		TAILQ_FOREACH(pc, &peer->pipes, entry) {
			if (pc->remote_name[0] == '\0')
				continue;
			up = config_find_uplink(c, pc->uplink);
			memset(&hints, 0, sizeof(hints));
			hints.ai_family = up != NULL ?
			    up->local.ss_family : AF_UNSPEC;
			hints.ai_socktype = SOCK_STREAM;
			if ((error = getaddrinfo(pc->remote_name, NULL, &hints,
			    &res)) != 0) {
				log_warnx("warning: peer %s pipe %s: remote %s "
				    "does not resolve now (%s); marconid will "
				    "keep trying", peer->name, pc->uplink,
				    pc->remote_name, gai_strerror(error));
				continue;
			}
			freeaddrinfo(res);
		}
	}
}
