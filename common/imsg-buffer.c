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
 * ibuf: a byte buffer with a read and a write position, and msgbuf: a
 * queue of them written to and read from a socket, as in OpenBSD's
 * libutil (see ibuf_add(3)).
 */

#include <sys/types.h>
#include <sys/endian.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "imsg.h"

/*
 * An ibuf made by ibuf_from_buffer() points into memory it does not own.
 * Its fd field carries this mark so that freeing, growing or queueing it
 * is caught; any negative fd means "no descriptor" to the callers.
 */
#define IBUF_FD_ON_STACK	(-2)

struct msgbuf {
	TAILQ_HEAD(, ibuf)	 bufs;		/* waiting to be written */
	TAILQ_HEAD(, ibuf)	 rbufs;		/* read, waiting for msgbuf_get */
	uint32_t		 queued;	/* number of bufs */
	unsigned char		*rbuf;		/* NULL if not a reader */
	size_t			 roff;		/* bytes of a header in rbuf */
	size_t			 hdrsize;
	struct ibuf		*rpmsg;		/* message being read */
	struct ibuf		*(*readhdr)(struct ibuf *, void *, int *);
	void			*rarg;
	int			 rfd;		/* fd of the header in rbuf */
	int			 rerror;	/* errno of a framing error */
};

static int	ibuf_inrange(const struct ibuf *, size_t, size_t);
static void	ibuf_enqueue(struct msgbuf *, struct ibuf *);
static void	msgbuf_drain(struct msgbuf *, size_t);
static int	msgbuf_process(struct msgbuf *, size_t, int);
static void	closefd(int *);

struct ibuf *
ibuf_open(size_t len)
{
	struct ibuf	*buf;

	if ((buf = calloc(1, sizeof(*buf))) == NULL)
		return (NULL);
	if (len > 0 && (buf->buf = calloc(len, 1)) == NULL) {
		free(buf);
		return (NULL);
	}
	buf->size = buf->max = len;
	buf->fd = -1;
	return (buf);
}

struct ibuf *
ibuf_dynamic(size_t len, size_t max)
{
	struct ibuf	*buf;

	if (max == 0 || max < len) {
		errno = EINVAL;
		return (NULL);
	}
	if ((buf = ibuf_open(len)) == NULL)
		return (NULL);
	buf->max = max;
	return (buf);
}

void *
ibuf_reserve(struct ibuf *buf, size_t len)
{
	unsigned char	*nb;
	void		*b;

	if (len > SIZE_MAX - buf->wpos) {
		errno = ERANGE;
		return (NULL);
	}
	if (buf->fd == IBUF_FD_ON_STACK) {
		/* the memory is not ours to realloc */
		errno = EINVAL;
		return (NULL);
	}
	/* checked first: after ibuf_set_maxsize() max may be below size */
	if (buf->wpos + len > buf->max) {
		errno = ERANGE;
		return (NULL);
	}
	if (buf->wpos + len > buf->size) {
		if ((nb = realloc(buf->buf, buf->wpos + len)) == NULL)
			return (NULL);
		/* callers such as ibuf_add_zero() rely on fresh space being 0 */
		memset(nb + buf->size, 0, buf->wpos + len - buf->size);
		buf->buf = nb;
		buf->size = buf->wpos + len;
	}
	b = buf->buf + buf->wpos;
	buf->wpos += len;
	return (b);
}

int
ibuf_add(struct ibuf *buf, const void *data, size_t len)
{
	void	*b;

	/* an empty buffer may have no memory yet: nothing to copy anyway */
	if (len == 0)
		return (0);
	if ((b = ibuf_reserve(buf, len)) == NULL)
		return (-1);
	memcpy(b, data, len);
	return (0);
}

int
ibuf_add_ibuf(struct ibuf *buf, const struct ibuf *from)
{
	return (ibuf_add(buf, ibuf_data(from), ibuf_size(from)));
}

/* The older name, still used by code written for OpenBSD 7.3 and before. */
int
ibuf_add_buf(struct ibuf *buf, const struct ibuf *from)
{
	return (ibuf_add_ibuf(buf, from));
}

int
ibuf_add_zero(struct ibuf *buf, size_t len)
{
	void	*b;

	if (len == 0)
		return (0);
	if ((b = ibuf_reserve(buf, len)) == NULL)
		return (-1);
	memset(b, 0, len);
	return (0);
}

int
ibuf_add_n8(struct ibuf *buf, uint64_t value)
{
	uint8_t	v;

	if (value > UINT8_MAX) {
		errno = EINVAL;
		return (-1);
	}
	v = value;
	return (ibuf_add(buf, &v, sizeof(v)));
}

int
ibuf_add_n16(struct ibuf *buf, uint64_t value)
{
	uint16_t	v;

	if (value > UINT16_MAX) {
		errno = EINVAL;
		return (-1);
	}
	v = htobe16(value);
	return (ibuf_add(buf, &v, sizeof(v)));
}

int
ibuf_add_n32(struct ibuf *buf, uint64_t value)
{
	uint32_t	v;

	if (value > UINT32_MAX) {
		errno = EINVAL;
		return (-1);
	}
	v = htobe32(value);
	return (ibuf_add(buf, &v, sizeof(v)));
}

int
ibuf_add_n64(struct ibuf *buf, uint64_t value)
{
	uint64_t	v;

	v = htobe64(value);
	return (ibuf_add(buf, &v, sizeof(v)));
}

int
ibuf_add_h16(struct ibuf *buf, uint64_t value)
{
	uint16_t	v;

	if (value > UINT16_MAX) {
		errno = EINVAL;
		return (-1);
	}
	v = value;
	return (ibuf_add(buf, &v, sizeof(v)));
}

int
ibuf_add_h32(struct ibuf *buf, uint64_t value)
{
	uint32_t	v;

	if (value > UINT32_MAX) {
		errno = EINVAL;
		return (-1);
	}
	v = value;
	return (ibuf_add(buf, &v, sizeof(v)));
}

int
ibuf_add_h64(struct ibuf *buf, uint64_t value)
{
	return (ibuf_add(buf, &value, sizeof(value)));
}

/*
 * Adds str in a field of exactly len bytes, NUL padded, so that the
 * receiver can use a fixed size buffer; a string that does not fit with
 * its NUL is an error rather than silently cut.
 */
int
ibuf_add_strbuf(struct ibuf *buf, const char *str, size_t len)
{
	char	*b;
	size_t	 n;

	if ((n = strlen(str)) >= len) {
		errno = EOVERFLOW;
		return (-1);
	}
	if ((b = ibuf_reserve(buf, len)) == NULL)
		return (-1);
	memcpy(b, str, n);
	memset(b + n, 0, len - n);
	return (0);
}

/* Is [pos, pos + len) inside the unread part of buf? */
static int
ibuf_inrange(const struct ibuf *buf, size_t pos, size_t len)
{
	if (pos > ibuf_size(buf) || len > ibuf_size(buf) - pos) {
		errno = ERANGE;
		return (0);
	}
	return (1);
}

void *
ibuf_seek(struct ibuf *buf, size_t pos, size_t len)
{
	if (!ibuf_inrange(buf, pos, len))
		return (NULL);
	return (buf->buf + buf->rpos + pos);
}

int
ibuf_set(struct ibuf *buf, size_t pos, const void *data, size_t len)
{
	if (!ibuf_inrange(buf, pos, len))
		return (-1);
	if (len > 0)
		memcpy(buf->buf + buf->rpos + pos, data, len);
	return (0);
}

int
ibuf_set_n8(struct ibuf *buf, size_t pos, uint64_t value)
{
	uint8_t	v;

	if (value > UINT8_MAX) {
		errno = EINVAL;
		return (-1);
	}
	v = value;
	return (ibuf_set(buf, pos, &v, sizeof(v)));
}

int
ibuf_set_n16(struct ibuf *buf, size_t pos, uint64_t value)
{
	uint16_t	v;

	if (value > UINT16_MAX) {
		errno = EINVAL;
		return (-1);
	}
	v = htobe16(value);
	return (ibuf_set(buf, pos, &v, sizeof(v)));
}

int
ibuf_set_n32(struct ibuf *buf, size_t pos, uint64_t value)
{
	uint32_t	v;

	if (value > UINT32_MAX) {
		errno = EINVAL;
		return (-1);
	}
	v = htobe32(value);
	return (ibuf_set(buf, pos, &v, sizeof(v)));
}

int
ibuf_set_n64(struct ibuf *buf, size_t pos, uint64_t value)
{
	uint64_t	v;

	v = htobe64(value);
	return (ibuf_set(buf, pos, &v, sizeof(v)));
}

int
ibuf_set_h16(struct ibuf *buf, size_t pos, uint64_t value)
{
	uint16_t	v;

	if (value > UINT16_MAX) {
		errno = EINVAL;
		return (-1);
	}
	v = value;
	return (ibuf_set(buf, pos, &v, sizeof(v)));
}

int
ibuf_set_h32(struct ibuf *buf, size_t pos, uint64_t value)
{
	uint32_t	v;

	if (value > UINT32_MAX) {
		errno = EINVAL;
		return (-1);
	}
	v = value;
	return (ibuf_set(buf, pos, &v, sizeof(v)));
}

int
ibuf_set_h64(struct ibuf *buf, size_t pos, uint64_t value)
{
	return (ibuf_set(buf, pos, &value, sizeof(value)));
}

/* Lowers the limit a dynamic buffer may grow to; it never raises it. */
int
ibuf_set_maxsize(struct ibuf *buf, size_t max)
{
	if (buf->fd == IBUF_FD_ON_STACK) {
		errno = EINVAL;
		return (-1);
	}
	if (max > buf->max || max < buf->wpos) {
		errno = ERANGE;
		return (-1);
	}
	buf->max = max;
	return (0);
}

void *
ibuf_data(const struct ibuf *buf)
{
	return (buf->buf + buf->rpos);
}

size_t
ibuf_size(const struct ibuf *buf)
{
	return (buf->wpos - buf->rpos);
}

size_t
ibuf_left(const struct ibuf *buf)
{
	/* a buffer over foreign memory cannot take more */
	if (buf->fd == IBUF_FD_ON_STACK)
		return (0);
	return (buf->max - buf->wpos);
}

int
ibuf_truncate(struct ibuf *buf, size_t len)
{
	if (ibuf_size(buf) >= len) {
		buf->wpos = buf->rpos + len;
		return (0);
	}
	if (buf->fd == IBUF_FD_ON_STACK) {
		/* growing would write past memory we do not own */
		errno = ERANGE;
		return (-1);
	}
	return (ibuf_add_zero(buf, len - ibuf_size(buf)));
}

void
ibuf_rewind(struct ibuf *buf)
{
	buf->rpos = 0;
}

void
ibuf_close(struct msgbuf *msgbuf, struct ibuf *buf)
{
	ibuf_enqueue(msgbuf, buf);
}

void
ibuf_from_buffer(struct ibuf *buf, void *data, size_t len)
{
	memset(buf, 0, sizeof(*buf));
	buf->buf = data;
	buf->size = buf->wpos = len;
	buf->fd = IBUF_FD_ON_STACK;
}

void
ibuf_from_ibuf(struct ibuf *buf, const struct ibuf *from)
{
	ibuf_from_buffer(buf, ibuf_data(from), ibuf_size(from));
}

int
ibuf_get(struct ibuf *buf, void *data, size_t len)
{
	if (ibuf_size(buf) < len) {
		errno = EBADMSG;
		return (-1);
	}
	if (len > 0)
		memcpy(data, ibuf_data(buf), len);
	buf->rpos += len;
	return (0);
}

int
ibuf_get_ibuf(struct ibuf *buf, size_t len, struct ibuf *new)
{
	if (ibuf_size(buf) < len) {
		errno = EBADMSG;
		return (-1);
	}
	ibuf_from_buffer(new, ibuf_data(buf), len);
	buf->rpos += len;
	return (0);
}

int
ibuf_get_n8(struct ibuf *buf, uint8_t *value)
{
	return (ibuf_get(buf, value, sizeof(*value)));
}

int
ibuf_get_n16(struct ibuf *buf, uint16_t *value)
{
	uint16_t	v;

	if (ibuf_get(buf, &v, sizeof(v)) == -1)
		return (-1);
	*value = be16toh(v);
	return (0);
}

int
ibuf_get_n32(struct ibuf *buf, uint32_t *value)
{
	uint32_t	v;

	if (ibuf_get(buf, &v, sizeof(v)) == -1)
		return (-1);
	*value = be32toh(v);
	return (0);
}

int
ibuf_get_n64(struct ibuf *buf, uint64_t *value)
{
	uint64_t	v;

	if (ibuf_get(buf, &v, sizeof(v)) == -1)
		return (-1);
	*value = be64toh(v);
	return (0);
}

int
ibuf_get_h16(struct ibuf *buf, uint16_t *value)
{
	return (ibuf_get(buf, value, sizeof(*value)));
}

int
ibuf_get_h32(struct ibuf *buf, uint32_t *value)
{
	return (ibuf_get(buf, value, sizeof(*value)));
}

int
ibuf_get_h64(struct ibuf *buf, uint64_t *value)
{
	return (ibuf_get(buf, value, sizeof(*value)));
}

/* Returns the next len bytes as an allocated string cut at the first NUL. */
char *
ibuf_get_string(struct ibuf *buf, size_t len)
{
	char	*str;

	if (ibuf_size(buf) < len) {
		errno = EBADMSG;
		return (NULL);
	}
	if ((str = strndup(ibuf_data(buf), len)) == NULL)
		return (NULL);
	buf->rpos += len;
	return (str);
}

/*
 * Copies the next len bytes into str.  A field that is not NUL terminated
 * is still consumed, and str is terminated, but the caller learns of it
 * with EOVERFLOW instead of acting on a truncated name.
 */
int
ibuf_get_strbuf(struct ibuf *buf, char *str, size_t len)
{
	if (len == 0) {
		errno = EINVAL;
		return (-1);
	}
	if (ibuf_get(buf, str, len) == -1)
		return (-1);
	if (str[len - 1] != '\0') {
		str[len - 1] = '\0';
		errno = EOVERFLOW;
		return (-1);
	}
	return (0);
}

int
ibuf_skip(struct ibuf *buf, size_t len)
{
	if (ibuf_size(buf) < len) {
		errno = EBADMSG;
		return (-1);
	}
	buf->rpos += len;
	return (0);
}

/*
 * Frees buf, closing a descriptor still attached to it.  Messages may hold
 * secrets (keys travel over imsg), hence the clearing.  errno is kept so
 * that error paths can free and then return.
 */
void
ibuf_free(struct ibuf *buf)
{
	int	saved_errno;

	if (buf == NULL)
		return;
	/* freeing memory we do not own: stop before the heap is corrupt */
	if (buf->fd == IBUF_FD_ON_STACK)
		abort();
	saved_errno = errno;
	closefd(&buf->fd);
	if (buf->buf != NULL) {
		explicit_bzero(buf->buf, buf->size);
		free(buf->buf);
	}
	free(buf);
	errno = saved_errno;
}

int
ibuf_fd_avail(struct ibuf *buf)
{
	return (buf->fd >= 0);
}

/* Hands the descriptor over to the caller, who must close it. */
int
ibuf_fd_get(struct ibuf *buf)
{
	int	fd;

	/* the on-stack mark must survive: report it as no descriptor */
	if (buf->fd < 0)
		return (-1);
	fd = buf->fd;
	buf->fd = -1;
	return (fd);
}

void
ibuf_fd_set(struct ibuf *buf, int fd)
{
	if (buf->fd == IBUF_FD_ON_STACK)
		abort();
	closefd(&buf->fd);
	if (fd >= 0)
		buf->fd = fd;
}

struct msgbuf *
msgbuf_new(void)
{
	struct msgbuf	*msgbuf;

	if ((msgbuf = calloc(1, sizeof(*msgbuf))) == NULL)
		return (NULL);
	TAILQ_INIT(&msgbuf->bufs);
	TAILQ_INIT(&msgbuf->rbufs);
	msgbuf->rfd = -1;
	return (msgbuf);
}

/*
 * A msgbuf that also reads framed messages.  readhdr is shown the first
 * hdrsize bytes of each message and returns an ibuf with room for the
 * whole message, header included, or NULL to reject it.  If the header
 * says a descriptor comes along, readhdr takes *fd and sets it to -1.
 */
struct msgbuf *
msgbuf_new_reader(size_t hdrsize,
    struct ibuf *(*readhdr)(struct ibuf *, void *, int *), void *arg)
{
	struct msgbuf	*msgbuf;
	unsigned char	*rbuf;

	/* a header must leave room in the read buffer for progress */
	if (hdrsize == 0 || hdrsize > IBUF_READ_SIZE / 2 || readhdr == NULL) {
		errno = EINVAL;
		return (NULL);
	}
	if ((rbuf = malloc(IBUF_READ_SIZE)) == NULL)
		return (NULL);
	if ((msgbuf = msgbuf_new()) == NULL) {
		free(rbuf);
		return (NULL);
	}
	msgbuf->rbuf = rbuf;
	msgbuf->hdrsize = hdrsize;
	msgbuf->readhdr = readhdr;
	msgbuf->rarg = arg;
	return (msgbuf);
}

void
msgbuf_free(struct msgbuf *msgbuf)
{
	if (msgbuf == NULL)
		return;
	msgbuf_clear(msgbuf);
	free(msgbuf->rbuf);
	free(msgbuf);
}

/* Drops everything queued in both directions, closing their descriptors. */
void
msgbuf_clear(struct msgbuf *msgbuf)
{
	struct ibuf	*buf;

	while ((buf = TAILQ_FIRST(&msgbuf->bufs)) != NULL) {
		TAILQ_REMOVE(&msgbuf->bufs, buf, entry);
		ibuf_free(buf);
	}
	msgbuf->queued = 0;

	while ((buf = TAILQ_FIRST(&msgbuf->rbufs)) != NULL) {
		TAILQ_REMOVE(&msgbuf->rbufs, buf, entry);
		ibuf_free(buf);
	}
	ibuf_free(msgbuf->rpmsg);
	msgbuf->rpmsg = NULL;
	msgbuf->roff = 0;
	closefd(&msgbuf->rfd);
}

uint32_t
msgbuf_queuelen(struct msgbuf *msgbuf)
{
	return (msgbuf->queued);
}

/*
 * Returns the next complete message, or NULL.  NULL with errno set means
 * that the stream broke at this point (see msgbuf_process()); NULL
 * without touching errno means that nothing more has arrived yet.
 */
struct ibuf *
msgbuf_get(struct msgbuf *msgbuf)
{
	struct ibuf	*buf;

	if ((buf = TAILQ_FIRST(&msgbuf->rbufs)) == NULL) {
		if (msgbuf->rerror != 0)
			errno = msgbuf->rerror;
		return (NULL);
	}
	TAILQ_REMOVE(&msgbuf->rbufs, buf, entry);
	return (buf);
}

/*
 * Writes what is queued with writev(2); descriptors are not passed.
 * Returns 0, also when the socket cannot take more now (the rest stays
 * queued), or -1 on error.
 */
int
ibuf_write(int fd, struct msgbuf *msgbuf)
{
	struct iovec	 iov[IOV_MAX];
	struct ibuf	*buf;
	int		 i = 0;
	ssize_t		 n;

	TAILQ_FOREACH(buf, &msgbuf->bufs, entry) {
		if (i >= IOV_MAX)
			break;
		iov[i].iov_base = ibuf_data(buf);
		iov[i].iov_len = ibuf_size(buf);
		i++;
	}
	if (i == 0)
		return (0);

	while ((n = writev(fd, iov, i)) == -1) {
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == ENOBUFS)
			return (0);
		return (-1);
	}
	msgbuf_drain(msgbuf, n);
	return (0);
}

/*
 * Like ibuf_write() but passes descriptors with SCM_RIGHTS, one per
 * sendmsg(2): a buffer carrying a descriptor starts a new batch, so that
 * the descriptor arrives together with the first byte of its message.
 */
int
msgbuf_write(int fd, struct msgbuf *msgbuf)
{
	struct iovec	 iov[IOV_MAX];
	struct msghdr	 msg;
	struct cmsghdr	*cmsg;
	struct ibuf	*buf, *fdbuf = NULL;
	union {
		struct cmsghdr	hdr;
		unsigned char	buf[CMSG_SPACE(sizeof(int))];
	} cmsgbuf;
	int		 i = 0;
	ssize_t		 n;

	TAILQ_FOREACH(buf, &msgbuf->bufs, entry) {
		if (i >= IOV_MAX)
			break;
		if (i > 0 && buf->fd >= 0)
			break;
		iov[i].iov_base = ibuf_data(buf);
		iov[i].iov_len = ibuf_size(buf);
		i++;
		if (buf->fd >= 0)
			fdbuf = buf;
	}
	if (i == 0)
		return (0);

	memset(&msg, 0, sizeof(msg));
	msg.msg_iov = iov;
	msg.msg_iovlen = i;
	if (fdbuf != NULL) {
		memset(&cmsgbuf, 0, sizeof(cmsgbuf));
		msg.msg_control = cmsgbuf.buf;
		msg.msg_controllen = sizeof(cmsgbuf.buf);
		cmsg = CMSG_FIRSTHDR(&msg);
		cmsg->cmsg_len = CMSG_LEN(sizeof(int));
		cmsg->cmsg_level = SOL_SOCKET;
		cmsg->cmsg_type = SCM_RIGHTS;
		memcpy(CMSG_DATA(cmsg), &fdbuf->fd, sizeof(int));
	}

	while ((n = sendmsg(fd, &msg, 0)) == -1) {
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == ENOBUFS)
			return (0);
		return (-1);
	}

	/*
	 * A stream socket takes the descriptor with the first byte it
	 * accepts, so once anything was sent ours is a duplicate: close it
	 * now or a resend of the rest would pass it twice.
	 */
	if (fdbuf != NULL)
		closefd(&fdbuf->fd);
	msgbuf_drain(msgbuf, n);
	return (0);
}

/*
 * Reads with readv(2).  A descriptor the peer sent is never received:
 * without room for control data the kernel discards and closes it.
 * Returns 1 when data arrived or the socket had none (EAGAIN), 0 at
 * end of file, -1 on error.
 */
int
ibuf_read(int fd, struct msgbuf *msgbuf)
{
	struct iovec	iov;
	ssize_t		n;
	size_t		oldlen;

	if (msgbuf->rbuf == NULL) {
		errno = EINVAL;
		return (-1);
	}
	/* the stream lost its framing; there is no way to resynchronise */
	if (msgbuf->rerror != 0) {
		errno = msgbuf->rerror;
		return (-1);
	}

	iov.iov_base = msgbuf->rbuf + msgbuf->roff;
	iov.iov_len = IBUF_READ_SIZE - msgbuf->roff;
	while ((n = readv(fd, &iov, 1)) == -1) {
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN)
			return (1);
		return (-1);
	}
	if (n == 0)
		return (0);
	oldlen = msgbuf->roff;
	msgbuf->roff += n;
	return (msgbuf_process(msgbuf, oldlen, -1));
}

/* Like ibuf_read() but receives descriptors passed with SCM_RIGHTS. */
int
msgbuf_read(int fd, struct msgbuf *msgbuf)
{
	struct msghdr	 msg;
	struct cmsghdr	*cmsg;
	struct iovec	 iov;
	union {
		struct cmsghdr	hdr;
		unsigned char	buf[CMSG_SPACE(sizeof(int))];
	} cmsgbuf;
	unsigned char	*p;
	ssize_t		 n;
	size_t		 i, nfds, oldlen;
	int		 f, newfd = -1;

	if (msgbuf->rbuf == NULL) {
		errno = EINVAL;
		return (-1);
	}
	if (msgbuf->rerror != 0) {
		errno = msgbuf->rerror;
		return (-1);
	}

	memset(&msg, 0, sizeof(msg));
	memset(&cmsgbuf, 0, sizeof(cmsgbuf));
	iov.iov_base = msgbuf->rbuf + msgbuf->roff;
	iov.iov_len = IBUF_READ_SIZE - msgbuf->roff;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cmsgbuf.buf;
	msg.msg_controllen = sizeof(cmsgbuf.buf);

	while ((n = recvmsg(fd, &msg, 0)) == -1) {
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN)
			return (1);
		return (-1);
	}

	/*
	 * Take every descriptor out of the control data before anything
	 * else, even at end of file, so that none is left open.  Only one
	 * per read is expected (MSG_CTRUNC: the kernel closed what did not
	 * fit); padding may still let a second one in, which is closed.
	 */
	for (cmsg = CMSG_FIRSTHDR(&msg); cmsg != NULL;
	    cmsg = CMSG_NXTHDR(&msg, cmsg)) {
		if (cmsg->cmsg_level != SOL_SOCKET ||
		    cmsg->cmsg_type != SCM_RIGHTS)
			continue;
		if (cmsg->cmsg_len < CMSG_LEN(0))
			continue;
		nfds = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		p = CMSG_DATA(cmsg);
		for (i = 0; i < nfds; i++) {
			memcpy(&f, p + i * sizeof(int), sizeof(int));
			if (newfd == -1)
				newfd = f;
			else
				close(f);
		}
	}

	if (n == 0) {
		closefd(&newfd);
		return (0);
	}
	oldlen = msgbuf->roff;
	msgbuf->roff += n;
	return (msgbuf_process(msgbuf, oldlen, newfd));
}

/*
 * Cuts the bytes in rbuf into messages: whole ones go to rbufs, the rest
 * of an unfinished one to rpmsg, and only an incomplete header stays in
 * rbuf.  The first oldlen bytes in rbuf came with earlier reads.
 *
 * A descriptor arrives with the first byte of its message.  So newfd can
 * only belong to a header that starts in this read, and rfd, kept from
 * an earlier read, only to the incomplete header that was left in rbuf.
 * Any other descriptor has no message to go with and is closed.
 *
 * A header that readhdr rejects breaks the stream for good.  The messages
 * before it are delivered and msgbuf_get() then reports the error, so
 * that imsg_get() fails as it does on OpenBSD; later reads fail too.
 */
static int
msgbuf_process(struct msgbuf *msgbuf, size_t oldlen, int newfd)
{
	struct ibuf	 hdr;
	unsigned char	*p = msgbuf->rbuf;
	size_t		 left = msgbuf->roff, n;
	int		 oldfd;

	oldfd = msgbuf->rfd;
	msgbuf->rfd = -1;

	while (left > 0) {
		if (msgbuf->rpmsg == NULL) {
			if (left < msgbuf->hdrsize)
				break;
			ibuf_from_buffer(&hdr, p, msgbuf->hdrsize);
			errno = 0;
			msgbuf->rpmsg = msgbuf->readhdr(&hdr, msgbuf->rarg,
			    (size_t)(p - msgbuf->rbuf) < oldlen ?
			    &oldfd : &newfd);
			/* only the first header can have started earlier */
			closefd(&oldfd);
			if (msgbuf->rpmsg == NULL)
				goto fail;
			if (ibuf_left(msgbuf->rpmsg) < msgbuf->hdrsize) {
				/* would never consume its own header */
				ibuf_free(msgbuf->rpmsg);
				msgbuf->rpmsg = NULL;
				errno = EBADMSG;
				goto fail;
			}
		}

		n = ibuf_left(msgbuf->rpmsg);
		if (n > left)
			n = left;
		/* cannot fail: readhdr sized the buffer for the message */
		if (ibuf_add(msgbuf->rpmsg, p, n) == -1)
			goto fail;
		p += n;
		left -= n;
		if (ibuf_left(msgbuf->rpmsg) == 0) {
			TAILQ_INSERT_TAIL(&msgbuf->rbufs, msgbuf->rpmsg, entry);
			msgbuf->rpmsg = NULL;
		}
	}

	if (left > 0) {
		if ((size_t)(p - msgbuf->rbuf) < oldlen) {
			msgbuf->rfd = oldfd;
			oldfd = -1;
		} else {
			msgbuf->rfd = newfd;
			newfd = -1;
		}
		memmove(msgbuf->rbuf, p, left);
	}
	msgbuf->roff = left;
	closefd(&oldfd);
	closefd(&newfd);
	return (1);

 fail:
	msgbuf->rerror = errno != 0 ? errno : EBADMSG;
	msgbuf->roff = 0;
	closefd(&oldfd);
	closefd(&newfd);
	return (1);
}

static void
ibuf_enqueue(struct msgbuf *msgbuf, struct ibuf *buf)
{
	/* queueing memory we do not own would free it later */
	if (buf->fd == IBUF_FD_ON_STACK)
		abort();
	TAILQ_INSERT_TAIL(&msgbuf->bufs, buf, entry);
	msgbuf->queued++;
}

/* Removes the n bytes the kernel accepted from the head of the queue. */
static void
msgbuf_drain(struct msgbuf *msgbuf, size_t n)
{
	struct ibuf	*buf;

	while ((buf = TAILQ_FIRST(&msgbuf->bufs)) != NULL) {
		if (n < ibuf_size(buf)) {
			buf->rpos += n;
			return;
		}
		n -= ibuf_size(buf);
		TAILQ_REMOVE(&msgbuf->bufs, buf, entry);
		msgbuf->queued--;
		ibuf_free(buf);
	}
}

static void
closefd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}
