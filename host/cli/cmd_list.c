/* list: the OCI state of every container under --root. */
#include <dirent.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host/cli/cli.h"

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
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

	char *names[4096];
	size_t n = 0;
	DIR *d = opendir(g->root);
	if (d) {
		struct dirent *de;
		while ((de = readdir(d)) != NULL && n < sizeof names / sizeof names[0]) {
			struct husk_err e = { 0 };
			if (de->d_name[0] == '.' || husk_id_validate(de->d_name, &e) < 0)
				continue;
			names[n++] = strdup(de->d_name);
		}
		closedir(d);
	}
	qsort(names, n, sizeof names[0], cmp_names);
	json_t *arr = json_array();
	if (!quiet && !strcmp(format, "table"))
		printf("%-24s %-8s %-8s %-40s %-31s %s\n", "ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER");
	for (size_t i = 0; i < n; i++) {
		struct husk_err e = { 0 };
		struct husk_state st;
		char dir[PATH_MAX];
		snprintf(dir, sizeof dir, "%s/%s", g->root, names[i]);
		if (husk_state_read(dir, &st, &e) < 0) {
			free(names[i]);
			continue; /* being created or deleted */
		}
		json_t *j = husk_state_oci_json(&st);
		if (quiet)
			printf("%s\n", st.id);
		else if (!strcmp(format, "table"))
			printf("%-24s %-8d %-8s %-40s %-31s %s\n", st.id,
			       (int)json_integer_value(json_object_get(j, "pid")),
			       husk_status_name(husk_state_status(&st)), st.bundle, st.created, "root");
		json_array_append_new(arr, j);
		husk_state_free(&st);
		free(names[i]);
	}
	if (!quiet && !strcmp(format, "json")) {
		json_dumpf(arr, stdout, JSON_COMPACT);
		putchar('\n');
	}
	json_decref(arr);
	return 0;
}
