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
 * Replays inputs through a fuzz harness without libFuzzer, built with
 * the normal compiler: every file named, and every file in each
 * directory named, goes once to LLVMFuzzerTestOneInput().  A harness
 * aborts on what it finds, so an exit status of 0 means that every
 * input of the corpus, the regression cases among them, still passes.
 * Names each input on stderr as it goes, and the number run at the
 * end (stdout may be the harness's to close).
 */

#include <sys/types.h>
#include <sys/stat.h>

#include <dirent.h>
#include <err.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"

int	LLVMFuzzerInitialize(int *, char ***) __attribute__((__weak__));

static int	 count;

static void
run_file(const char *path)
{
	struct stat	 st;
	uint8_t		*buf;
	ssize_t		 n;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		err(1, "%s", path);
	if (fstat(fd, &st) == -1)
		err(1, "%s", path);
	/* exactly the input's size, so that reading past it is caught */
	if ((buf = malloc(st.st_size > 0 ? st.st_size : 1)) == NULL)
		err(1, NULL);
	if ((n = read(fd, buf, st.st_size)) != st.st_size)
		errx(1, "%s: short read", path);
	close(fd);
	fprintf(stderr, "%s\n", path);
	(void)LLVMFuzzerTestOneInput(buf, n);
	free(buf);
	count++;
}

static void
run_dir(const char *dir)
{
	struct dirent	**names;
	char		 path[PATH_MAX];
	int		 i, n;

	if ((n = scandir(dir, &names, NULL, alphasort)) == -1)
		err(1, "%s", dir);
	for (i = 0; i < n; i++) {
		if (names[i]->d_name[0] != '.') {
			snprintf(path, sizeof(path), "%s/%s", dir,
			    names[i]->d_name);
			run_file(path);
		}
		free(names[i]);
	}
	free(names);
}

int
main(int argc, char *argv[])
{
	struct stat	 st;
	int		 i;

	if (argc < 2) {
		fprintf(stderr, "usage: %s file | directory ...\n",
		    getprogname());
		return (2);
	}
	if (LLVMFuzzerInitialize != NULL)
		(void)LLVMFuzzerInitialize(&argc, &argv);
	for (i = 1; i < argc; i++) {
		if (stat(argv[i], &st) == -1)
			err(1, "%s", argv[i]);
		if (S_ISDIR(st.st_mode))
			run_dir(argv[i]);
		else
			run_file(argv[i]);
	}
	fprintf(stderr, "%d inputs\n", count);
	return (0);
}
