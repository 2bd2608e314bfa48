/* SPDX-License-Identifier: MIT */
/*
 * Intrusive circular doubly linked list.
 *
 * A struct list_head is embedded in each element; the list itself is a
 * list_head whose next/prev point back at itself when empty. Invariant: for
 * every linked entry e, e->next->prev == e and e->prev->next == e. A deleted
 * entry has NULL pointers (list_del) or points at itself (list_del_init), so
 * a stale use faults early instead of corrupting a neighbour.
 *
 * No locking: the owner of the list serialises access.
 */
#ifndef IOMMUSIM_LIB_LIST_H
#define IOMMUSIM_LIB_LIST_H

#include <stdbool.h>
#include <stddef.h>

#include "util.h"

struct list_head {
	struct list_head *next, *prev;
};

#define LIST_HEAD_INIT(name)     \
	{                        \
		&(name), &(name) \
	}
#define LIST_HEAD(name) struct list_head name = LIST_HEAD_INIT(name)

static inline void INIT_LIST_HEAD(struct list_head *h)
{
	h->next = h;
	h->prev = h;
}

static inline void list_insert_between(struct list_head *e, struct list_head *prev,
				       struct list_head *next)
{
	next->prev = e;
	e->next = next;
	e->prev = prev;
	prev->next = e;
}

/* Insert @e right after @head (stack order). */
static inline void list_add(struct list_head *e, struct list_head *head)
{
	list_insert_between(e, head, head->next);
}

/* Insert @e right before @head (queue order). */
static inline void list_add_tail(struct list_head *e, struct list_head *head)
{
	list_insert_between(e, head->prev, head);
}

static inline void list_unlink(struct list_head *e)
{
	e->next->prev = e->prev;
	e->prev->next = e->next;
}

static inline void list_del(struct list_head *e)
{
	list_unlink(e);
	e->next = NULL;
	e->prev = NULL;
}

static inline void list_del_init(struct list_head *e)
{
	list_unlink(e);
	INIT_LIST_HEAD(e);
}

static inline void list_move(struct list_head *e, struct list_head *head)
{
	list_unlink(e);
	list_add(e, head);
}

static inline void list_move_tail(struct list_head *e, struct list_head *head)
{
	list_unlink(e);
	list_add_tail(e, head);
}

static inline bool list_empty(const struct list_head *head)
{
	return head->next == head;
}

static inline bool list_is_singular(const struct list_head *head)
{
	return !list_empty(head) && head->next == head->prev;
}

/* Move every entry of @list to the tail of @head; @list is left empty. */
static inline void list_splice_tail_init(struct list_head *list, struct list_head *head)
{
	if (list_empty(list))
		return;
	list->next->prev = head->prev;
	head->prev->next = list->next;
	list->prev->next = head;
	head->prev = list->prev;
	INIT_LIST_HEAD(list);
}

#define list_entry(ptr, type, member) container_of(ptr, type, member)
#define list_first_entry(head, type, member) list_entry((head)->next, type, member)
#define list_last_entry(head, type, member) list_entry((head)->prev, type, member)
#define list_first_entry_or_null(head, type, member) \
	(list_empty(head) ? NULL : list_first_entry(head, type, member))
#define list_next_entry(pos, member) list_entry((pos)->member.next, __typeof__(*(pos)), member)
#define list_prev_entry(pos, member) list_entry((pos)->member.prev, __typeof__(*(pos)), member)

#define list_for_each(pos, head) for (pos = (head)->next; pos != (head); pos = pos->next)

#define list_for_each_entry(pos, head, member)                                               \
	for (pos = list_first_entry(head, __typeof__(*pos), member); &pos->member != (head); \
	     pos = list_next_entry(pos, member))

#define list_for_each_entry_reverse(pos, head, member)                                      \
	for (pos = list_last_entry(head, __typeof__(*pos), member); &pos->member != (head); \
	     pos = list_prev_entry(pos, member))

/* Safe against removal of the current entry: @n caches the next one. */
#define list_for_each_entry_safe(pos, n, head, member)               \
	for (pos = list_first_entry(head, __typeof__(*pos), member), \
	    n = list_next_entry(pos, member);                        \
	     &pos->member != (head); pos = n, n = list_next_entry(n, member))

#endif /* IOMMUSIM_LIB_LIST_H */
