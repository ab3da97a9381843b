# Sourced by build.sh and check.sh: where buildah keeps its state and what the
# images are called. Everything lives under .tools/ so that `make clean` drops
# it, a second run reuses it, and the machine's own container storage
# (/var/lib/containers) is never touched.
# shellcheck shell=bash disable=SC2034 # the names are for the scripts that source this

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# The Makefile passes its NODE_VERSION and IMAGE_NPM_VERSION: one Node version
# for the tests, the demo and both base images.
NODE_VERSION=${NODE_VERSION:?NODE_VERSION is not set: run this through make (make image)}
NPM_VERSION=${NPM_VERSION:?NPM_VERSION is not set: run this through make (make image)}
NODE_BIN=${NODE_BIN:-$ROOT/.tools/node-$NODE_VERSION/bin/node}

IMAGE_TOOLS=$ROOT/.tools/image
CONTAINERS=$ROOT/.tools/containers

IMAGE=${IMAGE:-localhost/keyless-triage:0.1.0}
BUILD_BASE=localhost/keyless-triage-build-base:$NODE_VERSION
RUNTIME_BASE=localhost/keyless-triage-runtime-base:$NODE_VERSION

# buildah's RUN --mount=type=cache directories and its scratch copies go to
# TMPDIR (else /var/tmp): here the npm cache survives between builds.
export TMPDIR=$CONTAINERS/tmp
mkdir -p "$TMPDIR"

# vfs: works on any filesystem and needs no kernel overlay support inside a
# VM or container; it copies each layer in full, which costs disk, not time
# worth optimising at this image's size.
bah() {
  buildah --root "$CONTAINERS/storage" --runroot "$CONTAINERS/runroot" --storage-driver vfs "$@"
}

# chroot isolation needs no runc/crun, no cgroups and no user namespaces:
# root on a plain VM or CI runner is enough.
export BUILDAH_ISOLATION=chroot

require_tools() {
  local tool missing=()
  for tool in buildah mmdebstrap; do command -v "$tool" >/dev/null || missing+=("$tool"); done
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "missing ${missing[*]}: apt-get install buildah mmdebstrap (as root)" >&2
    return 1
  fi
  if [ "$(id -u)" != 0 ]; then
    echo "the image is built as root (buildah --isolation chroot, mmdebstrap --mode=root)" >&2
    return 1
  fi
}

image_exists() { bah inspect --type image --format '{{.FromImageID}}' "$1" >/dev/null 2>&1; }

image_label() { bah inspect --type image --format "{{index .OCIv1.Config.Labels \"$2\"}}" "$1" 2>/dev/null; }

# Human-readable size of a stored image (buildah counts the uncompressed layers).
image_size() { bah images --format '{{.Size}}' "$1" | head -n 1; }

seconds_since() { echo $(($(date +%s) - $1)); }
