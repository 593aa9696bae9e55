/* The /etc/resolv.conf of a --net nat job (docs/sandbox.md), as Docker
 * makes one: the --dns addresses, else the host's nameservers the job can
 * reach (a resolver on the host's loopback is not reachable from the VM,
 * and the job has no IPv6), else a public default; the host's `search`
 * and `options` lines kept. Written at set-up under HUSK_SB_RUN_DIR in a
 * directory of the slot's (and the host namespace's), bind-mounted
 * read-only into the job by its spec, removed at teardown: it lives
 * exactly as long as the network namespace. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "host/cli/sandbox_host.h"

#define HOST_TEXT_MAX 65536
#define LINE_MAX_KEPT 256 /* a longer search/options line is dropped */
#define SYSTEMD_RESOLV "/run/systemd/resolve/resolv.conf"

bool husk_sb_dns_valid(const char *ip)
{
	unsigned char buf[16];
	if (!ip || strlen(ip) >= HUSK_SB_DNS_LEN)
		return false;
	return inet_pton(AF_INET, ip, buf) == 1 || inet_pton(AF_INET6, ip, buf) == 1;
}

bool husk_sb_dns_usable(const char *ip)
{
	struct in_addr a;
	if (!ip || strlen(ip) >= HUSK_SB_DNS_LEN || inet_pton(AF_INET, ip, &a) != 1)
		return false;
	uint32_t h = ntohl(a.s_addr);
	return (h >> 24) != 127 && h != 0;
}

/* appends the line a b; false once it does not fit */
static bool add(char *out, size_t cap, size_t *len, const char *a, const char *b)
{
	int n = snprintf(out + *len, cap - *len, "%s%s\n", a, b);
	if (n < 0 || (size_t)n >= cap - *len)
		return false;
	*len += (size_t)n;
	return true;
}

/* a search/domain/options line worth keeping: short, printable */
static bool keep_line(const char *line, size_t n)
{
	static const char *const kept[] = { "search", "domain", "options" };
	if (n > LINE_MAX_KEPT)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)line[i] < 0x20 && line[i] != '\t')
			return false;
	for (size_t i = 0; i < sizeof kept / sizeof kept[0]; i++) {
		size_t k = strlen(kept[i]);
		if (n > k && !strncmp(line, kept[i], k) && (line[k] == ' ' || line[k] == '\t'))
			return true;
	}
	return false;
}

/* the address of a "nameserver X" line into ns, else false */
static bool nameserver(const char *line, size_t n, char ns[HUSK_SB_DNS_LEN])
{
	const char *kw = "nameserver";
	size_t k = strlen(kw);
	if (n <= k || strncmp(line, kw, k) || (line[k] != ' ' && line[k] != '\t'))
		return false;
	const char *p = line + k, *end = line + n;
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	size_t w = 0;
	while (p + w < end && p[w] != ' ' && p[w] != '\t' && p[w] != '#' && p[w] != ';')
		w++;
	if (!w || w >= HUSK_SB_DNS_LEN)
		return false;
	memcpy(ns, p, w);
	ns[w] = '\0';
	return true;
}

int husk_sb_resolv_text(const char *host_text, const char (*dns)[HUSK_SB_DNS_LEN], size_t n_dns, char *out, size_t cap)
{
	static const char *const fallback[] = { HUSK_SB_DNS_DEFAULT };
	size_t len = 0, used = 0;
	char ns[HUSK_SB_DNS_LEN];
	if (n_dns > HUSK_SB_DNS_MAX)
		return -EINVAL;
	for (size_t i = 0; i < n_dns; i++)
		if (!husk_sb_dns_valid(dns[i]))
			return -EINVAL;
	if (!cap || !add(out, cap, &len, "# made by husk sandbox --net nat (docs/sandbox.md)", ""))
		return -ENOSPC;
	for (size_t i = 0; i < n_dns; i++)
		if (!add(out, cap, &len, "nameserver ", dns[i]))
			return -ENOSPC;
	for (const char *l = host_text; n_dns == 0 && l && *l;) {
		size_t n = strcspn(l, "\n");
		if (used < HUSK_SB_DNS_MAX && nameserver(l, n, ns) && husk_sb_dns_usable(ns)) {
			if (!add(out, cap, &len, "nameserver ", ns))
				return -ENOSPC;
			used++;
		}
		l += n + (l[n] == '\n');
	}
	for (size_t i = 0; n_dns == 0 && used == 0 && i < sizeof fallback / sizeof fallback[0]; i++)
		if (!add(out, cap, &len, "nameserver ", fallback[i]))
			return -ENOSPC;
	for (const char *l = host_text; l && *l;) {
		size_t n = strcspn(l, "\n");
		if (keep_line(l, n)) {
			if (len + n + 2 > cap)
				return -ENOSPC;
			memcpy(out + len, l, n);
			len += n;
			out[len++] = '\n';
			out[len] = '\0';
		}
		l += n + (l[n] == '\n');
	}
	return (int)used;
}

/* the file's text (NUL-terminated, cut at HOST_TEXT_MAX - 1), or NULL */
static char *read_text(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	char *buf = malloc(HOST_TEXT_MAX);
	size_t len = 0;
	while (buf && len < HOST_TEXT_MAX - 1) {
		ssize_t n = read(fd, buf + len, HOST_TEXT_MAX - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	if (buf)
		buf[len] = '\0';
	return buf;
}

/* the text for n: the host's file read now (the override, else
 * /etc/resolv.conf, else systemd-resolved's upstream one when the former
 * names no usable nameserver) */
static int text_for(const struct husk_sb_net *n, char *out, size_t cap, struct husk_err *err)
{
	const char *env = getenv(HUSK_SB_RESOLV_ENV);
	const char *path = env && *env ? env : "/etc/resolv.conf";
	char *host = read_text(path);
	int r = husk_sb_resolv_text(host, n->opts.dns, n->opts.n_dns, out, cap);
	if (r == 0 && n->opts.n_dns == 0 && !(env && *env)) {
		char *sd = read_text(SYSTEMD_RESOLV);
		if (sd && husk_sb_resolv_text(sd, NULL, 0, out, cap) <= 0)
			r = husk_sb_resolv_text(host, NULL, 0, out, cap);
		free(sd);
	}
	free(host);
	if (r == -EINVAL)
		return husk_err_set(err, EINVAL, "--dns: not an IP address");
	if (r < 0)
		return husk_err_set(err, ENOSPC,
				    "--net nat: the job's resolv.conf would be over %d bytes (the search and options "
				    "lines of %s)",
				    HUSK_SB_RESOLV_MAX, path);
	return 0;
}

int husk_sb_resolv_make(struct husk_sb_net *n, struct husk_err *err)
{
	char text[HUSK_SB_RESOLV_MAX], dir[PATH_MAX];
	struct stat ns;
	int r = text_for(n, text, sizeof text, err);
	if (r < 0)
		return r;
	if (stat("/proc/self/ns/net", &ns) < 0)
		return husk_err_sys(err, errno, "--net nat: /proc/self/ns/net");
	/* the slot is unique in this network namespace, the inode across them */
	snprintf(dir, sizeof dir, "%s/net-%d-%lu", HUSK_SB_RUN_DIR, n->slot, (unsigned long)ns.st_ino);
	if (mkdir(HUSK_SB_RUN_DIR, 0755) < 0 && errno != EEXIST)
		return husk_err_sys(err, errno, "--net nat: making %s", HUSK_SB_RUN_DIR);
	if (mkdir(dir, 0755) < 0 && errno != EEXIST) /* there: left by a keeper killed outright */
		return husk_err_sys(err, errno, "--net nat: making %s", dir);
	n->resolv_dir = true;
	snprintf(n->resolv, sizeof n->resolv, "%s/resolv.conf", dir);
	int fd = open(n->resolv, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
	size_t len = strlen(text);
	if (fd < 0 || fchmod(fd, 0644) < 0 || write(fd, text, len) != (ssize_t)len) {
		r = husk_err_sys(err, errno ? errno : EIO, "--net nat: writing %s", n->resolv);
		if (fd >= 0)
			close(fd);
		return r;
	}
	if (close(fd) < 0)
		return husk_err_sys(err, errno, "--net nat: writing %s", n->resolv);
	return 0;
}

void husk_sb_resolv_remove(struct husk_sb_net *n)
{
	if (!n->resolv_dir)
		return;
	unlink(n->resolv);
	char *slash = strrchr(n->resolv, '/');
	if (slash)
		*slash = '\0';
	rmdir(n->resolv);
	n->resolv[0] = '\0';
	n->resolv_dir = false;
}
