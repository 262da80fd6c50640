/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The platform model (docs/power.md, "Platform estimate"): the whole platform's
 * power from what the agent measures or estimates anyway,
 *
 *   P_platform = intercept + cpu x P_cpu + gpu x P_gpu + utilization x u
 *
 * with P_cpu the CPU zones that are platform parts (package, else core and
 * uncore, and DRAM), P_gpu the GPUs' power and u the node's CPU utilisation
 * (0..1). Meterless nodes estimate with configured coefficients; nodes with a
 * platform meter fit them (least squares, slowly forgetting) and export them,
 * so that an operator can copy them to meterless nodes of the same hardware.
 * Pure: numbers in, numbers out.
 */
#pragma once

#include <stdint.h>

enum pm_term {
	PM_INTERCEPT, /* watts */
	PM_CPU,	      /* per watt of the CPU parts */
	PM_GPU,	      /* per watt of the GPUs */
	PM_UTIL,      /* watts at full CPU utilisation */
	PM_TERMS,
};

/* The term names, as the configuration keys and the exported label say them. */
extern const char *const pm_term_names[PM_TERMS];

/* One interval's inputs: x[PM_INTERCEPT] is 1. */
struct pm_input {
	double x[PM_TERMS];
};

static inline struct pm_input pm_input(double cpu_w, double gpu_w, double util)
{
	return (struct pm_input){.x = {1.0, cpu_w, gpu_w, util < 0 ? 0 : util}};
}

/* The model's power for in, never below 0. */
double platform_model_predict(const double coef[PM_TERMS], const struct pm_input *in);

/*
 * A running least-squares fit: sums of products, each sample's weight decaying
 * by 1/PM_MEMORY per sample, so that the fit follows a node whose hardware or
 * firmware changes. Zero it to start.
 */
#define PM_MEMORY 10000.0
#define PM_MIN_SAMPLES 10.0

struct platform_fit {
	double n;			/* weighted sample count */
	double sxx[PM_TERMS][PM_TERMS]; /* sum of x_i x_j */
	double sxy[PM_TERMS];
};

void platform_fit_add(struct platform_fit *f, const struct pm_input *in, double platform_w);
/*
 * The coefficients that fit the samples best. A term whose input never varied
 * gets 0 (an absent GPU; a constant utilisation cannot be told from the
 * intercept); inputs that vary together (an estimated CPU power follows the
 * utilisation exactly) share their effect, which predicts the same. 0;
 * -EAGAIN before PM_MIN_SAMPLES samples; -EDOM when the sums are not finite.
 */
int platform_fit_solve(const struct platform_fit *f, double coef[PM_TERMS]);
