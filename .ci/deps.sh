#!/bin/sh
# Make sure the build's libraries are present.  As root, install what is
# missing with apt-get; otherwise print the exact command and stop.
PKGS="lmdb jansson libgit2 libmicrohttpd cmocka"
# python3 and procps (pgrep) are what the end-to-end tests use besides hive.
DEBS="pkg-config build-essential liblmdb-dev libjansson-dev libgit2-dev libmbedtls-dev libcmocka-dev libmicrohttpd-dev git python3 procps"
# mbedtls (SHA-256) has no pkg-config file: its header says it is there.
if command -v pkg-config >/dev/null 2>&1 && pkg-config --exists $PKGS && command -v git >/dev/null 2>&1 &&
	echo '#include <mbedtls/sha256.h>' | ${CC:-cc} -E -x c - >/dev/null 2>&1 &&
	command -v python3 >/dev/null 2>&1 && command -v pgrep >/dev/null 2>&1; then
	exit 0
fi
if [ "$(id -u)" = 0 ]; then
	echo "hive: installing build dependencies: $DEBS" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq && apt-get install -y -qq $DEBS >/dev/null || {
		echo "hive: apt-get install failed; run: apt-get update && apt-get install -y $DEBS" >&2
		exit 1
	}
else
	echo "hive: missing build dependencies; run: sudo apt-get update && sudo apt-get install -y $DEBS" >&2
	exit 1
fi
