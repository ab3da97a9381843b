#!/usr/bin/env bash
# The two base images deploy/Dockerfile builds FROM, assembled here for machines
# that reach package registries but no container registry:
#
#   build base    stand-in for node:<NODE_VERSION>-bookworm-slim: Debian bookworm
#                 (mmdebstrap minbase), node and npm in /usr/local, CA certificates.
#   runtime base  stand-in for gcr.io/distroless/nodejs24-debian12:nonroot: only
#                 the files of the Debian packages distroless ships (glibc,
#                 libstdc++, CA bundle, tzdata, netbase, os-release), node at
#                 /nodejs/bin/node, distroless's root/nobody/nonroot accounts.
#                 No shell, no package manager, like the real one.
#
# Node is the npm registry's node-linux-<arch> build (the Makefile's $(NODE)),
# so tests, demo and image run the same binary. Rebuilt only when this script,
# NODE_VERSION, NPM_VERSION or the local CAs (below) change; REFRESH_BASES=1
# forces it and fetches Debian's current packages (security updates).
# LOCAL_CA_CERTS="<files>" names other CA files for the build base; "" none.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=deploy/image/common.sh
source "$HERE/common.sh"
require_tools

RECIPE_LABEL=org.keyless-triage.base-recipe
# The build stage's `npm ci` crosses this machine's network: where that network
# intercepts TLS (a proxy with its own CA, added as Debian does it, in
# /usr/local/share/ca-certificates), the build base trusts those CAs too. The
# runtime base never does: it carries Debian's CA bundle only.
if [ -n "${LOCAL_CA_CERTS+set}" ]; then
  read -r -a local_cas <<<"$LOCAL_CA_CERTS"
else
  shopt -s nullglob
  local_cas=(/usr/local/share/ca-certificates/*.crt)
  shopt -u nullglob
fi
RECIPE="$(cat "$HERE/bases.sh" ${local_cas[@]+"${local_cas[@]}"} | sha256sum | cut -c1-16) node-$NODE_VERSION npm-$NPM_VERSION"

if [ "${REFRESH_BASES:-0}" != 1 ] &&
  [ "$(image_label "$BUILD_BASE" "$RECIPE_LABEL")" = "$RECIPE" ] &&
  [ "$(image_label "$RUNTIME_BASE" "$RECIPE_LABEL")" = "$RECIPE" ]; then
  echo "bases: $BUILD_BASE and $RUNTIME_BASE are current"
  exit 0
fi

started=$(date +%s)
mkdir -p "$IMAGE_TOOLS"
[ -x "$NODE_BIN" ] || {
  echo "$NODE_BIN is missing: make builds it (make image)" >&2
  exit 1
}
[ "$("$NODE_BIN" --version)" = "v$NODE_VERSION" ]

# --- Debian rootfs -------------------------------------------------------------
# The machine's own Debian sources when it is bookworm (its mirror, with the
# security suite), else Debian's CDN: the image is bookworm whatever the host.
if [ -n "${DEBIAN_SOURCES:-}" ]; then
  read -r -a mirrors <<<"$DEBIAN_SOURCES"
elif [ -f /etc/apt/sources.list.d/debian.sources ] && grep -q '^Suites:.*\bbookworm\b' /etc/apt/sources.list.d/debian.sources; then
  mirrors=(/etc/apt/sources.list.d/debian.sources)
else
  mirrors=(
    'deb http://deb.debian.org/debian bookworm main'
    'deb http://deb.debian.org/debian bookworm-updates main'
    'deb http://deb.debian.org/debian-security bookworm-security main'
  )
fi
# minbase is bookworm-slim's package set. The merged-usr hook makes /bin, /lib...
# symlinks as Debian's own images have them, without pulling usrmerge (and perl).
# The dpkg filters are the -slim images': no man pages, docs (licences kept),
# translations or info pages in either base.
# shellcheck disable=SC2054 # --include takes a comma-separated list
mmdebstrap_args=(
  --mode=root --variant=minbase --format=tar
  --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr
  --include=ca-certificates,tzdata,netbase
  --dpkgopt='path-exclude=/usr/share/man/*'
  --dpkgopt='path-exclude=/usr/share/doc/*'
  --dpkgopt='path-include=/usr/share/doc/*/copyright'
  --dpkgopt='path-exclude=/usr/share/locale/*'
  --dpkgopt='path-exclude=/usr/share/info/*'
  --dpkgopt='path-exclude=/usr/share/lintian/*'
)
rootfs_tar=$IMAGE_TOOLS/debian-bookworm-$(printf '%s\n' "${mmdebstrap_args[@]}" "${mirrors[@]}" | sha256sum | cut -c1-12).tar
if [ "${REFRESH_BASES:-0}" = 1 ] || [ ! -s "$rootfs_tar" ]; then
  echo "bases: mmdebstrap bookworm -> $rootfs_tar"
  rm -f "$IMAGE_TOOLS"/debian-bookworm-*.tar
  # Its log (apt, dpkg, the hooks) only matters when it fails.
  mmdebstrap "${mmdebstrap_args[@]}" bookworm "$rootfs_tar.tmp" "${mirrors[@]}" >"$IMAGE_TOOLS/mmdebstrap.log" 2>&1 || {
    tail -n 40 "$IMAGE_TOOLS/mmdebstrap.log" >&2
    exit 1
  }
  mv "$rootfs_tar.tmp" "$rootfs_tar"
fi

# --- npm for the build base ----------------------------------------------------
# The npm that this Node release bundles (the Makefile pins it); the npm
# registry's tarball carries its dependencies.
npm_tgz=$IMAGE_TOOLS/npm-$NPM_VERSION.tgz
if [ ! -s "$npm_tgz" ]; then
  (cd "$IMAGE_TOOLS" && npm pack --silent "npm@$NPM_VERSION" >/dev/null)
fi

# Throwaway working containers: removed however this script ends, so vfs copies
# do not pile up in .tools/containers.
containers=()
cleanup() { for c in "${containers[@]}"; do bah rm "$c" >/dev/null 2>&1 || true; done; }
trap cleanup EXIT

# --- build base ----------------------------------------------------------------
build=$(bah from --quiet scratch)
containers+=("$build")
debian=$(bah mount "$build")
tar -C "$debian" --numeric-owner -xpf "$rootfs_tar"
# What mmdebstrap leaves that no image needs: apt's caches, logs, dpkg backups.
rm -rf "$debian"/var/lib/apt/lists/* "$debian"/var/cache/apt/* "$debian"/var/cache/debconf/*-old \
  "$debian"/var/lib/dpkg/*-old "$debian"/var/log/*
install -D -m 0755 -o 0 -g 0 "$NODE_BIN" "$debian/usr/local/bin/node"
install -d -m 0755 "$debian/usr/local/lib/node_modules/npm"
tar -C "$debian/usr/local/lib/node_modules/npm" --strip-components=1 --no-same-owner -xzf "$npm_tgz"
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$debian/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$debian/usr/local/bin/npx"
base_path=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
bah config --env "PATH=$base_path" --cmd node --label "$RECIPE_LABEL=$RECIPE" \
  --label "org.opencontainers.image.description=local stand-in for node:$NODE_VERSION-bookworm-slim (deploy/image/bases.sh)" \
  "$build"

# --- runtime base: distroless's file set, from the same Debian packages -------
runtime=$(bah from --quiet scratch)
containers+=("$runtime")
distroless=$(bah mount "$runtime")
# The dpkg lists name /lib/... paths; the rootfs keeps them under /usr (merged
# /usr), so the list is rewritten to the real locations before tar reads it.
for link in bin lib lib64 sbin; do
  [ "$(readlink "$debian/$link")" = "usr/$link" ] || {
    echo "$debian/$link is not a merged-/usr symlink" >&2
    exit 1
  }
  ln -s "usr/$link" "$distroless/$link"
done
# distroless's cc + nodejs package set: glibc, libgcc/libstdc++ (node and the
# Temporal core bridge link them), CA certificates, tzdata, netbase, base-files.
# Not libssl: node carries its own OpenSSL and the core bridge uses rustls.
packages=(base-files netbase tzdata ca-certificates libc6 libgcc-s1 libstdc++6 gcc-12-base)
# Kept next to the rootfs: what the runtime base holds, for a reader to check.
filelist=$IMAGE_TOOLS/runtime-base.files
{
  for pkg in "${packages[@]}"; do
    list=$debian/var/lib/dpkg/info/$pkg.list
    [ -f "$list" ] || list=$debian/var/lib/dpkg/info/$pkg:$(dpkg --print-architecture).list
    cat "$list"
  done
  # Written by maintainer scripts, so in no package's list.
  printf '%s\n' /etc/ssl/certs/ca-certificates.crt /etc/localtime /etc/timezone /etc/nsswitch.conf
} | sed -E 's#^/(bin|lib|lib64|sbin)(/|$)#/usr/\1\2#' |
  # No programs (update-ca-certificates is a shell script), no loose certificates
  # (the bundle holds them) and no package tooling.
  grep -Ev '^/usr/s?bin/|^/usr/share/ca-certificates|^/etc/ca-certificates|^/usr/share/(lintian|bug|base-files)/|^/etc/(update-motd\.d|profile|skel|motd|issue|bash\.bashrc|dpkg/origins)|^/\.$' |
  sort -u |
  while IFS= read -r path; do
    if [ -e "$debian$path" ] || [ -L "$debian$path" ]; then printf '%s\n' "${path#/}"; fi
  done >"$filelist"
tar -C "$debian" --numeric-owner --no-recursion -cf - -T "$filelist" | tar -C "$distroless" --numeric-owner -xpf -
install -d -m 1777 "$distroless/tmp"
install -d -m 0700 "$distroless/root"
install -d -m 0700 -o 65532 -g 65532 "$distroless/home/nonroot"
# distroless's accounts, verbatim: the Dockerfile's accounts stage appends its
# uid 10001 to these.
cat >"$distroless/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin
nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin
EOF
cat >"$distroless/etc/group" <<'EOF'
root:x:0:
nobody:x:65534:
tty:x:5:
staff:x:50:
nonroot:x:65532:
EOF
chmod 0644 "$distroless/etc/passwd" "$distroless/etc/group"
install -D -m 0755 -o 0 -g 0 "$NODE_BIN" "$distroless/nodejs/bin/node"
install -D -m 0644 -o 0 -g 0 "$(dirname "$NODE_BIN")/../LICENSE" "$distroless/nodejs/LICENSE"

# Only now, after the runtime base copied Debian's bundle, so that it never
# holds the local CAs.
if [ "${#local_cas[@]}" -gt 0 ]; then
  echo "bases: the build base trusts this machine's local CAs: ${local_cas[*]}"
  install -m 0644 -o 0 -g 0 "${local_cas[@]}" "$debian/usr/local/share/ca-certificates/"
  out=$(bah run "$build" -- update-ca-certificates 2>&1) || {
    echo "$out" >&2
    exit 1
  }
  # npm (node) reads its own CA list unless told of the system's.
  bah config --env NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt "$build"
fi

# --- commit --------------------------------------------------------------------
bah config --env "PATH=$base_path" --env SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
  --entrypoint '["/nodejs/bin/node"]' --cmd '' --user 65532 --workingdir /home/nonroot \
  --label "$RECIPE_LABEL=$RECIPE" \
  --label "org.opencontainers.image.description=local stand-in for gcr.io/distroless/nodejs24-debian12:nonroot (deploy/image/bases.sh)" \
  "$runtime"
bah commit --quiet --rm "$build" "$BUILD_BASE" >/dev/null
bah commit --quiet --rm "$runtime" "$RUNTIME_BASE" >/dev/null
containers=()

echo "bases: built in $(seconds_since "$started")s"
echo "bases: $BUILD_BASE $(image_size "$BUILD_BASE")"
echo "bases: $RUNTIME_BASE $(image_size "$RUNTIME_BASE")"
