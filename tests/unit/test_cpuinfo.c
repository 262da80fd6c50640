// SPDX-License-Identifier: Apache-2.0
/* cpuinfo_parse: /proc/cpuinfo texts of several architectures, from a table. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include "util/cpuinfo.h"
#include "util/util.h"

#define X86_0                                                                                      \
	"processor\t: 0\n"                                                                         \
	"vendor_id\t: GenuineIntel\n"                                                              \
	"cpu family\t: 6\n"                                                                        \
	"model\t\t: 85\n"                                                                          \
	"model name\t: Intel(R) Xeon(R) Gold 6230 CPU @ 2.10GHz\n"                                 \
	"physical id\t: 0\n"                                                                       \
	"siblings\t: 40\n"                                                                         \
	"core id\t\t: 0\n"                                                                         \
	"flags\t\t: fpu vme de pse: not a field\n"                                                 \
	"power management:\n"                                                                      \
	"\n"
#define X86_1                                                                                      \
	"processor\t: 1\n"                                                                         \
	"vendor_id\t: GenuineIntel\n"                                                              \
	"model name\t: Intel(R) Xeon(R) Gold 6230 CPU @ 2.10GHz\n"                                 \
	"physical id\t: 1\n"                                                                       \
	"core id\t\t: 4\n"                                                                         \
	"\n"

struct want {
	const char *processor, *vendor_id, *model_name, *physical_id, *core_id;
};

static const struct {
	const char *what, *text;
	size_t n;
	struct want cpu[3];
} cases[] = {
    {"x86, two sockets",
     X86_0 X86_1,
     2,
     {{"0", "GenuineIntel", "Intel(R) Xeon(R) Gold 6230 CPU @ 2.10GHz", "0", "0"},
      {"1", "GenuineIntel", "Intel(R) Xeon(R) Gold 6230 CPU @ 2.10GHz", "1", "4"}}},
    {"no trailing newline, CRLF and trailing blanks",
     "processor : 7\r\nvendor_id : AuthenticAMD  \r\nmodel name : AMD EPYC 7763 64-Core "
     "Processor\r\ncore id : 3",
     1,
     {{"7", "AuthenticAMD", "AMD EPYC 7763 64-Core Processor", "", "3"}}},
    /* arm64 names none of the fields but the processor */
    {"arm64",
     "processor\t: 0\nBogoMIPS\t: 50.00\nCPU implementer\t: 0x41\n\n"
     "processor\t: 1\nBogoMIPS\t: 50.00\n\nHardware\t: BCM2835\n",
     2,
     {{"0", "", "", "", ""}, {"1", "", "", "", ""}}},
    /* s390x: a header before the first stanza belongs to none */
    {"header before the first stanza",
     "vendor_id       : IBM/S390\n# processors    : 1\n\nprocessor 0: version = FF\n"
     "processor\t: 0\nmodel name\t: z15\n",
     1,
     {{"0", "", "z15", "", ""}}},
    {"empty", "", 0, {{0}}},
    {"no stanza", "Hardware\t: BCM2835\nRevision\t: a02082\n", 0, {{0}}},
    /* an empty value is kept as "", a key that only begins like a field is another key */
    {"empty value and look-alike keys",
     "processor\t:\nvendor_id_extra : X\ncore id\t:  \n",
     1,
     {{"", "", "", "", ""}}},
};

static void test_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct cpuinfo *ci = NULL;

		print_message("%s\n", cases[i].what);
		assert_int_equal(cpuinfo_parse(cases[i].text, &ci), 0);
		assert_non_null(ci);
		assert_int_equal(ci->n, cases[i].n);
		for (size_t c = 0; c < ci->n; c++) {
			const struct want *w = &cases[i].cpu[c];

			assert_string_equal(ci->cpu[c].processor, w->processor);
			assert_string_equal(ci->cpu[c].vendor_id, w->vendor_id);
			assert_string_equal(ci->cpu[c].model_name, w->model_name);
			assert_string_equal(ci->cpu[c].physical_id, w->physical_id);
			assert_string_equal(ci->cpu[c].core_id, w->core_id);
		}
		free(ci);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
