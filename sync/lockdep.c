/*
 * sync/lockdep.c: lock-order inversion detection (ak_lockdep(3)).
 *
 * The graph: a node per (class, subclass); an edge A -> B the first time
 * some task acquires B while it holds A on its own branch path (a held
 * lock of a sibling branch is no order: that branch may still release
 * it).  Before adding an edge A -> B, a search from B for A: found, the
 * new order closes a cycle, reported once (the edge is added after, so
 * the same order never reports again).  A second lock of a held class and
 * subclass is reported once per class, unless it is the read of a RwLock
 * the task already reads.
 *
 * All state lives in one arena, allocated at the first use while on and
 * freed by ak_lockdep_reset(); fixed tables, as Linux's lockdep: when one
 * fills up, lockdep says so once on stderr and turns itself off.  A lock
 * caches its class index with the arena's generation, a task slot its
 * held record with it too: a reset moves the generation on, so neither
 * is ever followed into a freed arena.  Everything runs under one lock;
 * the handler is called after it is released.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lockdep.h"
#include "lockdiag.h"

#define NSUB AK_LOCKDEP_SUBCLASSES
#define NCLASS 1024
#define NNODE (NCLASS * NSUB)
#define NEDGE 8192
#define NHELD 4096
#define NTASK 1024
#define CHASH 2048                   /* powers of two */
#define EHASH 16384

/* ak_block_on's waker (core/block_on.c): its polls are the thread's own. */
extern const struct ak_waker_vtable ak__thread_waker_vtable;

struct site {
	const char *file;
	int32_t line;
	int32_t mode;
};

struct cls {
	const char *name;
	int32_t line;
	uint32_t hnext;                  /* class + 1 */
	int same_reported;               /* a SAME_CLASS report made, per subclass bit */
};

struct edge {
	uint32_t from, to;               /* nodes */
	uint32_t next_out, hnext;        /* edge + 1 */
	struct site held, taken;
	uint64_t task;
	uint16_t held_len;               /* the held lock's path: a prefix of path */
	struct ak_branch_path path;      /* the acquirer's */
};

struct held {
	uint32_t next, prev;             /* held + 1, in the task's record */
	uint32_t task;                   /* its record */
	uint32_t node;
	const void *lock;
	struct site site;
	struct ak_branch_path path;
};

struct trec {
	uint64_t id;                     /* 0: free */
	uint32_t head;                   /* held + 1, most recent first */
	uint32_t n;
	uint32_t next_free;              /* trec + 1 */
};

struct arena {
	uint32_t nclass, nedge, nheld_live;
	uint32_t held_free, task_free;   /* + 1 */
	uint32_t markgen;
	uint32_t chash[CHASH], ehash[EHASH];
	uint32_t out[NNODE];             /* edge + 1 */
	uint32_t mark[NNODE], via[NNODE], queue[NNODE];
	struct cls cls[NCLASS];
	struct edge edge[NEDGE];
	struct held held[NHELD];
	struct trec task[NTASK];
};

ak__atomic(int) ak__lockdep_state = 2;

static struct ak__lock g_lock;       /* zero: unlocked */
static struct arena *A;              /* g_lock */
static uint32_t gen = 1;             /* g_lock; never 0, a zeroed cache's */
static int full_said;                /* g_lock */
static ak_lockdep_handler handler;   /* g_lock; NULL: the line on stderr */
static void *handler_arg;
static ak__atomic(uint64_t) reports;
static ak__atomic(uint64_t) thread_ids;

/* The held record of a thread's ak_block_on polls, and its identity. */
static _Thread_local uint64_t thread_anchor;
static _Thread_local uint64_t thread_task;

/* The slot's word lockdep keeps after the library's own (core/core.h). */
struct slot_words {
	uint64_t core_[2];
	uint64_t held;                   /* gen << 32 | trec + 1 */
};
_Static_assert(sizeof(struct ak__slot_view) <= sizeof(((struct slot_words *)0)->core_),
               "the slot's words overlap");
_Static_assert(sizeof(struct slot_words) <= sizeof(struct ak_task_slot), "slot too small");

/* ---- the switch ---------------------------------------------------------- */

int ak__lockdep_on(void)
{
	int s = ak__load(&ak__lockdep_state, AK__RELAXED);
	if (s == 2) {
		const char *e = getenv("AK_LOCKDEP");
		int want = e && e[0] == '1' && e[1] == '\0';
		/* A concurrent ak_lockdep_enable() wins over the environment. */
		ak__cas(&ak__lockdep_state, &s, want, AK__RELAXED, AK__RELAXED);
		s = ak__load(&ak__lockdep_state, AK__RELAXED);
	}
	return s == 1;
}

AK_EXPORT int ak_lockdep_enable(int on)
{
	ak__store(&ak__lockdep_state, on ? 1 : 0, AK__RELAXED);
	return 0;
}

AK_EXPORT int ak_lockdep_enabled(void)
{
	return ak__lockdep_on();
}

AK_EXPORT uint64_t ak_lockdep_count(void)
{
	return ak__load(&reports, AK__RELAXED);
}

AK_EXPORT void ak_lockdep_set_handler(ak_lockdep_handler fn, void *arg)
{
	ak__lock(&g_lock);
	handler = fn;
	handler_arg = arg;
	ak__unlock(&g_lock);
}

AK_EXPORT int ak_lockdep_reset(void)
{
	ak__lock(&g_lock);
	if (A && A->nheld_live) {
		ak__unlock(&g_lock);
		return AK_EBUSY;
	}
	struct arena *a = A;
	A = NULL;
	gen++;
	if (gen == 0)
		gen = 1;
	full_said = 0;
	ak__store(&reports, 0, AK__RELAXED);
	ak__unlock(&g_lock);
	ak__free(a);
	return 0;
}

/* ---- the arena (all under g_lock) ----------------------------------------- */

static void say(const char *line)
{
	int saved = errno;
	fputs(line, stderr);
	errno = saved;
}

/* A table is full: lockdep stops, as Linux's does. */
static void full(const char *what)
{
	ak__store(&ak__lockdep_state, 0, AK__RELAXED);
	if (!full_said) {
		full_said = 1;
		char line[128];
		snprintf(line, sizeof line, "awaitkit lockdep: %s, lockdep turned off\n", what);
		say(line);
	}
}

static struct arena *arena(void)
{
	if (!A) {
		A = ak__alloc(sizeof(*A));
		if (!A) {
			full("no memory for the arena");
			return NULL;
		}
		for (uint32_t i = 0; i < NHELD; i++)
			A->held[i].next = i + 2 <= NHELD ? i + 2 : 0;
		A->held_free = 1;
		for (uint32_t i = 0; i < NTASK; i++)
			A->task[i].next_free = i + 2 <= NTASK ? i + 2 : 0;
		A->task_free = 1;
	}
	return A;
}

static uint32_t hash_str(const char *s, int32_t line)
{
	uint32_t h = 2166136261u ^ (uint32_t)line;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

/* The class index, or UINT32_MAX when the table is full. */
static uint32_t class_of(struct ak__ld_class *c)
{
	if (c->gen == gen && c->idx)
		return c->idx - 1;
	uint32_t b = hash_str(c->name, c->line) & (CHASH - 1);
	uint32_t i;
	for (i = A->chash[b]; i; i = A->cls[i - 1].hnext)
		if (A->cls[i - 1].line == c->line && strcmp(A->cls[i - 1].name, c->name) == 0)
			break;
	if (!i) {
		if (A->nclass == NCLASS) {
			full("too many lock classes");
			return UINT32_MAX;
		}
		i = ++A->nclass;
		A->cls[i - 1].name = c->name;
		A->cls[i - 1].line = c->line;
		A->cls[i - 1].hnext = A->chash[b];
		A->chash[b] = i;
	}
	c->gen = gen;
	c->idx = i;
	return i - 1;
}

static uint32_t edge_bucket(uint32_t from, uint32_t to)
{
	return (from * 2654435761u ^ to * 40503u) & (EHASH - 1);
}

static int has_edge(uint32_t from, uint32_t to)
{
	for (uint32_t e = A->ehash[edge_bucket(from, to)]; e; e = A->edge[e - 1].hnext)
		if (A->edge[e - 1].from == from && A->edge[e - 1].to == to)
			return 1;
	return 0;
}

static void add_edge(uint32_t from, uint32_t to, const struct held *h, const struct site *s,
                     uint64_t task, const struct ak_branch_path *path)
{
	if (A->nedge == NEDGE) {
		full("too many lock orders");
		return;
	}
	uint32_t e = ++A->nedge;
	struct edge *E = &A->edge[e - 1];
	E->from = from;
	E->to = to;
	E->held = h->site;
	E->taken = *s;
	E->task = task;
	E->held_len = h->path.len;
	E->path = *path;
	E->next_out = A->out[from];
	A->out[from] = e;
	uint32_t b = edge_bucket(from, to);
	E->hnext = A->ehash[b];
	A->ehash[b] = e;
}

/* A path of edges from src to dst: its first edge + 1 and its length. */
static uint32_t reaches(uint32_t src, uint32_t dst, unsigned *len)
{
	if (++A->markgen == 0) {
		memset(A->mark, 0, sizeof(A->mark));
		A->markgen = 1;
	}
	uint32_t head = 0, tail = 0;
	A->queue[tail++] = src;
	A->mark[src] = A->markgen;
	A->via[src] = 0;
	while (head < tail) {
		uint32_t n = A->queue[head++];
		for (uint32_t e = A->out[n]; e; e = A->edge[e - 1].next_out) {
			uint32_t to = A->edge[e - 1].to;
			if (A->mark[to] == A->markgen)
				continue;
			A->mark[to] = A->markgen;
			A->via[to] = e;
			if (to == dst) {
				/* Walk back to the edge that leaves src. */
				uint32_t first = e;
				*len = 1;
				for (uint32_t m = A->edge[e - 1].from; m != src; m = A->edge[first - 1].from) {
					first = A->via[m];
					++*len;
				}
				return first;
			}
			A->queue[tail++] = to;
		}
	}
	return 0;
}

/* ---- tasks ----------------------------------------------------------------- */

struct who {
	uint64_t *anchor;                /* the slot's word, or the thread's */
	uint64_t id;
};

static int who_of(struct ak_context *cx, struct who *w)
{
	if (!cx)
		return 0;
	if (cx->waker.vtable == &ak__thread_waker_vtable) {
		if (!thread_task)
			thread_task = ((uint64_t)1 << 63) | ak__fetch_add(&thread_ids, 1, AK__RELAXED);
		w->anchor = &thread_anchor;
		w->id = thread_task;
		return 1;
	}
	if (!cx->slot)
		return 0;
	w->anchor = &((struct slot_words *)(void *)cx->slot)->held;
	w->id = ak_task_slot_id(cx->slot);
	return 1;
}

/* The task's held record, or UINT32_MAX (none, and create not set). */
static uint32_t task_of(const struct who *w, int create)
{
	uint64_t a = *w->anchor;
	if ((uint32_t)(a >> 32) == gen && (uint32_t)a) {
		uint32_t t = (uint32_t)a - 1;
		if (A->task[t].id == w->id)
			return t;
	}
	if (!create)
		return UINT32_MAX;
	if (!A->task_free) {
		full("too many tasks holding locks");
		return UINT32_MAX;
	}
	uint32_t t = A->task_free - 1;
	A->task_free = A->task[t].next_free;
	A->task[t].id = w->id;
	A->task[t].head = 0;
	A->task[t].n = 0;
	*w->anchor = (uint64_t)gen << 32 | (t + 1);
	return t;
}

/* ---- reports --------------------------------------------------------------- */

static void fill_class(struct ak_lockdep_lock *l, uint32_t node)
{
	const struct cls *c = &A->cls[node / NSUB];
	l->class_name = c->name;
	l->class_line = c->line;
	l->subclass = node % NSUB;
}

static void fill(struct ak_lockdep_lock *l, uint32_t node, const struct site *s,
                 uint64_t task, const struct ak_branch_path *path)
{
	fill_class(l, node);
	l->file = s->file;
	l->line = s->line;
	l->mode = s->mode;
	l->task = task;
	l->path = *path;
}

static void fill_edge(struct ak_lockdep_report *r, const struct edge *E)
{
	struct ak_branch_path hp = E->path;
	hp.len = E->held_len;
	hp.overflow = 0;
	fill(&r->prior_held, E->from, &E->held, E->task, &hp);
	fill(&r->prior_taken, E->to, &E->taken, E->task, &E->path);
}

static int put_class(char *b, size_t n, const struct ak_lockdep_lock *l)
{
	char sub[16] = "";
	if (l->subclass)
		snprintf(sub, sizeof sub, "/%u", l->subclass);
	if (l->class_line)
		return snprintf(b, n, "%s:%d%s", l->class_name, l->class_line, sub);
	return snprintf(b, n, "\"%s\"%s", l->class_name, sub);
}

static int put_path(char *b, size_t n, const struct ak_branch_path *p)
{
	int k = snprintf(b, n, "[");
	unsigned len = p->len < AK_PATH_MAX ? p->len : AK_PATH_MAX;
	for (unsigned i = 0; i < len; i++)
		k += snprintf(b + ((size_t)k < n ? (size_t)k : n), (size_t)k < n ? n - (size_t)k : 0,
		              i ? ".%u" : "%u", p->index[i]);
	k += snprintf(b + ((size_t)k < n ? (size_t)k : n), (size_t)k < n ? n - (size_t)k : 0,
	              "%s]", p->overflow || p->len > AK_PATH_MAX ? "+" : "");
	return k;
}

/* "task 7 [0.1] takes C (at f:l) while holding D (taken at f:l)" */
static int put_order(char *b, size_t n, const char *verb, const struct ak_lockdep_lock *held,
                     const struct ak_lockdep_lock *taken)
{
	size_t k = 0;
#define AT (k < n ? b + k : NULL), (k < n ? n - k : 0)
	if (taken->task >> 63)
		k += (size_t)snprintf(AT, "thread %llu ",
		                      (unsigned long long)(taken->task & ~((uint64_t)1 << 63)));
	else
		k += (size_t)snprintf(AT, "task %llu ", (unsigned long long)taken->task);
	k += (size_t)put_path(AT, &taken->path);
	k += (size_t)snprintf(AT, " %s ", verb);
	k += (size_t)put_class(AT, taken);
	k += (size_t)snprintf(AT, " at %s:%d while holding ", taken->file ? taken->file : "?",
	                      taken->line);
	k += (size_t)put_class(AT, held);
	k += (size_t)snprintf(AT, " (taken at %s:%d)", held->file ? held->file : "?", held->line);
#undef AT
	return (int)k;
}

AK_EXPORT int ak_lockdep_format(const struct ak_lockdep_report *r, char *buf, size_t len)
{
	if (!r || (len && !buf))
		return AK_EINVAL;
	if (len)
		buf[0] = '\0';
	size_t k = 0;
#define AT (k < len ? buf + k : NULL), (k < len ? len - k : 0)
	if (r->kind == AK_LOCKDEP_INVERSION) {
		k += (size_t)snprintf(AT, "awaitkit lockdep: lock order inversion: ");
		k += (size_t)put_order(AT, "takes", &r->held, &r->taken);
		k += (size_t)snprintf(AT, "; before, ");
		k += (size_t)put_order(AT, "took", &r->prior_held, &r->prior_taken);
		if (r->chain > 1)
			k += (size_t)snprintf(AT, " (first of %u steps)", r->chain);
	} else {
		k += (size_t)snprintf(AT, "awaitkit lockdep: two locks of one class: ");
		k += (size_t)put_order(AT, "takes", &r->held, &r->taken);
		k += (size_t)snprintf(AT, " without a nesting annotation");
	}
#undef AT
	return (int)k;
}

static void report(const struct ak_lockdep_report *r, ak_lockdep_handler fn, void *arg)
{
	ak__fetch_add(&reports, 1, AK__RELAXED);
	if (fn) {
		fn(r, arg);
		return;
	}
	char line[1024];
	int n = ak_lockdep_format(r, line, sizeof line - 1);
	size_t k = n < 0 ? 0 : (size_t)n < sizeof line - 1 ? (size_t)n : sizeof line - 2;
	line[k] = '\n';
	line[k + 1] = '\0';
	say(line);
}

/* ---- the hooks ------------------------------------------------------------- */

static uint32_t node_of(const struct ak__ld_op *op, struct ak__ld_class *c)
{
	uint32_t k = class_of(c);
	return k == UINT32_MAX ? k : k * NSUB + op->subclass;
}

void ak__lockdep_check(struct ak__ld_op *op, const struct ak__ld_acq *a,
                       struct ak_context *cx)
{
	struct who w;
	op->checked = 1;
	if (!a->cls->name || !who_of(cx, &w))
		return;
	struct ak_lockdep_report r;
	int have = 0;
	struct site s = { a->file, a->line, a->mode };

	ak__lock(&g_lock);
	uint32_t node, t;
	if (!ak__lockdep_on() || !arena() || (node = node_of(op, a->cls)) == UINT32_MAX ||
	    (t = task_of(&w, 0)) == UINT32_MAX)
		goto out;
	for (uint32_t i = A->task[t].head; i; i = A->held[i - 1].next) {
		const struct held *h = &A->held[i - 1];
		if (!ak__path_is_prefix(&h->path, &cx->path))
			continue;                /* a sibling branch's: no order */
		if (h->node == node) {
			struct cls *c = &A->cls[node / NSUB];
			if ((h->lock == a->lock && h->site.mode == AK_LOCK_READ &&
			     a->mode == AK_LOCK_READ) || (c->same_reported & (1 << op->subclass)))
				continue;
			c->same_reported |= 1 << op->subclass;
			if (!have) {
				have = 1;
				memset(&r, 0, sizeof r);
				r.kind = AK_LOCKDEP_SAME_CLASS;
				fill(&r.held, h->node, &h->site, w.id, &h->path);
				fill(&r.taken, node, &s, w.id, &cx->path);
			}
			continue;
		}
		if (has_edge(h->node, node))
			continue;
		unsigned len = 0;
		uint32_t e = reaches(node, h->node, &len);
		if (e && !have) {
			have = 1;
			memset(&r, 0, sizeof r);
			r.kind = AK_LOCKDEP_INVERSION;
			r.chain = len;
			fill(&r.held, h->node, &h->site, w.id, &h->path);
			fill(&r.taken, node, &s, w.id, &cx->path);
			fill_edge(&r, &A->edge[e - 1]);
		}
		add_edge(h->node, node, h, &s, w.id, &cx->path);
	}
out:;
	ak_lockdep_handler fn = handler;
	void *arg = handler_arg;
	ak__unlock(&g_lock);
	if (have)
		report(&r, fn, arg);
}

void ak__lockdep_took(struct ak__ld_op *op, const struct ak__ld_acq *a,
                      struct ak_context *cx)
{
	struct who w;
	if (!a->cls->name || !who_of(cx, &w))
		return;
	ak__lock(&g_lock);
	uint32_t node, t;
	if (!ak__lockdep_on() || !arena() || (node = node_of(op, a->cls)) == UINT32_MAX ||
	    (t = task_of(&w, 1)) == UINT32_MAX)
		goto out;
	if (!A->held_free) {
		full("too many locks held");
		if (A->task[t].n == 0) {     /* the record made just now goes back */
			A->task[t].id = 0;
			A->task[t].next_free = A->task_free;
			A->task_free = t + 1;
		}
		goto out;
	}
	uint32_t i = A->held_free;
	struct held *h = &A->held[i - 1];
	A->held_free = h->next;
	h->task = t;
	h->node = node;
	h->lock = a->lock;
	h->site = (struct site){ a->file, a->line, a->mode };
	h->path = cx->path;
	h->prev = 0;
	h->next = A->task[t].head;
	if (h->next)
		A->held[h->next - 1].prev = i;
	A->task[t].head = i;
	A->task[t].n++;
	A->nheld_live++;
	op->entry = i;
out:
	ak__unlock(&g_lock);
}

void ak__lockdep_release(struct ak__ld_op *op)
{
	ak__lock(&g_lock);
	uint32_t i = op->entry;
	struct held *h = &A->held[i - 1];
	struct trec *t = &A->task[h->task];
	if (h->prev)
		A->held[h->prev - 1].next = h->next;
	else
		t->head = h->next;
	if (h->next)
		A->held[h->next - 1].prev = h->prev;
	h->next = A->held_free;
	A->held_free = i;
	A->nheld_live--;
	if (--t->n == 0) {
		/* The slot may still name it: the id check refuses it then. */
		t->id = 0;
		t->next_free = A->task_free;
		A->task_free = (uint32_t)(t - A->task) + 1;
	}
	ak__unlock(&g_lock);
	op->entry = 0;
}

void ak__lockdep_set_mode(struct ak__ld_op *op, int mode)
{
	ak__lock(&g_lock);
	A->held[op->entry - 1].site.mode = mode;
	ak__unlock(&g_lock);
}

AK_EXPORT int ak_lockdep_nest(struct ak_future *f, unsigned subclass)
{
	if (!f || subclass >= NSUB)
		return AK_EINVAL;
	struct ak__ld_op *op = ak__mutex_ld_op(f);
	if (!op)
		op = ak__rwlock_ld_op(f);
	if (!op)
		op = ak__semaphore_ld_op(f);
	if (!op)
		return AK_EINVAL;
	op->subclass = (uint16_t)subclass;
	return 0;
}
