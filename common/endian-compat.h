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
 * htobe64(), be64toh() and the like, from where each system keeps
 * them: glibc (and musl) in <endian.h>, the BSDs in <sys/endian.h>.
 * FreeBSD before 14 has no <endian.h>, and Linux has no
 * <sys/endian.h> but the one libbsd's overlay adds; naming the header
 * here keeps the choice in one place instead of in every file.
 */

#ifndef ENDIAN_COMPAT_H
#define ENDIAN_COMPAT_H

#ifdef __linux__
#include <endian.h>
#else
#include <sys/endian.h>
#endif

#endif /* ENDIAN_COMPAT_H */
