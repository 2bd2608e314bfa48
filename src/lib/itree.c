// SPDX-License-Identifier: MIT
/*
 * Interval tree: a red-black tree keyed on start, augmented with the largest
 * `last` of each subtree (see itree.h for the invariants).
 *
 * Maintaining the augmentation: a rotation keeps the set of nodes under the
 * rotated position, so the node that moves up inherits the old subtree_last
 * and only the node that moves down is recomputed from its children. An
 * insertion or removal changes the node sets along exactly one path; that
 * path is recomputed bottom-up before the colour fix-up, whose rotations
 * then keep it correct locally.
 *
 * NULL children count as black leaves. Removal tracks (x, x_parent) because
 * x, the node that replaced the unlinked one, may be NULL.
 */
#include "itree.h"

enum { ITREE_RED = 0, ITREE_BLACK = 1 };

static inline bool is_red(const struct itree_node *n)
{
	return n && n->color == ITREE_RED;
}

static inline uint64_t sub_last(const struct itree_node *n)
{
	return n->subtree_last;
}

static uint64_t compute_last(const struct itree_node *n)
{
	uint64_t m = n->last;

	if (n->left && sub_last(n->left) > m)
		m = sub_last(n->left);
	if (n->right && sub_last(n->right) > m)
		m = sub_last(n->right);
	return m;
}

/* Recompute subtree_last from @n up to the root. */
static void propagate(struct itree_node *n)
{
	for (; n; n = n->parent)
		n->subtree_last = compute_last(n);
}

static void replace_child(struct itree_root *root, struct itree_node *parent,
			  struct itree_node *old, struct itree_node *new)
{
	if (!parent)
		root->root = new;
	else if (parent->left == old)
		parent->left = new;
	else
		parent->right = new;
}

/* x's right child y takes x's place; x becomes y's left child. */
static void rotate_left(struct itree_root *root, struct itree_node *x)
{
	struct itree_node *y = x->right;

	x->right = y->left;
	if (y->left)
		y->left->parent = x;
	y->parent = x->parent;
	replace_child(root, x->parent, x, y);
	y->left = x;
	x->parent = y;
	y->subtree_last = x->subtree_last;
	x->subtree_last = compute_last(x);
}

static void rotate_right(struct itree_root *root, struct itree_node *x)
{
	struct itree_node *y = x->left;

	x->left = y->right;
	if (y->right)
		y->right->parent = x;
	y->parent = x->parent;
	replace_child(root, x->parent, x, y);
	y->right = x;
	x->parent = y;
	y->subtree_last = x->subtree_last;
	x->subtree_last = compute_last(x);
}

void itree_init(struct itree_root *root)
{
	root->root = NULL;
}

bool itree_empty(const struct itree_root *root)
{
	return root->root == NULL;
}

void itree_insert(struct itree_root *root, struct itree_node *node)
{
	struct itree_node *parent = NULL, **link = &root->root;

	/* Descend by start; the new node's last only raises subtree maxima on the way. */
	while (*link) {
		parent = *link;
		if (parent->subtree_last < node->last)
			parent->subtree_last = node->last;
		link = node->start < parent->start ? &parent->left : &parent->right;
	}
	node->parent = parent;
	node->left = node->right = NULL;
	node->subtree_last = node->last;
	node->color = ITREE_RED;
	*link = node;

	/* Colour fix-up: only a red node with a red parent needs work. */
	struct itree_node *n = node;

	while (is_red(n->parent)) {
		struct itree_node *p = n->parent, *g = p->parent;
		/* p is red, so it is not the root and g exists. */
		if (p == g->left) {
			struct itree_node *u = g->right;

			if (is_red(u)) {
				p->color = u->color = ITREE_BLACK;
				g->color = ITREE_RED;
				n = g;
				continue;
			}
			if (n == p->right) {
				rotate_left(root, p);
				n = p;
				p = n->parent;
			}
			p->color = ITREE_BLACK;
			g->color = ITREE_RED;
			rotate_right(root, g);
		} else {
			struct itree_node *u = g->left;

			if (is_red(u)) {
				p->color = u->color = ITREE_BLACK;
				g->color = ITREE_RED;
				n = g;
				continue;
			}
			if (n == p->left) {
				rotate_right(root, p);
				n = p;
				p = n->parent;
			}
			p->color = ITREE_BLACK;
			g->color = ITREE_RED;
			rotate_left(root, g);
		}
	}
	root->root->color = ITREE_BLACK;
}

static void erase_fixup(struct itree_root *root, struct itree_node *x, struct itree_node *xp)
{
	/* x carries an extra black; push it up or resolve it with rotations. */
	while (x != root->root && !is_red(x)) {
		if (x == xp->left) {
			struct itree_node *w = xp->right; /* exists: x's side is short one black */

			if (is_red(w)) {
				w->color = ITREE_BLACK;
				xp->color = ITREE_RED;
				rotate_left(root, xp);
				w = xp->right;
			}
			if (!is_red(w->left) && !is_red(w->right)) {
				w->color = ITREE_RED;
				x = xp;
				xp = x->parent;
				continue;
			}
			if (!is_red(w->right)) {
				w->left->color = ITREE_BLACK;
				w->color = ITREE_RED;
				rotate_right(root, w);
				w = xp->right;
			}
			w->color = xp->color;
			xp->color = ITREE_BLACK;
			w->right->color = ITREE_BLACK;
			rotate_left(root, xp);
			x = root->root;
			break;
		} else {
			struct itree_node *w = xp->left;

			if (is_red(w)) {
				w->color = ITREE_BLACK;
				xp->color = ITREE_RED;
				rotate_right(root, xp);
				w = xp->left;
			}
			if (!is_red(w->left) && !is_red(w->right)) {
				w->color = ITREE_RED;
				x = xp;
				xp = x->parent;
				continue;
			}
			if (!is_red(w->left)) {
				w->right->color = ITREE_BLACK;
				w->color = ITREE_RED;
				rotate_left(root, w);
				w = xp->left;
			}
			w->color = xp->color;
			xp->color = ITREE_BLACK;
			w->left->color = ITREE_BLACK;
			rotate_right(root, xp);
			x = root->root;
			break;
		}
	}
	if (x)
		x->color = ITREE_BLACK;
}

void itree_remove(struct itree_root *root, struct itree_node *z)
{
	struct itree_node *x, *xp;
	int removed_color;

	if (!z->left || !z->right) {
		/* z has at most one child: splice it out directly. */
		x = z->left ? z->left : z->right;
		xp = z->parent;
		removed_color = z->color;
		if (x)
			x->parent = xp;
		replace_child(root, xp, z, x);
	} else {
		/* Two children: the in-order successor y takes z's place and colour. */
		struct itree_node *y = z->right;

		while (y->left)
			y = y->left;
		removed_color = y->color;
		x = y->right;
		if (y->parent == z) {
			xp = y;
		} else {
			xp = y->parent;
			xp->left = x;
			if (x)
				x->parent = xp;
			y->right = z->right;
			z->right->parent = y;
		}
		y->left = z->left;
		z->left->parent = y;
		y->parent = z->parent;
		replace_child(root, z->parent, z, y);
		y->color = z->color;
	}
	/* Every node whose subtree lost z lies on the path from xp to the root. */
	propagate(xp);
	if (removed_color == ITREE_BLACK)
		erase_fixup(root, x, xp);
	z->parent = z->left = z->right = NULL;
}

/*
 * Leftmost node of the subtree at @n overlapping [start, last], or NULL.
 * Precondition of each step: n's subtree may hold an overlap, i.e.
 * n->subtree_last >= start.
 */
static struct itree_node *subtree_first(struct itree_node *n, uint64_t start, uint64_t last)
{
	while (n) {
		if (n->left && sub_last(n->left) >= start) {
			/* Something on the left reaches start, and all of it starts <= n->start. */
			n = n->left;
			continue;
		}
		if (n->start > last)
			return NULL; /* n and its right subtree all start after the query */
		if (n->last >= start)
			return n;
		if (n->right && sub_last(n->right) >= start)
			n = n->right;
		else
			return NULL;
	}
	return NULL;
}

struct itree_node *itree_iter_first(struct itree_root *root, uint64_t start, uint64_t last)
{
	struct itree_node *n = root->root;

	if (!n || sub_last(n) < start)
		return NULL;
	return subtree_first(n, start, last);
}

struct itree_node *itree_iter_next(struct itree_node *node, uint64_t start, uint64_t last)
{
	struct itree_node *n = node;

	/*
	 * Everything in n's left subtree and n itself were visited already. Look
	 * in the right subtree, then climb to the first ancestor reached from
	 * its left side (the in-order successor) and repeat from there.
	 */
	for (;;) {
		if (n->right && sub_last(n->right) >= start) {
			struct itree_node *r = subtree_first(n->right, start, last);

			if (r)
				return r;
			/*
			 * subtree_first returns NULL either because nothing overlaps
			 * or because everything left starts after last; in both
			 * cases climbing further only finds larger starts, but an
			 * ancestor's start may still be <= last, so keep going only
			 * when the right subtree was not cut off by start > last.
			 */
		}
		struct itree_node *p = n->parent;

		while (p && p->right == n) {
			n = p;
			p = p->parent;
		}
		if (!p)
			return NULL;
		n = p; /* the in-order successor of everything visited */
		if (n->start > last)
			return NULL;
		if (n->last >= start)
			return n;
	}
}

struct itree_node *itree_first(const struct itree_root *root)
{
	struct itree_node *n = root->root;

	if (!n)
		return NULL;
	while (n->left)
		n = n->left;
	return n;
}

struct itree_node *itree_next(const struct itree_node *node)
{
	const struct itree_node *n = node;

	if (n->right) {
		n = n->right;
		while (n->left)
			n = n->left;
		return (struct itree_node *)n;
	}
	while (n->parent && n->parent->right == n)
		n = n->parent;
	return n->parent;
}

/* Returns the black height of the subtree, or -1 on a broken invariant. */
static long check_sub(const struct itree_node *n, const struct itree_node *parent, long *count)
{
	long lh, rh;

	if (!n)
		return 1;
	if (n->parent != parent || n->start > n->last)
		return -1;
	if (n->subtree_last != compute_last(n))
		return -1;
	if (n->left && n->left->start > n->start)
		return -1;
	if (n->right && n->right->start < n->start)
		return -1;
	if (is_red(n) && (is_red(n->left) || is_red(n->right)))
		return -1;
	if (n->color != ITREE_RED && n->color != ITREE_BLACK)
		return -1;
	lh = check_sub(n->left, n, count);
	rh = check_sub(n->right, n, count);
	if (lh < 0 || rh < 0 || lh != rh)
		return -1;
	(*count)++;
	return lh + (n->color == ITREE_BLACK);
}

long itree_check(const struct itree_root *root)
{
	long count = 0;
	const struct itree_node *n, *prev = NULL;

	if (is_red(root->root))
		return -1;
	if (check_sub(root->root, NULL, &count) < 0)
		return -1;
	/* Whole-tree order (the local checks above do not cover it). */
	for (n = itree_first(root); n; n = itree_next(n)) {
		if (prev && prev->start > n->start)
			return -1;
		prev = n;
	}
	return count;
}

/*
 * Spans. s->next is the first address of [first, last_index] not reported
 * yet; s->at_end says the span just reported ended at last_index, so the
 * next step finishes (this is what avoids last_index + 1).
 */
static void span_step(struct itree_span *s)
{
	uint64_t pos = s->next, end;
	struct itree_node *n;

	n = itree_iter_first(s->root, pos, s->last_index);
	if (!n) {
		s->is_hole = true;
		s->start_hole = pos;
		s->last_hole = s->last_index;
		s->at_end = true;
		return;
	}
	if (n->start > pos) {
		s->is_hole = true;
		s->start_hole = pos;
		s->last_hole = n->start - 1; /* n->start > pos >= 0: no wrap */
		s->next = n->start;
		return;
	}
	/*
	 * pos is covered. Walk overlapping nodes in start order and extend the
	 * run while the next one starts at or before end + 1 (touching joins).
	 * Stop once end passes last_index: nothing beyond is reported.
	 */
	end = n->last;
	while (end < s->last_index) {
		n = itree_iter_next(n, pos, UINT64_MAX);
		if (!n || n->start > end + 1) /* end < last_index <= UINT64_MAX: no wrap */
			break;
		if (n->last > end)
			end = n->last;
	}
	s->is_hole = false;
	s->start_used = pos;
	if (end >= s->last_index) {
		s->last_used = s->last_index;
		s->at_end = true;
	} else {
		s->last_used = end;
		s->next = end + 1;
	}
}

void itree_span_first(struct itree_span *s, struct itree_root *root, uint64_t first, uint64_t last)
{
	s->root = root;
	s->next = first;
	s->last_index = last;
	s->at_end = false;
	s->done = first > last;
	s->start_hole = s->last_hole = s->start_used = s->last_used = 0;
	s->is_hole = false;
	if (!s->done)
		span_step(s);
}

void itree_span_next(struct itree_span *s)
{
	if (s->done)
		return;
	if (s->at_end) {
		s->done = true;
		return;
	}
	span_step(s);
}

bool itree_span_done(const struct itree_span *s)
{
	return s->done;
}
