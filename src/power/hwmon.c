// SPDX-License-Identifier: Apache-2.0
/*
 * hwmon class devices: CPU energy and power channels of drivers such as
 * amd_energy and zenpower (the "hwmon" meter), and the ACPI power meter
 * (power_meter: whole-platform power, the "acpi" meter). Power channels are
 * integrated over time into energy; energy channels are cumulative counters.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "power/internal.h"
#include "util/fileio.h"
#include "util/util.h"

#define HWMON_DIR "class/hwmon"
#define HWMON_MAX_CHANNELS 512

/* Drivers whose channels are never CPU zones: GPUs (gpu_drm.c reads amdgpu, i915 and xe). */
static const char *const gpu_drivers[] = {"amdgpu", "radeon", "nouveau", "i915", "xe", "nvidia"};

int hwmon_zone_for(const char *driver, const char *label)
{
	if (streq(driver, "amd_energy") || streq(driver, "zenergy")) {
		if (startswith(label, "Esocket"))
			return ZONE_PACKAGE;
		if (startswith(label, "Ecore"))
			return ZONE_CORE;
		return -1;
	}
	if (streq(driver, "zenpower") || streq(driver, "k10temp")) {
		if (streq(label, "SVI2_P_Core"))
			return ZONE_CORE;
		if (streq(label, "SVI2_P_SoC"))
			return ZONE_UNCORE;
	}
	if (streq(driver, "power_meter"))
		return -1; /* the acpi meter's */
	for (size_t i = 0; i < ARRAY_SIZE(gpu_drivers); i++)
		if (streq(driver, gpu_drivers[i]))
			return -1;
	if (strcasecmp(label, "Package") == 0 || strcasecmp(label, "CPU") == 0)
		return ZONE_PACKAGE;
	return -1;
}

int hwmon_parse_attr(const char *s, enum hwmon_kind *ret_kind, unsigned *ret_channel)
{
	enum hwmon_kind kind;
	unsigned long ch;
	char *end;

	if (startswith(s, "energy"))
		s += strlen("energy"), kind = HWMON_ENERGY;
	else if (startswith(s, "power"))
		s += strlen("power"), kind = HWMON_POWER;
	else
		return -EINVAL;
	if (!isdigit((unsigned char)*s) || *s == '0')
		return -EINVAL; /* channels count from 1 */
	errno = 0;
	ch = strtoul(s, &end, 10);
	if (errno || ch > 100000)
		return -EINVAL;
	if (streq(end, "_input"))
		;
	else if (kind == HWMON_POWER && streq(end, "_average"))
		kind = HWMON_AVERAGE;
	else
		return -EINVAL;
	*ret_kind = kind;
	*ret_channel = (unsigned)ch;
	return 0;
}

struct hwmon_chan {
	char rel[96]; /* the value file, relative to host.sysfs */
	enum hwmon_kind kind;
	int zone; /* enum zone, or -1 for the platform (acpi) */
	int dev;  /* which hwmonN, to prefer energy over power within a device */
	unsigned channel;
	uint64_t last; /* energy: last raw value */
	uint64_t cum;  /* energy: microjoules since open */
	struct power_integrator it;
};

struct hwmon_meter {
	struct power_meter base;
	char *sysfs;
	size_t n;
	struct hwmon_chan chans[HWMON_MAX_CHANNELS];
};

/*
 * The directory holding a device's attributes: hwmonN itself, or hwmonN/device
 * for drivers registered the old way. Writes the driver name.
 */
static int device_dir(const char *sysfs, const char *dev, char *dir, size_t dsize, char *name,
		      size_t nsize)
{
	static const char *const subs[] = {"", "/device"};
	char rel[PATH_MAX];
	int n;

	for (size_t i = 0; i < ARRAY_SIZE(subs); i++) {
		n = snprintf(dir, dsize, HWMON_DIR "/%s%s", dev, subs[i]);
		if (n < 0 || (size_t)n >= dsize || (size_t)n + sizeof("/name") > sizeof(rel))
			return -ENAMETOOLONG;
		memcpy(rel, dir, (size_t)n);
		memcpy(rel + n, "/name", sizeof("/name"));
		if (read_line_at(sysfs, rel, name, nsize) >= 0)
			return 0;
	}
	return -ENOENT;
}

static bool have_chan(const struct hwmon_meter *m, int dev, enum hwmon_kind kind, unsigned ch)
{
	for (size_t i = 0; i < m->n; i++)
		if (m->chans[i].dev == dev && m->chans[i].kind == kind && m->chans[i].channel == ch)
			return true;
	return false;
}

static int add_chan(struct hwmon_meter *m, int dev, const char *dir, const char *attr,
		    enum hwmon_kind kind, unsigned ch, int zone)
{
	struct hwmon_chan *c;
	int r;

	if (m->n == HWMON_MAX_CHANNELS)
		return -E2BIG;
	c = &m->chans[m->n];
	*c = (struct hwmon_chan){.kind = kind, .zone = zone, .dev = dev, .channel = ch};
	r = snprintf(c->rel, sizeof(c->rel), "%s/%s", dir, attr);
	if (r < 0 || r >= (int)sizeof(c->rel))
		return 0; /* not a path we can hold: leave it out */
	m->n++;
	return 0;
}

/* Scan one device's attribute directory for CPU channels. */
static int scan_cpu_channels(struct hwmon_meter *m, int dev, const char *dir, const char *driver)
{
	_cleanup_free_ char **names = NULL;
	size_t n, first = m->n;
	int r;

	r = power_list_dir(m->sysfs, dir, &names, &n);
	if (r < 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char rel[160], label[64] = "";
		enum hwmon_kind kind;
		unsigned ch;
		int zone;

		if (hwmon_parse_attr(names[i], &kind, &ch) < 0)
			continue;
		snprintf(rel, sizeof(rel), "%s/%s%u_label", dir,
			 kind == HWMON_ENERGY ? "energy" : "power", ch);
		if (read_line_at(m->sysfs, rel, label, sizeof(label)) < 0)
			label[0] = '\0';
		zone = hwmon_zone_for(driver, label);
		if (zone < 0)
			continue;
		r = add_chan(m, dev, dir, names[i], kind, ch, zone);
		if (r < 0)
			return r;
	}
	/*
	 * Within one device: an energy counter beats integrated power for the same
	 * zone, and powerN_average (smoothed over the device's interval) beats
	 * powerN_input for the same channel.
	 */
	size_t k = first;
	for (size_t i = first; i < m->n; i++) {
		struct hwmon_chan *c = &m->chans[i];
		bool drop = false;

		if (c->kind != HWMON_ENERGY)
			for (size_t j = first; j < m->n; j++)
				if (m->chans[j].kind == HWMON_ENERGY && m->chans[j].zone == c->zone)
					drop = true;
		if (c->kind == HWMON_POWER && have_chan(m, dev, HWMON_AVERAGE, c->channel))
			drop = true;
		if (!drop)
			m->chans[k++] = *c;
	}
	m->n = k;
	return 0;
}

/* The ACPI power meter's one channel (power1_average, else power1_input). */
static int scan_acpi_channel(struct hwmon_meter *m, int dev, const char *dir)
{
	static const char *const attrs[] = {"power1_average", "power1_input"};

	for (size_t i = 0; i < ARRAY_SIZE(attrs); i++) {
		char rel[160];

		snprintf(rel, sizeof(rel), "%s/%s", dir, attrs[i]);
		if (power_exists(m->sysfs, rel))
			return add_chan(m, dev, dir, attrs[i], i == 0 ? HWMON_AVERAGE : HWMON_POWER,
					1, -1);
	}
	return 0;
}

static int none_found(const struct hwmon_meter *m, bool acpi, char *err, size_t errsz)
{
	return errf(err, errsz, -ENODEV, "no %s under %s/" HWMON_DIR,
		    acpi ? "power_meter device" : "CPU energy or power channels", m->sysfs);
}

static int discover(struct hwmon_meter *m, bool acpi, char *err, size_t errsz)
{
	_cleanup_free_ char **names = NULL;
	size_t n;
	int r;

	r = power_list_dir(m->sysfs, HWMON_DIR, &names, &n);
	if (r == -ENOENT || r == -ENOTDIR)
		return none_found(m, acpi, err, errsz);
	if (r < 0)
		return errf(err, errsz, r, "cannot list %s/" HWMON_DIR ": %s", m->sysfs,
			    strerror(-r));
	for (size_t i = 0; i < n; i++) {
		char dir[128], driver[64], rel[160];
		int dev;

		if (sscanf(names[i], "hwmon%d", &dev) != 1)
			continue;
		if (device_dir(m->sysfs, names[i], dir, sizeof(dir), driver, sizeof(driver)) < 0)
			continue;
		if (acpi != streq(driver, "power_meter"))
			continue;
		if (acpi) {
			r = scan_acpi_channel(m, dev, dir);
			/* Attributes on the parent device while name is on hwmonN. */
			if (r >= 0 && (m->n == 0 || m->chans[m->n - 1].dev != dev)) {
				snprintf(rel, sizeof(rel), HWMON_DIR "/%s/device", names[i]);
				r = scan_acpi_channel(m, dev, rel);
			}
		} else {
			size_t before = m->n;

			r = scan_cpu_channels(m, dev, dir, driver);
			if (r >= 0 && m->n == before && !strstr(dir, "/device")) {
				snprintf(rel, sizeof(rel), HWMON_DIR "/%s/device", names[i]);
				r = scan_cpu_channels(m, dev, rel, driver);
			}
		}
		if (r < 0)
			return errf(err, errsz, r, "more than %d channels under %s/" HWMON_DIR,
				    HWMON_MAX_CHANNELS, m->sysfs);
	}
	return m->n ? 0 : none_found(m, acpi, err, errsz);
}

static void hwmon_close(struct power_meter *pm)
{
	struct hwmon_meter *m = power_meter_container(pm, struct hwmon_meter);

	if (!m)
		return;
	free(m->sysfs);
	free(m);
}

/* Why channel c failed with r (v: the value read, for -ERANGE). */
static int chan_fail(const struct hwmon_meter *m, const struct hwmon_chan *c, int r, uint64_t v,
		     char *err, size_t errsz)
{
	if (r == -ERANGE && c->kind == HWMON_ENERGY)
		return errf(err, errsz, r, "%s/%s went back from %llu to %llu", m->sysfs, c->rel,
			    (unsigned long long)c->last, (unsigned long long)v);
	if (r == -ERANGE)
		return errf(err, errsz, r, "%s/%s: %llu uW is above %llu uW, not power", m->sysfs,
			    c->rel, (unsigned long long)v, POWER_MAX_UW);
	return meter_fail_read(err, errsz, r, m->sysfs, c->rel);
}

static int open_common(struct power_meter **ret, const struct kepler_config *cfg, bool acpi,
		       char *err, size_t errsz)
{
	struct hwmon_meter *m;
	uint32_t bad = 0, zones = 0;
	bool platform = false;
	int r, first_err = 0;
	size_t k = 0;

	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->base.ops = acpi ? &acpi_meter_ops : &hwmon_meter_ops;
	m->sysfs = strdup(cfg->host_sysfs);
	if (!m->sysfs) {
		r = -ENOMEM;
		goto fail;
	}
	r = discover(m, acpi, err, errsz);
	if (r < 0)
		goto fail;
	/*
	 * Baseline energy counters and check power channels; a zone with any
	 * unreadable channel is not offered (amd_energy files are root-only).
	 */
	for (size_t i = 0; i < m->n; i++) {
		struct hwmon_chan *c = &m->chans[i];
		uint64_t v = 0;

		r = read_u64_at(m->sysfs, c->rel, &v);
		if (r >= 0 && c->kind != HWMON_ENERGY && v > POWER_MAX_UW)
			r = -ERANGE;
		if (r < 0) {
			bad |= c->zone < 0 ? 1u << 31 : ZONE_BIT(c->zone);
			if (!first_err || (r == -EACCES && first_err != -EACCES))
				first_err = chan_fail(m, c, r, v, err, errsz);
			continue;
		}
		if (c->kind == HWMON_ENERGY)
			c->last = v;
	}
	for (size_t i = 0; i < m->n; i++) {
		struct hwmon_chan *c = &m->chans[i];
		uint32_t bit = c->zone < 0 ? 1u << 31 : ZONE_BIT(c->zone);

		if (bad & bit)
			continue;
		if (c->zone < 0)
			platform = true;
		else
			zones |= bit;
		m->chans[k++] = *c;
	}
	m->n = k;
	if (m->n == 0) {
		r = first_err;
		goto fail;
	}
	m->base.zones = zones;
	m->base.has_platform = platform;
	*ret = &m->base;
	return 0;
fail:
	hwmon_close(&m->base);
	return r;
}

static int hwmon_open(struct power_meter **ret, const struct kepler_config *cfg, char *err,
		      size_t errsz)
{
	return open_common(ret, cfg, false, err, errsz);
}

static int acpi_open(struct power_meter **ret, const struct kepler_config *cfg, char *err,
		     size_t errsz)
{
	return open_common(ret, cfg, true, err, errsz);
}

static int hwmon_read(struct power_meter *pm, const struct meter_input *in,
		      struct energy_reading *out, char *err, size_t errsz)
{
	struct hwmon_meter *m = power_meter_container(pm, struct hwmon_meter);
	uint32_t bad = 0;
	bool platform_bad = false;
	int first_err = 0;

	*out =
	    (struct energy_reading){.zones = m->base.zones, .has_platform = m->base.has_platform};
	for (size_t i = 0; i < m->n; i++) {
		struct hwmon_chan *c = &m->chans[i];
		uint64_t v = 0;
		int r;
		bool got;

		r = read_u64_at(m->sysfs, c->rel, &v);
		got = r >= 0;
		if (got) {
			if (c->kind == HWMON_ENERGY) {
				/* 64-bit counters: a decrease is a fault, never a wrap. */
				if (v < c->last)
					r = -ERANGE;
				else
					c->cum += v - c->last;
			} else {
				/* A failed read leaves the integrator at its last good sample. */
				r = power_integrator_add(&c->it, v, in->now_ns);
			}
		}
		if (r < 0) {
			if (c->zone < 0)
				platform_bad = true;
			else
				bad |= ZONE_BIT(c->zone);
			if (!first_err)
				first_err = chan_fail(m, c, r, v, err, errsz);
		}
		/* After a decrease, count from the new value on. */
		if (got && c->kind == HWMON_ENERGY)
			c->last = v;
		if (c->zone < 0)
			out->platform_uj +=
			    c->kind == HWMON_ENERGY ? c->cum : power_integrator_uj(&c->it);
		else
			out->zone_uj[c->zone] +=
			    c->kind == HWMON_ENERGY ? c->cum : power_integrator_uj(&c->it);
	}
	out->valid = m->base.zones & ~bad;
	out->platform_valid = m->base.has_platform && !platform_bad;
	return out->valid || out->platform_valid ? 0 : first_err;
}

const struct power_meter_ops hwmon_meter_ops = {
    .name = "hwmon",
    .open = hwmon_open,
    .read = hwmon_read,
    .close = hwmon_close,
};

const struct power_meter_ops acpi_meter_ops = {
    .name = "acpi",
    .open = acpi_open,
    .read = hwmon_read,
    .close = hwmon_close,
};
