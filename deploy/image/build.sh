#!/usr/bin/env bash
# Builds deploy/Dockerfile with buildah on this machine (`make image`): the base
# images come from bases.sh, so no container registry is needed, only the npm
# registry for the build's `npm ci`. The Dockerfile is the one a `docker build`
# uses; only its BUILD_BASE and RUNTIME_BASE arguments differ.
#
# No --layers: with the vfs driver every cached step is a full copy of the
# stage's filesystem (1.2 GB with the dev dependencies), which made a cold build
# 8 minutes and 18 GB instead of 2.5 minutes and 1 GB. Instead the whole build
# is skipped when nothing it reads changed (the image carries a digest of its
# inputs); FORCE=1 rebuilds anyway. The npm cache (RUN --mount=type=cache)
# persists in .tools/containers/tmp either way.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=deploy/image/common.sh
source "$HERE/common.sh"
require_tools

"$HERE/bases.sh"

revision=$(git -C "$ROOT" rev-parse HEAD 2>/dev/null || true)
build_args=(
  --build-arg "BUILD_BASE=$BUILD_BASE"
  --build-arg "RUNTIME_BASE=$RUNTIME_BASE"
  --build-arg "REVISION=$revision"
  --build-arg "SOURCE_URL=${SOURCE_URL:-}"
)

# Everything the build reads: the bases (by image ID), the build arguments, the
# Dockerfile, .dockerignore and every file under the paths its COPY lines take
# from the context (a superset of the context: .dockerignore only removes).
inputs_digest() {
  local sources
  # shellcheck disable=SC2016 # awk's $i, not the shell's
  sources=$(awk '/^COPY / && !/--from=/ { for (i = 2; i < NF; i++) if ($i !~ /^--/) print $i }' "$ROOT/deploy/Dockerfile")
  {
    bah images --no-trunc --format '{{.ID}}' "$BUILD_BASE"
    bah images --no-trunc --format '{{.ID}}' "$RUNTIME_BASE"
    printf '%s\n' "${build_args[@]}"
    # shellcheck disable=SC2086 # one path per word
    (cd "$ROOT" && find deploy/Dockerfile .dockerignore $sources -type f -not -path '*/node_modules/*' -print0 |
      sort -z | xargs -0 sha256sum)
  } | sha256sum | cut -c1-64
}

INPUTS_LABEL=org.keyless-triage.inputs
inputs=$(inputs_digest)
if [ "${FORCE:-0}" != 1 ] && [ "$(image_label "$IMAGE" "$INPUTS_LABEL")" = "$inputs" ]; then
  echo "image: $IMAGE is current (inputs ${inputs:0:12}; FORCE=1 rebuilds it)"
  exit 0
fi

started=$(date +%s)
log=$IMAGE_TOOLS/build.log
echo "image: building $IMAGE from deploy/Dockerfile (log: ${log#"$ROOT"/})"
# --pull=never: the bases are local names; nothing is looked up in a registry.
# --format docker: the OCI format has no HEALTHCHECK, and buildah would drop
# the Dockerfile's HEALTHCHECK NONE with a warning.
if ! bah build --isolation chroot --pull=never --format docker \
  "${build_args[@]}" --label "$INPUTS_LABEL=$inputs" \
  -f "$ROOT/deploy/Dockerfile" -t "$IMAGE" "$ROOT" >"$log" 2>&1; then
  tail -n 60 "$log" >&2
  echo "image: buildah build failed (full log: $log)" >&2
  exit 1
fi
# buildah 1.28 leaves behind the working container of a stage that is only a
# FROM (runtime-base), a full vfs copy each build; and the previous build of
# $IMAGE is now untagged. Nothing else uses this storage between runs.
bah rm --all >/dev/null
bah rmi --prune >/dev/null

echo "image: built in $(seconds_since "$started")s"
echo "image: $IMAGE $(image_size "$IMAGE") (runtime base $(image_size "$RUNTIME_BASE") of it)"
