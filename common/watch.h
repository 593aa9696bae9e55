/* The event-loop idiom of host and guest: an fd in an epoll set whose
 * epoll tag (data.ptr) is its struct watch, and whose owner embeds the
 * watch and finds itself again with container_of(). The loop calls
 * w->on_event(w, events) and knows nothing of what the fd is.
 *
 *	struct conn { struct watch w; ... };
 *	static void on_conn(struct watch *w, uint32_t ev)
 *	{ struct conn *c = container_of(w, struct conn, w); ... }
 *	watch_add(epfd, &c->w, EPOLLIN);
 */
#ifndef HUSK_COMMON_WATCH_H
#define HUSK_COMMON_WATCH_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/epoll.h>

struct watch {
	int fd;
	void (*on_event)(struct watch *w, uint32_t events);
};

#ifndef container_of
#define container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))
#endif

static inline int watch_ctl(int epfd, int op, struct watch *w, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = w };
	return epoll_ctl(epfd, op, w->fd, &ev) < 0 ? -errno : 0;
}

static inline int watch_add(int epfd, struct watch *w, uint32_t events)
{
	return watch_ctl(epfd, EPOLL_CTL_ADD, w, events);
}

static inline int watch_mod(int epfd, struct watch *w, uint32_t events)
{
	return watch_ctl(epfd, EPOLL_CTL_MOD, w, events);
}

static inline int watch_del(int epfd, struct watch *w)
{
	return epoll_ctl(epfd, EPOLL_CTL_DEL, w->fd, NULL) < 0 ? -errno : 0;
}

/* One round of the loop: waits up to timeout_ms and dispatches. A watch
 * whose fd an earlier event of the same batch closed (fd set to -1) is
 * skipped: owners free watches only between rounds. Returns the number of
 * events, or -errno (EINTR included). */
static inline int watch_dispatch(int epfd, int timeout_ms)
{
	struct epoll_event evs[16];
	int n = epoll_wait(epfd, evs, 16, timeout_ms);
	if (n < 0)
		return -errno;
	for (int i = 0; i < n; i++) {
		struct watch *w = evs[i].data.ptr;
		if (w->fd >= 0)
			w->on_event(w, evs[i].events);
	}
	return n;
}

#endif
