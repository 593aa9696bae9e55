/* The pod's sandbox process for tests/clients/cri.bats, as Kubernetes'
 * pause: holds the pod's namespaces, reaps the children that get reparented
 * to it and exits 0 on SIGTERM or SIGINT. Built static with musl at test
 * time and put in an image of its own (FROM scratch). */
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void)
{
	sigset_t set;
	int sig;

	if (getpid() != 1)
		fprintf(stderr, "pause: not PID 1, reaping only my own children\n");
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &set, NULL) != 0) {
		perror("pause: sigprocmask");
		return 1;
	}
	for (;;) {
		if (sigwait(&set, &sig) != 0)
			continue;
		if (sig == SIGCHLD) {
			while (waitpid(-1, NULL, WNOHANG) > 0)
				;
			continue;
		}
		return 0;
	}
}
