#!/bin/bash
# The container image of deploy/Dockerfile, built and run for real:
#
#   1. a Debian 12 base image: made here from Debian's own packages with
#      mmdebstrap (no registry is needed), shaped like debian:12-slim
#      (minbase, merged /usr, no documentation, man pages or locales), and
#      imported under a name of this run's own; MIGSYNC_IMAGE_BASE=IMAGE
#      uses a local image instead (e.g. a real debian:12-slim);
#   2. podman build --isolation=chroot of deploy/Dockerfile on it
#      (BASE_IMAGE=that base, UNIT_TESTS=false: this suite runs them);
#   3. in a working container of the image (buildah run --isolation chroot,
#      the host's network, so 127.0.0.1 is the test server): the user is not
#      root, no C compiler is there, every shared library resolves,
#      migsync --version says this checkout's version, and against a real
#      PostgreSQL with two databases (the inventory and revisions
#      bind-mounted read-only at /app): status, hook (applies the pending
#      native SQL revisions, exit 0), hook again (a no-op), status again,
#      graph --format svg (Graphviz's plugins are there).
#
# Every phase's time is printed as a TAP comment ("# time: ...").
# It needs no build of the checkout (the version expected is the one
# meson.build declares): scripts/test.sh starts it in the background first
# thing, so that its minutes of apt, dpkg and network run alongside the
# builds and the other tests.
#
# Skipped (exit 77) when podman, buildah or mmdebstrap is missing or podman
# cannot run; with MIGSYNC_IMAGE_REQUIRED=1 (CI) that is a failure instead.
# Removes the images and the container it made, by their names; stops its
# PostgreSQL by pid.
#
# Usage: deploy/test-image.sh   (TAP on stdout, the details on stderr)
set -u

MIGSYNC_SOURCE_ROOT=${MIGSYNC_SOURCE_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}

. "$MIGSYNC_SOURCE_ROOT/tests/integration/lib/common.sh"
. "$MIGSYNC_SOURCE_ROOT/tests/integration/lib/pg.sh"
. "$MIGSYNC_SOURCE_ROOT/tests/integration/lib/inventory.sh"

root=$MIGSYNC_SOURCE_ROOT
run_id=$$-$(date +%s)
R1=3f9a1c2b7d10 R2=8b2e4f6a9c31 R3=c52d9e07a4f8 R4=e19b6f3d2a77

cannot_run() {
	if [ "${MIGSYNC_IMAGE_REQUIRED:-0}" = 1 ]; then
		fail "$1, and MIGSYNC_IMAGE_REQUIRED=1"
	fi
	skip_all "$1"
}
for tool in podman buildah; do
	command -v "$tool" >/dev/null || cannot_run "$tool is not installed"
done
[ -n "${MIGSYNC_IMAGE_BASE:-}" ] || command -v mmdebstrap >/dev/null ||
	cannot_run "mmdebstrap is not installed (or set MIGSYNC_IMAGE_BASE to a local Debian 12 image)"
podman info >/dev/null 2>&1 || cannot_run "podman cannot run here: $(podman info 2>&1 | tail -n 1)"

work_dir image
chmod 755 "$tmp"

# phase NAME START: a TAP comment with the seconds since START
phase() {
	note "time: $1: $(elapsed "$2") s"
}

# show_log FILE: its tail on stderr, after a failed step
show_log() {
	tail -n 40 "$1" | sed 's/^/  | /' >&2
}

# --- 1: the base image
base=${MIGSYNC_IMAGE_BASE:-}
if [ -z "$base" ]; then
	base=localhost/migsync-test-base:$run_id
	# What debian:12-slim's build (debuerreotype --slimify) sets: dpkg
	# leaves out documentation, man pages and locales, and does not fsync;
	# apt keeps no package files after installing. They stay in the image,
	# so the Dockerfile's apt-get runs under them too.
	cat >"$tmp/docker-clean" <<-'EOF'
	DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
	Dir::Cache::pkgcache "";
	Dir::Cache::srcpkgcache "";
	EOF
	t=$(now)
	# Deadlines: the download and the installs, at a load where they took
	# 11 minutes (deploy/README.md), with room to spare.
	timeout 1500 mmdebstrap --variant=minbase \
		--hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
		--dpkgopt=force-unsafe-io \
		--dpkgopt='path-exclude=/usr/share/doc/*' \
		--dpkgopt='path-include=/usr/share/doc/*/copyright' \
		--dpkgopt='path-exclude=/usr/share/man/*' \
		--dpkgopt='path-exclude=/usr/share/info/*' \
		--dpkgopt='path-exclude=/usr/share/locale/*' \
		--dpkgopt='path-exclude=/usr/share/groff/*' \
		--dpkgopt='path-exclude=/usr/share/lintian/*' \
		--aptopt='Acquire::Languages "none"' \
		--customize-hook="upload $tmp/docker-clean /etc/apt/apt.conf.d/docker-clean" \
		--customize-hook='rm -f "$1"/var/cache/apt/*.bin' \
		bookworm "$tmp/base.tar" \
		"deb http://deb.debian.org/debian bookworm main" \
		"deb http://deb.debian.org/debian bookworm-updates main" \
		"deb http://deb.debian.org/debian-security bookworm-security main" \
		>"$tmp/mmdebstrap.log" 2>&1
	rc=$?
	if [ "$rc" != 0 ]; then
		show_log "$tmp/mmdebstrap.log"
		fail "mmdebstrap --variant=minbase bookworm: exit $rc (124: past its deadline)"
	fi
	phase "mmdebstrap (minbase bookworm)" "$t"
	t=$(now)
	at_exit "podman rmi '$base' >/dev/null 2>&1"
	podman import "$tmp/base.tar" "$base" >"$tmp/import.log" 2>&1 ||
		{ show_log "$tmp/import.log"; fail "podman import of the base image"; }
	rm -f "$tmp/base.tar"
	phase "podman import" "$t"
	pass "base image $base made with mmdebstrap"
fi
podman image exists "$base" || fail "the base image $base is not in local storage"

# --- 2: the image
image=localhost/migsync-test:$run_id
t=$(now)
at_exit "podman rmi '$image' >/dev/null 2>&1"
# --pull=never: the base is local, no registry is asked. --layers=false:
# one commit per stage, no cache to keep for a build made once.
# Each line of the log is stamped with the time, for the steps' times below.
timeout 1800 podman build --isolation=chroot --pull=never --layers=false --jobs=2 --force-rm \
	--build-arg BASE_IMAGE="$base" --build-arg UNIT_TESTS=false \
	-f "$root/deploy/Dockerfile" -t "$image" "$root" </dev/null 2>&1 |
	while IFS= read -r line; do printf '%(%s)T %s\n' -1 "$line"; done >"$tmp/build.log"
rc=${PIPESTATUS[0]}
if [ "$rc" != 0 ]; then
	show_log "$tmp/build.log"
	fail "podman build of deploy/Dockerfile: exit $rc (124: past its deadline)"
fi
phase "podman build" "$t"
# the time from each STEP line to the next one of its stage (or to the end)
awk '$2 ~ /^\[[0-9]+\/[0-9]+\]$/ && ($3 == "STEP" || $3 == "COMMIT") {
		if ($2 in start) print $1 - start[$2], "s", what[$2]
		start[$2] = $1; what[$2] = substr($0, index($0, $2), 90)
	}
	{ last = $1 }
	END { for (k in start) print last - start[k], "s", what[k] }' "$tmp/build.log" |
	sort -k3,3 -k5,5V | while IFS= read -r line; do note "time:   $line"; done
pass "podman build --isolation=chroot of deploy/Dockerfile"

size=$(podman image inspect --format '{{.Size}}' "$image") || fail "podman image inspect"
note "image size: $size bytes ($((size / 1000000)) MB)"
size=$(podman image inspect --format '{{.Size}}' "$base") || fail "podman image inspect"
note "base image size: $size bytes ($((size / 1000000)) MB)"
user=$(podman image inspect --format '{{.Config.User}}' "$image")
check "the image's USER is numeric and not root ($user)" \
	eval '[[ $user =~ ^[0-9]+(:[0-9]+)?$ ]] && [ "${user%%:*}" != 0 ]'
entrypoint=$(podman image inspect --format '{{json .Config.Entrypoint}}' "$image")
check "the image's ENTRYPOINT is migsync ($entrypoint)" test "$entrypoint" = '["migsync"]'

# --- 3: inside the image
t=$(now)
ctr=migsync-test-$run_id
at_exit "buildah rm '$ctr' >/dev/null 2>&1"
buildah from --pull=never --name "$ctr" "$image" >"$tmp/from.log" 2>&1 ||
	{ show_log "$tmp/from.log"; fail "buildah from $image"; }

# in_image NAME COMMAND...: COMMAND in the container, kept as run keeps its
# output (NAME.out, NAME.err, NAME.rc)
in_image() {
	local name=$1

	shift
	timeout 120 buildah run --isolation chroot "$ctr" -- "$@" \
		>"$tmp/$name.out" 2>"$tmp/$name.err" </dev/null
	echo $? >"$tmp/$name.rc"
}

in_image uid id -u
expect_rc uid 0
check "migsync runs as uid $(cat "$tmp/uid.out"), not root" \
	eval '[ -s "$tmp/uid.out" ] && [ "$(cat "$tmp/uid.out")" != 0 ]'

# command -v exits non-zero when any is missing: only its output counts
in_image compilers sh -c 'command -v cc gcc c99 c89 clang tcc gcc-12 x86_64-linux-gnu-gcc-12; true'
expect_rc compilers 0
check "no C compiler in the image (found: $(tr '\n' ' ' <"$tmp/compilers.out"))" \
	test ! -s "$tmp/compilers.out"

in_image ldd ldd /usr/local/bin/migsync
expect_rc ldd 0
expect_not_in ldd out "not found"

pg_up
mkdir -p "$tmp/app" && cp -r "$root/examples/stock-assistant/versions" "$tmp/app/" ||
	fail "copy the revisions"
inv_gated "$tmp/app/environments" image-test "connect_timeout: 5, lock_wait: 30s" dev=0 staging=0 ||
	fail "inventory"
chmod -R a+rX "$tmp/app"

# run NAME ARGS... (lib/common.sh) runs migsync in the container, the
# project read-only at /app (the image's MIGSYNC_INVENTORY is
# /app/environments)
MIGSYNC=buildah
RUN_PREFIX=(run --isolation chroot -v "$tmp/app:/app:ro" "$ctr" -- migsync)

meson introspect --projectinfo "$root/meson.build" >"$tmp/project.json" ||
	fail "meson introspect --projectinfo"
version=$(json_get "$tmp/project.json" .version) || fail "the version in meson.build"
run version --version
expect_rc version 0
check "migsync --version in the image is this checkout's (migsync $version)" \
	eval '[ "$(cat "$tmp/version.out")" = "migsync $version" ]'

E_dev='.environments[environment=dev]'
E_staging='.environments[environment=staging]'
run status0 status --format json
expect_rc status0 0
expect_json status0 '.environments[].environment' '["dev", "staging"]'
expect_json status0 "$E_dev.(state,pending)" "[\"uninitialized\", [\"$R1\", \"$R2\", \"$R3\", \"$R4\"]]"
expect_json status0 "$E_staging.state" uninitialized

run hook1 hook -e dev --format json
expect_rc hook1 0
expect_json hook1 '.(action,environment,to,applied,error)' \
	"[\"applied\", \"dev\", [\"$R4\"], [\"$R1\", \"$R2\", \"$R3\", \"$R4\"], null]"
expect_version dev "$R4" "after the hook in the image"

run hook2 hook -e dev --format json
expect_rc hook2 0
expect_json hook2 '.(action,to,applied)' "[\"current\", [\"$R4\"], []]"
expect_version dev "$R4" "after the second hook"

run status1 status --format json
expect_rc status1 0
expect_json status1 "$E_dev.(state,heads,pending)" "[\"current\", [\"$R4\"], []]"
expect_json status1 "$E_staging.(state,pending)" "[\"uninitialized\", [\"$R1\", \"$R2\", \"$R3\", \"$R4\"]]"
expect_version staging none "staging untouched"

run svg graph --format svg
expect_rc svg 0
expect_in svg out "<svg"
expect_in svg out "$R4"
phase "checks in the image (buildah run)" "$t"
