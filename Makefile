# SPDX-License-Identifier: GPL-2.0
# vhost-scsi-ng top-level Makefile.
#
#   make            build the module (vhost_scsi_ng.ko), the selftests, the tools
#   make module     only the module        make deps   install what is needed
#   make install    install the module into /lib/modules/$(KVER)/updates, depmod
#   make lint       checkpatch --strict, W=1 and sparse (C=2) on our sources
#   make demo       end-to-end demo in a guest (TARGET=ours|intree)
#   make check      all tests (lint, selftests, real-guest tests) in guests
#   make fuzz       the hostile-guest fuzzer in a guest (FUZZ_RUNS, FUZZ_SEED,
#                   FUZZ_TARGETS, KERNEL=debug; Documentation/fuzzing.md)
#   make bench      side-by-side benchmark (results/bench/<date>/)
#   make bench-quick  the same, 1 round and 2 workloads (a few minutes)
#   make clean
#
# KVER/KDIR select the kernel to build against (default: Debian's 6.12
# backports headers). The Kbuild file lists the module's objects.

ifeq ($(origin KVER),undefined)
KVER := $(strip $(or \
	$(shell ls -d /usr/src/linux-headers-6.12.95+deb12-amd64 2>/dev/null | sed 's|.*/linux-headers-||'), \
	$(shell ls -d /usr/src/linux-headers-6.12.*-amd64 2>/dev/null | sed 's|.*/linux-headers-||' | sort -V | tail -n1), \
	6.12.95+deb12-amd64))
endif
KDIR ?= /usr/src/linux-headers-$(KVER)
AUTOCONF := drivers/vhost-scsi-ng/compat-autoconf.h
TARGET ?= ours
export KVER KDIR TARGET

SELFTESTS_DIR := selftests/vhost_scsi_ng
TOOLS_DIR := tools

.PHONY: all module selftests tools deps lint demo check clean help bench bench-quick install fuzz

all: module selftests tools

module:
	scripts/kprobe.sh $(KDIR) $(AUTOCONF)
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

selftests:
	@if [ -f $(SELFTESTS_DIR)/Makefile ]; then \
		$(MAKE) -C $(SELFTESTS_DIR); \
	else \
		echo "selftests: $(SELFTESTS_DIR)/Makefile not there yet, skipped"; \
	fi

tools:
	@if [ -f $(TOOLS_DIR)/Makefile ]; then \
		$(MAKE) -C $(TOOLS_DIR); \
	else \
		echo "tools: $(TOOLS_DIR)/Makefile not there yet, skipped"; \
	fi

deps:
	scripts/deps.sh

install: module
	$(MAKE) -C $(KDIR) M=$(CURDIR) INSTALL_MOD_DIR=updates modules_install
	depmod $(if $(INSTALL_MOD_PATH),-b $(INSTALL_MOD_PATH)) -a $(KVER)

lint:
	scripts/lint.sh

demo:
	scripts/deps.sh
	scripts/demo.sh

# check.sh runs scripts/deps.sh itself, as its timed "setup" phase.
check:
	scripts/check.sh

fuzz: module selftests
	scripts/fuzz.sh

bench: module selftests tools
	scripts/bench.sh

bench-quick: module selftests tools
	scripts/bench.sh --quick

clean:
	-$(MAKE) -C $(KDIR) M=$(CURDIR) clean
	rm -f $(AUTOCONF)
	@if [ -f $(SELFTESTS_DIR)/Makefile ]; then $(MAKE) -C $(SELFTESTS_DIR) clean; fi
	@if [ -f $(TOOLS_DIR)/Makefile ]; then $(MAKE) -C $(TOOLS_DIR) clean; fi

help:
	@sed -n '2,18p' Makefile | sed 's/^# \{0,1\}//'
