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

#include "marconid.h"
#include "pipe.h"

/*
 * The libtls contexts of an uplink process's sessions (session.c),
 * apart so that regress/tls can drive them with real handshakes.
 */

static struct tls_config *tls_cfg;
static struct tls	*tls_srv;

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
	struct tls_config	*cfg;
	struct tls		*srv;

	if ((cfg = tls_config_new()) == NULL) {
		log_warnx("%s: tls_config_new failed", __func__);
		return (-1);
	}
	if (tls_config_set_protocols(cfg, TLS_PROTOCOL_TLSv1_3) == -1 ||
	    tls_config_set_keypair_mem(cfg, cert, certlen, key, keylen) ==
	    -1 || tls_config_set_ca_mem(cfg, cert, certlen) == -1) {
		log_warnx("%s: %s", __func__, tls_config_error(cfg));
		tls_config_free(cfg);
		return (-1);
	}
	tls_config_insecure_noverifycert(cfg);
	tls_config_insecure_noverifyname(cfg);
	tls_config_verify_client(cfg);

	if ((srv = tls_server()) == NULL)
		fatalx("%s: tls_server", __func__);
	if (tls_configure(srv, cfg) == -1) {
		log_warnx("%s: %s", __func__, tls_error(srv));
		tls_free(srv);
		tls_config_free(cfg);
		return (-1);
	}

	/* sessions in progress keep the contexts they were made with */
	if (tls_srv != NULL)
		tls_free(tls_srv);
	if (tls_cfg != NULL)
		tls_config_free(tls_cfg);
	tls_srv = srv;
	tls_cfg = cfg;
	return (0);
}

/* True once a certificate and key are in place. */
int
tlsctx_ready(void)
{
	return (tls_srv != NULL);
}

/*
 * The server side of a connection accepted on fd.  *ref is what the
 * session gives back to tlsctx_release() when it is done.
 */
int
tlsctx_accept(int fd, struct tls **conn, struct tlsctx **ref,
    const char **why)
{
	*conn = NULL;
	*ref = NULL;
	if (tls_srv == NULL) {
		*why = "no certificate";
		return (-1);
	}
	if (tls_accept_socket(tls_srv, conn, fd) == -1) {
		*why = tls_error(tls_srv);
		return (-1);
	}
	return (0);
}

/* The client side of a connection to a peer on fd. */
int
tlsctx_connect(int fd, struct tls **conn, const char **why)
{
	if ((*conn = tls_client()) == NULL)
		fatalx("%s: tls_client", __func__);
	if (tls_cfg == NULL) {
		*why = "no certificate";
		return (-1);
	}
	if (tls_configure(*conn, tls_cfg) == -1 ||
	    tls_connect_socket(*conn, fd, NULL) == -1) {
		*why = tls_error(*conn);
		return (-1);
	}
	return (0);
}

void
tlsctx_release(struct tlsctx *ref)
{
}

/* Everything goes, as at exit; sessions must be gone. */
void
tlsctx_clear(void)
{
	if (tls_srv != NULL)
		tls_free(tls_srv);
	if (tls_cfg != NULL)
		tls_config_free(tls_cfg);
	tls_srv = NULL;
	tls_cfg = NULL;
}
