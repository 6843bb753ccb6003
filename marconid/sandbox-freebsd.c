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
 * The sandbox of the engine and of the pipes on FreeBSD: capability
 * mode (capsicum(4)), entered after the child has chrooted, dropped
 * its privileges, made its event base (kqueue) and opened the syslog
 * socket.
 *
 * In capability mode a process has no global namespace left: it opens
 * no file and no path, binds and connects nothing, and cannot send to
 * an address; it works only with the descriptors it has and those it
 * receives (imsg's SCM_RIGHTS still works).  kevent(2), clock_gettime,
 * getrandom(2) for arc4random(3), read, write, recvmsg, sendmsg,
 * accept(2) on a listener it holds, and send(2) on a connected socket
 * remain.  What that means here:
 *
 * - The engine is fine: the tun/tap device, the control socket and
 *   the channels to the pipes all come from the parent.
 * - A pipe cannot connect(2) to a peer, nor sendto(2) or sendmsg(2)
 *   with a destination address (ECAPMODE).  Outgoing TCP connections,
 *   and UDP to each peer on a socket connected to it, need sockets
 *   that the parent opened (bound to the uplink, in its FIB) and
 *   passed down over imsg: that is the parent's job, and the pipe
 *   must not expect to make its own.
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
	case PROC_PIPE:
		break;
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
