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
 * imsg: typed messages between the processes of a privilege separated
 * daemon, as in OpenBSD's libutil (see imsg_init(3)).
 */

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/uio.h>

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "imsg.h"

#define IMSG_ALLOW_FDPASS	0x01

/* set in imsg_hdr.len on the wire when a descriptor comes along */
#define IMSG_FD_MARK		0x80000000U

static struct ibuf	*imsg_parse_hdr(struct ibuf *, void *, int *);

int
imsgbuf_init(struct imsgbuf *imsgbuf, int fd)
{
	imsgbuf->w = msgbuf_new_reader(IMSG_HEADER_SIZE, imsg_parse_hdr,
	    imsgbuf);
	if (imsgbuf->w == NULL)
		return (-1);
	imsgbuf->pid = getpid();
	imsgbuf->maxsize = MAX_IMSGSIZE;
	imsgbuf->fd = fd;
	imsgbuf->flags = 0;
	return (0);
}

/*
 * Descriptor passing is opt-in: a process that does not expect them must
 * not be made to hold descriptors a peer chose to send.
 */
void
imsgbuf_allow_fdpass(struct imsgbuf *imsgbuf)
{
	imsgbuf->flags |= IMSG_ALLOW_FDPASS;
}

/* max is the largest payload; the header comes on top of it. */
int
imsgbuf_set_maxsize(struct imsgbuf *imsgbuf, uint32_t max)
{
	if (max > UINT32_MAX - IMSG_HEADER_SIZE) {
		errno = ERANGE;
		return (-1);
	}
	max += IMSG_HEADER_SIZE;
	/* the top bit of len is taken by IMSG_FD_MARK */
	if (max & IMSG_FD_MARK) {
		errno = EINVAL;
		return (-1);
	}
	imsgbuf->maxsize = max;
	return (0);
}

int
imsgbuf_read(struct imsgbuf *imsgbuf)
{
	if (imsgbuf->flags & IMSG_ALLOW_FDPASS)
		return (msgbuf_read(imsgbuf->fd, imsgbuf->w));
	return (ibuf_read(imsgbuf->fd, imsgbuf->w));
}

int
imsgbuf_write(struct imsgbuf *imsgbuf)
{
	if (imsgbuf->flags & IMSG_ALLOW_FDPASS)
		return (msgbuf_write(imsgbuf->fd, imsgbuf->w));
	return (ibuf_write(imsgbuf->fd, imsgbuf->w));
}

/* Busy loops on a non-blocking socket that is full: blocking ones only. */
int
imsgbuf_flush(struct imsgbuf *imsgbuf)
{
	while (imsgbuf_queuelen(imsgbuf) > 0) {
		if (imsgbuf_write(imsgbuf) == -1)
			return (-1);
	}
	return (0);
}

/* Frees what is queued, closing its descriptors, but never imsgbuf->fd. */
void
imsgbuf_clear(struct imsgbuf *imsgbuf)
{
	msgbuf_free(imsgbuf->w);
	imsgbuf->w = NULL;
}

uint32_t
imsgbuf_queuelen(struct imsgbuf *imsgbuf)
{
	return (msgbuf_queuelen(imsgbuf->w));
}

/*
 * Returns 1 and fills imsg with the next message, 0 if no whole message
 * has arrived yet, or -1 once the stream has broken: after the messages
 * that came before a header claiming a length below IMSG_HEADER_SIZE or
 * above maxsize (ERANGE).
 */
int
imsgbuf_get(struct imsgbuf *imsgbuf, struct imsg *imsg)
{
	struct imsg	 m;
	struct ibuf	*buf;
	int		 saved_errno;

	saved_errno = errno;
	errno = 0;
	if ((buf = msgbuf_get(imsgbuf->w)) == NULL) {
		if (errno != 0)
			return (-1);
		errno = saved_errno;
		return (0);
	}
	errno = saved_errno;

	/* imsg_parse_hdr() sized buf for at least the header */
	if (ibuf_get(buf, &m.hdr, sizeof(m.hdr)) == -1) {
		ibuf_free(buf);
		return (-1);
	}
	m.hdr.len &= ~IMSG_FD_MARK;
	if (ibuf_size(buf) > 0)
		m.data = ibuf_data(buf);
	else
		m.data = NULL;
	m.buf = buf;

	*imsg = m;
	return (1);
}

/* The older interface: the size of the message instead of 1. */
ssize_t
imsg_get(struct imsgbuf *imsgbuf, struct imsg *imsg)
{
	int	rv;

	if ((rv = imsgbuf_get(imsgbuf, imsg)) != 1)
		return (rv);
	return (imsg_get_len(imsg) + IMSG_HEADER_SIZE);
}

/*
 * Makes ibuf a view of the whole payload, valid until imsg_free(), for
 * reading with the ibuf_get functions.
 */
int
imsg_get_ibuf(struct imsg *imsg, struct ibuf *ibuf)
{
	if (ibuf_size(imsg->buf) == 0) {
		errno = EBADMSG;
		return (-1);
	}
	return (ibuf_get_ibuf(imsg->buf, ibuf_size(imsg->buf), ibuf));
}

/*
 * Copies the payload into data, which must be exactly its size: a payload
 * that does not match the structure the receiver expects is refused.
 */
int
imsg_get_data(struct imsg *imsg, void *data, size_t len)
{
	if (len == 0) {
		errno = EINVAL;
		return (-1);
	}
	if (ibuf_size(imsg->buf) != len) {
		errno = EBADMSG;
		return (-1);
	}
	return (ibuf_get(imsg->buf, data, len));
}

int
imsg_get_buf(struct imsg *imsg, void *data, size_t len)
{
	return (ibuf_get(imsg->buf, data, len));
}

int
imsg_get_strbuf(struct imsg *imsg, char *str, size_t len)
{
	return (ibuf_get_strbuf(imsg->buf, str, len));
}

int
imsg_get_fd(struct imsg *imsg)
{
	return (ibuf_fd_get(imsg->buf));
}

uint32_t
imsg_get_id(struct imsg *imsg)
{
	return (imsg->hdr.peerid);
}

/* The payload not read yet, which is all of it before any imsg_get_*(). */
size_t
imsg_get_len(struct imsg *imsg)
{
	return (ibuf_size(imsg->buf));
}

pid_t
imsg_get_pid(struct imsg *imsg)
{
	return (imsg->hdr.pid);
}

uint32_t
imsg_get_type(struct imsg *imsg)
{
	return (imsg->hdr.type);
}

/*
 * Returns 1 when queued, -1 on error.  fd, if not -1, is closed once
 * sent; on error it stays the caller's, as on OpenBSD.
 */
int
imsg_compose(struct imsgbuf *imsgbuf, uint32_t type, uint32_t id, pid_t pid,
    int fd, const void *data, size_t datalen)
{
	struct ibuf	*wbuf;

	if ((wbuf = imsg_create(imsgbuf, type, id, pid, datalen)) == NULL)
		goto fail;
	if (ibuf_add(wbuf, data, datalen) == -1)
		goto fail;
	ibuf_fd_set(wbuf, fd);
	imsg_close(imsgbuf, wbuf);
	return (1);

 fail:
	ibuf_free(wbuf);
	return (-1);
}

int
imsg_composev(struct imsgbuf *imsgbuf, uint32_t type, uint32_t id, pid_t pid,
    int fd, const struct iovec *iov, int iovcnt)
{
	struct ibuf	*wbuf = NULL;
	size_t		 datalen = 0;
	int		 i;

	for (i = 0; i < iovcnt; i++) {
		/* a wrapped sum would pass the size check in imsg_create() */
		if (iov[i].iov_len > SIZE_MAX - datalen) {
			errno = ERANGE;
			goto fail;
		}
		datalen += iov[i].iov_len;
	}
	if ((wbuf = imsg_create(imsgbuf, type, id, pid, datalen)) == NULL)
		goto fail;
	for (i = 0; i < iovcnt; i++)
		if (ibuf_add(wbuf, iov[i].iov_base, iov[i].iov_len) == -1)
			goto fail;
	ibuf_fd_set(wbuf, fd);
	imsg_close(imsgbuf, wbuf);
	return (1);

 fail:
	ibuf_free(wbuf);
	return (-1);
}

/*
 * Queues buf as the payload without copying it; buf is consumed, also on
 * error.  No descriptor can go with such a message.
 */
int
imsg_compose_ibuf(struct imsgbuf *imsgbuf, uint32_t type, uint32_t id,
    pid_t pid, struct ibuf *buf)
{
	struct ibuf	*hdrbuf = NULL;
	struct imsg_hdr	 hdr;

	if (ibuf_size(buf) > imsgbuf->maxsize - IMSG_HEADER_SIZE) {
		errno = ERANGE;
		goto fail;
	}

	hdr.type = type;
	hdr.len = ibuf_size(buf) + IMSG_HEADER_SIZE;
	hdr.peerid = id;
	if ((hdr.pid = pid) == 0)
		hdr.pid = imsgbuf->pid;

	if ((hdrbuf = ibuf_open(IMSG_HEADER_SIZE)) == NULL)
		goto fail;
	if (ibuf_add(hdrbuf, &hdr, sizeof(hdr)) == -1)
		goto fail;

	ibuf_close(imsgbuf->w, hdrbuf);
	ibuf_close(imsgbuf->w, buf);
	return (1);

 fail:
	ibuf_free(buf);
	ibuf_free(hdrbuf);
	return (-1);
}

/*
 * Sends a received message on, unchanged, to another channel; may be
 * called more than once for the same message.  The descriptor, if any,
 * stays with msg.
 */
int
imsg_forward(struct imsgbuf *imsgbuf, struct imsg *msg)
{
	struct ibuf	*wbuf;
	size_t		 len;

	ibuf_rewind(msg->buf);
	if (ibuf_skip(msg->buf, sizeof(msg->hdr)) == -1)
		return (-1);
	len = ibuf_size(msg->buf);

	if ((wbuf = imsg_create(imsgbuf, msg->hdr.type, msg->hdr.peerid,
	    msg->hdr.pid, len)) == NULL)
		return (-1);
	if (ibuf_add_ibuf(wbuf, msg->buf) == -1) {
		ibuf_free(wbuf);
		return (-1);
	}
	imsg_close(imsgbuf, wbuf);
	return (1);
}

/*
 * Starts a message with room for datalen bytes of payload, to be filled
 * with imsg_add() and queued with imsg_close().  It can grow up to the
 * channel's maxsize, no further.
 */
struct ibuf *
imsg_create(struct imsgbuf *imsgbuf, uint32_t type, uint32_t id, pid_t pid,
    size_t datalen)
{
	struct ibuf	*wbuf;
	struct imsg_hdr	 hdr;

	/* compared this way round so that a huge datalen cannot wrap */
	if (datalen > imsgbuf->maxsize - IMSG_HEADER_SIZE) {
		errno = ERANGE;
		return (NULL);
	}

	hdr.type = type;
	hdr.len = 0;		/* set by imsg_close() */
	hdr.peerid = id;
	if ((hdr.pid = pid) == 0)
		hdr.pid = imsgbuf->pid;

	if ((wbuf = ibuf_dynamic(datalen + IMSG_HEADER_SIZE,
	    imsgbuf->maxsize)) == NULL)
		return (NULL);
	if (ibuf_add(wbuf, &hdr, sizeof(hdr)) == -1) {
		ibuf_free(wbuf);
		return (NULL);
	}
	return (wbuf);
}

/* Returns datalen, or -1 after freeing msg: the message is lost anyway. */
int
imsg_add(struct ibuf *msg, const void *data, size_t datalen)
{
	if (datalen > 0 && ibuf_add(msg, data, datalen) == -1) {
		ibuf_free(msg);
		return (-1);
	}
	return ((int)datalen);
}

void
imsg_close(struct imsgbuf *imsgbuf, struct ibuf *msg)
{
	uint32_t	len;

	len = ibuf_size(msg);
	if (ibuf_fd_avail(msg))
		len |= IMSG_FD_MARK;
	(void)ibuf_set_h32(msg, offsetof(struct imsg_hdr, len), len);
	ibuf_close(imsgbuf->w, msg);
}

/* Also closes a descriptor that imsg_get_fd() did not take. */
void
imsg_free(struct imsg *imsg)
{
	ibuf_free(imsg->buf);
	imsg->buf = NULL;
	imsg->data = NULL;
}

/* Lowers the payload limit of a message under construction. */
int
imsg_set_maxsize(struct ibuf *msg, size_t max)
{
	if (max > UINT32_MAX - IMSG_HEADER_SIZE) {
		errno = ERANGE;
		return (-1);
	}
	return (ibuf_set_maxsize(msg, max + IMSG_HEADER_SIZE));
}

/*
 * The reader's view of each header: check the length before anything is
 * allocated for it, and take the descriptor when the sender marked one.
 */
static struct ibuf *
imsg_parse_hdr(struct ibuf *buf, void *arg, int *fd)
{
	struct imsgbuf	*imsgbuf = arg;
	struct imsg_hdr	 hdr;
	struct ibuf	*b;
	uint32_t	 len;

	if (ibuf_get(buf, &hdr, sizeof(hdr)) == -1)
		return (NULL);

	len = hdr.len & ~IMSG_FD_MARK;
	if (len < IMSG_HEADER_SIZE || len > imsgbuf->maxsize) {
		errno = ERANGE;
		return (NULL);
	}
	if ((b = ibuf_open(len)) == NULL)
		return (NULL);
	if (hdr.len & IMSG_FD_MARK) {
		ibuf_fd_set(b, *fd);
		*fd = -1;
	}
	return (b);
}
