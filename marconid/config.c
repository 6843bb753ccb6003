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

#include <event.h>
#include <imsg.h>
#include <stdlib.h>
#include <string.h>

#include "marconid.h"

static int	config_sa_ok(const struct sockaddr_storage *, int);

/* A configuration with every default, as if the file said nothing. */
struct marconid_conf *
config_new_empty(void)
{
	struct marconid_conf	*conf;

	if ((conf = calloc(1, sizeof(*conf))) == NULL)
		fatal("%s", __func__);

	strlcpy(conf->conffile, MARCONID_CONF, sizeof(conf->conffile));
	strlcpy(conf->user, MARCONID_USER, sizeof(conf->user));
	strlcpy(conf->csock, MARCONID_SOCKET, sizeof(conf->csock));
	strlcpy(conf->cert, MARCONID_CERT, sizeof(conf->cert));
	strlcpy(conf->key, MARCONID_KEY, sizeof(conf->key));
	conf->port = MARCONID_PORT;
	conf->probe.interval = PROBE_INTERVAL;
	conf->probe.timeout = PROBE_TIMEOUT;
	conf->probe.timeout_max = PROBE_TIMEOUT_MAX;
	conf->probe.suspect = PROBE_SUSPECT_YES;
	conf->probe.holddown = PROBE_HOLDDOWN;
	conf->rekey_interval = REKEY_INTERVAL;
	conf->rekey_packets = REKEY_PACKETS;
	conf->resolve_interval = RESOLVE_INTERVAL;
	conf->mac_timeout = MAC_TIMEOUT;
	conf->mac_max = MAC_MAX;
	TAILQ_INIT(&conf->ifaces);
	TAILQ_INIT(&conf->uplinks);
	TAILQ_INIT(&conf->peers);

	return (conf);
}

/* Empties the lists; the globals stay as they are. */
void
config_clear(struct marconid_conf *conf)
{
	struct iface_conf	*ifc;
	struct iface_addr	*ia;
	struct uplink_conf	*up;
	struct peer_conf	*peer;
	struct pipe_conf	*pc;

	while ((ifc = TAILQ_FIRST(&conf->ifaces)) != NULL) {
		TAILQ_REMOVE(&conf->ifaces, ifc, entry);
		while ((ia = TAILQ_FIRST(&ifc->addrs)) != NULL) {
			TAILQ_REMOVE(&ifc->addrs, ia, entry);
			free(ia);
		}
		free(ifc);
	}
	while ((up = TAILQ_FIRST(&conf->uplinks)) != NULL) {
		TAILQ_REMOVE(&conf->uplinks, up, entry);
		free(up);
	}
	while ((peer = TAILQ_FIRST(&conf->peers)) != NULL) {
		TAILQ_REMOVE(&conf->peers, peer, entry);
		while ((pc = TAILQ_FIRST(&peer->pipes)) != NULL) {
			TAILQ_REMOVE(&peer->pipes, pc, entry);
			free(pc);
		}
		while ((ia = TAILQ_FIRST(&peer->networks)) != NULL) {
			TAILQ_REMOVE(&peer->networks, ia, entry);
			free(ia);
		}
		free(peer);
	}
}

void
config_free(struct marconid_conf *conf)
{
	if (conf == NULL)
		return;
	config_clear(conf);
	free(conf);
}

struct uplink_conf *
config_find_uplink(struct marconid_conf *conf, const char *name)
{
	struct uplink_conf	*up;

	TAILQ_FOREACH(up, &conf->uplinks, entry)
		if (strcmp(up->name, name) == 0)
			return (up);
	return (NULL);
}

struct peer_conf *
config_find_peer(struct marconid_conf *conf, const char *name)
{
	struct peer_conf	*peer;

	TAILQ_FOREACH(peer, &conf->peers, entry)
		if (strcmp(peer->name, name) == 0)
			return (peer);
	return (NULL);
}

struct peer_conf *
config_find_peer_id(struct marconid_conf *conf, uint32_t id)
{
	struct peer_conf	*peer;

	TAILQ_FOREACH(peer, &conf->peers, entry)
		if (peer->id == id)
			return (peer);
	return (NULL);
}

/*
 * In the parent, before a configuration goes out: a peer that was in
 * the old one under the same name and with the same fingerprint keeps
 * its id, anything else gets one never used before, so that no id can
 * ever stand for two sites.  The generation goes up by one.
 */
void
config_assign_ids(struct marconid_conf *nconf, struct marconid_conf *oconf,
    uint32_t *lastid)
{
	struct peer_conf	*np, *op;

	TAILQ_FOREACH(np, &nconf->peers, entry) {
		np->id = 0;
		if (oconf != NULL)
			TAILQ_FOREACH(op, &oconf->peers, entry)
				if (strcmp(op->name, np->name) == 0 &&
				    strcmp(op->fingerprint,
				    np->fingerprint) == 0) {
					np->id = op->id;
					break;
				}
		if (np->id == 0) {
			if (*lastid == UINT32_MAX)
				fatalx("%s: out of peer ids", __func__);
			np->id = ++*lastid;
		}
	}
	nconf->generation = oconf != NULL ? oconf->generation + 1 : 1;
}

struct iface_conf *
config_find_iface(struct marconid_conf *conf, const char *name)
{
	struct iface_conf	*ifc;

	TAILQ_FOREACH(ifc, &conf->ifaces, entry)
		if (strcmp(ifc->name, name) == 0)
			return (ifc);
	return (NULL);
}

/*
 * Would the two uplinks get the same sockets?  The name is not part of
 * the binding.  A port of 0 means the global port: the caller compares
 * the global ports itself if they may differ.
 */
int
uplink_equal(const struct uplink_conf *a, const struct uplink_conf *b)
{
	return (sa_cmp(&a->local, &b->local) == 0 &&
	    strcmp(a->ifname, b->ifname) == 0 &&
	    a->rdomain == b->rdomain &&
	    a->port == b->port);
}

/* Does any peer have a pipe over this uplink? */
int
uplink_uses(struct marconid_conf *conf, const char *name)
{
	struct peer_conf	*peer;
	struct pipe_conf	*pc;

	TAILQ_FOREACH(peer, &conf->peers, entry)
		TAILQ_FOREACH(pc, &peer->pipes, entry)
			if (strcmp(pc->uplink, name) == 0)
				return (1);
	return (0);
}

/*
 * The whole configuration, in an order config_recv() checks: the
 * globals first, each address right after its interface, each pipe
 * right after its peer, and IMSG_CFG_DONE last.
 */
int
config_send(struct imsgev *iev, struct marconid_conf *conf)
{
	struct iface_conf	*ifc;
	struct iface_addr	*ia;
	struct uplink_conf	*up;
	struct peer_conf	*peer;
	struct pipe_conf	*pc;

	if (imsg_compose_event(iev, IMSG_CFG_GLOBAL, 0, 0, -1,
	    conf, sizeof(*conf)) == -1)
		return (-1);
	TAILQ_FOREACH(ifc, &conf->ifaces, entry) {
		if (imsg_compose_event(iev, IMSG_CFG_IFACE, 0, 0, -1,
		    ifc, sizeof(*ifc)) == -1)
			return (-1);
		TAILQ_FOREACH(ia, &ifc->addrs, entry)
			if (imsg_compose_event(iev, IMSG_CFG_IFACE_ADDR, 0, 0,
			    -1, ia, sizeof(*ia)) == -1)
				return (-1);
	}
	TAILQ_FOREACH(up, &conf->uplinks, entry)
		if (imsg_compose_event(iev, IMSG_CFG_UPLINK, 0, 0, -1,
		    up, sizeof(*up)) == -1)
			return (-1);
	TAILQ_FOREACH(peer, &conf->peers, entry) {
		if (imsg_compose_event(iev, IMSG_CFG_PEER, 0, 0, -1,
		    peer, sizeof(*peer)) == -1)
			return (-1);
		TAILQ_FOREACH(pc, &peer->pipes, entry)
			if (imsg_compose_event(iev, IMSG_CFG_PIPE, 0, 0, -1,
			    pc, sizeof(*pc)) == -1)
				return (-1);
		TAILQ_FOREACH(ia, &peer->networks, entry)
			if (imsg_compose_event(iev, IMSG_CFG_PEER_NET, 0, 0,
			    -1, ia, sizeof(*ia)) == -1)
				return (-1);
	}
	if (imsg_compose_event(iev, IMSG_CFG_DONE, 0, 0, -1, NULL, 0) == -1)
		return (-1);
	return (0);
}

/* only what the parser can produce: any, IPv4 or IPv6 */
static int
config_sa_ok(const struct sockaddr_storage *ss, int unspec_ok)
{
	switch (ss->ss_family) {
	case AF_UNSPEC:
		return (unspec_ok);
	case AF_INET:
	case AF_INET6:
		return (1);
	}
	return (0);
}

/*
 * Builds the configuration config_send() sent, one message at a time,
 * in *confp.  Returns 1 once IMSG_CFG_DONE completes it (the caller
 * owns it then and sets its pointer back to NULL for the next one),
 * 0 while more is to come, and -1 if a message is malformed or out of
 * order: then whatever was built so far is freed.
 */
int
config_recv(struct marconid_conf **confp, struct imsg *imsg)
{
	struct marconid_conf	*conf = *confp;
	struct iface_conf	*ifc;
	struct iface_addr	*ia;
	struct uplink_conf	*up;
	struct peer_conf	*peer;
	struct pipe_conf	*pc;
	uint32_t		 type = imsg_get_type(imsg);

	if (type != IMSG_CFG_GLOBAL && conf == NULL) {
		log_warnx("%s: %s without IMSG_CFG_GLOBAL", __func__,
		    imsg_type_name(type));
		return (-1);
	}

	switch (type) {
	case IMSG_CFG_GLOBAL:
		if (conf != NULL) {
			log_warnx("%s: IMSG_CFG_GLOBAL before IMSG_CFG_DONE",
			    __func__);
			goto fail;
		}
		if ((conf = calloc(1, sizeof(*conf))) == NULL)
			fatal("%s", __func__);
		*confp = conf;
		if (imsg_get_data(imsg, conf, sizeof(*conf)) == -1)
			goto bad;
		/* the sender's pointers mean nothing here */
		TAILQ_INIT(&conf->ifaces);
		TAILQ_INIT(&conf->uplinks);
		TAILQ_INIT(&conf->peers);
		conf->conffile[sizeof(conf->conffile) - 1] = '\0';
		conf->user[sizeof(conf->user) - 1] = '\0';
		conf->csock[sizeof(conf->csock) - 1] = '\0';
		conf->rsock[sizeof(conf->rsock) - 1] = '\0';
		conf->rsock_group[sizeof(conf->rsock_group) - 1] = '\0';
		conf->cert[sizeof(conf->cert) - 1] = '\0';
		conf->key[sizeof(conf->key) - 1] = '\0';
		return (0);
	case IMSG_CFG_IFACE:
		if ((ifc = calloc(1, sizeof(*ifc))) == NULL)
			fatal("%s", __func__);
		if (imsg_get_data(imsg, ifc, sizeof(*ifc)) == -1) {
			free(ifc);
			goto bad;
		}
		TAILQ_INIT(&ifc->addrs);
		ifc->name[sizeof(ifc->name) - 1] = '\0';
		TAILQ_INSERT_TAIL(&conf->ifaces, ifc, entry);
		if (ifc->type != IFACE_TAP && ifc->type != IFACE_TUN)
			goto bad;
		return (0);
	case IMSG_CFG_IFACE_ADDR:
		if ((ifc = TAILQ_LAST(&conf->ifaces, iface_confs)) == NULL) {
			log_warnx("%s: address without an interface",
			    __func__);
			goto fail;
		}
		if ((ia = calloc(1, sizeof(*ia))) == NULL)
			fatal("%s", __func__);
		if (imsg_get_data(imsg, ia, sizeof(*ia)) == -1) {
			free(ia);
			goto bad;
		}
		TAILQ_INSERT_TAIL(&ifc->addrs, ia, entry);
		if (!config_sa_ok(&ia->ss, 0) ||
		    ia->prefixlen > (ia->ss.ss_family == AF_INET ? 32 : 128))
			goto bad;
		return (0);
	case IMSG_CFG_UPLINK:
		if ((up = calloc(1, sizeof(*up))) == NULL)
			fatal("%s", __func__);
		if (imsg_get_data(imsg, up, sizeof(*up)) == -1) {
			free(up);
			goto bad;
		}
		up->name[sizeof(up->name) - 1] = '\0';
		up->ifname[sizeof(up->ifname) - 1] = '\0';
		TAILQ_INSERT_TAIL(&conf->uplinks, up, entry);
		if (!config_sa_ok(&up->local, 1))
			goto bad;
		return (0);
	case IMSG_CFG_PEER:
		if ((peer = calloc(1, sizeof(*peer))) == NULL)
			fatal("%s", __func__);
		if (imsg_get_data(imsg, peer, sizeof(*peer)) == -1) {
			free(peer);
			goto bad;
		}
		TAILQ_INIT(&peer->pipes);
		TAILQ_INIT(&peer->networks);
		peer->name[sizeof(peer->name) - 1] = '\0';
		peer->fingerprint[sizeof(peer->fingerprint) - 1] = '\0';
		TAILQ_INSERT_TAIL(&conf->peers, peer, entry);
		if (peer->id == 0)
			goto bad;
		if (peer->mode != MODE_FAILOVER &&
		    peer->mode != MODE_DUPLICATE &&
		    peer->mode != MODE_BALANCE)
			goto bad;
		return (0);
	case IMSG_CFG_PIPE:
		if ((peer = TAILQ_LAST(&conf->peers, peer_confs)) == NULL) {
			log_warnx("%s: pipe without a peer", __func__);
			goto fail;
		}
		if ((pc = calloc(1, sizeof(*pc))) == NULL)
			fatal("%s", __func__);
		if (imsg_get_data(imsg, pc, sizeof(*pc)) == -1) {
			free(pc);
			goto bad;
		}
		pc->uplink[sizeof(pc->uplink) - 1] = '\0';
		pc->remote_name[sizeof(pc->remote_name) - 1] = '\0';
		TAILQ_INSERT_TAIL(&peer->pipes, pc, entry);
		if (!config_sa_ok(&pc->remote, 1))
			goto bad;
		return (0);
	case IMSG_CFG_PEER_NET:
		if ((peer = TAILQ_LAST(&conf->peers, peer_confs)) == NULL) {
			log_warnx("%s: network without a peer", __func__);
			goto fail;
		}
		if ((ia = calloc(1, sizeof(*ia))) == NULL)
			fatal("%s", __func__);
		if (imsg_get_data(imsg, ia, sizeof(*ia)) == -1) {
			free(ia);
			goto bad;
		}
		TAILQ_INSERT_TAIL(&peer->networks, ia, entry);
		if (!config_sa_ok(&ia->ss, 0) ||
		    ia->prefixlen > (ia->ss.ss_family == AF_INET ? 32 : 128))
			goto bad;
		return (0);
	case IMSG_CFG_DONE:
		if (imsg_get_len(imsg) != 0)
			goto bad;
		return (1);
	default:
		log_warnx("%s: unexpected %s", __func__,
		    imsg_type_name(type));
		goto fail;
	}

 bad:
	log_warnx("%s: malformed %s", __func__, imsg_type_name(type));
 fail:
	config_free(*confp);
	*confp = NULL;
	return (-1);
}

/* IMSG_CFG_GLOBAL to IMSG_CFG_DONE: the enum keeps them together. */
int
config_is_cfg(uint32_t type)
{
	return (type >= IMSG_CFG_GLOBAL && type <= IMSG_CFG_DONE);
}

/*
 * In a child, one IMSG_CFG_* message from the parent: the new
 * configuration once IMSG_CFG_DONE completes it, NULL before.  The
 * parent is the only sender, so a bad message is fatal.
 */
struct marconid_conf *
config_child_recv(struct marconid_conf **building, struct imsg *imsg)
{
	struct marconid_conf	*c;
	int			 r;

	if ((r = config_recv(building, imsg)) == -1)
		fatalx("%s: bad %s", __func__,
		    imsg_type_name(imsg_get_type(imsg)));
	if (r == 0)
		return (NULL);
	c = *building;
	*building = NULL;
	return (c);
}

/*
 * In a child, IMSG_CFG_COMMIT: the configuration it holds (and has
 * acknowledged) becomes the one to run, and is returned.  The parent
 * commits only what every child holds, so anything else is fatal.
 */
struct marconid_conf *
config_child_commit(struct marconid_conf **held, struct imsg *imsg)
{
	struct marconid_conf	*c;
	uint32_t		 gen;

	if (imsg_get_data(imsg, &gen, sizeof(gen)) == -1)
		fatalx("%s: bad IMSG_CFG_COMMIT", __func__);
	if ((c = *held) == NULL || c->generation != gen)
		fatalx("%s: commit of generation %u, holding %u", __func__,
		    gen, c == NULL ? 0 : c->generation);
	*held = NULL;
	return (c);
}
