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
 * Process titles on Linux, with libbsd's setproctitle().
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "marconid.h"

static char	*argbase, *argend;	/* the original arguments */

/*
 * libbsd's setproctitle() on Linux writes the title over the original
 * arguments and pads the rest with NULs, a "." where argv[0] ended:
 * while the last byte of the arguments is a NUL, the kernel shows all
 * of it, and ps and pgrep -f see "marconid: engine" with blanks and a
 * dot after it.  Anything else in that byte tells the kernel that the
 * title was set, and it shows the title up to its own NUL only.  libbsd
 * has moved argv by then: the kernel says where the arguments are, in
 * /proc/self/stat (fields 48 and 49), which only Linux has; the BSDs'
 * setproctitle() leaves argv alone (proctitle-bsd.c).
 */
void
proc_title_init(void)
{
	FILE		*f;
	char		 buf[1024], *p;
	unsigned long	 start = 0, end = 0;
	int		 i;

	if ((f = fopen("/proc/self/stat", "r")) == NULL)
		return;
	p = fgets(buf, sizeof(buf), f);
	fclose(f);
	/* the name in parentheses may hold blanks: skip past it */
	if (p == NULL || (p = strrchr(buf, ')')) == NULL)
		return;
	/* to the blank before field 48 */
	for (i = 2; i < 48 && p != NULL; i++)
		p = strchr(p + 1, ' ');
	if (p == NULL || sscanf(p, " %lu %lu", &start, &end) != 2 ||
	    start == 0 || end <= start + 1)
		return;
	argbase = (char *)start;
	argend = (char *)end - 1;
}

void
proc_title(const char *title)
{
	setproctitle("%s", title);
	if (argbase == NULL)
		return;
	/* a title as long as the arguments ends where they did */
	if (strnlen(argbase, argend - argbase) < (size_t)(argend - argbase))
		*argend = '.';
}
