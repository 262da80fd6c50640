// SPDX-License-Identifier: Apache-2.0
/* kepler: the node agent. Flags, config, signals, wiring and the interval loop. */
#include <stdio.h>

#include "config.h"
#include "version.h"

int main(void)
{
	printf("kepler %s (%s)\n", KEPLER_VERSION, KEPLER_REVISION);
	return 0;
}
