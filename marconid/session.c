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
#include <event.h>
#include <imsg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <tls.h>
#include <unistd.h>

#include "endian-compat.h"
#include "marconid.h"
#include "pipe.h"

/*
 * The TLS control sessions of an uplink process: mutual authentication
 * with leaves issued by each site's parent, under the site certificate
 * pinned by fingerprint (tlsctx.c), then HELLO and
 * REKEY messages that agree on the data keys.  The wire format is in
 * doc/wire.md.  Everything is non-blocking on the event loop.
 */

static void	 session_event(int, short, void *);
static void	 session_update_events(struct session *, int);
static void	 session_verified(struct session *);
static int	 session_send(struct session *, uint8_t, const void *, size_t);
static int	 session_flush(struct session *);
static void	 session_read(struct session *);
static void	 session_dispatch(struct session *, uint8_t, const uint8_t *,
		    size_t);
static void	 session_hello(struct session *, const uint8_t *, size_t);
static void	 session_establish(struct session *);
static void	 session_rekey(struct session *, const uint8_t *, size_t);
static void	 session_rekey_ack(struct session *, const uint8_t *, size_t);
static void	 session_rekey_done(struct session *, const uint8_t *,
		    size_t);
static void	 session_rekey_start(struct session *);
static void	 session_rekey_request(struct session *, const uint8_t *,
		    size_t);
static struct session *session_new(int, int);
static int	 session_shed(void);
static void	 session_accept_warn(void);

static struct sessions	 sessions = TAILQ_HEAD_INITIALIZER(sessions);
/* lines strangers cause: rate-limited, see UNAUTH_LOG_INTERVAL */
static struct ratelim	 unauth_log;
static struct ratelim	 accept_log;

/* what our HELLOs announce (section 3.3 of doc/wire.md) */
uint32_t		 session_caps = HELLO_CAP_FRAG | HELLO_CAP_REKEY_REQUEST |
			    HELLO_CAP_REPORT | HELLO_CAP_PROBE_ECHO;

void
session_init(void)
{
	/* before the sandbox: the library may read its configuration */
	if (tls_init() == -1)
		fatalx("tls_init");
#ifdef MARCONID_TEST_HOOKS
	/* test builds: a site that probes as the releases before echo */
	if (getenv("MARCONID_TEST_NO_PROBE_ECHO") != NULL)
		session_caps &= ~HELLO_CAP_PROBE_ECHO;
#endif
}

static struct session *
session_new(int fd, int initiator)
{
	struct session	*s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		fatal("%s", __func__);
	s->fd = fd;
	s->initiator = initiator;
	s->started = s->last_rx = s->last_tx = getmonotime();
	TAILQ_INSERT_TAIL(&sessions, s, entry);
	return (s);
}

/*
 * A caller on the listener.  -1 when no descriptor is left and no
 * handshake could give one up.
 */
int
session_accept(int lfd)
{
	struct session		*s;
	struct sockaddr_storage	 ss;
	socklen_t		 slen = sizeof(ss);
	char			 host[NI_MAXHOST];
	const char		*why;
	int			 fd;

	if ((fd = accept4(lfd, (struct sockaddr *)&ss, &slen,
	    SOCK_CLOEXEC | SOCK_NONBLOCK)) == -1) {
		if (errno == EMFILE || errno == ENFILE) {
			if (session_shed() == 0)
				return (0);
			/* nothing to give up: the caller pauses the listener */
			session_accept_warn();
			return (-1);
		}
		if (errno != EAGAIN && errno != EINTR &&
		    errno != ECONNABORTED)
			session_accept_warn();
		return (0);
	}
	if (!tlsctx_ready()) {
		log_debug("session from %s refused: no certificate yet",
		    print_host(&ss, host, sizeof(host)));
		close(fd);
		return (0);
	}
	s = session_new(fd, 0);
	s->addr = ss;
	if (tlsctx_accept(fd, &s->tls, &s->tlsctx, &why) == -1) {
		session_close(s, why);
		return (0);
	}
	s->state = SESS_TLS;
	log_debug("session from %s: handshake", print_host(&ss, host,
	    sizeof(host)));
	session_update_events(s, EV_READ);
	return (0);
}

/*
 * No descriptor left for a caller: the oldest handshake of a caller
 * gives its descriptor up, and the listener, still readable, takes the
 * next one.  Without this the listener would fire again at once, for
 * as long as idle connections hold every descriptor (10 s each), and
 * no peer would get in meanwhile.  -1 when there is none to give up.
 */
static int
session_shed(void)
{
	struct session	*s;
	int		 saved = errno;

	TAILQ_FOREACH(s, &sessions, entry)
		if (!s->initiator && s->state != SESS_UP) {
			session_close(s, "no descriptor left for a newer "
			    "caller");
			return (0);
		}
	errno = saved;
	return (-1);
}

/* accept() failing (out of descriptors) is what a flood of strangers does */
static void
session_accept_warn(void)
{
	char	 more[64];
	int	 saved = errno;

	if (ratelim_pass(&accept_log, UNAUTH_LOG_INTERVAL, 1, more,
	    sizeof(more)))
		log_warnx("session_accept: accept: %s%s", strerror(saved),
		    more);
	errno = saved;
}

/* The parent made a socket bound to our uplink and started connect(). */
void
session_connected(struct pipe_peer *pp, int fd)
{
	struct session	*s;

	s = session_new(fd, 1);
	s->pp = pp;
	s->addr = pp->conf.remote;
	s->state = SESS_CONNECT;
	pp->pending = s;
	pp->st.state = PIPE_STATE_CONNECTING;
	pp->dirty = 1;
	session_update_events(s, EV_WRITE);
}

static void
session_update_events(struct session *s, int flags)
{
	if (s->evflags == (flags | EV_PERSIST) &&
	    event_initialized(&s->ev))
		return;
	if (s->evflags != 0)
		event_del(&s->ev);
	s->evflags = flags | EV_PERSIST;
	event_set(&s->ev, s->fd, s->evflags, session_event, s);
	event_add(&s->ev, NULL);
}

static void
session_event(int fd, short event, void *arg)
{
	struct session	*s = arg;
	const char	*why;
	socklen_t	 len;
	int		 error, r;

	switch (s->state) {
	case SESS_CONNECT:
		len = sizeof(error);
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len) ==
		    -1)
			error = errno;
		if (error != 0) {
			session_close(s, strerror(error));
			return;
		}
		if (tlsctx_connect(fd, &s->tls, &why) == -1) {
			session_close(s, why);
			return;
		}
		s->state = SESS_TLS;
		/* FALLTHROUGH */
	case SESS_TLS:
		r = tls_handshake(s->tls);
		if (r == TLS_WANT_POLLIN) {
			session_update_events(s, EV_READ);
			return;
		}
		if (r == TLS_WANT_POLLOUT) {
			session_update_events(s, EV_READ | EV_WRITE);
			return;
		}
		if (r == -1) {
			session_close(s, tls_error(s->tls));
			return;
		}
		session_verified(s);
		return;
	case SESS_HELLO:
	case SESS_UP:
		if (event & EV_READ)
			session_read(s);
		else if (session_flush(s) == -1)
			return;
		break;
	}
}

/* The initiator expects the peer it connected to. */
static int
session_pinned_by(const char *fpr, void *arg)
{
	struct pipe_peer	*pp = arg;

	return (strcmp(fpr, pp->fingerprint) == 0);
}

/* The responder takes any peer with a pipe on this uplink. */
static int
session_pinned_any(const char *fpr, void *arg)
{
	return (pipe_peer_by_fpr(fpr) != NULL);
}

/*
 * The handshake is done: is this who we expect?  The peer presents a
 * leaf issued by its parent and its site's certificate, which is what
 * we pin (tlsctx_verify_peer()).
 */
static void
session_verified(struct session *s)
{
	struct pipe_peer	*pp;
	char			 fpr[MARCONID_FPRLEN];
	char			 why[384], reason[320] = "";

	if (s->initiator) {
		pp = s->pp;
		if (tlsctx_verify_peer(s->tls, time(NULL), session_pinned_by,
		    pp, fpr, sizeof(fpr), reason, sizeof(reason)) == -1) {
			snprintf(why, sizeof(why), "%s, session refused",
			    reason);
			session_close(s, why);
			return;
		}
	} else if (tlsctx_verify_peer(s->tls, time(NULL), session_pinned_any,
	    NULL, fpr, sizeof(fpr), reason, sizeof(reason)) == -1 ||
	    (pp = pipe_peer_by_fpr(fpr)) == NULL) {
		/* the fingerprints are those of the pipes on this uplink */
		snprintf(why, sizeof(why), "%s, session refused", reason);
		session_close(s, why);
		return;
	}
	s->pp = pp;

	memset(&s->mine, 0, sizeof(s->mine));
	s->mine.version = WIRE_VERSION;
	do {
		s->mine.rxid = arc4random();
	} while (s->mine.rxid == 0);
	s->mine.instance = pipe_instance;
	s->mine.mtu = pipe_local_maxdgram(pp);
	s->mine.caps = session_caps;
	arc4random_buf(s->mine.random, sizeof(s->mine.random));
	s->state = SESS_HELLO;
	{
		struct sess_hello	 h = s->mine;

		h.version = htonl(h.version);
		h.rxid = htonl(h.rxid);
		h.instance = htobe64(h.instance);
		h.mtu = htons(h.mtu);
		h.caps = htonl(h.caps);
		if (session_send(s, SMSG_HELLO, &h, sizeof(h)) == -1)
			return;
		explicit_bzero(&h, sizeof(h));
	}
	session_update_events(s, EV_READ);
}

static int
session_send(struct session *s, uint8_t type, const void *body, size_t len)
{
	uint8_t	*p;

	if (len > SESS_MSG_MAXBODY ||
	    s->wlen + SESS_MSG_HDRLEN + len > sizeof(s->wbuf)) {
		session_close(s, "send buffer full");
		return (-1);
	}
	p = s->wbuf + s->wlen;
	p[0] = type;
	p[1] = 0;
	p[2] = len >> 8;
	p[3] = len & 0xff;
	if (len > 0)
		memcpy(p + SESS_MSG_HDRLEN, body, len);
	s->wlen += SESS_MSG_HDRLEN + len;
	s->last_tx = getmonotime();
	return (session_flush(s));
}

/* Returns -1 when the session was closed. */
static int
session_flush(struct session *s)
{
	ssize_t	 n;

	while (s->wlen > 0) {
		n = tls_write(s->tls, s->wbuf, s->wlen);
		if (n == TLS_WANT_POLLIN || n == TLS_WANT_POLLOUT) {
			session_update_events(s, EV_READ | EV_WRITE);
			return (0);
		}
		if (n == -1) {
			session_close(s, tls_error(s->tls));
			return (-1);
		}
		memmove(s->wbuf, s->wbuf + n, s->wlen - n);
		s->wlen -= n;
	}
	session_update_events(s, EV_READ);
	return (0);
}

static void
session_read(struct session *s)
{
	const uint8_t	*p;
	size_t		 blen;
	ssize_t		 n;
	int		 i;

	/* a bounded number of reads per event: others get their turn */
	for (i = 0; i < 16; i++) {
		n = tls_read(s->tls, s->rbuf + s->rlen,
		    sizeof(s->rbuf) - s->rlen);
		if (n == TLS_WANT_POLLIN)
			break;
		if (n == TLS_WANT_POLLOUT) {
			session_update_events(s, EV_READ | EV_WRITE);
			return;
		}
		if (n == -1) {
			session_close(s, tls_error(s->tls));
			return;
		}
		if (n == 0) {
			session_close(s, "closed by the peer");
			return;
		}
		s->rlen += n;
		s->last_rx = getmonotime();

		while (s->rlen >= SESS_MSG_HDRLEN) {
			p = s->rbuf;
			blen = (p[2] << 8) | p[3];
			if (blen > SESS_MSG_MAXBODY || p[1] != 0) {
				session_close(s, "malformed message");
				return;
			}
			if (s->rlen < SESS_MSG_HDRLEN + blen)
				break;
			session_dispatch(s, p[0], p + SESS_MSG_HDRLEN, blen);
			/* the session may be gone: look it up again */
			if (!session_alive(s))
				return;
			memmove(s->rbuf, s->rbuf + SESS_MSG_HDRLEN + blen,
			    s->rlen - SESS_MSG_HDRLEN - blen);
			s->rlen -= SESS_MSG_HDRLEN + blen;
		}
	}
	(void)session_flush(s);
}

int
session_alive(struct session *s)
{
	struct session	*t;

	TAILQ_FOREACH(t, &sessions, entry)
		if (t == s)
			return (1);
	return (0);
}

static void
session_dispatch(struct session *s, uint8_t type, const uint8_t *body,
    size_t len)
{
	switch (type) {
	case SMSG_HELLO:
		session_hello(s, body, len);
		break;
	case SMSG_REKEY:
		session_rekey(s, body, len);
		break;
	case SMSG_REKEY_ACK:
		session_rekey_ack(s, body, len);
		break;
	case SMSG_REKEY_DONE:
		session_rekey_done(s, body, len);
		break;
	case SMSG_KEEPALIVE:
		if (len != 0)
			session_close(s, "malformed keepalive");
		break;
	case SMSG_REKEY_REQUEST:
		session_rekey_request(s, body, len);
		break;
	default:
		session_close(s, "unknown message type");
		break;
	}
}

static void
session_hello(struct session *s, const uint8_t *body, size_t len)
{
	struct sess_hello	 h;

	if (s->state != SESS_HELLO || len != sizeof(h)) {
		session_close(s, "unexpected or malformed HELLO");
		return;
	}
	memcpy(&h, body, sizeof(h));
	h.version = ntohl(h.version);
	h.rxid = ntohl(h.rxid);
	h.instance = be64toh(h.instance);
	h.mtu = ntohs(h.mtu);
	h.caps = ntohl(h.caps);
	if (h.version != WIRE_VERSION) {
		session_close(s, "the peer speaks another protocol version");
		return;
	}
	if (h.rxid == 0 || h.mtu < MARCONID_MINMTU ||
	    !(h.caps & HELLO_CAP_FRAG)) {
		session_close(s, "HELLO with bad parameters");
		return;
	}
	s->theirs = h;
	explicit_bzero(&h, sizeof(h));
	session_establish(s);
}

/* The instance id of the side that opened a session. */
static uint64_t
session_initiator_instance(struct session *s)
{
	return (s->initiator ? s->mine.instance : s->theirs.instance);
}

static void
session_establish(struct session *s)
{
	struct pipe_peer	*pp = s->pp;
	struct session		*old;
	uint8_t			 c2s[AEAD_KEYLEN], s2c[AEAD_KEYLEN];
	const uint8_t		*crand, *srand;

	if ((old = pp->sess) != NULL && old != s) {
		if (session_keep_newer(old->theirs.instance,
		    s->theirs.instance, session_initiator_instance(old),
		    session_initiator_instance(s)))
			session_close(old, old->theirs.instance !=
			    s->theirs.instance ? "replaced: the peer restarted" :
			    "replaced by the newer session both sides keep");
		else {
			session_close(s, "duplicate of an established "
			    "session both sides keep");
			/*
			 * Should the peer have lost the older one (we
			 * opened it, the peer the newer), a keepalive on it
			 * finds out: the peer's kernel answers with a reset,
			 * the older closes, and the peer's next connect
			 * takes its place.
			 */
			(void)session_send(old, SMSG_KEEPALIVE, NULL, 0);
			return;
		}
	}
	/*
	 * A connect of ours still in progress is left to finish: when
	 * both sides connect at once, each must see both sessions to make
	 * the same choice above.
	 */
	if (pp->pending == s)
		pp->pending = NULL;
	pp->sess = s;
	s->state = SESS_UP;
	s->up_at = getmonotime();

	crand = s->initiator ? s->mine.random : s->theirs.random;
	srand = s->initiator ? s->theirs.random : s->mine.random;
	crypto_derive(crand, srand, 0, c2s, s2c);
	aead_wipe(&pp->tx);
	aead_wipe(&pp->rx);
	aead_wipe(&pp->rx_prev);
	aead_wipe(&pp->tx_next);
	if (aead_init(&pp->tx, s->initiator ? c2s : s2c, 0) == -1 ||
	    aead_init(&pp->rx, s->initiator ? s2c : c2s, 0) == -1)
		fatalx("%s: cannot install keys", __func__);
	explicit_bzero(c2s, sizeof(c2s));
	explicit_bzero(s2c, sizeof(s2c));
	explicit_bzero(s->mine.random, sizeof(s->mine.random));
	explicit_bzero(s->theirs.random, sizeof(s->theirs.random));
	pp->rekey_pending = 0;
	pp->rekey_requested = 0;

	pp->rxid = s->mine.rxid;
	pp->peer_rxid = s->theirs.rxid;
	pp->peer_instance = s->theirs.instance;
	pp->maxdgram = pipe_local_maxdgram(pp);
	if (s->theirs.mtu < pp->maxdgram)
		pp->maxdgram = s->theirs.mtu;
	pp->st.initiator = s->initiator;
	pp->st.rekeys = 0;
	pp->st.pmtu = pp->maxdgram;
	pipe_session_up(pp);
}

static void
session_rekey(struct session *s, const uint8_t *body, size_t len)
{
	struct pipe_peer	*pp = s->pp;
	struct sess_rekey	 r, ack;
	uint8_t			 c2s[AEAD_KEYLEN], s2c[AEAD_KEYLEN];
	uint8_t			 keyid;

	if (s->state != SESS_UP || s->initiator || pp->sess != s ||
	    len != sizeof(r)) {
		session_close(s, "unexpected or malformed REKEY");
		return;
	}
	memcpy(&r, body, sizeof(r));
	keyid = pp->tx.id + 1;
	if (r.keyid != keyid) {
		session_close(s, "REKEY for an unexpected key id");
		return;
	}
	memset(&ack, 0, sizeof(ack));
	ack.keyid = keyid;
	arc4random_buf(ack.random, sizeof(ack.random));
	crypto_derive(r.random, ack.random, keyid, c2s, s2c);

	/* receive with the new key now, send with it once DONE comes */
	aead_wipe(&pp->rx_prev);
	pp->rx_prev = pp->rx;
	memset(&pp->rx, 0, sizeof(pp->rx));
	aead_wipe(&pp->tx_next);
	if (aead_init(&pp->rx, c2s, keyid) == -1 ||
	    aead_init(&pp->tx_next, s2c, keyid) == -1)
		fatalx("%s: cannot install keys", __func__);
	explicit_bzero(c2s, sizeof(c2s));
	explicit_bzero(s2c, sizeof(s2c));
	explicit_bzero(&r, sizeof(r));
	(void)session_send(s, SMSG_REKEY_ACK, &ack, sizeof(ack));
	explicit_bzero(&ack, sizeof(ack));
}

static void
session_rekey_ack(struct session *s, const uint8_t *body, size_t len)
{
	struct pipe_peer	*pp = s->pp;
	struct sess_rekey	 r, done;
	uint8_t			 c2s[AEAD_KEYLEN], s2c[AEAD_KEYLEN];

	if (s->state != SESS_UP || !s->initiator || pp->sess != s ||
	    !pp->rekey_pending || len != sizeof(r)) {
		session_close(s, "unexpected or malformed REKEY_ACK");
		return;
	}
	memcpy(&r, body, sizeof(r));
	if (r.keyid != (uint8_t)(pp->tx.id + 1)) {
		session_close(s, "REKEY_ACK for an unexpected key id");
		return;
	}
	crypto_derive(pp->rekey_random, r.random, r.keyid, c2s, s2c);
	explicit_bzero(pp->rekey_random, sizeof(pp->rekey_random));
	aead_wipe(&pp->rx_prev);
	pp->rx_prev = pp->rx;
	memset(&pp->rx, 0, sizeof(pp->rx));
	aead_wipe(&pp->tx);
	if (aead_init(&pp->rx, s2c, r.keyid) == -1 ||
	    aead_init(&pp->tx, c2s, r.keyid) == -1)
		fatalx("%s: cannot install keys", __func__);
	explicit_bzero(c2s, sizeof(c2s));
	explicit_bzero(s2c, sizeof(s2c));
	pp->rekey_pending = 0;
	pp->st.rekeys++;
	pp->dirty = 1;

	memset(&done, 0, sizeof(done));
	done.keyid = r.keyid;
	explicit_bzero(&r, sizeof(r));
	log_debug("peer %s: rekeyed to key %u", pp->st.peer, done.keyid);
	(void)session_send(s, SMSG_REKEY_DONE, &done, 4);
}

static void
session_rekey_done(struct session *s, const uint8_t *body, size_t len)
{
	struct pipe_peer	*pp = s->pp;

	if (s->state != SESS_UP || s->initiator || pp->sess != s ||
	    len != 4 || !pp->tx_next.valid || body[0] != pp->tx_next.id) {
		session_close(s, "unexpected or malformed REKEY_DONE");
		return;
	}
	aead_wipe(&pp->tx);
	pp->tx = pp->tx_next;
	memset(&pp->tx_next, 0, sizeof(pp->tx_next));
	/* a new key, counted from 0: it may ask again when it is used up */
	pp->rekey_requested = 0;
	pp->st.rekeys++;
	pp->dirty = 1;
	log_debug("peer %s: rekeyed to key %u", pp->st.peer, pp->tx.id);
}

void
session_close(struct session *s, const char *why)
{
	struct pipe_peer	*pp = s->pp;
	char			 host[NI_MAXHOST], more[64];

	if (pp != NULL)
		log_info("peer %s uplink %s: session %s %s closed: %s",
		    pp->st.peer, pp->st.uplink,
		    s->initiator ? "to" : "from",
		    print_host(&s->addr, host, sizeof(host)), why);
	else if (ratelim_pass(&unauth_log, UNAUTH_LOG_INTERVAL,
	    UNAUTH_LOG_BURST, more, sizeof(more)))
		/* a stranger (no fingerprint of ours yet) chooses how many */
		log_info("session from %s closed: %s%s",
		    print_host(&s->addr, host, sizeof(host)), why, more);

	TAILQ_REMOVE(&sessions, s, entry);
	if (s->evflags != 0)
		event_del(&s->ev);
	if (s->tls != NULL) {
		(void)tls_close(s->tls);
		tls_free(s->tls);
	}
	tlsctx_release(s->tlsctx);
	close(s->fd);
	explicit_bzero(&s->mine, sizeof(s->mine));
	explicit_bzero(&s->theirs, sizeof(s->theirs));
	if (pp != NULL) {
		if (pp->pending == s)
			pp->pending = NULL;
		if (pp->sess == s) {
			pp->sess = NULL;
			pipe_session_down(pp);
		} else if (pp->sess == NULL)
			pipe_session_down(pp);
	}
	free(s);
}

/* Timeouts, keepalives and rekeying, once per tick. */
void
session_tick(int64_t now)
{
	struct session		*s, *next;
	struct pipe_peer	*pp;

	TAILQ_FOREACH_SAFE(s, &sessions, entry, next) {
		if (s->state != SESS_UP) {
			if (now - s->started > SESS_HANDSHAKE_MAX)
				session_close(s, "handshake timed out");
			continue;
		}
		if (now - s->last_rx > SESS_DEADTIME) {
			session_close(s, "the peer went silent");
			continue;
		}
		if (now - s->last_tx >= SESS_KEEPALIVE &&
		    session_send(s, SMSG_KEEPALIVE, NULL, 0) == -1)
			continue;
		pp = s->pp;
		if (pp->sess != s)
			continue;
		/* two keepalives missed: the peer's name may have moved */
		if (s->initiator && now - s->last_rx > SESS_SILENT)
			pipe_ask_resolve(pp);
		if (!s->initiator) {
			/*
			 * Only the initiator starts rekeys, but the limit
			 * of datagrams is on each side's own sending key:
			 * the responder, which may send far more than it
			 * receives, asks once per key.
			 */
			if (pp->tx.counter >= rekey_packets &&
			    !pp->rekey_requested && !pp->tx_next.valid &&
			    (s->theirs.caps & HELLO_CAP_REKEY_REQUEST)) {
				uint8_t	 req[4] = { pp->tx.id, 0, 0, 0 };

				pp->rekey_requested = 1;
				log_debug("peer %s: key %u sealed %llu "
				    "datagrams, asking for a rekey",
				    pp->st.peer, pp->tx.id,
				    (unsigned long long)pp->tx.counter);
				(void)session_send(s, SMSG_REKEY_REQUEST,
				    req, sizeof(req));
			}
			continue;
		}
		if (pp->rekey_pending)
			continue;
		if (now - pp->tx.installed < rekey_interval &&
		    pp->tx.counter < rekey_packets)
			continue;
		session_rekey_start(s);
	}
}

/* The initiator starts a rekey: REKEY with a fresh random of its own. */
static void
session_rekey_start(struct session *s)
{
	struct pipe_peer	*pp = s->pp;
	struct sess_rekey	 r;

	memset(&r, 0, sizeof(r));
	r.keyid = pp->tx.id + 1;
	arc4random_buf(pp->rekey_random, sizeof(pp->rekey_random));
	memcpy(r.random, pp->rekey_random, sizeof(r.random));
	pp->rekey_pending = 1;
	(void)session_send(s, SMSG_REKEY, &r, sizeof(r));
	explicit_bzero(&r, sizeof(r));
}

/*
 * The responder's sending key is used up: a rekey now, unless one is
 * under way already (which gives the responder a new key too) or the
 * request names a key we no longer receive with: it crossed a rekey,
 * which replaced that key already.
 */
static void
session_rekey_request(struct session *s, const uint8_t *body, size_t len)
{
	struct pipe_peer	*pp = s->pp;

	if (s->state != SESS_UP || !s->initiator || pp->sess != s ||
	    len != 4) {
		session_close(s, "unexpected or malformed REKEY_REQUEST");
		return;
	}
	if (pp->rekey_pending || body[0] != pp->rx.id)
		return;
	log_debug("peer %s: rekey asked for by the responder", pp->st.peer);
	session_rekey_start(s);
}

/*
 * The peer left the configuration or changed identity.  Its sessions
 * are closed as if they never belonged to it (the log names no peer
 * whose identity they no longer prove), and then the pipe goes down
 * as when a session ends: the data keys are wiped and the engine is
 * told, or a passive pipe, which has no session to time out and no
 * connect of its own to overwrite its state, stayed "up" for ever
 * with the keys of an identity no longer trusted.
 */
void
session_peer_gone(struct pipe_peer *pp)
{
	struct session	*s, *next;
	int		 had = 0;

	TAILQ_FOREACH_SAFE(s, &sessions, entry, next) {
		if (s->pp != pp)
			continue;
		s->pp = NULL;
		if (pp->sess == s)
			pp->sess = NULL;
		if (pp->pending == s)
			pp->pending = NULL;
		session_close(s, "peer removed or changed");
		had = 1;
	}
	if (had || pp->tx.valid || pp->rx.valid || pp->rx_prev.valid ||
	    pp->tx_next.valid)
		pipe_session_down(pp);
}
