#!/usr/bin/env bats
# deb.bats - the Debian package (issue 16): built from a copy of the tree
# by the README's command, clean under lintian, one version throughout;
# then, as root, installed on this machine, smoke-tested, upgraded with a
# changed socks4rc, removed and purged, with nothing under /usr or /etc
# touched that the package does not own and nothing left behind.
#
# The build is done once, in setup_file, from $BATS_FILE_TMPDIR/src, a copy
# of the files git tracks (as they are in the work tree; nothing
# untracked, no build/): as root, in a fresh minimal Debian made by
# mmdebstrap with only debian/control's build dependencies added, as a
# new machine would build it; otherwise on this machine. The root tests run in order and each needs the
# one before. They refuse to run, with the reason, when socks4wrap is
# already installed or a file the package would install is already there
# (a make install, say): they would overwrite it and then purge it.

load helpers/common

setup_file() {
	local src=$BATS_FILE_TMPDIR/src status=0
	export S4_DEB_SRC=$src S4_DEB_OUT=$BATS_FILE_TMPDIR
	mkdir "$src"
	# a sanitizer build of the tree (make check SANITIZE=...) must not
	# make a sanitized package; make check's jobserver is not the build's
	# (set -e does not hold in a subshell on the left of ||: each step
	# says its own failure)
	(
		unset SANITIZE S4_SAN_PRELOAD MAKEFLAGS MFLAGS MAKELEVEL
		cd "$S4_ROOT" || exit
		git ls-files -z | tar -c --null -T - | tar -x -C "$src" || exit
		if clean_root_possible; then
			build_in_clean_root "$src"
		else
			cd "$src" && dpkg-buildpackage -us -uc -b
		fi
	) >"$BATS_FILE_TMPDIR/build.log" 2>&1 </dev/null 3>&- || status=$?
	echo "$status" >"$BATS_FILE_TMPDIR/build.status"
}

# clean_root_possible: root and mmdebstrap, so that the package can be
# built as on a fresh machine (below); else it is built on this one.
clean_root_possible() {
	[ "$(id -u)" -eq 0 ] && command -v mmdebstrap >/dev/null 2>&1
}

# build_in_clean_root SRC: the README's build, on a fresh Debian: a
# minimal system (mmdebstrap's buildd variant: build-essential and
# nothing more; no gcc-multilib, no clang), the copy of the tree in it as
# /src, `apt-get build-dep ./` installing what debian/control names and
# nothing else, then dpkg-buildpackage, all inside it while mmdebstrap
# has /proc, /sys and /dev mounted there as on a machine. The .deb and
# .changes come out beside the copy, as from a build here, and nothing
# of the system is kept (--format=null).
build_in_clean_root() {
	local suite
	suite=$(. /etc/os-release && echo "$VERSION_CODENAME")
	mmdebstrap --variant=buildd --mode=root --format=null \
		--customize-hook="copy-in $1 /" \
		--customize-hook='chroot "$1" sh -c "cd /src && apt-get update -q &&
			DEBIAN_FRONTEND=noninteractive apt-get build-dep -y -q ./ &&
			dpkg-buildpackage -us -uc -b"' \
		--customize-hook='cp "$1"/socks4wrap*_* '"$S4_DEB_OUT/" \
		"$suite" /dev/null &&
		touch "$S4_DEB_OUT/clean-root"
}

teardown_file() {
	# a root test that failed half way leaves no package behind
	if [ -f "$BATS_FILE_TMPDIR/installed" ] && dpkg-query -W socks4wrap >/dev/null 2>&1; then
		dpkg --purge socks4wrap >/dev/null 2>&1 </dev/null || true
	fi
}

# --- helpers -------------------------------------------------------------------

# require_built: the tools are here and setup_file's build worked; sets
# deb, changes, version, triplet and libdir.
require_built() {
	require_cmd git
	require_cmd dpkg-buildpackage dpkg-dev
	require_cmd dh debhelper
	[ "$(cat "$S4_DEB_OUT/build.status")" -eq 0 ] || {
		tail -n 40 "$S4_DEB_OUT/build.log"
		s4_fail "dpkg-buildpackage -us -uc -b failed (the log's end is above)"
		return 1
	}
	version=$(cd "$S4_DEB_SRC" && dpkg-parsechangelog -SVersion)
	triplet=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
	libdir=/usr/lib/$triplet/socks4wrap
	deb=$S4_DEB_OUT/socks4wrap_${version}_$(dpkg-architecture -qDEB_HOST_ARCH).deb
	changes=${deb%.deb}.changes
	[ -f "$deb" ] || s4_fail "no $deb after the build"
}

# extracted: the package unpacked under $x (not installed).
extracted() {
	x=$S4_DEB_OUT/x
	[ -d "$x" ] || dpkg-deb -x "$deb" "$x"
}

# refuse REASON: skip the test, or fail it in CI, which runs as root on a
# machine of its own where nothing may stand in the way.
refuse() {
	[ -z "${CI:-}" ] || s4_fail "CI: $1" || return 1
	skip "$1"
}

# require_root_install: root, and nothing in the way of installing the
# package here and purging it again.
require_root_install() {
	local f owner
	require_built
	[ "$(id -u)" -eq 0 ] ||
		refuse "installing the package needs root (CI runs as root): dpkg -i, apt-get remove and purge" ||
		return 1
	[ ! -f "$S4_DEB_OUT/refused" ] || refuse "$(cat "$S4_DEB_OUT/refused")" || return 1
	[ -f "$S4_DEB_OUT/installed" ] && return 0
	if dpkg-query -W -f='${Status}' socks4wrap 2>/dev/null | grep -qv 'not-installed'; then
		echo "socks4wrap is already installed here (dpkg -l socks4wrap); this test would replace and purge it" >"$S4_DEB_OUT/refused"
		refuse "$(cat "$S4_DEB_OUT/refused")" || return 1
	fi
	while read -r f; do
		if [ -e "$f" ] || [ -L "$f" ]; then
			owner=$(dpkg-query -S "$f" 2>/dev/null | cut -d: -f1)
			echo "$f is already here (${owner:-owned by no package: a make install?}); this test would overwrite it and then delete it" >"$S4_DEB_OUT/refused"
			refuse "$(cat "$S4_DEB_OUT/refused")" || return 1
		fi
	done < <(package_files | grep -v '/$')
}

# package_files: every path in the .deb, directories with a trailing /.
package_files() {
	dpkg-deb --fsys-tarfile "$deb" | tar -t | sed 's|^\./|/|' | grep -vx /
}

# snapshot FILE: every path under /usr and /etc with its type, mode and
# owner; for files and links also size and mtime (a directory's mtime
# changes whenever an entry is added, which is no change to what it is).
# Not /etc/netns: ip netns keeps each namespace's /etc there, which any
# network-namespace test running on the machine (tests/helpers/netns.bash)
# creates and removes while this file runs.
snapshot() {
	find /usr /etc -xdev -path /etc/netns -prune -o \
		\( -type d -printf '%p d %m %u:%g\n' \) -o \
		-printf '%p %y %m %u:%g %s %T@ %l\n' | LC_ALL=C sort >"$1"
}

# changed_outside BEFORE AFTER: the paths whose line differs between two
# snapshots and which the package does not hold.
changed_outside() {
	LC_ALL=C comm -3 "$1" "$2" | sed 's/^\t//' | cut -d' ' -f1 | LC_ALL=C sort -u |
		LC_ALL=C comm -23 - <(package_files | sed 's|/$||' | LC_ALL=C sort -u)
}

# apt_get ARGS...: apt-get, waiting up to a minute for the dpkg lock.
apt_get() {
	DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=60 -y "$@" </dev/null
}

# dpkg_i DEB: dpkg -i, retried for up to a minute while another program
# holds the dpkg lock.
dpkg_i() {
	for _ in $(seq 60); do
		run dpkg -i "$1" </dev/null
		[[ $status -ne 0 && $output == *"dpkg frontend lock"* ]] || return 0
		sleep 1
	done
}

# --- build, lintian, contents: any user ----------------------------------------

@test "dpkg-buildpackage -us -uc -b builds the package in a copy of the tree" {
	require_built
	[ -f "$changes" ]
	dpkg-deb -f "$deb" Package Version Architecture
}

@test "the package builds on a fresh Debian with only debian/control's build dependencies" {
	require_cmd mmdebstrap mmdebstrap
	[ "$(id -u)" -eq 0 ] || refuse "a clean build root needs root (mmdebstrap --mode=root)" || return 1
	require_built
	[ -f "$S4_DEB_OUT/clean-root" ] || s4_fail "the package was not built in a clean root"
	# the build ran the unit tests, and make built the product alone
	grep -Eq '^[0-9]+ passed, 0 failed' "$S4_DEB_OUT/build.log"
	run grep -E 'tests/tools/|-static32|socks4d' "$S4_DEB_OUT/build.log"
	[ "$status" -eq 1 ] || s4_fail "the package build built test programs: $output"
}

@test "debian/control claims the architectures that are built and tested" {
	run sed -n 's/^Architecture: //p' "$S4_ROOT/debian/control"
	[ "$output" = amd64 ]
	[ "$(dpkg --print-architecture)" = amd64 ] || skip "not on amd64"
}

@test "the package build runs every unit test in tests/unit" {
	require_built
	local t n=0
	for t in "$S4_ROOT"/tests/unit/test_*.c; do
		t=$(basename "$t" .c)
		grep -qx "# build/$t" "$S4_DEB_OUT/build.log" ||
			s4_fail "debian/rules did not run $t (make check-unit runs UNIT_NAMES)" || return 1
		n=$((n + 1))
	done
	[ "$n" -ge 8 ]
	run -1 grep -q '^not ok' "$S4_DEB_OUT/build.log"
}

@test "lintian reports no errors and no warnings on the built package" {
	require_built
	require_cmd lintian
	run lintian --fail-on error,warning --info "$changes"
	echo "$output"
	[ "$status" -eq 0 ]
	[ -z "$(grep -E '^[EW]: ' <<<"$output")" ]
}

@test "the package holds the wrapper on PATH, the library in /usr/lib/TRIPLET/socks4wrap and both man pages, which say so" {
	require_built
	run package_files
	[ "$status" -eq 0 ]
	has_line /usr/bin/socks4wrap
	has_line "$libdir/libsocks4wrap.so"
	has_line "$libdir/socks4wrap-query"
	has_line /usr/share/man/man1/socks4wrap.1.gz
	has_line /usr/share/man/man5/socks4rc.5.gz
	has_line /usr/share/doc/socks4wrap/copyright
	# nothing outside Debian's places
	[ -z "$(grep -E '^/usr/local/|^/usr/lib/socks4wrap/|^/usr/sbin/' <<<"$output")" ]
	# the wrapper looks for the library where the package put it, and
	# socks4wrap(1) says where that is
	extracted
	grep -aq "$libdir" "$x/usr/bin/socks4wrap"
	zcat "$x/usr/share/man/man1/socks4wrap.1.gz" | grep -qx "\.I $libdir/"
	[ -z "$(zcat "$x/usr/share/man/man1/socks4wrap.1.gz" | grep -e /usr/local/lib -e @LIBDIR@)" ]
}

@test "/etc/socks4rc is a conffile holding socks4rc.example" {
	require_built
	run dpkg-deb -I "$deb" conffiles
	[ "$status" -eq 0 ]
	[ "$output" = /etc/socks4rc ]
	extracted
	cmp "$S4_ROOT/socks4rc.example" "$x/etc/socks4rc"
}

@test "the package has no maintainer scripts, so dpkg touches only the files it lists" {
	require_built
	run dpkg-deb -I "$deb"
	[ "$status" -eq 0 ]
	[ -z "$(grep -E '^ +[0-9]+ bytes, +[0-9]+ lines +\*? *(preinst|postinst|prerm|postrm|triggers) ' <<<"$output")" ]
}

@test "debian/changelog, make version, socks4wrap --version, socks4wrap-query and the man pages carry one version" {
	require_built
	extracted
	local date
	date=$(LC_ALL=C date -u +%Y-%m-%d -d "$(cd "$S4_DEB_SRC" && dpkg-parsechangelog -SDate)")
	[ "$(make -s -C "$S4_ROOT" version)" = "$version" ]
	[ "$(dpkg-deb -f "$deb" Version)" = "$version" ]
	run "$x/usr/bin/socks4wrap" --version
	[ "$status" -eq 0 ]
	[ "$output" = "socks4wrap $version" ]
	SOCKS4_SERVER=127.0.0.1:1080 SOCKS4_CONF=/dev/null run "$x$libdir/socks4wrap-query" 192.0.2.1:80
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "# socks4wrap $version --dry-run: what the shim would use" ]
	[ "$(zcat "$x/usr/share/man/man1/socks4wrap.1.gz" | grep '^\.TH ')" = ".TH SOCKS4WRAP 1 $date \"socks4wrap $version\" \"User Commands\"" ]
	[ "$(zcat "$x/usr/share/man/man5/socks4rc.5.gz" | grep '^\.TH ')" = ".TH SOCKS4RC 5 $date \"socks4wrap $version\" \"File Formats\"" ]
	[[ "$(zcat "$x/usr/share/doc/socks4wrap/changelog.gz" | head -n 1)" == "socks4wrap ($version) "* ]]
	# the library says its version in its first -v line
	run env LD_PRELOAD="$x$libdir/libsocks4wrap.so" SOCKS4_SERVER=127.0.0.1:9 SOCKS4_DEBUG=1 \
		SOCKS4_CONF=/dev/null bash -c 'exec 3<>/dev/tcp/127.0.0.1/9'
	[[ "$output" == "socks4wrap: ["*"] socks4wrap $version"$'\n'* ]]
}

@test "a new debian/changelog entry is the version of make version, the wrapper and the man pages" {
	require_built
	local t=$BATS_TEST_TMPDIR/tree d=$BATS_TEST_TMPDIR/dest
	cp -a "$S4_DEB_SRC" "$t"
	{
		printf 'socks4wrap (9.8.7) unstable; urgency=medium\n\n  * A test entry.\n\n'
		printf ' -- A Tester <tester@example.org>  Fri, 02 Jan 2037 03:04:05 +0000\n\n'
		cat "$S4_DEB_SRC/debian/changelog"
	} >"$t/debian/changelog"
	unset SANITIZE MAKEFLAGS MFLAGS MAKELEVEL
	[ "$(make -s -C "$t" version)" = 9.8.7 ]
	make -s -C "$t" PREFIX=/usr DESTDIR="$d" install >/dev/null
	run "$d/usr/bin/socks4wrap" --version
	[ "$output" = "socks4wrap 9.8.7" ]
	grep -qx '\.TH SOCKS4WRAP 1 2037-01-02 "socks4wrap 9\.8\.7" "User Commands"' "$d/usr/share/man/man1/socks4wrap.1"
	grep -qx '\.TH SOCKS4RC 5 2037-01-02 "socks4wrap 9\.8\.7" "File Formats"' "$d/usr/share/man/man5/socks4rc.5"
	SOCKS4_SERVER=127.0.0.1:1080 SOCKS4_CONF=/dev/null run "$d/usr/lib/socks4wrap/socks4wrap-query" 192.0.2.1:80
	[ "${lines[0]}" = "# socks4wrap 9.8.7 --dry-run: what the shim would use" ]
}

@test "debian/tests/smoke is shellcheck clean" {
	require_cmd shellcheck
	run shellcheck "$S4_ROOT/debian/tests/smoke"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}

# --- installed on this machine: root -----------------------------------------

@test "dpkg -i installs the package and touches nothing under /usr or /etc that it does not own" {
	require_root_install
	snapshot "$S4_DEB_OUT/before"
	touch "$S4_DEB_OUT/installed"
	dpkg_i "$deb"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(dpkg-query -W -f='${Status} ${Version}' socks4wrap)" = "install ok installed $version" ]
	dpkg --verify socks4wrap
	snapshot "$S4_DEB_OUT/after-install"
	run changed_outside "$S4_DEB_OUT/before" "$S4_DEB_OUT/after-install"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	# and all of the package's files are there
	while read -r f; do
		[ -e "$f" ] || s4_fail "$f is in the package but not installed"
	done < <(package_files)
}

@test "the smoke test fetches by HTTP and by active-mode FTP through danted with the installed files only" {
	require_root_install
	require_cmd /usr/sbin/danted dante-server
	run env -u S4_SAN_PRELOAD -u ASAN_OPTIONS -u UBSAN_OPTIONS timeout 120 \
		sh "$S4_DEB_SRC/debian/tests/smoke" 3>&-
	echo "$output"
	[ "$status" -eq 0 ]
	has_line "smoke: ok HTTP fetch through danted by SOCKS4 CONNECT"
	has_line "smoke: ok active-mode FTP download through danted by SOCKS4 BIND"
}

@test "the installed man pages are found by man" {
	require_root_install
	require_cmd man man-db
	[ "$(man -w socks4wrap)" = /usr/share/man/man1/socks4wrap.1.gz ]
	[ "$(man -w 5 socks4rc)" = /usr/share/man/man5/socks4rc.5.gz ]
}

@test "an upgrade with apt keeps the socks4rc the user changed" {
	require_root_install
	local up=$BATS_TEST_TMPDIR/up
	# the same files as a later version: dpkg's upgrade path, with the
	# package's socks4rc unchanged and the user's changed
	dpkg-deb -R "$deb" "$up"
	sed -i "s/^Version: .*/Version: $version+up1/" "$up/DEBIAN/control"
	dpkg-deb -b "$up" "$BATS_TEST_TMPDIR/socks4wrap_up.deb" >/dev/null
	echo "server 192.0.2.7:1080 # changed by the user" >>/etc/socks4rc
	run apt_get install "$BATS_TEST_TMPDIR/socks4wrap_up.deb"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(dpkg-query -W -f='${Version}' socks4wrap)" = "$version+up1" ]
	[ "$(tail -n 1 /etc/socks4rc)" = "server 192.0.2.7:1080 # changed by the user" ]
	[ ! -e /etc/socks4rc.dpkg-new ]
	[ ! -e /etc/socks4rc.dpkg-dist ]
	run /usr/bin/socks4wrap -n 192.0.2.1:80
	[ "$status" -eq 0 ]
	[[ $output == *192.0.2.7:1080* ]]
}

@test "apt-get remove leaves only the conffile, and purge leaves nothing: /usr and /etc are as before" {
	require_root_install
	run apt_get remove socks4wrap
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(dpkg-query -W -f='${Status}' socks4wrap)" = "deinstall ok config-files" ]
	[ -f /etc/socks4rc ]
	[ ! -e /usr/bin/socks4wrap ]
	[ ! -e "$libdir" ]
	run apt_get purge socks4wrap
	echo "$output"
	[ "$status" -eq 0 ]
	run dpkg-query -W -f='${Status}' socks4wrap
	[[ $status -ne 0 || $output == *not-installed ]]
	rm -f "$S4_DEB_OUT/installed"
	[ ! -e /etc/socks4rc ]
	snapshot "$S4_DEB_OUT/after-purge"
	run diff "$S4_DEB_OUT/before" "$S4_DEB_OUT/after-purge"
	[ "$status" -eq 0 ]
}
