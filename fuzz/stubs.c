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
 * Stand-ins for what a harness links instead of the real thing:
 *
 * - common/log.c: messages are formatted (so that a bad argument still
 *   shows) and dropped, or printed when FUZZ_LOG is set; fatal() and
 *   fatalx() abort, so that an input which makes a process exit is a
 *   finding like a crash;
 * - libevent: nothing is ever dispatched, an event only remembers
 *   whether it was set and added;
 * - libtls: no handshake, a fixed peer certificate hash, and a session
 *   reads what the harness fed it with fuzz_tls_feed(); what a session
 *   writes is checked to be well-formed control messages;
 * - the imsg plumbing of marconid.c, the sandbox and the tun device.
 */

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <event.h>
#include <fcntl.h>
#include <imsg.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <tls.h>
#include <unistd.h>

#include "marconid.h"
#include "pipe.h"
#include "fuzz.h"

/* common/log.c */

static int	 verbose;
static int	 log_to_stderr = -1;

void
log_init(int n_debug, int facility)
{
	verbose = n_debug;
}

void
log_procinit(const char *procname)
{
}

void
log_setverbose(int v)
{
	verbose = v;
}

int
log_getverbose(void)
{
	return (verbose);
}

void
vlog(int pri, const char *fmt, va_list ap)
{
	char	 buf[1024];
	int	 saved_errno = errno;

	if (log_to_stderr == -1)
		log_to_stderr = getenv("FUZZ_LOG") != NULL;
	(void)vsnprintf(buf, sizeof(buf), fmt, ap);
	if (log_to_stderr)
		fprintf(stderr, "%s\n", buf);
	errno = saved_errno;
}

void
logit(int pri, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vlog(pri, fmt, ap);
	va_end(ap);
}

void
log_warn(const char *emsg, ...)
{
	va_list	 ap;

	va_start(ap, emsg);
	vlog(LOG_ERR, emsg, ap);
	va_end(ap);
}

void
log_warnx(const char *emsg, ...)
{
	va_list	 ap;

	va_start(ap, emsg);
	vlog(LOG_ERR, emsg, ap);
	va_end(ap);
}

void
log_info(const char *emsg, ...)
{
	va_list	 ap;

	va_start(ap, emsg);
	vlog(LOG_INFO, emsg, ap);
	va_end(ap);
}

void
log_debug(const char *emsg, ...)
{
	va_list	 ap;

	if (verbose) {
		va_start(ap, emsg);
		vlog(LOG_DEBUG, emsg, ap);
		va_end(ap);
	}
}

void
fatal(const char *emsg, ...)
{
	va_list	 ap;
	int	 saved_errno = errno;

	va_start(ap, emsg);
	fprintf(stderr, "fatal: ");
	vfprintf(stderr, emsg, ap);
	fprintf(stderr, ": %s\n", strerror(saved_errno));
	va_end(ap);
	abort();
}

void
fatalx(const char *emsg, ...)
{
	va_list	 ap;

	va_start(ap, emsg);
	fprintf(stderr, "fatal: ");
	vfprintf(stderr, emsg, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	abort();
}

/*
 * libevent.  ev_res, which libevent 1 and 2 both have and which only
 * their dispatcher sets, says whether the event was set and added.
 */

#define FUZZ_EV_SET	0x1
#define FUZZ_EV_ADDED	0x2

struct event_base *
event_init(void)
{
	return (NULL);
}

int
event_dispatch(void)
{
	return (0);
}

void
event_set(struct event *ev, evutil_socket_t fd, short events,
    void (*cb)(evutil_socket_t, short, void *), void *arg)
{
	memset(ev, 0, sizeof(*ev));
	ev->ev_fd = fd;
	ev->ev_events = events;
	ev->ev_res = FUZZ_EV_SET;
}

int
event_add(struct event *ev, const struct timeval *tv)
{
	if (!(ev->ev_res & FUZZ_EV_SET)) {
		fprintf(stderr, "event added before it was set\n");
		abort();
	}
	ev->ev_res |= FUZZ_EV_ADDED;
	return (0);
}

int
event_del(struct event *ev)
{
	ev->ev_res &= ~FUZZ_EV_ADDED;
	return (0);
}

int
event_initialized(const struct event *ev)
{
	return ((ev->ev_res & FUZZ_EV_SET) != 0);
}

int
event_pending(const struct event *ev, short events, struct timeval *tv)
{
	if (!(ev->ev_res & FUZZ_EV_ADDED))
		return (0);
	return (ev->ev_events & events);
}

/*
 * libtls.  The harness feeds each session its plaintext; the messages a
 * session writes must be what doc/wire.md allows, taken apart as the
 * peer would: a 4-byte header, then a body of the type's exact length.
 */

struct tls {
	const uint8_t	*in;
	size_t		 inlen;
	int		 eof;
	size_t		 wlimit;	/* bytes taken per tls_write, 0: all */
	uint8_t		 out[SESS_MSG_HDRLEN + SESS_MSG_MAXBODY];
	size_t		 outlen;
};

struct tls_config {
	int		 unused;
};

const char		*fuzz_tls_peer_hash = "SHA256:fuzz";
static struct tls_config the_config;

void
fuzz_tls_feed(struct tls *t, const uint8_t *data, size_t len)
{
	t->in = data;
	t->inlen = len;
}

void
fuzz_tls_set_eof(struct tls *t)
{
	t->eof = 1;
}

void
fuzz_tls_set_wlimit(struct tls *t, size_t n)
{
	t->wlimit = n;
}

size_t
fuzz_tls_unread(struct tls *t)
{
	return (t->inlen);
}

int
tls_init(void)
{
	return (0);
}

const char *
tls_config_error(struct tls_config *cfg)
{
	return ("no configuration in a fuzzer");
}

const char *
tls_error(struct tls *t)
{
	return ("error of the libtls stand-in");
}

struct tls_config *
tls_config_new(void)
{
	return (&the_config);
}

void
tls_config_free(struct tls_config *cfg)
{
}

int
tls_config_set_keypair_mem(struct tls_config *cfg, const uint8_t *cert,
    size_t certlen, const uint8_t *key, size_t keylen)
{
	return (0);
}

int
tls_config_set_ca_mem(struct tls_config *cfg, const uint8_t *ca,
    size_t calen)
{
	return (0);
}

int
tls_config_set_protocols(struct tls_config *cfg, uint32_t protocols)
{
	return (0);
}

void
tls_config_insecure_noverifycert(struct tls_config *cfg)
{
}

void
tls_config_insecure_noverifyname(struct tls_config *cfg)
{
}

void
tls_config_verify_client(struct tls_config *cfg)
{
}

static struct tls *
fake_tls_new(void)
{
	struct tls	*t;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		abort();
	return (t);
}

struct tls *
tls_client(void)
{
	return (fake_tls_new());
}

struct tls *
tls_server(void)
{
	return (fake_tls_new());
}

int
tls_configure(struct tls *t, struct tls_config *cfg)
{
	return (0);
}

void
tls_free(struct tls *t)
{
	free(t);
}

int
tls_accept_socket(struct tls *t, struct tls **cctx, int s)
{
	*cctx = fake_tls_new();
	return (0);
}

int
tls_connect_socket(struct tls *t, int s, const char *servername)
{
	return (0);
}

int
tls_handshake(struct tls *t)
{
	return (0);
}

int
tls_close(struct tls *t)
{
	return (0);
}

int
tls_peer_cert_provided(struct tls *t)
{
	return (1);
}

const char *
tls_peer_cert_hash(struct tls *t)
{
	return (fuzz_tls_peer_hash);
}

ssize_t
tls_read(struct tls *t, void *buf, size_t len)
{
	if (len == 0) {
		fprintf(stderr, "tls_read with no room: the buffer is "
		    "stuck\n");
		abort();
	}
	if (t->inlen == 0)
		return (t->eof ? 0 : TLS_WANT_POLLIN);
	if (len > t->inlen)
		len = t->inlen;
	memcpy(buf, t->in, len);
	t->in += len;
	t->inlen -= len;
	return (len);
}

static void
fake_tls_check(struct tls *t)
{
	static const int	 bodylen[] = {
		[SMSG_HELLO] = sizeof(struct sess_hello),
		[SMSG_REKEY] = sizeof(struct sess_rekey),
		[SMSG_REKEY_ACK] = sizeof(struct sess_rekey),
		[SMSG_REKEY_DONE] = 4,
		[SMSG_KEEPALIVE] = 0,
	};
	size_t			 blen;
	uint8_t			 type;

	while (t->outlen >= SESS_MSG_HDRLEN) {
		type = t->out[0];
		blen = (t->out[2] << 8) | t->out[3];
		if (type < SMSG_HELLO || type > SMSG_KEEPALIVE ||
		    t->out[1] != 0 || (int)blen != bodylen[type]) {
			fprintf(stderr, "a session sent a malformed message: "
			    "type %u, length %zu\n", type, blen);
			abort();
		}
		if (t->outlen < SESS_MSG_HDRLEN + blen)
			break;
		t->outlen -= SESS_MSG_HDRLEN + blen;
		memmove(t->out, t->out + SESS_MSG_HDRLEN + blen, t->outlen);
	}
}

ssize_t
tls_write(struct tls *t, const void *buf, size_t len)
{
	const uint8_t	*p = buf;
	size_t		 done, n;

	if (len == 0) {
		fprintf(stderr, "tls_write of nothing\n");
		abort();
	}
	if (t->wlimit != 0 && len > t->wlimit)
		len = t->wlimit;
	/* a body is at most 56 bytes: there is always room after a check */
	for (done = 0; done < len; done += n) {
		n = sizeof(t->out) - t->outlen;
		if (n > len - done)
			n = len - done;
		memcpy(t->out + t->outlen, p + done, n);
		t->outlen += n;
		fake_tls_check(t);
	}
	return (len);
}

/*
 * marconid.c: the imsg plumbing as there, without events.  A channel
 * whose handler is fuzz_null_handler queues nothing: what is composed
 * for it goes to fuzz_compose_hook, if set.
 */

void	(*fuzz_compose_hook)(uint32_t, const void *, size_t);

void
fuzz_null_handler(int fd, short event, void *arg)
{
}

void
proc_title(const char *title)
{
}

void
child_privdrop(const char *user)
{
	fprintf(stderr, "%s: not in a fuzzer\n", __func__);
	abort();
}

void
imsgev_init(struct imsgev *iev, int fd, void (*handler)(int, short, void *),
    void *data)
{
	if (imsgbuf_init(&iev->ibuf, fd) == -1)
		fatal("%s: imsgbuf_init", __func__);
	if (imsgbuf_set_maxsize(&iev->ibuf, MARCONID_IMSGSIZE) == -1)
		fatal("%s: imsgbuf_set_maxsize", __func__);
	iev->handler = handler;
	iev->data = data;
	iev->events = EV_READ;
	event_set(&iev->ev, fd, iev->events | EV_PERSIST, iev->handler, iev);
	event_add(&iev->ev, NULL);
}

void
imsgev_clear(struct imsgev *iev)
{
	if (iev->handler == NULL)
		return;
	event_del(&iev->ev);
	imsgbuf_clear(&iev->ibuf);
	close(iev->ibuf.fd);
	iev->ibuf.fd = -1;
	iev->handler = NULL;
}

/* As in marconid.c, so that what makes it fatal there aborts here. */
int
imsgev_read(struct imsgev *iev, short event)
{
	int	 n;

	if (event & EV_READ) {
		if ((n = imsgbuf_read(&iev->ibuf)) == -1) {
			if (errno == ECONNRESET)
				return (0);
			fatal("%s: imsgbuf_read", __func__);
		}
		if (n == 0)
			return (0);
	}
	if (event & EV_WRITE) {
		if (imsgbuf_write(&iev->ibuf) == -1) {
			if (errno == EPIPE)
				return (0);
			fatal("%s: imsgbuf_write", __func__);
		}
	}
	return (1);
}

void
imsg_event_add(struct imsgev *iev)
{
}

void
imsgev_flush(struct imsgev *iev)
{
}

int
imsg_compose_event(struct imsgev *iev, uint32_t type, uint32_t peerid,
    pid_t pid, int fd, const void *data, size_t datalen)
{
	if (iev->handler == NULL) {
		if (fd != -1)
			close(fd);
		return (-1);
	}
	if (iev->handler == fuzz_null_handler) {
		if (fuzz_compose_hook != NULL)
			fuzz_compose_hook(type, data, datalen);
		if (fd != -1)
			close(fd);
		return (1);
	}
	if (imsg_compose(&iev->ibuf, type, peerid, pid, fd, data,
	    datalen) == -1)
		fatal("%s: imsg_compose type %u", __func__, type);
	return (1);
}

const char *
imsg_type_name(uint32_t type)
{
	static char	 buf[32];

	snprintf(buf, sizeof(buf), "imsg type %u", type);
	return (buf);
}

/* the sandbox and the device, which no harness reaches */

void
sandbox_init(enum marconid_process proc)
{
	fprintf(stderr, "%s: not in a fuzzer\n", __func__);
	abort();
}

/* the device gives fuzz_tun_in once, and counts what it is given */
const uint8_t	*fuzz_tun_in;
size_t		 fuzz_tun_inlen;
uint64_t	 fuzz_tun_out;

ssize_t
tun_recv(int fd, enum iface_type type, void *buf, size_t len)
{
	if (fuzz_tun_in == NULL) {
		errno = EAGAIN;
		return (-1);
	}
	if (len > fuzz_tun_inlen)
		len = fuzz_tun_inlen;
	memcpy(buf, fuzz_tun_in, len);
	fuzz_tun_in = NULL;
	return (len);
}

ssize_t
tun_send(int fd, enum iface_type type, const void *buf, size_t len)
{
	fuzz_tun_out++;
	return (len);
}

int
tun_flush(int fd)
{
	return (0);
}

/*
 * Descriptors left open by an input: those open now among the 64 from
 * the lowest that was free when marked, against those open then.
 * Pipes do not count: the sanitizers open some to their symbolizer
 * at any time, and no code under test makes any.
 */

#define FD_WINDOW	64

static int	 fd_base = -1;
static uint64_t	 fd_open_then;

static uint64_t
fds_open(void)
{
	struct stat	 st;
	uint64_t	 map = 0;
	int		 i;

	for (i = 0; i < FD_WINDOW; i++)
		if (fstat(fd_base + i, &st) == 0 && !S_ISFIFO(st.st_mode))
			map |= 1ULL << i;
	return (map);
}

void
fuzz_fd_mark(void)
{
	if ((fd_base = open("/dev/null", O_RDONLY | O_CLOEXEC)) == -1)
		fatal("%s: /dev/null", __func__);
	close(fd_base);
	fd_open_then = fds_open();
}

void
fuzz_fd_check(void)
{
	uint64_t	 now;
	char		 path[64], target[256];
	ssize_t		 n;
	int		 i;

	if (fd_base == -1)
		return;
	if ((now = fds_open()) != fd_open_then) {
		for (i = 0; i < FD_WINDOW; i++) {
			if (!((now & ~fd_open_then) & (1ULL << i)))
				continue;
			snprintf(path, sizeof(path), "/proc/self/fd/%d",
			    fd_base + i);
			if ((n = readlink(path, target, sizeof(target) - 1)) ==
			    -1)
				n = 0;
			target[n] = '\0';
			fprintf(stderr, "descriptor %d left open: %s\n",
			    fd_base + i, target);
		}
		abort();
	}
}

/*
 * A directory for a configuration file, with the empty certificate and
 * key that it names (the parser wants them to exist), removed at exit.
 */

static char	 tmpdir[PATH_MAX - 64];	/* room for the file names */

static void
tmpdir_remove(void)
{
	char		 path[PATH_MAX];
	const char	*names[] = { "marconid.conf", "site.crt", "site.key" };
	size_t		 i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", tmpdir, names[i]);
		unlink(path);
	}
	rmdir(tmpdir);
}

const char *
fuzz_tmpdir(void)
{
	char		 path[PATH_MAX];
	const char	*tmp;
	int		 fd;

	if (tmpdir[0] != '\0')
		return (tmpdir);
	if ((tmp = getenv("TMPDIR")) == NULL)
		tmp = "/tmp";
	snprintf(tmpdir, sizeof(tmpdir), "%s/marconid-fuzz.XXXXXX", tmp);
	if (mkdtemp(tmpdir) == NULL)
		fatal("%s: mkdtemp", __func__);
	atexit(tmpdir_remove);
	snprintf(path, sizeof(path), "%s/site.crt", tmpdir);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600)) == -1)
		fatal("%s: %s", __func__, path);
	close(fd);
	snprintf(path, sizeof(path), "%s/site.key", tmpdir);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600)) == -1)
		fatal("%s: %s", __func__, path);
	close(fd);
	return (tmpdir);
}
