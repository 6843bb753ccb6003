# The real build, included by Makefile once config.mk exists.
# Only what GNU make and BSD make both understand: suffix rules,
# $(VAR:.c=.o), plain include.

include config.mk

DESTDIR?=
BINDIR=		$(PREFIX)/sbin
MANDIR=		$(PREFIX)/$(MANSUBDIR)
EXAMPLEDIR=	$(PREFIX)/share/examples/marconid

CPPFLAGS=	-Icommon -Imarconid -Imarconictl $(OS_CFLAGS) $(PKG_CFLAGS)
ALL_CFLAGS=	$(CFLAGS) $(WARNFLAGS) $(CPPFLAGS)

COMMON_SRCS=	common/log.c common/ctl.c $(COMPAT_SRCS)

MARCONID_SRCS=	marconid/marconid.c marconid/config.c marconid/control.c \
		marconid/engine.c marconid/pipe.c marconid/parse.c \
		marconid/printconf.c marconid/util.c marconid/crypto.c \
		marconid/frag.c marconid/session.c marconid/tlsctx.c \
		marconid/uplink.c marconid/offload.c marconid/resolve.c \
		marconid/sched.c marconid/reorder.c marconid/route.c \
		marconid/probe.c marconid/resend.c $(OS_SRCS) \
		$(COMMON_SRCS)

MARCONICTL_SRCS= marconictl/marconictl.c marconictl/parser.c \
		marconictl/output.c marconictl/output_json.c \
		marconictl/output_metrics.c $(COMMON_SRCS)

IMSG_TEST_SRCS=	regress/imsg/imsg_test.c $(COMPAT_SRCS) common/log.c

MARCONID_OBJS=	$(MARCONID_SRCS:.c=.o)
MARCONICTL_OBJS= $(MARCONICTL_SRCS:.c=.o)
IMSG_TEST_OBJS=	$(IMSG_TEST_SRCS:.c=.o)

PARSER_TEST_SRCS= regress/ctl/parser_test.c marconictl/parser.c \
		$(COMMON_SRCS)
PARSER_TEST_OBJS= $(PARSER_TEST_SRCS:.c=.o)

CRYPTO_TEST_SRCS= regress/crypto/crypto_test.c marconid/crypto.c \
		marconid/util.c common/log.c
CRYPTO_TEST_OBJS= $(CRYPTO_TEST_SRCS:.c=.o)

FRAG_TEST_SRCS=	regress/frag/frag_test.c marconid/frag.c common/log.c
FRAG_TEST_OBJS=	$(FRAG_TEST_SRCS:.c=.o)

TLS_TEST_SRCS=	regress/tls/tls_test.c marconid/tlsctx.c common/log.c
TLS_TEST_OBJS=	$(TLS_TEST_SRCS:.c=.o)

ROUTE_TEST_SRCS= regress/route/route_test.c marconid/route.c
ROUTE_TEST_OBJS= $(ROUTE_TEST_SRCS:.c=.o)

OFFLOAD_TEST_SRCS= regress/offload/offload_test.c marconid/offload.c
OFFLOAD_TEST_OBJS= $(OFFLOAD_TEST_SRCS:.c=.o)

REORDER_TEST_SRCS= regress/balance/reorder_test.c marconid/reorder.c
REORDER_TEST_OBJS= $(REORDER_TEST_SRCS:.c=.o)
SCHED_TEST_SRCS= regress/balance/sched_test.c marconid/sched.c
SCHED_TEST_OBJS= $(SCHED_TEST_SRCS:.c=.o)
PROBE_TEST_SRCS= regress/probe/probe_test.c marconid/probe.c
PROBE_TEST_OBJS= $(PROBE_TEST_SRCS:.c=.o)
RESEND_TEST_SRCS= regress/resend/resend_test.c marconid/resend.c
RESEND_TEST_OBJS= $(RESEND_TEST_SRCS:.c=.o)

PROGS=		marconid/marconid marconictl/marconictl
BENCHPROGS=	bench/probe
TESTPROGS=	regress/imsg/imsg_test regress/ctl/parser_test \
		regress/crypto/crypto_test regress/frag/frag_test \
		regress/tls/tls_test regress/offload/offload_test \
		regress/balance/reorder_test regress/balance/sched_test \
		regress/probe/probe_test \
		regress/resend/resend_test \
		regress/route/route_test regress/e2e/marconid-test

MANS5=		marconid.conf.5
MANS8=		man/marconid.8 man/marconictl.8

# Example configurations, installed into $(EXAMPLEDIR) with the
# commented etc/marconid.conf.
EXAMPLES=	etc/examples/two-sites.conf etc/examples/nat.conf \
		etc/examples/nat-public.conf etc/examples/tun.conf \
		etc/examples/duplicate.conf

# The service file of $(OS), with @SBINDIR@ and @PREFIX@ replaced at
# install time.  The systemd unit follows PREFIX like everything else:
# systemd looks in /usr/local/lib/systemd/system, and with PREFIX=/usr
# this is /usr/lib/systemd/system, the place for units of packages
# (the same directory as /lib/systemd/system where /usr is merged).
# Set SYSTEMDUNITDIR to install it elsewhere.  OpenBSD keeps every
# rc.d script in /etc/rc.d; FreeBSD keeps those of added software
# under PREFIX.
SYSTEMDUNITDIR=	$(PREFIX)/lib/systemd/system
OPENBSD_RCDIR=	/etc/rc.d
FREEBSD_RCDIR=	$(PREFIX)/etc/rc.d
SERVICE_SED=	sed -e 's|@SBINDIR@|$(BINDIR)|g' -e 's|@PREFIX@|$(PREFIX)|g'

HEADERS=	marconid/marconid.h marconid/pipe.h marconid/offload.h \
		common/ctl.h common/log.h common/endian-compat.h \
		marconictl/marconictl.h marconictl/parser.h config.mk

.SUFFIXES: .c .o .y

.c.o:
	$(CC) $(ALL_CFLAGS) -c $< -o $@

all: $(PROGS)

marconid/parse.c: marconid/parse.y
	$(YACC) -o marconid/parse.c marconid/parse.y

marconid/marconid: $(MARCONID_OBJS)
	$(CC) $(CFLAGS) -o $@ $(MARCONID_OBJS) $(PKG_LIBS) $(LDFLAGS)

marconictl/marconictl: $(MARCONICTL_OBJS)
	$(CC) $(CFLAGS) -o $@ $(MARCONICTL_OBJS) $(PKG_LIBS) $(LDFLAGS)

$(MARCONID_OBJS) $(MARCONICTL_OBJS) $(PARSER_TEST_OBJS) $(CRYPTO_TEST_OBJS) \
    $(FRAG_TEST_OBJS) $(TLS_TEST_OBJS): $(HEADERS)

regress/imsg/imsg_test.o: regress/imsg/imsg_test.c
	$(CC) $(ALL_CFLAGS) $(ATF_CFLAGS) -c regress/imsg/imsg_test.c -o $@

regress/imsg/imsg_test: $(IMSG_TEST_OBJS)
	$(CC) $(CFLAGS) -o $@ $(IMSG_TEST_OBJS) $(ATF_LIBS) $(PKG_LIBS)

regress/ctl/parser_test.o: regress/ctl/parser_test.c
	$(CC) $(ALL_CFLAGS) -Imarconictl $(ATF_CFLAGS) \
	    -c regress/ctl/parser_test.c -o $@

regress/ctl/parser_test: $(PARSER_TEST_OBJS)
	$(CC) $(CFLAGS) -o $@ $(PARSER_TEST_OBJS) $(ATF_LIBS) $(PKG_LIBS)

regress/crypto/crypto_test.o: regress/crypto/crypto_test.c
	$(CC) $(ALL_CFLAGS) $(ATF_CFLAGS) \
	    -c regress/crypto/crypto_test.c -o $@

regress/crypto/crypto_test: $(CRYPTO_TEST_OBJS)
	$(CC) $(CFLAGS) -o $@ $(CRYPTO_TEST_OBJS) $(ATF_LIBS) $(PKG_LIBS)

# The traffic of regress/e2e/flood_test.sh and chaos_test.sh: an
# attacker and a checksummed transfer, each one file.
TESTPROGS+=	regress/e2e/flood regress/e2e/xfer

regress/e2e/flood: regress/e2e/flood.c
	$(CC) $(ALL_CFLAGS) -o $@ regress/e2e/flood.c $(PKG_LIBS)

regress/e2e/xfer: regress/e2e/xfer.c
	$(CC) $(ALL_CFLAGS) -o $@ regress/e2e/xfer.c $(PKG_LIBS)

regress/tls/tls_test.o: regress/tls/tls_test.c
	$(CC) $(ALL_CFLAGS) $(ATF_CFLAGS) -c regress/tls/tls_test.c -o $@

regress/tls/tls_test: $(TLS_TEST_OBJS)
	$(CC) $(CFLAGS) -o $@ $(TLS_TEST_OBJS) $(ATF_LIBS) $(PKG_LIBS)

# The WAN emulator of regress/e2e/wan.sh, the tests and the benchmark
# (regress/wanem/README.md): Linux only, on libnetfilter_queue, built
# when pkg-config knows that library and skipped with a word otherwise
# (the tests that need it then say it is missing).  != runs the command
# in GNU make 4 and in BSD make alike.
TESTPROGS+=	regress/wanem/wanem
NFQ_CFLAGS!=	pkg-config --cflags libnetfilter_queue 2>/dev/null || true
NFQ_LIBS!=	pkg-config --libs libnetfilter_queue 2>/dev/null || true

regress/wanem/wanem: regress/wanem/wanem.c
	@if [ -n "$(NFQ_LIBS)" ]; then \
		echo "$(CC) $(ALL_CFLAGS) $(NFQ_CFLAGS) -o $@ regress/wanem/wanem.c" \
		    "$(NFQ_LIBS) $(PKG_LIBS) -lm"; \
		$(CC) $(ALL_CFLAGS) $(NFQ_CFLAGS) -o $@ regress/wanem/wanem.c \
		    $(NFQ_LIBS) $(PKG_LIBS) -lm; \
	else \
		echo "regress/wanem/wanem: no libnetfilter_queue, not built"; \
	fi

regress/frag/frag_test.o: regress/frag/frag_test.c
	$(CC) $(ALL_CFLAGS) $(ATF_CFLAGS) -c regress/frag/frag_test.c -o $@

regress/frag/frag_test: $(FRAG_TEST_OBJS)
	$(CC) $(CFLAGS) -o $@ $(FRAG_TEST_OBJS) $(ATF_LIBS) $(PKG_LIBS)

regress/route/route_test.o: regress/route/route_test.c $(HEADERS)
	$(CC) $(ALL_CFLAGS) $(ATF_CFLAGS) -c regress/route/route_test.c -o $@

regress/route/route_test: $(ROUTE_TEST_OBJS)
	$(CC) $(CFLAGS) -o $@ $(ROUTE_TEST_OBJS) $(ATF_LIBS) $(PKG_LIBS)

regress/offload/offload_test.o: regress/offload/offload_test.c \
    marconid/offload.h
	$(CC) $(ALL_CFLAGS) $(ATF_CFLAGS) \
	    -c regress/offload/offload_test.c -o $@

regress/offload/offload_test: $(OFFLOAD_TEST_OBJS)
	$(CC) $(CFLAGS) -o $@ $(OFFLOAD_TEST_OBJS) $(ATF_LIBS) $(PKG_LIBS)

$(REORDER_TEST_OBJS) $(SCHED_TEST_OBJS): $(HEADERS)

regress/balance/reorder_test.o: regress/balance/reorder_test.c
	$(CC) $(ALL_CFLAGS) $(ATF_CFLAGS) -c regress/balance/reorder_test.c -o $@

regress/balance/reorder_test: $(REORDER_TEST_OBJS)
	$(CC) $(CFLAGS) -o $@ $(REORDER_TEST_OBJS) $(ATF_LIBS) $(PKG_LIBS)

$(RESEND_TEST_OBJS): $(HEADERS)

regress/resend/resend_test.o: regress/resend/resend_test.c
	$(CC) $(ALL_CFLAGS) $(ATF_CFLAGS) -c regress/resend/resend_test.c -o $@

regress/resend/resend_test: $(RESEND_TEST_OBJS)
	$(CC) $(CFLAGS) -o $@ $(RESEND_TEST_OBJS) $(ATF_LIBS) $(PKG_LIBS)

regress/balance/sched_test.o: regress/balance/sched_test.c
	$(CC) $(ALL_CFLAGS) $(ATF_CFLAGS) -c regress/balance/sched_test.c -o $@

regress/balance/sched_test: $(SCHED_TEST_OBJS)
	$(CC) $(CFLAGS) -o $@ $(SCHED_TEST_OBJS) $(ATF_LIBS) $(PKG_LIBS)

$(PROBE_TEST_OBJS): $(HEADERS)

regress/probe/probe_test.o: regress/probe/probe_test.c
	$(CC) $(ALL_CFLAGS) $(ATF_CFLAGS) -c regress/probe/probe_test.c -o $@

regress/probe/probe_test: $(PROBE_TEST_OBJS)
	$(CC) $(CFLAGS) -o $@ $(PROBE_TEST_OBJS) $(ATF_LIBS) $(PKG_LIBS)

# The daemon with the sandbox's test hooks (sandbox-linux.c), for
# regress/e2e/sandbox_test.sh only: one command from the sources, so
# that no object of it is mistaken for one of marconid's.
regress/e2e/marconid-test: $(MARCONID_SRCS) $(HEADERS)
	$(CC) $(ALL_CFLAGS) -DMARCONID_TEST_HOOKS -o $@ $(MARCONID_SRCS) \
	    $(PKG_LIBS) $(LDFLAGS)

bench/probe: bench/probe.c
	$(CC) $(CFLAGS) $(WARNFLAGS) $(OS_CFLAGS) -o $@ bench/probe.c

# Fuzzing (fuzz/README.md).  make fuzz builds each harness with clang,
# libFuzzer, ASan and UBSan in one command from the sources, so that no
# object of it is taken for one of the normal build's, and runs each for
# FUZZ_TIME seconds.  make check replays every corpus file through each
# harness built with the normal compiler (regress/fuzz).
FUZZCC=		clang
FUZZFLAGS=	-g -O1 -fsanitize=fuzzer,address,undefined \
		-fno-sanitize-recover=undefined
FUZZ_TIME=	60
FUZZ_TARGETS=	udp frag session imsg conf ctl relay reorder route
FUZZERS=	fuzz/fuzz_udp fuzz/fuzz_frag fuzz/fuzz_session \
		fuzz/fuzz_imsg fuzz/fuzz_conf fuzz/fuzz_ctl fuzz/fuzz_relay \
		fuzz/fuzz_reorder fuzz/fuzz_route
FUZZ_HEADERS=	$(HEADERS) fuzz/fuzz.h
FUZZ_STUBS=	fuzz/stubs.c $(COMPAT_SRCS)
# what each links besides what it includes (pipe.c, session.c,
# engine.c, control.c: their functions under test are static)
FUZZ_UDP_SRCS=	marconid/session.c marconid/tlsctx.c marconid/crypto.c \
		marconid/frag.c marconid/util.c marconid/config.c \
		marconid/printconf.c marconid/probe.c
FUZZ_SESSION_SRCS= marconid/tlsctx.c marconid/crypto.c marconid/frag.c \
		marconid/util.c marconid/config.c marconid/printconf.c \
		marconid/probe.c
FUZZ_FRAG_SRCS=	marconid/frag.c
FUZZ_IMSG_SRCS=
FUZZ_ROUTE_SRCS= marconid/route.c
FUZZ_CONF_SRCS=	marconid/parse.c marconid/config.c marconid/printconf.c \
		marconid/util.c marconid/route.c
FUZZ_CTL_SRCS=	$(FUZZ_CONF_SRCS) marconid/crypto.c marconid/frag.c \
		common/ctl.c marconid/sched.c marconid/reorder.c \
		marconid/resend.c
FUZZ_REORDER_SRCS= marconid/reorder.c
FUZZ_CMD=	$(FUZZCC) $(FUZZFLAGS) $(WARNFLAGS) $(CPPFLAGS) -o $@

fuzzers: $(FUZZERS)

fuzz: $(FUZZERS)
	sh fuzz/run $(FUZZ_TIME) $(FUZZ_TARGETS)

fuzz/fuzz_udp: fuzz/fuzz_udp.c marconid/pipe.c $(FUZZ_UDP_SRCS) \
    $(FUZZ_STUBS) $(FUZZ_HEADERS)
	$(FUZZ_CMD) fuzz/fuzz_udp.c $(FUZZ_UDP_SRCS) $(FUZZ_STUBS) $(PKG_LIBS)

fuzz/fuzz_frag: fuzz/fuzz_frag.c $(FUZZ_FRAG_SRCS) $(FUZZ_STUBS) \
    $(FUZZ_HEADERS)
	$(FUZZ_CMD) fuzz/fuzz_frag.c $(FUZZ_FRAG_SRCS) $(FUZZ_STUBS) $(PKG_LIBS)

fuzz/fuzz_session: fuzz/fuzz_session.c marconid/pipe.c marconid/session.c \
    $(FUZZ_SESSION_SRCS) $(FUZZ_STUBS) $(FUZZ_HEADERS)
	$(FUZZ_CMD) fuzz/fuzz_session.c $(FUZZ_SESSION_SRCS) $(FUZZ_STUBS) \
	    $(PKG_LIBS)

fuzz/fuzz_imsg: fuzz/fuzz_imsg.c $(FUZZ_STUBS) $(FUZZ_HEADERS)
	$(FUZZ_CMD) fuzz/fuzz_imsg.c $(FUZZ_IMSG_SRCS) $(FUZZ_STUBS) $(PKG_LIBS)

fuzz/fuzz_route: fuzz/fuzz_route.c $(FUZZ_ROUTE_SRCS) $(FUZZ_STUBS) \
    $(FUZZ_HEADERS)
	$(FUZZ_CMD) fuzz/fuzz_route.c $(FUZZ_ROUTE_SRCS) $(FUZZ_STUBS) \
	    $(PKG_LIBS)

fuzz/fuzz_conf: fuzz/fuzz_conf.c $(FUZZ_CONF_SRCS) $(FUZZ_STUBS) \
    $(FUZZ_HEADERS)
	$(FUZZ_CMD) fuzz/fuzz_conf.c $(FUZZ_CONF_SRCS) $(FUZZ_STUBS) $(PKG_LIBS)

fuzz/fuzz_ctl: fuzz/fuzz_ctl.c marconid/engine.c marconid/control.c \
    $(FUZZ_CTL_SRCS) $(FUZZ_STUBS) $(FUZZ_HEADERS)
	$(FUZZ_CMD) fuzz/fuzz_ctl.c $(FUZZ_CTL_SRCS) $(FUZZ_STUBS) $(PKG_LIBS)

fuzz/fuzz_relay: fuzz/fuzz_relay.c marconid/engine.c marconid/control.c \
    $(FUZZ_CTL_SRCS) $(FUZZ_STUBS) $(FUZZ_HEADERS)
	$(FUZZ_CMD) fuzz/fuzz_relay.c $(FUZZ_CTL_SRCS) $(FUZZ_STUBS) \
	    $(PKG_LIBS)

fuzz/fuzz_reorder: fuzz/fuzz_reorder.c $(FUZZ_REORDER_SRCS) $(FUZZ_STUBS) \
    $(FUZZ_HEADERS)
	$(FUZZ_CMD) fuzz/fuzz_reorder.c $(FUZZ_REORDER_SRCS) $(FUZZ_STUBS) \
	    $(PKG_LIBS)

TESTPROGS+=	regress/fuzz/replay_udp regress/fuzz/replay_frag \
		regress/fuzz/replay_session regress/fuzz/replay_imsg \
		regress/fuzz/replay_conf regress/fuzz/replay_ctl \
		regress/fuzz/replay_relay regress/fuzz/replay_reorder \
		regress/fuzz/replay_route
REPLAY_OBJS=	regress/fuzz/replay.o fuzz/stubs.o $(COMPAT_SRCS:.c=.o)

fuzz/fuzz_udp.o fuzz/fuzz_frag.o fuzz/fuzz_session.o fuzz/fuzz_imsg.o \
    fuzz/fuzz_conf.o fuzz/fuzz_ctl.o fuzz/fuzz_relay.o fuzz/fuzz_reorder.o \
    fuzz/fuzz_route.o \
    fuzz/stubs.o: $(FUZZ_HEADERS)
fuzz/fuzz_udp.o: marconid/pipe.c
fuzz/fuzz_session.o: marconid/pipe.c marconid/session.c
fuzz/fuzz_ctl.o: marconid/engine.c marconid/control.c
fuzz/fuzz_relay.o: marconid/engine.c marconid/control.c

regress/fuzz/replay.o: regress/fuzz/replay.c fuzz/fuzz.h
	$(CC) $(ALL_CFLAGS) -Ifuzz -c regress/fuzz/replay.c -o $@

# address learning, through the UDP fuzzer's pipe and sealing
TESTPROGS+=	regress/learn/learn_test

regress/learn/learn_test.o: regress/learn/learn_test.c fuzz/fuzz_udp.c \
    marconid/pipe.c $(FUZZ_HEADERS)
	$(CC) $(ALL_CFLAGS) $(ATF_CFLAGS) -Ifuzz \
	    -c regress/learn/learn_test.c -o $@

regress/learn/learn_test: regress/learn/learn_test.o \
    $(FUZZ_UDP_SRCS:.c=.o) fuzz/stubs.o $(COMPAT_SRCS:.c=.o)
	$(CC) $(CFLAGS) -o $@ regress/learn/learn_test.o \
	    $(FUZZ_UDP_SRCS:.c=.o) fuzz/stubs.o $(COMPAT_SRCS:.c=.o) \
	    $(ATF_LIBS) $(PKG_LIBS)

regress/fuzz/replay_udp: fuzz/fuzz_udp.o $(FUZZ_UDP_SRCS:.c=.o) $(REPLAY_OBJS)
	$(CC) $(CFLAGS) -o $@ fuzz/fuzz_udp.o $(FUZZ_UDP_SRCS:.c=.o) \
	    $(REPLAY_OBJS) $(PKG_LIBS)

regress/fuzz/replay_reorder: fuzz/fuzz_reorder.o \
    $(FUZZ_REORDER_SRCS:.c=.o) $(REPLAY_OBJS)
	$(CC) $(CFLAGS) -o $@ fuzz/fuzz_reorder.o $(FUZZ_REORDER_SRCS:.c=.o) \
	    $(REPLAY_OBJS) $(PKG_LIBS)

regress/fuzz/replay_frag: fuzz/fuzz_frag.o $(FUZZ_FRAG_SRCS:.c=.o) \
    $(REPLAY_OBJS)
	$(CC) $(CFLAGS) -o $@ fuzz/fuzz_frag.o $(FUZZ_FRAG_SRCS:.c=.o) \
	    $(REPLAY_OBJS) $(PKG_LIBS)

regress/fuzz/replay_session: fuzz/fuzz_session.o \
    $(FUZZ_SESSION_SRCS:.c=.o) $(REPLAY_OBJS)
	$(CC) $(CFLAGS) -o $@ fuzz/fuzz_session.o $(FUZZ_SESSION_SRCS:.c=.o) \
	    $(REPLAY_OBJS) $(PKG_LIBS)

regress/fuzz/replay_imsg: fuzz/fuzz_imsg.o $(REPLAY_OBJS)
	$(CC) $(CFLAGS) -o $@ fuzz/fuzz_imsg.o $(REPLAY_OBJS) $(PKG_LIBS)

regress/fuzz/replay_conf: fuzz/fuzz_conf.o $(FUZZ_CONF_SRCS:.c=.o) \
    $(REPLAY_OBJS)
	$(CC) $(CFLAGS) -o $@ fuzz/fuzz_conf.o $(FUZZ_CONF_SRCS:.c=.o) \
	    $(REPLAY_OBJS) $(PKG_LIBS)

regress/fuzz/replay_route: fuzz/fuzz_route.o $(FUZZ_ROUTE_SRCS:.c=.o) \
    $(REPLAY_OBJS)
	$(CC) $(CFLAGS) -o $@ fuzz/fuzz_route.o $(FUZZ_ROUTE_SRCS:.c=.o) \
	    $(REPLAY_OBJS) $(PKG_LIBS)

regress/fuzz/replay_ctl: fuzz/fuzz_ctl.o $(FUZZ_CTL_SRCS:.c=.o) \
    $(REPLAY_OBJS)
	$(CC) $(CFLAGS) -o $@ fuzz/fuzz_ctl.o $(FUZZ_CTL_SRCS:.c=.o) \
	    $(REPLAY_OBJS) $(PKG_LIBS)

regress/fuzz/replay_relay: fuzz/fuzz_relay.o $(FUZZ_CTL_SRCS:.c=.o) \
    $(REPLAY_OBJS)
	$(CC) $(CFLAGS) -o $@ fuzz/fuzz_relay.o $(FUZZ_CTL_SRCS:.c=.o) \
	    $(REPLAY_OBJS) $(PKG_LIBS)

clean: clean-fuzz

clean-fuzz:
	rm -f $(FUZZERS) fuzz/*.o
	rm -rf fuzz/work

.PHONY: fuzz fuzzers clean-fuzz

tests: $(PROGS) $(TESTPROGS) $(BENCHPROGS)

check: tests lint
	sh scripts/run-tests

check-valgrind: tests
	sh scripts/check-valgrind

demo: $(PROGS) regress/wanem/wanem
	sh scripts/demo

bench: $(PROGS) $(BENCHPROGS)
	sh bench/run

bench-scale: $(PROGS)
	sh bench/scale

lint:
	mandoc -Tlint -W warning $(MANS5) $(MANS8)

install: $(PROGS) install-service-$(OS)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man5 \
	    $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(EXAMPLEDIR)
	install -m 555 marconid/marconid $(DESTDIR)$(BINDIR)/marconid
	install -m 555 marconictl/marconictl $(DESTDIR)$(BINDIR)/marconictl
	install -m 444 $(MANS5) $(DESTDIR)$(MANDIR)/man5/
	install -m 444 $(MANS8) $(DESTDIR)$(MANDIR)/man8/
	install -m 444 etc/marconid.conf $(DESTDIR)$(EXAMPLEDIR)/marconid.conf
	install -m 444 $(EXAMPLES) $(DESTDIR)$(EXAMPLEDIR)/
	if [ -z "$(DESTDIR)" ]; then sh scripts/add-user; fi

install-service-Linux:
	install -d $(DESTDIR)$(SYSTEMDUNITDIR)
	rm -f $(DESTDIR)$(SYSTEMDUNITDIR)/marconid.service
	$(SERVICE_SED) etc/marconid.service \
	    > $(DESTDIR)$(SYSTEMDUNITDIR)/marconid.service
	chmod 444 $(DESTDIR)$(SYSTEMDUNITDIR)/marconid.service

install-service-OpenBSD:
	install -d $(DESTDIR)$(OPENBSD_RCDIR)
	rm -f $(DESTDIR)$(OPENBSD_RCDIR)/marconid
	$(SERVICE_SED) etc/rc.d/marconid.openbsd \
	    > $(DESTDIR)$(OPENBSD_RCDIR)/marconid
	chmod 555 $(DESTDIR)$(OPENBSD_RCDIR)/marconid

install-service-FreeBSD:
	install -d $(DESTDIR)$(FREEBSD_RCDIR)
	rm -f $(DESTDIR)$(FREEBSD_RCDIR)/marconid
	$(SERVICE_SED) etc/rc.d/marconid.freebsd \
	    > $(DESTDIR)$(FREEBSD_RCDIR)/marconid
	chmod 555 $(DESTDIR)$(FREEBSD_RCDIR)/marconid

# Removes what install put there, and the examples directory if that
# leaves it empty; not the user, not /etc/marconid.conf, not the
# directories others share.
uninstall: uninstall-service-$(OS)
	rm -f $(DESTDIR)$(BINDIR)/marconid $(DESTDIR)$(BINDIR)/marconictl
	for f in $(MANS5); do rm -f $(DESTDIR)$(MANDIR)/man5/$${f##*/}; done
	for f in $(MANS8); do rm -f $(DESTDIR)$(MANDIR)/man8/$${f##*/}; done
	rm -f $(DESTDIR)$(EXAMPLEDIR)/marconid.conf
	for f in $(EXAMPLES); do rm -f $(DESTDIR)$(EXAMPLEDIR)/$${f##*/}; done
	rmdir $(DESTDIR)$(EXAMPLEDIR) 2>/dev/null || true

uninstall-service-Linux:
	rm -f $(DESTDIR)$(SYSTEMDUNITDIR)/marconid.service

uninstall-service-OpenBSD:
	rm -f $(DESTDIR)$(OPENBSD_RCDIR)/marconid

uninstall-service-FreeBSD:
	rm -f $(DESTDIR)$(FREEBSD_RCDIR)/marconid

clean:
	rm -f $(PROGS) $(TESTPROGS) $(BENCHPROGS) marconid/parse.c \
	    marconid/*.o marconictl/*.o common/*.o regress/*/*.o

.PHONY: all tests check demo bench bench-scale lint install clean uninstall \
	check-valgrind \
	install-service-Linux install-service-OpenBSD install-service-FreeBSD \
	uninstall-service-Linux uninstall-service-OpenBSD \
	uninstall-service-FreeBSD
