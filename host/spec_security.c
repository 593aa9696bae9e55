/* process security settings from config.json (filled in by the security work) */
#include "spec.h"

int husk_spec_parse_security(json_t *process, json_t *root, struct husk_process_spec *out, struct husk_err *err)
{
	out->security = NULL;
	return 0;
}

void husk_spec_free_security(struct husk_process_spec *p)
{
	p->security = NULL;
}
