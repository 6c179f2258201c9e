// SPDX-License-Identifier: GPL-2.0
/*
 * lsck control: the /dev/lsck command language and /proc/lsck.
 *
 * One write() is one command, or a batch: "batch\n" followed by command
 * lines.  Every line is parsed before anything changes; a malformed line
 * fails the whole write with -EINVAL and a batch that would exceed
 * max_rules fails with -ENOSPC, leaving the published rule set untouched.
 *
 *   add ADDR[/LEN] [ttl SECONDS] [allow]
 *   del ADDR[/LEN] [allow]
 *   flush
 */

#include <linux/capability.h>
#include <linux/fs.h>
#include <linux/inet.h>
#include <linux/jiffies.h>
#include <linux/kernel.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/proc_fs.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/socket.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "lsck.h"

#define LSCK_MAX_WRITE (8U << 20)
#define LSCK_MAX_TTL (10U * 365 * 24 * 3600)

enum lsck_op_type { LSCK_ADD, LSCK_DEL, LSCK_FLUSH };

struct lsck_op {
	enum lsck_op_type type;
	u8 family;
	u8 prefixlen;
	u8 kind;
	struct in6_addr addr;
	u32 ttl;
};

static struct proc_dir_entry *lsck_proc_dir;

/* Zero means the host bits of @addr beyond @plen are clear. */
static int check_host_bits(const struct in6_addr *addr, u8 family, u8 plen)
{
	const u8 *bytes = (const u8 *)addr;
	u32 len = family == AF_INET ? 4 : 16;
	u32 bit;

	for (bit = plen; bit < len * 8; bit++)
		if (bytes[bit / 8] & (0x80 >> (bit % 8)))
			return -EINVAL;
	return 0;
}

static int parse_prefix(char *word, struct lsck_op *op)
{
	char *slash = strchr(word, '/');
	const char *end;
	u8 max;

	if (slash)
		*slash = '\0';
	memset(&op->addr, 0, sizeof(op->addr));
	if (in4_pton(word, -1, (u8 *)&op->addr, '\0', &end)) {
		op->family = AF_INET;
		max = 32;
	} else if (in6_pton(word, -1, (u8 *)&op->addr, '\0', &end)) {
		op->family = AF_INET6;
		max = 128;
	} else {
		return -EINVAL;
	}
	op->prefixlen = max;
	if (slash && (kstrtou8(slash + 1, 10, &op->prefixlen) || op->prefixlen > max))
		return -EINVAL;
	return check_host_bits(&op->addr, op->family, op->prefixlen);
}

static int parse_line(char *line, struct lsck_op *op)
{
	char *words[6];
	int n = 0, i;
	char *word;

	while ((word = strsep(&line, " \t")) != NULL) {
		if (!*word)
			continue;
		if (n == ARRAY_SIZE(words))
			return -EINVAL;
		words[n++] = word;
	}
	memset(op, 0, sizeof(*op));
	if (n == 1 && !strcmp(words[0], "flush")) {
		op->type = LSCK_FLUSH;
		return 0;
	}
	if (n < 2)
		return -EINVAL;
	if (!strcmp(words[0], "add"))
		op->type = LSCK_ADD;
	else if (!strcmp(words[0], "del"))
		op->type = LSCK_DEL;
	else
		return -EINVAL;
	if (parse_prefix(words[1], op))
		return -EINVAL;
	for (i = 2; i < n; i++) {
		if (!strcmp(words[i], "allow")) {
			op->kind = LSCK_KIND_ALLOW;
		} else if (!strcmp(words[i], "ttl") && op->type == LSCK_ADD && i + 1 < n) {
			if (kstrtou32(words[++i], 10, &op->ttl))
				return -EINVAL;
			if (!op->ttl || op->ttl > LSCK_MAX_TTL)
				return -EINVAL;
		} else {
			return -EINVAL;
		}
	}
	return 0;
}

static int find_rule(struct lsck_rule **rules, u32 count, const struct lsck_rule *key)
{
	u32 i;

	for (i = 0; i < count; i++)
		if (lsck_rule_same(rules[i], key))
			return i;
	return -1;
}

/*
 * Apply @ops to a private copy of the current rules, then publish the result.
 * Called with lsck_lock held; on any error the published set is unchanged.
 */
static int apply_ops(const struct lsck_op *ops, u32 nops)
{
	struct lsck_set *cur = rcu_dereference_protected(lsck_current, lockdep_is_held(&lsck_lock));
	u32 cap = cur->count + nops, count = 0, i, j;
	struct lsck_rule **work;
	u64 now = get_jiffies_64();
	int err = 0;

	work = kvcalloc(cap ? cap : 1, sizeof(*work), GFP_KERNEL);
	if (!work)
		return -ENOMEM;
	for (i = 0; i < cur->count; i++) {
		refcount_inc(&cur->rules[i]->ref);
		work[count++] = cur->rules[i];
	}
	for (i = 0; i < nops && !err; i++) {
		const struct lsck_op *op = &ops[i];
		struct lsck_rule *rule;
		int at;

		if (op->type == LSCK_FLUSH) {
			for (j = 0; j < count; j++)
				lsck_rule_put(work[j]);
			count = 0;
			continue;
		}
		rule = lsck_rule_new(op->family, &op->addr, op->prefixlen, op->kind,
				     op->ttl ? now + (u64)op->ttl * HZ : 0);
		if (!rule) {
			err = -ENOMEM;
			break;
		}
		at = find_rule(work, count, rule);
		if (op->type == LSCK_DEL) {
			lsck_rule_put(rule);
			if (at < 0) {
				err = -ENOENT;
				break;
			}
			lsck_rule_put(work[at]);
			work[at] = work[--count];
		} else if (at >= 0) {
			lsck_rule_put(work[at]);	/* re-adding refreshes the ttl */
			work[at] = rule;
		} else {
			work[count++] = rule;
		}
	}
	if (!err && count > lsck_max_rules)
		err = -ENOSPC;
	if (!err)
		err = lsck_set_replace(work, count);
	for (j = 0; j < count; j++)
		lsck_rule_put(work[j]);
	kvfree(work);
	return err;
}

int lsck_apply_text(char *text, size_t len)
{
	struct lsck_op *ops;
	u32 nops = 0, lines = 1;
	char *cursor = text, *line;
	bool batch = false;
	size_t i;
	int err = 0;

	for (i = 0; i < len; i++)
		if (text[i] == '\n')
			lines++;
	ops = kvcalloc(lines, sizeof(*ops), GFP_KERNEL);
	if (!ops)
		return -ENOMEM;
	if (!strncmp(text, "batch\n", 6)) {
		batch = true;
		cursor = text + 6;
	}
	while ((line = strsep(&cursor, "\n")) != NULL) {
		if (!*line)
			continue;
		if (nops == 1 && !batch) {
			err = -EINVAL;	/* several commands need "batch" */
			break;
		}
		err = parse_line(line, &ops[nops]);
		if (err)
			break;
		nops++;
	}
	if (!err && !nops && !batch)
		err = -EINVAL;
	if (!err) {
		mutex_lock(&lsck_lock);
		err = apply_ops(ops, nops);
		mutex_unlock(&lsck_lock);
	}
	kvfree(ops);
	return err;
}

static ssize_t lsck_write(struct file *file, const char __user *buf, size_t len, loff_t *ppos)
{
	char *text;
	int err;

	if (!capable(CAP_NET_ADMIN))
		return -EPERM;
	if (!len)
		return 0;
	if (len > LSCK_MAX_WRITE)
		return -E2BIG;
	text = kvmalloc(len + 1, GFP_KERNEL);
	if (!text)
		return -ENOMEM;
	if (copy_from_user(text, buf, len)) {
		kvfree(text);
		return -EFAULT;
	}
	text[len] = '\0';
	if (strlen(text) != len)
		err = -EINVAL;	/* embedded NUL */
	else
		err = lsck_apply_text(text, len);
	kvfree(text);
	return err ? err : len;
}

static const struct file_operations lsck_dev_fops = {
	.owner = THIS_MODULE,
	.write = lsck_write,
	.llseek = noop_llseek,
};

static struct miscdevice lsck_dev = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "lsck",
	.fops = &lsck_dev_fops,
	.mode = 0600,
};

static int rules_show(struct seq_file *m, void *v)
{
	const struct lsck_set *set;
	u64 now = get_jiffies_64();
	u32 i;

	rcu_read_lock();
	set = rcu_dereference(lsck_current);
	for (i = 0; i < set->count; i++) {
		const struct lsck_rule *rule = set->rules[i];
		u64 packets = 0, bytes = 0;
		int cpu;

		if (!lsck_rule_live(rule, now))
			continue;
		for_each_possible_cpu(cpu) {
			const struct lsck_counter *c = per_cpu_ptr(rule->cnt, cpu);

			packets += READ_ONCE(c->packets);
			bytes += READ_ONCE(c->bytes);
		}
		if (rule->family == AF_INET)
			seq_printf(m, "%pI4", &rule->addr);
		else
			seq_printf(m, "%pI6c", &rule->addr);
		if (rule->prefixlen != (rule->family == AF_INET ? 32 : 128))
			seq_printf(m, "/%u", rule->prefixlen);
		seq_printf(m, " type %s hits %llu bytes %llu expires ",
			   rule->kind == LSCK_KIND_ALLOW ? "allow" : "block", packets, bytes);
		if (rule->expires)
			seq_printf(m, "%llu\n", div_u64(rule->expires - now, HZ));
		else
			seq_puts(m, "never\n");
	}
	rcu_read_unlock();
	return 0;
}

static int stats_show(struct seq_file *m, void *v)
{
	struct lsck_stats sum = {};
	const struct lsck_set *set;
	u32 rules;
	int cpu;

	for_each_possible_cpu(cpu) {
		const struct lsck_stats *s = per_cpu_ptr(lsck_stats, cpu);

		sum.dropped[0] += READ_ONCE(s->dropped[0]);
		sum.dropped[1] += READ_ONCE(s->dropped[1]);
		sum.dropped_bytes[0] += READ_ONCE(s->dropped_bytes[0]);
		sum.dropped_bytes[1] += READ_ONCE(s->dropped_bytes[1]);
		sum.allowed += READ_ONCE(s->allowed);
	}
	rcu_read_lock();
	set = rcu_dereference(lsck_current);
	rules = set->count;
	rcu_read_unlock();
	seq_printf(m, "rules %u\nmax_rules %u\n", rules, lsck_max_rules);
	seq_printf(m, "dropped_ipv4 %llu\ndropped_ipv6 %llu\n", sum.dropped[0], sum.dropped[1]);
	seq_printf(m, "dropped_bytes_ipv4 %llu\ndropped_bytes_ipv6 %llu\n",
		   sum.dropped_bytes[0], sum.dropped_bytes[1]);
	seq_printf(m, "allowed %llu\n", sum.allowed);
	return 0;
}

int lsck_ctl_init(void)
{
	int err;

	lsck_proc_dir = proc_mkdir("lsck", NULL);
	if (!lsck_proc_dir)
		return -ENOMEM;
	if (!proc_create_single("rules", 0400, lsck_proc_dir, rules_show) ||
	    !proc_create_single("stats", 0444, lsck_proc_dir, stats_show)) {
		proc_remove(lsck_proc_dir);
		return -ENOMEM;
	}
	err = misc_register(&lsck_dev);
	if (err)
		proc_remove(lsck_proc_dir);
	return err;
}

void lsck_ctl_exit(void)
{
	misc_deregister(&lsck_dev);
	proc_remove(lsck_proc_dir);
}
