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
 * What the engine does with a marconictl request: control_dispatch()
 * in marconid/control.c reads the connection's imsgs and answers from
 * the engine's tables (marconid/engine.c): show, prefer, pipe down/up,
 * preference, mode, reset, monitor, log verbose, reload.  The input is
 * the byte stream a client writes, then it closes its end.  Every
 * answer is read back as marconictl would and must be well-formed:
 * rows of their structure's size, results with a NUL-terminated text,
 * an end marker without payload.
 *
 * The engine is set up from a two-peer configuration, one pipe up, and
 * its run-time changes are reset after each input.
 */

#include "../marconid/engine.c"		/* its tables are static */
#include "../marconid/control.c"	/* control_dispatch() too */

#include "fuzz.h"

#define MAX_STREAM	(60 * 1024)	/* one read, and fits in a socket */
#define MAX_ROUNDS	64

static const char	 config_text[] =
	"certificate \"site.crt\"\n"
	"key \"site.key\"\n"
	"interface tap0 { address 198.19.0.1/24 }\n"
	"uplink isp1 { local 198.18.1.2 }\n"
	"uplink isp2 { local 198.18.2.2 }\n"
	"peer site-b {\n"
	"\tfingerprint \"SHA256:18fb20d616bcd0c7d98c016f11e9cf6603f0aff3"
	"61a37f12ae019ba1e9a2e72f\"\n"
	"\tpipe isp1 remote 198.18.1.1 preference 10\n"
	"\tpipe isp2 remote 198.18.2.1 preference 20\n"
	"}\n"
	"peer site-c {\n"
	"\tfingerprint \"SHA256:28fb20d616bcd0c7d98c016f11e9cf6603f0aff3"
	"61a37f12ae019ba1e9a2e72f\"\n"
	"\tmode duplicate\n"
	"\tpipe isp2 remote 198.18.3.1\n"
	"}\n";

int	LLVMFuzzerInitialize(int *, char ***);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct marconid_conf	*c;
	struct eng_uplink	*eu;
	struct eng_peer		*pe;
	struct eng_pipe		*ep;
	char			 path[PATH_MAX];
	int			 fd;

	snprintf(path, sizeof(path), "%s/marconid.conf", fuzz_tmpdir());
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600)) == -1)
		abort();
	if (write(fd, config_text, sizeof(config_text) - 1) !=
	    sizeof(config_text) - 1)
		abort();
	close(fd);
	c = parse_config(path, 0);
	unlink(path);
	if (c == NULL) {
		fprintf(stderr, "%s", parse_errors());
		abort();
	}

	start_time = getmonotime();
	parent_pid = getpid();
	eu = uplink_get("isp1", 1);
	eu->pid = 1000;
	eu = uplink_get("isp2", 1);
	eu->pid = 1001;
	engine_apply_config(c);
	pe = TAILQ_FIRST(&peers);
	ep = TAILQ_FIRST(&pe->pipes);
	ep->st.state = PIPE_STATE_UP;
	pipe_refresh(ep, "set up by the fuzzer");
	fuzz_fd_mark();
	return (0);
}

static void
answer_check(struct imsg *imsg)
{
	size_t		 len = imsg_get_len(imsg), want;
	struct ibuf	 ib;
	const char	*p;

	switch (imsg_get_type(imsg)) {
	case IMSG_CTL_SHOW_SUMMARY:
		want = sizeof(struct ctl_summary);
		break;
	case IMSG_CTL_SHOW_INTERFACES:
		want = sizeof(struct ctl_iface);
		break;
	case IMSG_CTL_SHOW_PIPES:
		want = sizeof(struct ctl_pipe);
		break;
	case IMSG_CTL_SHOW_PEERS:
		want = sizeof(struct ctl_peer);
		break;
	case IMSG_CTL_SHOW_ROUTES:
		want = sizeof(struct ctl_route);
		break;
	case IMSG_CTL_SHOW_MACS:
		want = sizeof(struct ctl_mac);
		break;
	case IMSG_CTL_MONITOR_EVENT:
		want = sizeof(struct ctl_event);
		break;
	case IMSG_CTL_END:
		want = 0;
		break;
	case IMSG_CTL_RESULT:
		if (len < sizeof(struct ctl_result) ||
		    len > sizeof(struct ctl_result) + CTL_ERRLEN)
			goto bad;
		if (len == sizeof(struct ctl_result))
			return;
		if (imsg_get_ibuf(imsg, &ib) == -1)
			goto bad;
		p = ibuf_data(&ib);
		if (p[len - 1] != '\0')
			goto bad;
		return;
	default:
		goto bad;
	}
	if (len == want)
		return;
 bad:
	fprintf(stderr, "a malformed answer: type %u, %zu bytes\n",
	    imsg_get_type(imsg), len);
	abort();
}

/* What the engine queued for the client: sent, read and checked. */
static void
answers(struct ctl_conn *c, int fd, struct imsgbuf *client)
{
	struct imsg	 imsg;
	ssize_t		 n;
	int		 i;

	for (i = 0; i < MAX_ROUNDS && imsgbuf_queuelen(&c->iev.ibuf) > 0;
	    i++) {
		if (imsgbuf_write(&c->iev.ibuf) == -1)
			break;
		if (imsgbuf_read(client) == -1)
			abort();
		while ((n = imsg_get(client, &imsg)) > 0) {
			answer_check(&imsg);
			imsg_free(&imsg);
		}
		if (n == -1)
			abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ctl_request	 req;
	struct ctl_event	 ev;
	struct ctl_conn		*c, *t;
	struct eng_peer		*pe;
	struct imsgbuf		 client;
	char			 msg[256];
	int			 sv[2], i;

	if (size > MAX_STREAM)
		return (0);
	log_setverbose(0);

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0, sv) == -1)
		abort();
	if ((c = calloc(1, sizeof(*c))) == NULL)
		abort();
	c->id = ++ctl_lastid;
	imsgev_init(&c->iev, sv[0], control_dispatch, c);
	TAILQ_INSERT_TAIL(&ctl_conns, c, entry);
	ctl_nconns++;
	if (imsgbuf_init(&client, sv[1]) == -1 ||
	    imsgbuf_set_maxsize(&client, MARCONID_IMSGSIZE) == -1)
		abort();

	if (size > 0 && write(sv[1], data, size) != (ssize_t)size)
		abort();
	shutdown(sv[1], SHUT_WR);

	/* the requests, then the end of the connection */
	for (i = 0; i < MAX_ROUNDS; i++) {
		TAILQ_FOREACH(t, &ctl_conns, entry)
			if (t == c)
				break;
		if (t == NULL)
			break;
		control_dispatch(sv[0], EV_READ, &c->iev);
		TAILQ_FOREACH(t, &ctl_conns, entry)
			if (t == c)
				break;
		if (t == NULL)
			break;
		/* a state change while it may be monitoring */
		memset(&ev, 0, sizeof(ev));
		strlcpy(ev.peer, "site-b", sizeof(ev.peer));
		strlcpy(ev.reason, "fuzz", sizeof(ev.reason));
		control_event(&ev);
		answers(c, sv[0], &client);
	}
	if (!TAILQ_EMPTY(&ctl_conns)) {
		fprintf(stderr, "a client at end of file was kept\n");
		abort();
	}
	imsgbuf_clear(&client);
	close(sv[1]);

	/* back to the configuration for the next input */
	TAILQ_FOREACH(pe, &peers, entry) {
		memset(&req, 0, sizeof(req));
		strlcpy(req.peer, pe->name, sizeof(req.peer));
		if (engine_ctl_change(IMSG_CTL_RESET, &req, msg,
		    sizeof(msg)) != CTL_RES_OK)
			abort();
	}
	fuzz_fd_check();
	return (0);
}
