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

#ifndef MARCONICTL_H
#define MARCONICTL_H

#include <sys/types.h>
#include <sys/socket.h>

#include <stdint.h>

#include "ctl.h"
#include "parser.h"

/*
 * One back-end per output format.  head() is called once before the
 * first row of a table reply (or before its end marker if there are no
 * rows), then one call per row, then tail().  A command answered with
 * IMSG_CTL_RESULT gets a single call to result() instead; it returns
 * the exit status.  monitor gets head(), then event() for each event
 * until the connection ends, and never tail(): every event must be
 * complete on its own.  show metrics gets the rows of several
 * requests between head() and tail(), and no version() nor event().
 */
struct output {
	void	(*head)(const struct parse_result *);
	void	(*summary)(const struct ctl_summary *);
	void	(*version)(const struct ctl_summary *);
	void	(*iface)(const struct ctl_iface *);
	void	(*pipe)(const struct ctl_pipe *);
	void	(*peer)(const struct ctl_peer *);
	void	(*route)(const struct ctl_route *);
	void	(*mac)(const struct ctl_mac *);
	void	(*event)(const struct ctl_event *);
	void	(*tail)(const struct parse_result *);
	int	(*result)(const struct parse_result *,
		    const struct ctl_result *, const char *);
};

extern const struct output	show_output;
extern const struct output	json_output;
extern const struct output	metrics_output;

/* output.c: a row kept until the end marker; a result as text */
void		*add_row(void *, size_t *, size_t, const void *);
int		 show_result(const struct parse_result *,
		    const struct ctl_result *, const char *);

/* output.c: formatting helpers, also used by the JSON back-end */
const char	*fmt_prefix(const struct sockaddr_storage *, uint32_t, char *,
		    size_t);
const char	*fmt_addr(const struct sockaddr_storage *, char *, size_t);
const char	*fmt_timeframe(int64_t, char *, size_t);
const char	*fmt_usec(uint32_t, char *, size_t);
const char	*fmt_ppm(uint32_t, char *, size_t);
const char	*fmt_count(uint64_t, int, char *, size_t);
const char	*fmt_msec(uint32_t, char *, size_t);
const char	*fmt_time_ms(int64_t, int, char *, size_t);
const char	*verbose_name(uint32_t, char *, size_t);

#endif /* MARCONICTL_H */
