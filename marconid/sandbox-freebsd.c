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
 * The sandbox of the engine on FreeBSD: capability mode (capsicum(4)),
 * entered after the child has chrooted, dropped its privileges, made
 * its event base (kqueue) and opened the syslog socket.
 *
 * In capability mode a process has no global namespace left: it opens
 * no file and no path, binds and connects nothing, and cannot send to
 * an address; it works only with the descriptors it has and those it
 * receives (imsg's SCM_RIGHTS still works).  kevent(2), clock_gettime,
 * getrandom(2) for arc4random(3), read, write, recvmsg, sendmsg
 * without an address, accept(2) on a listener it holds, and send(2)
 * on a connected socket remain.  What that means here:
 *
 * - The engine is fine: the tun/tap device, the control socket and
 *   the channels to the pipes all come from the parent.
 * - A pipe process does not enter capability mode.  It sends every
 *   datagram with sendmmsg(2) to the peer's address (msg_name), which
 *   capability mode refuses with ECAPMODE (sendit() in
 *   uipc_syscalls.c): no datagram would ever leave.  Sockets
 *   connected by the parent, one per peer, cannot stand in for it:
 *   the address a peer's datagrams come from, where the answers must
 *   go, changes when the peer roams or sits behind a NAT, and a
 *   passive pipe knows it only from the first datagram.  So on
 *   FreeBSD a pipe process keeps only the chroot to the empty home
 *   and the dropped privileges of child_privdrop(): code run in it
 *   can make sockets and send anywhere, but reads no file and gains
 *   no privilege (doc/threat-model.md, section 2).
 * - syslog(3) keeps its socket connected before the chroot; if
 *   syslogd restarts, it cannot reconnect and messages are lost.
 */

#include <sys/types.h>
#include <sys/capsicum.h>

#include <errno.h>

#include "marconid.h"

void
sandbox_init(enum marconid_process proc)
{
	switch (proc) {
	case PROC_ENGINE:
		break;
	case PROC_PIPE:
		/* sendmmsg() with an address: see above */
		log_debug("%s: pipe process without capability mode",
		    __func__);
		return;
	default:
		fatalx("%s: no sandbox for process %d", __func__, proc);
	}

	if (cap_enter() == -1) {
		/* a kernel without options CAPABILITY_MODE */
		if (errno == ENOSYS) {
			log_warnx("%s: no capability mode in this kernel, "
			    "running without a sandbox", __func__);
			return;
		}
		fatal("%s: cap_enter", __func__);
	}
}
