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

#include <stdlib.h>
#include <string.h>
#include <tls.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "marconid.h"
#include "pipe.h"

/*
 * The libtls contexts of an uplink process's sessions (session.c),
 * apart so that regress/tls can drive them with real handshakes.
 *
 * Who owns what:
 *
 * - struct tlsctx holds one server context (tls_server()) and the
 *   tls_config it was configured with, both made by tlsctx_set() and
 *   freed together by tlsctx_release() when the last reference goes.
 *   The references: one while it is the current context (dropped by
 *   the tlsctx_set() that replaces it, or by tlsctx_clear()), and one
 *   per session accepted from it (dropped by session_close() through
 *   tlsctx_release(), after it freed the session's own struct tls).
 *
 * - What still points at the server context: every connection that
 *   tls_accept_socket() made from it.  libtls gives the server struct
 *   tls to OpenSSL as the argument of the server name callback
 *   (SSL_CTX_set_tlsext_servername_arg), read during the ClientHello,
 *   which comes after the accept, perhaps after a reload.  Freeing it
 *   while a handshake is ahead is a use after free that any caller of
 *   the TCP port can trigger with a server name; hence the references.
 *
 * - The tls_config is reference-counted by libtls itself:
 *   tls_configure() takes a reference for the context it configures,
 *   tls_free() of that context drops it.  A client session's struct
 *   tls (tlsctx_connect()) holds its own reference, so a client needs
 *   no reference to the struct tlsctx; ours is the one in the struct.
 *
 * - The struct tls of a session belongs to the session: session_close()
 *   frees it (tls_free()), which also frees the SSL object; OpenSSL's
 *   SSL_CTX is reference-counted by OpenSSL for the SSL objects.
 *
 * A reload that brings the same certificate and key keeps the current
 * context: nothing is rebuilt, and nothing can be freed under a
 * handshake in progress.  The comparison is on SHA-256 digests of the
 * certificate and of the key (no copy of the key is kept for it); they
 * are the only inputs, the protocol and verification settings being
 * fixed here.
 */

struct tlsctx {
	struct tls		*srv;	/* tls_server(), configured with cfg */
	struct tls_config	*cfg;	/* also what clients are configured with */
	uint8_t			 certmd[SHA256_DIGEST_LENGTH];
	uint8_t			 keymd[SHA256_DIGEST_LENGTH];
	int			 refs;	/* current: 1, plus one per session */
};

static struct tlsctx	*tls_cur;

static int
tlsctx_digest(const uint8_t *p, size_t len, uint8_t *md)
{
	unsigned int	 mdlen;

	if (EVP_Digest(p, len, md, &mdlen, EVP_sha256(), NULL) != 1)
		return (-1);
	return (0);
}

/*
 * Certificates are self-signed and pinned: the chain is not verified,
 * the peer's certificate hash is compared with the configured one once
 * the handshake is done.  The certificate doubles as the CA so that the
 * library never looks for a CA file outside the chroot.
 */
int
tlsctx_set(const uint8_t *cert, size_t certlen, const uint8_t *key,
    size_t keylen)
{
	struct tlsctx		*c;
	uint8_t			 certmd[SHA256_DIGEST_LENGTH];
	uint8_t			 keymd[SHA256_DIGEST_LENGTH];

	if (tlsctx_digest(cert, certlen, certmd) == -1 ||
	    tlsctx_digest(key, keylen, keymd) == -1) {
		log_warnx("%s: cannot hash the certificate or key", __func__);
		return (-1);
	}
	if (tls_cur != NULL &&
	    memcmp(tls_cur->certmd, certmd, sizeof(certmd)) == 0 &&
	    memcmp(tls_cur->keymd, keymd, sizeof(keymd)) == 0) {
		/* unchanged: sessions and callers go on with this one */
		explicit_bzero(keymd, sizeof(keymd));
		return (0);
	}

	if ((c = calloc(1, sizeof(*c))) == NULL)
		fatal("%s", __func__);
	memcpy(c->certmd, certmd, sizeof(c->certmd));
	memcpy(c->keymd, keymd, sizeof(c->keymd));
	explicit_bzero(keymd, sizeof(keymd));
	c->refs = 1;
	if ((c->cfg = tls_config_new()) == NULL) {
		log_warnx("%s: tls_config_new failed", __func__);
		goto fail;
	}
	if (tls_config_set_protocols(c->cfg, TLS_PROTOCOL_TLSv1_3) == -1 ||
	    tls_config_set_keypair_mem(c->cfg, cert, certlen, key, keylen) ==
	    -1 || tls_config_set_ca_mem(c->cfg, cert, certlen) == -1) {
		log_warnx("%s: %s", __func__, tls_config_error(c->cfg));
		goto fail;
	}
	tls_config_insecure_noverifycert(c->cfg);
	tls_config_insecure_noverifyname(c->cfg);
	tls_config_verify_client(c->cfg);

	if ((c->srv = tls_server()) == NULL)
		fatalx("%s: tls_server", __func__);
	if (tls_configure(c->srv, c->cfg) == -1) {
		log_warnx("%s: %s", __func__, tls_error(c->srv));
		goto fail;
	}

	/* handshakes in progress keep the context they were accepted from */
	tlsctx_release(tls_cur);
	tls_cur = c;
	return (0);
 fail:
	/* the current context, if any, stays: a reload is all or nothing */
	tlsctx_release(c);
	return (-1);
}

/* True once a certificate and key are in place. */
int
tlsctx_ready(void)
{
	return (tls_cur != NULL);
}

/*
 * The server side of a connection accepted on fd, made from the current
 * context.  *ref is a reference to that context, which the session
 * gives back to tlsctx_release() once it freed *conn; NULL on error.
 */
int
tlsctx_accept(int fd, struct tls **conn, struct tlsctx **ref,
    const char **why)
{
	*conn = NULL;
	*ref = NULL;
	if (tls_cur == NULL) {
		*why = "no certificate";
		return (-1);
	}
	if (tls_accept_socket(tls_cur->srv, conn, fd) == -1) {
		/* valid until the next call on the current context */
		*why = tls_error(tls_cur->srv);
		return (-1);
	}
	tls_cur->refs++;
	*ref = tls_cur;
	return (0);
}

/*
 * The client side of a connection to a peer on fd.  *conn belongs to
 * the caller even on error; it holds its own reference to the
 * configuration, none to the struct tlsctx.
 */
int
tlsctx_connect(int fd, struct tls **conn, const char **why)
{
	if ((*conn = tls_client()) == NULL)
		fatalx("%s: tls_client", __func__);
	if (tls_cur == NULL) {
		*why = "no certificate";
		return (-1);
	}
	if (tls_configure(*conn, tls_cur->cfg) == -1 ||
	    tls_connect_socket(*conn, fd, NULL) == -1) {
		*why = tls_error(*conn);
		return (-1);
	}
	return (0);
}

/* Drops a reference; the last one frees the context.  NULL is none. */
void
tlsctx_release(struct tlsctx *c)
{
	if (c == NULL)
		return;
	if (c->refs <= 0)
		fatalx("%s: context released once too often", __func__);
	if (--c->refs > 0)
		return;
	if (c->srv != NULL)
		tls_free(c->srv);
	/* the configuration goes with its last user (see above) */
	if (c->cfg != NULL)
		tls_config_free(c->cfg);
	explicit_bzero(c, sizeof(*c));
	free(c);
}

/*
 * The current context loses its reference, as at exit; those still in
 * use by sessions go with their last session.
 */
void
tlsctx_clear(void)
{
	tlsctx_release(tls_cur);
	tls_cur = NULL;
}

/*
 * Which of two established sessions with the same peer to keep: 1 the
 * newer, 0 the older.  Here rather than in session.c so that a unit
 * test links it alone.
 *
 * Both ends must keep the same one when both see both sessions, so
 * the choice rests only on what both ends hold alike: the instance
 * ids of the two sites (exchanged in HELLO) and which of them opened
 * each session.  Nothing local (an age, a clock, the order in which the
 * two sessions came up) takes part: near the edge of such a test the
 * two ends decided differently and closed both sessions.
 *
 * - The peer's instance differs: the peer restarted and holds only
 *   the newer one.
 * - The same side opened both: a side connects only while it has no
 *   session with the peer, so it lost the older one and holds only the
 *   newer one (the older is half-open here).
 * - Each side opened one, as when both connect at once: the one opened
 *   by the side with the lower instance id, as both can tell.
 */
int
session_keep_newer(uint64_t old_peer_instance, uint64_t new_peer_instance,
    uint64_t old_opener, uint64_t new_opener)
{
	if (old_peer_instance != new_peer_instance)
		return (1);
	if (old_opener == new_opener)
		return (1);
	return (new_opener < old_opener);
}
