/*
 * examples/notify_example.c: the Notify of ak_notify(3): a consumer task
 * waits for work that a producer thread announces, and a permit stored
 * before anyone waits is not lost.
 *
 * ak_notify(3) quotes it verbatim in its EXAMPLES; scripts/man-examples.sh
 * (make check-examples) checks that it still does, then builds and runs it.
 * Exit status 0 when the consumer handled every item.
 */
#include <pthread.h>
#include <stddef.h>
#include <string.h>
#include <awaitkit.h>

/* A work queue under a pthread mutex; the Notify only says "look again". */
struct work {
	struct work *next;
	int last;
};

struct queue {
	pthread_mutex_t lock;
	struct work *head, **tail;
};

static void push_work(struct queue *q, struct work *item)
{
	pthread_mutex_lock(&q->lock);
	item->next = NULL;
	*q->tail = item;
	q->tail = &item->next;
	pthread_mutex_unlock(&q->lock);
}

static struct work *pop_work(struct queue *q)
{
	struct work *item;

	pthread_mutex_lock(&q->lock);
	item = q->head;
	if (item && (q->head = item->next) == NULL)
		q->tail = &q->head;
	pthread_mutex_unlock(&q->lock);
	return item;
}

static int handled;

static int handle(struct work *item)
{
	handled++;
	return item->last;
}

struct consumer {
	struct ak_future future;
	struct ak_await aw;
	struct queue *q;
	struct ak_notify *ready;
	struct ak_notified_op op;
	struct work *item;
	int rc;
};

static int consumer_poll(struct ak_future *f, struct ak_context *cx)
{
	struct consumer *c = (struct consumer *)f;

	AK_BEGIN(&c->aw, cx);
	for (;;) {
		while ((c->item = pop_work(c->q)) != NULL)
			if (handle(c->item))
				AK_RETURN(&c->aw, 0);   /* the last item */
		ak_notified_init(&c->op, c->ready);
		AK_AWAIT(&c->aw, &c->op.future, c->rc);
	}
	AK_END(&c->aw);
}

static void consumer_cancel(struct ak_future *f)
{
	ak_await_cancel(&((struct consumer *)f)->aw, f);
}

static const struct ak_future_vtable consumer_vtable = {
	consumer_poll, consumer_cancel
};

#define ITEMS 100
static struct work items[ITEMS];

struct producer {
	struct queue *q;
	struct ak_notify *ready;
};

static void *produce(void *arg)
{
	struct producer *p = arg;
	struct queue *q = p->q;
	struct ak_notify *ready = p->ready;
	int i;

	for (i = 0; i < ITEMS; i++) {
		struct work *item = &items[i];

		item->last = i == ITEMS - 1;
		push_work(q, item);
		ak_notify_one(ready);
	}
	return NULL;
}

static int consume_what_is_produced(void)
{
	struct queue q = { PTHREAD_MUTEX_INITIALIZER, NULL, NULL };
	struct consumer c;
	struct producer p;
	pthread_t t;
	int rc;

	q.tail = &q.head;
	memset(&c, 0, sizeof c);
	c.q = &q;
	if (ak_notify_new(&c.ready) != 0)
		return 1;
	ak_future_init(&c.future, &consumer_vtable);
	p.q = &q;
	p.ready = c.ready;
	if (pthread_create(&t, NULL, produce, &p) != 0)
		return 1;
	rc = ak_block_on(&c.future, ak_deadline_in(5000000000LL));
	pthread_join(t, NULL);
	ak_notify_free(c.ready);
	return rc == 0 && handled == ITEMS ? 0 : 1;
}

static int stored_permit(void)
{
	struct ak_notified_op op = {0};
	struct ak_notify *n;
	int rc;

	if (ak_notify_new(&n) != 0)
		return 1;
	ak_notify_one(n);
	rc = ak_notified_blocking(&op, n, AK_DEADLINE_NEVER);   /* 0 at once */
	ak_notify_free(n);
	return rc;
}

int
main(void)
{
	return consume_what_is_produced() != 0 || stored_permit() != 0;
}
