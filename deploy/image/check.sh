#!/usr/bin/env bash
# `make image-check`: builds the image (build.sh) and runs what a Pod runs, as
# the Pod's user (uid/gid 10001), in the image itself rather than in the file
# layout image-layout.test.ts reassembles: each process must load all its
# modules and stop at its configuration with the project's own message, and a
# recorded workflow history must replay against the prebuilt bundle with the
# image's Temporal native core. Prints the image and base sizes.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=deploy/image/common.sh
source "$HERE/common.sh"
require_tools

"$HERE/build.sh"

# Invalid configurations to mount read-only; the image itself has none.
scratch=$(mktemp -d)
ctr=
cleanup() {
  [ -z "$ctr" ] || bah rm "$ctr" >/dev/null 2>&1 || true
  rm -rf "$scratch"
}
trap cleanup EXIT
printf 'temporal: 3\n' >"$scratch/triage.yaml"
printf 'nonsense: true\n' >"$scratch/broker.yaml"
chmod 0755 "$scratch" && chmod 0644 "$scratch"/*.yaml

# One throwaway container for every run: buildah run starts a process in it
# (no daemon), with the image's ENV, WORKDIR /app and the given user.
ctr=$(bah from --pull-never --quiet "$IMAGE")

failures=0
output=
status=0
in_image() {
  status=0
  output=$(bah run --isolation chroot --user 10001:10001 \
    -v "$scratch:/config:ro" -v "$ROOT/test/histories:/histories:ro" \
    "$@" 2>&1) || status=$?
}

# buildah adds "subprocess exited with status N" lines of its own; the process's
# output is what precedes them.
expect() {
  local name=$1 want_status=$2 want_text=$3
  local said
  said=$(printf '%s\n' "$output" | grep -v -e '^subprocess exited with status' -e '^Error: exit status' || true)
  if printf '%s' "$said" | grep -Eq 'ERR_MODULE_NOT_FOUND|Cannot find (module|package)'; then
    echo "FAIL $name: a module is missing from the image"
  elif [ "$status" != "$want_status" ]; then
    echo "FAIL $name: exit status $status, expected $want_status"
  elif ! printf '%s' "$said" | grep -Fq -- "$want_text"; then
    echo "FAIL $name: output lacks \"$want_text\""
  else
    echo "ok   $name (exit $status): $(printf '%s' "$said" | grep -F -- "$want_text" | head -n 1 | cut -c1-150)"
    return 0
  fi
  printf '%s\n' "$said" | sed 's/^/     | /' | head -n 20
  failures=$((failures + 1))
}

echo "check: $IMAGE as uid 10001"
# The entry points exit 2 on a configuration error (workers/main.ts,
# starter/main.ts); the broker logs the reason and exits 1 (broker/main.ts).
# Without TRIAGE_CONFIG they look for the sandbox's file, relative to /app.
no_config='cannot read configuration file /app/.sandbox/triage.yaml (ENOENT); set TRIAGE_CONFIG or pass --config'
in_image "$ctr" -- node dist/workers/main.js
expect 'worker, no configuration' 2 "$no_config"
in_image -e TRIAGE_CONFIG=/config/triage.yaml "$ctr" -- node dist/workers/main.js
expect 'worker, invalid configuration' 2 '/config/triage.yaml is invalid:'
in_image "$ctr" -- node dist/starter/main.js
expect 'gateway, no configuration' 2 "$no_config"
in_image -e TRIAGE_CONFIG=/config/triage.yaml "$ctr" -- node dist/starter/main.js
expect 'gateway, invalid configuration' 2 '/config/triage.yaml is invalid:'
in_image "$ctr" -- node dist/broker/main.js
expect 'broker, no configuration' 1 'BROKER_CONFIG is not set: it must name the broker YAML config file'
in_image -e BROKER_CONFIG=/config/broker.yaml "$ctr" -- node dist/broker/main.js
expect 'broker, invalid configuration' 1 'invalid broker config /config/broker.yaml:'

for history in "$ROOT"/test/histories/*.json; do
  in_image "$ctr" -- node bin/triage.js replay "/histories/${history##*/}"
  expect "CLI replay of ${history##*/}" 0 "replayed /histories/${history##*/}: deterministic"
done

# What the manifests rely on: `node` on PATH, uid 10001 named in /etc/passwd
# (os.userInfo() in the CLI), and /app read-only for it with readOnlyRootFilesystem
# or without: everything under /app is root's and not group/other-writable. And
# what a compromised process must not find: a shell, apt, dpkg or npm.
# shellcheck disable=SC2016 # JavaScript, not shell
in_image "$ctr" -- node -e '
  const fs = require("node:fs"), path = require("node:path"), os = require("node:os");
  let entries = 0, foreign = [];
  (function walk(p) {
    const st = fs.lstatSync(p); entries++;
    // The mode of a symlink means nothing, its owner does.
    if (st.uid !== 0 || (!st.isSymbolicLink() && (st.mode & 0o022) !== 0)) foreign.push(p);
    if (st.isDirectory()) for (const e of fs.readdirSync(p)) walk(path.join(p, e));
  })("/app");
  let write = "writable";
  try { fs.writeFileSync("/app/probe", ""); } catch (e) { write = e.code; }
  console.log(`runs as: node ${process.execPath}, user ${os.userInfo().username} ${process.getuid()}:${process.getgid()}, cwd ${process.cwd()}`);
  console.log(`/app: ${entries} entries, ${foreign.length} not root-owned or group/other-writable ${foreign.slice(0, 3).join(" ")}`);
  console.log(`/app write: ${write}`);
  const tools = ["/bin/sh", "/bin/bash", "/usr/bin/dash", "/usr/bin/apt", "/usr/bin/dpkg", "/usr/local/bin/npm", "/usr/bin/npm"];
  console.log(`shell or package manager: ${tools.filter((t) => fs.existsSync(t)).join(" ") || "none"}`);
'
expect 'runs as' 0 'runs as: node /nodejs/bin/node, user triage 10001:10001, cwd /app'
expect '/app owned by root' 0 ' 0 not root-owned or group/other-writable'
expect '/app read-only' 0 '/app write: EACCES'
expect 'no shell, like distroless' 0 'shell or package manager: none'

echo
echo "sizes (uncompressed, as buildah stores them):"
printf '  %-52s %s\n' "$IMAGE" "$(image_size "$IMAGE")" \
  "$RUNTIME_BASE" "$(image_size "$RUNTIME_BASE")" \
  "$BUILD_BASE" "$(image_size "$BUILD_BASE")"

if [ "$failures" -gt 0 ]; then
  echo "check: $failures failed" >&2
  exit 1
fi
echo "check: all passed"
