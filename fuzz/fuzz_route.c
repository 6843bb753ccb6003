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
 * The routing decision of a tun (marconid/route.c): a table of peers'
 * networks, then a packet from the device or from a peer, as anybody
 * behind a site or a peer may send it.  The input:
 *
 *	[n][n x (family, prefix length, 4 address bytes, peer)]
 *	[from][flags][packet ...]
 *
 * family even is IPv4, odd IPv6 (the 4 bytes then lead an address
 * whose other bytes are zero; the prefix length is taken modulo 129);
 * entries that route.c refuses (host bits, a prefix owned already)
 * are left out of the reference too; peers are 1 to 8, from 0 (the
 * device) to 8.  route_decide() must agree with a brute-force longest
 * match over the same entries: a packet goes only to the owner of its
 * destination, is accepted from a peer only with a source of its own,
 * is never relayed back where it came from nor relayed twice.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "marconid.h"
#include "fuzz.h"

#define MAX_ENTRIES	64
#define ENTRY_LEN	7

struct ref {
	int		 af;
	uint8_t		 plen;
	uint8_t		 addr[16];
	uint32_t	 peer;
};

static struct ref	 refs[MAX_ENTRIES];
static int		 nrefs;

/* the owner by longest match, 0 if none, and its prefix length */
static uint32_t
ref_owner(int af, const uint8_t *a, int *plen)
{
	int	 i, best = -1;

	for (i = 0; i < nrefs; i++)
		if (refs[i].af == af &&
		    route_prefix_holds(refs[i].addr, refs[i].plen, a) &&
		    (best == -1 || refs[i].plen > refs[best].plen))
			best = i;
	*plen = best == -1 ? -1 : refs[best].plen;
	return (best == -1 ? 0 : refs[best].peer);
}

static void
fail(const char *what, int verdict)
{
	fprintf(stderr, "route_decide: %s (verdict %s)\n", what,
	    route_verdict_name(verdict));
	abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rtable	 rt;
	struct route	*r;
	struct ref	 e;
	uint8_t		 src[16], dst[16];
	uint32_t	 from, to, owner, sowner;
	int		 n, i, j, flags, af, v, plen, splen;

	if (size < 1)
		return (0);
	n = data[0] % (MAX_ENTRIES + 1);
	data++;
	size--;

	rtable_init(&rt);
	nrefs = 0;
	for (i = 0; i < n && size >= ENTRY_LEN; i++) {
		memset(&e, 0, sizeof(e));
		e.af = data[0] & 1 ? AF_INET6 : AF_INET;
		e.plen = data[1] % (e.af == AF_INET ? 33 : 129);
		memcpy(e.addr, data + 2, 4);
		e.peer = 1 + data[6] % 8;
		data += ENTRY_LEN;
		size -= ENTRY_LEN;
		for (j = 0; j < nrefs; j++)
			if (refs[j].af == e.af && refs[j].plen == e.plen &&
			    memcmp(refs[j].addr, e.addr, 16) == 0)
				break;
		if (rtable_add(&rt, e.af, e.addr, e.plen, e.peer, 0,
		    NULL) != 0) {
			/* host bits, or the prefix has an owner already */
			if (!route_hostbits(e.af, e.addr, e.plen) &&
			    j == nrefs)
				fail("a good prefix refused", -1);
			continue;
		}
		if (route_hostbits(e.af, e.addr, e.plen) || j < nrefs)
			fail("a bad or owned prefix added", -1);
		refs[nrefs++] = e;
	}
	if (rt.n != (size_t)nrefs)
		fail("the table and the reference differ in size", -1);
	for (i = 1; i < (int)rt.n; i++)
		if (rt.r[i - 1].plen < rt.r[i].plen)
			fail("the table is not longest first", -1);

	if (size < 2)
		goto done;
	from = data[0] % 9;
	flags = data[1] & (ROUTE_RELAY_OK | ROUTE_RELAYED);
	data += 2;
	size -= 2;

	v = route_decide(&rt, from, flags, data, size, &to, &r);
	if ((af = route_pkt_addrs(data, size, src, dst)) == -1) {
		if (v != ROUTE_NOTIP)
			fail("not IP, but routed", v);
		goto done;
	}
	owner = ref_owner(af, dst, &plen);
	sowner = ref_owner(af, src, &splen);
	if (from == 0) {
		if (owner == 0 && v != ROUTE_NOROUTE)
			fail("to nobody's network, not dropped", v);
		if (owner != 0 && (v != ROUTE_PEER || to != owner ||
		    r == NULL || r->plen != plen || r->peer != owner))
			fail("not to the owner of the destination", v);
		goto done;
	}
	if (sowner != from) {
		if (v != ROUTE_SPOOF)
			fail("a source not the peer's accepted", v);
		goto done;
	}
	switch (v) {
	case ROUTE_LOCAL:
		if ((flags & ROUTE_RELAY_OK) && !(flags & ROUTE_RELAYED) &&
		    owner != 0 && owner != from)
			fail("not relayed to the owner", v);
		break;
	case ROUTE_RELAY:
		if (!(flags & ROUTE_RELAY_OK) || (flags & ROUTE_RELAYED))
			fail("relayed without leave, or twice", v);
		if (to == from || to != owner)
			fail("relayed back, or not to the owner", v);
		break;
	default:
		fail("from a peer: neither local nor relayed", v);
	}
 done:
	rtable_clear(&rt);
	return (0);
}
