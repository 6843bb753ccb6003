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
 * The imsg reader (common/imsg.c, common/imsg-buffer.c) on what a
 * compromised process could write into its channel: imsgbuf_read() in
 * pieces, imsg_get(), the imsg_get_* accessors and the ibuf_get_*
 * parsers, and imsg_forward() whose copy must read back the same.
 *
 * The first byte holds flags: FL_FDPASS (the reader takes descriptors),
 * FL_SENDFD (a descriptor goes with the first piece), FL_SMALL (a
 * maximum message size of 256 bytes).  The second is the size of the
 * pieces written before each read (0: all at once).  The rest is the
 * byte stream.  How a message is taken apart depends on its type:
 * type % 4 is 0 for a sequence of ibuf_get_*() calls named by its own
 * bytes, 1 for imsg_get_data() of a request, 2 for imsg_get_strbuf(),
 * 3 for imsg_forward().
 */

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <fcntl.h>
#include <imsg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "marconid.h"
#include "fuzz.h"

#define FL_FDPASS	0x01
#define FL_SENDFD	0x02
#define FL_SMALL	0x04

#define MAX_MSGS	256
#define MAX_OPS		64
#define MAX_STREAM	(64 * 1024)	/* fits in a socket's buffer */

int	LLVMFuzzerInitialize(int *, char ***);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_fd_mark();
	return (0);
}

static void
ibuf_ops(struct imsg *imsg)
{
	struct ibuf	 ib, sub;
	char		 str[16], *s;
	uint8_t		 op, n8, buf[256];
	uint16_t	 n16;
	uint32_t	 n32;
	uint64_t	 n64;
	int		 i;

	if (imsg_get_ibuf(imsg, &ib) == -1)
		return;
	for (i = 0; i < MAX_OPS && ibuf_get_n8(&ib, &op) == 0; i++) {
		switch (op % 12) {
		case 0:
			(void)ibuf_get_n16(&ib, &n16);
			break;
		case 1:
			(void)ibuf_get_n32(&ib, &n32);
			break;
		case 2:
			(void)ibuf_get_n64(&ib, &n64);
			break;
		case 3:
			(void)ibuf_get_h16(&ib, &n16);
			break;
		case 4:
			(void)ibuf_get_h32(&ib, &n32);
			break;
		case 5:
			(void)ibuf_get_h64(&ib, &n64);
			break;
		case 6:
			if (ibuf_get_n8(&ib, &n8) == 0 &&
			    (s = ibuf_get_string(&ib, n8)) != NULL) {
				if (strlen(s) > n8)
					abort();
				free(s);
			}
			break;
		case 7:
			if (ibuf_get_strbuf(&ib, str, sizeof(str)) == 0 &&
			    memchr(str, '\0', sizeof(str)) == NULL)
				abort();
			break;
		case 8:
			if (ibuf_get_n8(&ib, &n8) == 0)
				(void)ibuf_skip(&ib, n8);
			break;
		case 9:
			if (ibuf_get_n8(&ib, &n8) == 0 &&
			    ibuf_get_ibuf(&ib, n8, &sub) == 0) {
				if (ibuf_size(&sub) != n8)
					abort();
				if (n8 > 0)
					memcpy(buf, ibuf_data(&sub), n8);
			}
			break;
		case 10:
			if (ibuf_get_n8(&ib, &n8) == 0)
				(void)ibuf_get(&ib, buf, n8);
			break;
		case 11:
			if (ibuf_left(&ib) != 0)
				abort();	/* a reader's view is full */
			(void)ibuf_size(&ib);
			break;
		}
	}
}

/*
 * Forwarded, read back, and compared with what came in; a pid of 0
 * becomes the forwarder's, as with imsg_compose().
 */
static void
forward(struct imsg *imsg)
{
	struct imsgbuf	 w, r;
	struct imsg	 copy;
	struct ibuf	 a, b;
	int		 sv[2];
	ssize_t		 n;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1)
		abort();
	if (imsgbuf_init(&w, sv[0]) == -1 || imsgbuf_init(&r, sv[1]) == -1 ||
	    imsgbuf_set_maxsize(&w, MARCONID_IMSGSIZE) == -1 ||
	    imsgbuf_set_maxsize(&r, MARCONID_IMSGSIZE) == -1)
		abort();
	if (imsg_forward(&w, imsg) == 1) {
		if (imsgbuf_flush(&w) == -1 || imsgbuf_read(&r) != 1 ||
		    (n = imsg_get(&r, &copy)) <= 0)
			abort();
		if (imsg_get_type(&copy) != imsg_get_type(imsg) ||
		    imsg_get_id(&copy) != imsg_get_id(imsg) ||
		    (imsg_get_pid(imsg) != 0 &&
		    imsg_get_pid(&copy) != imsg_get_pid(imsg)) ||
		    imsg_get_len(&copy) != imsg_get_len(imsg) ||
		    imsg_get_fd(&copy) != -1)
			abort();
		if (imsg_get_len(imsg) > 0 &&
		    (imsg_get_ibuf(&copy, &a) == -1 ||
		    imsg_get_ibuf(imsg, &b) == -1 ||
		    memcmp(ibuf_data(&a), ibuf_data(&b), ibuf_size(&a)) != 0))
			abort();
		imsg_free(&copy);
	}
	imsgbuf_clear(&w);
	imsgbuf_clear(&r);
	close(sv[0]);
	close(sv[1]);
}

static void
take(struct imsg *imsg)
{
	struct ctl_request	 req;
	char			 name[MARCONID_NAMELEN];
	int			 fd;

	(void)imsg_get_id(imsg);
	(void)imsg_get_pid(imsg);
	(void)imsg_get_len(imsg);
	if ((fd = imsg_get_fd(imsg)) != -1)
		close(fd);
	switch (imsg_get_type(imsg) % 4) {
	case 0:
		ibuf_ops(imsg);
		break;
	case 1:
		(void)imsg_get_data(imsg, &req, sizeof(req));
		break;
	case 2:
		if (imsg_get_strbuf(imsg, name, sizeof(name)) == 0 &&
		    memchr(name, '\0', sizeof(name)) == NULL)
			abort();
		break;
	case 3:
		forward(imsg);
		break;
	}
}

static void
send_piece(int fd, const uint8_t *p, size_t len, int withfd)
{
	struct msghdr	 msg;
	struct iovec	 iov;
	union {
		struct cmsghdr	hdr;
		unsigned char	buf[CMSG_SPACE(sizeof(int))];
	} cmsgbuf;
	struct cmsghdr	*cmsg;
	int		 f = -1;

	memset(&msg, 0, sizeof(msg));
	iov.iov_base = (void *)(uintptr_t)p;	/* sendmsg() only reads */
	iov.iov_len = len;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	if (withfd) {
		if ((f = open("/dev/null", O_RDONLY | O_CLOEXEC)) == -1)
			abort();
		memset(&cmsgbuf, 0, sizeof(cmsgbuf));
		msg.msg_control = cmsgbuf.buf;
		msg.msg_controllen = sizeof(cmsgbuf.buf);
		cmsg = CMSG_FIRSTHDR(&msg);
		cmsg->cmsg_len = CMSG_LEN(sizeof(int));
		cmsg->cmsg_level = SOL_SOCKET;
		cmsg->cmsg_type = SCM_RIGHTS;
		memcpy(CMSG_DATA(cmsg), &f, sizeof(int));
	}
	if (sendmsg(fd, &msg, 0) != (ssize_t)len)
		abort();
	if (f != -1)
		close(f);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct imsgbuf	 ibuf;
	struct imsg	 imsg;
	size_t		 piece, len;
	ssize_t		 n;
	uint8_t		 flags;
	int		 sv[2], msgs = 0, r, broken = 0, withfd, reads;

	if (size < 3 || size > MAX_STREAM)
		return (0);
	flags = data[0];
	piece = data[1] != 0 ? data[1] : size;
	data += 2;
	size -= 2;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0, sv) == -1)
		abort();
	if (imsgbuf_init(&ibuf, sv[0]) == -1)
		abort();
	if (imsgbuf_set_maxsize(&ibuf, (flags & FL_SMALL) ? 256 :
	    MARCONID_IMSGSIZE) == -1)
		abort();
	if (flags & FL_FDPASS)
		imsgbuf_allow_fdpass(&ibuf);

	withfd = (flags & FL_SENDFD) != 0;
	for (reads = 0; reads < MAX_MSGS; reads++) {
		if (size > 0) {
			len = size < piece ? size : piece;
			send_piece(sv[1], data, len, withfd);
			withfd = 0;
			data += len;
			size -= len;
		} else
			shutdown(sv[1], SHUT_WR);
		if ((r = imsgbuf_read(&ibuf)) == -1 || r == 0)
			break;
		while (msgs < MAX_MSGS) {
			if ((n = imsg_get(&ibuf, &imsg)) == -1) {
				broken = 1;
				break;
			}
			if (n == 0)
				break;
			if ((size_t)n != imsg_get_len(&imsg) +
			    IMSG_HEADER_SIZE)
				abort();
			take(&imsg);
			imsg_free(&imsg);
			msgs++;
		}
		if (broken || msgs >= MAX_MSGS)
			break;
	}
	imsgbuf_clear(&ibuf);
	close(sv[0]);
	close(sv[1]);
	fuzz_fd_check();
	return (0);
}
