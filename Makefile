# Two commands on a fresh machine:
#   make demo   installs what is missing (QEMU, a sched_ext kernel) and runs the demo suite
#   make test   runs every test, VM tests included
GO       ?= go
KTSTR    := $(GO) run ./cmd/ktstr
SUDO     := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
TESTFLAGS ?=

.PHONY: demo test setup deps kernel schedulers check bench soak

demo: setup
	$(GO) test -v -count=1 ./examples/demo

# -p 1: one package at a time. Each VM test package already runs two VMs at
# once (the best throughput on 2 cores, FIELD-NOTES); more would time-slice
# the vCPUs and add host noise to the fairness figures.
test: setup
	$(GO) test -p 1 -count=1 -timeout 30m $(TESTFLAGS) ./...

setup: deps kernel schedulers

# QEMU (with qboot firmware, in qemu-system-data) from the distribution.
deps:
	@command -v qemu-system-x86_64 >/dev/null && [ -f /usr/share/qemu/qboot.rom ] || { \
		echo "installing QEMU"; \
		$(SUDO) apt-get update -qq && \
		$(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends qemu-system-x86 qemu-system-data; }
	@command -v stress-ng >/dev/null && command -v hackbench >/dev/null && command -v fio >/dev/null || { \
		echo "installing the payload tools"; \
		$(SUDO) apt-get update -qq && \
		$(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends stress-ng rt-tests fio; }
	@command -v busybox >/dev/null || { \
		echo "installing busybox-static (the shell of ktstr shell)"; \
		$(SUDO) apt-get update -qq && \
		$(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends busybox-static; }
	@command -v chromium >/dev/null && command -v pdftotext >/dev/null || { \
		echo "installing Chromium and poppler-utils (the HTML report's browser test renders and prints pages)"; \
		$(SUDO) apt-get update -qq && \
		$(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-liberation poppler-utils; }

# A sched_ext kernel in the cache; a no-op when the newest is there already.
kernel:
	$(KTSTR) kernel fetch

# The kernel's example sched_ext schedulers (scx_simple, scx_qmap, ...),
# built from Debian's linux-source for the cached kernel; a no-op once built.
# The build tools installed are the kernel build's too (all), so that its
# tests on a fake kernel tree (internal/kernel) run rather than skip.
schedulers: kernel
	scripts/install-build-deps.sh all
	$(KTSTR) sched build

check:
	@test -z "$$(gofmt -l .)" || { gofmt -l .; echo "gofmt needed"; exit 1; }
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...
	# A package of ktstr tests must compile on a Mac too (its VMs skip
	# there): vet builds every package and its tests for darwin.
	GOOS=darwin $(GO) vet ./...

bench: setup
	$(GO) test -run '^$$' -bench . -benchtime 3x ./...

# The flake rate: K rounds of the example schedulers' suite beside a host
# load (LOAD busy loops, -1 one per host CPU), failures counted by kind and
# test (see README, "Trustworthy numbers").
K    ?= 10
LOAD ?= -1
soak: setup
	$(KTSTR) soak -k $(K) --load $(LOAD) -- ./examples/schedulers
