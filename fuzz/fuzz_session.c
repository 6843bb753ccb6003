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
 * The control channel of a pipe after TLS: the message stream that
 * session_read() cuts up and session_dispatch() hands to the HELLO and
 * REKEY handlers in marconid/session.c, the replacement of one session
 * by another, keepalives, timeouts and rekeying.  libtls is replaced
 * by the stand-in in stubs.c: the handshake succeeds at once, the
 * peer's certificate hash is fixed, and each session reads what the
 * input gives it.
 *
 * The first byte holds flags: FL_INITIATOR (session A connected out,
 * else it was accepted), FL_TWO (a session B of the other role, as when
 * both sides connect at once), FL_REKEY (a rekey is due at every tick),
 * FL_STRANGER (the certificate matches no peer), FL_SHORTWRITE (TLS
 * takes 3 bytes per write).  Then records [h][length][bytes]: the
 * bytes go to session B if h & H_B, else A; H_EOF then ends that
 * stream, H_TICK runs session_tick() now, H_LATER a minute later.
 */

#include "../marconid/pipe.c"		/* the peer table and its state */
#include "../marconid/session.c"	/* session_read() and the rest */

#include <fcntl.h>

#include "fuzz.h"

#define FL_INITIATOR	0x01
#define FL_TWO		0x02
#define FL_REKEY	0x04
#define FL_STRANGER	0x08
#define FL_SHORTWRITE	0x10

#define H_B		0x01
#define H_EOF		0x02
#define H_TICK		0x04
#define H_LATER		0x08

#define MAX_RECORDS	256
#define MAX_EVENTS	64	/* session_event() calls per record */

#define PEER_FPR	"SHA256:fuzz"

static struct pipe_peer	*fpp;

int	LLVMFuzzerInitialize(int *, char ***);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	uplink = "isp1";
	if ((fpp = calloc(1, sizeof(*fpp))) == NULL ||
	    (fpp->reasm = reasm_new()) == NULL)
		abort();
	strlcpy(fpp->st.peer, "site-b", sizeof(fpp->st.peer));
	strlcpy(fpp->st.uplink, uplink, sizeof(fpp->st.uplink));
	strlcpy(fpp->fingerprint, PEER_FPR, sizeof(fpp->fingerprint));
	fpp->probe_interval = PROBE_INTERVAL;
	fpp->probe_timeout = PROBE_TIMEOUT;
	fpp->backoff = SESS_BACKOFF_MIN;
	host_parse("198.18.11.2", &fpp->conf.remote, NULL);
	sa_set_port(&fpp->conf.remote, MARCONID_PORT);
	fpp->dest = fpp->conf.remote;
	TAILQ_INSERT_TAIL(&ppeers, fpp, entry);
	/* the stand-in takes any certificate and key */
	if (tlsctx_set((const uint8_t *)"crt", 3,
	    (const uint8_t *)"key", 3) == -1)
		abort();
	fuzz_fd_mark();
	return (0);
}

/* A session as the uplink process makes it: connected out or accepted. */
static struct session *
start(int initiator, uint8_t flags)
{
	struct session	*s;
	int		 sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1)
		abort();
	close(sv[1]);
	if (initiator) {
		if (fpp->pending != NULL || fpp->sess != NULL) {
			close(sv[0]);
			return (NULL);
		}
		session_connected(fpp, sv[0]);
		s = fpp->pending;
		/* the connect is done: TLS, handshake, certificate, HELLO */
		session_event(s->fd, EV_WRITE, s);
	} else {
		s = session_new(sv[0], 0);
		s->addr = fpp->conf.remote;
		if (tls_accept_socket(NULL, &s->tls, sv[0]) == -1)
			abort();
		s->state = SESS_TLS;
		session_event(s->fd, EV_READ, s);
	}
	if (!session_alive(s))
		return (NULL);
	if (flags & FL_SHORTWRITE)
		fuzz_tls_set_wlimit(s->tls, 3);
	return (s);
}

static void
check(void)
{
	if (fpp->sess != NULL && (fpp->sess->state != SESS_UP ||
	    !fpp->tx.valid || !fpp->rx.valid || fpp->rxid == 0 ||
	    fpp->maxdgram < MARCONID_MINMTU - IPV6_UDP_OVERHEAD)) {
		fprintf(stderr, "a session is up without its keys\n");
		abort();
	}
	if (fpp->sess == NULL && fpp->tx.valid) {
		fprintf(stderr, "keys without a session\n");
		abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct session	*a = NULL, *b = NULL, *s, *t;
	const uint8_t	*p;
	size_t		 left, len;
	uint8_t		 flags, h;
	int		 n, i;

	if (size < 1)
		return (0);
	flags = data[0];
	rekey_interval = (flags & FL_REKEY) ? 0 : REKEY_INTERVAL;
	fuzz_tls_peer_hash = (flags & FL_STRANGER) ? "SHA256:stranger" :
	    PEER_FPR;

	a = start(flags & FL_INITIATOR, flags);
	if (flags & FL_TWO)
		b = start(!(flags & FL_INITIATOR), flags);
	check();

	p = data + 1;
	left = size - 1;
	for (n = 0; n < MAX_RECORDS && left >= 2; n++) {
		h = p[0];
		len = p[1];
		p += 2;
		left -= 2;
		if (len > left)
			len = left;
		if (a != NULL && !session_alive(a))
			a = NULL;
		if (b != NULL && !session_alive(b))
			b = NULL;
		s = (h & H_B) ? b : a;
		if (s != NULL) {
			fuzz_tls_feed(s->tls, p, len);
			if (h & H_EOF)
				fuzz_tls_set_eof(s->tls);
			for (i = 0; i < MAX_EVENTS; i++) {
				session_event(s->fd, EV_READ, s);
				if (!session_alive(s) ||
				    fuzz_tls_unread(s->tls) == 0)
					break;
			}
			/* what it holds points into this input */
			if (session_alive(s))
				fuzz_tls_feed(s->tls, NULL, 0);
			check();
		}
		if (h & H_TICK)
			session_tick(getmonotime());
		if (h & H_LATER)
			session_tick(getmonotime() + SESS_DEADTIME + 1);
		check();
		p += len;
		left -= len;
	}

	TAILQ_FOREACH_SAFE(s, &sessions, entry, t)
		session_close(s, "end of the input");
	if (fpp->sess != NULL || fpp->pending != NULL || fpp->tx.valid ||
	    fpp->rx.valid || fpp->rx_prev.valid || fpp->tx_next.valid) {
		fprintf(stderr, "state left after every session closed\n");
		abort();
	}
	fpp->next_connect = 0;
	fpp->backoff = SESS_BACKOFF_MIN;
	fuzz_fd_check();
	return (0);
}
