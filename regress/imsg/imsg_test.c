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
 * Unit tests of the imsg implementation in common/: the ibuf primitives,
 * the framing of messages on a stream socket whatever the kernel does to
 * the byte stream, descriptor passing, and the refusal of malformed or
 * oversized input.  Raw bytes are written to the socket by hand where a
 * well-behaved sender could not produce the case.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <atf-c.h>
#include <errno.h>
#include <fcntl.h>
#include <imsg.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* descriptors probed when counting open ones: far above what tests use */
#define FD_PROBE_MAX	1024

/* the top bit of imsg_hdr.len on the wire: a descriptor comes along */
#define WIRE_FD_MARK	0x80000000U

/* Number of open descriptors: a leak shows as a difference. */
static int
count_fds(void)
{
	int	fd, n = 0;

	for (fd = 0; fd < FD_PROBE_MAX; fd++)
		if (fcntl(fd, F_GETFD) != -1)
			n++;
	return (n);
}

static int
fd_is_open(int fd)
{
	return (fcntl(fd, F_GETFD) != -1);
}

static void
make_pair(int sv[2])
{
	ATF_REQUIRE_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
}

static void
set_nonblock(int fd)
{
	int	flags;

	ATF_REQUIRE((flags = fcntl(fd, F_GETFL)) != -1);
	ATF_REQUIRE(fcntl(fd, F_SETFL, flags | O_NONBLOCK) != -1);
}

/* Two channels over one socketpair: w writes, r reads. */
static void
make_channel(struct imsgbuf *w, struct imsgbuf *r, int sv[2])
{
	make_pair(sv);
	ATF_REQUIRE_EQ(imsgbuf_init(w, sv[0]), 0);
	ATF_REQUIRE_EQ(imsgbuf_init(r, sv[1]), 0);
}

static void
close_channel(struct imsgbuf *w, struct imsgbuf *r, int sv[2])
{
	imsgbuf_clear(w);
	imsgbuf_clear(r);
	close(sv[0]);
	close(sv[1]);
}

static void
write_all(int fd, const void *data, size_t len)
{
	const unsigned char	*p = data;
	ssize_t			 n;

	while (len > 0) {
		n = write(fd, p, len);
		ATF_REQUIRE_MSG(n > 0, "write: %s", strerror(errno));
		p += n;
		len -= n;
	}
}

/* Writes an imsg header as a sender would, or as a forger would. */
static void
write_hdr(int fd, uint32_t type, uint32_t len, uint32_t peerid, uint32_t pid)
{
	struct imsg_hdr	hdr;

	hdr.type = type;
	hdr.len = len;
	hdr.peerid = peerid;
	hdr.pid = pid;
	write_all(fd, &hdr, sizeof(hdr));
}

/* Builds a message as the wire carries it; returns its length. */
static size_t
put_msg(unsigned char *out, uint32_t type, uint32_t peerid,
    const void *payload, size_t plen)
{
	struct imsg_hdr	hdr;

	hdr.type = type;
	hdr.len = sizeof(hdr) + plen;
	hdr.peerid = peerid;
	hdr.pid = 1;
	memcpy(out, &hdr, sizeof(hdr));
	if (plen > 0)
		memcpy(out + sizeof(hdr), payload, plen);
	return (sizeof(hdr) + plen);
}

/*
 * Sends bytes with descriptors attached: one as msgbuf_write does, more
 * as a misbehaving peer could.
 */
static void
send_with_fds(int sock, const void *data, size_t len, const int *fds,
    size_t nfds)
{
	struct msghdr	 msg;
	struct cmsghdr	*cmsg;
	struct iovec	 iov;
	union {
		struct cmsghdr	hdr;
		unsigned char	buf[CMSG_SPACE(4 * sizeof(int))];
	} cmsgbuf;

	ATF_REQUIRE(nfds >= 1 && nfds <= 4);
	iov.iov_base = (void *)(uintptr_t)data;
	iov.iov_len = len;
	memset(&msg, 0, sizeof(msg));
	memset(&cmsgbuf, 0, sizeof(cmsgbuf));
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cmsgbuf.buf;
	msg.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
	cmsg = CMSG_FIRSTHDR(&msg);
	cmsg->cmsg_len = CMSG_LEN(nfds * sizeof(int));
	cmsg->cmsg_level = SOL_SOCKET;
	cmsg->cmsg_type = SCM_RIGHTS;
	memcpy(CMSG_DATA(cmsg), fds, nfds * sizeof(int));
	ATF_REQUIRE_EQ(sendmsg(sock, &msg, 0), (ssize_t)len);
}

/* Reads from a blocking socket until a whole message is there. */
static ssize_t
get_one(struct imsgbuf *r, struct imsg *imsg)
{
	ssize_t	n;

	for (;;) {
		n = imsg_get(r, imsg);
		ATF_REQUIRE_MSG(n != -1, "imsg_get: %s", strerror(errno));
		if (n > 0)
			return (n);
		ATF_REQUIRE_EQ(imsgbuf_read(r), 1);
	}
}

/*
 * Moves bytes from w to r until r has a message, for messages larger
 * than what the socket holds; w must be non-blocking.
 */
static ssize_t
pump(struct imsgbuf *w, struct imsgbuf *r, struct imsg *imsg)
{
	struct pollfd	pfd;
	ssize_t		n;
	int		i;

	for (i = 0; i < 100000; i++) {
		n = imsg_get(r, imsg);
		ATF_REQUIRE_MSG(n != -1, "imsg_get: %s", strerror(errno));
		if (n > 0)
			return (n);
		if (imsgbuf_queuelen(w) > 0)
			ATF_REQUIRE_EQ(imsgbuf_write(w), 0);
		pfd.fd = r->fd;
		pfd.events = POLLIN;
		ATF_REQUIRE(poll(&pfd, 1, 1000) != -1);
		if (pfd.revents & POLLIN)
			ATF_REQUIRE_EQ(imsgbuf_read(r), 1);
	}
	atf_tc_fail("no message after %d rounds", i);
	return (-1);
}

static void
fill_pattern(unsigned char *p, size_t len, unsigned int seed)
{
	size_t	i;

	for (i = 0; i < len; i++)
		p[i] = (unsigned char)(i * 7 + seed);
}

static int
check_pattern(const unsigned char *p, size_t len, unsigned int seed)
{
	size_t	i;

	for (i = 0; i < len; i++)
		if (p[i] != (unsigned char)(i * 7 + seed))
			return (0);
	return (1);
}

ATF_TC(ibuf_add_get);
ATF_TC_HEAD(ibuf_add_get, tc)
{
	atf_tc_set_md_var(tc, "descr", "ibuf_add_n*/h* write network and "
	    "host order, ibuf_get_* read them back, out of range values "
	    "and reads past the end fail");
}
ATF_TC_BODY(ibuf_add_get, tc)
{
	static const unsigned char	 wire[] = {
		0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde,
		0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08
	};
	struct ibuf	*b;
	uint8_t		 v8;
	uint16_t	 v16;
	uint32_t	 v32;
	uint64_t	 v64;

	ATF_REQUIRE((b = ibuf_dynamic(0, 64)) != NULL);
	ATF_REQUIRE_EQ(ibuf_size(b), 0);
	ATF_REQUIRE_EQ(ibuf_add_n8(b, 0x12), 0);
	ATF_REQUIRE_EQ(ibuf_add_n16(b, 0x3456), 0);
	ATF_REQUIRE_EQ(ibuf_add_n32(b, 0x789abcdeU), 0);
	ATF_REQUIRE_EQ(ibuf_add_n64(b, 0x0102030405060708ULL), 0);
	ATF_REQUIRE_EQ(ibuf_add_h16(b, 0xbeef), 0);
	ATF_REQUIRE_EQ(ibuf_add_h32(b, 0xdeadbeefU), 0);
	ATF_REQUIRE_EQ(ibuf_add_h64(b, 0x7788778877887788ULL), 0);
	ATF_REQUIRE_EQ(ibuf_size(b), 29);
	ATF_REQUIRE(memcmp(ibuf_data(b), wire, sizeof(wire)) == 0);

	/* values that do not fit the field are refused, nothing is added */
	ATF_REQUIRE_ERRNO(EINVAL, ibuf_add_n8(b, 0x100) == -1);
	ATF_REQUIRE_ERRNO(EINVAL, ibuf_add_n16(b, 0x10000) == -1);
	ATF_REQUIRE_ERRNO(EINVAL, ibuf_add_n32(b, 0x100000000ULL) == -1);
	ATF_REQUIRE_ERRNO(EINVAL, ibuf_add_h16(b, 0x10000) == -1);
	ATF_REQUIRE_ERRNO(EINVAL, ibuf_add_h32(b, 0x100000000ULL) == -1);
	ATF_REQUIRE_EQ(ibuf_size(b), 29);

	ATF_REQUIRE_EQ(ibuf_get_n8(b, &v8), 0);
	ATF_REQUIRE_EQ(v8, 0x12);
	ATF_REQUIRE_EQ(ibuf_get_n16(b, &v16), 0);
	ATF_REQUIRE_EQ(v16, 0x3456);
	ATF_REQUIRE_EQ(ibuf_get_n32(b, &v32), 0);
	ATF_REQUIRE_EQ(v32, 0x789abcdeU);
	ATF_REQUIRE_EQ(ibuf_get_n64(b, &v64), 0);
	ATF_REQUIRE_EQ(v64, 0x0102030405060708ULL);
	ATF_REQUIRE_EQ(ibuf_get_h16(b, &v16), 0);
	ATF_REQUIRE_EQ(v16, 0xbeef);
	ATF_REQUIRE_EQ(ibuf_get_h32(b, &v32), 0);
	ATF_REQUIRE_EQ(v32, 0xdeadbeefU);
	ATF_REQUIRE_EQ(ibuf_size(b), 8);

	/* a read past the end fails and consumes nothing */
	ATF_REQUIRE_EQ(ibuf_skip(b, 6), 0);
	ATF_REQUIRE_ERRNO(EBADMSG, ibuf_get_n32(b, &v32) == -1);
	ATF_REQUIRE_ERRNO(EBADMSG, ibuf_get_h64(b, &v64) == -1);
	ATF_REQUIRE_ERRNO(EBADMSG, ibuf_skip(b, 3) == -1);
	ATF_REQUIRE_EQ(ibuf_size(b), 2);
	/* the same in either byte order */
	ATF_REQUIRE_EQ(ibuf_get_h16(b, &v16), 0);
	ATF_REQUIRE_EQ(v16, 0x7788);
	ATF_REQUIRE_ERRNO(EBADMSG, ibuf_get_n8(b, &v8) == -1);

	/* rewinding makes everything readable again */
	ibuf_rewind(b);
	ATF_REQUIRE_EQ(ibuf_size(b), 29);
	ATF_REQUIRE_EQ(ibuf_get_n8(b, &v8), 0);
	ATF_REQUIRE_EQ(v8, 0x12);
	ibuf_free(b);
}

ATF_TC(ibuf_limits);
ATF_TC_HEAD(ibuf_limits, tc)
{
	atf_tc_set_md_var(tc, "descr", "Fixed buffers do not grow, dynamic "
	    "ones grow up to their maximum, truncate and reserve respect it");
}
ATF_TC_BODY(ibuf_limits, tc)
{
	struct ibuf	*b;
	unsigned char	*p;
	unsigned char	 zero[8];

	memset(zero, 0, sizeof(zero));

	ATF_REQUIRE((b = ibuf_open(8)) != NULL);
	ATF_REQUIRE_EQ(ibuf_left(b), 8);
	ATF_REQUIRE_EQ(ibuf_add(b, "12345678", 8), 0);
	ATF_REQUIRE_EQ(ibuf_left(b), 0);
	ATF_REQUIRE_ERRNO(ERANGE, ibuf_add(b, "9", 1) == -1);
	ATF_REQUIRE_ERRNO(ERANGE, ibuf_truncate(b, 9) == -1);
	ATF_REQUIRE_EQ(ibuf_truncate(b, 4), 0);
	ATF_REQUIRE_EQ(ibuf_size(b), 4);
	ATF_REQUIRE(memcmp(ibuf_data(b), "1234", 4) == 0);
	ibuf_free(b);

	ATF_REQUIRE_ERRNO(EINVAL, ibuf_dynamic(8, 4) == NULL);
	ATF_REQUIRE_ERRNO(EINVAL, ibuf_dynamic(0, 0) == NULL);

	ATF_REQUIRE((b = ibuf_dynamic(4, 16)) != NULL);
	ATF_REQUIRE((p = ibuf_reserve(b, 2)) != NULL);
	p[0] = 'a';
	p[1] = 'b';
	ATF_REQUIRE_EQ(ibuf_add_zero(b, 4), 0);
	ATF_REQUIRE_EQ(ibuf_add(b, "cdefghij", 8), 0);
	ATF_REQUIRE_EQ(ibuf_size(b), 14);
	ATF_REQUIRE_EQ(ibuf_left(b), 2);
	ATF_REQUIRE_ERRNO(ERANGE, ibuf_reserve(b, 3) == NULL);
	ATF_REQUIRE_ERRNO(ERANGE, ibuf_reserve(b, SIZE_MAX) == NULL);
	ATF_REQUIRE_EQ(ibuf_size(b), 14);
	p = ibuf_data(b);
	ATF_REQUIRE(memcmp(p, "ab\0\0\0\0cdefghij", 14) == 0);

	/* truncating up adds zeroes, and only up to the maximum */
	ATF_REQUIRE_EQ(ibuf_truncate(b, 2), 0);
	ATF_REQUIRE_EQ(ibuf_truncate(b, 10), 0);
	ATF_REQUIRE_EQ(ibuf_size(b), 10);
	ATF_REQUIRE(memcmp((unsigned char *)ibuf_data(b) + 2, zero, 8) == 0);
	ATF_REQUIRE_ERRNO(ERANGE, ibuf_truncate(b, 17) == -1);

	/* the maximum can be lowered, never raised */
	ATF_REQUIRE_EQ(ibuf_set_maxsize(b, 12), 0);
	ATF_REQUIRE_EQ(ibuf_left(b), 2);
	ATF_REQUIRE_ERRNO(ERANGE, ibuf_add(b, "xyz", 3) == -1);
	ATF_REQUIRE_ERRNO(ERANGE, ibuf_set_maxsize(b, 16) == -1);
	ibuf_free(b);
}

ATF_TC(ibuf_seek_set);
ATF_TC_HEAD(ibuf_seek_set, tc)
{
	atf_tc_set_md_var(tc, "descr", "ibuf_seek and ibuf_set* work "
	    "inside the unread data only and refuse anything out of bounds");
}
ATF_TC_BODY(ibuf_seek_set, tc)
{
	static const unsigned char	 expect[16] = {
		0xaa, 0x01, 0x02, 0x11, 0x22, 0x33, 0x44, 0,
		0, 0, 'x', 'y', 'z', 'x', 'y', 'z'
	};
	struct ibuf	*b;
	unsigned char	*p;
	uint32_t	 h32;
	uint64_t	 h64;

	ATF_REQUIRE((b = ibuf_dynamic(0, 32)) != NULL);
	ATF_REQUIRE_EQ(ibuf_add_zero(b, 16), 0);

	ATF_REQUIRE((p = ibuf_seek(b, 4, 4)) != NULL);
	ATF_REQUIRE(p == (unsigned char *)ibuf_data(b) + 4);
	ATF_REQUIRE(ibuf_seek(b, 16, 0) != NULL);
	ATF_REQUIRE_ERRNO(ERANGE, ibuf_seek(b, 13, 4) == NULL);
	ATF_REQUIRE_ERRNO(ERANGE, ibuf_seek(b, 17, 0) == NULL);
	/* pos + len would wrap around */
	ATF_REQUIRE_ERRNO(ERANGE, ibuf_seek(b, 2, SIZE_MAX) == NULL);
	ATF_REQUIRE_ERRNO(ERANGE, ibuf_seek(b, SIZE_MAX, 2) == NULL);

	ATF_REQUIRE_EQ(ibuf_set_n8(b, 0, 0xaa), 0);
	ATF_REQUIRE_EQ(ibuf_set_n16(b, 1, 0x0102), 0);
	ATF_REQUIRE_EQ(ibuf_set_n32(b, 3, 0x11223344), 0);
	ATF_REQUIRE_EQ(ibuf_set(b, 10, "xyzxyz", 6), 0);
	ATF_REQUIRE(memcmp(ibuf_data(b), expect, sizeof(expect)) == 0);

	ATF_REQUIRE_ERRNO(EINVAL, ibuf_set_n8(b, 0, 0x100) == -1);
	ATF_REQUIRE_ERRNO(EINVAL, ibuf_set_n16(b, 0, 0x10000) == -1);
	ATF_REQUIRE_ERRNO(EINVAL, ibuf_set_h32(b, 0, 0x100000000ULL) == -1);
	ATF_REQUIRE_ERRNO(ERANGE, ibuf_set_n16(b, 15, 1) == -1);
	ATF_REQUIRE_ERRNO(ERANGE, ibuf_set_n64(b, 9, 1) == -1);
	ATF_REQUIRE_ERRNO(ERANGE, ibuf_set(b, 11, "xyzxyz", 6) == -1);
	ATF_REQUIRE_ERRNO(ERANGE, ibuf_set_h16(b, 16, 1) == -1);
	/* failed sets left the data alone */
	ATF_REQUIRE(memcmp(ibuf_data(b), expect, sizeof(expect)) == 0);

	ATF_REQUIRE_EQ(ibuf_set_h64(b, 8, 0x0807060504030201ULL), 0);
	ATF_REQUIRE_EQ(ibuf_set_h32(b, 0, 0xcafef00dU), 0);
	ATF_REQUIRE_EQ(ibuf_set_n64(b, 0, 0x0102030405060708ULL), 0);
	ATF_REQUIRE_EQ(ibuf_get_n64(b, &h64), 0);
	ATF_REQUIRE_EQ(h64, 0x0102030405060708ULL);
	ATF_REQUIRE_EQ(ibuf_get_h64(b, &h64), 0);
	ATF_REQUIRE_EQ(h64, 0x0807060504030201ULL);

	/* positions are relative to the read position */
	ibuf_rewind(b);
	ATF_REQUIRE_EQ(ibuf_skip(b, 8), 0);
	ATF_REQUIRE_EQ(ibuf_set_h32(b, 4, 0x55667788), 0);
	ATF_REQUIRE_ERRNO(ERANGE, ibuf_set_h32(b, 5, 1) == -1);
	ATF_REQUIRE_EQ(ibuf_skip(b, 4), 0);
	ATF_REQUIRE_EQ(ibuf_get_h32(b, &h32), 0);
	ATF_REQUIRE_EQ(h32, 0x55667788);
	ibuf_free(b);
}

ATF_TC(ibuf_strings);
ATF_TC_HEAD(ibuf_strings, tc)
{
	atf_tc_set_md_var(tc, "descr", "ibuf_get_string, ibuf_get_strbuf "
	    "and ibuf_add_strbuf, including unterminated and short fields");
}
ATF_TC_BODY(ibuf_strings, tc)
{
	struct ibuf	*b;
	char		*s, buf[8];

	ATF_REQUIRE((b = ibuf_dynamic(0, 64)) != NULL);
	ATF_REQUIRE_EQ(ibuf_add_strbuf(b, "eth0", 8), 0);
	ATF_REQUIRE_EQ(ibuf_size(b), 8);
	ATF_REQUIRE(memcmp(ibuf_data(b), "eth0\0\0\0\0", 8) == 0);
	ATF_REQUIRE_ERRNO(EOVERFLOW, ibuf_add_strbuf(b, "12345678", 8) == -1);
	ATF_REQUIRE_ERRNO(EOVERFLOW, ibuf_add_strbuf(b, "", 0) == -1);
	ATF_REQUIRE_EQ(ibuf_size(b), 8);
	ATF_REQUIRE_EQ(ibuf_add(b, "ABCDEFGH", 8), 0);
	ATF_REQUIRE_EQ(ibuf_add(b, "hello", 5), 0);

	ATF_REQUIRE_EQ(ibuf_get_strbuf(b, buf, sizeof(buf)), 0);
	ATF_REQUIRE_STREQ(buf, "eth0");
	/* unterminated: consumed, cut and terminated, but an error */
	ATF_REQUIRE_ERRNO(EOVERFLOW,
	    ibuf_get_strbuf(b, buf, sizeof(buf)) == -1);
	ATF_REQUIRE_STREQ(buf, "ABCDEFG");
	ATF_REQUIRE_EQ(ibuf_size(b), 5);
	ATF_REQUIRE_ERRNO(EINVAL, ibuf_get_strbuf(b, buf, 0) == -1);
	ATF_REQUIRE_ERRNO(EBADMSG, ibuf_get_strbuf(b, buf, 6) == -1);
	ATF_REQUIRE_ERRNO(EBADMSG, ibuf_get_string(b, 6) == NULL);
	ATF_REQUIRE_EQ(ibuf_size(b), 5);

	ATF_REQUIRE((s = ibuf_get_string(b, 3)) != NULL);
	ATF_REQUIRE_STREQ(s, "hel");
	free(s);
	ATF_REQUIRE((s = ibuf_get_string(b, 2)) != NULL);
	ATF_REQUIRE_STREQ(s, "lo");
	free(s);
	ATF_REQUIRE_EQ(ibuf_size(b), 0);

	/* ibuf_get_string stops at an embedded NUL but consumes len */
	ibuf_rewind(b);
	ATF_REQUIRE((s = ibuf_get_string(b, 8)) != NULL);
	ATF_REQUIRE_STREQ(s, "eth0");
	free(s);
	ATF_REQUIRE_EQ(ibuf_size(b), 13);
	ibuf_free(b);
}

ATF_TC(ibuf_views_fds);
ATF_TC_HEAD(ibuf_views_fds, tc)
{
	atf_tc_set_md_var(tc, "descr", "Buffers over foreign memory "
	    "(ibuf_from_buffer, ibuf_get_ibuf) never grow; ibuf_fd_* hand "
	    "over descriptors and ibuf_free closes an unclaimed one");
}
ATF_TC_BODY(ibuf_views_fds, tc)
{
	struct ibuf	 view, view2, *b;
	unsigned char	 mem[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	uint16_t	 v16;
	int		 p[2], base, fd;

	ibuf_from_buffer(&view, mem, sizeof(mem));
	ATF_REQUIRE_EQ(ibuf_size(&view), 8);
	ATF_REQUIRE_EQ(ibuf_left(&view), 0);
	ATF_REQUIRE(ibuf_add(&view, "x", 1) == -1);
	ATF_REQUIRE_ERRNO(ERANGE, ibuf_truncate(&view, 9) == -1);
	ATF_REQUIRE_EQ(ibuf_fd_avail(&view), 0);
	ATF_REQUIRE_EQ(ibuf_fd_get(&view), -1);
	ATF_REQUIRE_EQ(ibuf_get_n16(&view, &v16), 0);
	ATF_REQUIRE_EQ(v16, 0x0102);

	/* a view of a view covers what was left unread */
	ibuf_from_ibuf(&view2, &view);
	ATF_REQUIRE_EQ(ibuf_size(&view2), 6);
	ATF_REQUIRE_EQ(*(unsigned char *)ibuf_data(&view2), 3);
	ATF_REQUIRE_EQ(ibuf_set_n8(&view2, 0, 0x33), 0);
	ATF_REQUIRE_EQ(mem[2], 0x33);
	ATF_REQUIRE_EQ(ibuf_truncate(&view2, 2), 0);
	ATF_REQUIRE_EQ(ibuf_size(&view2), 2);

	ATF_REQUIRE((b = ibuf_open(8)) != NULL);
	ATF_REQUIRE_EQ(ibuf_add(b, mem, sizeof(mem)), 0);
	ATF_REQUIRE_EQ(ibuf_get_ibuf(b, 3, &view), 0);
	ATF_REQUIRE_EQ(ibuf_size(&view), 3);
	ATF_REQUIRE_EQ(ibuf_size(b), 5);
	ATF_REQUIRE(memcmp(ibuf_data(&view), mem, 3) == 0);
	ATF_REQUIRE_ERRNO(EBADMSG, ibuf_get_ibuf(b, 6, &view2) == -1);
	ATF_REQUIRE_EQ(ibuf_size(b), 5);

	base = count_fds();
	ATF_REQUIRE_EQ(pipe(p), 0);
	ATF_REQUIRE_EQ(ibuf_fd_avail(b), 0);
	ibuf_fd_set(b, p[0]);
	ATF_REQUIRE_EQ(ibuf_fd_avail(b), 1);
	ATF_REQUIRE_EQ((fd = ibuf_fd_get(b)), p[0]);
	ATF_REQUIRE_EQ(ibuf_fd_avail(b), 0);
	ATF_REQUIRE_EQ(ibuf_fd_get(b), -1);
	/* setting a descriptor closes the one held before */
	ibuf_fd_set(b, fd);
	ibuf_fd_set(b, p[1]);
	ATF_REQUIRE(!fd_is_open(fd));
	ibuf_free(b);
	ATF_REQUIRE(!fd_is_open(p[1]));
	ATF_REQUIRE_EQ(count_fds(), base);
}

ATF_TC(imsg_framing);
ATF_TC_HEAD(imsg_framing, tc)
{
	atf_tc_set_md_var(tc, "descr", "Several messages arriving in one "
	    "read come out one by one with their header fields and payload");
	atf_tc_set_md_var(tc, "timeout", "30");
}
ATF_TC_BODY(imsg_framing, tc)
{
	struct imsgbuf	 w, r;
	struct imsg	 imsg;
	char		 big[1000];
	uint32_t	 v = 0xfeedface, got;
	int		 sv[2];

	make_channel(&w, &r, sv);
	fill_pattern((unsigned char *)big, sizeof(big), 3);

	ATF_REQUIRE_EQ(imsg_compose(&w, 1, 10, 100, -1, &v, sizeof(v)), 1);
	ATF_REQUIRE_EQ(imsg_compose(&w, 2, 20, 0, -1, NULL, 0), 1);
	ATF_REQUIRE_EQ(imsg_compose(&w, 3, 30, 300, -1, big, sizeof(big)), 1);
	ATF_REQUIRE_EQ(imsg_compose(&w, 4, 40, 400, -1, "x", 1), 1);
	ATF_REQUIRE_EQ(imsgbuf_queuelen(&w), 4);
	ATF_REQUIRE_EQ(imsgbuf_flush(&w), 0);
	ATF_REQUIRE_EQ(imsgbuf_queuelen(&w), 0);

	/* one read takes all of it: 1080 bytes is far below the buffer */
	ATF_REQUIRE_EQ(imsgbuf_read(&r), 1);

	ATF_REQUIRE_EQ(imsg_get(&r, &imsg), (ssize_t)(IMSG_HEADER_SIZE + 4));
	ATF_REQUIRE_EQ(imsg_get_type(&imsg), 1);
	ATF_REQUIRE_EQ(imsg_get_id(&imsg), 10);
	ATF_REQUIRE_EQ(imsg_get_pid(&imsg), 100);
	ATF_REQUIRE_EQ(imsg_get_len(&imsg), 4);
	ATF_REQUIRE_EQ(imsg.hdr.len, IMSG_HEADER_SIZE + 4);
	ATF_REQUIRE_EQ(imsg_get_fd(&imsg), -1);
	ATF_REQUIRE(imsg.data != NULL);
	ATF_REQUIRE_EQ(imsg_get_data(&imsg, &got, sizeof(got)), 0);
	ATF_REQUIRE_EQ(got, v);
	imsg_free(&imsg);

	ATF_REQUIRE_EQ(imsg_get(&r, &imsg), (ssize_t)IMSG_HEADER_SIZE);
	ATF_REQUIRE_EQ(imsg_get_type(&imsg), 2);
	ATF_REQUIRE_EQ(imsg_get_id(&imsg), 20);
	/* pid 0 means the sender's own */
	ATF_REQUIRE_EQ(imsg_get_pid(&imsg), getpid());
	ATF_REQUIRE_EQ(imsg_get_len(&imsg), 0);
	ATF_REQUIRE(imsg.data == NULL);
	imsg_free(&imsg);

	ATF_REQUIRE_EQ(imsg_get(&r, &imsg),
	    (ssize_t)(IMSG_HEADER_SIZE + sizeof(big)));
	ATF_REQUIRE_EQ(imsg_get_type(&imsg), 3);
	ATF_REQUIRE_EQ(imsg_get_len(&imsg), sizeof(big));
	ATF_REQUIRE(check_pattern(imsg.data, sizeof(big), 3));
	imsg_free(&imsg);

	ATF_REQUIRE_EQ(imsgbuf_get(&r, &imsg), 1);
	ATF_REQUIRE_EQ(imsg_get_type(&imsg), 4);
	ATF_REQUIRE_EQ(imsg_get_id(&imsg), 40);
	ATF_REQUIRE(memcmp(imsg.data, "x", 1) == 0);
	imsg_free(&imsg);

	ATF_REQUIRE_EQ(imsg_get(&r, &imsg), 0);
	ATF_REQUIRE_EQ(imsgbuf_get(&r, &imsg), 0);
	close_channel(&w, &r, sv);
}

ATF_TC(imsg_split_bytes);
ATF_TC_HEAD(imsg_split_bytes, tc)
{
	atf_tc_set_md_var(tc, "descr", "Messages written one byte at a "
	    "time appear only when their last byte has been read");
	atf_tc_set_md_var(tc, "timeout", "30");
}
ATF_TC_BODY(imsg_split_bytes, tc)
{
	struct imsgbuf	 r;
	struct imsg	 imsg;
	struct imsg_hdr	 hdr;
	unsigned char	 wire[2 * sizeof(struct imsg_hdr) + 10];
	size_t		 i, first;
	ssize_t		 n;
	int		 sv[2];

	make_pair(sv);
	ATF_REQUIRE_EQ(imsgbuf_init(&r, sv[1]), 0);

	hdr.type = 7;
	hdr.len = sizeof(hdr) + 10;
	hdr.peerid = 3;
	hdr.pid = 99;
	memcpy(wire, &hdr, sizeof(hdr));
	memcpy(wire + sizeof(hdr), "0123456789", 10);
	hdr.type = 8;
	hdr.len = sizeof(hdr);
	hdr.peerid = 4;
	hdr.pid = 98;
	memcpy(wire + sizeof(hdr) + 10, &hdr, sizeof(hdr));
	first = sizeof(hdr) + 10;

	for (i = 0; i < sizeof(wire); i++) {
		write_all(sv[0], wire + i, 1);
		ATF_REQUIRE_EQ(imsgbuf_read(&r), 1);
		n = imsg_get(&r, &imsg);
		if (i + 1 != first && i + 1 != sizeof(wire)) {
			ATF_REQUIRE_EQ_MSG(n, 0, "message after %zu bytes",
			    i + 1);
			continue;
		}
		if (i + 1 == first) {
			ATF_REQUIRE_EQ(n, (ssize_t)first);
			ATF_REQUIRE_EQ(imsg_get_type(&imsg), 7);
			ATF_REQUIRE_EQ(imsg_get_id(&imsg), 3);
			ATF_REQUIRE_EQ(imsg_get_pid(&imsg), 99);
			ATF_REQUIRE_EQ(imsg_get_len(&imsg), 10);
			ATF_REQUIRE(memcmp(imsg.data, "0123456789", 10) == 0);
		} else {
			ATF_REQUIRE_EQ(n, (ssize_t)sizeof(hdr));
			ATF_REQUIRE_EQ(imsg_get_type(&imsg), 8);
			ATF_REQUIRE_EQ(imsg_get_id(&imsg), 4);
			ATF_REQUIRE_EQ(imsg_get_len(&imsg), 0);
		}
		imsg_free(&imsg);
		ATF_REQUIRE_EQ(imsg_get(&r, &imsg), 0);
	}
	imsgbuf_clear(&r);
	close(sv[0]);
	close(sv[1]);
}

ATF_TC(imsg_split_chunks);
ATF_TC_HEAD(imsg_split_chunks, tc)
{
	atf_tc_set_md_var(tc, "descr", "A stream of messages written in "
	    "chunks that cut headers and payloads anywhere comes out whole "
	    "and in order");
	atf_tc_set_md_var(tc, "timeout", "30");
}
ATF_TC_BODY(imsg_split_chunks, tc)
{
	static const size_t	 plens[] = { 0, 1, 5, 17, 40, 3, 0, 100 };
	static const size_t	 chunks[] = { 3, 7, 13, 20, 33, 1 };
	struct imsgbuf	 r;
	struct imsg	 imsg;
	unsigned char	 wire[1024], payload[100];
	size_t		 total = 0, off, n, i, got = 0, nmsg, c;
	int		 sv[2];

	nmsg = sizeof(plens) / sizeof(plens[0]);
	for (i = 0; i < nmsg; i++) {
		fill_pattern(payload, plens[i], i);
		total += put_msg(wire + total, i + 1, i, payload, plens[i]);
	}

	/* every chunk size gets its turn at every offset of the stream */
	for (c = 0; c < sizeof(chunks) / sizeof(chunks[0]); c++) {
		make_pair(sv);
		ATF_REQUIRE_EQ(imsgbuf_init(&r, sv[1]), 0);
		got = 0;
		for (off = 0; off < total; off += n) {
			n = chunks[(c + off) % (sizeof(chunks) /
			    sizeof(chunks[0]))];
			if (n > total - off)
				n = total - off;
			write_all(sv[0], wire + off, n);
			ATF_REQUIRE_EQ(imsgbuf_read(&r), 1);
			while (imsg_get(&r, &imsg) > 0) {
				ATF_REQUIRE(got < nmsg);
				ATF_REQUIRE_EQ(imsg_get_type(&imsg), got + 1);
				ATF_REQUIRE_EQ(imsg_get_id(&imsg), got);
				ATF_REQUIRE_EQ(imsg_get_len(&imsg),
				    plens[got]);
				ATF_REQUIRE(check_pattern(imsg.data,
				    plens[got], got));
				imsg_free(&imsg);
				got++;
			}
		}
		ATF_REQUIRE_EQ(got, nmsg);
		imsgbuf_clear(&r);
		close(sv[0]);
		close(sv[1]);
	}
}

ATF_TC(imsg_fd_split_header);
ATF_TC_HEAD(imsg_fd_split_header, tc)
{
	atf_tc_set_md_var(tc, "descr", "A descriptor that came with the "
	    "first byte of a header split across reads is attached to that "
	    "message, not lost and not given to the next one");
	atf_tc_set_md_var(tc, "timeout", "30");
}
ATF_TC_BODY(imsg_fd_split_header, tc)
{
	struct imsgbuf	 r;
	struct imsg	 imsg;
	struct imsg_hdr	 hdr;
	unsigned char	 wire[2 * sizeof(struct imsg_hdr) + 4];
	char		 c;
	size_t		 i, len;
	int		 sv[2], p[2], base, fd;

	make_pair(sv);
	ATF_REQUIRE_EQ(imsgbuf_init(&r, sv[1]), 0);
	imsgbuf_allow_fdpass(&r);
	base = count_fds();

	hdr.type = 1;
	hdr.len = WIRE_FD_MARK | (sizeof(hdr) + 4);
	hdr.peerid = 0;
	hdr.pid = 1;
	memcpy(wire, &hdr, sizeof(hdr));
	memcpy(wire + sizeof(hdr), "data", 4);
	len = sizeof(hdr) + 4;
	/* then one that claims a descriptor it was never sent */
	len += put_msg(wire + len, 2, 0, NULL, 0);
	hdr.len = WIRE_FD_MARK | sizeof(hdr);
	memcpy(wire + sizeof(hdr) + 4 + offsetof(struct imsg_hdr, len),
	    &hdr.len, sizeof(hdr.len));

	ATF_REQUIRE_EQ(pipe(p), 0);
	write_all(p[1], "!", 1);
	close(p[1]);
	send_with_fds(sv[0], wire, 1, p, 1);
	close(p[0]);
	for (i = 1; i < len; i++) {
		ATF_REQUIRE_EQ(imsgbuf_read(&r), 1);
		if (i == sizeof(hdr) + 4) {
			ATF_REQUIRE(imsg_get(&r, &imsg) > 0);
			ATF_REQUIRE_EQ(imsg_get_type(&imsg), 1);
			ATF_REQUIRE((fd = imsg_get_fd(&imsg)) >= 0);
			ATF_REQUIRE_EQ(read(fd, &c, 1), 1);
			ATF_REQUIRE_EQ(c, '!');
			close(fd);
			imsg_free(&imsg);
		} else
			ATF_REQUIRE_EQ(imsg_get(&r, &imsg), 0);
		write_all(sv[0], wire + i, 1);
	}
	ATF_REQUIRE_EQ(get_one(&r, &imsg), (ssize_t)sizeof(hdr));
	ATF_REQUIRE_EQ(imsg_get_type(&imsg), 2);
	ATF_REQUIRE_EQ(imsg_get_fd(&imsg), -1);
	imsg_free(&imsg);
	ATF_REQUIRE_EQ(count_fds(), base);

	imsgbuf_clear(&r);
	close(sv[0]);
	close(sv[1]);
}

ATF_TC(imsg_fd_once_on_wire);
ATF_TC_HEAD(imsg_fd_once_on_wire, tc)
{
	atf_tc_set_md_var(tc, "descr", "A message with a descriptor that "
	    "the socket takes in several partial writes puts exactly one "
	    "descriptor on the wire");
	atf_tc_set_md_var(tc, "timeout", "60");
}
ATF_TC_BODY(imsg_fd_once_on_wire, tc)
{
	struct imsgbuf	 w;
	struct msghdr	 msg;
	struct cmsghdr	*cmsg;
	struct iovec	 iov;
	union {
		struct cmsghdr	hdr;
		unsigned char	buf[CMSG_SPACE(4 * sizeof(int))];
	} cmsgbuf;
	unsigned char	*big, rbuf[4096];
	size_t		 plen = 300000, total = 0, nfds, i;
	ssize_t		 n;
	int		 sv[2], p[2], sndbuf = 4096, fd, received = 0, writes = 0;

	make_pair(sv);
	ATF_REQUIRE_EQ(imsgbuf_init(&w, sv[0]), 0);
	imsgbuf_allow_fdpass(&w);
	ATF_REQUIRE_EQ(imsgbuf_set_maxsize(&w, plen), 0);
	set_nonblock(sv[0]);
	ATF_REQUIRE_EQ(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf,
	    sizeof(sndbuf)), 0);

	ATF_REQUIRE((big = calloc(1, plen)) != NULL);
	ATF_REQUIRE_EQ(pipe(p), 0);
	close(p[1]);
	ATF_REQUIRE_EQ(imsg_compose(&w, 1, 0, 0, p[0], big, plen), 1);

	while (total < plen + IMSG_HEADER_SIZE) {
		if (imsgbuf_queuelen(&w) > 0) {
			ATF_REQUIRE_EQ(imsgbuf_write(&w), 0);
			writes++;
		}
		/* read by hand, so that every descriptor sent is seen */
		iov.iov_base = rbuf;
		iov.iov_len = sizeof(rbuf);
		memset(&msg, 0, sizeof(msg));
		msg.msg_iov = &iov;
		msg.msg_iovlen = 1;
		msg.msg_control = cmsgbuf.buf;
		msg.msg_controllen = sizeof(cmsgbuf.buf);
		ATF_REQUIRE((n = recvmsg(sv[1], &msg, 0)) > 0);
		total += n;
		for (cmsg = CMSG_FIRSTHDR(&msg); cmsg != NULL;
		    cmsg = CMSG_NXTHDR(&msg, cmsg)) {
			if (cmsg->cmsg_type != SCM_RIGHTS)
				continue;
			nfds = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			for (i = 0; i < nfds; i++) {
				memcpy(&fd, CMSG_DATA(cmsg) + i * sizeof(int),
				    sizeof(int));
				close(fd);
				received++;
			}
		}
	}
	ATF_REQUIRE_EQ(total, plen + IMSG_HEADER_SIZE);
	ATF_REQUIRE_MSG(writes > 1, "one write took it all: not partial");
	ATF_REQUIRE_EQ(received, 1);
	ATF_REQUIRE_EQ(imsgbuf_queuelen(&w), 0);

	free(big);
	imsgbuf_clear(&w);
	close(sv[0]);
	close(sv[1]);
}

ATF_TC(imsg_maxsize);
ATF_TC_HEAD(imsg_maxsize, tc)
{
	atf_tc_set_md_var(tc, "descr", "A message of exactly the default "
	    "maximum goes through; one byte more is refused by every way "
	    "of composing it");
	atf_tc_set_md_var(tc, "timeout", "30");
}
ATF_TC_BODY(imsg_maxsize, tc)
{
	struct imsgbuf	 w, r;
	struct imsg	 imsg;
	struct ibuf	*b;
	unsigned char	*big;
	size_t		 max = MAX_IMSGSIZE - IMSG_HEADER_SIZE;
	int		 sv[2];

	make_channel(&w, &r, sv);
	ATF_REQUIRE((big = malloc(max + 1)) != NULL);
	fill_pattern(big, max + 1, 5);

	ATF_REQUIRE_ERRNO(ERANGE,
	    imsg_compose(&w, 1, 0, 0, -1, big, max + 1) == -1);
	ATF_REQUIRE_ERRNO(ERANGE, imsg_create(&w, 1, 0, 0, max + 1) == NULL);
	ATF_REQUIRE_ERRNO(ERANGE, imsg_create(&w, 1, 0, 0, SIZE_MAX) == NULL);
	ATF_REQUIRE((b = ibuf_open(max + 1)) != NULL);
	ATF_REQUIRE_EQ(ibuf_add(b, big, max + 1), 0);
	/* refused and consumed */
	ATF_REQUIRE_ERRNO(ERANGE, imsg_compose_ibuf(&w, 1, 0, 0, b) == -1);
	ATF_REQUIRE_EQ(imsgbuf_queuelen(&w), 0);

	/* a message under construction cannot outgrow the maximum */
	ATF_REQUIRE((b = imsg_create(&w, 2, 0, 0, 16)) != NULL);
	ATF_REQUIRE_EQ(imsg_add(b, big, max), (int)max);
	ATF_REQUIRE_EQ(imsg_add(b, big, 1), -1);	/* frees b */
	ATF_REQUIRE_EQ(imsgbuf_queuelen(&w), 0);

	ATF_REQUIRE_EQ(imsg_compose(&w, 3, 0, 0, -1, big, max), 1);
	ATF_REQUIRE_EQ(imsgbuf_flush(&w), 0);
	ATF_REQUIRE_EQ(get_one(&r, &imsg), MAX_IMSGSIZE);
	ATF_REQUIRE_EQ(imsg_get_type(&imsg), 3);
	ATF_REQUIRE_EQ(imsg_get_len(&imsg), max);
	ATF_REQUIRE(check_pattern(imsg.data, max, 5));
	imsg_free(&imsg);

	free(big);
	close_channel(&w, &r, sv);
}

ATF_TC(imsg_maxsize_wire);
ATF_TC_HEAD(imsg_maxsize_wire, tc)
{
	atf_tc_set_md_var(tc, "descr", "A header forged with a length one "
	    "over the receiver's maximum makes imsg_get fail with ERANGE "
	    "after the messages before it; exactly the maximum is fine");
	atf_tc_set_md_var(tc, "timeout", "30");
}
ATF_TC_BODY(imsg_maxsize_wire, tc)
{
	struct imsgbuf	 r;
	struct imsg	 imsg;
	unsigned char	*payload;
	size_t		 plen = MAX_IMSGSIZE - IMSG_HEADER_SIZE;
	int		 sv[2];

	make_pair(sv);
	ATF_REQUIRE_EQ(imsgbuf_init(&r, sv[1]), 0);
	ATF_REQUIRE((payload = calloc(1, plen)) != NULL);

	/* exactly the maximum, then a valid empty one, then the forgery */
	write_hdr(sv[0], 1, MAX_IMSGSIZE, 0, 1);
	write_all(sv[0], payload, plen);
	write_hdr(sv[0], 2, IMSG_HEADER_SIZE, 0, 1);
	write_hdr(sv[0], 3, MAX_IMSGSIZE + 1, 0, 1);
	write_all(sv[0], payload, 64);

	ATF_REQUIRE_EQ(get_one(&r, &imsg), MAX_IMSGSIZE);
	ATF_REQUIRE_EQ(imsg_get_type(&imsg), 1);
	imsg_free(&imsg);
	ATF_REQUIRE_EQ(get_one(&r, &imsg), (ssize_t)IMSG_HEADER_SIZE);
	ATF_REQUIRE_EQ(imsg_get_type(&imsg), 2);
	imsg_free(&imsg);

	/* the forgery may need another read to be seen */
	while (imsg_get(&r, &imsg) == 0)
		ATF_REQUIRE_EQ(imsgbuf_read(&r), 1);
	ATF_REQUIRE_ERRNO(ERANGE, imsg_get(&r, &imsg) == -1);
	/* the stream cannot be trusted any more: it stays broken */
	ATF_REQUIRE_ERRNO(ERANGE, imsg_get(&r, &imsg) == -1);
	ATF_REQUIRE_ERRNO(ERANGE, imsgbuf_read(&r) == -1);

	free(payload);
	imsgbuf_clear(&r);
	close(sv[0]);
	close(sv[1]);
}

ATF_TC(imsg_bad_header);
ATF_TC_HEAD(imsg_bad_header, tc)
{
	atf_tc_set_md_var(tc, "descr", "Headers whose length is below the "
	    "header size (0, 15) or has the descriptor bit hiding a huge "
	    "length make imsg_get fail with ERANGE");
	atf_tc_set_md_var(tc, "timeout", "30");
}
ATF_TC_BODY(imsg_bad_header, tc)
{
	static const uint32_t	 lens[] = {
		0, IMSG_HEADER_SIZE - 1, WIRE_FD_MARK | 1,
		WIRE_FD_MARK | (MAX_IMSGSIZE + 1), UINT32_MAX
	};
	struct imsgbuf	 r;
	struct imsg	 imsg;
	size_t		 i;
	int		 sv[2];

	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		make_pair(sv);
		ATF_REQUIRE_EQ(imsgbuf_init(&r, sv[1]), 0);
		write_hdr(sv[0], 5, IMSG_HEADER_SIZE + 2, 1, 1);
		write_all(sv[0], "ok", 2);
		write_hdr(sv[0], 6, lens[i], 1, 1);
		write_all(sv[0], "padding to look like a payload", 30);

		ATF_REQUIRE_EQ(get_one(&r, &imsg),
		    (ssize_t)IMSG_HEADER_SIZE + 2);
		ATF_REQUIRE_EQ(imsg_get_type(&imsg), 5);
		imsg_free(&imsg);
		while (imsg_get(&r, &imsg) == 0)
			ATF_REQUIRE_EQ(imsgbuf_read(&r), 1);
		ATF_REQUIRE_ERRNO(ERANGE, imsg_get(&r, &imsg) == -1);
		ATF_REQUIRE_ERRNO(ERANGE, imsgbuf_get(&r, &imsg) == -1);

		imsgbuf_clear(&r);
		close(sv[0]);
		close(sv[1]);
	}
}

ATF_TC(imsgbuf_set_maxsize);
ATF_TC_HEAD(imsgbuf_set_maxsize, tc)
{
	atf_tc_set_md_var(tc, "descr", "imsgbuf_set_maxsize raises the limit "
	    "on both sides (messages larger than a read buffer), refuses "
	    "values that overflow or clash with the descriptor bit, and the "
	    "receiver's limit applies to what it reads");
	atf_tc_set_md_var(tc, "timeout", "60");
}
ATF_TC_BODY(imsgbuf_set_maxsize, tc)
{
	struct imsgbuf	 w, r;
	struct imsg	 imsg;
	unsigned char	*big;
	size_t		 max = 200000;
	int		 sv[2];

	make_channel(&w, &r, sv);
	set_nonblock(sv[0]);

	ATF_REQUIRE_ERRNO(ERANGE, imsgbuf_set_maxsize(&w, UINT32_MAX) == -1);
	ATF_REQUIRE_ERRNO(EINVAL,
	    imsgbuf_set_maxsize(&w, 0x80000000U - IMSG_HEADER_SIZE) == -1);
	ATF_REQUIRE_EQ(imsgbuf_set_maxsize(&w, 0x7fffffffU -
	    IMSG_HEADER_SIZE), 0);
	ATF_REQUIRE_EQ(w.maxsize, 0x7fffffffU);

	ATF_REQUIRE_EQ(imsgbuf_set_maxsize(&w, max), 0);
	ATF_REQUIRE_EQ(w.maxsize, max + IMSG_HEADER_SIZE);
	ATF_REQUIRE_EQ(imsgbuf_set_maxsize(&r, max), 0);

	ATF_REQUIRE((big = malloc(max + 1)) != NULL);
	fill_pattern(big, max + 1, 11);
	ATF_REQUIRE_ERRNO(ERANGE,
	    imsg_compose(&w, 1, 0, 0, -1, big, max + 1) == -1);
	ATF_REQUIRE_EQ(imsg_compose(&w, 2, 0, 0, -1, big, max), 1);
	ATF_REQUIRE_EQ(imsg_compose(&w, 3, 0, 0, -1, "after", 5), 1);

	/* over three times IBUF_READ_SIZE: assembled from several reads */
	ATF_REQUIRE_EQ(pump(&w, &r, &imsg),
	    (ssize_t)(max + IMSG_HEADER_SIZE));
	ATF_REQUIRE_EQ(imsg_get_type(&imsg), 2);
	ATF_REQUIRE(check_pattern(imsg.data, max, 11));
	imsg_free(&imsg);
	ATF_REQUIRE_EQ(pump(&w, &r, &imsg), (ssize_t)IMSG_HEADER_SIZE + 5);
	ATF_REQUIRE_EQ(imsg_get_type(&imsg), 3);
	imsg_free(&imsg);

	/* a receiver with a lower limit refuses what the sender allowed */
	ATF_REQUIRE_EQ(imsgbuf_set_maxsize(&r, 1000), 0);
	ATF_REQUIRE_EQ(imsg_compose(&w, 4, 0, 0, -1, big, 1001), 1);
	while (imsgbuf_queuelen(&w) > 0)
		ATF_REQUIRE_EQ(imsgbuf_write(&w), 0);
	while (imsg_get(&r, &imsg) == 0)
		ATF_REQUIRE_EQ(imsgbuf_read(&r), 1);
	ATF_REQUIRE_ERRNO(ERANGE, imsg_get(&r, &imsg) == -1);

	free(big);
	close_channel(&w, &r, sv);
}

ATF_TC(imsg_fdpass);
ATF_TC_HEAD(imsg_fdpass, tc)
{
	atf_tc_set_md_var(tc, "descr", "Pipe descriptors sent with messages "
	    "arrive attached to the right message and read what was written "
	    "into the pipe; the sender's copies are closed");
	atf_tc_set_md_var(tc, "timeout", "30");
}
ATF_TC_BODY(imsg_fdpass, tc)
{
	struct imsgbuf	 w, r;
	struct imsg	 imsg;
	char		 c, text[32];
	int		 sv[2], p[3][2], base, i, fd;

	make_channel(&w, &r, sv);
	imsgbuf_allow_fdpass(&w);
	imsgbuf_allow_fdpass(&r);
	base = count_fds();

	/* a message without descriptor between those with one */
	for (i = 0; i < 3; i++) {
		ATF_REQUIRE_EQ(pipe(p[i]), 0);
		c = 'a' + i;
		write_all(p[i][1], &c, 1);
		close(p[i][1]);
		ATF_REQUIRE_EQ(imsg_compose(&w, 10 + i, i, 0, p[i][0],
		    &c, 1), 1);
		ATF_REQUIRE_EQ(imsg_compose(&w, 20 + i, i, 0, -1, "none", 4),
		    1);
	}
	ATF_REQUIRE_EQ(imsgbuf_flush(&w), 0);
	/* sent means closed here: the receiver holds the only copies */
	ATF_REQUIRE_EQ(imsgbuf_queuelen(&w), 0);
	for (i = 0; i < 3; i++)
		ATF_REQUIRE(!fd_is_open(p[i][0]));

	for (i = 0; i < 3; i++) {
		get_one(&r, &imsg);
		ATF_REQUIRE_EQ(imsg_get_type(&imsg), (uint32_t)(10 + i));
		ATF_REQUIRE_EQ(imsg.hdr.len, IMSG_HEADER_SIZE + 1);
		ATF_REQUIRE((fd = imsg_get_fd(&imsg)) >= 0);
		ATF_REQUIRE_EQ(imsg_get_fd(&imsg), -1);
		ATF_REQUIRE_EQ(read(fd, &c, 1), 1);
		ATF_REQUIRE_EQ(c, 'a' + i);
		ATF_REQUIRE_EQ(*(char *)imsg.data, 'a' + i);
		/* the writer closed its end: the pipe is at end of file */
		ATF_REQUIRE_EQ(read(fd, &c, 1), 0);
		close(fd);
		imsg_free(&imsg);

		get_one(&r, &imsg);
		ATF_REQUIRE_EQ(imsg_get_type(&imsg), (uint32_t)(20 + i));
		ATF_REQUIRE_EQ(imsg_get_fd(&imsg), -1);
		imsg_free(&imsg);
	}
	ATF_REQUIRE_EQ(count_fds(), base);

	/* a pipe with unread text, passed on its own */
	ATF_REQUIRE_EQ(pipe(p[0]), 0);
	write_all(p[0][1], "through the pipe", 17);
	ATF_REQUIRE_EQ(imsg_compose(&w, 30, 0, 0, p[0][0], NULL, 0), 1);
	ATF_REQUIRE_EQ(imsgbuf_flush(&w), 0);
	get_one(&r, &imsg);
	ATF_REQUIRE_EQ(imsg_get_len(&imsg), 0);
	ATF_REQUIRE((fd = imsg_get_fd(&imsg)) >= 0);
	imsg_free(&imsg);
	ATF_REQUIRE_EQ(read(fd, text, sizeof(text)), 17);
	ATF_REQUIRE_STREQ(text, "through the pipe");
	close(fd);
	close(p[0][1]);
	ATF_REQUIRE_EQ(count_fds(), base);

	close_channel(&w, &r, sv);
}

ATF_TC(imsg_fdpass_refused);
ATF_TC_HEAD(imsg_fdpass_refused, tc)
{
	atf_tc_set_md_var(tc, "descr", "Without imsgbuf_allow_fdpass a "
	    "descriptor is neither received nor sent, and no copy of it "
	    "stays open on either side");
	atf_tc_set_md_var(tc, "timeout", "30");
}
ATF_TC_BODY(imsg_fdpass_refused, tc)
{
	struct imsgbuf	 w, r;
	struct imsg	 imsg;
	int		 sv[2], p[2], base;

	/* the sender passes, the receiver does not accept */
	make_channel(&w, &r, sv);
	imsgbuf_allow_fdpass(&w);
	base = count_fds();
	ATF_REQUIRE_EQ(pipe(p), 0);
	ATF_REQUIRE_EQ(imsg_compose(&w, 1, 0, 0, p[0], "fd", 2), 1);
	ATF_REQUIRE_EQ(imsg_compose(&w, 2, 0, 0, -1, "no", 2), 1);
	ATF_REQUIRE_EQ(imsgbuf_flush(&w), 0);
	get_one(&r, &imsg);
	ATF_REQUIRE_EQ(imsg_get_type(&imsg), 1);
	ATF_REQUIRE_EQ(imsg_get_fd(&imsg), -1);
	ATF_REQUIRE(memcmp(imsg.data, "fd", 2) == 0);
	imsg_free(&imsg);
	get_one(&r, &imsg);
	ATF_REQUIRE_EQ(imsg_get_type(&imsg), 2);
	imsg_free(&imsg);
	close(p[1]);
	ATF_REQUIRE_EQ(count_fds(), base);
	close_channel(&w, &r, sv);

	/* the sender does not pass: its copy is closed all the same */
	make_channel(&w, &r, sv);
	imsgbuf_allow_fdpass(&r);
	base = count_fds();
	ATF_REQUIRE_EQ(pipe(p), 0);
	ATF_REQUIRE_EQ(imsg_compose(&w, 3, 0, 0, p[0], "fd", 2), 1);
	ATF_REQUIRE_EQ(imsgbuf_flush(&w), 0);
	ATF_REQUIRE(!fd_is_open(p[0]));
	get_one(&r, &imsg);
	ATF_REQUIRE_EQ(imsg_get_type(&imsg), 3);
	ATF_REQUIRE_EQ(imsg_get_fd(&imsg), -1);
	imsg_free(&imsg);
	close(p[1]);
	ATF_REQUIRE_EQ(count_fds(), base);
	close_channel(&w, &r, sv);
}

ATF_TC(imsg_fd_unclaimed);
ATF_TC_HEAD(imsg_fd_unclaimed, tc)
{
	atf_tc_set_md_var(tc, "descr", "A received descriptor nobody takes "
	    "is closed by imsg_free, one sent without the descriptor mark "
	    "or in excess is closed on receipt, and imsgbuf_clear closes "
	    "those queued");
	atf_tc_set_md_var(tc, "timeout", "30");
}
ATF_TC_BODY(imsg_fd_unclaimed, tc)
{
	struct imsgbuf	 w, r;
	struct imsg	 imsg;
	struct imsg_hdr	 hdr;
	char		 c;
	int		 sv[2], p[2], q[2], extra[3], base, i, fd;

	make_channel(&w, &r, sv);
	imsgbuf_allow_fdpass(&w);
	imsgbuf_allow_fdpass(&r);
	base = count_fds();

	ATF_REQUIRE_EQ(pipe(p), 0);
	close(p[1]);
	ATF_REQUIRE_EQ(imsg_compose(&w, 1, 0, 0, p[0], NULL, 0), 1);
	ATF_REQUIRE_EQ(imsgbuf_flush(&w), 0);
	get_one(&r, &imsg);
	ATF_REQUIRE_EQ(count_fds(), base + 1);
	imsg_free(&imsg);
	ATF_REQUIRE_EQ(count_fds(), base);

	/* a descriptor sent by hand with a message that does not claim one */
	ATF_REQUIRE_EQ(pipe(p), 0);
	close(p[1]);
	hdr.type = 2;
	hdr.len = sizeof(hdr);
	hdr.peerid = 0;
	hdr.pid = 1;
	send_with_fds(sv[0], &hdr, sizeof(hdr), p, 1);
	close(p[0]);
	get_one(&r, &imsg);
	ATF_REQUIRE_EQ(imsg_get_type(&imsg), 2);
	ATF_REQUIRE_EQ(imsg_get_fd(&imsg), -1);
	imsg_free(&imsg);
	ATF_REQUIRE_EQ(count_fds(), base);

	/* several descriptors with one message: it gets one, no more */
	ATF_REQUIRE_EQ(pipe(p), 0);
	ATF_REQUIRE_EQ(pipe(q), 0);
	extra[0] = p[0];
	extra[1] = q[0];
	extra[2] = q[1];
	hdr.type = 3;
	hdr.len = WIRE_FD_MARK | sizeof(hdr);
	send_with_fds(sv[0], &hdr, sizeof(hdr), extra, 3);
	close(p[0]);
	close(q[0]);
	close(q[1]);
	get_one(&r, &imsg);
	ATF_REQUIRE_EQ(imsg_get_type(&imsg), 3);
	ATF_REQUIRE((fd = imsg_get_fd(&imsg)) >= 0);
	imsg_free(&imsg);
	/* the first one sent: its write end is still open here */
	ATF_REQUIRE_EQ(write(p[1], "x", 1), 1);
	ATF_REQUIRE_EQ(read(fd, &c, 1), 1);
	ATF_REQUIRE_EQ(c, 'x');
	close(fd);
	close(p[1]);
	ATF_REQUIRE_EQ(count_fds(), base);

	/* queued for sending, and received but never fetched */
	for (i = 0; i < 2; i++) {
		ATF_REQUIRE_EQ(pipe(p), 0);
		close(p[1]);
		ATF_REQUIRE_EQ(imsg_compose(&w, 3, 0, 0, p[0], NULL, 0), 1);
	}
	ATF_REQUIRE_EQ(imsgbuf_write(&w), 0);
	ATF_REQUIRE_EQ(imsgbuf_queuelen(&w), 1);
	ATF_REQUIRE_EQ(imsgbuf_read(&r), 1);
	ATF_REQUIRE(count_fds() > base);
	close_channel(&w, &r, sv);
	ATF_REQUIRE_EQ(count_fds(), base - 2);
}

ATF_TC(imsg_get_data);
ATF_TC_HEAD(imsg_get_data, tc)
{
	atf_tc_set_md_var(tc, "descr", "imsg_get_data insists on the exact "
	    "payload size (EBADMSG otherwise), imsg_get_ibuf and "
	    "imsg_get_buf read the payload piecewise");
	atf_tc_set_md_var(tc, "timeout", "30");
}
ATF_TC_BODY(imsg_get_data, tc)
{
	struct imsgbuf	 w, r;
	struct imsg	 imsg;
	struct ibuf	 ib;
	struct {
		uint32_t	a;
		uint32_t	b;
	}		 s = { 1, 2 }, got;
	uint32_t	 small;
	uint64_t	 large[2];
	uint16_t	 v16;
	char		 two[2];
	int		 sv[2];

	make_channel(&w, &r, sv);
	ATF_REQUIRE_EQ(imsg_compose(&w, 1, 0, 0, -1, &s, sizeof(s)), 1);
	ATF_REQUIRE_EQ(imsg_compose(&w, 2, 0, 0, -1, NULL, 0), 1);
	ATF_REQUIRE_EQ(imsg_compose(&w, 3, 0, 0, -1, "\x12\x34wxyz", 6), 1);
	ATF_REQUIRE_EQ(imsgbuf_flush(&w), 0);

	get_one(&r, &imsg);
	ATF_REQUIRE_ERRNO(EBADMSG,
	    imsg_get_data(&imsg, &small, sizeof(small)) == -1);
	ATF_REQUIRE_ERRNO(EBADMSG,
	    imsg_get_data(&imsg, large, sizeof(large)) == -1);
	ATF_REQUIRE_ERRNO(EINVAL, imsg_get_data(&imsg, &got, 0) == -1);
	ATF_REQUIRE_EQ(imsg_get_data(&imsg, &got, sizeof(got)), 0);
	ATF_REQUIRE_EQ(got.a, 1);
	ATF_REQUIRE_EQ(got.b, 2);
	/* the payload has been consumed */
	ATF_REQUIRE_EQ(imsg_get_len(&imsg), 0);
	ATF_REQUIRE_ERRNO(EBADMSG,
	    imsg_get_data(&imsg, &got, sizeof(got)) == -1);
	imsg_free(&imsg);

	get_one(&r, &imsg);
	ATF_REQUIRE_ERRNO(EBADMSG,
	    imsg_get_data(&imsg, &small, sizeof(small)) == -1);
	ATF_REQUIRE_ERRNO(EBADMSG, imsg_get_ibuf(&imsg, &ib) == -1);
	imsg_free(&imsg);

	get_one(&r, &imsg);
	ATF_REQUIRE_EQ(imsg_get_ibuf(&imsg, &ib), 0);
	ATF_REQUIRE_EQ(ibuf_size(&ib), 6);
	ATF_REQUIRE_EQ(ibuf_get_n16(&ib, &v16), 0);
	ATF_REQUIRE_EQ(v16, 0x1234);
	ATF_REQUIRE_EQ(ibuf_get(&ib, two, 2), 0);
	ATF_REQUIRE(memcmp(two, "wx", 2) == 0);
	ATF_REQUIRE_ERRNO(EBADMSG, ibuf_get_h32(&ib, &small) == -1);
	imsg_free(&imsg);

	/* the same message read with imsg_get_buf, bit by bit */
	ATF_REQUIRE_EQ(imsg_compose(&w, 3, 0, 0, -1, "\x12\x34wxyz", 6), 1);
	ATF_REQUIRE_EQ(imsgbuf_flush(&w), 0);
	get_one(&r, &imsg);
	ATF_REQUIRE_EQ(imsg_get_buf(&imsg, two, 2), 0);
	ATF_REQUIRE(memcmp(two, "\x12\x34", 2) == 0);
	ATF_REQUIRE_EQ(imsg_get_len(&imsg), 4);
	ATF_REQUIRE_ERRNO(EBADMSG, imsg_get_buf(&imsg, large, 5) == -1);
	ATF_REQUIRE_EQ(imsg_get_buf(&imsg, large, 4), 0);
	ATF_REQUIRE(memcmp(large, "wxyz", 4) == 0);
	ATF_REQUIRE_EQ(imsg_get_len(&imsg), 0);
	imsg_free(&imsg);

	close_channel(&w, &r, sv);
}

ATF_TC(imsg_get_strbuf);
ATF_TC_HEAD(imsg_get_strbuf, tc)
{
	atf_tc_set_md_var(tc, "descr", "imsg_get_strbuf copies a terminated "
	    "string, refuses an unterminated one with EOVERFLOW and a short "
	    "payload with EBADMSG");
	atf_tc_set_md_var(tc, "timeout", "30");
}
ATF_TC_BODY(imsg_get_strbuf, tc)
{
	struct imsgbuf	 w, r;
	struct imsg	 imsg;
	struct ibuf	*b;
	char		 name[16];
	int		 sv[2];

	make_channel(&w, &r, sv);

	ATF_REQUIRE((b = imsg_create(&w, 1, 0, 0, sizeof(name))) != NULL);
	ATF_REQUIRE_EQ(ibuf_add_strbuf(b, "uplink0", sizeof(name)), 0);
	imsg_close(&w, b);
	ATF_REQUIRE_EQ(imsg_compose(&w, 2, 0, 0, -1, "0123456789abcdef",
	    sizeof(name)), 1);
	ATF_REQUIRE_EQ(imsg_compose(&w, 3, 0, 0, -1, "short", 6), 1);
	ATF_REQUIRE_EQ(imsgbuf_flush(&w), 0);

	get_one(&r, &imsg);
	ATF_REQUIRE_EQ(imsg_get_len(&imsg), sizeof(name));
	ATF_REQUIRE_EQ(imsg_get_strbuf(&imsg, name, sizeof(name)), 0);
	ATF_REQUIRE_STREQ(name, "uplink0");
	imsg_free(&imsg);

	get_one(&r, &imsg);
	ATF_REQUIRE_ERRNO(EOVERFLOW,
	    imsg_get_strbuf(&imsg, name, sizeof(name)) == -1);
	ATF_REQUIRE_STREQ(name, "0123456789abcde");
	imsg_free(&imsg);

	get_one(&r, &imsg);
	ATF_REQUIRE_ERRNO(EBADMSG,
	    imsg_get_strbuf(&imsg, name, sizeof(name)) == -1);
	ATF_REQUIRE_EQ(imsg_get_strbuf(&imsg, name, 6), 0);
	ATF_REQUIRE_STREQ(name, "short");
	imsg_free(&imsg);

	close_channel(&w, &r, sv);
}

ATF_TC(imsg_forward);
ATF_TC_HEAD(imsg_forward, tc)
{
	atf_tc_set_md_var(tc, "descr", "imsg_forward passes a message on "
	    "unchanged, more than once if asked, without its descriptor, "
	    "even after the payload was read");
	atf_tc_set_md_var(tc, "timeout", "30");
}
ATF_TC_BODY(imsg_forward, tc)
{
	struct imsgbuf	 a, b1, b2, c;
	struct imsg	 imsg, fwd;
	char		 buf[8];
	int		 sab[2], sbc[2], p[2], fd, i;

	make_channel(&a, &b1, sab);
	make_channel(&b2, &c, sbc);
	imsgbuf_allow_fdpass(&a);
	imsgbuf_allow_fdpass(&b1);
	imsgbuf_allow_fdpass(&b2);
	imsgbuf_allow_fdpass(&c);

	ATF_REQUIRE_EQ(pipe(p), 0);
	ATF_REQUIRE_EQ(imsg_compose(&a, 42, 7, 1234, p[0], "payload", 8), 1);
	ATF_REQUIRE_EQ(imsg_compose(&a, 43, 8, 0, -1, NULL, 0), 1);
	ATF_REQUIRE_EQ(imsgbuf_flush(&a), 0);

	get_one(&b1, &imsg);
	ATF_REQUIRE_EQ(imsg_get_buf(&imsg, buf, 3), 0);
	ATF_REQUIRE_EQ(imsg_forward(&b2, &imsg), 1);
	ATF_REQUIRE_EQ(imsg_forward(&b2, &imsg), 1);
	/* the descriptor stayed with the message */
	ATF_REQUIRE((fd = imsg_get_fd(&imsg)) >= 0);
	close(fd);
	imsg_free(&imsg);
	get_one(&b1, &imsg);
	ATF_REQUIRE_EQ(imsg_forward(&b2, &imsg), 1);
	imsg_free(&imsg);
	ATF_REQUIRE_EQ(imsgbuf_flush(&b2), 0);

	for (i = 0; i < 2; i++) {
		get_one(&c, &fwd);
		ATF_REQUIRE_EQ(imsg_get_type(&fwd), 42);
		ATF_REQUIRE_EQ(imsg_get_id(&fwd), 7);
		ATF_REQUIRE_EQ(imsg_get_pid(&fwd), 1234);
		ATF_REQUIRE_EQ(imsg_get_len(&fwd), 8);
		ATF_REQUIRE_STREQ(fwd.data, "payload");
		ATF_REQUIRE_EQ(imsg_get_fd(&fwd), -1);
		imsg_free(&fwd);
	}
	get_one(&c, &fwd);
	ATF_REQUIRE_EQ(imsg_get_type(&fwd), 43);
	ATF_REQUIRE_EQ(imsg_get_id(&fwd), 8);
	/* the original sender's pid, not the forwarder's (same here) */
	ATF_REQUIRE_EQ(imsg_get_pid(&fwd), getpid());
	ATF_REQUIRE_EQ(imsg_get_len(&fwd), 0);
	imsg_free(&fwd);

	close(p[1]);
	close_channel(&a, &b1, sab);
	close_channel(&b2, &c, sbc);
}

ATF_TC(imsgbuf_read_eof);
ATF_TC_HEAD(imsgbuf_read_eof, tc)
{
	atf_tc_set_md_var(tc, "descr", "imsgbuf_read returns 1 when a "
	    "non-blocking socket has nothing, 0 once the peer has closed, "
	    "also in the middle of a message");
	atf_tc_set_md_var(tc, "timeout", "30");
}
ATF_TC_BODY(imsgbuf_read_eof, tc)
{
	struct imsgbuf	 w, r;
	struct imsg	 imsg;
	int		 sv[2];

	make_channel(&w, &r, sv);
	set_nonblock(sv[1]);
	ATF_REQUIRE_EQ(imsgbuf_read(&r), 1);
	ATF_REQUIRE_EQ(imsg_get(&r, &imsg), 0);

	ATF_REQUIRE_EQ(imsg_compose(&w, 1, 0, 0, -1, "last", 4), 1);
	ATF_REQUIRE_EQ(imsgbuf_flush(&w), 0);
	write_hdr(sv[0], 2, IMSG_HEADER_SIZE + 100, 0, 1);
	write_all(sv[0], "cut short", 9);
	close(sv[0]);

	/* what arrived before the close is still delivered */
	ATF_REQUIRE_EQ(imsgbuf_read(&r), 1);
	ATF_REQUIRE_EQ(imsg_get(&r, &imsg), (ssize_t)IMSG_HEADER_SIZE + 4);
	imsg_free(&imsg);
	ATF_REQUIRE_EQ(imsg_get(&r, &imsg), 0);
	ATF_REQUIRE_EQ(imsgbuf_read(&r), 0);
	ATF_REQUIRE_EQ(imsgbuf_read(&r), 0);

	imsgbuf_clear(&w);
	imsgbuf_clear(&r);
	close(sv[1]);
}

ATF_TC(imsg_write_eagain);
ATF_TC_HEAD(imsg_write_eagain, tc)
{
	atf_tc_set_md_var(tc, "descr", "On a full non-blocking socket "
	    "imsgbuf_write returns 0 and keeps the rest; partial writes "
	    "resume where they stopped and descriptors stay with their "
	    "messages");
	atf_tc_set_md_var(tc, "timeout", "60");
}
ATF_TC_BODY(imsg_write_eagain, tc)
{
	struct imsgbuf	 w, r;
	struct imsg	 imsg;
	unsigned char	 payload[3001];
	unsigned char	 c;
	uint32_t	 seq;
	int		 sv[2], p[2], sndbuf = 4096, fd, nmsg = 200;

	make_channel(&w, &r, sv);
	imsgbuf_allow_fdpass(&w);
	imsgbuf_allow_fdpass(&r);
	set_nonblock(sv[0]);
	ATF_REQUIRE_EQ(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf,
	    sizeof(sndbuf)), 0);

	/* about 600 KB: far more than the socket holds */
	for (seq = 0; seq < (uint32_t)nmsg; seq++) {
		fill_pattern(payload, sizeof(payload), seq);
		fd = -1;
		if (seq % 10 == 0) {
			ATF_REQUIRE_EQ(pipe(p), 0);
			c = (unsigned char)seq;
			write_all(p[1], &c, 1);
			close(p[1]);
			fd = p[0];
		}
		ATF_REQUIRE_EQ(imsg_compose(&w, 1, seq, 0, fd, payload,
		    sizeof(payload)), 1);
	}

	ATF_REQUIRE_EQ(imsgbuf_write(&w), 0);
	ATF_REQUIRE_EQ(imsgbuf_write(&w), 0);
	ATF_REQUIRE_MSG(imsgbuf_queuelen(&w) > 0,
	    "the socket took everything, EAGAIN was not exercised");

	for (seq = 0; seq < (uint32_t)nmsg; seq++) {
		ATF_REQUIRE_EQ(pump(&w, &r, &imsg),
		    (ssize_t)(IMSG_HEADER_SIZE + sizeof(payload)));
		ATF_REQUIRE_EQ(imsg_get_id(&imsg), seq);
		ATF_REQUIRE_MSG(check_pattern(imsg.data, sizeof(payload), seq),
		    "payload of message %u corrupt", seq);
		fd = imsg_get_fd(&imsg);
		if (seq % 10 == 0) {
			ATF_REQUIRE_MSG(fd >= 0, "message %u lost its fd", seq);
			ATF_REQUIRE_EQ(read(fd, &c, 1), 1);
			ATF_REQUIRE_EQ(c, (unsigned char)seq);
			close(fd);
		} else
			ATF_REQUIRE_EQ_MSG(fd, -1, "message %u got an fd", seq);
		imsg_free(&imsg);
	}
	ATF_REQUIRE_EQ(imsgbuf_queuelen(&w), 0);
	ATF_REQUIRE_EQ(imsg_get(&r, &imsg), 0);
	close_channel(&w, &r, sv);
}

ATF_TC(imsg_compose_variants);
ATF_TC_HEAD(imsg_compose_variants, tc)
{
	atf_tc_set_md_var(tc, "descr", "imsg_composev, imsg_compose_ibuf "
	    "and imsg_create/imsg_add/imsg_close build the same messages "
	    "as imsg_compose; imsg_set_maxsize limits one message");
	atf_tc_set_md_var(tc, "timeout", "30");
}
ATF_TC_BODY(imsg_compose_variants, tc)
{
	struct imsgbuf	 w, r;
	struct imsg	 imsg;
	struct ibuf	*b;
	struct iovec	 iov[3];
	int		 sv[2], i;

	make_channel(&w, &r, sv);

	iov[0].iov_base = "one ";
	iov[0].iov_len = 4;
	iov[1].iov_base = "";
	iov[1].iov_len = 0;
	iov[2].iov_base = "two";
	iov[2].iov_len = 4;
	ATF_REQUIRE_EQ(imsg_composev(&w, 1, 11, 0, -1, iov, 3), 1);

	ATF_REQUIRE((b = ibuf_dynamic(0, 64)) != NULL);
	ATF_REQUIRE_EQ(ibuf_add(b, "one two", 8), 0);
	ATF_REQUIRE_EQ(imsg_compose_ibuf(&w, 2, 22, 0, b), 1);

	ATF_REQUIRE((b = imsg_create(&w, 3, 33, 0, 2)) != NULL);
	ATF_REQUIRE_EQ(imsg_add(b, "one ", 4), 4);
	ATF_REQUIRE_EQ(imsg_add(b, NULL, 0), 0);
	ATF_REQUIRE_EQ(imsg_add(b, "two", 4), 4);
	imsg_close(&w, b);

	/* the limit of this one message, not the channel's */
	ATF_REQUIRE((b = imsg_create(&w, 4, 44, 0, 0)) != NULL);
	ATF_REQUIRE_EQ(imsg_set_maxsize(b, 8), 0);
	ATF_REQUIRE_EQ(imsg_add(b, "one two", 8), 8);
	ATF_REQUIRE_EQ(imsg_add(b, "!", 1), -1);	/* frees b */

	ATF_REQUIRE_EQ(imsgbuf_flush(&w), 0);
	for (i = 1; i <= 3; i++) {
		ATF_REQUIRE_EQ(get_one(&r, &imsg),
		    (ssize_t)IMSG_HEADER_SIZE + 8);
		ATF_REQUIRE_EQ(imsg_get_type(&imsg), (uint32_t)i);
		ATF_REQUIRE_EQ(imsg_get_id(&imsg), (uint32_t)(11 * i));
		ATF_REQUIRE_EQ(imsg_get_pid(&imsg), getpid());
		ATF_REQUIRE_STREQ(imsg.data, "one two");
		imsg_free(&imsg);
	}
	ATF_REQUIRE_EQ(imsg_get(&r, &imsg), 0);
	close_channel(&w, &r, sv);
}

ATF_TC(imsgbuf_write_epipe);
ATF_TC_HEAD(imsgbuf_write_epipe, tc)
{
	atf_tc_set_md_var(tc, "descr", "Writing to a closed peer fails with "
	    "EPIPE; writing an empty queue is a no-op");
	atf_tc_set_md_var(tc, "timeout", "30");
}
ATF_TC_BODY(imsgbuf_write_epipe, tc)
{
	struct imsgbuf	 w;
	int		 sv[2];

	/* as the daemons do: a closed peer is an error, not a signal */
	ATF_REQUIRE(signal(SIGPIPE, SIG_IGN) != SIG_ERR);
	make_pair(sv);
	ATF_REQUIRE_EQ(imsgbuf_init(&w, sv[0]), 0);
	ATF_REQUIRE_EQ(imsgbuf_write(&w), 0);
	ATF_REQUIRE_EQ(imsgbuf_flush(&w), 0);
	close(sv[1]);
	ATF_REQUIRE_EQ(imsg_compose(&w, 1, 0, 0, -1, "x", 1), 1);
	ATF_REQUIRE_ERRNO(EPIPE, imsgbuf_write(&w) == -1);
	ATF_REQUIRE_ERRNO(EPIPE, imsgbuf_flush(&w) == -1);
	ATF_REQUIRE_EQ(imsgbuf_queuelen(&w), 1);
	imsgbuf_clear(&w);
	close(sv[0]);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, ibuf_add_get);
	ATF_TP_ADD_TC(tp, ibuf_limits);
	ATF_TP_ADD_TC(tp, ibuf_seek_set);
	ATF_TP_ADD_TC(tp, ibuf_strings);
	ATF_TP_ADD_TC(tp, ibuf_views_fds);
	ATF_TP_ADD_TC(tp, imsg_framing);
	ATF_TP_ADD_TC(tp, imsg_split_bytes);
	ATF_TP_ADD_TC(tp, imsg_split_chunks);
	ATF_TP_ADD_TC(tp, imsg_fd_split_header);
	ATF_TP_ADD_TC(tp, imsg_fd_once_on_wire);
	ATF_TP_ADD_TC(tp, imsg_maxsize);
	ATF_TP_ADD_TC(tp, imsg_maxsize_wire);
	ATF_TP_ADD_TC(tp, imsg_bad_header);
	ATF_TP_ADD_TC(tp, imsgbuf_set_maxsize);
	ATF_TP_ADD_TC(tp, imsg_fdpass);
	ATF_TP_ADD_TC(tp, imsg_fdpass_refused);
	ATF_TP_ADD_TC(tp, imsg_fd_unclaimed);
	ATF_TP_ADD_TC(tp, imsg_get_data);
	ATF_TP_ADD_TC(tp, imsg_get_strbuf);
	ATF_TP_ADD_TC(tp, imsg_forward);
	ATF_TP_ADD_TC(tp, imsgbuf_read_eof);
	ATF_TP_ADD_TC(tp, imsg_write_eagain);
	ATF_TP_ADD_TC(tp, imsg_compose_variants);
	ATF_TP_ADD_TC(tp, imsgbuf_write_epipe);

	return (atf_no_error());
}
