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
 * What the harnesses in this directory share with fuzz/stubs.c: the
 * entry point libFuzzer calls, and the controls of the stand-ins for
 * libtls, libevent and the parent's imsg plumbing that stubs.c
 * provides in their place (see the comment at its top).
 */

#ifndef FUZZ_H
#define FUZZ_H

#include <stddef.h>
#include <stdint.h>

struct tls;

int		 LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* the stand-in for libtls: what tls_read() hands out, and the rest */
void		 fuzz_tls_feed(struct tls *, const uint8_t *, size_t);
void		 fuzz_tls_set_eof(struct tls *);
void		 fuzz_tls_set_wlimit(struct tls *, size_t);
size_t		 fuzz_tls_unread(struct tls *);
extern const char	*fuzz_tls_peer_hash;

/* the imsgs composed for a channel whose handler is fuzz_null_handler */
void		 fuzz_null_handler(int, short, void *);
extern void	(*fuzz_compose_hook)(uint32_t, const void *, size_t);

/* the device: tun_recv() gives fuzz_tun_in once; tun_send() counts */
extern const uint8_t	*fuzz_tun_in;
extern size_t		 fuzz_tun_inlen;
extern uint64_t		 fuzz_tun_out;

/* a directory for marconid.conf, with the site.crt and site.key it names */
const char	*fuzz_tmpdir(void);

/* abort if a descriptor was left open since fuzz_fd_mark() */
void		 fuzz_fd_mark(void);
void		 fuzz_fd_check(void);

#endif /* FUZZ_H */
