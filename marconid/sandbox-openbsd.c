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
 * The sandbox of the engine and of the pipes on OpenBSD: unveil(2) and
 * pledge(2), after the child has chrooted, dropped its privileges,
 * made its event base and opened the syslog socket.  Each promise says
 * why it is there.
 */

#include <sys/types.h>

#include <unistd.h>

#include "marconid.h"

void
sandbox_init(enum marconid_process proc)
{
	/*
	 * Nothing of the file system, not even the empty chroot: no
	 * path is unveiled, and the list is locked (pledge without
	 * "unveil" would lock it too).
	 */
	if (unveil("/", "") == -1)
		fatal("%s: unveil", __func__);
	if (unveil(NULL, NULL) == -1)
		fatal("%s: unveil lock", __func__);

	switch (proc) {
	case PROC_ENGINE:
		/*
		 * stdio: the event loop, the imsg channels, reading and
		 *   writing the tun/tap device, malloc(3), arc4random(3),
		 *   syslog(3), which is sendsyslog(2) and needs no socket.
		 * unix: accept(2) on the control socket handed over by the
		 *   parent; pledge allows accept only with "unix" or
		 *   "inet", whatever the socket.  Also getpeername(2) and
		 *   getsockname(2), and the socket options of the control
		 *   connections.
		 * recvfd: the tun/tap device, the control socket and the
		 *   channel to each pipe arrive over imsg.
		 */
		if (pledge("stdio unix recvfd", NULL) == -1)
			fatal("%s: pledge", __func__);
		break;
	case PROC_PIPE:
		/*
		 * stdio: as the engine, for the event loop, the imsg
		 *   channels and the datagrams on the UDP socket.
		 * inet: accept(2) on the TLS listener handed over by the
		 *   parent, socket(2) and connect(2) for the TCP connection
		 *   to a peer that did not connect first, and the socket
		 *   options of the UDP and TCP sockets.  (The routing table
		 *   of a new socket stays the process's: SO_RTABLE needs
		 *   root.)
		 * recvfd: the uplink's sockets and the channel to the
		 *   engine arrive over imsg.
		 */
		if (pledge("stdio inet recvfd", NULL) == -1)
			fatal("%s: pledge", __func__);
		break;
	default:
		fatalx("%s: no sandbox for process %d", __func__, proc);
	}
}
