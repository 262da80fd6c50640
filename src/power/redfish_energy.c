// SPDX-License-Identifier: Apache-2.0
/*
 * Energy from a BMC's readings. Between two polls the last power reading holds
 * (zero-order hold), so every interval read between them sees a steady rate
 * and the next poll continues exactly where the hold left off: no step. An
 * energy counter (EnvironmentMetrics EnergykWh) does not replace the hold (its
 * steps are coarse, kWh with a few decimals): at each poll the difference
 * between the counter and our energy since the baseline becomes a rate
 * correction, so that long-term energy follows the counter and the count never
 * jumps. The correction takes a quarter of the difference per interval: a
 * poll's answer that came late (the difference then holds the BMC's latency
 * times the power) moves the rate by a quarter of that, not all of it.
 */
#include "power/redfish.h"

#include <errno.h>
#include <math.h>

#define UJ_PER_KWH 3.6e12
#define UJ_PER_W_NS 1e-3
/* The corrected rate stays in [0, this]: as redfish_json.c's largest reading. */
#define MAX_RATE_W 1e7
/* The difference to the counter is closed over this many intervals. */
#define COUNTER_GAIN_INTERVALS 4.0

void redfish_energy_init(struct redfish_energy *e, uint64_t interval_ns)
{
	*e = (struct redfish_energy){.interval_ns = interval_ns, .stale_ns = 3 * interval_ns};
}

static void set_baseline(struct redfish_energy *e, double kwh)
{
	e->have_counter = kwh >= 0 && !e->counter_off;
	e->counter0_kwh = e->last_kwh = kwh;
	e->e0_uj = e->e_uj;
}

int redfish_energy_sample(struct redfish_energy *e, uint64_t now_ns, double watts, double kwh)
{
	double rate = watts;
	int ret = 0;

	if (watts <= 0 && !e->any_power)
		return -ENODATA;
	e->any_power = true;
	if (e->have && now_ns <= e->t_ns)
		return 0; /* not after the held reading: nothing to add */
	if (!e->have || now_ns - e->t_ns > e->stale_ns) {
		/*
		 * The first reading, or the first after a gap: go on from what was
		 * last returned (or the energy held until the last reading); the gap's
		 * energy is not invented.
		 */
		if (e->reported_uj > e->e_uj)
			e->e_uj = e->reported_uj;
		e->t_ns = now_ns;
		e->have = true;
		set_baseline(e, kwh);
	} else {
		e->e_uj += e->rate_w * (double)(now_ns - e->t_ns) * UJ_PER_W_NS;
		e->t_ns = now_ns;
		if (kwh < 0 || e->counter_off) {
			e->have_counter = false;
		} else if (!e->have_counter || kwh < e->last_kwh) {
			set_baseline(e, kwh); /* a counter appeared, or was reset */
		} else if (kwh == e->last_kwh && e->last_w > 0) {
			/* No step over a whole period with power flowing: too coarse to steer by.
			 */
			e->counter_off = true;
			e->have_counter = false;
			ret = 1;
		} else {
			double target = e->e0_uj + (kwh - e->counter0_kwh) * UJ_PER_KWH;
			double corr = (target - e->e_uj) / (COUNTER_GAIN_INTERVALS *
							    (double)e->interval_ns * UJ_PER_W_NS);

			/* The counter steers; it never more than halves or adds half the reading.
			 */
			if (watts > 0 && fabs(corr) > watts / 2)
				corr = corr > 0 ? watts / 2 : -watts / 2;
			rate += corr;
			e->last_kwh = kwh;
		}
	}
	if (rate < 0)
		rate = 0;
	if (rate > MAX_RATE_W)
		rate = MAX_RATE_W;
	e->rate_w = rate;
	e->last_w = watts;
	return ret;
}

int redfish_energy_read(struct redfish_energy *e, uint64_t now_ns, uint64_t *ret_uj)
{
	double v;

	if (!e->have)
		return -ENODATA;
	if (now_ns > e->t_ns && now_ns - e->t_ns > e->stale_ns)
		return -ESTALE;
	v = e->e_uj;
	if (now_ns > e->t_ns)
		v += e->rate_w * (double)(now_ns - e->t_ns) * UJ_PER_W_NS;
	if (v > e->reported_uj)
		e->reported_uj = v;
	*ret_uj = (uint64_t)e->reported_uj;
	return 0;
}
