// SPDX-License-Identifier: GPL-2.0
/*
 * lsck rule sets: exact addresses in an open-addressing hash table, prefixes
 * in a binary trie searched for the longest match.  A set is immutable once
 * built; changing rules means building a new set and publishing it.
 */

#include <linux/jhash.h>
#include <linux/log2.h>
#include <linux/slab.h>
#include <linux/socket.h>
#include <linux/string.h>
#include <linux/jiffies.h>
#include <linux/mm.h>

#include "lsck.h"

struct lsck_set __rcu *lsck_current;
/* Serialises writers: the control device and the expiry worker. */
DEFINE_MUTEX(lsck_lock);

static u32 addr_len(u8 family)
{
	return family == AF_INET ? 4 : 16;
}

static u32 full_len(u8 family)
{
	return family == AF_INET ? 32 : 128;
}

struct lsck_rule *lsck_rule_new(u8 family, const struct in6_addr *addr, u8 prefixlen,
				u8 kind, u64 expires)
{
	struct lsck_rule *rule = kzalloc(sizeof(*rule), GFP_KERNEL);

	if (!rule)
		return NULL;
	rule->cnt = alloc_percpu(struct lsck_counter);
	if (!rule->cnt) {
		kfree(rule);
		return NULL;
	}
	rule->family = family;
	rule->prefixlen = prefixlen;
	rule->kind = kind;
	memcpy(&rule->addr, addr, addr_len(family));
	rule->expires = expires;
	refcount_set(&rule->ref, 1);
	return rule;
}

void lsck_rule_put(struct lsck_rule *rule)
{
	if (rule && refcount_dec_and_test(&rule->ref)) {
		free_percpu(rule->cnt);
		kfree(rule);
	}
}

bool lsck_rule_same(const struct lsck_rule *a, const struct lsck_rule *b)
{
	return a->family == b->family && a->prefixlen == b->prefixlen && a->kind == b->kind &&
	       !memcmp(&a->addr, &b->addr, addr_len(a->family));
}

bool lsck_rule_live(const struct lsck_rule *rule, u64 now)
{
	return !rule->expires || time_before64(now, rule->expires);
}

static u32 hash_addr(u8 family, const void *addr)
{
	return jhash(addr, addr_len(family), family);
}

static bool addr_bit(const void *addr, u32 bit)
{
	const u8 *bytes = addr;

	return bytes[bit / 8] & (0x80 >> (bit % 8));
}

void lsck_set_free(struct lsck_set *set)
{
	u32 i;
	int k;

	if (!set)
		return;
	for (i = 0; i < set->count; i++)
		lsck_rule_put(set->rules[i]);
	for (k = 0; k < LSCK_KINDS; k++)
		kvfree(set->idx[k].hslots);
	kvfree(set->nodes);
	kvfree(set->rules);
	kfree(set);
}

/* Insert rule @ri into the trie of its kind and family. */
static void trie_insert(struct lsck_set *set, u32 ri)
{
	const struct lsck_rule *rule = set->rules[ri];
	u32 *slot = &set->idx[rule->kind].root[rule->family == AF_INET6];
	u32 bit;

	for (bit = 0;; bit++) {
		if (!*slot) {
			set->nodes[set->nnodes].child[0] = 0;
			set->nodes[set->nnodes].child[1] = 0;
			set->nodes[set->nnodes].rule = 0;
			*slot = ++set->nnodes;
		}
		if (bit == rule->prefixlen) {
			set->nodes[*slot - 1].rule = ri + 1;
			return;
		}
		slot = &set->nodes[*slot - 1].child[addr_bit(&rule->addr, bit)];
	}
}

struct lsck_set *lsck_set_build(struct lsck_rule **rules, u32 count)
{
	struct lsck_set *set = kzalloc(sizeof(*set), GFP_KERNEL);
	u32 exact[LSCK_KINDS] = { 0, 0 };
	u64 node_bound = 0;
	u32 i;
	int k;

	if (!set)
		return NULL;
	set->count = count;
	set->rules = kvcalloc(count ? count : 1, sizeof(*set->rules), GFP_KERNEL);
	if (!set->rules)
		goto fail;
	for (i = 0; i < count; i++) {
		if (rules[i]->prefixlen == full_len(rules[i]->family))
			exact[rules[i]->kind]++;
		else
			node_bound += rules[i]->prefixlen + 1;
	}
	set->nodes = kvcalloc(node_bound ? node_bound : 1, sizeof(*set->nodes), GFP_KERNEL);
	if (!set->nodes)
		goto fail;
	for (k = 0; k < LSCK_KINDS; k++) {
		if (!exact[k])
			continue;
		set->idx[k].hcap = roundup_pow_of_two(2 * exact[k]);
		set->idx[k].hslots = kvcalloc(set->idx[k].hcap, sizeof(u32), GFP_KERNEL);
		if (!set->idx[k].hslots)
			goto fail;
	}
	for (i = 0; i < count; i++) {
		struct lsck_rule *rule = rules[i];
		struct lsck_index *idx = &set->idx[rule->kind];

		refcount_inc(&rule->ref);
		set->rules[i] = rule;
		if (rule->prefixlen == full_len(rule->family)) {
			u32 pos = hash_addr(rule->family, &rule->addr) & (idx->hcap - 1);

			while (idx->hslots[pos])
				pos = (pos + 1) & (idx->hcap - 1);
			idx->hslots[pos] = i + 1;
		} else {
			trie_insert(set, i);
		}
	}
	return set;
fail:
	set->count = 0;
	lsck_set_free(set);
	return NULL;
}

static struct lsck_rule *exact_lookup(const struct lsck_set *set, const struct lsck_index *idx,
				      u8 family, const void *addr, u64 now)
{
	u32 pos;

	if (!idx->hcap)
		return NULL;
	pos = hash_addr(family, addr) & (idx->hcap - 1);
	while (idx->hslots[pos]) {
		struct lsck_rule *rule = set->rules[idx->hslots[pos] - 1];

		if (rule->family == family && !memcmp(&rule->addr, addr, addr_len(family)))
			return lsck_rule_live(rule, now) ? rule : NULL;
		pos = (pos + 1) & (idx->hcap - 1);
	}
	return NULL;
}

/* Longest live prefix containing @addr. */
static struct lsck_rule *trie_lookup(const struct lsck_set *set, const struct lsck_index *idx,
				     u8 family, const void *addr, u64 now)
{
	u32 node = idx->root[family == AF_INET6];
	struct lsck_rule *best = NULL;
	u32 bit = 0;

	while (node) {
		const struct lsck_trie_node *n = &set->nodes[node - 1];

		if (n->rule && lsck_rule_live(set->rules[n->rule - 1], now))
			best = set->rules[n->rule - 1];
		if (bit == full_len(family))
			break;
		node = n->child[addr_bit(addr, bit)];
		bit++;
	}
	return best;
}

struct lsck_rule *lsck_set_lookup(const struct lsck_set *set, u8 kind, u8 family,
				  const void *addr, u64 now)
{
	const struct lsck_index *idx = &set->idx[kind];
	struct lsck_rule *rule = exact_lookup(set, idx, family, addr, now);

	return rule ? rule : trie_lookup(set, idx, family, addr, now);
}

/* Publish a new set built from @rules; called with lsck_lock held. */
int lsck_set_replace(struct lsck_rule **rules, u32 count)
{
	struct lsck_set *next = lsck_set_build(rules, count);
	struct lsck_set *prev;

	if (!next)
		return -ENOMEM;
	prev = rcu_replace_pointer(lsck_current, next, lockdep_is_held(&lsck_lock));
	synchronize_rcu();
	lsck_set_free(prev);
	return 0;
}
