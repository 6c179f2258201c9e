/* SPDX-License-Identifier: GPL-2.0 */
/*
 * lsck: source-address blocklists enforced in netfilter.
 *
 * Rules live in an immutable rule set published with RCU.  Writers (the
 * control device and the expiry worker) serialise on lsck_lock, build a new
 * set and swap it in, so a batch is applied all or none and readers in the
 * packet path never take a lock.
 */
#ifndef LSCK_H
#define LSCK_H

#include <linux/types.h>
#include <linux/in6.h>
#include <linux/mutex.h>
#include <linux/percpu.h>
#include <linux/refcount.h>
#include <linux/rcupdate.h>

#define LSCK_KIND_BLOCK 0
#define LSCK_KIND_ALLOW 1
#define LSCK_KINDS 2

struct lsck_counter {
	u64 packets;
	u64 bytes;
};

struct lsck_rule {
	u8 family;			/* AF_INET or AF_INET6 */
	u8 prefixlen;
	u8 kind;			/* LSCK_KIND_BLOCK or LSCK_KIND_ALLOW */
	struct in6_addr addr;		/* IPv4 in the first 4 bytes */
	u64 expires;			/* jiffies64, 0 = never */
	struct lsck_counter __percpu *cnt;
	refcount_t ref;
};

struct lsck_trie_node {
	u32 child[2];			/* node index + 1, 0 = none */
	u32 rule;			/* rule index + 1, 0 = none */
};

struct lsck_index {
	u32 hcap;			/* power of two, 0 when empty */
	u32 *hslots;			/* rule index + 1, 0 = empty */
	u32 root[2];			/* trie roots for IPv4 and IPv6 (node index + 1) */
};

struct lsck_set {
	u32 count;
	struct lsck_rule **rules;
	struct lsck_index idx[LSCK_KINDS];
	struct lsck_trie_node *nodes;
	u32 nnodes;
};

struct lsck_stats {
	u64 dropped[2];			/* [0] IPv4, [1] IPv6 */
	u64 dropped_bytes[2];
	u64 allowed;
};

extern struct lsck_set __rcu *lsck_current;
extern struct mutex lsck_lock;
extern struct lsck_stats __percpu *lsck_stats;
extern unsigned int lsck_max_rules;

struct lsck_rule *lsck_rule_new(u8 family, const struct in6_addr *addr, u8 prefixlen,
				u8 kind, u64 expires);
void lsck_rule_put(struct lsck_rule *rule);
bool lsck_rule_same(const struct lsck_rule *a, const struct lsck_rule *b);
bool lsck_rule_live(const struct lsck_rule *rule, u64 now);

struct lsck_set *lsck_set_build(struct lsck_rule **rules, u32 count);
void lsck_set_free(struct lsck_set *set);
struct lsck_rule *lsck_set_lookup(const struct lsck_set *set, u8 kind, u8 family,
				  const void *addr, u64 now);
int lsck_set_replace(struct lsck_rule **rules, u32 count);

int lsck_ctl_init(void);
void lsck_ctl_exit(void);
int lsck_apply_text(char *text, size_t len);

#endif /* LSCK_H */
