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

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <event.h>
#include <fcntl.h>
#include <imsg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "marconid.h"

/*
 * The control sockets.  The parent creates them (it needs root to write
 * in /var/run and must refuse to start over a running daemon), the
 * engine serves them: every connection is an imsg channel whose id is
 * what the parent's answers to relayed requests (reload) come back
 * with.  Besides the main socket there may be a restricted one, open
 * to every local user as bgpd's: a client connected to it may look
 * (show, monitor) but change nothing.
 */

#define CONTROL_BACKLOG		5
#define CONTROL_MAX_CONNS	32

/*
 * A client that asks without reading the answers would otherwise make
 * the engine queue them without end.  Once CONTROL_QUEUE_HIGH messages
 * wait for it, nothing more is read from it (nor taken from what was
 * read already) until its queue is down to CONTROL_QUEUE_LOW, as bgpd
 * does; a monitor loses the events past the high mark instead.  With
 * rows of under 1 kB this is some 500 kB per client at most.
 */
#define CONTROL_QUEUE_HIGH	512
#define CONTROL_QUEUE_LOW	64

struct ctl_conn {
	TAILQ_ENTRY(ctl_conn)	 entry;
	uint32_t		 id;
	struct imsgev		 iev;
	int			 waiting;	/* for the parent's answer */
	int			 monitor;	/* gets every state change */
	int			 throttled;	/* not read: queue too long */
	int			 restricted;	/* on the restricted socket */
};

/* the main socket (CTL_MAIN) and the restricted one (CTL_RESTRICTED) */
#define CTL_MAIN		0
#define CTL_RESTRICTED		1
#define CTL_NLISTENERS		2

struct ctl_listener {
	int			 fd;
	int			 restricted;
	struct event		 ev;
	struct event		 pause;
};

static void	 control_accept(int, short, void *);
static void	 control_dispatch(int, short, void *);
static void	 control_close(struct ctl_conn *);
static struct ctl_conn *control_find(uint32_t);
static void	 control_result(struct ctl_conn *, int, const char *);
static void	 control_event_add(struct ctl_conn *);
static int	 control_allowed(uint32_t);

static TAILQ_HEAD(, ctl_conn)	 ctl_conns = TAILQ_HEAD_INITIALIZER(ctl_conns);
static struct ctl_listener	 ctl_listeners[CTL_NLISTENERS] = {
	{ .fd = -1, .restricted = 0 },
	{ .fd = -1, .restricted = 1 },
};
static int			 ctl_nconns;
static uint32_t			 ctl_lastid;

static int
control_sun(const char *path, struct sockaddr_un *sun)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (strlcpy(sun->sun_path, path, sizeof(sun->sun_path)) >=
	    sizeof(sun->sun_path)) {
		log_warnx("control socket path %s too long", path);
		return (-1);
	}
	return (0);
}

/* Returns -1 if a daemon answers on path, 0 otherwise. */
int
control_check(const char *path)
{
	struct sockaddr_un	 sun;
	int			 fd, saved;

	if (control_sun(path, &sun) == -1)
		return (-1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		fatal("%s: socket", __func__);
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0) {
		close(fd);
		return (-1);
	}
	saved = errno;
	close(fd);
	/* nobody listens: a stale socket from a crash is ours to remove */
	if (saved == ECONNREFUSED)
		(void)unlink(path);
	return (0);
}

/*
 * The main socket is 0660: root and the socket's group; the restricted
 * one 0666, as it can only be read through, or 0660 and of group gid
 * when gid is not -1.
 */
int
control_init(const char *path, int restricted, gid_t gid)
{
	struct sockaddr_un	 sun;
	mode_t			 old_umask, mode;
	int			 fd;

	if (control_sun(path, &sun) == -1)
		return (-1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0)) == -1) {
		log_warn("%s: socket", __func__);
		return (-1);
	}
	if (unlink(path) == -1 && errno != ENOENT) {
		log_warn("%s: unlink %s", __func__, path);
		close(fd);
		return (-1);
	}
	old_umask = umask(S_IXUSR | S_IXGRP | S_IRWXO);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		log_warn("%s: bind %s", __func__, path);
		umask(old_umask);
		close(fd);
		return (-1);
	}
	umask(old_umask);
	if (gid != (gid_t)-1 && chown(path, (uid_t)-1, gid) == -1) {
		log_warn("%s: chown %s", __func__, path);
		close(fd);
		(void)unlink(path);
		return (-1);
	}
	mode = S_IRUSR | S_IWUSR | S_IRGRP | S_IWGRP;
	if (restricted && gid == (gid_t)-1)
		mode |= S_IROTH | S_IWOTH;
	if (chmod(path, mode) == -1) {
		log_warn("%s: chmod %s", __func__, path);
		close(fd);
		(void)unlink(path);
		return (-1);
	}
	if (listen(fd, CONTROL_BACKLOG) == -1) {
		log_warn("%s: listen %s", __func__, path);
		close(fd);
		(void)unlink(path);
		return (-1);
	}
	return (fd);
}

void
control_listen(int fd, int restricted)
{
	struct ctl_listener	*l;

	l = &ctl_listeners[restricted ? CTL_RESTRICTED : CTL_MAIN];
	if (l->fd != -1) {
		event_del(&l->ev);
		evtimer_del(&l->pause);
		close(l->fd);
	}
	l->fd = fd;
	event_set(&l->ev, l->fd, EV_READ | EV_PERSIST, control_accept, l);
	event_add(&l->ev, NULL);
	evtimer_set(&l->pause, control_accept, l);
}

/* The engine only closes; the parent unlinks the paths it made. */
void
control_shutdown(void)
{
	struct ctl_conn	*c;
	int		 i;

	while ((c = TAILQ_FIRST(&ctl_conns)) != NULL)
		control_close(c);
	for (i = 0; i < CTL_NLISTENERS; i++) {
		if (ctl_listeners[i].fd == -1)
			continue;
		event_del(&ctl_listeners[i].ev);
		evtimer_del(&ctl_listeners[i].pause);
		close(ctl_listeners[i].fd);
		ctl_listeners[i].fd = -1;
	}
}

static void
control_accept(int listenfd, short event, void *arg)
{
	struct ctl_listener	*l = arg;
	struct ctl_conn		*c;
	struct timeval		 tv = { 1, 0 };
	int			 fd;

	event_add(&l->ev, NULL);
	if (event & EV_TIMEOUT)
		return;

	if ((fd = accept4(l->fd, NULL, NULL,
	    SOCK_CLOEXEC | SOCK_NONBLOCK)) == -1) {
		if (errno == ENFILE || errno == EMFILE) {
			/* pause accepting until a descriptor frees up */
			event_del(&l->ev);
			evtimer_add(&l->pause, &tv);
		} else if (errno != EWOULDBLOCK && errno != EINTR &&
		    errno != ECONNABORTED)
			log_warn("%s: accept", __func__);
		return;
	}
	if (ctl_nconns >= CONTROL_MAX_CONNS) {
		log_warnx("%s: too many control connections", __func__);
		close(fd);
		return;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		log_warn("%s", __func__);
		close(fd);
		return;
	}
	/* 0 means "nobody" in the parent's answers */
	if (++ctl_lastid == 0)
		ctl_lastid = 1;
	c->id = ctl_lastid;
	c->restricted = l->restricted;
	/* marconictl passes no descriptors: fd passing stays off */
	imsgev_init(&c->iev, fd, control_dispatch, c);
	TAILQ_INSERT_TAIL(&ctl_conns, c, entry);
	ctl_nconns++;
}

static struct ctl_conn *
control_find(uint32_t id)
{
	struct ctl_conn	*c;

	TAILQ_FOREACH(c, &ctl_conns, entry)
		if (c->id == id)
			return (c);
	return (NULL);
}

static void
control_close(struct ctl_conn *c)
{
	TAILQ_REMOVE(&ctl_conns, c, entry);
	imsgev_clear(&c->iev);
	free(c);
	ctl_nconns--;
}

static void
control_result(struct ctl_conn *c, int code, const char *msg)
{
	struct ibuf		*buf;
	struct ctl_result	 res;
	size_t			 len = msg != NULL ? strlen(msg) + 1 : 0;

	memset(&res, 0, sizeof(res));
	res.code = code;
	if ((buf = imsg_create(&c->iev.ibuf, IMSG_CTL_RESULT, 0, 0,
	    sizeof(res) + len)) == NULL ||
	    imsg_add(buf, &res, sizeof(res)) == -1 ||
	    (len > 0 && imsg_add(buf, msg, len) == -1)) {
		log_warn("%s", __func__);
		return;
	}
	imsg_close(&c->iev.ibuf, buf);
	control_event_add(c);
}

/* The parent answered a relayed request: pass it on as it came. */
void
control_relay_result(uint32_t id, struct imsg *imsg)
{
	struct ctl_conn	*c;
	struct ibuf	 ib;

	if ((c = control_find(id)) == NULL)
		return;	/* the client did not wait */
	c->waiting = 0;
	if (imsg_get_ibuf(imsg, &ib) == -1) {
		log_warn("%s", __func__);
		return;
	}
	if (imsg_compose(&c->iev.ibuf, IMSG_CTL_RESULT, 0, 0, -1,
	    ibuf_data(&ib), ibuf_size(&ib)) == -1)
		log_warn("%s: imsg_compose", __func__);
	control_event_add(c);
}

static void
control_dispatch(int fd, short event, void *arg)
{
	struct imsgev		*iev = arg;
	struct ctl_conn		*c = iev->data;
	struct imsg		 imsg;
	struct ctl_request	 req;
	char			 msg[256];
	uint32_t		 type;
	ssize_t			 n;
	int			 code;

	if (imsgev_read(iev, event) == 0) {
		control_close(c);
		return;
	}
	if (c->throttled &&
	    imsgbuf_queuelen(&iev->ibuf) <= CONTROL_QUEUE_LOW)
		c->throttled = 0;

	/* what was read already waits in the buffer while throttled */
	while (!c->throttled) {
		if ((n = imsg_get(&iev->ibuf, &imsg)) == -1) {
			/* a malformed request ends that client, not us */
			log_warnx("control: malformed request, closing");
			control_close(c);
			return;
		}
		if (n == 0)
			break;

		type = imsg_get_type(&imsg);
		if (imsg_get_data(&imsg, &req, sizeof(req)) == -1) {
			imsg_free(&imsg);
			control_result(c, CTL_RES_BADVERSION, NULL);
			continue;
		}
		imsg_free(&imsg);
		req.peer[sizeof(req.peer) - 1] = '\0';
		req.uplink[sizeof(req.uplink) - 1] = '\0';
		if (req.version != CTL_VERSION) {
			control_result(c, CTL_RES_BADVERSION, NULL);
			continue;
		}

		if (c->restricted && !control_allowed(type)) {
			control_result(c, CTL_RES_DENIED,
			    "restricted control socket");
			continue;
		}

		switch (type) {
		case IMSG_CTL_SHOW_SUMMARY:
			engine_show_summary(iev, 0);
			break;
		case IMSG_CTL_SHOW_INTERFACES:
			engine_show_interfaces(iev, 0);
			break;
		case IMSG_CTL_SHOW_PIPES:
			engine_show_pipes(iev, 0, &req);
			break;
		case IMSG_CTL_SHOW_PEERS:
			engine_show_peers(iev, 0, &req);
			break;
		case IMSG_CTL_SHOW_ROUTES:
			engine_show_routes(iev, 0, &req);
			break;
		case IMSG_CTL_SHOW_MACS:
			engine_show_macs(iev, 0, &req);
			break;
		case IMSG_CTL_RELOAD:
			if (c->waiting) {
				control_result(c, CTL_RES_BUSY, NULL);
				break;
			}
			c->waiting = 1;
			engine_compose_parent(IMSG_CTL_RELOAD, c->id, NULL, 0);
			break;
		case IMSG_CTL_PREFER:
		case IMSG_CTL_PREFERENCE:
		case IMSG_CTL_PIPE_DOWN:
		case IMSG_CTL_PIPE_UP:
		case IMSG_CTL_MODE:
		case IMSG_CTL_RESET:
			code = engine_ctl_change(type, &req, msg, sizeof(msg));
			control_result(c, code, msg[0] != '\0' ? msg : NULL);
			break;
		case IMSG_CTL_MONITOR:
			c->monitor = 1;
			break;
		case IMSG_CTL_LOG_VERBOSE:
			log_setverbose(req.verbose);
			engine_compose_parent(IMSG_CTL_LOG_VERBOSE, 0, &req,
			    sizeof(req));
			control_result(c, CTL_RES_OK, NULL);
			break;
		default:
			control_result(c, CTL_RES_ERR, "unknown request");
			break;
		}
		if (imsgbuf_queuelen(&iev->ibuf) >= CONTROL_QUEUE_HIGH)
			c->throttled = 1;
	}
	control_event_add(c);
}

/*
 * What a client of the restricted socket may ask: to look, never to
 * change.  A request type added later is refused there until it is
 * listed here.
 */
static int
control_allowed(uint32_t type)
{
	switch (type) {
	case IMSG_CTL_SHOW_SUMMARY:
	case IMSG_CTL_SHOW_INTERFACES:
	case IMSG_CTL_SHOW_PIPES:
	case IMSG_CTL_SHOW_PEERS:
	case IMSG_CTL_SHOW_MACS:
	case IMSG_CTL_SHOW_ROUTES:
	case IMSG_CTL_MONITOR:
		return (1);
	default:
		return (0);
	}
}

/*
 * As imsg_event_add(), but without reading from a throttled client:
 * the writes that drain its queue bring control_dispatch() back.
 */
static void
control_event_add(struct ctl_conn *c)
{
	struct imsgev	*iev = &c->iev;
	short		 events = 0;

	if (!c->throttled)
		events |= EV_READ;
	if (imsgbuf_queuelen(&iev->ibuf) > 0)
		events |= EV_WRITE;
	if (events == iev->events &&
	    event_pending(&iev->ev, EV_READ | EV_WRITE, NULL))
		return;
	iev->events = events;
	event_del(&iev->ev);
	event_set(&iev->ev, iev->ibuf.fd, events | EV_PERSIST,
	    control_dispatch, iev);
	event_add(&iev->ev, NULL);
}

/* A state change, to every client that runs marconictl monitor. */
void
control_event(struct ctl_event *ev)
{
	struct ctl_conn	*c;

	TAILQ_FOREACH(c, &ctl_conns, entry) {
		if (!c->monitor)
			continue;
		/* a client that does not read loses events, not memory */
		if (imsgbuf_queuelen(&c->iev.ibuf) >= CONTROL_QUEUE_HIGH)
			continue;
		if (imsg_compose(&c->iev.ibuf, IMSG_CTL_MONITOR_EVENT, 0, 0,
		    -1, ev, sizeof(*ev)) == -1)
			log_warn("%s: imsg_compose", __func__);
		control_event_add(c);
	}
}
