// SPDX-License-Identifier: Apache-2.0
/*
 * RAPL through the powercap sysfs interface: every intel-rapl:N[:M] zone (and
 * intel-rapl-mmio:N[:M] where the MSR interface lacks that zone), summed per
 * zone name across sockets, each socket's counter made wrap-safe with its
 * max_energy_range_uj. The hypervisor meter is the same code on another root:
 * the tree a VM's host writes for it (power.passthrough.path, docs/vms.md).
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "power/internal.h"
#include "util/fileio.h"
#include "util/util.h"

#define POWERCAP_DIR "class/powercap"
#define RAPL_MAX_COUNTERS 64

struct rapl_counter {
	char rel[96]; /* energy_uj, relative to host.sysfs */
	char key[80]; /* "package-0", "package-0/core": what the mmio dedup compares */
	enum rapl_iface iface;
	enum zone zone;
	uint64_t max_range;
	uint64_t last_raw;
	uint64_t last_ns; /* when last_raw was read (meter_input.now_ns); 0 at open */
	uint64_t cum;	  /* microjoules since open */
};

/*
 * More than any RAPL domain draws (a server package is a few hundred watts):
 * an increase implying more is not energy but a counter that jumped or was
 * reset, and a decrease is a wrap only when the wrapped distance fits too.
 */
#define RAPL_MAX_PLAUSIBLE_WATTS 10000ULL

static bool plausible(const struct rapl_counter *c, uint64_t d_uj, uint64_t now_ns)
{
	/* The read right after open has no time base yet; it follows open at once. */
	if (!c->last_ns)
		return true;
	if (now_ns <= c->last_ns)
		return d_uj == 0;
	return d_uj <= (now_ns - c->last_ns) / 1000 * RAPL_MAX_PLAUSIBLE_WATTS;
}

struct rapl_meter {
	struct power_meter base;
	char *sysfs;
	size_t n;
	struct rapl_counter counters[RAPL_MAX_COUNTERS];
};

int rapl_parse_dirname(const char *s, enum rapl_iface *ret_iface, int *ret_index, int *ret_sub)
{
	enum rapl_iface iface;
	unsigned long idx, sub = 0;
	bool has_sub = false;
	char *end;

	if (startswith(s, "intel-rapl-mmio:")) {
		iface = RAPL_IFACE_MMIO;
		s += strlen("intel-rapl-mmio:");
	} else if (startswith(s, "intel-rapl:")) {
		iface = RAPL_IFACE_MSR;
		s += strlen("intel-rapl:");
	} else {
		return -EINVAL;
	}
	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	idx = strtoul(s, &end, 10);
	if (errno || idx > 4096)
		return -EINVAL;
	if (*end == ':') {
		s = end + 1;
		if (!isdigit((unsigned char)*s))
			return -EINVAL;
		sub = strtoul(s, &end, 10);
		if (errno || sub > 4096)
			return -EINVAL;
		has_sub = true;
	}
	if (*end != '\0')
		return -EINVAL;
	*ret_iface = iface;
	*ret_index = (int)idx;
	*ret_sub = has_sub ? (int)sub : -1;
	return 0;
}

/* Digits at *s into *ret (<= 4096); returns the end, or NULL when there are none. */
static const char *parse_small(const char *s, int *ret)
{
	long v = 0;

	if (!isdigit((unsigned char)*s))
		return NULL;
	while (isdigit((unsigned char)*s)) {
		v = v * 10 + (*s++ - '0');
		if (v > 4096)
			return NULL;
	}
	*ret = (int)v;
	return s;
}

int rapl_parse_zone_name(const char *s, enum zone *ret_zone, int *ret_socket)
{
	const char *dash = strchr(s, '-');
	size_t len = dash ? (size_t)(dash - s) : strlen(s);
	int socket = -1, die, z;
	char base[16];

	/* name, name-N, or name-N-die-M (multi-die packages: each die is its own zone) */
	if (dash) {
		const char *p = parse_small(dash + 1, &socket);

		if (!p)
			return -EINVAL;
		if (startswith(p, "-die-")) {
			p = parse_small(p + strlen("-die-"), &die);
			if (!p)
				return -EINVAL;
		}
		if (*p != '\0')
			return -EINVAL;
	}
	if (len == 0 || len >= sizeof(base))
		return -EINVAL;
	memcpy(base, s, len);
	base[len] = '\0';
	z = zone_from_name(base);
	if (z < 0)
		return -EINVAL;
	*ret_zone = (enum zone)z;
	*ret_socket = socket;
	return 0;
}

/* The `name` of zone dir, or -errno. */
static int read_zone_name(const char *sysfs, const char *dir, char *buf, size_t size)
{
	char rel[128];

	if (snprintf(rel, sizeof(rel), POWERCAP_DIR "/%s/name", dir) >= (int)sizeof(rel))
		return -ENAMETOOLONG;
	return read_line_at(sysfs, rel, buf, size);
}

static bool key_taken(const struct rapl_meter *m, const char *key, enum rapl_iface iface)
{
	for (size_t i = 0; i < m->n; i++)
		if (m->counters[i].iface == iface && streq(m->counters[i].key, key))
			return true;
	return false;
}

/* Collect the counters of one interface, in sorted directory order. */
static int collect(struct rapl_meter *m, char **names, size_t n, enum rapl_iface want,
		   uint32_t zone_mask)
{
	for (size_t i = 0; i < n; i++) {
		char name[32], parent[32], key[80], rel[320];
		struct rapl_counter *c;
		enum rapl_iface iface;
		int idx, sub, socket, r;
		enum zone zone;

		if (rapl_parse_dirname(names[i], &iface, &idx, &sub) < 0 || iface != want)
			continue;
		snprintf(rel, sizeof(rel), POWERCAP_DIR "/%s", names[i]);
		if (!power_is_dir(m->sysfs, rel))
			continue;
		if (read_zone_name(m->sysfs, names[i], name, sizeof(name)) < 0)
			continue;
		if (rapl_parse_zone_name(name, &zone, &socket) < 0)
			continue; /* a zone kind we do not export */
		if (zone_mask && !(zone_mask & ZONE_BIT(zone)))
			continue;
		if (sub >= 0) {
			char pdir[48];

			snprintf(pdir, sizeof(pdir), "%s:%d",
				 want == RAPL_IFACE_MMIO ? "intel-rapl-mmio" : "intel-rapl", idx);
			if (read_zone_name(m->sysfs, pdir, parent, sizeof(parent)) < 0)
				snprintf(parent, sizeof(parent), "%d", idx);
			snprintf(key, sizeof(key), "%s/%s", parent, name);
		} else {
			snprintf(key, sizeof(key), "%s", name);
		}
		/* The MMIO interface duplicates MSR zones on some laptops: MSR wins. */
		if (want == RAPL_IFACE_MMIO && key_taken(m, key, RAPL_IFACE_MSR))
			continue;
		if (m->n == RAPL_MAX_COUNTERS)
			return -E2BIG;
		c = &m->counters[m->n];
		*c = (struct rapl_counter){.iface = want, .zone = zone};
		snprintf(c->key, sizeof(c->key), "%s", key);
		r = snprintf(c->rel, sizeof(c->rel), POWERCAP_DIR "/%s/energy_uj", names[i]);
		if (r < 0 || r >= (int)sizeof(c->rel))
			continue;
		snprintf(rel, sizeof(rel), POWERCAP_DIR "/%s/max_energy_range_uj", names[i]);
		/* Unreadable range: 0, so a decrease is never mistaken for a wrap. */
		if (read_u64_at(m->sysfs, rel, &c->max_range) < 0)
			c->max_range = 0;
		m->n++;
	}
	return 0;
}

/* Why counter c failed with r (raw: the value read, for -ERANGE). */
static int counter_fail(const struct rapl_meter *m, const struct rapl_counter *c, int r,
			uint64_t raw, char *err, size_t errsz)
{
	if (r == -ERANGE)
		return errf(err, errsz, r, "zone %s: %s/%s: %llu is above max_energy_range_uj %llu",
			    c->key, m->sysfs, c->rel, (unsigned long long)raw,
			    (unsigned long long)c->max_range);
	return errf(err, errsz, r, "zone %s: cannot read %s/%s: %s%s", c->key, m->sysfs, c->rel,
		    strerror(-r), r == -EACCES ? " (energy_uj is root only since Linux 5.10)" : "");
}

static void rapl_close(struct power_meter *pm)
{
	struct rapl_meter *m = power_meter_container(pm, struct rapl_meter);

	if (!m)
		return;
	free(m->sysfs);
	free(m);
}

/* Every zone under root/class/powercap (zone_mask filters; 0 all), as a meter with ops. */
static int rapl_open_at(struct power_meter **ret, const struct power_meter_ops *ops,
			const char *root, uint32_t zone_mask, char *err, size_t errsz)
{
	struct rapl_meter *m;
	_cleanup_free_ char **names = NULL;
	uint32_t bad = 0, zones = 0;
	size_t n = 0, k = 0;
	int r, first_err = 0;

	r = power_list_dir(root, POWERCAP_DIR, &names, &n);
	if (r == -ENOENT || r == -ENOTDIR)
		return errf(err, errsz, -ENODEV, "no powercap zones under %s/" POWERCAP_DIR, root);
	if (r < 0)
		return errf(err, errsz, r, "cannot list %s/" POWERCAP_DIR ": %s", root,
			    strerror(-r));
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->base.ops = ops;
	m->sysfs = strdup(root);
	if (!m->sysfs) {
		rapl_close(&m->base);
		return -ENOMEM;
	}
	r = collect(m, names, n, RAPL_IFACE_MSR, zone_mask);
	if (r >= 0)
		r = collect(m, names, n, RAPL_IFACE_MMIO, zone_mask);
	if (r < 0 || m->n == 0) {
		rapl_close(&m->base);
		if (r < 0)
			return errf(err, errsz, r, "more than %d zones under %s/" POWERCAP_DIR,
				    RAPL_MAX_COUNTERS, root);
		return errf(err, errsz, -ENODEV, "no powercap zones under %s/" POWERCAP_DIR, root);
	}
	/* Baseline every counter; a zone with any unreadable socket is not offered. */
	for (size_t i = 0; i < m->n; i++) {
		struct rapl_counter *c = &m->counters[i];

		r = read_u64_at(m->sysfs, c->rel, &c->last_raw);
		if (r >= 0 && c->max_range && c->last_raw > c->max_range)
			r = -ERANGE;
		if (r == -EPERM)
			r = -EACCES;
		if (r < 0) {
			bad |= ZONE_BIT(c->zone);
			if (!first_err || (r == -EACCES && first_err != -EACCES))
				first_err = counter_fail(m, c, r, c->last_raw, err, errsz);
		}
	}
	for (size_t i = 0; i < m->n; i++)
		if (!(bad & ZONE_BIT(m->counters[i].zone))) {
			m->counters[k++] = m->counters[i];
			zones |= ZONE_BIT(m->counters[i].zone);
		}
	m->n = k;
	if (m->n == 0) {
		rapl_close(&m->base);
		/* energy_uj is root-only since Linux 5.10: usually -EACCES. */
		return first_err;
	}
	m->base.zones = zones;
	*ret = &m->base;
	return 0;
}

static int rapl_open(struct power_meter **ret, const struct kepler_config *cfg, char *err,
		     size_t errsz)
{
	return rapl_open_at(ret, &rapl_meter_ops, cfg->host_sysfs, cfg->rapl_zones, err, errsz);
}

/* Every zone the host writes: it chose them (package, dram, psys where it has them). */
static int hypervisor_open(struct power_meter **ret, const struct kepler_config *cfg, char *err,
			   size_t errsz)
{
	if (!cfg->passthrough_path)
		return errf(err, errsz, -ENODEV, "power.passthrough.path is empty");
	return rapl_open_at(ret, &hypervisor_meter_ops, cfg->passthrough_path, 0, err, errsz);
}

static int rapl_read(struct power_meter *pm, const struct meter_input *in,
		     struct energy_reading *out, char *err, size_t errsz)
{
	struct rapl_meter *m = power_meter_container(pm, struct rapl_meter);
	uint32_t bad = 0;
	int first_err = 0;

	*out = (struct energy_reading){.zones = m->base.zones};
	for (size_t i = 0; i < m->n; i++) {
		struct rapl_counter *c = &m->counters[i];
		uint64_t raw = 0, d;
		int r;

		r = read_u64_at(m->sysfs, c->rel, &raw);
		if (r >= 0 && c->max_range && raw > c->max_range)
			r = -ERANGE; /* a glitch */
		if (r < 0) {
			/* Keep last_raw: the next good read counts the energy used meanwhile. */
			bad |= ZONE_BIT(c->zone);
			if (!first_err)
				first_err = counter_fail(m, c, r, raw, err, errsz);
			continue;
		}
		d = counter_delta(c->last_raw, raw, c->max_range);
		if ((raw < c->last_raw && d == 0) || !plausible(c, d, in->now_ns)) {
			uint64_t dt_ms =
			    in->now_ns > c->last_ns ? (in->now_ns - c->last_ns) / 1000000 : 0;

			/*
			 * A decrease that is no wrap (no known range, or a jump back), or an
			 * impossible rise: not energy. Start over from here.
			 */
			if (!first_err && raw < c->last_raw && d == 0)
				first_err =
				    errf(err, errsz, -ERANGE,
					 "zone %s: %s/%s went back from %llu to %llu", c->key,
					 m->sysfs, c->rel, (unsigned long long)c->last_raw,
					 (unsigned long long)raw);
			else if (!first_err)
				first_err = errf(
				    err, errsz, -ERANGE,
				    "zone %s: %s/%s rose by %llu uJ in %llu ms, more than %llu W",
				    c->key, m->sysfs, c->rel, (unsigned long long)d,
				    (unsigned long long)dt_ms, RAPL_MAX_PLAUSIBLE_WATTS);
			d = 0;
			bad |= ZONE_BIT(c->zone);
		}
		c->cum += d;
		c->last_raw = raw;
		c->last_ns = in->now_ns;
	}
	for (size_t i = 0; i < m->n; i++)
		out->zone_uj[m->counters[i].zone] += m->counters[i].cum;
	out->valid = m->base.zones & ~bad;
	return out->valid ? 0 : first_err;
}

const struct power_meter_ops rapl_meter_ops = {
    .name = "rapl",
    .open = rapl_open,
    .read = rapl_read,
    .close = rapl_close,
};

const struct power_meter_ops hypervisor_meter_ops = {
    .name = "hypervisor",
    .open = hypervisor_open,
    .read = rapl_read,
    .close = rapl_close,
};
