/* container-wide settings from config.json (filled in by the mounts work) */
#include "spec.h"

int husk_spec_parse_container(struct husk_spec *spec, struct husk_err *err)
{
	spec->container = NULL;
	return 0;
}

void husk_spec_free_container(struct husk_spec *spec)
{
	spec->container = NULL;
}
