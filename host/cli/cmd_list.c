/* list: the OCI state of every container under --root, as runc prints it:
 * a table (tabwriter-aligned columns) or a JSON array (null when empty). */
#include <dirent.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "host/cli/cli.h"

#define LIST_MAX 4096
#define COLS 6

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The user owning the container's state dir, as runc names it: the user
 * name, or #UID when it has none. */
static void owner_of(const char *dir, char *out, size_t cap)
{
	struct stat sb;
	if (stat(dir, &sb) < 0) {
		snprintf(out, cap, "#%d", -1);
		return;
	}
	struct passwd *pw = getpwuid(sb.st_uid);
	if (pw)
		snprintf(out, cap, "%s", pw->pw_name);
	else
		snprintf(out, cap, "#%u", (unsigned)sb.st_uid);
}

/* Every container id under root, sorted; the caller frees each. */
static size_t read_ids(const char *root, char **names, size_t cap)
{
	size_t n = 0;
	DIR *d = opendir(root);
	if (!d)
		return 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL && n < cap) {
		struct husk_err e = { 0 };
		if (de->d_name[0] == '.' || husk_id_validate(de->d_name, &e) < 0)
			continue;
		names[n++] = strdup(de->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof names[0], cmp_names);
	return n;
}

/* runc's tabwriter: each column as wide as its widest cell plus 3, at
 * least 12; the last column unpadded. */
static void print_table(json_t *arr)
{
	static const char *const head[COLS] = { "ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER" };
	size_t w[COLS], i;
	json_t *j;
	char pid[16];
	for (int c = 0; c < COLS; c++)
		w[c] = strlen(head[c]);
	json_array_foreach(arr, i, j)
	{
		snprintf(pid, sizeof pid, "%lld", (long long)json_integer_value(json_object_get(j, "pid")));
		const char *cell[COLS] = { json_string_value(json_object_get(j, "id")),
					   pid,
					   json_string_value(json_object_get(j, "status")),
					   json_string_value(json_object_get(j, "bundle")),
					   json_string_value(json_object_get(j, "created")),
					   json_string_value(json_object_get(j, "owner")) };
		for (int c = 0; c < COLS; c++)
			if (cell[c] && strlen(cell[c]) > w[c])
				w[c] = strlen(cell[c]);
	}
	for (int c = 0; c < COLS; c++)
		w[c] = w[c] + 3 < 12 ? 12 : w[c] + 3;
	printf("%-*s%-*s%-*s%-*s%-*s%s\n", (int)w[0], head[0], (int)w[1], head[1], (int)w[2], head[2], (int)w[3],
	       head[3], (int)w[4], head[4], head[5]);
	json_array_foreach(arr, i, j)
	{
		snprintf(pid, sizeof pid, "%lld", (long long)json_integer_value(json_object_get(j, "pid")));
		printf("%-*s%-*s%-*s%-*s%-*s%s\n", (int)w[0], json_string_value(json_object_get(j, "id")), (int)w[1],
		       pid, (int)w[2], json_string_value(json_object_get(j, "status")), (int)w[3],
		       json_string_value(json_object_get(j, "bundle")), (int)w[4],
		       json_string_value(json_object_get(j, "created")),
		       json_string_value(json_object_get(j, "owner")));
	}
}

int cmd_list(struct husk_globals *g, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "quiet", no_argument, NULL, 'q' },
		{ NULL, 0, NULL, 0 },
	};
	const char *format = "table";
	bool quiet = false;
	int c;
	while ((c = getopt_long(argc, argv, "+f:q", opts, NULL)) != -1) {
		if (c == 'f')
			format = optarg;
		else if (c == 'q')
			quiet = true;
		else
			return cli_failf("list: unknown option %s", argv[optind - 1]);
	}
	if (optind != argc)
		return cli_failf("list: takes no arguments");
	if (strcmp(format, "table") && strcmp(format, "json"))
		return cli_failf("list: --format must be table or json, not \"%s\"", format);

	static char *names[LIST_MAX];
	size_t n = read_ids(g->root, names, LIST_MAX);
	json_t *arr = json_array();
	for (size_t i = 0; i < n; i++) {
		struct husk_err e = { 0 };
		struct husk_state st;
		char dir[PATH_MAX], owner[64];
		snprintf(dir, sizeof dir, "%s/%s", g->root, names[i]);
		free(names[i]);
		if (husk_state_read(dir, &st, &e) < 0)
			continue; /* being created or deleted */
		json_t *j = husk_state_oci_json(&st);
		husk_state_free(&st);
		if (!j)
			continue;
		owner_of(dir, owner, sizeof owner);
		json_object_set_new(j, "owner", json_string(owner));
		json_array_append_new(arr, j);
	}
	size_t i;
	json_t *j;
	if (quiet) {
		json_array_foreach(arr, i, j) printf("%s\n", json_string_value(json_object_get(j, "id")));
	} else if (!strcmp(format, "json")) {
		if (json_array_size(arr))
			json_dumpf(arr, stdout, JSON_COMPACT);
		else
			fputs("null", stdout); /* as runc (Go's empty slice) */
		putchar('\n');
	} else {
		print_table(arr);
	}
	json_decref(arr);
	return 0;
}
