/* The floor for boot benchmarks: an init that powers the VM off at once
 * (reboot=t on the command line makes QEMU exit). */
#include <sys/reboot.h>
#include <unistd.h>

int main(void)
{
	reboot(RB_AUTOBOOT);
	for (;;)
		pause();
}
