# vhost-scsi-ng top-level Makefile (minimal; infra extends it)
KVER ?= 6.12.95+deb12-amd64
KDIR ?= /usr/src/linux-headers-$(KVER)
AUTOCONF := drivers/vhost-scsi-ng/compat-autoconf.h

.PHONY: all module clean
all: module

module:
	scripts/kprobe.sh $(KDIR) $(AUTOCONF)
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

clean:
	$(MAKE) -C $(KDIR) M=$(CURDIR) clean
	rm -f $(AUTOCONF)
