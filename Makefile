# keyless-triage: `make demo` runs the whole flow on the local sandbox, `make test` runs the tests.
# Every target installs what it needs first, and only when its inputs changed.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3

# The project's own Node (an active LTS, the same major as the image's), unpacked
# from the npm registry's node-linux-<arch> package into .tools/ and put first on
# PATH for every recipe: tests, demo and the built image run one Node version.
# The machine's npm and Node only fetch it.
NODE_VERSION := 24.22.3
NODE_ARCH := $(subst aarch64,arm64,$(subst x86_64,x64,$(shell uname -m)))
NODE_DIR := .tools/node-$(NODE_VERSION)
NODE := $(NODE_DIR)/bin/node
export PATH := $(abspath $(NODE_DIR)/bin):$(PATH)

NODE_STAMP := node_modules/.installed
VENV_STAMP := .venv/.installed
BUILD_STAMP := dist/.built
SOURCES := $(shell find config workflows activities workers starter cli broker sandbox -name '*.ts' 2>/dev/null) tsconfig.json tsconfig.build.json

.PHONY: help install demo test eval lint format up down typecheck record-histories clean kube

help:
	@echo "make demo    run a triage end to end on the sandbox (installs what it needs)"
	@echo "make test    typecheck, lint and run the test suite (real Temporal dev server, emulators)"
	@echo "make format  rewrite the sources to the project's Prettier layout"
	@echo "make kube    build kube-apiserver, kube-controller-manager and etcd into .tools/kube (make test does)"
	@echo "make eval    score the diagnosis on eval/cases/ and the shipped scenarios (a benchmark)"
	@echo "make up      start the sandbox stack in the background (.sandbox/stack.json)"
	@echo "make down    stop what make up started"

$(NODE):
	rm -rf $(NODE_DIR).tmp && mkdir -p $(NODE_DIR).tmp
	cd $(NODE_DIR).tmp && npm pack --silent node-linux-$(NODE_ARCH)@$(NODE_VERSION) >/dev/null
	tar -xzf $(NODE_DIR).tmp/node-linux-$(NODE_ARCH)-$(NODE_VERSION).tgz -C $(NODE_DIR).tmp
	rm -rf $(NODE_DIR) && mv $(NODE_DIR).tmp/package $(NODE_DIR) && rm -rf $(NODE_DIR).tmp
	@test "$$($(NODE) --version)" = "v$(NODE_VERSION)"

$(NODE_STAMP): package.json package-lock.json | $(NODE)
	npm ci --ignore-scripts --no-audit --no-fund
	@touch $@

$(VENV_STAMP): requirements-dev.txt
	$(PYTHON) -m venv .venv
	.venv/bin/pip install --quiet -r requirements-dev.txt
	@touch $@

$(BUILD_STAMP): $(NODE_STAMP) $(SOURCES)
	npm run build --silent
	@touch $@

install: $(NODE_STAMP) $(VENV_STAMP) $(BUILD_STAMP)

# kustomize renders deploy/ for the manifest checks; built from the Go module
# proxy with the machine's Go into a project-local directory.
KUSTOMIZE_VERSION := v5.8.1
KUSTOMIZE := .tools/bin/kustomize
$(KUSTOMIZE):
	GOBIN=$(abspath .tools/bin) go install sigs.k8s.io/kustomize/kustomize/v5@$(KUSTOMIZE_VERSION)

# A real kube-apiserver, etcd and kube-controller-manager (for its ClusterRole
# aggregation only) for the Kubernetes parity tests, built from the Go module
# proxy with the machine's Go (sandbox/kube/go.mod pins them; about 8 minutes on
# two cores, once). Cilium's CRDs come from its Go module, as published in the
# release; Calico's are vendored in sandbox/kube/crds/calico/.
KUBE_DIR := .tools/kube
KUBE_BINARIES := $(KUBE_DIR)/kube-apiserver $(KUBE_DIR)/kube-controller-manager $(KUBE_DIR)/etcd
CILIUM_VERSION := v1.20.2
CILIUM_CRDS := $(KUBE_DIR)/crds/cilium-$(CILIUM_VERSION)
$(KUBE_BINARIES) &: sandbox/kube/go.mod sandbox/kube/go.sum
	@mkdir -p $(KUBE_DIR)
	cd sandbox/kube && version=$$(go list -m -f '{{.Version}}' k8s.io/kubernetes) && \
	  ldflags="-X k8s.io/component-base/version.gitVersion=$$version -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$$(echo $$version | cut -d. -f2)" && \
	  for cmd in kube-apiserver kube-controller-manager; do \
	    go build -trimpath -ldflags "$$ldflags" -o $(abspath $(KUBE_DIR))/$$cmd k8s.io/kubernetes/cmd/$$cmd || exit 1; \
	  done && \
	  go build -trimpath -o $(abspath $(KUBE_DIR))/etcd go.etcd.io/etcd/server/v3
	@touch $(KUBE_BINARIES)
$(CILIUM_CRDS):
	rm -rf $@.tmp && mkdir -p $@.tmp
	dir=$$(go mod download -json github.com/cilium/cilium@$(CILIUM_VERSION) | sed -n 's/^\t"Dir": "\(.*\)",$$/\1/p') && \
	  cp $$dir/LICENSE $$dir/pkg/k8s/apis/cilium.io/client/crds/v2/ciliumnetworkpolicies.yaml $@.tmp/
	rm -rf $@ && mv $@.tmp $@
kube: $(KUBE_BINARIES) $(CILIUM_CRDS)

# The browser test drives Debian's Chromium with playwright-core (no browser download).
CHROMIUM ?= /usr/bin/chromium
$(CHROMIUM):
	@if [ "$$(id -u)" = 0 ]; then SUDO=; elif command -v sudo >/dev/null; then SUDO=sudo; else \
	  echo "the browser test needs Debian's chromium package: apt-get install chromium (as root)"; exit 1; fi; \
	$$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null

demo: install
	node dist/sandbox/demo.js

# The diagnosis benchmark: eval/cases/ and the shipped scenarios through the
# analyzers (no Temporal); prints the table and the score, exits 0.
# CASE=<text> runs only the cases whose name contains it.
eval: install
	node dist/sandbox/eval.js $(CASE)

typecheck: $(NODE_STAMP)
	npx tsc -p tsconfig.json

# ESLint (typescript-eslint) and Prettier's check: a lint error fails `make test`, and CI with it.
lint: $(NODE_STAMP)
	npm run lint --silent

# Rewrites the sources to Prettier's layout and applies ESLint's safe fixes.
format: $(NODE_STAMP)
	npm run format --silent

test: install typecheck lint $(CHROMIUM) $(KUSTOMIZE) kube image-test
	CHROMIUM=$(CHROMIUM) KUSTOMIZE=$(abspath $(KUSTOMIZE)) npm test --silent

up: install
	node dist/sandbox/stack-cli.js up

down:
	@if [ -f dist/sandbox/stack-cli.js ]; then node dist/sandbox/stack-cli.js down; else echo "nothing to stop"; fi

# Re-record the histories replayed by test/replay (after an intended workflow change).
record-histories: install
	npm test --silent -- --testMatch '<rootDir>/test/replay/record-histories.ts'

clean:
	rm -rf dist .sandbox .tools

# --- The container image, built here (deploy/image/) -------------------------
# buildah (vfs storage, chroot isolation, as root) builds deploy/Dockerfile from
# local stand-ins for its base images, so no container registry is needed:
# Debian bookworm from mmdebstrap plus the $(NODE) the tests run. buildah's
# storage and the Debian rootfs stay in .tools/, so a second run only redoes
# what changed. `make test` runs the image check where buildah and mmdebstrap
# are installed and it runs as root, and says that it skipped it elsewhere.
# The npm that Node $(NODE_VERSION) bundles (its CHANGELOG), for the build base.
IMAGE_NPM_VERSION := 11.19.1
IMAGE_ENV := NODE_VERSION=$(NODE_VERSION) NPM_VERSION=$(IMAGE_NPM_VERSION) NODE_BIN=$(abspath $(NODE))

.PHONY: image image-check image-test image-clean

# Builds localhost/keyless-triage:0.1.0 (FORCE=1 rebuilds an up-to-date image,
# REFRESH_BASES=1 the bases with Debian's current packages).
image: | $(NODE)
	$(IMAGE_ENV) deploy/image/build.sh

# Builds the image, runs its entry points and a replay in it as uid 10001, prints the sizes.
image-check: | $(NODE)
	$(IMAGE_ENV) deploy/image/check.sh

# One of make test's prerequisites: it runs before the test suite.
image-test: | $(NODE)
	@if command -v buildah >/dev/null && command -v mmdebstrap >/dev/null && [ "$$(id -u)" = 0 ]; then \
	  $(IMAGE_ENV) deploy/image/check.sh; \
	else \
	  echo "SKIPPED: the image check (make image-check) needs buildah and mmdebstrap, as root:"; \
	  echo "         apt-get install buildah mmdebstrap"; \
	fi

image-clean:
	rm -rf .tools/containers .tools/image
