// SPDX-License-Identifier: GPL-2.0
/*
 * lsck: drop packets whose source address is on a blocklist.
 *
 * The hooks sit in PRE_ROUTING before defragmentation and connection
 * tracking, for IPv4 and IPv6, in every network namespace (registered
 * through pernet operations, so namespaces created later get them too).
 * An allow rule matching the source wins over any block rule.
 */

#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/jiffies.h>
#include <linux/module.h>
#include <linux/netfilter.h>
#include <linux/netfilter_ipv4.h>
#include <linux/netfilter_ipv6.h>
#include <linux/skbuff.h>
#include <linux/slab.h>
#include <linux/socket.h>
#include <linux/workqueue.h>
#include <net/net_namespace.h>

#include "lsck.h"

unsigned int lsck_max_rules = 65536;
module_param_named(max_rules, lsck_max_rules, uint, 0444);
MODULE_PARM_DESC(max_rules, "maximum number of rules; adds beyond it fail with -ENOSPC");

struct lsck_stats __percpu *lsck_stats;

static void lsck_expire(struct work_struct *work);
static DECLARE_DELAYED_WORK(lsck_expire_work, lsck_expire);

static unsigned int lsck_verdict(u8 family, const void *saddr, unsigned int len)
{
	const struct lsck_set *set = rcu_dereference(lsck_current);
	u64 now = get_jiffies_64();
	struct lsck_rule *rule;
	int f = family == AF_INET6;

	if (!set->count)
		return NF_ACCEPT;
	if (lsck_set_lookup(set, LSCK_KIND_ALLOW, family, saddr, now)) {
		this_cpu_inc(lsck_stats->allowed);
		return NF_ACCEPT;
	}
	rule = lsck_set_lookup(set, LSCK_KIND_BLOCK, family, saddr, now);
	if (!rule)
		return NF_ACCEPT;
	this_cpu_inc(rule->cnt->packets);
	this_cpu_add(rule->cnt->bytes, len);
	this_cpu_inc(lsck_stats->dropped[f]);
	this_cpu_add(lsck_stats->dropped_bytes[f], len);
	return NF_DROP;
}

static unsigned int lsck_hook_ipv4(void *priv, struct sk_buff *skb,
				   const struct nf_hook_state *state)
{
	return lsck_verdict(AF_INET, &ip_hdr(skb)->saddr, skb->len);
}

static unsigned int lsck_hook_ipv6(void *priv, struct sk_buff *skb,
				   const struct nf_hook_state *state)
{
	return lsck_verdict(AF_INET6, &ipv6_hdr(skb)->saddr, skb->len);
}

static const struct nf_hook_ops lsck_hook_ops[] = {
	{
		.hook = lsck_hook_ipv4,
		.pf = NFPROTO_IPV4,
		.hooknum = NF_INET_PRE_ROUTING,
		.priority = NF_IP_PRI_RAW_BEFORE_DEFRAG,
	},
	{
		.hook = lsck_hook_ipv6,
		.pf = NFPROTO_IPV6,
		.hooknum = NF_INET_PRE_ROUTING,
		.priority = NF_IP6_PRI_RAW_BEFORE_DEFRAG,
	},
};

static int __net_init lsck_net_init(struct net *net)
{
	return nf_register_net_hooks(net, lsck_hook_ops, ARRAY_SIZE(lsck_hook_ops));
}

static void __net_exit lsck_net_exit(struct net *net)
{
	nf_unregister_net_hooks(net, lsck_hook_ops, ARRAY_SIZE(lsck_hook_ops));
}

static struct pernet_operations lsck_net_ops = {
	.init = lsck_net_init,
	.exit = lsck_net_exit,
};

/* Drop expired rules from the published set once a second. */
static void lsck_expire(struct work_struct *work)
{
	struct lsck_set *cur;
	struct lsck_rule **live;
	u64 now = get_jiffies_64();
	u32 i, count = 0;
	bool stale = false;

	mutex_lock(&lsck_lock);
	cur = rcu_dereference_protected(lsck_current, lockdep_is_held(&lsck_lock));
	for (i = 0; i < cur->count; i++)
		stale |= !lsck_rule_live(cur->rules[i], now);
	if (stale) {
		live = kvcalloc(cur->count, sizeof(*live), GFP_KERNEL);
		if (live) {
			for (i = 0; i < cur->count; i++)
				if (lsck_rule_live(cur->rules[i], now))
					live[count++] = cur->rules[i];
			/* lsck_set_build takes its own references. */
			if (lsck_set_replace(live, count))
				pr_warn("lsck: out of memory while expiring rules\n");
			kvfree(live);
		}
	}
	mutex_unlock(&lsck_lock);
	schedule_delayed_work(&lsck_expire_work, HZ);
}

static int __init lsck_init(void)
{
	struct lsck_set *empty;
	int err;

	lsck_stats = alloc_percpu(struct lsck_stats);
	if (!lsck_stats)
		return -ENOMEM;
	empty = lsck_set_build(NULL, 0);
	if (!empty) {
		err = -ENOMEM;
		goto free_stats;
	}
	RCU_INIT_POINTER(lsck_current, empty);
	err = register_pernet_subsys(&lsck_net_ops);
	if (err)
		goto free_set;
	err = lsck_ctl_init();
	if (err)
		goto unregister;
	schedule_delayed_work(&lsck_expire_work, HZ);
	pr_info("lsck: loaded, max_rules=%u\n", lsck_max_rules);
	return 0;

unregister:
	unregister_pernet_subsys(&lsck_net_ops);
free_set:
	lsck_set_free(rcu_dereference_protected(lsck_current, true));
free_stats:
	free_percpu(lsck_stats);
	return err;
}

static void __exit lsck_exit(void)
{
	lsck_ctl_exit();
	cancel_delayed_work_sync(&lsck_expire_work);
	unregister_pernet_subsys(&lsck_net_ops);
	synchronize_net();
	lsck_set_free(rcu_dereference_protected(lsck_current, true));
	free_percpu(lsck_stats);
	pr_info("lsck: unloaded\n");
}

module_init(lsck_init);
module_exit(lsck_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Source-address blocklists in netfilter, per network namespace");
MODULE_AUTHOR("internal-tools");
