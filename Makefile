# SPDX-License-Identifier: GPL-2.0
# vhost-scsi-ng top-level Makefile.
#
#   make            build the module (vhost_scsi_ng.ko), the selftests, the tools
#   make module     only the module        make deps   install what is needed
#   make deps-61    also Debian's 6.1 kernel image for the test guest (cache)
#   make distclean-deps  undo what make deps added (see the README)
#   make install    install the module into /lib/modules/$(KVER)/updates, depmod
#   make deb        vhost-scsi-ng-dkms_<version>_all.deb into results/deb/
#   make dkms-install  register, build and install with DKMS for $(KVER), plus
#                   /lib/modprobe.d/vhost-scsi-ng.conf (make dkms-uninstall)
#   make dkms-src   stage the source as $(DESTDIR)/usr/src/vhost-scsi-ng-<version>
#   make lint       checkpatch --strict, W=1 and sparse (C=2) on our sources
#   make demo       end-to-end demo in a guest (TARGET=ours|intree)
#   make check      all tests (lint, selftests, real-guest tests) in guests
#   make check-full make check plus the long phases (persist, check-dkms,
#                   check-stat, check-61)
#   make check-stat tools/vsng-stat against a running device in a guest
#   make check-61   the selftests on Debian's 6.1 kernel, ours built for it and
#                   in-tree 6.1 (also in check-full; make deps-61 gets the image)
#   make check-dkms install the .deb in a guest: DKMS build, modprobe vhost_scsi,
#                   targetcli LUN and I/O, removal leaves nothing
#   make check-setup  make deps/demo/distclean-deps in a fresh Debian 12 chroot
#                   leave the boot configuration as it was (network, ~10 min)
#   make fuzz       the hostile-guest fuzzer in a guest (FUZZ_RUNS, FUZZ_SEED,
#                   FUZZ_TARGETS, KERNEL=debug; Documentation/fuzzing.md)
#   make soak       chaos under load in a guest, 10 minutes (SOAK_TIME,
#                   SOAK_OWNERS, SOAK_TARGETS; Documentation/selftests.md)
#   make bench      side-by-side benchmark (results/bench/<date>/)
#   make bench-quick  the same, 1 round and 2 workloads (a few minutes)
#   make bench-mem  kernel memory per device, ours vs in-tree (1.5 min)
#   make clean
#
# KVER/KDIR select the kernel to build against (default: the running kernel
# when its headers are installed, else Debian's 6.12 backports headers, the
# test guest's kernel). The Kbuild file lists the module's objects.

# scripts/kernel-paths.sh finds them: installed packages (/usr/src) or the
# copy scripts/deps.sh extracts into /var/cache/vhost-scsi-ng/kernel/.
KPATHS := $(dir $(lastword $(MAKEFILE_LIST)))scripts/kernel-paths.sh
# The targets that load the module into the test guest build for its kernel.
GUEST_GOALS := demo check check-full check-dkms check-stat fuzz bench bench-quick
ifeq ($(origin KVER),undefined)
ifneq ($(filter $(GUEST_GOALS),$(MAKECMDGOALS)),)
KVER := $(shell $(KPATHS) kver)
else
KVER := $(shell $(KPATHS) build-kver)
endif
endif
KDIR ?= $(shell $(KPATHS) kdir $(KVER))
AUTOCONF := drivers/vhost-scsi-ng/compat-autoconf.h
TARGET ?= ours
export KVER KDIR TARGET
# The version, kept in one place: VSNG_VERSION in drivers/vhost-scsi-ng/vsng.h.
VERSION := $(shell $(dir $(lastword $(MAKEFILE_LIST)))scripts/dkms-src.sh --version)
DKMS_MODULE := vhost-scsi-ng/$(VERSION)

SELFTESTS_DIR := selftests/vhost_scsi_ng
TOOLS_DIR := tools

.PHONY: all module selftests tools deps distclean-deps lint demo check check-setup clean help bench bench-quick bench-mem install fuzz soak
.PHONY: deb dkms-src dkms-install dkms-uninstall check-dkms check-full check-stat check-61 deps-61

all: module selftests tools

module:
	@echo "vhost_scsi_ng.ko for kernel $(KVER) (headers: $(KDIR))"
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
	scripts/deps.sh $(if $(YES),--yes)

deps-61:
	scripts/deps.sh --kernel-61 $(if $(YES),--yes)

distclean-deps:
	scripts/deps.sh --remove $(if $(YES),--yes)

install: module
	$(MAKE) -C $(KDIR) M=$(CURDIR) INSTALL_MOD_DIR=updates modules_install
	depmod $(if $(INSTALL_MOD_PATH),-b $(INSTALL_MOD_PATH)) -a $(KVER)

# DKMS and the Debian package (Documentation/admin-guide.md, "Install with
# DKMS"). dkms-install builds for $(KVER) from headers in $(KDIR).
dkms-src:
	scripts/dkms-src.sh $(DESTDIR)

dkms-install: dkms-src
	install -D -m 644 modprobe.d/vhost-scsi-ng.conf $(DESTDIR)/lib/modprobe.d/vhost-scsi-ng.conf
	dkms status -m $(DKMS_MODULE) | grep -q . || dkms add -m $(DKMS_MODULE)
	dkms install -m $(DKMS_MODULE) -k $(KVER) --kernelsourcedir $(KDIR)

dkms-uninstall:
	-dkms remove -m $(DKMS_MODULE) --all
	rm -rf $(DESTDIR)/usr/src/vhost-scsi-ng-$(VERSION)
	rm -f $(DESTDIR)/lib/modprobe.d/vhost-scsi-ng.conf

deb:
	scripts/mkdeb.sh $(DEB_DIR)

check-dkms: selftests
	scripts/check-dkms.sh

check-stat: module tools
	scripts/vm-run --logdir results/check-stat --timeout 600 -- tools/vsng-stat-test.sh

check-full:
	VSNG_CHECK_FULL=1 scripts/check.sh

# The selftests (built for the host, they run on any kernel) on 6.1.
check-61: selftests
	VSNG_CHECK_PHASES="setup k61" scripts/check.sh

lint:
	scripts/lint.sh

demo:
	scripts/deps.sh $(if $(YES),--yes)
	scripts/demo.sh

# check.sh runs scripts/deps.sh itself, as its timed "setup" phase.
check:
	scripts/check.sh

# Not part of make check: needs Debian's archive and a chroot (issue 21).
check-setup:
	scripts/tests/boot-untouched.sh --demo --distclean

fuzz: module selftests
	scripts/fuzz.sh

soak: module selftests
	scripts/soak.sh

bench: module selftests tools
	scripts/bench.sh

bench-quick: module selftests tools
	scripts/bench.sh --quick

bench-mem: module selftests tools
	scripts/bench.sh --levels mem

clean:
	-$(MAKE) -C $(KDIR) M=$(CURDIR) clean
	rm -f $(AUTOCONF)
	@if [ -f $(SELFTESTS_DIR)/Makefile ]; then $(MAKE) -C $(SELFTESTS_DIR) clean; fi
	@if [ -f $(TOOLS_DIR)/Makefile ]; then $(MAKE) -C $(TOOLS_DIR) clean; fi

help:
	@sed -n '2,31p' Makefile | sed 's/^# \{0,1\}//'
