/* main() for the fuzz harnesses when built without libFuzzer: feeds every
 * file named on the command line, or found directly in a directory named
 * there, to LLVMFuzzerTestOneInput, in sorted order. Each input goes in a
 * buffer of exactly its size, so ASan catches reads past its end. */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	size_t cap = 4096, len = 0;
	uint8_t *data = malloc(cap);
	size_t got;
	while (data && (got = fread(data + len, 1, cap - len, f)) > 0) {
		len += got;
		if (len == cap) {
			uint8_t *bigger = realloc(data, cap * 2);
			if (!bigger)
				free(data);
			data = bigger;
			cap *= 2;
		}
	}
	int failed = ferror(f);
	fclose(f);
	if (!data || failed) {
		fprintf(stderr, "replay: %s: read failed\n", path);
		free(data);
		return -1;
	}
	/* an exact-size copy: the harness must not read past size */
	uint8_t *exact = malloc(len ? len : 1);
	if (!exact) {
		free(data);
		return -1;
	}
	memcpy(exact, data, len);
	free(data);
	LLVMFuzzerTestOneInput(exact, len);
	free(exact);
	return 0;
}

static int skip_dots(const struct dirent *d)
{
	return d->d_name[0] != '.';
}

int main(int argc, char **argv)
{
	unsigned count = 0;
	int rc = 0;

	for (int i = 1; i < argc; i++) {
		struct stat st;
		if (stat(argv[i], &st) < 0) {
			fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
			rc = 1;
			continue;
		}
		if (!S_ISDIR(st.st_mode)) {
			if (replay_file(argv[i]) < 0)
				rc = 1;
			else
				count++;
			continue;
		}
		struct dirent **names;
		int n = scandir(argv[i], &names, skip_dots, alphasort);
		if (n < 0) {
			fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
			rc = 1;
			continue;
		}
		for (int k = 0; k < n; k++) {
			char path[4096];
			snprintf(path, sizeof path, "%s/%s", argv[i], names[k]->d_name);
			if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
				if (replay_file(path) < 0)
					rc = 1;
				else
					count++;
			}
			free(names[k]);
		}
		free(names);
	}
	printf("replay: %u inputs\n", count);
	return rc;
}
