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
 * Unit tests of the TLS contexts of an uplink process (tlsctx.c) with
 * real libtls handshakes over socketpairs.  A connection is accepted,
 * the certificate is loaded again (a reload) unchanged or changed, and
 * only then does the caller's ClientHello come, with a server name or
 * without.  libtls keeps the server context as the argument of its
 * server name callback: a context freed by the reload is read there.
 * Run them under valgrind (make check-valgrind) to see such a read.
 *
 * keep_newer checks session_keep_newer(), the choice between two
 * sessions with one peer, a pure function that lives in tlsctx.c.
 *
 * The certificates are made here with libcrypto: self-signed P-256,
 * as the sites' own (regress/e2e/topology.sh, site_identity).
 */

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <netinet/in.h>

#include <atf-c.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <tls.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "marconid.h"
#include "pipe.h"

#define HANDSHAKE_ROUNDS	200	/* steps of a handshake, at most */
#define POLL_MS			100	/* a step's wait for the other side */

struct ident {
	uint8_t		*cert;
	size_t		 certlen;
	uint8_t		*key;
	size_t		 keylen;
};

static void
bio_take(BIO *b, uint8_t **p, size_t *len)
{
	char	*data;
	long	 n;

	n = BIO_get_mem_data(b, &data);
	ATF_REQUIRE(n > 0);
	ATF_REQUIRE((*p = malloc(n)) != NULL);
	memcpy(*p, data, n);
	*len = n;
}

/* A self-signed certificate and its key, PEM, named cn, of a type. */
static void
ident_make_type(struct ident *id, const char *cn, int type)
{
	EVP_PKEY_CTX	*pctx;
	EVP_PKEY	*pkey = NULL;
	X509		*x;
	X509_NAME	*name;
	BIO		*b;

	ATF_REQUIRE((pctx = EVP_PKEY_CTX_new_id(type, NULL)) != NULL);
	ATF_REQUIRE(EVP_PKEY_keygen_init(pctx) == 1);
	if (type == EVP_PKEY_EC)
		ATF_REQUIRE(EVP_PKEY_CTX_set_ec_paramgen_curve_nid(pctx,
		    NID_X9_62_prime256v1) == 1);
	if (type == EVP_PKEY_RSA)
		ATF_REQUIRE(EVP_PKEY_CTX_set_rsa_keygen_bits(pctx, 2048) == 1);
	ATF_REQUIRE(EVP_PKEY_keygen(pctx, &pkey) == 1);
	EVP_PKEY_CTX_free(pctx);

	ATF_REQUIRE((x = X509_new()) != NULL);
	ATF_REQUIRE(X509_set_version(x, 2) == 1);
	ATF_REQUIRE(ASN1_INTEGER_set(X509_get_serialNumber(x),
	    arc4random() & 0x7fffffff) == 1);
	ATF_REQUIRE(X509_gmtime_adj(X509_getm_notBefore(x), -3600) != NULL);
	ATF_REQUIRE(X509_gmtime_adj(X509_getm_notAfter(x), 86400) != NULL);
	name = X509_get_subject_name(x);
	ATF_REQUIRE(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0) == 1);
	ATF_REQUIRE(X509_set_issuer_name(x, name) == 1);
	ATF_REQUIRE(X509_set_pubkey(x, pkey) == 1);
	/* Ed25519 signs without a separate digest */
	ATF_REQUIRE(X509_sign(x, pkey, type == EVP_PKEY_ED25519 ? NULL :
	    EVP_sha256()) > 0);

	ATF_REQUIRE((b = BIO_new(BIO_s_mem())) != NULL);
	ATF_REQUIRE(PEM_write_bio_X509(b, x) == 1);
	bio_take(b, &id->cert, &id->certlen);
	BIO_free(b);
	ATF_REQUIRE((b = BIO_new(BIO_s_mem())) != NULL);
	ATF_REQUIRE(PEM_write_bio_PrivateKey(b, pkey, NULL, NULL, 0, NULL,
	    NULL) == 1);
	bio_take(b, &id->key, &id->keylen);
	BIO_free(b);
	X509_free(x);
	EVP_PKEY_free(pkey);
}

/* P-256, as the sites' own (regress/e2e/topology.sh, site_identity) */
static void
ident_make(struct ident *id, const char *cn)
{
	ident_make_type(id, cn, EVP_PKEY_EC);
}

static void
ident_free(struct ident *id)
{
	free(id->cert);
	free(id->key);
}

/*
 * The peer's side: a client with its own certificate, as a site that
 * connects, sending a server name or none.
 */
static struct tls *
peer_connect(int fd, const struct ident *id, const char *servername)
{
	struct tls_config	*cfg;
	struct tls		*cli;

	ATF_REQUIRE((cfg = tls_config_new()) != NULL);
	ATF_REQUIRE(tls_config_set_protocols(cfg, TLS_PROTOCOL_TLSv1_3) == 0);
	ATF_REQUIRE(tls_config_set_keypair_mem(cfg, id->cert, id->certlen,
	    id->key, id->keylen) == 0);
	tls_config_insecure_noverifycert(cfg);
	tls_config_insecure_noverifyname(cfg);
	ATF_REQUIRE((cli = tls_client()) != NULL);
	ATF_REQUIRE(tls_configure(cli, cfg) == 0);
	/* the client holds a reference of its own */
	tls_config_free(cfg);
	ATF_REQUIRE_MSG(tls_connect_socket(cli, fd, servername) == 0, "%s",
	    tls_error(cli));
	return (cli);
}

/*
 * Both sides of one handshake, a step each in turn, on non-blocking
 * sockets; bounded in steps and, through poll, in time.
 */
static void
handshake(struct tls *srv, int sfd, struct tls *cli, int cfd)
{
	struct pollfd	 pfd[2];
	int		 i, rs = -2, rc = -2;

	for (i = 0; i < HANDSHAKE_ROUNDS; i++) {
		if (rs != 0) {
			rs = tls_handshake(srv);
			ATF_REQUIRE_MSG(rs != -1, "server: %s", tls_error(srv));
		}
		if (rc != 0) {
			rc = tls_handshake(cli);
			ATF_REQUIRE_MSG(rc != -1, "client: %s", tls_error(cli));
		}
		if (rs == 0 && rc == 0)
			return;
		pfd[0].fd = sfd;
		pfd[0].events = rs == TLS_WANT_POLLOUT ? POLLOUT : POLLIN;
		pfd[1].fd = cfd;
		pfd[1].events = rc == TLS_WANT_POLLOUT ? POLLOUT : POLLIN;
		(void)poll(pfd, 2, POLL_MS);
	}
	atf_tc_fail("no handshake after %d steps", HANDSHAKE_ROUNDS);
}

static void
pair(int sv[2])
{
	ATF_REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0,
	    sv) == 0);
}

/*
 * Accept, reload (with the same certificate and key, or with new ones
 * when changed), then the peer's ClientHello.  The handshake must go
 * through with the certificate of the context the connection was
 * accepted from, and a connection accepted after the reload must get
 * the new one.
 */
static void
accept_reload_hello(int changed, const char *servername)
{
	struct ident	 a, b, peer;
	struct tls	*conn, *cli, *conn2, *cli2;
	struct tlsctx	*ref, *ref2;
	const char	*why;
	char		 ha[128], hb[128];
	int		 sv[2], sv2[2];

	ident_make(&a, "site-a");
	ident_make(&b, "site-a-new");
	ident_make(&peer, "site-b");
	ATF_REQUIRE(tlsctx_set(a.cert, a.certlen, a.key, a.keylen) == 0);

	pair(sv);
	ATF_REQUIRE_MSG(tlsctx_accept(sv[0], &conn, &ref, &why) == 0, "%s",
	    why);

	if (changed)
		ATF_REQUIRE(tlsctx_set(b.cert, b.certlen, b.key,
		    b.keylen) == 0);
	else
		ATF_REQUIRE(tlsctx_set(a.cert, a.certlen, a.key,
		    a.keylen) == 0);

	cli = peer_connect(sv[1], &peer, servername);
	handshake(conn, sv[0], cli, sv[1]);
	ATF_REQUIRE(tls_peer_cert_provided(cli));
	strlcpy(ha, tls_peer_cert_hash(cli), sizeof(ha));
	ATF_REQUIRE(tls_peer_cert_provided(conn));

	/* a caller after the reload */
	pair(sv2);
	ATF_REQUIRE_MSG(tlsctx_accept(sv2[0], &conn2, &ref2, &why) == 0,
	    "%s", why);
	cli2 = peer_connect(sv2[1], &peer, servername);
	handshake(conn2, sv2[0], cli2, sv2[1]);
	strlcpy(hb, tls_peer_cert_hash(cli2), sizeof(hb));
	/* the same inputs keep the context, new ones make another */
	ATF_CHECK(ref != NULL && ref2 != NULL);
	if (changed)
		ATF_CHECK(ref != ref2);
	else
		ATF_CHECK(ref == ref2);
	if (changed)
		ATF_CHECK_MSG(strcmp(ha, hb) != 0, "the new certificate is "
		    "not used after the reload: %s", hb);
	else
		ATF_CHECK_STREQ(ha, hb);

	/* as session_close(): the connection first, then its context */
	tls_free(cli);
	tls_free(conn);
	tlsctx_release(ref);
	tls_free(cli2);
	tls_free(conn2);
	tlsctx_release(ref2);
	tlsctx_clear();
	close(sv[0]);
	close(sv[1]);
	close(sv2[0]);
	close(sv2[1]);
	ident_free(&a);
	ident_free(&b);
	ident_free(&peer);
}

ATF_TC(reload_same_sni);
ATF_TC_HEAD(reload_same_sni, tc)
{
	atf_tc_set_md_var(tc, "descr", "A ClientHello with a server name "
	    "after a reload with the same certificate and key");
}
ATF_TC_BODY(reload_same_sni, tc)
{
	accept_reload_hello(0, "site-a.example");
}

ATF_TC(reload_same_nosni);
ATF_TC_HEAD(reload_same_nosni, tc)
{
	atf_tc_set_md_var(tc, "descr", "A ClientHello without a server "
	    "name after a reload with the same certificate and key");
}
ATF_TC_BODY(reload_same_nosni, tc)
{
	accept_reload_hello(0, NULL);
}

ATF_TC(reload_changed_sni);
ATF_TC_HEAD(reload_changed_sni, tc)
{
	atf_tc_set_md_var(tc, "descr", "A ClientHello with a server name "
	    "after a reload with a new certificate and key");
}
ATF_TC_BODY(reload_changed_sni, tc)
{
	accept_reload_hello(1, "site-a.example");
}

ATF_TC(reload_changed_nosni);
ATF_TC_HEAD(reload_changed_nosni, tc)
{
	atf_tc_set_md_var(tc, "descr", "A ClientHello without a server "
	    "name after a reload with a new certificate and key");
}
ATF_TC_BODY(reload_changed_nosni, tc)
{
	accept_reload_hello(1, NULL);
}

/*
 * The choice between two sessions with one peer: the same at both
 * ends, whichever came up first at each, from shared values only.
 */
ATF_TC(keep_newer);
ATF_TC_HEAD(keep_newer, tc)
{
	atf_tc_set_md_var(tc, "descr", "Both ends keep the same one of two "
	    "sessions, whatever order they came up in at each end");
}
ATF_TC_BODY(keep_newer, tc)
{
	const uint64_t	 x = 0x1111, y = 0x9999, y2 = 0x5555;

	/*
	 * Both connect at once: at end x the session x opened is older,
	 * at end y the one y opened.  The one opened by the lower
	 * instance (x) is kept at both ends, in either order.
	 */
	/* at x: older opened by x, newer by y; the peer is y */
	ATF_CHECK_EQ(session_keep_newer(y, y, x, y), 0);
	/* at x: older opened by y, newer by x */
	ATF_CHECK_EQ(session_keep_newer(y, y, y, x), 1);
	/* at y: older opened by x, newer by y; the peer is x */
	ATF_CHECK_EQ(session_keep_newer(x, x, x, y), 0);
	/* at y: older opened by y, newer by x */
	ATF_CHECK_EQ(session_keep_newer(x, x, y, x), 1);

	/* the same side opened both: it lost the older */
	ATF_CHECK_EQ(session_keep_newer(y, y, y, y), 1);
	ATF_CHECK_EQ(session_keep_newer(y, y, x, x), 1);

	/* the peer restarted: only the newer exists over there */
	ATF_CHECK_EQ(session_keep_newer(y, y2, x, y2), 1);
	ATF_CHECK_EQ(session_keep_newer(y, y2, y, x), 1);
}

/*
 * Leaves (tlsctx.c): the parent issues each uplink process a leaf
 * signed with the site's key; a peer pins the site's certificate and
 * accepts the leaf it signs, nothing else.
 */

/* "SHA256:" and the hex of SHA-256 over the DER of the first cert */
static void
pem_fingerprint(const uint8_t *pem, size_t len, char *buf, size_t buflen)
{
	uint8_t		 md[EVP_MAX_MD_SIZE];
	unsigned int	 mdlen, i;
	BIO		*b;
	X509		*x;

	ATF_REQUIRE((b = BIO_new_mem_buf(pem, len)) != NULL);
	ATF_REQUIRE((x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL);
	BIO_free(b);
	ATF_REQUIRE(X509_digest(x, EVP_sha256(), md, &mdlen) == 1);
	X509_free(x);
	strlcpy(buf, "SHA256:", buflen);
	for (i = 0; i < mdlen; i++)
		snprintf(buf + strlen(buf), buflen - strlen(buf), "%02x",
		    md[i]);
}

/* The length of the first certificate of a PEM chain. */
static size_t
pem_first_len(const uint8_t *pem, size_t len)
{
	const char	*end = "-----END CERTIFICATE-----\n";
	const uint8_t	*p;

	p = memmem(pem, len, end, strlen(end));
	ATF_REQUIRE(p != NULL);
	return (p - pem + strlen(end));
}

static struct tlsident *
ident_load(const struct ident *id)
{
	struct tlsident	*ti;
	char		 err[256];

	ti = tlsident_load(id->cert, id->certlen, id->key, id->keylen, err,
	    sizeof(err));
	ATF_REQUIRE_MSG(ti != NULL, "tlsident_load: %s", err);
	return (ti);
}

/* A leaf issued at now by site id, as the parent does. */
static void
leaf_issue(const struct ident *site, time_t now, struct ident *leaf)
{
	struct tlsident	*ti = ident_load(site);

	ATF_REQUIRE(tlsident_issue(ti, now, &leaf->cert, &leaf->certlen,
	    &leaf->key, &leaf->keylen) == 0);
	tlsident_free(ti);
}

static int
pinned_eq(const char *fpr, void *arg)
{
	return (strcmp(fpr, (const char *)arg) == 0);
}

/*
 * Site A serves with a leaf of its own (tlsctx_set(), as an uplink
 * process does); the peer presents what it is given (a leaf and its
 * chain, or a bad one).  Both sides then judge each other: the peer's
 * presentation against pin, A's leaf against A's site certificate.
 * Returns what the server side said of the peer, with its reason.
 */
static int
judge(const struct ident *peer, const char *pin, char *fpr,
    size_t fprlen, char *why, size_t whylen)
{
	struct ident	 a, aleaf;
	struct tls	*conn, *cli;
	struct tlsctx	*ref;
	const char	*err;
	char		 fpra[128], got[128], w[320];
	int		 sv[2], ret;

	ident_make(&a, "site-a");
	leaf_issue(&a, time(NULL), &aleaf);
	pem_fingerprint(a.cert, a.certlen, fpra, sizeof(fpra));
	ATF_REQUIRE(tlsctx_set(aleaf.cert, aleaf.certlen, aleaf.key,
	    aleaf.keylen) == 0);

	pair(sv);
	ATF_REQUIRE_MSG(tlsctx_accept(sv[0], &conn, &ref, &err) == 0, "%s",
	    err);
	cli = peer_connect(sv[1], peer, NULL);
	handshake(conn, sv[0], cli, sv[1]);

	/* what A presents: its leaf, not its site certificate, pinned */
	ATF_CHECK(strcmp(tls_peer_cert_hash(cli), fpra) != 0);
	ATF_CHECK_MSG(tlsctx_verify_peer(cli, time(NULL), pinned_eq, fpra,
	    got, sizeof(got), w, sizeof(w)) == 0, "A's leaf refused: %s", w);
	ATF_CHECK_STREQ(got, fpra);

	ret = tlsctx_verify_peer(conn, time(NULL), pinned_eq,
	    (void *)(uintptr_t)pin, fpr, fprlen, why, whylen);

	tls_free(cli);
	tls_free(conn);
	tlsctx_release(ref);
	tlsctx_clear();
	close(sv[0]);
	close(sv[1]);
	ident_free(&a);
	ident_free(&aleaf);
	return (ret);
}

ATF_TC(leaf_accepted);
ATF_TC_HEAD(leaf_accepted, tc)
{
	atf_tc_set_md_var(tc, "descr", "A peer presenting a leaf its site "
	    "key signed, with the site certificate, is accepted under the "
	    "site certificate's fingerprint, unchanged");
}
ATF_TC_BODY(leaf_accepted, tc)
{
	struct ident	 b, bleaf;
	char		 fprb[128], got[128], why[320];

	ident_make(&b, "site-b");
	leaf_issue(&b, time(NULL), &bleaf);
	pem_fingerprint(b.cert, b.certlen, fprb, sizeof(fprb));
	ATF_REQUIRE_MSG(judge(&bleaf, fprb, got, sizeof(got), why,
	    sizeof(why)) == 0, "refused: %s", why);
	ATF_CHECK_STREQ(got, fprb);
	ident_free(&b);
	ident_free(&bleaf);
}

ATF_TC(leaf_other_site_keys);
ATF_TC_HEAD(leaf_other_site_keys, tc)
{
	atf_tc_set_md_var(tc, "descr", "A site key of RSA or Ed25519 "
	    "issues leaves that a peer accepts, and that one of another "
	    "key does not replace");
}
ATF_TC_BODY(leaf_other_site_keys, tc)
{
	const int	 types[] = { EVP_PKEY_RSA, EVP_PKEY_ED25519 };
	struct ident	 b, bleaf, x;
	char		 fprb[128], got[128], why[320];
	size_t		 i;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		ident_make_type(&b, "site-b", types[i]);
		leaf_issue(&b, time(NULL), &bleaf);
		pem_fingerprint(b.cert, b.certlen, fprb, sizeof(fprb));
		ATF_CHECK_MSG(judge(&bleaf, fprb, got, sizeof(got), why,
		    sizeof(why)) == 0, "type %d refused: %s", types[i], why);
		ATF_CHECK_STREQ(got, fprb);
		ident_free(&bleaf);
		/* the same name, another key of the type */
		ident_make_type(&x, "site-b", types[i]);
		leaf_issue(&x, time(NULL), &bleaf);
		pem_fingerprint(x.cert, x.certlen, got, sizeof(got));
		ATF_CHECK(judge(&bleaf, fprb, got, sizeof(got), why,
		    sizeof(why)) == -1);
		ident_free(&bleaf);
		ident_free(&x);
		ident_free(&b);
	}
}

ATF_TC(site_cert_accepted);
ATF_TC_HEAD(site_cert_accepted, tc)
{
	atf_tc_set_md_var(tc, "descr", "A peer presenting its pinned site "
	    "certificate itself, as before leaves, is accepted");
}
ATF_TC_BODY(site_cert_accepted, tc)
{
	struct ident	 b;
	char		 fprb[128], got[128], why[320];

	ident_make(&b, "site-b");
	pem_fingerprint(b.cert, b.certlen, fprb, sizeof(fprb));
	ATF_REQUIRE_MSG(judge(&b, fprb, got, sizeof(got), why,
	    sizeof(why)) == 0, "refused: %s", why);
	ATF_CHECK_STREQ(got, fprb);
	ident_free(&b);
}

ATF_TC(leaf_other_signer);
ATF_TC_HEAD(leaf_other_signer, tc)
{
	atf_tc_set_md_var(tc, "descr", "A leaf signed by another key, "
	    "presented with the pinned certificate, is refused");
}
ATF_TC_BODY(leaf_other_signer, tc)
{
	struct ident	 b, x, xleaf, forged;
	size_t		 n;
	char		 fprb[128], got[128], why[320];

	ident_make(&b, "site-b");
	/* the same name as site B, another key */
	ident_make(&x, "site-b");
	leaf_issue(&x, time(NULL), &xleaf);
	pem_fingerprint(b.cert, b.certlen, fprb, sizeof(fprb));

	/* X's leaf, then B's certificate: B's chain, but not B's leaf */
	n = pem_first_len(xleaf.cert, xleaf.certlen);
	forged.certlen = n + b.certlen;
	ATF_REQUIRE((forged.cert = malloc(forged.certlen)) != NULL);
	memcpy(forged.cert, xleaf.cert, n);
	memcpy(forged.cert + n, b.cert, b.certlen);
	forged.key = xleaf.key;
	forged.keylen = xleaf.keylen;

	ATF_CHECK(judge(&forged, fprb, got, sizeof(got), why,
	    sizeof(why)) == -1);
	ATF_CHECK_MSG(strstr(why, "not signed by") != NULL, "%s", why);

	/* the real one passes the same way: the test can tell them apart */
	free(forged.cert);
	ident_free(&xleaf);
	leaf_issue(&b, time(NULL), &xleaf);
	ATF_CHECK_MSG(judge(&xleaf, fprb, got, sizeof(got), why,
	    sizeof(why)) == 0, "%s", why);
	ident_free(&b);
	ident_free(&x);
	ident_free(&xleaf);
}

ATF_TC(leaf_unpinned);
ATF_TC_HEAD(leaf_unpinned, tc)
{
	atf_tc_set_md_var(tc, "descr", "A leaf alone, or with its own "
	    "site's certificate, from a site that is not pinned, is "
	    "refused");
}
ATF_TC_BODY(leaf_unpinned, tc)
{
	struct ident	 b, c, cleaf, alone;
	char		 fprb[128], got[128], why[320];

	ident_make(&b, "site-b");
	ident_make(&c, "site-c");
	leaf_issue(&c, time(NULL), &cleaf);
	pem_fingerprint(b.cert, b.certlen, fprb, sizeof(fprb));

	ATF_CHECK(judge(&cleaf, fprb, got, sizeof(got), why,
	    sizeof(why)) == -1);
	ATF_CHECK_MSG(strstr(why, "matches no configured fingerprint") !=
	    NULL, "%s", why);

	/* the leaf alone */
	alone = cleaf;
	alone.certlen = pem_first_len(cleaf.cert, cleaf.certlen);
	ATF_CHECK(judge(&alone, fprb, got, sizeof(got), why,
	    sizeof(why)) == -1);
	ATF_CHECK_MSG(strstr(why, "matches no configured fingerprint") !=
	    NULL, "%s", why);

	ident_free(&b);
	ident_free(&c);
	ident_free(&cleaf);
}

ATF_TC(leaf_expired);
ATF_TC_HEAD(leaf_expired, tc)
{
	atf_tc_set_md_var(tc, "descr", "A leaf past its validity, or not "
	    "valid yet, is refused though the pinned key signed it");
}
ATF_TC_BODY(leaf_expired, tc)
{
	struct ident	 b, old, future;
	char		 fprb[128], got[128], why[320], leafh[128];
	time_t		 now = time(NULL);

	ident_make(&b, "site-b");
	pem_fingerprint(b.cert, b.certlen, fprb, sizeof(fprb));

	/* issued a second more than its lifetime ago */
	leaf_issue(&b, now - LEAF_LIFETIME - 1, &old);
	ATF_CHECK(judge(&old, fprb, got, sizeof(got), why,
	    sizeof(why)) == -1);
	ATF_CHECK_MSG(strstr(why, "expired") != NULL, "%s", why);

	/* issued further ahead than it is backdated */
	leaf_issue(&b, now + LEAF_BACKDATE + 3600, &future);
	ATF_CHECK(judge(&future, fprb, got, sizeof(got), why,
	    sizeof(why)) == -1);
	ATF_CHECK_MSG(strstr(why, "not valid yet") != NULL, "%s", why);

	/* the same leaf a minute before it expired was good */
	pem_fingerprint(old.cert, old.certlen, leafh, sizeof(leafh));
	ATF_CHECK_MSG(tlsctx_verify_chain(old.cert, old.certlen, leafh,
	    now - 60, pinned_eq, fprb, got, sizeof(got), why,
	    sizeof(why)) == 0, "%s", why);
	ATF_CHECK(tlsctx_verify_chain(old.cert, old.certlen, leafh, now,
	    pinned_eq, fprb, got, sizeof(got), why, sizeof(why)) == -1);
	ident_free(&b);
	ident_free(&old);
	ident_free(&future);
}

ATF_TC(ident_mismatch);
ATF_TC_HEAD(ident_mismatch, tc)
{
	atf_tc_set_md_var(tc, "descr", "The parent refuses a key that is "
	    "not its certificate's, and a key that is not PEM");
}
ATF_TC_BODY(ident_mismatch, tc)
{
	struct ident	 b, c;
	char		 err[256];

	ident_make(&b, "site-b");
	ident_make(&c, "site-c");
	ATF_CHECK(tlsident_load(b.cert, b.certlen, c.key, c.keylen, err,
	    sizeof(err)) == NULL);
	ATF_CHECK_MSG(strstr(err, "not the certificate's") != NULL, "%s",
	    err);
	ATF_CHECK(tlsident_load(b.cert, b.certlen,
	    (const uint8_t *)"garbage", 7, err, sizeof(err)) == NULL);
	ident_free(&b);
	ident_free(&c);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, leaf_accepted);
	ATF_TP_ADD_TC(tp, site_cert_accepted);
	ATF_TP_ADD_TC(tp, leaf_other_site_keys);
	ATF_TP_ADD_TC(tp, leaf_other_signer);
	ATF_TP_ADD_TC(tp, leaf_unpinned);
	ATF_TP_ADD_TC(tp, leaf_expired);
	ATF_TP_ADD_TC(tp, ident_mismatch);
	ATF_TP_ADD_TC(tp, reload_same_sni);
	ATF_TP_ADD_TC(tp, reload_same_nosni);
	ATF_TP_ADD_TC(tp, reload_changed_sni);
	ATF_TP_ADD_TC(tp, reload_changed_nosni);
	ATF_TP_ADD_TC(tp, keep_newer);
	return (0);
}
