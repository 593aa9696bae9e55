/* sd_notify at create: which host socket gets the container's
 * notifications and where the container finds its own socket. A host unix
 * socket cannot cross virtio-fs (connecting to it in the guest is refused),
 * so the guest serves the container's socket and relays each datagram to
 * the container monitor, which sends it on (host/monitor/monitor_notify.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "proto/msg_container.h"
#include "host/spec/spec.h"

#define ENV_KEY "NOTIFY_SOCKET="

static int oom(struct husk_err *err)
{
	return husk_err_set(err, ENOMEM, "out of memory");
}

/* runc's rule: a path, or "@name" for the abstract namespace; either must
 * fit a sockaddr_un (a longer path is reached through its directory) */
static int check_host_socket(const char *v, struct husk_err *err)
{
	size_t n = strlen(v);
	if (v[0] == '@' && n > 1 && n < sizeof(((struct sockaddr_un *)0)->sun_path))
		return 0;
	if (v[0] == '/' && n < HUSK_MAX_PATH)
		return 0;
	return husk_err_set(err, EINVAL, "NOTIFY_SOCKET \"%.256s\" is not a unix socket path (absolute, or @name)", v);
}

/* process.env with NOTIFY_SOCKET=path: an entry already there is replaced */
static int set_env(struct husk_spec *spec, const char *path, struct husk_err *err)
{
	struct husk_process_spec *p = &spec->process;
	size_t n = strlen(ENV_KEY) + strlen(path) + 1;
	if (!(spec->notify_env = malloc(n)))
		return oom(err);
	snprintf(spec->notify_env, n, "%s%s", ENV_KEY, path);
	for (uint32_t i = 0; i < p->n_env; i++)
		if (!strncmp(p->env[i], ENV_KEY, strlen(ENV_KEY))) {
			p->env[i] = spec->notify_env;
			return 0;
		}
	if (p->n_env >= HUSK_MAX_ENV)
		return husk_err_set(err, E2BIG, "config.json: process.env has no room for NOTIFY_SOCKET");
	char **v = realloc(p->env, (p->n_env + 2) * sizeof *v);
	if (!v)
		return oom(err);
	v[p->n_env++] = spec->notify_env;
	v[p->n_env] = NULL;
	p->env = v;
	return 0;
}

static const char *env_value(const struct husk_process_spec *p)
{
	for (uint32_t i = 0; i < p->n_env; i++)
		if (!strncmp(p->env[i], ENV_KEY, strlen(ENV_KEY)))
			return p->env[i] + strlen(ENV_KEY);
	return NULL;
}

/* The mount that path is on: the longest destination that is path or
 * one of its directories (the later of two equal ones), -1 if none. */
static int covering_mount(const struct husk_container_config *c, const char *path)
{
	int best = -1;
	size_t best_len = 0;
	for (uint32_t i = 0; i < c->n_mounts; i++) {
		const char *d = c->mounts[i].destination;
		size_t n = strlen(d);
		bool covers = !strcmp(d, "/") || (!strncmp(path, d, n) && (path[n] == '\0' || path[n] == '/'));
		if (covers && n >= best_len) {
			best = (int)i;
			best_len = n;
		}
	}
	return best;
}

static void drop_mount(struct husk_container_config *c, uint32_t i)
{
	struct husk_mount *m = &c->mounts[i];
	free(m->destination);
	free(m->type);
	free(m->source);
	free(m->data);
	free(m->host_source);
	memmove(m, m + 1, (c->n_mounts - i - 1) * sizeof *m);
	c->n_mounts--;
}

/* Podman's --sdnotify=container: process.env's NOTIFY_SOCKET is on a bind
 * mount whose source holds a host unix socket at that place. */
static int podman_style(struct husk_spec *spec, struct husk_err *err)
{
	struct husk_container_config *c = spec->container;
	const char *path = env_value(&spec->process);
	if (!c || !path || !husk_path_is_clean_abs(path) || !strcmp(path, "/"))
		return 0;
	int i = covering_mount(c, path);
	if (i < 0 || !c->mounts[i].bind || !c->mounts[i].host_source)
		return 0;
	const struct husk_mount *m = &c->mounts[i];
	const char *rest = path + (strcmp(m->destination, "/") ? strlen(m->destination) : 0);
	size_t n = strlen(m->host_source) + strlen(rest) + 1;
	char *host = malloc(n);
	if (!host)
		return oom(err);
	snprintf(host, n, "%s%s", m->host_source, rest);
	struct stat st;
	if (lstat(host, &st) < 0 || !S_ISSOCK(st.st_mode)) {
		free(host);
		return 0;
	}
	spec->notify_host = host;
	if (!(spec->notify_container = strdup(path)))
		return oom(err);
	/* the socket itself bound: nothing of it can reach the guest. A
	 * directory (Podman binds <bundle>/notify on /run/notify) stays, and
	 * the guest's socket is bound over the one in it. */
	if (!rest[0])
		drop_mount(c, (uint32_t)i);
	return 0;
}

int husk_spec_notify_setup(struct husk_spec *spec, const char *env_notify, struct husk_err *err)
{
	if (!env_notify || !env_notify[0])
		return podman_style(spec, err);
	int r = check_host_socket(env_notify, err);
	if (r < 0)
		return r;
	if (!(spec->notify_host = strdup(env_notify)) || !(spec->notify_container = strdup(HUSK_NOTIFY_RUNC_PATH)))
		return oom(err);
	return set_env(spec, HUSK_NOTIFY_RUNC_PATH, err);
}

void husk_spec_notify_free(struct husk_spec *spec)
{
	free(spec->notify_host);
	free(spec->notify_container);
	free(spec->notify_env);
	spec->notify_host = spec->notify_container = spec->notify_env = NULL;
}
