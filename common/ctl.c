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

#include "ctl.h"

/* Names shared by marconid (logs) and marconictl (output). */

const char *
ctl_pipe_state_name(int state)
{
	switch (state) {
	case PIPE_STATE_DOWN:
		return ("down");
	case PIPE_STATE_CONNECTING:
		return ("connecting");
	case PIPE_STATE_UP:
		return ("up");
	case PIPE_STATE_DEGRADED:
		return ("degraded");
	case PIPE_STATE_DISABLED:
		return ("disabled");
	case PIPE_STATE_NOPROC:
		return ("noproc");
	case PIPE_STATE_SUSPECT:
		return ("suspect");
	}
	return ("unknown");
}

const char *
ctl_mode_name(int mode)
{
	switch (mode) {
	case CTL_MODE_FAILOVER:
		return ("failover");
	case CTL_MODE_DUPLICATE:
		return ("duplicate");
	case CTL_MODE_BALANCE:
		return ("balance");
	}
	return ("unknown");
}

const char *
ctl_balance_name(int b)
{
	switch (b) {
	case CTL_BAL_NONE:
		return ("-");
	case CTL_BAL_IN:
		return ("in");
	case CTL_BAL_STATE:
		return ("not up");
	case CTL_BAL_RTT:
		return ("rtt");
	case CTL_BAL_SLOW:
		return ("slow");
	}
	return ("unknown");
}

/* Which side of the pipe times the probes (probe_rank()). */
const char *
ctl_probe_role(int rank)
{
	if (rank > 0)
		return ("leads");
	if (rank < 0)
		return ("follows");
	return ("equal");
}

const char *
ctl_iftype_name(int type)
{
	switch (type) {
	case CTL_IF_TAP:
		return ("tap");
	case CTL_IF_TUN:
		return ("tun");
	}
	return ("unknown");
}

const char *
ctl_result_text(int code)
{
	switch (code) {
	case CTL_RES_OK:
		return ("ok");
	case CTL_RES_ERR:
		return ("failed");
	case CTL_RES_BADVERSION:
		return ("marconictl and marconid are from different builds");
	case CTL_RES_DENIED:
		return ("permission denied");
	case CTL_RES_CONFIG:
		return ("configuration has errors, not reloading");
	case CTL_RES_BUSY:
		return ("a reload is already in progress");
	case CTL_RES_NOSUCHPEER:
		return ("no such peer");
	case CTL_RES_NOSUCHPIPE:
		return ("no such pipe");
	}
	return ("unknown error");
}

const char *
ctl_drop_name(int reason)
{
	static const char *names[DROP_MAX] = {
		"short",
		"badtype",
		"nosession",
		"stalekey",
		"auth",
		"replay",
		"frag",
		"nopipe",
		"toobig",
		"send",
	};

	if (reason < 0 || reason >= DROP_MAX)
		return ("unknown");
	return (names[reason]);
}
