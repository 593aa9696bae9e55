#include "host/vmm/vmm_uid.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

int husk_vmm_id_alloc(unsigned long base, unsigned long count, struct husk_vmm_id *id, struct husk_err *err)
{
	id->lock_fd = -1;
	if (mkdir(HUSK_VMM_UID_DIR, 0700) < 0 && errno != EEXIST)
		return husk_err_sys(err, errno, "creating %s", HUSK_VMM_UID_DIR);
	int dfd = open(HUSK_VMM_UID_DIR, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0)
		return husk_err_sys(err, errno, "opening %s", HUSK_VMM_UID_DIR);
	/* start where this monitor's pid points, so that monitors starting
	 * together rarely try the same slots */
	unsigned long start = (unsigned long)getpid() % count;
	for (unsigned long i = 0; i < count; i++) {
		unsigned long uid = base + (start + i) % count;
		char name[24];
		snprintf(name, sizeof name, "%lu", uid);
		int fd = openat(dfd, name, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0) {
			int e = errno;
			close(dfd);
			return husk_err_sys(err, e, "%s/%s", HUSK_VMM_UID_DIR, name);
		}
		if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
			close(dfd);
			*id = (struct husk_vmm_id){ .uid = (uid_t)uid, .gid = (gid_t)uid, .lock_fd = fd };
			return 0;
		}
		int e = errno;
		close(fd);
		if (e != EWOULDBLOCK) {
			close(dfd);
			return husk_err_sys(err, e, "locking %s/%s", HUSK_VMM_UID_DIR, name);
		}
	}
	close(dfd);
	return husk_err_set(err, EAGAIN, "every VMM uid from %lu to %lu is in use (raise [security] vmm_uid_count)",
			    base, base + count - 1);
}

void husk_vmm_id_release(struct husk_vmm_id *id)
{
	if (id->lock_fd >= 0)
		close(id->lock_fd);
	id->lock_fd = -1;
}
