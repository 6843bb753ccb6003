#!/usr/bin/env atf-sh
#
# make install into a scratch root (DESTDIR) with PREFIX=/usr/local,
# then make uninstall.  Nothing here needs root: with DESTDIR set, no
# user is created.
#
# It works in a copy of the top of the tree (mtimes kept, regress/ and
# the dot files left out), so that neither install nor a test that
# fails halfway can change the checkout.  The programs must already be
# built (make check builds them before the tests run): install must not
# rebuild anything, and the test fails, saying so, if it would.

PREFIX=/usr/local

# Copies the tree into ./tree, then leaves the stamp that
# check_untouched compares against.
copy_tree()
{
	top=$(cd "$(atf_get_srcdir)/../.." && pwd -P) ||
	    atf_fail "cannot find the top of the tree"
	[ -f "${top}/config.mk" ] ||
	    atf_fail "${top} is not configured: run make first"
	mkdir tree || atf_fail "cannot create tree"
	for f in "${top}"/*; do
		case "${f##*/}" in
		regress) continue ;;
		esac
		cp -Rp "${f}" tree/ || atf_fail "cannot copy ${f}"
	done
	# the copies keep their times: only what make writes is newer
	touch stamp || atf_fail "cannot create stamp"
	sleep 1
}

# Fails if make wrote anything into the tree: it would have built, or
# configured, what should have been there already.
check_untouched()
{
	(cd tree && find . -newer ../stamp ! -type d) > written
	if [ -s written ]; then
		cat written
		atf_fail "make $1 wrote into the tree: the programs are not" \
		    "built or are out of date, run make first"
	fi
}

# A variable of config.mk, as configure wrote it.
config_var()
{
	sed -n "s/^$1=[[:space:]]*//p" tree/config.mk
}

# The files install must put under the root, sorted, one a line.
expected_files()
{
	man=${PREFIX#/}/$(config_var MANSUBDIR)
	ex=${PREFIX#/}/share/examples/marconid
	{
		echo "${PREFIX#/}/sbin/marconid"
		echo "${PREFIX#/}/sbin/marconictl"
		echo "${man}/man5/marconid.conf.5"
		echo "${man}/man8/marconid.8"
		echo "${man}/man8/marconictl.8"
		echo "${ex}/marconid.conf"
		# every example of the tree, so that a new one cannot be
		# forgotten in build.mk
		for f in tree/etc/examples/*.conf; do
			echo "${ex}/${f##*/}"
		done
		case "$(config_var OS)" in
		Linux)	echo "${PREFIX#/}/lib/systemd/system/marconid.service" ;;
		OpenBSD) echo "etc/rc.d/marconid" ;;
		FreeBSD) echo "${PREFIX#/}/etc/rc.d/marconid" ;;
		*)	atf_fail "no service file known for $(config_var OS)" ;;
		esac
	} | LC_ALL=C sort
}

# Everything but directories under the root, as paths relative to it.
installed_files()
{
	(cd root && find . ! -type d) | sed 's|^\./||' | LC_ALL=C sort
}

install_check()
{
	copy_tree
	root=$(pwd -P)/root
	expected_files > expected

	(cd tree && "$1" install DESTDIR="${root}" PREFIX="${PREFIX}") \
	    > install.out 2>&1
	rc=$?
	check_untouched install
	if [ "${rc}" -ne 0 ]; then
		cat install.out
		atf_fail "make install failed"
	fi
	installed_files > installed
	if ! cmp -s expected installed; then
		diff -u expected installed
		atf_fail "install did not put exactly the expected files" \
		    "(- missing, + unexpected)"
	fi

	atf_check test -x "root${PREFIX}/sbin/marconid"
	atf_check test -x "root${PREFIX}/sbin/marconictl"

	# the service file names the programs where they were installed
	case "$(config_var OS)" in
	Linux)
		svc=root${PREFIX}/lib/systemd/system/marconid.service
		atf_check -o match:"^ExecStartPre=${PREFIX}/sbin/marconid -n$" \
		    -o match:"^ExecStart=${PREFIX}/sbin/marconid -d$" \
		    -o match:"^ExecReload=${PREFIX}/sbin/marconictl reload$" \
		    cat "${svc}"
		# systemd's own check, with the programs where DESTDIR
		# put them so that it can see they are there
		if command -v systemd-analyze >/dev/null 2>&1; then
			sed "s|${PREFIX}/sbin/|${root}${PREFIX}/sbin/|" \
			    "${svc}" > marconid.service
			atf_check -s exit:0 -e empty \
			    systemd-analyze verify --man=no \
			    "$(pwd -P)/marconid.service"
		fi
		;;
	OpenBSD)
		svc=root/etc/rc.d/marconid
		atf_check -o match:"^daemon=\"${PREFIX}/sbin/marconid\"$" \
		    cat "${svc}"
		atf_check test -x "${svc}"
		;;
	FreeBSD)
		svc=root${PREFIX}/etc/rc.d/marconid
		atf_check -o match:"^command=\"${PREFIX}/sbin/marconid\"$" \
		    cat "${svc}"
		atf_check test -x "${svc}"
		;;
	esac
	atf_check -s exit:1 grep @ "${svc}"

	# uninstall removes every file; the directories install made may
	# stay, empty, as they may be shared with other software
	(cd tree && "$1" -f build.mk uninstall DESTDIR="${root}" \
	    PREFIX="${PREFIX}") > uninstall.out 2>&1 ||
	    { cat uninstall.out; atf_fail "make uninstall failed"; }
	check_untouched uninstall
	installed_files > left
	atf_check -o empty cat left
}

atf_test_case make_install
make_install_head()
{
	atf_set descr "make install and uninstall put and remove the" \
	    "expected files"
	atf_set require.progs make
}
make_install_body()
{
	install_check make
}

atf_test_case bmake_install
bmake_install_head()
{
	atf_set descr "the same with BSD make"
	atf_set require.progs bmake
}
bmake_install_body()
{
	install_check bmake
}

atf_init_test_cases()
{
	atf_add_test_case make_install
	atf_add_test_case bmake_install
}
