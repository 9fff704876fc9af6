// SPDX-License-Identifier: GPL-2.0
/*
 * vsng-scsi-reset DEV: ask the SCSI midlayer for a device reset of DEV (an
 * sd or sg node), as sg3-utils' "sg_reset -d" does: the SG_SCSI_RESET
 * ioctl with SG_SCSI_RESET_DEVICE | SG_SCSI_RESET_NO_ESCALATE.  The
 * midlayer calls the driver's error-handler device reset; for
 * virtio_scsi that is a LOGICAL UNIT RESET on the control queue, with the
 * disk's I/O still in flight.  Used inside the real-guest test's inner
 * guest (scripts/realguest/reset.sh), where no sg3-utils is installed:
 * a Linux guest's virtio_scsi never reaches its error handler on a
 * timeout (its eh_timed_out resets the timer), so this is how the test
 * makes the guest send the reset.  Exit 0 when the reset succeeded.
 */
#include <errno.h>
#include <fcntl.h>
#include <scsi/sg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

/* The kernel's value (include/scsi/sg.h); glibc's <scsi/sg.h> lacks it. */
#ifndef SG_SCSI_RESET_NO_ESCALATE
#define SG_SCSI_RESET_NO_ESCALATE 0x100
#endif

int main(int argc, char **argv)
{
	int what = SG_SCSI_RESET_DEVICE | SG_SCSI_RESET_NO_ESCALATE;
	int fd;

	if (argc != 2) {
		fprintf(stderr, "usage: %s /dev/sdX\n", argv[0]);
		return 2;
	}
	fd = open(argv[1], O_RDWR | O_NONBLOCK);
	if (fd < 0) {
		fprintf(stderr, "%s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	if (ioctl(fd, SG_SCSI_RESET, &what)) {
		fprintf(stderr, "%s: SG_SCSI_RESET: %s\n", argv[1],
			strerror(errno));
		close(fd);
		return 1;
	}
	close(fd);
	return 0;
}
