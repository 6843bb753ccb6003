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
 * The configuration parser, marconid/parse.y: the input is written to a
 * file (mode 0600, as the secrecy check wants) and read by
 * parse_config() as marconid -n would; a configuration it accepts is
 * printed as marconid -nv does, to /dev/null.  Next to the file are the
 * site.crt and site.key that the configurations in the corpus name.
 * The parser keeps state between runs (macros given with -D), as it
 * does across reloads.
 */

#include <sys/types.h>

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "marconid.h"
#include "fuzz.h"

static char	 path[PATH_MAX];

int	LLVMFuzzerInitialize(int *, char ***);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	int	 fd;

	snprintf(path, sizeof(path), "%s/marconid.conf", fuzz_tmpdir());

	/* print_config() writes to stdout; libFuzzer reports on stderr */
	if ((fd = open("/dev/null", O_WRONLY | O_CLOEXEC)) == -1 ||
	    dup2(fd, STDOUT_FILENO) == -1)
		abort();
	close(fd);
	/* as marconid -D name=value does */
	if (cmdline_symset("fuzzmacro=isp1") == -1)
		abort();
	fuzz_fd_mark();
	return (0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct marconid_conf	*conf;
	int			 fd;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600)) == -1)
		abort();
	if (size > 0 && write(fd, data, size) != (ssize_t)size)
		abort();
	close(fd);

	if ((conf = parse_config(path, 0)) != NULL) {
		print_config(conf);
		fflush(stdout);
		config_free(conf);
	} else if (parse_errors() == NULL || *parse_errors() == '\0') {
		fprintf(stderr, "refused without saying why\n");
		abort();
	}
	fuzz_fd_check();
	return (0);
}
