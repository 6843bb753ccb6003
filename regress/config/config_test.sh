#!/usr/bin/env atf-sh
#
# The configuration parser against golden files, as bgpd and pfctl do:
#
#	N.conf		a good configuration: marconid -nv prints N.ok,
#			and reads N.ok back to the same output; extra
#			arguments (-D macro=value) are in N.args if any
#	fail-N.conf	a bad one: marconid -n exits 1, prints nothing on
#			stdout and exactly fail-N.err on stderr
#	warn-N.conf	accepted with warnings: exactly warn-N.err on stderr
#	N.inc		included by N.conf
#
# Each of these files is a test case of its own, plus a few cases
# below for what is not a file: -n, the secrecy check, macros.  The
# configurations name their certificate and key "site.crt" and
# "site.key", relative to the work directory every case runs in, so
# that nothing depends on where the tree is checked out.

# Copies the test files into the work directory.  A checkout leaves
# them 0644, which the secrecy check refuses: 0600 as an operator would.
prepare()
{
	MARCONID="$(atf_get_srcdir)/../../marconid/marconid"
	[ -x "${MARCONID}" ] || atf_fail "marconid not built: ${MARCONID}"

	cp "$(atf_get_srcdir)"/*.conf "$(atf_get_srcdir)"/*.inc \
	    "$(atf_get_srcdir)"/*.ok "$(atf_get_srcdir)"/*.err . ||
	    atf_fail "cannot copy the test files"
	chmod 0600 *.conf *.inc *.ok
	: > site.crt
	: > site.key
	chmod 0600 site.crt site.key
}

# Relative certificate and key paths come out absolute, from the
# directory of the configuration file (the work directory here): the
# comparison takes that directory out again.
good_check()
{
	prepare
	args=""
	if [ -f "$(atf_get_srcdir)/$1.args" ]; then
		args=$(cat "$(atf_get_srcdir)/$1.args")
	fi
	# shellcheck disable=SC2086 # args holds several words
	atf_check -s exit:0 -o save:out -e ignore \
	    "${MARCONID}" -nv ${args} -f "$1.conf"
	atf_check -o file:"$1.ok" \
	    sed "s|\"$(pwd -P)/|\"|g" out
	# the normalised form parses back to itself
	atf_check -s exit:0 -o save:out -e ignore \
	    "${MARCONID}" -nv -f "$1.ok"
	atf_check -o file:"$1.ok" \
	    sed "s|\"$(pwd -P)/|\"|g" out
	# and neither has anything to warn about
	# shellcheck disable=SC2086
	atf_check -s exit:0 -o empty -e inline:"configuration OK\n" \
	    "${MARCONID}" -n ${args} -f "$1.conf"
	atf_check -s exit:0 -o empty -e inline:"configuration OK\n" \
	    "${MARCONID}" -n -f "$1.ok"
}

fail_check()
{
	prepare
	atf_check -s exit:1 -o empty -e save:err \
	    "${MARCONID}" -n -f "$1.conf"
	atf_check -o file:"$1.err" sed "s|\"$(pwd -P)/|\"|g" err
}

warn_check()
{
	prepare
	atf_check -s exit:0 -o empty -e file:"$1.err" \
	    "${MARCONID}" -n -f "$1.conf"
}

atf_test_case noaction
noaction_head()
{
	atf_set descr "marconid -n says configuration OK and nothing else"
}
noaction_body()
{
	prepare
	atf_check -s exit:0 -o empty -e inline:"configuration OK\n" \
	    "${MARCONID}" -n -f 1.conf
}

atf_test_case unused_macro
unused_macro_head()
{
	atf_set descr "an unused macro is a warning, only with -v"
}
unused_macro_body()
{
	prepare
	atf_check -s exit:0 -o empty -e inline:"configuration OK\n" \
	    "${MARCONID}" -n -f 2.conf
	atf_check -s exit:0 -o save:out \
	    -e match:"^warning: macro 'unused' not used$" \
	    "${MARCONID}" -nv -f 2.conf
	atf_check -o file:2.ok \
	    sed "s|\"$(pwd -P)/|\"|g" out
}

atf_test_case secrecy
secrecy_head()
{
	atf_set descr "a configuration others can read or write is refused"
}
secrecy_body()
{
	prepare
	msg="1.conf: group writable or world read/writable"
	for mode in 0644 0604 0602 0620 0610; do
		chmod "${mode}" 1.conf
		atf_check -s exit:1 -o empty -e inline:"${msg}\n" \
		    "${MARCONID}" -n -f 1.conf
	done
	# group-readable is fine, as for bgpd.conf
	chmod 0640 1.conf
	atf_check -s exit:0 -o empty -e inline:"configuration OK\n" \
	    "${MARCONID}" -n -f 1.conf
}

atf_test_case include_secrecy
include_secrecy_head()
{
	atf_set descr "an included file gets the same secrecy check"
}
include_secrecy_body()
{
	prepare
	chmod 0644 3.inc
	atf_check -s exit:1 -o empty -e inline:"3.inc: group writable or \
world read/writable\n3.conf:16: failed to include \"3.inc\"\n" \
	    "${MARCONID}" -n -f 3.conf
}

atf_test_case key_secrecy
key_secrecy_head()
{
	atf_set descr "a key others can read, or someone else's, is refused"
}
key_secrecy_body()
{
	prepare
	msg="1.conf:3: key \"site.key\": group or world accessible"
	for mode in 0640 0604 0660 0606 0610; do
		chmod "${mode}" site.key
		atf_check -s exit:1 -o empty -e save:err \
		    "${MARCONID}" -n -f 1.conf
		atf_check -o inline:"${msg}\n" sed "s|\"$(pwd -P)/|\"|g" err
	done
	chmod 0400 site.key
	atf_check -s exit:0 -o empty -e inline:"configuration OK\n" \
	    "${MARCONID}" -n -f 1.conf
	# an owner other than root or the user running it
	[ "$(id -u)" -eq 0 ] || return 0
	chown nobody site.key || atf_fail "cannot chown site.key"
	atf_check -s exit:1 -o empty -e save:err \
	    "${MARCONID}" -n -f 1.conf
	atf_check -o inline:"1.conf:3: key \"site.key\": owner not root \
or current user\n" sed "s|\"$(pwd -P)/|\"|g" err
}

atf_test_case missing
missing_head()
{
	atf_set descr "a configuration file that is not there"
}
missing_body()
{
	prepare
	atf_check -s exit:1 -o empty \
	    -e inline:"none.conf: No such file or directory\n" \
	    "${MARCONID}" -n -f none.conf
}

atf_test_case cmdline_macro
cmdline_macro_head()
{
	atf_set descr "-D defines a macro the file does not, and wins"
}
cmdline_macro_body()
{
	prepare
	# a macro only the command line defines
	sed 's/198\.18\.1\.1/$far1/' 1.conf > d.conf
	chmod 0600 d.conf
	atf_check -s exit:1 -o empty \
	    -e inline:"d.conf:11: macro 'far1' not defined\n" \
	    "${MARCONID}" -n -f d.conf
	atf_check -s exit:0 -o match:"remote 198\.18\.9\.1 port" -e ignore \
	    "${MARCONID}" -nv -D far1=198.18.9.1 -f d.conf
	# and one that overrides the file's
	atf_check -s exit:0 -o match:"^	local 198\.18\.9\.2$" \
	    -o not-match:"198\.18\.1\.2" -e ignore \
	    "${MARCONID}" -nv -D ext1=198.18.9.2 -f 2.conf
}

atf_test_case examples
examples_head()
{
	atf_set descr "the example configurations of etc/ are accepted"
}
examples_body()
{
	prepare
	etc="$(atf_get_srcdir)/../../etc"
	# the examples name their certificate and key through two macros,
	# pointed at the work directory's; marconid.conf relies on the
	# defaults, in /etc: it gets the work directory's by two more lines
	for f in "${etc}"/examples/*.conf "${etc}"/marconid.conf; do
		[ -f "${f}" ] || atf_fail "no example ${f}"
		n=example-${f##*/}
		cp "${f}" "${n}" || atf_fail "cannot copy ${f}"
		args="-D site_crt=site.crt -D site_key=site.key"
		case "${n}" in
		example-marconid.conf)
			printf 'certificate "site.crt"\nkey "site.key"\n' \
			    >> "${n}"
			args=""
			;;
		esac
		chmod 0600 "${n}"
		# shellcheck disable=SC2086 # args holds several words
		atf_check -s exit:0 -o empty -e inline:"configuration OK\n" \
		    "${MARCONID}" -n ${args} -f "${n}"
		# and without anything to warn about
		# shellcheck disable=SC2086
		atf_check -s exit:0 -o not-empty \
		    -e inline:"configuration OK\n" \
		    "${MARCONID}" -nv ${args} -f "${n}"
	done
}

atf_test_case manual_examples
manual_examples_head()
{
	atf_set descr "the configurations of marconid.conf(5) marked as" \
	    "examples pass marconid -n without a warning"
}
manual_examples_body()
{
	prepare
	top="$(atf_get_srcdir)/../.."
	names=$(sh "${top}/scripts/man-example" "${top}/marconid.conf.5" -) ||
	    atf_fail "no example in marconid.conf.5"
	n=0
	for name in ${names}; do
		sh "${top}/scripts/man-example" "${top}/marconid.conf.5" \
		    "${name}" > "man-${name}.conf" ||
		    atf_fail "cannot extract example ${name}"
		chmod 0600 "man-${name}.conf"
		atf_check -s exit:0 -o empty -e inline:"configuration OK\n" \
		    "${MARCONID}" -n -D site_crt=site.crt -D site_key=site.key \
		    -f "man-${name}.conf"
		n=$((n + 1))
	done
	# the full mesh of three sites and the hub with its spokes
	[ "${n}" -ge 5 ] || atf_fail "only ${n} examples in marconid.conf.5"
}

atf_init_test_cases()
{
	atf_add_test_case noaction
	atf_add_test_case unused_macro
	atf_add_test_case secrecy
	atf_add_test_case include_secrecy
	atf_add_test_case key_secrecy
	atf_add_test_case missing
	atf_add_test_case cmdline_macro
	atf_add_test_case examples
	atf_add_test_case manual_examples

	# one test case per golden file: good_1, fail_12, warn_1 ...
	for f in "$(atf_get_srcdir)"/*.conf; do
		n=$(basename "${f}" .conf)
		case "${n}" in
		fail-*)	kind=fail ;;
		warn-*)	kind=warn ;;
		*)	kind=good ;;
		esac
		tc="${kind}_${n#*-}"
		eval "${tc}_head() { atf_set descr \"${n}.conf\"; }"
		eval "${tc}_body() { ${kind}_check ${n}; }"
		atf_add_test_case "${tc}"
	done
}
