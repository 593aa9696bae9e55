/* config: the effective configuration and where each value came from. */
#include <stdio.h>
#include <string.h>

#include "host/cli/cli.h"
#include "host/container/container.h"
#include "host/state/config.h"
#include "host/vmm/vmm_qemu.h"

int cmd_config(struct husk_globals *g, int argc, char **argv)
{
	struct husk_config cfg;
	struct husk_err err = { 0 };
	char why[160];
	if (argc != 1)
		return cli_failf("config: takes no arguments");
	if (husk_config_load(&cfg, &err) < 0)
		return cli_fail(&err);
	printf("# config file: %s (%s)\n", cfg.path, cfg.file_found ? "read" : "not present");
	const char *section = "";
	for (int k = 0; k < CFG_KEY_COUNT; k++) {
		const struct husk_config_entry *e = &cfg.e[k];
		if (strcmp(section, e->section)) {
			section = e->section;
			printf("[%s]\n", section);
		}
		printf("%s = %s\t# %s\n", e->name, e->value, e->source);
	}
	const char *accel = husk_accel_resolve(husk_config_get(&cfg, CFG_ACCEL), why, sizeof why);
	printf("# accel resolves to %s: %s\n", accel, why);
	const char *vs = husk_config_get(&cfg, CFG_VSOCK_BACKEND);
	printf("# vsock resolves to %s\n", husk_container_vsock_resolve(vs));
	return 0;
}
