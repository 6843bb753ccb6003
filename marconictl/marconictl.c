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

#include <err.h>
#include <errno.h>
#include <grp.h>
#include <imsg.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "marconid.h"
#include "marconictl.h"
#include "parser.h"

__attribute__((__noreturn__)) static void usage(void);
static int	 connect_daemon(const char *);
__attribute__((__noreturn__)) static void connect_denied(const char *);
static uint32_t	 request_type(enum actions);
static uint32_t	 reply_type(enum actions);
static int	 row_expected(enum actions, uint32_t);
static int	 dispatch(struct imsg *, const struct parse_result *,
		    const struct output *, int *, int *);
static void	 get_row(struct imsg *, void *, size_t, const char *);
static int	 get_result(struct imsg *, const struct parse_result *,
		    const struct output *);

/*
 * show metrics: the four tables, asked one after the other on the one
 * connection; the engine answers them in turn, from the same state as
 * nothing runs between them.
 */
static const uint32_t	 metrics_requests[] = {
	IMSG_CTL_SHOW_SUMMARY,
	IMSG_CTL_SHOW_INTERFACES,
	IMSG_CTL_SHOW_PEERS,
	IMSG_CTL_SHOW_PIPES,
};
#define N_METRICS_REQUESTS \
	(int)(sizeof(metrics_requests) / sizeof(metrics_requests[0]))

__attribute__((__noreturn__)) static void
usage(void)
{
	extern char	*__progname;

	fprintf(stderr, "usage: %s [-j] [-s socket] command [argument ...]\n",
	    __progname);
	exit(1);
}

int
main(int argc, char *argv[])
{
	struct parse_result	 res;
	struct ctl_request	 req;
	struct imsgbuf		 ibuf;
	struct imsg		 imsg;
	const struct output	*out = &show_output;
	const char		*sockname = MARCONID_SOCKET;
	char			 errbuf[PARSE_ERRLEN];
	ssize_t			 n;
	int			 ch, fd, i, done = 0, status = 0;
	int			 pending = 1;	/* replies still to end */

	while ((ch = getopt(argc, argv, "js:")) != -1) {
		switch (ch) {
		case 'j':
			out = &json_output;
			break;
		case 's':
			sockname = optarg;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;

	if (argc == 0)
		usage();
	if (parse(argc, argv, &res, errbuf, sizeof(errbuf)) == -1)
		errx(1, "%s", errbuf);
	/* one format only: -j has nothing to change there */
	if (res.action == SHOW_METRICS)
		out = &metrics_output;

	fd = connect_daemon(sockname);

	/* the monitor's local times, before the zone file is out of reach */
	tzset();

#ifdef __OpenBSD__
	/* from here on only the connected socket and stdout */
	if (pledge("stdio", NULL) == -1)
		err(1, "pledge");
#endif

	if (imsgbuf_init(&ibuf, fd) == -1)
		err(1, "imsgbuf_init");

	memset(&req, 0, sizeof(req));
	req.version = CTL_VERSION;
	req.verbose = res.verbose;
	req.value = res.value;
	strlcpy(req.peer, res.peer, sizeof(req.peer));
	strlcpy(req.uplink, res.uplink, sizeof(req.uplink));

	if (res.action == SHOW_METRICS) {
		pending = N_METRICS_REQUESTS;
		for (i = 0; i < N_METRICS_REQUESTS; i++)
			if (imsg_compose(&ibuf, metrics_requests[i], 0, 0, -1,
			    &req, sizeof(req)) == -1)
				err(1, "imsg_compose");
	} else if (imsg_compose(&ibuf, request_type(res.action), 0, 0, -1,
	    &req, sizeof(req)) == -1)
		err(1, "imsg_compose");
	/*
	 * A daemon gone before the request is written is reported as
	 * such, not by SIGPIPE; a reader of stdout gone early (as head(1))
	 * still ends marconictl quietly.
	 */
	signal(SIGPIPE, SIG_IGN);
	if (imsgbuf_flush(&ibuf) == -1) {
		if (errno == EPIPE || errno == ECONNRESET)
			errx(1, "marconid closed the connection unexpectedly");
		err(1, "write to %s", sockname);
	}
	signal(SIGPIPE, SIG_DFL);

	while (!done) {
		/* blocks as long as it takes: monitor has no time limit */
		switch (imsgbuf_read(&ibuf)) {
		case -1:
			if (errno == EINTR)
				continue;
			if (errno != ECONNRESET)
				err(1, "read from %s", sockname);
			/* FALLTHROUGH */
		case 0:
			/* the end of an endless reply is no error */
			if (res.action != MONITOR)
				errx(1, "marconid closed the connection "
				    "unexpectedly");
			warnx("marconid closed the connection");
			done = 1;
			continue;
		}
		while (!done) {
			if ((n = imsg_get(&ibuf, &imsg)) == -1)
				err(1, "bad reply from marconid");
			if (n == 0)
				break;
			status = dispatch(&imsg, &res, out, &pending, &done);
			imsg_free(&imsg);
		}
	}

	imsgbuf_clear(&ibuf);
	close(fd);
	if (fflush(stdout) == EOF || ferror(stdout))
		err(1, "stdout");
	return (status);
}

static int
connect_daemon(const char *sockname)
{
	struct sockaddr_un	 sun;
	int			 fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlcpy(sun.sun_path, sockname, sizeof(sun.sun_path)) >=
	    sizeof(sun.sun_path))
		errx(1, "socket name too long: %s", sockname);

	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) == -1)
		err(1, "socket");
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		switch (errno) {
		case ENOENT:
		case ECONNREFUSED:
			err(1, "cannot connect to %s: is marconid running?",
			    sockname);
		case EACCES:
		case EPERM:
			connect_denied(sockname);
		default:
			err(1, "cannot connect to %s", sockname);
		}
	}
	return (fd);
}

/* Says who may use the socket, from its owner and group if visible. */
__attribute__((__noreturn__)) static void
connect_denied(const char *sockname)
{
	struct stat	 st;
	struct passwd	*pw;
	struct group	*gr;
	char		 owner[64], group[64];
	int		 saved_errno = errno;

	if (stat(sockname, &st) == -1) {
		/* a directory on the way is closed to us */
		errno = saved_errno;
		err(1, "cannot connect to %s: only root and members of the "
		    "group of the socket may use it (mode 0660)", sockname);
	}

	if ((pw = getpwuid(st.st_uid)) != NULL)
		strlcpy(owner, pw->pw_name, sizeof(owner));
	else
		snprintf(owner, sizeof(owner), "%u", (unsigned int)st.st_uid);
	if ((gr = getgrgid(st.st_gid)) != NULL)
		strlcpy(group, gr->gr_name, sizeof(group));
	else
		snprintf(group, sizeof(group), "%u", (unsigned int)st.st_gid);

	errno = saved_errno;
	err(1, "cannot connect to %s: only %s and members of group %s may "
	    "use it (mode %04o)", sockname, owner, group,
	    (unsigned int)(st.st_mode & 07777));
}

static uint32_t
request_type(enum actions action)
{
	switch (action) {
	case SHOW_SUMMARY:
	case SHOW_VERSION:
		return (IMSG_CTL_SHOW_SUMMARY);
	case SHOW_INTERFACES:
		return (IMSG_CTL_SHOW_INTERFACES);
	case SHOW_PIPES:
	case SHOW_PIPES_DETAIL:
		return (IMSG_CTL_SHOW_PIPES);
	case SHOW_PEERS:
		return (IMSG_CTL_SHOW_PEERS);
	case SHOW_ROUTES:
		return (IMSG_CTL_SHOW_ROUTES);
	case SHOW_MACS:
		return (IMSG_CTL_SHOW_MACS);
	case RELOAD:
		return (IMSG_CTL_RELOAD);
	case LOG_VERBOSE:
	case LOG_BRIEF:
		return (IMSG_CTL_LOG_VERBOSE);
	case PREFER:
		return (IMSG_CTL_PREFER);
	case PIPE_DOWN:
		return (IMSG_CTL_PIPE_DOWN);
	case PIPE_UP:
		return (IMSG_CTL_PIPE_UP);
	case PIPE_PREFERENCE:
		return (IMSG_CTL_PREFERENCE);
	case SET_MODE_FAILOVER:
	case SET_MODE_DUPLICATE:
	case SET_MODE_BALANCE:
		return (IMSG_CTL_MODE);
	case RESET:
		return (IMSG_CTL_RESET);
	case MONITOR:
		return (IMSG_CTL_MONITOR);
	case SHOW_METRICS:	/* several: see metrics_requests */
	case NONE:
		break;
	}
	errx(1, "%s: no request for action %d", __func__, action);
}

/* The rows a command is answered with, IMSG_NONE if only a result. */
static uint32_t
reply_type(enum actions action)
{
	switch (action) {
	case SHOW_SUMMARY:
	case SHOW_VERSION:
	case SHOW_INTERFACES:
	case SHOW_PIPES:
	case SHOW_PIPES_DETAIL:
	case SHOW_PEERS:
	case SHOW_ROUTES:
	case SHOW_MACS:
		return (request_type(action));
	case MONITOR:
		return (IMSG_CTL_MONITOR_EVENT);
	default:
		return (IMSG_NONE);
	}
}

/* Whether a message of this type may come as part of the answer. */
static int
row_expected(enum actions action, uint32_t type)
{
	uint32_t	 rows;
	int		 i;

	if (action == SHOW_METRICS) {
		if (type == IMSG_CTL_END)
			return (1);
		for (i = 0; i < N_METRICS_REQUESTS; i++)
			if (type == metrics_requests[i])
				return (1);
		return (0);
	}
	if ((rows = reply_type(action)) == IMSG_NONE)
		return (0);
	if (type == rows)
		return (1);
	return (type == IMSG_CTL_END && action != MONITOR);
}

/*
 * One message of the reply.  Sets *done when the reply is complete,
 * after *pending end markers, and returns the exit status so far.  The
 * events of monitor have no end marker: they come until the daemon or
 * the user ends the connection.
 */
static int
dispatch(struct imsg *imsg, const struct parse_result *res,
    const struct output *out, int *pending, int *done)
{
	static int		 started;
	struct ctl_summary	 sum;
	struct ctl_iface	 iface;
	struct ctl_pipe		 pipe;
	struct ctl_peer		 peer;
	struct ctl_route	 route;
	struct ctl_mac		 mac;
	struct ctl_event	 ev;
	uint32_t		 type = imsg_get_type(imsg);

	if (type == IMSG_CTL_RESULT) {
		*done = 1;
		return (get_result(imsg, res, out));
	}

	if (!row_expected(res->action, type))
		errx(1, "unexpected reply of type %u to \"%s\": marconictl "
		    "and marconid are from different builds", type,
		    res->command);

	if (!started) {
		out->head(res);
		started = 1;
	}

	switch (type) {
	case IMSG_CTL_SHOW_SUMMARY:
		get_row(imsg, &sum, sizeof(sum), "summary");
		if (sum.version != CTL_VERSION)
			errx(1, "marconid speaks control protocol version %u, "
			    "marconictl %u: they are from different builds",
			    sum.version, CTL_VERSION);
		sum.conffile[sizeof(sum.conffile) - 1] = '\0';
		sum.release[sizeof(sum.release) - 1] = '\0';
		if (res->action == SHOW_VERSION)
			out->version(&sum);
		else
			out->summary(&sum);
		break;
	case IMSG_CTL_SHOW_INTERFACES:
		get_row(imsg, &iface, sizeof(iface), "interface");
		iface.name[sizeof(iface.name) - 1] = '\0';
		iface.addrs[sizeof(iface.addrs) - 1] = '\0';
		out->iface(&iface);
		break;
	case IMSG_CTL_SHOW_PIPES:
		get_row(imsg, &pipe, sizeof(pipe), "pipe");
		pipe.peer[sizeof(pipe.peer) - 1] = '\0';
		pipe.uplink[sizeof(pipe.uplink) - 1] = '\0';
		pipe.remote_name[sizeof(pipe.remote_name) - 1] = '\0';
		out->pipe(&pipe);
		break;
	case IMSG_CTL_SHOW_PEERS:
		get_row(imsg, &peer, sizeof(peer), "peer");
		peer.name[sizeof(peer.name) - 1] = '\0';
		peer.fingerprint[sizeof(peer.fingerprint) - 1] = '\0';
		peer.active[sizeof(peer.active) - 1] = '\0';
		out->peer(&peer);
		break;
	case IMSG_CTL_SHOW_ROUTES:
		get_row(imsg, &route, sizeof(route), "route");
		route.peer[sizeof(route.peer) - 1] = '\0';
		out->route(&route);
		break;
	case IMSG_CTL_SHOW_MACS:
		get_row(imsg, &mac, sizeof(mac), "mac");
		mac.peer[sizeof(mac.peer) - 1] = '\0';
		out->mac(&mac);
		break;
	case IMSG_CTL_MONITOR_EVENT:
		get_row(imsg, &ev, sizeof(ev), "event");
		ev.peer[sizeof(ev.peer) - 1] = '\0';
		ev.uplink[sizeof(ev.uplink) - 1] = '\0';
		ev.reason[sizeof(ev.reason) - 1] = '\0';
		out->event(&ev);
		/* one line as it happens, not a buffer full later */
		if (fflush(stdout) == EOF)
			err(1, "stdout");
		break;
	case IMSG_CTL_END:
		if (--*pending > 0)
			break;
		out->tail(res);
		*done = 1;
		break;
	}
	return (0);
}

/* Copies a row, which must be exactly the size this build expects. */
static void
get_row(struct imsg *imsg, void *row, size_t len, const char *what)
{
	size_t	 got = imsg_get_len(imsg);

	if (got != len)
		errx(1, "%s row of %zu bytes, expected %zu: marconictl and "
		    "marconid are from different builds", what, got, len);
	if (imsg_get_data(imsg, row, len) == -1)
		err(1, "%s row", what);
}

static int
get_result(struct imsg *imsg, const struct parse_result *res,
    const struct output *out)
{
	struct ctl_result	 cr;
	char			*buf;
	const char		*msg = "";
	size_t			 len = imsg_get_len(imsg);
	int			 status;

	if (len < sizeof(cr) || len > sizeof(cr) + CTL_ERRLEN)
		errx(1, "result of %zu bytes: marconictl and marconid are "
		    "from different builds", len);

	/* one more byte for the NUL a broken daemon might have left out */
	if ((buf = calloc(1, len + 1)) == NULL)
		err(1, NULL);
	if (imsg_get_data(imsg, buf, len) == -1)
		err(1, "result");
	memcpy(&cr, buf, sizeof(cr));
	if (len > sizeof(cr))
		msg = buf + sizeof(cr);

	status = out->result(res, &cr, msg);
	free(buf);
	return (status);
}
