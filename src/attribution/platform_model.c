// SPDX-License-Identifier: Apache-2.0
#include "attribution/platform_model.h"

#include <errno.h>
#include <math.h>

const char *const pm_term_names[PM_TERMS] = {
    [PM_INTERCEPT] = "intercept", [PM_CPU] = "cpu", [PM_GPU] = "gpu", [PM_UTIL] = "utilization"};

/*
 * Ridge on standardised inputs: small enough not to bias a well-posed fit,
 * large enough to keep inputs that move together from cancelling out.
 */
#define RIDGE 1e-6
/* An input whose standard deviation is below this (in its own unit) never varied. */
#define MIN_SD 1e-6

double platform_model_predict(const double coef[PM_TERMS], const struct pm_input *in)
{
	double p = 0;

	for (int i = 0; i < PM_TERMS; i++)
		p += coef[i] * in->x[i];
	return p > 0 ? p : 0;
}

void platform_fit_add(struct platform_fit *f, const struct pm_input *in, double platform_w)
{
	double keep = 1.0 - 1.0 / PM_MEMORY;

	if (!isfinite(platform_w))
		return;
	for (int i = 0; i < PM_TERMS; i++)
		if (!isfinite(in->x[i]))
			return;
	f->n = f->n * keep + 1;
	for (int i = 0; i < PM_TERMS; i++) {
		f->sxy[i] = f->sxy[i] * keep + in->x[i] * platform_w;
		for (int j = 0; j < PM_TERMS; j++)
			f->sxx[i][j] = f->sxx[i][j] * keep + in->x[i] * in->x[j];
	}
}

/* Solve a x = b (n <= PM_TERMS) by Gaussian elimination with partial pivoting. */
static int solve(double a[PM_TERMS][PM_TERMS], double b[PM_TERMS], int n, double x[PM_TERMS])
{
	for (int c = 0; c < n; c++) {
		int p = c;

		for (int r = c + 1; r < n; r++)
			if (fabs(a[r][c]) > fabs(a[p][c]))
				p = r;
		if (!(fabs(a[p][c]) >= 1e-12)) /* NaN too */
			return -EDOM;
		for (int k = 0; k < n; k++) {
			double t = a[c][k];

			a[c][k] = a[p][k];
			a[p][k] = t;
		}
		double t = b[c];

		b[c] = b[p];
		b[p] = t;
		for (int r = c + 1; r < n; r++) {
			double m = a[r][c] / a[c][c];

			for (int k = c; k < n; k++)
				a[r][k] -= m * a[c][k];
			b[r] -= m * b[c];
		}
	}
	for (int r = n - 1; r >= 0; r--) {
		double s = b[r];

		for (int k = r + 1; k < n; k++)
			s -= a[r][k] * x[k];
		x[r] = s / a[r][r];
	}
	return 0;
}

int platform_fit_solve(const struct platform_fit *f, double coef[PM_TERMS])
{
	double mean[PM_TERMS], sd[PM_TERMS], a[PM_TERMS][PM_TERMS], b[PM_TERMS], beta[PM_TERMS];
	int idx[PM_TERMS], n = 0;
	double my;

	if (f->n < PM_MIN_SAMPLES)
		return -EAGAIN;
	my = f->sxy[PM_INTERCEPT] / f->n;
	for (int i = 1; i < PM_TERMS; i++) {
		double var;

		mean[i] = f->sxx[PM_INTERCEPT][i] / f->n;
		var = f->sxx[i][i] / f->n - mean[i] * mean[i];
		sd[i] = var > 0 ? sqrt(var) : 0;
		coef[i] = 0;
		if (sd[i] > MIN_SD)
			idx[n++] = i;
	}
	/* Correlations of the standardised inputs, and with the output. */
	for (int r = 0; r < n; r++) {
		int i = idx[r];

		for (int c = 0; c < n; c++) {
			int j = idx[c];

			a[r][c] = (f->sxx[i][j] / f->n - mean[i] * mean[j]) / (sd[i] * sd[j]);
		}
		a[r][r] += RIDGE;
		b[r] = (f->sxy[i] / f->n - mean[i] * my) / sd[i];
	}
	if (n && solve(a, b, n, beta) < 0)
		return -EDOM;
	coef[PM_INTERCEPT] = my;
	for (int r = 0; r < n; r++) {
		int i = idx[r];

		coef[i] = beta[r] / sd[i];
		coef[PM_INTERCEPT] -= coef[i] * mean[i];
	}
	return 0;
}
